"""Snapshots (80x24) of the search dialog, the confirmation and the imported identifiers.

Regenerate after a deliberate change with:
    .venv/bin/pytest tests/tui/test_tui_snapshots_dialogs.py --snapshot-update
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Input, Static

from core.model import Category
from directory_adapters.csv import CsvDirectory
from tui.screens import imported as imported_module
from tui.screens import search as search_module
from tui.screens.confirm import ConfirmDialog
from tui.screens.imported import ImportedScreen
from tui.screens.search import SearchDialog

DEMO = Path(__file__).resolve().parents[2] / "tui" / "demo" / "annuaire.csv"
UAI = "0441234A"


class Host(App[None]):
    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.shown = screen

    def compose(self) -> ComposeResult:
        yield Static("idpronote")

    def on_mount(self) -> None:
        self.push_screen(self.shown)


@pytest.fixture(autouse=True)
def no_debounce(monkeypatch):
    monkeypatch.setattr(search_module, "DEBOUNCE_SECONDS", 0)
    monkeypatch.setattr(imported_module, "DEBOUNCE_SECONDS", 0)


@pytest.fixture
def directory(tmp_path) -> CsvDirectory:
    copy = tmp_path / "annuaire.csv"
    shutil.copy(DEMO, copy)
    return CsvDirectory(copy)


async def settle(pilot) -> None:
    """Every worker done, every result shown, and a cursor that does not blink."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_search_dialog(snap_compare, directory):
    dialog = SearchDialog(
        directory,
        uai=UAI,
        category=Category.RESPONSABLES,
        query="MARTIN",
        candidates=["guillaume.martin"],
        title="MARTIN Guillaume",
    )
    assert snap_compare(Host(dialog), terminal_size=(80, 24), run_before=settle)


def test_confirmation(snap_compare):
    lines = [
        "3 ajout(s), 1 remplacement(s), 1 retrait(s) dans l'annuaire.",
        "",
        *[f"ajout : eleve{n:02d}.dupont ← ABCDEFGH{n:08d}" for n in range(3)],
        "remplacement : lucas.martin  PG04ND51V9BCEAZW → M4N5RCML694TJOMX",
        "retrait : anne.barmas  G3H02LC9XMQU0IKO",
        *[f"non écrit : compte{n:02d} (conflit)" for n in range(20)],
    ]
    dialog = ConfirmDialog(
        "Valider l'étape 2/6 (Élèves) ?",
        lines,
        yes="Valider et passer à l'étape suivante",
        no="Revenir",
    )
    assert snap_compare(Host(dialog), terminal_size=(80, 24), run_before=settle)


def test_imported_identifiers(snap_compare, directory, tmp_path):
    screen = ImportedScreen(directory, uai=UAI, data_dir=tmp_path / "data")
    assert snap_compare(Host(screen), terminal_size=(80, 24), run_before=settle)


def test_imported_identifiers_filtered(snap_compare, directory, tmp_path):
    screen = ImportedScreen(directory, uai=UAI, data_dir=tmp_path / "data")

    async def filtered(pilot) -> None:
        await settle(pilot)
        await pilot.press("slash", *"cheg", "enter", "down")
        await settle(pilot)

    assert snap_compare(Host(screen), terminal_size=(80, 24), run_before=filtered)
