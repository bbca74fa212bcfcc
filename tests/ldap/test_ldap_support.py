"""The support desk against a real slapd holding the FAQ situations (tests/support_situations.py).

`explain` must name the same causes and actions as on the CSV file, its
actions applied through `explain --apply --yes` must fix each situation in
the directory itself, and `status` must agree with a plain LDAP count.
"""

from __future__ import annotations

import io
import json

import pytest

from bench.ldap_data import read_annuaire, to_ldif
from cli.main import main
from tests.ldap.server import Slapd
from tests.support_situations import (
    FIXABLE,
    TOM2,
    UAI,
    Desk,
    annuaire_text,
    direct_counts,
    ldap_rows,
    school_merges_duplicate,
)


@pytest.fixture
def site(tmp_path, monkeypatch, slapd_factory):
    """A slapd with the situations' directory, a config.toml pointing at it, the export."""
    csv_path = tmp_path / "situations.csv"
    csv_path.write_text(annuaire_text(), encoding="utf-8")
    server = slapd_factory(to_ldif(read_annuaire(csv_path), "ent"))
    from tests.support_situations import DEMO

    (tmp_path / "identifiants.xml").write_bytes((DEMO / "identifiants.xml").read_bytes())
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


def stored_on(server, login: str) -> list[str]:
    (entry,) = server.search(f"(uid={login})", ["idPronote"])
    return sorted(entry[1].get("idPronote", []))


def test_every_situation_on_ldap(site, capsys):
    folder, server = site
    export = folder / "identifiants.xml"
    desk = Desk(main, capsys, ["--file", str(export)])
    status = Desk(main, capsys, ["--uai", UAI])
    _, out, _ = status.run("status", "--format", "json", "--file", str(export))
    assert json.loads(out)["categories"] == direct_counts(ldap_rows(server), export)

    for who, (cause, kinds) in sorted(FIXABLE.items()):
        code, found = desk.explain(who)
        assert (code, found["cause"], found["action"]["kind"]) == (1, cause, kinds[0]), who
    # The homonym holding the other's identifier, seen from both sides.
    _, found = desk.explain("tom.marchand")
    assert found["cause"] == "wrong_identifier"
    # Homonyms nobody can tell apart: a human picks, nothing is written.
    code, found = desk.explain("ethan.faulibosc", "--apply", "--yes")
    assert code == 1 and found["cause"] == "ambiguous" and not found["applied"]["applied"]
    assert found["action"]["candidates"] == ["ethan.faulibosc", "ethan.faulibosc2"]
    assert stored_on(server, "ethan.faulibosc") == []
    # Stored right: the CAS side.
    code, found = desk.explain("david.durand")
    assert code == 0 and found["action"]["kind"] == "check_cas_release"
    # Two Pronote accounts for one person: the school merges them, then a link.
    _, found = desk.explain("loic.charles")
    assert found["cause"] == "pronote_duplicate" and found["action"]["kind"] == "export_again"

    for who, (_cause, kinds) in sorted(FIXABLE.items()):
        assert desk.fix(who) == kinds, who
    assert stored_on(server, "tom.marchand2") == [f"{UAI}${TOM2}"]
    assert stored_on(server, "adam.clement.old") == []
    assert desk.fix("tom.marchand") == ["link"]
    school_merges_duplicate(export)
    assert desk.fix("loic.charles") == ["link"]

    # Every fix is journaled, undoable, in the history.
    _, out, _ = status.run("history", "--format", "json")
    modes = [s["mode"] for s in json.loads(out)["sessions"]]
    assert modes.count("link") == 7 and modes.count("unlink") == 2
    _, out, _ = status.run("status", "--format", "json", "--file", str(export))
    after = json.loads(out)
    assert after["categories"] == direct_counts(ldap_rows(server), export)
    assert after["last_session"]["mode"] == "link"


def test_explain_text_on_ldap_with_a_question(site, capsys, monkeypatch):
    folder, server = site
    desk = Desk(main, capsys, ["--file", str(folder / "identifiants.xml")])
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, _, err = desk.run("explain", "anne.rivilin", "--apply")
    assert code == 2 and "--yes" in err
    assert stored_on(server, "anne.rivilin") == []
    code, out, _ = desk.run("explain", "anne.rivilin", "--lang", "en")
    assert code == 1 and "(guardian)" in out and "Next action: Link anne.rivilin" in out
