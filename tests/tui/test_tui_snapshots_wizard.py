"""80x24 snapshots of the wizard's own screens: start, a step, the confirmation, the end.

The demo runs from a temporary directory with relative paths and a fixed
session id, so that nothing in a screenshot depends on the run.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Input

from core.config import Config
from tui.app import IdpronoteApp, Launch

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"


@pytest.fixture
def app(tmp_path, monkeypatch):
    for name in ("identifiants.xml", "annuaire.csv"):
        shutil.copy(DEMO / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("core.journal.new_session_id", lambda: "2026-09-02T10-15-03-demo")
    monkeypatch.setattr("core.wizard.new_session_id", lambda: "2026-09-02T10-15-03-demo")
    config = replace(Config(), data_dir=tmp_path / "data")
    return IdpronoteApp(
        Launch(
            config=config,
            export=Path("identifiants.xml"),
            directory_file=Path("annuaire.csv"),
            uai="0441234A",
            demo=True,
        )
    )


async def settle(pilot) -> None:
    """Every worker done, every result shown, and a cursor that does not blink.

    A blinking cursor is drawn or not depending on when the screenshot falls:
    on a loaded machine the start screen's snapshot differed by that alone.
    """
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_start_screen(app, snap_compare):
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_step_screen(app, snap_compare):
    async def to_step_two(pilot):
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=to_step_two)


def test_validate_confirmation(app, snap_compare):
    async def confirm(pilot):
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=confirm)


def test_end_screen(app, snap_compare):
    async def interrupt(pilot):
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("i")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=interrupt)


def test_help_screen(app, snap_compare):
    async def help_on_step(pilot):
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=help_on_step)


def test_setup_screen(tmp_path, monkeypatch, snap_compare):
    """What an admin without any configuration sees first."""
    monkeypatch.chdir(tmp_path)
    app = IdpronoteApp(Launch(config=Config(), setup_target=Path("config.toml")))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
