"""The wizard driven with Pilot at 80x24 on the demo data, as an admin would."""

from __future__ import annotations

import shutil
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import Config
from core.journal import find_session
from core.model import ChangeKind
from directory_adapters.csv import CsvDirectory
from tui.app import IdpronoteApp, Launch
from tui.screens.confirm import ConfirmDialog
from tui.screens.end import EndScreen
from tui.screens.step import StepScreen

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


@pytest.fixture
def site(tmp_path):
    for name in ("identifiants.xml", "annuaire.csv"):
        shutil.copy(DEMO / name, tmp_path / name)
    return tmp_path


def make_app(site: Path) -> IdpronoteApp:
    config = replace(Config(), data_dir=site / "data")
    return IdpronoteApp(
        Launch(
            config=config,
            export=site / "identifiants.xml",
            directory_file=site / "annuaire.csv",
            uai=UAI,
            demo=True,
        )
    )


async def settle(pilot) -> None:
    """Let workers finish and the screen catch up (never a sleep)."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def stored(site: Path) -> dict[str, set[str]]:
    d = CsvDirectory(site / "annuaire.csv")
    return {a.login: set(d.form.idpns_for(a.identifiers, UAI)) for a in d.accounts(UAI)}


async def start(pilot) -> StepScreen:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, StepScreen), screen
    return screen


async def validate(pilot, expected: dict[str, set[str]]) -> None:
    """Press v, read what the confirmation lists, confirm; remember what must be written."""
    screen = pilot.app.screen
    plan = screen.session.plan()
    await pilot.press("v")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmDialog)
    for change in plan.changes:
        if change.kind is ChangeKind.REMOVE:
            expected[change.login] = set()
        else:
            expected[change.login] = {change.idpn}
    await pilot.press("enter")
    await settle(pilot)


async def test_walk_all_six_steps_with_a_manual_link_a_clear_and_a_rejection(site):
    before = stored(site)
    expected = dict(before)
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        assert "Étape 1/6" in str(screen.query_one(".title").render())
        await validate(pilot, expected)

        # Step 2: students.
        screen = pilot.app.screen
        state = screen.state
        assert screen.category.slug == "eleves"
        table = screen.query_one("#unrecognised")
        table.focus()
        await pilot.pause()
        target = screen._highlighted()
        assert target is not None and target.candidates
        await pilot.press("p")
        await settle(pilot)
        await pilot.press("enter")  # the first result: matching's candidate
        await settle(pilot)
        assert state.link_of(target.pronote.idpn) == target.candidates[0]
        assert state.source(target.pronote.idpn) == "manual"

        # A link made and cleared again.
        await pilot.press("n")
        second = screen._highlighted()
        state.manual[second.pronote.idpn] = "placeholder"  # as if linked
        await pilot.press("x")
        assert state.link_of(second.pronote.idpn) is None

        # An automatic link rejected.
        screen.query_one("#recognised").focus()
        await pilot.pause()
        rejected = screen._highlighted()
        assert rejected.recognised
        await pilot.press("r")
        assert state.link_of(rejected.pronote.idpn) is None
        await validate(pilot, expected)

        for _ in range(4):
            assert isinstance(pilot.app.screen, StepScreen)
            await validate(pilot, expected)
        assert isinstance(pilot.app.screen, EndScreen)
        session = pilot.app.screen.session
        await pilot.press("e")  # the unlinked, for the school, beside the identifiers file
        await pilot.pause()

    exported = site / f"non-relies-{UAI}-{session.session}.csv"
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert len(lines) - 1 == len(session.remaining()) > 0
    assert stored(site) == expected
    assert stored(site)[target.candidates[0]] == {target.pronote.idpn}
    assert rejected.login and target.pronote.idpn not in stored(site).get(rejected.login, set())
    assert find_session(site / "data", session.session).status == "completed"


async def test_interrupt_at_step_three_keeps_one_and_two_then_resume(site):
    before = stored(site)
    expected = dict(before)
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await validate(pilot, expected)
        await validate(pilot, expected)
        screen = pilot.app.screen
        assert screen.category.slug == "responsables"
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, EndScreen)
        session = pilot.app.screen.session.session
    assert stored(site) == expected  # steps 1-2 written, nothing of 3-6
    assert find_session(site / "data", session).status == "interrupted"

    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f5")  # the start screen offers the interrupted session
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, StepScreen) and screen.category.slug == "responsables"
        assert screen.session.session == session
        for _ in range(4):
            await validate(pilot, expected)
        assert isinstance(pilot.app.screen, EndScreen)
    assert stored(site) == expected
    record = find_session(site / "data", session)
    assert record.status == "completed"
    assert record.steps_done == [
        "enseignants", "eleves", "responsables", "maitres_de_stage", "inspecteurs", "personnels",
    ]  # fmt: skip
