"""Writing identifiers into a real slapd: only this establishment's values, never blindly.

What every directory promises (listings, search, holders, the write rule, replay)
is tested once for the three kinds in tests/contract/; here, what is the LDAP adapter's own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.ldap_data import Person, to_ldif
from core import i18n
from directory_adapters.ldap import LdapDirectory
from directory_adapters.ldap import write as ldap_write
from directory_adapters.mapping import AttributeMapping
from tests.changes import add, remove
from tests.ldap.conftest import (
    ELV,
    ESCO_DN,
    ID1,
    ID2,
    ID4,
    INO_DN,
    UAI,
    open_ldap,
)
from tests.ldap.server import Slapd

ID5 = "BBBBBBBBBBBBBBBB"


def stored(
    server: Slapd, login: str, attribute: str = "idPronote", base: str = Slapd.people_dn
) -> list[str]:
    """The values the server holds under a base (the ent preset's by default), as the admin."""
    found = [
        values for dn, values in server.search(f"(uid={login})", [attribute]) if dn.endswith(base)
    ]
    assert len(found) == 1, found
    return sorted(found[0].get(attribute, []))


def classes(server: Slapd, login: str) -> set[str]:
    found = server.search(f"(&(uid={login})(objectClass=ENTPerson))", ["objectClass"])
    return {c.lower() for c in found[0][1]["objectClass"]}


def admin_edit(server: Slapd, tmp_path: Path, ldif: str) -> None:
    path = tmp_path / "edit.ldif"
    path.write_text(ldif, encoding="utf-8")
    done = server.ldapmodify(path)
    assert done.returncode == 0, done.stderr


def test_the_auxiliary_class_is_added_when_missing(writing_server: Slapd) -> None:
    assert "entpronoteaccount" not in classes(writing_server, "jdupont")
    with open_ldap(writing_server) as directory:
        outcome = directory.apply([add("jdupont", ID2)])[0]
    assert outcome.applied
    assert "entpronoteaccount" in classes(writing_server, "jdupont")
    assert stored(writing_server, "jdupont") == [f"{UAI}${ID2}"]


def test_inetorgperson_entries_get_the_class_and_the_value(writing_server: Slapd) -> None:
    with open_ldap(writing_server, "inetorgperson") as directory:
        assert directory.apply([add("macco12", ID2)])[0].applied
        assert directory.get("macco12").identifiers == (f"{UAI}${ID2}",)
    found = writing_server.search("(&(uid=macco12)(ou:dn:=ino))", ["objectClass", "idPronote"])
    assert "entPronoteAccount" in found[0][1]["objectClass"]


def test_esco_values_replace_only_the_pronote_value(writing_server: Slapd) -> None:
    with open_ldap(writing_server, "esco") as directory:
        outcomes = directory.apply([add("pmartin", ID5, previous=ID4), add("jdupont", ID2)])
        assert [o.applied for o in outcomes] == [True, True]
    assert stored(writing_server, "pmartin", "ESCOPersonExternalIds", ESCO_DN) == [
        f"PRONOTE${ID5}",
        "SCONET$12345",
    ]
    assert stored(writing_server, "jdupont", "ESCOPersonExternalIds", ESCO_DN) == [f"PRONOTE${ID2}"]


def test_without_the_auxiliary_class_the_refusal_says_what_to_set(writing_server: Slapd) -> None:
    settings = {
        "url": writing_server.url,
        "bind_dn": Slapd.service_dn,
        "password": Slapd.service_password,
        "base_dn": INO_DN,
    }
    mapping = AttributeMapping.build("inetorgperson", object_class="")
    with LdapDirectory(settings, mapping) as directory:
        outcome = directory.apply([add("jdupont", ID2)])[0]
    assert (outcome.applied, outcome.failure) == (False, "error")
    assert "object_class" in outcome.reason and "entPronoteAccount" in outcome.reason


def test_a_holder_is_found_whatever_the_case_of_its_value(
    writing_server: Slapd, tmp_path: Path
) -> None:
    admin_edit(
        writing_server,
        tmp_path,
        f"dn: uid=hcaron,{Slapd.people_dn}\nchangetype: modify\n"
        f"add: objectClass\nobjectClass: entPronoteAccount\n-\n"
        f"add: idPronote\nidPronote: {UAI.lower()}${ID5}\n",
    )
    with open_ldap(writing_server) as directory:
        outcome = directory.apply([add("jdupont", ID5)])[0]
        assert (outcome.failure, "hcaron" in outcome.reason) == ("conflict", True)
        # and the value, lower case as it is, belongs to the collège: removable
        assert directory.apply([remove("hcaron", ID5)])[0].applied
    assert stored(writing_server, "hcaron") == []


def test_a_value_changed_between_reading_and_writing_is_reported(
    writing_server: Slapd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server refuses to delete a value that is gone: "changed", nothing forced."""
    send = ldap_write._WriteBatch._send

    def someone_else_first(batch, writes):
        admin_edit(
            writing_server,
            tmp_path,
            f"dn: uid=mdupont,{Slapd.people_dn}\nchangetype: modify\n"
            f"delete: idPronote\nidPronote: {UAI}${ID1}\n",
        )
        return send(batch, writes)

    monkeypatch.setattr(ldap_write._WriteBatch, "_send", someone_else_first)
    with open_ldap(writing_server) as directory:
        outcome = directory.apply([add("mdupont", ID2, previous=ID1)])[0]
    assert (outcome.applied, outcome.failure) == (False, "changed")
    assert stored(writing_server, "mdupont") == []


def test_unknown_and_ambiguous_logins_are_not_found(english, writing_server: Slapd) -> None:
    with open_ldap(writing_server, base_dn=[Slapd.people_dn, ESCO_DN]) as directory:
        unknown, twice = directory.apply([add("nobody", ID2), add("jdupont", ID2)])
    assert (unknown.applied, unknown.failure) == (False, "not_found")
    assert (twice.applied, twice.failure) == (False, "not_found")
    assert "several entries" in twice.reason and ESCO_DN in twice.reason


def test_a_read_only_account_reads_but_every_write_fails_clearly(writing_server: Slapd) -> None:
    with open_ldap(
        writing_server, bind_dn=Slapd.reader_dn, password=Slapd.reader_password
    ) as directory:
        assert directory.get("jdupont").login == "jdupont"
        outcomes = directory.apply([add("jdupont", ID2), add("pmartin", ID5)])
    assert [(o.applied, o.failure) for o in outcomes] == [(False, "error")] * 2
    for outcome in outcomes:
        assert "insufficient access" in outcome.reason
        assert Slapd.reader_dn in outcome.reason
    assert stored(writing_server, "jdupont") == []


def test_a_server_killed_mid_batch_reports_exactly_and_a_retry_completes(slapd_factory) -> None:
    students = [
        Person(f"s{n:03d}", f"NOM{n:03d}", "Eve", profils=(ELV,), uais=(UAI,)) for n in range(300)
    ]
    server = slapd_factory(to_ldif(students), tls=False)
    changes = [add(p.login, f"ID{n:014d}") for n, p in enumerate(students)]
    directory = open_ldap(server)

    def progress(answered: int, total: int) -> None:
        if answered == 150:
            server.kill()

    directory.progress = progress
    outcomes = directory.apply(changes)  # no exception: an outcome for every change
    assert [o.change for o in outcomes] == changes
    applied = {o.change.login for o in outcomes if o.applied}
    unsure = {o.change.login for o in outcomes if o.failure == "unconfirmed"}
    failed = {o.change.login for o in outcomes if not o.applied} - unsure
    # Some were answered before the kill, some not. Which of the rest are "unconfirmed"
    # (sent, no answer) or "unavailable" (never sent) depends on how far the pipeline ran
    # ahead of the answers: under load it may have sent them all before answer 150.
    assert applied and len(applied) < len(changes)
    assert failed | unsure == {c.login for c in changes} - applied
    assert {o.failure for o in outcomes if not o.applied} <= {"unconfirmed", "unavailable"}

    server.start()
    values = {
        v["uid"][0]: v.get("idPronote", [])
        for _, v in server.search("(uid=s*)", ["uid", "idPronote"])
    }
    expected = {c.login: f"{UAI}${c.idpn}" for c in changes}
    assert all(values[login] == [expected[login]] for login in applied)  # really applied
    assert all(values[login] == [] for login in failed)  # really not

    directory.progress = None
    again = directory.apply(changes)  # the same directory object: it reconnects
    directory.close()
    assert [o for o in again if not o.applied] == []
    assert all(o.reason == "already in effect" for o in again if o.change.login in applied)
    values = {
        v["uid"][0]: v.get("idPronote", [])
        for _, v in server.search("(uid=s*)", ["uid", "idPronote"])
    }
    assert values == {login: [value] for login, value in expected.items()}  # no duplicates


def test_a_refused_write_is_said_in_french_by_default_and_in_english_on_request(
    writing_server: Slapd,
) -> None:
    with open_ldap(
        writing_server, bind_dn=Slapd.reader_dn, password=Slapd.reader_password
    ) as directory:
        (outcome,) = directory.apply([add("jdupont", ID2)])
        dn = f"uid=jdupont,{Slapd.people_dn}"
        assert (outcome.applied, outcome.failure) == (False, "error")
        assert outcome.reason == (
            f"droits insuffisants (insufficient access) : {Slapd.reader_dn} ne peut pas "
            f"écrire idPronote sur {dn} ; l'administrateur de l'annuaire doit lui donner le "
            "droit d'écriture sur idPronote et objectClass"
        )
        i18n.set_language("en")
        (outcome,) = directory.apply([add("jdupont", ID2)])
        assert (outcome.applied, outcome.failure) == (False, "error")
        assert outcome.reason == (
            f"insufficient access: {Slapd.reader_dn} may not write idPronote on {dn}; "
            "the directory admin must grant it write access to idPronote and objectClass"
        )
    assert stored(writing_server, "jdupont") == []
