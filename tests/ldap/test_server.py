"""The private slapd fixture itself: what other tests rely on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.ldap import conftest
from tests.ldap.server import Slapd


def test_missing_slapd_skips_but_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "missing_programs", lambda: ["slapd"])
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="slapd not found"):
        conftest.require_slapd()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="slapd not found"):
        conftest.require_slapd()


def test_a_fixture_may_bring_its_own_skeleton_entries(slapd_factory, tmp_path: Path) -> None:
    ldif = tmp_path / "data.ldif"
    ldif.write_text(
        "dn: ou=people,dc=example,dc=org\nobjectClass: organizationalUnit\nou: people\n"
        "description: mine\n\n",
        encoding="utf-8",
    )
    server = slapd_factory(ldif, tls=False)
    assert server.search("(ou=people)", ["description"]) == [
        ("ou=people,dc=example,dc=org", {"description": ["mine"]})
    ]
    # and the service accounts are there
    assert [dn for dn, _ in server.search("(cn=idpronote)", ["cn"])] == [Slapd.service_dn]


def test_ldapmodify_stop_and_restart_keep_the_data(slapd_factory, tmp_path: Path) -> None:
    server = slapd_factory("", tls=False)
    change = tmp_path / "change.ldif"
    change.write_text(
        "dn: ou=people,dc=example,dc=org\nchangetype: modify\nadd: description\n"
        "description: written\n",
        encoding="utf-8",
    )
    assert server.ldapmodify(change).returncode == 0
    pid = server.process.pid
    server.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    server.start()
    assert server.search("(ou=people)", ["description"])[0][1] == {"description": ["written"]}
    server.kill()
    server.restart()
    assert server.search("(ou=people)", ["description"])[0][1] == {"description": ["written"]}
