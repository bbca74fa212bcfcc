"""`undo` says what it restored, and only that; and undoes what a cut session may have written."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from cli.main import main
from core.model import ChangeKind, IdentifierChange
from directory_adapters.csv import CsvDirectory
from tests.killpoints import run_child

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
BASE = ["identifiants.xml", "--directory-file", "annuaire.csv"]


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    for name in XDG:
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    shutil.copy(DEMO / "annuaire.csv", tmp_path / "annuaire.csv")
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    return tmp_path


XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")


def env(site: Path) -> dict[str, str]:
    return {name: str(site / name.lower()) for name in XDG}


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def sessions(capsys) -> list[dict]:
    _, out, _ = run(["history", "--format", "json"], capsys)
    return json.loads(out)["sessions"]


def test_a_value_changed_since_is_listed_not_restored_and_exit_is_1(site, capsys):
    _, out, _ = run(["apply", *BASE, "--format", "json"], capsys)
    session = json.loads(out)["session"]
    (first,) = [s for s in sessions(capsys) if s["session"] == session]
    written = first["written"]
    report = json.loads(out)
    login, idpn = next(
        (a["account"], a["idpn"]) for s in report["steps"] for a in s["accounts"] if a["written"]
    )
    # Someone relinks that account by hand in the meantime.
    relinked = IdentifierChange(login, UAI, ChangeKind.REPLACE, "ZZZZZZZZZZZZZZZZ", idpn)
    assert CsvDirectory(site / "annuaire.csv").apply([relinked])[0].applied
    code, out, _ = run(["undo", session, *BASE[1:], "--yes", "--lang", "en"], capsys)
    assert code == 1
    head, *listed = out.strip().splitlines()
    assert head.startswith(f"{written - 1} value(s) restored, 0 already as before, 1 not restored")
    assert len(listed) == 1 and login in listed[0]
    # Undone again: nothing more to restore, and it does not pretend otherwise.
    code, out, _ = run(["undo", session, *BASE[1:], "--yes", "--format", "json"], capsys)
    again = json.loads(out)
    assert code == 1 and again["restored"] == 0
    assert again["already_as_before"] == written - 1
    assert [f["account"] for f in again["failed"]] == [login]


@pytest.mark.parametrize(
    "kill, landed",
    [("journal-fsync:2", False), ("directory-rename:1", True), ("directory-rename:2", True)],
)
def test_a_cut_session_is_undone_without_resuming_it(site, capsys, kill, landed):
    """Killed after the intent (nothing written yet) or after the rename (written, no
    proof): undo checks the file and restores exactly, counting only what it wrote back."""
    before = (site / "annuaire.csv").read_bytes()
    child = run_child(["apply", *BASE], cwd=site, env=env(site), kill=kill, target="annuaire.csv")
    assert child.returncode == -signal.SIGKILL
    (cut,) = sessions(capsys)
    assert cut["outcome"] == "cut" and cut["pending"] > 0
    code, out, err = run(["undo", cut["session"], *BASE[1:], "--yes", "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 0, err
    assert report["failed"] == []
    if landed:
        assert report["restored"] >= cut["pending"] > 0
    else:
        assert report["restored"] == 0 and report["already_as_before"] == cut["pending"]
    assert (site / "annuaire.csv").read_bytes() == before


def test_a_cut_session_undone_no_longer_holds_back_a_new_import(site, capsys):
    child = run_child(
        ["apply", *BASE], cwd=site, env=env(site), kill="directory-rename:1", target="annuaire.csv"
    )
    assert child.returncode == -signal.SIGKILL
    (cut,) = sessions(capsys)
    code, _, err = run(["apply", *BASE], capsys)
    assert code == 2 and cut["session"] in err
    code, _, err = run(["undo", cut["session"], *BASE[1:], "--yes"], capsys)
    assert code == 0, err
    code, _, err = run(["apply", *BASE, "--resume"], capsys)
    assert code == 2  # undone: nothing left to resume
    code, _, err = run(["apply", *BASE, "--format", "json"], capsys)
    assert code in (0, 1), err
