"""Connecting: TLS with the right CA only, clear errors, no password anywhere, threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from core import i18n
from core.config import Config, DirectoryConfig
from core.errors import DirectoryError
from core.model import ChangeKind, IdentifierChange
from directory_adapters import open_directory
from directory_adapters.ldap import LdapDirectory
from tests.ldap.conftest import BIG_UAI, UAI, open_ldap
from tests.ldap.server import Slapd, free_port, generate_ca

WRONG_PASSWORD = "not-the-Password-42"  # noqa: S105 - a test value


@pytest.fixture(scope="module")
def wrong_ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_ca(tmp_path_factory.mktemp("wrong-ca"), "some other CA")[0]


def test_ldaps_with_the_fixtures_ca(reading_server: Slapd) -> None:
    url = reading_server.ldaps_url
    with open_ldap(reading_server, url=url, ca_file=str(reading_server.ca_file)) as directory:
        assert directory.get("jdupont").login == "jdupont"
        assert directory.describe() == (
            f"LDAP {url} (base ou=people,dc=example,dc=org) en tant que {Slapd.service_dn}"
        )


def test_start_tls_with_the_fixtures_ca(reading_server: Slapd) -> None:
    with open_ldap(
        reading_server, start_tls=True, ca_file=str(reading_server.ca_file)
    ) as directory:
        assert directory.get("jdupont").login == "jdupont"
        assert directory.describe().endswith(", StartTLS")


@pytest.mark.parametrize("how", ["ldaps", "start_tls"])
def test_a_certificate_from_another_ca_is_refused(
    reading_server: Slapd, wrong_ca: Path, how: str
) -> None:
    settings = {"ca_file": str(wrong_ca)}
    settings |= {"url": reading_server.ldaps_url} if how == "ldaps" else {"start_tls": True}
    with pytest.raises(DirectoryError) as caught:
        open_ldap(reading_server, **settings)
    message = str(caught.value)
    assert "TLS" in message and str(wrong_ca) in message and "ca_file" in message
    assert Slapd.service_password not in message


def test_tls_without_a_ca_file_uses_the_system_cas_and_fails_here(
    english, reading_server: Slapd
) -> None:
    with pytest.raises(DirectoryError, match="system's CA certificates"):
        open_ldap(reading_server, url=reading_server.ldaps_url)


def test_a_missing_ca_file_is_named(english, reading_server: Slapd, tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match=r"absent\.pem does not exist"):
        open_ldap(
            reading_server, url=reading_server.ldaps_url, ca_file=str(tmp_path / "absent.pem")
        )


def test_a_wrong_password_is_a_clear_error_without_the_password(
    english, reading_server: Slapd
) -> None:
    with pytest.raises(DirectoryError) as caught:
        open_ldap(reading_server, password=WRONG_PASSWORD)
    error = caught.value
    assert "invalid credentials" in str(error)
    assert Slapd.service_dn in str(error)
    assert "the password in config.toml" in str(error)  # where to fix it
    for text in (str(error), repr(error), error.message, error.hint or "", repr(error.args)):
        assert WRONG_PASSWORD not in text


def test_the_password_is_never_in_the_directory_or_its_connections(reading_server: Slapd) -> None:
    with open_ldap(reading_server) as directory:
        directory.get("jdupont")
        texts = [directory.describe(), repr(directory), repr(directory.credentials)]
        texts += [repr(vars(directory)), repr(directory.settings)]
        with directory._connections.lend() as connection:
            texts.append(repr(connection))
    assert not [text for text in texts if Slapd.service_password in text]


def test_anonymous_bind_reads(reading_server: Slapd) -> None:
    with open_ldap(reading_server, bind_dn=None) as directory:
        assert directory.get("jdupont").login == "jdupont"
        assert directory.describe().endswith("en tant que anonyme, non chiffré")
        i18n.set_language("en")
        try:
            assert directory.describe().endswith("as anonymous, unencrypted")
        finally:
            i18n.set_language("fr")


def test_no_server_is_a_clear_error(english, reading_server: Slapd) -> None:
    url = f"ldap://127.0.0.1:{free_port()}"
    with pytest.raises(DirectoryError) as caught:
        open_ldap(reading_server, url=url)
    assert f"{url}: connection refused" in str(caught.value)
    assert Slapd.service_password not in str(caught.value)


def test_the_first_server_that_answers_is_used(reading_server: Slapd) -> None:
    dead = f"ldap://127.0.0.1:{free_port()}"
    with open_ldap(reading_server, url=[dead, reading_server.url]) as directory:
        assert directory.get("jdupont").login == "jdupont"
    other_dead = f"ldap://127.0.0.1:{free_port()}"
    with pytest.raises(DirectoryError) as caught:
        open_ldap(reading_server, url=[dead, other_dead])
    assert dead in str(caught.value) and other_dead in str(caught.value)


def test_a_server_gone_after_opening_is_a_directory_error(slapd_factory) -> None:
    server = slapd_factory("", tls=False)
    directory = open_ldap(server)
    server.stop()
    with pytest.raises(DirectoryError) as caught:
        directory.accounts(UAI)
    assert server.url in str(caught.value)
    server.start()  # and once it is back, the same directory works again
    assert directory.accounts(UAI) == []
    directory.close()


def test_the_timeout_bounds_every_operation_not_only_the_connection(slapd_factory) -> None:
    """`timeout` alone (no receive_timeout): a hung server is given up on after it.

    Before, only the connection had it; every answer waited 30 s.
    """
    server = slapd_factory("", tls=False)
    directory = open_ldap(server, timeout=1)
    assert directory.settings.receive_timeout == 1
    server.pause()
    started = time.monotonic()
    try:
        with pytest.raises(DirectoryError) as caught:
            directory.search("dup")
    finally:
        server.resume()
    assert time.monotonic() - started < 10
    assert "timeout" in str(caught.value) or "did not answer" in str(caught.value)
    directory.close()


def test_a_server_that_stops_answering_times_out(slapd_factory) -> None:
    server = slapd_factory("", tls=False)
    directory = open_ldap(server, receive_timeout=1)
    server.pause()
    started = time.monotonic()
    try:
        with pytest.raises(DirectoryError) as caught:
            directory.search("dup")
    finally:
        server.resume()
    assert time.monotonic() - started < 10
    assert "timeout" in str(caught.value) or "did not answer" in str(caught.value)
    directory.close()


def test_open_directory_builds_the_ldap_adapter_from_config(
    reading_server: Slapd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDPRONOTE_TEST_LDAP_PW", Slapd.service_password)
    config = Config(
        directory=DirectoryConfig(
            kind="ldap",
            preset="ent",
            ldap={
                "url": reading_server.url,
                "bind_dn": Slapd.service_dn,
                "password_env": "IDPRONOTE_TEST_LDAP_PW",
                "base_dn": Slapd.people_dn,
            },
        )
    )
    with open_directory(config) as directory:
        assert isinstance(directory, LdapDirectory)
        assert [a.login for a in directory.search("dup", uai=UAI)][:2] == ["jdupont", "mdupont"]


def test_files_named_in_config_are_relative_to_it(reading_server: Slapd, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(reading_server.ca_file.read_bytes())
    secret = tmp_path / "ldap.secret"
    secret.write_text(Slapd.service_password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    ldap = {
        "url": reading_server.ldaps_url,
        "ca_file": "ca.pem",
        "bind_dn": Slapd.service_dn,
        "password_file": "ldap.secret",
        "base_dn": Slapd.people_dn,
    }
    config = Config(
        source=tmp_path / "config.toml", directory=DirectoryConfig(kind="ldap", ldap=ldap)
    )
    with open_directory(config) as directory:
        assert directory.get("jdupont").login == "jdupont"


def test_searches_in_threads_while_writing(slapd_factory) -> None:
    """The wizard's search worker runs in threads while the wizard reads and writes."""
    from tests.ldap.conftest import fixture_ldif

    server = slapd_factory(fixture_ldif(), tls=False)
    directory = open_ldap(server)
    errors: list[BaseException] = []
    results: list[list[str]] = []

    def search() -> None:
        try:
            for _ in range(15):
                results.append([a.login for a in directory.search("dup", uai=UAI)])
                directory.accounts(BIG_UAI)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=search) for _ in range(6)]
    for thread in threads:
        thread.start()
    changes = [
        IdentifierChange(f"eleve{n:03d}", BIG_UAI, ChangeKind.ADD, idpn=f"ID{n:014d}")
        for n in range(120)
    ]
    outcomes = directory.apply(changes)
    for thread in threads:
        thread.join()
    directory.close()
    assert errors == []
    assert all(o.applied for o in outcomes)
    assert all(found == ["jdupont", "mdupont", "pdupont"] for found in results)


def test_a_wrong_password_is_said_in_french_by_default_and_in_english_on_request(
    reading_server: Slapd,
) -> None:
    with pytest.raises(DirectoryError) as caught:
        open_ldap(reading_server, password=WRONG_PASSWORD)
    error = caught.value
    assert error.message == (
        f"{reading_server.url} a refusé l'authentification (bind) de {Slapd.service_dn} : "
        "identifiants invalides"
    )
    assert error.hint == (
        "vérifiez le bind DN et le mot de passe (le mot de passe écrit dans config.toml)"
    )
    i18n.set_language("en")
    with pytest.raises(DirectoryError) as caught:
        open_ldap(reading_server, password=WRONG_PASSWORD)
    error = caught.value
    assert error.message == (
        f"{reading_server.url} refused the bind as {Slapd.service_dn}: invalid credentials"
    )
    assert error.hint == "check the bind DN and the password from the password in config.toml"
    for language in ("fr", "en"):
        i18n.set_language(language)
        with pytest.raises(DirectoryError) as caught:
            open_ldap(reading_server, password=WRONG_PASSWORD)
        assert WRONG_PASSWORD not in str(caught.value)
