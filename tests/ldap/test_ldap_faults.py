"""Directory faults in the middle of an import, against a real slapd (issue 8).

Each fault: the admin is told what happened in one line, the journal says
exactly what was written, and resuming or retrying ends in the intended
directory state. (Killing slapd mid-step: test_ldap_wizard.py; the adapter's
own faults, one operation at a time: test_ldap_connect.py, test_ldap_write.py.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.ldap_data import read_annuaire, to_ldif
from cli.main import main
from core.config import load_config
from core.errors import DirectoryError
from core.journal import find_session, resumable_session
from core.model import CATEGORIES, ChangeKind
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession, SessionCut
from directory_adapters import open_directory
from tests.ldap.server import Slapd

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


def make_site(tmp_path, monkeypatch, server: Slapd, **ldap: object) -> Path:
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    extra = "".join(f"{key} = {value}\n" for key, value in ldap.items())
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
{extra}""",
        encoding="utf-8",
    )
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.service_password)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


@pytest.fixture
def server(slapd_factory) -> Slapd:
    return slapd_factory(to_ldif(read_annuaire(DEMO / "annuaire.csv"), "ent"))


def stored(site: Path) -> dict[str, frozenset[str]]:
    with open_directory(load_config(site / "config.toml")) as d:
        return {a.login: frozenset(d.form.idpns_for(a.identifiers, UAI)) for a in d.accounts(UAI)}


def intended(site: Path) -> dict[str, frozenset[str]]:
    expected = dict(stored(site))
    export = read_identifiers_file(site / "identifiants.xml")
    with open_directory(load_config(site / "config.toml")) as d:
        s = ImportSession(d, export, uai=UAI, mode="complet", data_dir=None)
        for category in CATEGORIES:
            for change in s.plan(s.state(category)).changes:
                value = frozenset() if change.kind is ChangeKind.REMOVE else {change.idpn}
                expected[change.login] = frozenset(value)
    return expected


def session(site: Path) -> ImportSession:
    config = load_config(site / "config.toml")
    export = read_identifiers_file(site / "identifiants.xml")
    return ImportSession(
        open_directory(config), export, uai=UAI, mode="complet", data_dir=config.data_dir
    ).start()


def journaled_writes(site: Path, session_id: str) -> set[tuple[str, str, str]]:
    record = find_session(load_config(site / "config.toml").data_dir, session_id)
    return {(o["login"], o["idpn"], o["kind"]) for o in record.written()}


def finish(site: Path) -> None:
    """What the admin does next: resume the session (F5, or apply --resume)."""
    config = load_config(site / "config.toml")
    record = resumable_session(config.data_dir, UAI)
    assert record is not None
    export = read_identifiers_file(site / "identifiants.xml")
    with open_directory(config) as d:
        resumed = ImportSession.resume(d, record, export, data_dir=config.data_dir)
        while not resumed.finished:
            assert all(o.applied for o in resumed.validate())


def test_server_down_at_start_is_one_line_and_nothing_is_journaled(
    tmp_path, monkeypatch, server, capsys
):
    site = make_site(tmp_path, monkeypatch, server)
    server.stop()
    code = main(["apply", "identifiants.xml", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert server.url.split("//")[1] in err
    assert not (site / "data" / "journals").exists() or not list(
        (site / "data" / "journals").rglob("*.jsonl")
    )


def test_a_server_hanging_mid_step_times_out_then_resume_ends_as_intended(
    tmp_path, monkeypatch, server
):
    site = make_site(tmp_path, monkeypatch, server, receive_timeout=2)
    expected = intended(site)
    s = session(site)
    first = s.validate()  # teachers

    def hang(answered: int, total: int) -> None:
        if answered == 30:
            server.pause()  # SIGSTOP: the socket stays open, nothing answers

    s.directory.progress = hang
    try:
        with pytest.raises(SessionCut):
            s.validate()  # students
    finally:
        server.resume()
    record = find_session(load_config(site / "config.toml").data_dir, s.session)
    outcomes = [o for batch in record.outcomes.values() for o in batch["outcomes"]]
    failed = [o for o in outcomes if not o["applied"]]
    assert failed and all(o["reason"] for o in failed)
    assert record.status == "cut"
    # The journal holds exactly the writes reported applied, no more...
    applied = {(o.change.login, o.change.idpn, o.change.kind.value) for o in first if o.wrote}
    applied |= {(o["login"], o["idpn"], o["kind"]) for o in outcomes if o["wrote"]}
    assert applied == journaled_writes(site, s.session)
    # ... and the directory holds them: what the journal says was written, was.
    now = stored(site)
    for login, idpn, kind in applied:
        removed = kind == ChangeKind.REMOVE.value
        assert now[login] == (frozenset() if removed else frozenset({idpn})), login
    s.directory.close()
    finish(site)
    assert stored(site) == expected


def test_a_server_restarted_between_steps_is_reconnected_to(tmp_path, monkeypatch, server):
    site = make_site(tmp_path, monkeypatch, server)
    expected = intended(site)
    s = session(site)
    s.validate()
    server.restart()  # the connections idpronote holds are now dead
    while not s.finished:
        assert all(o.applied for o in s.validate())
    s.directory.close()
    assert stored(site) == expected
    assert find_session(load_config(site / "config.toml").data_dir, s.session).status == (
        "completed"
    )


def test_a_size_limit_stops_the_start_with_the_limit_named(tmp_path, monkeypatch, server):
    site = make_site(tmp_path, monkeypatch, server, size_limit=50)
    with pytest.raises(DirectoryError) as caught:
        session(site)
    assert "size limit" in str(caught.value)
    assert "size_limit" in (caught.value.hint or "")


def test_a_read_only_account_writes_nothing_and_says_so(tmp_path, monkeypatch, server):
    site = make_site(tmp_path, monkeypatch, server)
    before = stored(site)
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.reader_password)
    config = site / "config.toml"
    config.write_text(config.read_text().replace(Slapd.service_dn, Slapd.reader_dn))
    s = session(site)
    outcomes = s.validate()
    assert outcomes and not any(o.applied for o in outcomes)
    assert all("access" in (o.reason or "").lower() for o in outcomes)
    assert journaled_writes(site, s.session) == set()
    s.directory.close()
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.service_password)
    config.write_text(config.read_text().replace(Slapd.reader_dn, Slapd.service_dn))
    assert stored(site) == before
