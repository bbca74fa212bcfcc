"""Writes pipelined on one connection, read back by the post-read control (issue 17).

Against a real slapd: what the answers say is what the server holds; a
round read ahead never decides on what the writes in flight changed; and a
server that dies or stops in the middle of a batch leaves no thread, no
connection and no busy loop behind.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

import pytest

from bench.ldap_data import Person, to_ldif
from core.model import ChangeKind, IdentifierChange
from directory_adapters.ldap import LdapDirectory
from directory_adapters.ldap import lookup as ldap_lookup
from directory_adapters.ldap.channel import Channel
from directory_adapters.mapping import AttributeMapping
from tests.changes import add
from tests.ldap.conftest import (
    BIG_COUNT,
    BIG_UAI,
    ELV,
    ID1,
    ID2,
    INO_DN,
    UAI,
    fixture_ldif,
    open_ldap,
)
from tests.ldap.server import Slapd

ID5 = "BBBBBBBBBBBBBBBB"


def fillers(count: int) -> list[IdentifierChange]:
    """Independent changes on the big school's accounts: they fill a round."""
    return [add(f"eleve{n:03d}", f"F{n:015d}", BIG_UAI) for n in range(count)]


def holders(server: Slapd, value: str) -> list[str]:
    """The accounts of the ent preset's base holding `value`."""
    found = server.search(f"(idPronote={value})", ["uid"])
    return sorted(v["uid"][0] for dn, v in found if dn.endswith(Slapd.people_dn))


class Counted:
    """Counts the lookups' searches (the real ones run)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reads = 0
        self.searches = 0
        read, search = ldap_lookup.Lookup.read, ldap_lookup.Lookup.search

        def counted_read(lookup, *args, **kwargs):
            self.reads += 1
            return read(lookup, *args, **kwargs)

        def counted_search(lookup, filters):
            self.searches += 1
            return search(lookup, filters)

        monkeypatch.setattr(ldap_lookup.Lookup, "read", counted_read)
        monkeypatch.setattr(ldap_lookup.Lookup, "search", counted_search)


def test_writes_are_read_back_by_the_post_read_control_without_a_search(
    writing_server: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted = Counted(monkeypatch)
    answered: list[tuple[int, int]] = []
    with open_ldap(writing_server) as directory:
        directory.progress = lambda done, total: answered.append((done, total))
        outcomes = directory.apply(fillers(BIG_COUNT))
        assert directory._post_read is True  # slapd advertises 1.3.6.1.1.13.2
    assert [o.reason for o in outcomes if not o.applied] == []
    assert all(o.wrote for o in outcomes)
    # Two rounds: the first read before it, the second while the first wrote; no read-back.
    assert counted.reads == 1
    assert answered == [(n, BIG_COUNT) for n in range(1, BIG_COUNT + 1)]
    assert holders(writing_server, f"{BIG_UAI}$F{7:015d}") == ["eleve007"]


def test_without_the_control_the_writes_are_read_back_by_searches(
    writing_server: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose rootDSE does not list the post-read control (as if so)."""
    counted = Counted(monkeypatch)
    with open_ldap(writing_server) as directory:
        directory._post_read = False
        outcomes = directory.apply([*fillers(BIG_COUNT), add("jdupont", ID1)])
        assert directory._post_read is False
    assert [o.applied for o in outcomes] == [True] * BIG_COUNT + [False]
    assert outcomes[-1].failure == "conflict"  # mdupont holds ID1
    assert counted.reads == 1 + 2  # before the first round, then each round read back
    assert holders(writing_server, f"{BIG_UAI}$F{119:015d}") == ["eleve119"]
    assert holders(writing_server, f"{UAI}${ID1}") == ["mdupont"]


def test_a_value_freed_by_a_round_is_given_in_a_later_round_read_afresh(
    writing_server: Slapd,
) -> None:
    """The round after is read while the first writes: the freed value must not look
    taken (nor be decided on what was read before the write)."""
    changes = [
        IdentifierChange("mdupont", UAI, ChangeKind.REMOVE, previous=ID1),
        *fillers(110),
        add("jdupont", ID1),
    ]
    with open_ldap(writing_server) as directory:
        outcomes = directory.apply(changes)
    assert [o.reason for o in outcomes if not o.applied] == []
    assert holders(writing_server, f"{UAI}${ID1}") == ["jdupont"]


def test_a_value_taken_by_a_round_is_a_conflict_in_a_later_round(
    writing_server: Slapd,
) -> None:
    """Never one identifier on two accounts, even read while the first write was in flight."""
    changes = [add("jdupont", ID5), *fillers(110), add("macco12", ID5)]
    with open_ldap(writing_server) as directory:
        outcomes = directory.apply(changes)
    assert all(o.applied for o in outcomes[:-1])
    assert (outcomes[-1].applied, outcomes[-1].failure) == (False, "conflict")
    assert holders(writing_server, f"{UAI}${ID5}") == ["jdupont"]


def test_a_lookup_the_size_limit_stops_is_asked_again_paged(
    slapd_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pipelined searches are not paged (slapd keeps one paged search per
    connection): past the server's size limit, ldap3's paged search takes over."""
    paged = []
    search = Channel.search
    monkeypatch.setattr(Channel, "search", lambda c, *a, **k: paged.append(a) or search(c, *a, **k))
    server = slapd_factory(fixture_ldif(), tls=False, size_limit=20)
    with open_ldap(server, page_size=7) as directory:
        outcomes = directory.apply(fillers(BIG_COUNT))
    assert all(o.wrote for o in outcomes)
    assert len(paged) == 2  # the first round's two chunks of 50 (the next 20 fit)


def test_an_entry_the_filter_takes_through_a_subclass_is_asked_of_the_server(
    writing_server: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`(objectClass=person)` matches inetOrgPerson entries, which do not list `person`:
    the merged search cannot tell, so the server is asked again, and the write goes."""
    counted = Counted(monkeypatch)
    mapping = dataclasses.replace(
        AttributeMapping.build("inetorgperson"), person_filter="(objectClass=person)"
    )
    settings = {
        "url": writing_server.url,
        "bind_dn": Slapd.service_dn,
        "password": Slapd.service_password,
        "base_dn": INO_DN,
    }
    with LdapDirectory(settings, mapping) as directory:
        (outcome,) = directory.apply([add("macco12", ID2)])
    assert outcome.wrote, outcome.reason
    assert counted.searches == 2  # the merged search, then the server's word on persons
    found = writing_server.search("(&(uid=macco12)(ou:dn:=ino))", ["idPronote"])
    assert found[0][1]["idPronote"] == [f"{UAI}${ID2}"]


def test_an_entry_that_is_no_person_is_never_the_account(
    writing_server: Slapd, tmp_path: Path
) -> None:
    """The merged search returns it (it holds the identifier asked for), with the login
    asked for: it is still no person, so the login is not found."""
    ldif = tmp_path / "ghost.ldif"
    ldif.write_text(
        f"dn: uid=ghost,{Slapd.people_dn}\nchangetype: add\nobjectClass: account\n"
        f"objectClass: entPronoteAccount\nuid: ghost\nidPronote: {UAI}${ID5}\n",
        encoding="utf-8",
    )
    assert writing_server.ldapmodify(ldif).returncode == 0
    with open_ldap(writing_server) as directory:
        ghost, other = directory.apply([add("ghost", ID5), add("jdupont", ID5)])
    assert (ghost.applied, ghost.failure) == (False, "not_found")
    assert (other.applied, other.failure) == (False, "conflict")  # the ghost holds it


def test_a_hostile_login_is_looked_for_literally(writing_server: Slapd) -> None:
    before = writing_server.search("(idPronote=*)", ["idPronote"])
    with open_ldap(writing_server) as directory:
        outcomes = directory.apply([add("*)(uid=*", ID5), add("*", ID2), add("jdupont)", ID2)])
    assert [(o.applied, o.failure) for o in outcomes] == [(False, "not_found")] * 3
    assert writing_server.search("(idPronote=*)", ["idPronote"]) == before


@pytest.mark.parametrize("how", ["ldaps", "start_tls"])
def test_pipelined_writes_go_through_tls(writing_server: Slapd, how: str) -> None:
    settings: dict = {"ca_file": str(writing_server.ca_file)}
    settings |= {"url": writing_server.ldaps_url} if how == "ldaps" else {"start_tls": True}
    with open_ldap(writing_server, **settings) as directory:
        outcomes = directory.apply(fillers(30))
    assert all(o.wrote for o in outcomes)


def _sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue
    return count


@pytest.mark.parametrize("fault", ["killed", "stopped"])
def test_a_server_failing_mid_batch_leaves_no_thread_connection_or_busy_loop(
    slapd_factory, fault: str
) -> None:
    students = [
        Person(f"s{n:03d}", f"NOM{n:03d}", "Eve", profils=(ELV,), uais=(UAI,)) for n in range(300)
    ]
    server = slapd_factory(to_ldif(students), tls=False)
    changes = [add(p.login, f"ID{n:014d}") for n, p in enumerate(students)]
    threads, sockets = set(threading.enumerate()), _sockets()
    directory = open_ldap(server, receive_timeout=1)

    def fail(answered: int, total: int) -> None:
        if answered == 150:
            server.kill() if fault == "killed" else server.pause()

    directory.progress = fail
    try:
        outcomes = directory.apply(changes)
        directory.close()
        assert len(outcomes) == len(changes) and not all(o.applied for o in outcomes)
        assert set(threading.enumerate()) <= threads
        assert _sockets() <= sockets
        idle = time.process_time()
        time.sleep(1)
        assert time.process_time() - idle < 0.2  # nothing spinning, in any thread
    finally:
        server.resume()
