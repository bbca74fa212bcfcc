"""Nothing a human did is lost (issue 16), driven with Pilot at 80x24 on the demo copy.

A link made by hand in step 2 survives Interrupt and a new App (F5); Ctrl+Q
with a pending link asks first (No keeps working, Yes quits with the draft
journaled); the end screen after a resume counts step 1's writes; F5 with
nothing to resume says so; Validate shows a progress bar, then what it wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from cli.commands.wizard import demo_config, prepare_demo
from core.config import Config
from core.journal import read_session, resumable_session
from tui.app import IdpronoteApp, Launch
from tui.screens.confirm import ConfirmDialog
from tui.screens.end import EndScreen
from tui.screens.step import StepScreen

ROOT = Path(__file__).resolve().parents[2]
UAI = "0441234A"
DATE_DIFFERS = "SLDRQ82E3WDK2CZR"  # a student of step 2, one candidate: leo.colin


@pytest.fixture
def root(tmp_path):
    """The user's data directory; the demo keeps its copy in `<root>/demo`."""
    return tmp_path / "data-root"


def demo_app(root: Path) -> IdpronoteApp:
    """What `idpronote demo` starts, on the persistent copy."""
    user = replace(Config(), data_dir=root)
    folder = prepare_demo(user)
    config, directory_file = demo_config(user)
    return IdpronoteApp(
        Launch(
            config=config,
            export=folder / "identifiants.xml",
            directory_file=directory_file,
            uai=UAI,
            demo=True,
        )
    )


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def start(pilot) -> StepScreen:
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, StepScreen)
    return pilot.app.screen


async def validate(pilot) -> None:
    await pilot.press("v")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmDialog)
    await pilot.press("enter")
    await settle(pilot)


async def link_by_hand(pilot, screen: StepScreen) -> None:
    """Step 2: the student whose date differs, linked to the one candidate via the dialog."""
    table = screen.query_one("#unrecognised")
    table.focus()
    row = table.get_row_index(DATE_DIFFERS)
    table.move_cursor(row=row)
    await pilot.pause()
    assert screen._highlighted().pronote.idpn == DATE_DIFFERS
    await pilot.press("p")
    await settle(pilot)
    await pilot.press("enter")  # the first result: matching's candidate
    await settle(pilot)
    assert screen.state.manual == {DATE_DIFFERS: "leo.colin"}


def text_of(screen) -> str:
    return "\n".join(str(w.render()) for w in screen.query("Static"))


async def test_a_manual_link_survives_interrupt_and_a_new_app_then_the_end_counts_step_1(root):
    app = demo_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await validate(pilot)  # step 1 written
        screen = pilot.app.screen
        assert screen.category.slug == "eleves"
        await link_by_hand(pilot, screen)
        await pilot.press("i")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmDialog)
        said = " ".join(dialog._lines)
        assert "1 choix manuel" in said and "F5" in said
        await pilot.press("enter")
        await settle(pilot)
        end = pilot.app.screen
        assert isinstance(end, EndScreen)
        shown = text_of(end)
        session = end.session.session
        # The demo's end screen gives commands that work in a demo.
        assert f"idpronote undo {session} --demo" in shown
        assert "idpronote demo, puis F5" in shown
    record = read_session(next((root / "demo" / "data" / "journals" / UAI).glob("*.jsonl")))
    written_1 = record.step_counts()["enseignants"]["written"]
    assert written_1 > 0

    app = demo_app(root)  # relaunched: the same copy, not a fresh one
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, StepScreen) and screen.category.slug == "eleves"
        assert screen.session.session == session
        assert screen.state.manual == {DATE_DIFFERS: "leo.colin"}
        assert "dont 1 reliés à la main" in str(screen.query_one("#unrecognised-heading").render())
        for _ in range(5):
            await validate(pilot)
        end = pilot.app.screen
        assert isinstance(end, EndScreen)
        lines = text_of(end).splitlines()
        (teachers,) = [line for line in lines if line.startswith("1. Enseignants")]
        assert f"{written_1:>5} écrit(s)" in teachers  # counted from the journal
        (students,) = [line for line in lines if line.startswith("2. Élèves")]
        assert " 0 écrit(s)" not in students
    d_record = read_session(record.path)
    assert d_record.status == "completed"
    assert any(
        c["login"] == "leo.colin" and c["idpn"] == DATE_DIFFERS
        for i in d_record.intents.values()
        for c in i["changes"]
    )


async def test_ctrl_q_with_a_pending_link_asks_no_keeps_working_yes_quits_with_the_draft(root):
    app = demo_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await validate(pilot)
        screen = pilot.app.screen
        await link_by_hand(pilot, screen)
        await pilot.press("ctrl+q")
        await pilot.pause()
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "1 choix manuel" in dialog._title and "F5" in " ".join(dialog._lines)
        await pilot.press("escape")  # No: back to the step, the link still there
        await pilot.pause()
        assert pilot.app.screen is screen and pilot.app.is_running
        assert screen.state.manual == {DATE_DIFFERS: "leo.colin"}
        await pilot.press("ctrl+c")  # asks too
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("enter")  # Yes
        await pilot.pause()
    assert app.return_code == 0 or app.return_code is None
    record = resumable_session(root / "demo" / "data", UAI)
    assert record is not None and record.status == "interrupted"
    assert [(d["action"], d["idpn"], d["login"]) for d in record.draft("eleves")] == [
        ("link", DATE_DIFFERS, "leo.colin")
    ]


async def test_ctrl_q_with_nothing_pending_quits_at_once(root):
    app = demo_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ConfirmDialog)
    record = resumable_session(root / "demo" / "data", UAI)
    assert record is not None and record.status == "interrupted"  # journaled, F5 resumes


async def test_f5_with_nothing_to_resume_says_so(root):
    app = demo_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        message = str(pilot.app.screen.query_one("#message").render())
        assert "Aucune session à reprendre pour 0441234A" in message


async def test_validate_shows_progress_then_what_it_wrote(root, monkeypatch):
    import core.wizard_writes as wizard  # where _apply_in_parts looks it up

    monkeypatch.setattr(wizard, "PROGRESS_PART_MIN", 20)  # the demo's steps are small
    app = demo_app(root)
    seen: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await validate(pilot)
        screen = pilot.app.screen
        plan = screen.session.plan()
        total = len(plan.changes)
        left = len(screen.state.match.unrecognised)
        original = StepScreen.on_write_progress

        def spy(self, message):
            original(self, message)
            if self._progress is not None:
                seen.append(str(self._progress[1].render()))

        monkeypatch.setattr(StepScreen, "on_write_progress", spy)
        notices = len(pilot.app._notifications)
        await validate(pilot)
        texts = [n.message for n in list(pilot.app._notifications)[notices:]]
    assert seen and seen[-1] == f"{total} / {total}", seen
    assert f"Étape 2 : {total} écrits, 0 refusé, {left} non reliés." in texts, texts


async def test_the_confirmation_lists_manual_choices_and_the_unlinked(root):
    app = demo_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot)
        await validate(pilot)
        screen = pilot.app.screen
        await link_by_hand(pilot, screen)
        screen.query_one("#recognised").focus()
        await pilot.pause()
        rejected = screen._highlighted()
        await pilot.press("r")
        await pilot.press("v")
        await pilot.pause()
        lines = pilot.app.screen._lines
        left = sum(
            1 for d in screen.state.match.decisions if not screen.state.link_of(d.pronote.idpn)
        )
        assert any("Dont 2 choix manuel(s)" in line for line in lines)
        assert any(f"{left} compte(s) de l'étape resteront non relié(s)" in line for line in lines)
        assert any(line.startswith(f"+✎{DATE_DIFFERS}") for line in lines)
        assert any(line.startswith(f"✗ {rejected.pronote.idpn}") for line in lines)


def test_the_undo_command_the_demo_end_screen_prints_works(root, tmp_path):
    """`idpronote undo SESSION --demo`, as printed, restores the demo copy."""
    user = replace(Config(), data_dir=root)
    folder = prepare_demo(user)
    before = (folder / "annuaire.csv").read_bytes()
    config_file = tmp_path / "config.toml"
    config_file.write_text(f'data_dir = "{root}"\n', encoding="utf-8")
    env = {**os.environ, "IDPRONOTE_CONFIG": str(config_file), "PYTHONPATH": str(ROOT)}
    from core.pronote_file import read_identifiers_file
    from core.wizard import ImportSession
    from directory_adapters.csv import CsvDirectory

    config, directory_file = demo_config(user)
    s = ImportSession(
        CsvDirectory(directory_file),
        read_identifiers_file(folder / "identifiants.xml"),
        uai=UAI,
        mode="complet",
        data_dir=config.data_dir,
    ).start()
    s.validate()
    s.interrupt()
    assert (folder / "annuaire.csv").read_bytes() != before
    done = subprocess.run(
        [sys.executable, "-m", "cli", "undo", s.session, "--demo", "--yes"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (folder / "annuaire.csv").read_bytes() == before
    listed = subprocess.run(
        [sys.executable, "-m", "cli", "history", "--demo"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert s.session in listed.stdout, listed.stderr


def test_the_demo_copy_is_kept_and_reset_on_request(root):
    user = replace(Config(), data_dir=root)
    folder = prepare_demo(user)
    (folder / "annuaire.csv").write_text("changed", encoding="utf-8")
    (folder / "data").mkdir()
    (folder / "data" / "marker").write_text("x", encoding="utf-8")
    assert prepare_demo(user) == folder
    assert (folder / "annuaire.csv").read_text(encoding="utf-8") == "changed"  # kept
    prepare_demo(user, reset=True)
    assert (folder / "annuaire.csv").read_text(encoding="utf-8") != "changed"
    assert not (folder / "data").exists()
    assert oct((folder).stat().st_mode & 0o777) == "0o700"


def test_a_demo_folder_that_is_a_link_is_refused_not_followed(root, tmp_path):
    from core.private_files import UnsafePath

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the demo's", encoding="utf-8")
    root.mkdir(mode=0o700)
    (root / "demo").symlink_to(elsewhere)
    with pytest.raises(UnsafePath):
        prepare_demo(replace(Config(), data_dir=root), reset=True)
    assert (elsewhere / "keep.txt").read_text(encoding="utf-8") == "not the demo's"
