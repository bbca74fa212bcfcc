"""The wizard core and the headless commands against a real slapd holding the demo directory.

The same demo data as tests/test_wizard.py, converted to the `ent` preset's
entries (structures as DNs, guardians' students as DNs): matching must take
the same decisions as on the CSV file, and a session must end in exactly the
intended directory state, even when slapd is killed in the middle of a step.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench.ldap_data import read_annuaire, to_ldif
from cli.main import main
from core.config import load_config
from core.journal import find_session, resumable_session
from core.matching import Reconciliation
from core.model import CATEGORIES, Category, ChangeKind
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession, SessionCut, undo_session
from directory_adapters import open_directory
from directory_adapters.csv import CsvDirectory
from tests.ldap.server import Slapd
from tests.report_rows import check_report_rows

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


@pytest.fixture
def site(tmp_path, monkeypatch, slapd_factory):
    """A slapd with the demo directory, a config.toml pointing at it, the demo export."""
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
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.service_password)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    return tmp_path, server


def config(site):
    return load_config(site[0] / "config.toml")


def stored(site) -> dict[str, frozenset[str]]:
    with open_directory(config(site)) as d:
        return {a.login: frozenset(d.form.idpns_for(a.identifiers, UAI)) for a in d.accounts(UAI)}


def export(site):
    return read_identifiers_file(site[0] / "identifiants.xml")


def intended(site, mode: str = "complet") -> dict[str, frozenset[str]]:
    expected = dict(stored(site))
    with open_directory(config(site)) as d:
        s = ImportSession(d, export(site), uai=UAI, mode=mode, data_dir=None)
        for category in CATEGORIES:
            for change in s.plan(s.state(category)).changes:
                value = frozenset() if change.kind is ChangeKind.REMOVE else {change.idpn}
                expected[change.login] = frozenset(value)
    return expected


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# -- matching and commands work on LDAP as on the CSV ------------------------------------------


def test_match_decides_on_ldap_exactly_as_on_the_csv(site):
    e = export(site)
    csv_steps = Reconciliation.from_directory(CsvDirectory(DEMO / "annuaire.csv"), UAI).run(
        e.accounts
    )
    with open_directory(config(site)) as d:
        ldap_steps = Reconciliation.from_directory(d, UAI).run(e.accounts)

    def decisions(steps):
        return {x.pronote.idpn: (x.rule, x.login, x.candidates) for s in steps for x in s.decisions}

    assert decisions(ldap_steps) == decisions(csv_steps)
    assert [len(s.obsolete) for s in ldap_steps] == [len(s.obsolete) for s in csv_steps]


def test_match_search_linked_unlink_commands_on_ldap(site, capsys):
    code, out, _ = run(["match", "identifiants.xml", "--format", "json"], capsys)
    assert code == 1 and json.loads(out)["summary"]["recognised"] > 300
    _, out, _ = run(["search", "barmas", "--format", "json"], capsys)
    assert {"anne.barmas", "hugo.barmas"} <= {r["login"] for r in json.loads(out)["results"]}
    _, out, _ = run(["search", "*)(uid=*", "--format", "json"], capsys)
    assert json.loads(out)["results"] == []
    _, out, _ = run(["linked", "--uai", UAI, "--format", "json"], capsys)
    linked = {a["login"]: a["idpn"] for a in json.loads(out)["accounts"]}
    assert len(linked) == 60
    code, out, _ = run(
        ["unlink", "david.durand", "--uai", UAI, "--yes", "--format", "json"], capsys
    )
    assert code == 0 and json.loads(out)["idpn"] == linked["david.durand"]
    assert stored(site)["david.durand"] == frozenset()


def test_apply_on_ldap_writes_what_match_said_and_a_second_run_changes_nothing(site, capsys):
    expected = intended(site)
    code, out, _ = run(["apply", "identifiants.xml", "--format", "json"], capsys)
    assert code == 1 and json.loads(out)["session"]
    assert stored(site) == expected
    _, out, _ = run(["apply", "identifiants.xml", "--format", "json"], capsys)
    _, out, _ = run(["history", "--format", "json"], capsys)
    first, second = json.loads(out)["sessions"]
    assert first["written"] > 100 and second["written"] == 0


def test_every_write_of_apply_on_ldap_is_in_the_report_row_by_row(site, capsys):
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


# -- the wizard core on LDAP ---------------------------------------------------------------------


def session(site, mode="complet") -> ImportSession:
    directory = open_directory(config(site))
    return ImportSession(
        directory, export(site), uai=UAI, mode=mode, data_dir=config(site).data_dir
    ).start()


@pytest.mark.parametrize("mode", ["complet", "partiel"])
def test_every_step_writes_its_set(site, mode):
    expected = intended(site, mode)
    s = session(site, mode)
    while not s.finished:
        assert all(o.applied for o in s.validate())
    s.directory.close()
    assert stored(site) == expected


def test_interrupt_after_step_two_then_undo(site):
    before = stored(site)
    s = session(site)
    s.validate()
    s.validate()
    s.interrupt()
    s.directory.close()
    after = stored(site)
    with open_directory(config(site)) as d:
        for login, values in after.items():
            categories = d.profiles.categories_of(d.get(login).profiles)
            if not categories & {Category.ENSEIGNANTS, Category.ELEVES}:
                assert values == before[login], login
    record = find_session(config(site).data_dir, s.session)
    with open_directory(config(site)) as d:
        outcomes = undo_session(d, record, data_dir=config(site).data_dir)
    assert outcomes and all(o.applied for o in outcomes)
    assert stored(site) == before


def test_slapd_killed_in_the_middle_of_a_step_then_resume(site):
    _, server = site
    expected = intended(site)
    s = session(site)
    s.validate()  # teachers

    def die(answered: int, total: int) -> None:
        if answered == 40:
            server.kill()

    s.directory.progress = die
    with pytest.raises(SessionCut) as cut:
        s.validate()  # students: the server dies after 40 answers; the step stops there
    assert "--resume" in str(cut.value) and s.session in str(cut.value)
    assert s.finished and s.category is Category.ELEVES  # not moved on
    s.directory.close()

    server.start()
    record = resumable_session(config(site).data_dir, UAI)
    assert record is not None and record.session == s.session
    assert record.status == "cut" and record.must_finish
    # What the journal says was written really is there.
    now = stored(site)
    for o in record.written():
        if o["kind"] != ChangeKind.REMOVE.value:
            assert now[o["login"]] == frozenset({o["idpn"]}), o["login"]
    with open_directory(config(site)) as d:
        resumed = ImportSession.resume(d, record, export(site), data_dir=config(site).data_dir)
        assert resumed.category is Category.RESPONSABLES  # the cut step was finished
        while not resumed.finished:
            assert all(o.applied for o in resumed.validate())
    assert stored(site) == expected
    final = find_session(config(site).data_dir, s.session)
    assert final.status == "completed" and final.counts()["failed"] == 0
    # No identifier stored twice anywhere.
    with open_directory(config(site)) as d:
        values = [v for a in d.accounts(UAI) for v in d.form.idpns_for(a.identifiers, UAI)]
        assert len(values) == len(set(values))
