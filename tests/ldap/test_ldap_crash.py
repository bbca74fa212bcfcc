"""LDAP: idpronote killed after the Nth modify, or slapd killed mid-step; resumed, undone.

The write protocol's kill points are in tests/killpoints.py; the CSV and LDIF
forms of these tests are in tests/test_crash.py.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest

from bench.ldap_data import read_annuaire, to_ldif
from cli.main import main
from core.config import load_config
from core.model import CATEGORIES, ChangeKind
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters import open_directory
from tests.killpoints import run_child, start_child
from tests.ldap.server import Slapd

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


@pytest.fixture
def site(tmp_path, monkeypatch, slapd_factory):
    server = slapd_factory(to_ldif(read_annuaire(DEMO / "annuaire.csv"), "ent"))
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    (tmp_path / "config.toml").write_text(
        f"""
data_dir = "data"
[directory]
kind = "ldap"
preset = "ent"
[directory.ldap]
url = "{server.url}"
bind_dn = "{Slapd.service_dn}"
password_env = "IDPRONOTE_TEST_PASSWORD"
base_dn = "{Slapd.people_dn}"
receive_timeout = 5
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.service_password)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path, server


def env(site: Path) -> dict[str, str]:
    return {
        "IDPRONOTE_TEST_PASSWORD": Slapd.service_password,
        "XDG_STATE_HOME": str(site / "state"),
        "IDPRONOTE_CONFIG": "",
    }


def entries(server: Slapd) -> dict[str, dict[str, list[str]]]:
    """Every entry, every user attribute (object classes included), values sorted."""
    return {
        dn.lower(): {name.lower(): sorted(values) for name, values in attributes.items()}
        for dn, attributes in server.search("(objectClass=*)")
    }


def stored(site: Path) -> dict[str, frozenset[str]]:
    with open_directory(load_config(site / "config.toml")) as d:
        return {a.login: frozenset(d.form.idpns_for(a.identifiers, UAI)) for a in d.accounts(UAI)}


def planned(site: Path) -> tuple[int, dict[str, frozenset[str]]]:
    """How many values an uninterrupted run writes, and what the directory then holds."""
    expected = dict(stored(site))
    export = read_identifiers_file(site / "identifiants.xml")
    count = 0
    with open_directory(load_config(site / "config.toml")) as d:
        s = ImportSession(d, export, uai=UAI, mode="complet", data_dir=None)
        for category in CATEGORIES:
            for change in s.plan(s.state(category)).changes:
                count += 1
                value = frozenset() if change.kind is ChangeKind.REMOVE else {change.idpn}
                expected[change.login] = frozenset(value)
    return count, expected


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def the_import(capsys) -> dict:
    _, out, _ = run(["history", "--format", "json"], capsys)
    (found,) = [s for s in json.loads(out)["sessions"] if s["kind"] == "import"]
    return found


def resume_and_undo(site: Path, server: Slapd, capsys, before, count, expected) -> None:
    code, out, err = run(["apply", "identifiants.xml", "--resume", "--format", "json"], capsys)
    assert code in (0, 1), err
    assert stored(site) == expected
    done = the_import(capsys)
    assert done["outcome"] == "completed"
    assert (done["written"], done["failed"], done["pending"]) == (count, 0, 0)
    code, out, err = run(["undo", done["session"], "--yes", "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 0, err
    assert (report["restored"], report["failed"]) == (count, [])
    # Exactly the original: values, and the auxiliary class the writes had added.
    assert entries(server) == before


@pytest.mark.parametrize("n", [1, 2, 3])
def test_killed_after_the_nth_modify_then_resumed_then_undone(site, capsys, n):
    site, server = site
    before = entries(server)
    count, expected = planned(site)
    child = run_child(
        ["apply", "identifiants.xml"], cwd=site, env=env(site), kill=f"ldap-modify:{n}"
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    cut = the_import(capsys)
    assert cut["outcome"] == "cut" and cut["pending"] > 0
    code, _, err = run(["apply", "identifiants.xml"], capsys)
    assert code == 2 and cut["session"] in err  # finish it first
    resume_and_undo(site, server, capsys, before, count, expected)


def test_slapd_killed_mid_step_then_resume_finishes_it(site, capsys):
    site, server = site
    before = entries(server)
    count, expected = planned(site)
    # Each modify a little slow, so that the kill lands inside the students' step.
    child = start_child(
        ["apply", "identifiants.xml"], cwd=site, env=env(site), delay="ldap-modify:0.1"
    )
    journals = site / "data" / "journals" / UAI
    students = '"type":"intent","batch":2,"step":"eleves"'
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        students in p.read_text() for p in journals.glob("*.jsonl")
    ):
        time.sleep(0.01)
    time.sleep(0.3)  # some of the step written, not all of it
    server.kill()
    _out, err = child.communicate(timeout=120)
    assert child.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err  # said once
    assert "--resume" in err
    cut = the_import(capsys)
    assert cut["outcome"] == "cut" and cut["steps"] == ["enseignants"]
    assert 0 < cut["written"] < count
    server.start()
    resume_and_undo(site, server, capsys, before, count, expected)
