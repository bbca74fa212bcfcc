"""The headless commands on an LDIF export, as an offline site runs them.

The demo directory as `ent` entries in an LDIF file: matching decides as on
the CSV, search/linked/unlink/apply work on it, and what they write lands in
the changes file, which a second run replays instead of writing again.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from bench.ldap_data import read_annuaire, write_ldif
from cli.main import main
from core.config import load_config
from core.matching import Reconciliation
from core.pronote_file import read_identifiers_file
from directory_adapters import open_directory
from directory_adapters.csv import CsvDirectory
from tests.report_rows import check_report_rows

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


@pytest.fixture
def site(tmp_path, monkeypatch):
    write_ldif(read_annuaire(DEMO / "annuaire.csv"), tmp_path / "annuaire.ldif", "ent")
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    (tmp_path / "config.toml").write_text(
        'data_dir = "data"\n[directory]\nkind = "ldif"\npath = "annuaire.ldif"\npreset = "ent"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    return tmp_path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def stored(site: Path) -> dict[str, frozenset[str]]:
    with open_directory(load_config(site / "config.toml")) as d:
        return {a.login: frozenset(d.form.idpns_for(a.identifiers, UAI)) for a in d.accounts(UAI)}


def test_match_decides_on_the_export_as_on_the_csv(site):
    accounts = read_identifiers_file(site / "identifiants.xml").accounts
    csv_steps = Reconciliation.from_directory(CsvDirectory(DEMO / "annuaire.csv"), UAI).run(
        accounts
    )
    with open_directory(load_config(site / "config.toml")) as d:
        ldif_steps = Reconciliation.from_directory(d, UAI).run(accounts)

    def decisions(steps):
        return {x.pronote.idpn: (x.rule, x.login, x.candidates) for s in steps for x in s.decisions}

    assert decisions(ldif_steps) == decisions(csv_steps)


def test_search_linked_unlink_on_the_export(site, capsys):
    _, out, _ = run(["search", "barmas", "--format", "json"], capsys)
    assert {"anne.barmas", "hugo.barmas"} <= {r["login"] for r in json.loads(out)["results"]}
    for hostile in ("*)(uid=*", "*", "\\2a"):
        _, out, _ = run(["search", hostile, "--format", "json"], capsys)
        assert json.loads(out)["results"] == [], hostile
    _, out, _ = run(["linked", "--uai", UAI, "--format", "json"], capsys)
    linked = {a["login"]: a["idpn"] for a in json.loads(out)["accounts"]}
    assert len(linked) == 60
    code, out, _ = run(
        ["unlink", "david.durand", "--uai", UAI, "--yes", "--format", "json"], capsys
    )
    assert code == 0 and json.loads(out)["idpn"] == linked["david.durand"]
    # The export is untouched; the change is in the private changes file, and reads back.
    changes = site / "annuaire.modifications.ldif"
    assert stat.S_IMODE(changes.stat().st_mode) == 0o600
    assert "dn: " in changes.read_text(encoding="utf-8")
    assert stored(site)["david.durand"] == frozenset()


def test_apply_on_the_export_then_a_second_run_writes_nothing(site, capsys):
    export_before = (site / "annuaire.ldif").read_bytes()
    code, out, _ = run(["apply", "identifiants.xml", "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["session"]
    assert (site / "annuaire.ldif").read_bytes() == export_before
    code, out, _ = run(["match", "identifiants.xml", "--format", "json"], capsys)
    summary = json.loads(out)["summary"]
    # Every account apply linked is now "already linked" when read back.
    assert summary["recognised"] > 300
    run(["apply", "identifiants.xml", "--format", "json"], capsys)
    _, out, _ = run(["history", "--format", "json"], capsys)
    first, second = json.loads(out)["sessions"]
    assert first["written"] > 100 and second["written"] == 0


def test_every_write_of_apply_is_in_the_report_row_by_row(site, capsys):
    before = stored(site)
    _, out, _ = run(["apply", "identifiants.xml", "--format", "json", "--steps", "eleves"], capsys)
    middle = stored(site)
    first = check_report_rows(before, middle, json.loads(out))
    assert first["removed"] >= 1 and first["replaced"] >= 1
    _, out, _ = run(["apply", "identifiants.xml", "--format", "json"], capsys)
    report = json.loads(out)
    assert check_report_rows(middle, stored(site), report)["removed"] >= 1
    _, out, _ = run(["history", report["session"], "--format", "json"], capsys)
    assert {x["account"] for x in json.loads(out)["removed"]} == {
        o["account"] for s in report["steps"] for o in s["obsolete"] if o["written"]
    }
