"""A step's manual choices are journaled as they are made (issue 16: nothing lost).

A draft survives an interrupt, a crash (the process killed with SIGKILL) and
comes back on resume; an entry that no longer makes sense is dropped and said;
nothing is ever written to the directory on a draft's word without Validate.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.journal import read_session, resumable_session, sessions
from core.model import Category
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters.csv import CsvDirectory

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
# Step 2 (students) of the demo: a date that differs from the directory's, one
# candidate (leo.colin); and a student recognised automatically.
DATE_DIFFERS = "SLDRQ82E3WDK2CZR"


@pytest.fixture
def site(tmp_path):
    shutil.copy(DEMO / "annuaire.csv", tmp_path / "annuaire.csv")
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    return tmp_path


def open_session(site: Path) -> ImportSession:
    return ImportSession(
        CsvDirectory(site / "annuaire.csv"),
        read_identifiers_file(site / "identifiants.xml"),
        uai=UAI,
        mode="complet",
        data_dir=site / "data",
    ).start()


def resume(site: Path) -> ImportSession:
    record = resumable_session(site / "data", UAI)
    assert record is not None
    return ImportSession.resume(
        CsvDirectory(site / "annuaire.csv"),
        record,
        read_identifiers_file(site / "identifiants.xml"),
        data_dir=site / "data",
    )


def to_students(s: ImportSession) -> None:
    s.validate()  # step 1, teachers
    assert s.category is Category.ELEVES


def recognised_student(s: ImportSession) -> str:
    return s.current.match.recognised[0].pronote.idpn


def records(site: Path) -> list[dict]:
    (path,) = (site / "data" / "journals" / UAI).glob("*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_choices_are_journaled_as_they_are_made_and_come_back_after_interrupt(site):
    s = open_session(site)
    to_students(s)
    auto = recognised_student(s)
    obsolete = s.current.match.obsolete[0]
    s.link(DATE_DIFFERS, "leo.colin")
    s.clear(auto)
    s.keep_obsolete(obsolete.account.login, obsolete.idpn)
    drafts = [r for r in records(site) if r["type"] == "draft"]
    assert [(d["step"], d["action"]) for d in drafts] == [
        ("eleves", "link"),
        ("eleves", "clear"),
        ("eleves", "keep"),
    ]
    assert s.current.pending == 3
    s.interrupt()

    back = resume(site)
    try:
        state = back.current
        assert back.category is Category.ELEVES
        assert state.manual == {DATE_DIFFERS: "leo.colin"}
        assert state.rejected == {auto}
        assert state.kept == {(obsolete.account.login, obsolete.idpn)}
        assert back.draft_restored == 3 and back.draft_notes == []
        assert "3" in (back.draft_summary() or "")
    finally:
        back.close()


def test_a_choice_taken_back_is_replayed_in_order(site):
    s = open_session(site)
    to_students(s)
    auto = recognised_student(s)
    s.link(DATE_DIFFERS, "leo.colin")
    s.clear(DATE_DIFFERS)
    s.clear(auto)
    s.restore(auto)
    s.interrupt()
    back = resume(site)
    try:
        assert back.current.manual == {}
        assert back.current.rejected == set()
        assert back.current.link_of(auto)  # the automatic link applies again
    finally:
        back.close()


def test_a_validated_steps_draft_is_superseded_by_its_writes(site):
    s = open_session(site)
    s.validate()
    s.link(DATE_DIFFERS, "leo.colin")
    s.validate()  # students written, the manual link with them
    assert s.category is Category.RESPONSABLES
    s.interrupt()
    back = resume(site)
    try:
        assert back.category is Category.RESPONSABLES
        assert back.current.manual == {}
        assert back.draft_restored == 0 and back.draft_summary() is None
        record = read_session(back.journal.path)
        assert record.draft("eleves") == []  # done: nothing to replay
        assert record.drafts["eleves"]  # still in the journal, as evidence
    finally:
        back.close()


def test_a_stale_draft_entry_is_dropped_and_said(site):
    s = open_session(site)
    to_students(s)
    s.link(DATE_DIFFERS, "leo.colin")
    s.interrupt()
    # Meanwhile someone deletes the account from the directory.
    path = site / "annuaire.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith("leo.colin;")]
    assert len(kept) == len(lines) - 1
    path.write_text("".join(kept), encoding="utf-8")

    back = resume(site)
    try:
        assert back.current.manual == {}
        assert back.draft_restored == 0
        (note,) = back.draft_notes
        assert "leo.colin" in note and DATE_DIFFERS in note
        assert "1" in (back.draft_summary() or "")  # one dropped
    finally:
        back.close()


def test_a_draft_link_to_an_identifier_now_elsewhere_is_dropped(site):
    s = open_session(site)
    to_students(s)
    s.link(DATE_DIFFERS, "leo.colin")
    s.interrupt()
    # Meanwhile another account got that identifier for the establishment.
    other = next(
        a.login
        for a in CsvDirectory(site / "annuaire.csv").accounts(UAI)
        if a.login != "leo.colin" and not a.identifiers
    )
    from core.wizard import link_account

    link_account(
        CsvDirectory(site / "annuaire.csv"),
        UAI,
        other,
        DATE_DIFFERS,
        data_dir=site / "data",
        in_file=(),
    )
    record = next(r for r in sessions(site / "data", UAI) if r.drafts)
    back = ImportSession.resume(
        CsvDirectory(site / "annuaire.csv"),
        record,
        read_identifiers_file(site / "identifiants.xml"),
        data_dir=site / "data",
    )
    try:
        assert back.current.manual == {}
        (note,) = back.draft_notes
        assert other in note
    finally:
        back.close()


def test_a_draft_never_writes_without_validate(site):
    before = (site / "annuaire.csv").read_bytes()
    s = open_session(site)
    to_students(s)
    after_step_1 = (site / "annuaire.csv").read_bytes()
    assert after_step_1 != before  # step 1 did write (the test sees writes)
    s.link(DATE_DIFFERS, "leo.colin")
    s.clear(recognised_student(s))
    s.interrupt()
    assert (site / "annuaire.csv").read_bytes() == after_step_1
    back = resume(site)
    back.close()
    assert back.current.manual == {DATE_DIFFERS: "leo.colin"}
    assert (site / "annuaire.csv").read_bytes() == after_step_1
    record = read_session(back.journal.path)
    assert not any(o["login"] == "leo.colin" for b in record.intents.values() for o in b["changes"])


CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from core.pronote_file import read_identifiers_file
    from core.wizard import ImportSession
    from directory_adapters.csv import CsvDirectory

    site = Path(sys.argv[1])
    s = ImportSession(
        CsvDirectory(site / "annuaire.csv"),
        read_identifiers_file(site / "identifiants.xml"),
        uai="0441234A", mode="complet", data_dir=site / "data",
    ).start()
    s.validate()
    s.link("SLDRQ82E3WDK2CZR", "leo.colin")
    print("linked", flush=True)
    os.kill(os.getpid(), int(sys.argv[2]))
    """
)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP], ids=["kill-9", "sighup"])
def test_a_draft_survives_kill_9_mid_step(site, monkeypatch, capsys, sig):
    """SIGKILL: a crash; SIGHUP: the SSH session closed (its default action ends the process)."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(site), str(int(sig))],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -sig, child.stderr
    assert "linked" in child.stdout
    record = resumable_session(site / "data", UAI)
    assert record is not None and record.ended is None  # killed: no end line
    assert not record.damaged
    back = resume(site)
    try:
        assert back.category is Category.ELEVES
        assert back.current.manual == {DATE_DIFFERS: "leo.colin"}
        # Validated after the resume, the link is written, counted with step 1's writes.
        back.validate()
        counts = back.step_counts()
        assert counts["enseignants"]["written"] > 0
        assert counts["eleves"]["written"] > 0
    finally:
        back.close()
    d = CsvDirectory(site / "annuaire.csv")
    assert DATE_DIFFERS in d.form.idpns_for(d.get("leo.colin").identifiers, UAI)
    # `history` counts both runs of the session, per step.
    from cli.main import main

    (site / "config.toml").write_text(f'data_dir = "{site / "data"}"\n', encoding="utf-8")
    monkeypatch.setenv("IDPRONOTE_CONFIG", str(site / "config.toml"))
    assert main(["history", "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["sessions"]
    assert row["step_counts"]["enseignants"] == counts["enseignants"]
    assert row["step_counts"]["eleves"] == counts["eleves"]
    assert row["written"] == counts["enseignants"]["written"] + counts["eleves"]["written"]


def test_progress_is_told_per_part_and_the_write_set_is_the_same(site, monkeypatch):
    import core.wizard_writes as wizard  # where _apply_in_parts looks it up

    monkeypatch.setattr(wizard, "PROGRESS_PART_MIN", 10)
    s = open_session(site)
    s.validate()
    total = len(s.plan().changes)
    assert total > 20
    seen: list[tuple[int, int]] = []
    outcomes = s.validate(progress=lambda done, of: seen.append((done, of)))
    assert seen[0] == (0, total) and seen[-1] == (total, total)
    assert len(seen) >= 3 and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(outcomes) == total and all(o.applied for o in outcomes)
    # One journaled batch for the step, as without progress: resume relies on it.
    record = read_session(s.journal.path)
    assert [i["step"] for i in record.intents.values()] == ["enseignants", "eleves"]
    s.close()


def test_a_progress_callback_that_fails_does_not_break_the_write(site):
    s = open_session(site)

    def broken(_done: int, _total: int) -> None:
        raise RuntimeError("the screen is gone")

    outcomes = s.validate(progress=broken)
    assert outcomes and all(o.applied for o in outcomes)
    s.close()


def test_the_journal_readers_tolerate_drafts(site):
    s = open_session(site)
    to_students(s)
    s.link(DATE_DIFFERS, "leo.colin")
    s.close()
    record = read_session(s.journal.path)
    assert not record.damaged
    assert record.counts()["written"] == record.step_counts()["enseignants"]["written"]
    from core.wizard import undo_session

    undone = undo_session(CsvDirectory(site / "annuaire.csv"), record, data_dir=site / "data")
    assert undone and all(o.applied for o in undone)  # undo reads past the draft lines
