"""Killed at a named point of the write protocol, resumed, undone: nothing is lost to the record.

`apply` runs in a child process that SIGKILLs itself right after the Nth
rename of the CSV, the Nth fsync of the LDIF changes file, or the Nth fsync
of the journal (tests/killpoints.py). Then, in this process, a plain `apply`
is refused, `apply --resume` finishes the session, `history` counts every
write an uninterrupted run makes, and `undo` gives back the original
directory exactly. (LDAP: tests/ldap/test_ldap_crash.py.)
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest

from bench.ldap_data import read_annuaire, write_ldif
from cli.main import main
from core.config import load_config
from core.model import CATEGORIES
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters import open_directory
from tests.killpoints import run_child

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
KILLED = -signal.SIGKILL


def make_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> Path:
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    if kind == "csv":
        shutil.copy(DEMO / "annuaire.csv", tmp_path / "annuaire.csv")
        directory = 'kind = "csv"\npath = "annuaire.csv"\n'
    else:
        write_ldif(read_annuaire(DEMO / "annuaire.csv"), tmp_path / "annuaire.ldif", "ent")
        directory = 'kind = "ldif"\npath = "annuaire.ldif"\npreset = "ent"\n'
    (tmp_path / "config.toml").write_text(
        f'data_dir = "data"\n[directory]\n{directory}', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


def child_env(site: Path) -> dict[str, str]:
    return {"XDG_STATE_HOME": str(site / "state"), "IDPRONOTE_CONFIG": ""}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(site: Path) -> object:
    """The directory as a reader sees it: the CSV's bytes, or the export plus its changes."""
    csv = site / "annuaire.csv"
    if csv.exists():
        return csv.read_bytes()
    with open_directory(load_config(site / "config.toml")) as d:
        # Every entry's identifier values and object classes, after the changes file.
        return {
            d._dns[i]: (sorted(a.identifiers), sorted(d._object_classes[i]))
            for i, a in enumerate(d._accounts)
        }


def planned_writes(site: Path) -> int:
    """How many values an uninterrupted run of every step writes."""
    config = load_config(site / "config.toml")
    export = read_identifiers_file(site / "identifiants.xml")
    with open_directory(config) as d:
        s = ImportSession(d, export, uai=UAI, mode="complet", data_dir=None)
        return sum(len(s.plan(s.state(c)).changes) for c in CATEGORIES)


def only_session(capsys) -> dict:
    _, out, _ = run(["history", "--format", "json"], capsys)
    (found,) = [s for s in json.loads(out)["sessions"] if s["kind"] == "import"]
    return found


def killed_then_resumed_then_undone(site: Path, capsys, kill: str, target: str) -> None:
    before = snapshot(site)
    expected = planned_writes(site)
    assert expected > 100
    _, out, _ = run(["match", "identifiants.xml", "--format", "json"], capsys)
    left = json.loads(out)["summary"]["unrecognised"]
    child = run_child(
        ["apply", "identifiants.xml"], cwd=site, env=child_env(site), kill=kill, target=target
    )
    assert child.returncode == KILLED, child.stderr

    cut = only_session(capsys)
    assert cut["outcome"] == "cut"
    if kill.startswith("directory-"):
        # Killed after the write and before its proof: the journal knows it may be there.
        assert cut["pending"] > 0
    if cut["pending"]:
        # A new import must not start over a half-written one: it names it and the way out.
        code, _, err = run(["apply", "identifiants.xml", "--format", "json"], capsys)
        assert code == 2 and cut["session"] in err and "--resume" in err

    code, out, err = run(["apply", "identifiants.xml", "--resume", "--format", "json"], capsys)
    assert code in (0, 1), err  # 1: accounts left for a human, as an uninterrupted run
    assert json.loads(out)["session"] == cut["session"]
    done = only_session(capsys)
    assert done["outcome"] == "completed"
    assert done["written"] == expected  # every write counted, the one before the cut too
    assert done["failed"] == 0 and done["pending"] == 0
    # The school's to-do list: every step's accounts left to link, the cut one's too.
    _, out, _ = run(["history", done["session"], "--format", "json"], capsys)
    assert len(json.loads(out)["remaining"]) == left > 0
    leftovers = sorted(p.name for p in site.iterdir() if p.name.startswith("."))
    assert leftovers == []  # no temporary file, no lock file
    backup = site / "annuaire.csv.bak"
    if backup.exists():
        # The file before the session's first write, not before its last step or the resume.
        assert backup.read_bytes() == before

    code, out, err = run(["undo", cut["session"], "--yes", "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 0, err
    assert (report["restored"], report["failed"]) == (expected, [])
    assert snapshot(site) == before  # exactly the original


@pytest.mark.parametrize("n", [1, 2, 3])
def test_csv_killed_after_the_nth_rename(tmp_path, monkeypatch, capsys, n):
    site = make_site(tmp_path, monkeypatch, "csv")
    killed_then_resumed_then_undone(site, capsys, f"directory-rename:{n}", "annuaire.csv")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_ldif_killed_after_the_nth_sync_of_the_changes(tmp_path, monkeypatch, capsys, n):
    site = make_site(tmp_path, monkeypatch, "ldif")
    target = "annuaire.modifications.ldif"
    killed_then_resumed_then_undone(site, capsys, f"directory-fsync:{n}", target)


# The journal's lines: 1 header, 2 intent (synced, nothing sent yet), 3 its outcome (the
# step's own line not written), 4 step, 5 the next intent, 6 its outcome, ...
@pytest.mark.parametrize("n", [2, 3, 6])
def test_csv_killed_after_the_nth_sync_of_the_journal(tmp_path, monkeypatch, capsys, n):
    """Killed between the lines of the journal, at moments the directory's kills miss."""
    site = make_site(tmp_path, monkeypatch, "csv")
    killed_then_resumed_then_undone(site, capsys, f"journal-fsync:{n}", "annuaire.csv")


def test_a_temporary_file_left_by_a_kill_is_removed_at_the_next_start(
    tmp_path, monkeypatch, capsys
):
    site = make_site(tmp_path, monkeypatch, "csv")
    child = run_child(
        ["apply", "identifiants.xml"],
        cwd=site,
        env=child_env(site),
        kill="directory-fsync:2",  # the second step's temporary file, synced, not renamed
        target="annuaire.csv",
    )
    assert child.returncode == KILLED
    (left,) = [p for p in site.iterdir() if p.name.endswith(".tmp")]
    assert left.name.startswith(".annuaire.csv.")
    run(["status", "--uai", UAI], capsys)  # any start that opens the file whole...
    run(["linked", "--uai", UAI], capsys)
    assert not left.exists()  # ... removes it: it held personal data
