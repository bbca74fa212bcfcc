"""A replicated directory (issue 18): reads from a consumer, writes to the provider.

Two private slapd processes on loopback: a provider with the syncprov overlay,
a consumer that replicates it with syncrepl (refreshAndPersist). The consumer
refuses writes, as a real replica does, so an import that ends well wrote to
the provider; its log (one line per operation) shows where the searches went.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cli.main import main
from core.config import load_config
from core.journal import sessions
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters import open_directory
from tests.ldap.conftest import require_slapd
from tests.ldap.schools import schools
from tests.ldap.server import Slapd

REPLICATION_WAIT = 30.0  # seconds: the longest a test waits for the consumer to catch up


def wait_for(condition: Callable[[], bool], what: str, timeout: float = REPLICATION_WAIT) -> None:
    """A bounded poll (no fixed sleep): `condition` true within `timeout`, or the test fails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # a server still starting: ask again
            if condition():
                return
        time.sleep(0.05)
    pytest.fail(f"{what} not within {timeout:g} s")


def identifiers(server: Slapd) -> dict[str, list[str]]:
    return {
        dn.lower(): sorted(attributes.get("idPronote", []))
        for dn, attributes in server.search("(uid=*)", ["idPronote"])
    }


def everything(server: Slapd) -> dict[str, dict[str, list[str]]]:
    return {
        dn.lower(): {name.lower(): sorted(values) for name, values in attributes.items()}
        for dn, attributes in server.search("(objectClass=*)")
    }


@pytest.fixture
def replicated(tmp_path_factory, tmp_path):
    """(provider, consumer, identifiers files by UAI): two establishments, replicated."""
    require_slapd()
    ldif, files = schools(2, tmp_path / "files")
    provider = Slapd(tmp_path_factory.mktemp("provider"), ldif, tls=False, syncprov=True,
                     log_level="stats")  # fmt: skip
    provider.start()
    consumer = Slapd(tmp_path_factory.mktemp("consumer"), tls=False, provider=provider,
                     log_level="stats")  # fmt: skip
    try:
        consumer.start()
        wait_for(lambda: everything(consumer) == everything(provider), "the first replication")
        yield provider, consumer, files
    finally:
        consumer.stop()
        provider.stop()


def site(folder: Path, provider: Slapd, consumer: Slapd, monkeypatch) -> Path:
    (folder / "config.toml").write_text(
        f"""
data_dir = "{folder / "data"}"
[directory]
kind = "ldap"
preset = "ent"
[directory.ldap]
url = ["{consumer.url}"]
write_url = "{provider.url}"
bind_dn = "{Slapd.service_dn}"
password_env = "IDPRONOTE_TEST_PASSWORD"
base_dn = "{Slapd.people_dn}"
timeout = 2
receive_timeout = 3
lock_base = "{Slapd.locks_dn}"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.service_password)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    return folder / "config.toml"


def operations(server: Slapd, kind: str) -> int:
    """How many operations of `kind` (SRCH, MOD, ADD, DEL) the server's log shows."""
    return server.log.read_text(errors="replace").count(f" {kind} ")


def test_an_import_reads_from_the_consumer_writes_to_the_provider_and_both_agree(
    replicated, tmp_path, monkeypatch, capsys
):
    provider, consumer, files = replicated
    config = site(tmp_path, provider, consumer, monkeypatch)
    before = identifiers(provider)
    searches, modifies = operations(consumer, "SRCH"), operations(provider, "MOD")
    uai = next(iter(files))
    code = main(["apply", str(files[uai]), "--config", str(config)])
    _out, err = capsys.readouterr()
    assert code in (0, 1), err
    after = identifiers(provider)
    written = {dn for dn in after if after[dn] != before.get(dn)}
    assert len(written) > 100  # the import wrote, and to the provider
    # Matching searched the consumer; the writes (and the lock) went to the provider.
    assert operations(consumer, "SRCH") > searches
    assert operations(provider, "MOD") - modifies >= 1
    assert operations(consumer, "MOD") == 0 and operations(consumer, "ADD") == 0
    wait_for(lambda: identifiers(consumer) == after, "the consumer holding the writes")
    assert everything(consumer) == everything(provider)


def test_the_consumer_killed_in_the_middle_the_import_goes_on_on_the_provider(
    replicated, tmp_path, monkeypatch
):
    provider, consumer, files = replicated
    config = load_config(site(tmp_path, provider, consumer, monkeypatch))
    first, second = files
    threads = set(threading.enumerate())
    directory = open_directory(config)
    killed = []

    def kill_the_consumer(answered: int, total: int) -> None:
        if not killed and answered == 10:
            consumer.kill()
            killed.append(answered)

    directory.progress = kill_the_consumer
    try:
        # The first establishment: matched on the consumer, which dies during its writes.
        with ImportSession(directory, read_identifiers_file(files[first]), uai=first,
                           mode="complet", data_dir=config.data_dir) as session:  # fmt: skip
            session.start()
            while not session.finished:
                session.validate()
        assert killed and session.ended == "completed"
        # The next one reads with no consumer left: from the provider, in turn.
        with ImportSession(directory, read_identifiers_file(files[second]), uai=second,
                           mode="complet", data_dir=config.data_dir) as session:  # fmt: skip
            assert session.reconciliation.accounts  # read, from the provider
            session.start()
            while not session.finished:
                session.validate()
        assert session.ended == "completed"
        assert directory.search("adam", uai=second)  # the search dialog too
    finally:
        directory.close()
    assert [r.ended for r in sessions(config.data_dir)] == ["completed", "completed"]
    # Nothing left behind: no lease thread, no connection, no lock entry.
    assert set(threading.enumerate()) <= threads
    assert not [e for e in everything(provider) if e.endswith(Slapd.locks_dn.lower())
                and e != Slapd.locks_dn.lower()]  # fmt: skip
    assert _sockets_to(provider.port) == 0
    # The consumer back: it catches up with what was written while it was away.
    consumer.start()
    wait_for(lambda: identifiers(consumer) == identifiers(provider), "the consumer catching up")


def _sockets_to(port: int) -> int:
    """Established TCP connections of this process to `port` on loopback."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


def test_config_show_and_check_name_the_provider(replicated, tmp_path, monkeypatch, capsys):
    provider, consumer, _files = replicated
    config = site(tmp_path, provider, consumer, monkeypatch)
    assert main(["config", "show", "--config", str(config), "--lang", "en"]) == 0
    out, _ = capsys.readouterr()
    assert "directory.ldap.write_url" in out and provider.url in out
    main(["config", "check", "--config", str(config), "--lang", "en"])
    out, _ = capsys.readouterr()
    assert f"writes go to the provider {provider.url}" in out
    assert f"(writes: {provider.url})" in out  # the directory's description
