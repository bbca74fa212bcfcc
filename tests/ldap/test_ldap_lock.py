"""The lock the directory holds (issue 18): one entry per establishment, a renewed lease.

Two "machines" are two data directories (each its own local lock, as two
hosts have), so only the directory's entry can keep their sessions apart.
Against a real slapd; a crashed holder is a child process killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.ldap_data import read_annuaire, to_ldif
from cli.main import main
from core.config import load_config
from core.journal import LockHeld, find_session, read_session, sessions
from core.lease import LeaseLost
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters import open_directory
from directory_adapters.ldap.lock import take_lock
from tests.killpoints import start_child
from tests.ldap.server import Slapd

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
LEASE = 2  # seconds: short, so that a crashed holder's lease expires within the test


def host(folder: Path, server: Slapd, **ldap: object) -> Path:
    """One machine: its config.toml (the shared directory, its own data directory)."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"lock_base": f'"{Slapd.locks_dn}"', "lock_lease": LEASE, **ldap}
    extra = "".join(f"{key} = {value}\n" for key, value in settings.items())
    (folder / "config.toml").write_text(
        f"""
data_dir = "{folder / "data"}"
[directory]
kind = "ldap"
preset = "ent"
[directory.ldap]
url = "{server.url}"
bind_dn = "{Slapd.service_dn}"
password_env = "IDPRONOTE_TEST_PASSWORD"
base_dn = "{Slapd.people_dn}"
receive_timeout = 5
{extra}""",
        encoding="utf-8",
    )
    return folder / "config.toml"


@pytest.fixture
def site(tmp_path, monkeypatch, slapd_factory):
    server = slapd_factory(to_ldif(read_annuaire(DEMO / "annuaire.csv"), "ent"))
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.service_password)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path, server


def lock_entries(server: Slapd) -> dict[str, dict[str, str]]:
    """The lock entries on the server, by UAI: their fields."""
    found = {}
    for _dn, attributes in server.search("(objectClass=applicationProcess)", ["cn", "description"]):
        fields = dict(v.split("=", 1) for v in attributes.get("description", []))
        found[attributes["cn"][0]] = fields
    return found


def session_of(config_path: Path) -> ImportSession:
    config = load_config(config_path)
    directory = open_directory(config)
    return ImportSession(
        directory,
        read_identifiers_file(DEMO / "identifiants.xml"),
        uai=UAI,
        mode="complet",
        data_dir=config.data_dir,
    )


def closed(session: ImportSession) -> None:
    session.close()
    session.directory.close()


def lease_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("idpronote-lease")]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_second_session_on_another_machine_is_refused_in_the_holders_words(site, capsys):
    folder, server = site
    a, b = host(folder / "a", server), host(folder / "b", server)
    first = session_of(a).start()
    try:
        held = lock_entries(server)[UAI]
        assert held["pid"] == str(os.getpid()) and held["session"] == first.session
        assert datetime.fromisoformat(held["until"]) > datetime.now(UTC)
        second = session_of(b)
        with pytest.raises(LockHeld) as refused:
            second.start()
        closed(second)
        message = str(refused.value)
        for part in (UAI, held["user"], held["host"], f"processus {os.getpid()}", "jusqu'au"):
            assert part in message
        # The command line says it in one line, exit status 2, as for the local lock.
        code, _, err = run(["apply", str(DEMO / "identifiants.xml"), "--config", str(b),
                            "--lang", "en"], capsys)  # fmt: skip
        assert code == 2
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert f"process {os.getpid()}" in err and "held until" in err
        assert sessions(load_config(b).data_dir) == []  # refused before any journal
    finally:
        closed(first)
    assert lock_entries(server) == {}  # released by its holder
    assert lease_threads() == []
    code, _, err = run(["apply", str(DEMO / "identifiants.xml"), "--config", str(b)], capsys)
    assert code in (0, 1), err
    assert lock_entries(server) == {}  # released on a normal end


def test_the_lease_is_renewed_while_the_session_runs(site):
    folder, server = site
    a, b = host(folder / "a", server), host(folder / "b", server)
    first = session_of(a).start()
    try:
        before = lock_entries(server)[UAI]["until"]
        time.sleep(LEASE * 1.5)  # longer than the lease: only renewals keep it
        after = lock_entries(server)[UAI]
        assert after["until"] > before and after["session"] == first.session
        second = session_of(b)
        with pytest.raises(LockHeld):
            second.start()
        closed(second)
        first.validate()  # the holder still writes
    finally:
        closed(first)
    assert lock_entries(server) == {}


def test_a_crashed_holder_blocks_until_its_lease_expires_then_it_is_taken_over(site, capsys):
    folder, server = site
    a, b = host(folder / "a", server), host(folder / "b", server)
    env = {"IDPRONOTE_TEST_PASSWORD": Slapd.service_password, "IDPRONOTE_CONFIG": ""}
    child = start_child(["apply", str(DEMO / "identifiants.xml")], cwd=a.parent, env=env,
                        delay="ldap-modify:0.2")  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and UAI not in lock_entries(server):
            assert child.poll() is None, child.communicate()
            time.sleep(0.02)
        held = lock_entries(server)[UAI]
        assert held["pid"] == str(child.pid)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    # Dead, but its lease runs on: the other machine is kept out until it ends.
    code, _, err = run(["apply", str(DEMO / "identifiants.xml"), "--config", str(b)], capsys)
    until = datetime.fromisoformat(lock_entries(server)[UAI]["until"])
    assert code == 2 and f"processus {child.pid}" in err
    assert datetime.now(UTC) < until  # refused while the lease ran, not after
    while datetime.now(UTC) <= until:
        time.sleep(0.05)
    code, out, err = run(["apply", str(DEMO / "identifiants.xml"), "--config", str(b),
                          "--format", "json"], capsys)  # fmt: skip
    assert code in (0, 1), err
    record = find_session(load_config(b).data_dir, json.loads(out)["session"])
    (takeover,) = record.takeovers
    assert takeover["lock"] == f"cn={UAI},{Slapd.locks_dn}"
    assert takeover["previous"]["pid"] == str(child.pid)
    assert takeover["previous"]["session"] == held["session"]
    assert '"type":"lock_taken_over"' in record.path.read_text().replace(" ", "")
    assert lock_entries(server) == {}
    # Journal readers pass over the new record: history lists the session as usual.
    code, out, _ = run(["history", "--config", str(b), "--format", "json"], capsys)
    assert code == 0 and record.session in out
    # ... and undo takes the session back as any other (taking the lock again, freeing it).
    code, out, err = run(["undo", record.session, "--yes", "--config", str(b)], capsys)
    assert code == 0, err
    assert lock_entries(server) == {}


def stale_entry(server: Slapd, folder: Path, until: str = "2020-01-01T00:00:00.000000Z") -> None:
    ldif = folder / "stale.ldif"
    ldif.write_text(
        f"dn: cn={UAI},{Slapd.locks_dn}\nchangetype: add\nobjectClass: applicationProcess\n"
        f"cn: {UAI}\ndescription: user=ghost\ndescription: host=gone\ndescription: pid=1\n"
        "description: session=2020-01-01T00-00-00-dead\n"
        "description: since=2020-01-01T00:00:00.000000Z\n"
        f"description: until={until}\n",
        encoding="utf-8",
    )
    done = server.ldapmodify(ldif)
    assert done.returncode == 0, done.stderr


def test_two_takers_racing_on_a_stale_lease_exactly_one_wins(site):
    folder, server = site
    config = load_config(host(folder / "a", server))
    takers = 4
    for round_ in range(5):
        stale_entry(server, folder)
        directories = [open_directory(config) for _ in range(takers)]
        barrier = threading.Barrier(takers)
        won, refused = [], []

        def take(directory, n, barrier=barrier, won=won, refused=refused, round_=round_):
            barrier.wait()
            try:
                won.append(take_lock(directory.channel, UAI, f"s{round_}-{n}", {"user": f"u{n}"}))
            except LockHeld:
                refused.append(n)

        threads = [threading.Thread(target=take, args=(d, n)) for n, d in enumerate(directories)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(won) == 1 and len(refused) == takers - 1
        (lease,) = won
        assert lease.taken_over is not None and lease.taken_over["user"] == "ghost"
        assert lock_entries(server)[UAI]["session"] == lease.holder["session"]
        lease.release()
        assert lock_entries(server) == {}
        for directory in directories:
            directory.close()


def test_a_live_lease_is_never_taken_over_and_a_release_never_removes_anothers(site):
    folder, server = site
    config = load_config(host(folder / "a", server))
    with open_directory(config) as one, open_directory(config) as two:
        stale_entry(server, folder, until="2099-01-01T00:00:00.000000Z")
        with pytest.raises(LockHeld, match="ghost"):
            take_lock(one.channel, UAI, "s1", {"user": "u1"})
        server_entry = lock_entries(server)[UAI]
        assert server_entry["user"] == "ghost"  # untouched
        stale_entry_gone = folder / "gone.ldif"
        stale_entry_gone.write_text(f"dn: cn={UAI},{Slapd.locks_dn}\nchangetype: delete\n")
        server.ldapmodify(stale_entry_gone)
        lease = take_lock(one.channel, UAI, "s1", {"user": "u1"})
        # Its lease lapses (the holder stalled); another takes it over; the first one's
        # release then leaves the new holder's entry alone, and its renewal says so.
        time.sleep(LEASE + 0.1)
        taken = take_lock(two.channel, UAI, "s2", {"user": "u2"})
        lease.release()
        assert lock_entries(server)[UAI]["session"] == "s2"
        with pytest.raises(LeaseLost, match="u2"):
            lease.renew()
        taken.release()
        assert lock_entries(server) == {}


def test_released_on_error_and_on_interrupt(site, capsys):
    folder, server = site
    a = host(folder / "a", server)
    # Interrupted by the admin after one step.
    session = session_of(a).start()
    session.validate()
    session.interrupt()
    assert lock_entries(server) == {} and lease_threads() == []
    closed(session)
    # An error inside the session.
    session = session_of(a)
    with pytest.raises(RuntimeError), session:
        session.start()
        assert UAI in lock_entries(server)
        raise RuntimeError("boom")
    assert lock_entries(server) == {} and lease_threads() == []
    session.directory.close()
    # Ctrl-C (SIGINT) in a running command, in the middle of its writes.
    env = {"IDPRONOTE_TEST_PASSWORD": Slapd.service_password, "IDPRONOTE_CONFIG": ""}
    child = start_child(["apply", str(DEMO / "identifiants.xml")], cwd=a.parent, env=env,
                        delay="ldap-modify:0.2")  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and UAI not in lock_entries(server):
        time.sleep(0.02)
    assert UAI in lock_entries(server)
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=60)
    assert child.returncode == 130, err
    assert "Traceback" not in err
    assert lock_entries(server) == {}


def test_a_lost_lease_stops_the_writes(site):
    folder, server = site
    a = host(folder / "a", server)
    session = session_of(a).start()
    try:
        gone = folder / "gone.ldif"
        gone.write_text(f"dn: cn={UAI},{Slapd.locks_dn}\nchangetype: delete\n")
        assert server.ldapmodify(gone).returncode == 0  # an admin removed it
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                session.lock.check()
            except LeaseLost:
                break
            time.sleep(0.05)
        with pytest.raises(LeaseLost):
            session.validate()
        record = read_session(session.journal.path)
        assert record.intents == {}  # nothing journaled as sent, nothing written
    finally:
        closed(session)
    assert lease_threads() == []


def test_without_lock_base_only_the_local_lock_is_taken(site):
    folder, server = site
    a = host(folder / "a", server, lock_base='""')
    session = session_of(a).start()
    try:
        assert session.lock.lease is None and lock_entries(server) == {}
    finally:
        closed(session)


def test_a_missing_container_is_said_with_what_to_do(site, capsys):
    folder, server = site
    b = host(folder / "b", server, lock_base='"ou=nowhere,dc=example,dc=org"')
    code, _, err = run(["apply", str(DEMO / "identifiants.xml"), "--config", str(b),
                        "--lang", "en"], capsys)  # fmt: skip
    assert code == 2 and "ou=nowhere,dc=example,dc=org" in err and "README" in err
    assert "Traceback" not in err
    code, out, _ = run(["config", "check", "--config", str(b), "--format", "json"], capsys)
    findings = [f for f in json.loads(out)["findings"] if f["topic"] == "lock"]
    assert [f["level"] for f in findings] == ["error"]
    a = host(folder / "a", server)
    code, out, _ = run(["config", "check", "--config", str(a), "--format", "json"], capsys)
    findings = [f for f in json.loads(out)["findings"] if f["topic"] == "lock"]
    assert [f["level"] for f in findings] == ["ok"]
    off = host(folder / "off", server, lock_base='""')
    code, out, _ = run(["config", "check", "--config", str(off), "--format", "json"], capsys)
    findings = [f for f in json.loads(out)["findings"] if f["topic"] == "lock"]
    assert [f["level"] for f in findings] == ["info"] and "lock_base" in findings[0]["hint"]
    code, out, _ = run(["config", "show", "--config", str(a), "--format", "json"], capsys)
    keys = {row["key"]: row["value"] for row in json.loads(out)["settings"]}
    assert keys["directory.ldap.lock_base"] == Slapd.locks_dn
    assert keys["directory.ldap.lock_lease"] == LEASE


def test_a_lease_that_could_not_be_renewed_in_time_stops_the_writes(site):
    folder, server = site
    a = host(folder / "a", server)
    session = session_of(a).start()
    try:
        server.kill()  # the provider away for longer than the lease: nothing renews it
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                session.lock.check()
            except LeaseLost as lapsed:
                assert "renouvelé à temps" in str(lapsed) and Slapd.locks_dn in str(lapsed)
                break
            time.sleep(0.05)
        else:
            pytest.fail("the lapsed lease was never noticed")
        with pytest.raises(LeaseLost):
            session.validate()  # someone may hold it now: not one more write
        assert read_session(session.journal.path).intents == {}
        server.start()
    finally:
        closed(session)
    assert lease_threads() == []
    # Let go while the provider was away: the entry is left to expire, and has.
    left = lock_entries(server)
    assert all(datetime.fromisoformat(e["until"]) <= datetime.now(UTC) for e in left.values())
