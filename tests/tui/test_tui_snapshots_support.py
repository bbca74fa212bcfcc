"""80x24 snapshot of the support screen explaining a stale identifier.

It runs from a temporary directory with relative paths and an empty data
directory, so that nothing in the screenshot depends on the run.

Regenerate after a deliberate change with:
    .venv/bin/pytest tests/tui/test_tui_snapshots_support.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from core.pronote_file import read_identifiers_file
from directory_adapters.csv import CsvDirectory
from tests.support_situations import UAI, write_situations
from tui.screens import support as support_module
from tui.screens.support import SupportScreen


class Host(App[None]):
    def __init__(self, screen: SupportScreen) -> None:
        super().__init__()
        self.shown = screen

    def compose(self) -> ComposeResult:
        yield Static("idpronote")

    def on_mount(self) -> None:
        self.push_screen(self.shown)


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_support_screen(snap_compare, tmp_path, monkeypatch):
    monkeypatch.setattr(support_module, "DEBOUNCE_SECONDS", 0)
    write_situations(tmp_path)
    monkeypatch.chdir(tmp_path)
    screen = SupportScreen(
        CsvDirectory(Path("annuaire.csv")),
        uai=UAI,
        data_dir=Path("data"),
        export=read_identifiers_file(Path("identifiants.xml")),
        query="jean-baptiste.labmarieu",
    )
    assert snap_compare(Host(screen), terminal_size=(80, 24), run_before=settle)
