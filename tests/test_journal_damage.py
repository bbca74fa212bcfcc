"""A journal that says when it is damaged, and undo that never acts on a line that does not verify.

Every byte of a real journal is flipped in turn: each time `history` shows the
session damaged, `undo` refuses it, and a new import of the establishment is
held back until an admin acknowledges the damage. A line cut by a crash is
not damage (it was never acted on) and is dropped by the next append; a
journal of format 1 (before checksums) is listed and undone, said to be of
the old format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main
from core.journal import (
    Journal,
    JournalDamaged,
    SessionBlocked,
    blocking_session,
    find_session,
    read_session,
    sessions,
)
from core.journal_lines import read_lines
from core.wizard import undo_session
from directory_adapters.csv import CsvDirectory
from tests.journals import records_of

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
BASE = ["identifiants.xml", "--directory-file", "annuaire.csv"]


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdgdata"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    shutil.copy(DEMO / "annuaire.csv", tmp_path / "annuaire.csv")
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    return tmp_path


def data_dir(site: Path) -> Path:
    return site / "xdgdata" / "idpronote"


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def teachers_session(site: Path, capsys) -> Path:
    """One real session: the teachers' step written (a small journal)."""
    code, out, err = run(["apply", *BASE, "--steps", "enseignants", "--format", "json"], capsys)
    assert code in (0, 1), err
    return find_session(data_dir(site), json.loads(out)["session"]).path


def test_a_flipped_byte_anywhere_is_reported_and_refused(site, capsys):
    path = teachers_session(site, capsys)
    good = path.read_bytes()
    assert read_session(path).status == "completed" and not read_session(path).damaged
    csv = (site / "annuaire.csv").read_bytes()
    directory = CsvDirectory(site / "annuaire.csv")
    for offset in range(len(good)):
        # The lowest bit everywhere, the highest (invalid UTF-8 mostly) every few bytes.
        for mask in (0x01, 0x80) if offset % 7 == 0 else (0x01,):
            flipped = bytearray(good)
            flipped[offset] ^= mask
            path.write_bytes(bytes(flipped))
            record = read_session(path)
            where = f"offset {offset} of {len(good)}, mask {mask:#x}"
            assert record.status == "damaged" and record.damaged, where
            with pytest.raises(JournalDamaged):
                undo_session(directory, record, data_dir=data_dir(site))
            if offset % 97 == 0:  # the whole lookup, now and then: it is slower
                (listed,) = sessions(data_dir(site), UAI)
                assert listed.status == "damaged", where
                assert blocking_session(data_dir(site), UAI) is not None, where
    assert (site / "annuaire.csv").read_bytes() == csv  # nothing was ever undone


@pytest.mark.parametrize("where", ["header", "middle", "last byte"])
def test_the_commands_say_damaged_and_refuse(site, capsys, where):
    path = teachers_session(site, capsys)
    good = path.read_bytes()
    offset = {"header": 40, "middle": len(good) // 2, "last byte": len(good) - 1}[where]
    flipped = bytearray(good)
    flipped[offset] ^= 0x04
    path.write_bytes(bytes(flipped))
    session = path.stem

    code, out, _ = run(["history", "--format", "json"], capsys)
    (row,) = json.loads(out)["sessions"]
    assert code == 0 and row["outcome"] == "damaged" and row["damaged_lines"]
    code, out, _ = run(["history", "--lang", "en"], capsys)
    assert "journal damaged" in out and session in out

    csv = (site / "annuaire.csv").read_bytes()
    code, _, err = run(["undo", session, *BASE[1:], "--yes"], capsys)
    assert code == 2 and "endommagé" in err
    assert (site / "annuaire.csv").read_bytes() == csv

    # A new import of the establishment waits until someone looked.
    code, _, err = run(["apply", *BASE, "--lang", "en"], capsys)
    assert code == 2 and "damaged" in err and "--acknowledge-damage" in err
    code, out, _ = run(
        ["history", session, "--acknowledge-damage", "--yes", "--lang", "en"], capsys
    )
    assert code == 0 and "Acknowledged" in out
    code, out, _ = run(["history", "--format", "json"], capsys)
    assert json.loads(out)["sessions"][0]["damage_acknowledged"] is True
    code, _, err = run(["apply", *BASE, "--format", "json"], capsys)
    assert code in (0, 1), err
    # The acknowledgement holds only for the journal as it was then.
    path.write_bytes(bytes(flipped[:-2]) + b"\n")
    assert blocking_session(data_dir(site), UAI) is not None


def test_a_damaged_header_of_a_cut_session_still_blocks_a_plain_apply(site, capsys):
    path = teachers_session(site, capsys)
    records = records_of(path)
    # Cut it after its intent: no outcome, no end (a crash right after the write).
    lines = path.read_bytes().split(b"\n")
    intent = next(i for i, r in enumerate(records) if r["type"] == "intent")
    cut = b"\n".join(lines[: intent + 1]) + b"\n"
    path.write_bytes(cut)
    assert read_session(path).must_finish
    damaged = bytearray(cut)
    damaged[10] ^= 0x01  # inside the header
    path.write_bytes(bytes(damaged))
    code, _, err = run(["apply", *BASE, "--lang", "en"], capsys)
    assert code == 2 and "damaged" in err
    code, _, err = run(["apply", *BASE, "--resume", "--lang", "en"], capsys)
    assert code == 2 and "damaged" in err


def test_a_line_cut_by_a_crash_is_shown_and_dropped_on_resume(site, capsys):
    path = teachers_session(site, capsys)
    good = path.read_bytes()
    end = good.rstrip(b"\n").rfind(b"\n") + 1  # the end line: cut in the middle of it
    path.write_bytes(good[: end + 20])
    record = read_session(path)
    assert record.status == "cut" and record.torn == 20 and not record.damaged
    code, out, _ = run(["history", "--lang", "en"], capsys)
    assert "last line cut by a crash (20 bytes" in out
    # Undo may go on: the cut line was never acted on.
    assert read_session(path).writes()
    code, out, err = run(["apply", *BASE, "--resume", "--format", "json"], capsys)
    assert code in (0, 1), err
    text = read_lines(path)
    assert not text.damaged and not text.torn
    resumed = [r for r in records_of(path) if r["type"] == "resumed"]
    assert resumed[0]["dropped_incomplete_line"] == 20
    assert read_session(path).status == "completed"


def test_an_append_after_a_crash_never_joins_the_cut_line(site, capsys):
    path = teachers_session(site, capsys)
    good = path.read_bytes()
    path.write_bytes(good + b'{"type":"outcome","bat')  # a crash while writing a line
    journal = Journal(path)  # as any code that reopens a journal by its path
    journal.append({"type": "note", "text": "after the crash"})
    text = read_lines(path)
    assert not text.damaged and not text.torn
    assert records_of(path)[-1] == {"type": "note", "text": "after the crash"}


def legacy(path: Path) -> None:
    """Rewrite a journal as idpronote wrote it before checksums (format 1)."""
    lines = []
    for record in records_of(path):
        if record["type"] == "session":
            record["version"] = 1
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_journal_of_format_1_is_listed_and_undone_as_such(site, capsys):
    before = (site / "annuaire.csv").read_bytes()
    path = teachers_session(site, capsys)
    written = read_session(path).counts()["written"]
    legacy(path)
    record = read_session(path)
    assert record.legacy and not record.damaged and record.status == "completed"
    code, out, _ = run(["history", "--format", "json"], capsys)
    (row,) = json.loads(out)["sessions"]
    assert (row["format"], row["written"], row["outcome"]) == (1, written, "completed")
    code, out, _ = run(["history", "--lang", "en"], capsys)
    assert "format-1 journal" in out
    code, out, err = run(["undo", path.stem, *BASE[1:], "--yes", "--lang", "en"], capsys)
    assert code == 0, err
    assert f"{written} value(s) restored" in out and "format-1" in out
    assert (site / "annuaire.csv").read_bytes() == before


def test_a_format_1_line_that_does_not_parse_is_damage_too(site, capsys):
    path = teachers_session(site, capsys)
    legacy(path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"type":"outcome"', '"type":"outcome', 1), encoding="utf-8")
    record = read_session(path)
    assert record.damaged and record.status == "damaged"
    with pytest.raises(JournalDamaged):
        record.require_intact()
    with pytest.raises(SessionBlocked):
        from core.journal import refuse_if_blocked

        refuse_if_blocked(data_dir(site), UAI)


def test_a_session_of_format_1_is_resumed_and_stays_readable(site, capsys):
    from core.pronote_file import read_identifiers_file
    from core.wizard import ImportSession

    s = ImportSession(
        CsvDirectory(site / "annuaire.csv"),
        read_identifiers_file(site / "identifiants.xml"),
        uai=UAI,
        mode="complet",
        data_dir=data_dir(site),
    ).start()
    s.validate()
    s.interrupt()
    legacy(s.journal.path)
    code, _, err = run(["apply", *BASE, "--resume", "--format", "json"], capsys)
    assert code in (0, 1), err
    record = read_session(s.journal.path)
    # Old lines stay unverifiable, the new ones are sealed: nothing reads as damaged.
    assert record.legacy and not record.damaged and record.status == "completed"
    assert record.steps_done[0] == "enseignants" and len(record.steps_done) == 6
