"""LDAP connections and the server's result codes (the LDAP adapter's plumbing).

The pools of bound connections, opened from `LdapSettings` (settings.py): TLS,
bind, what a refusal or a broken link means in the admin's words.
"""

from __future__ import annotations

import re
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import ldap3
from ldap3.core import exceptions as ldap_errors

from core.errors import DirectoryError
from core.i18n import register, t
from directory_adapters.credentials import BindCredentials
from directory_adapters.ldap.settings import WRITERS, LdapSettings, _parse_url

register(
    {
        "dir.ldap_connection.no_ca_file": (
            "le fichier d'autorité de certification {ca_file} n'existe pas ou n'est pas un fichier",
            "the CA file {ca_file} does not exist or is not a file",
        ),
        "dir.ldap_connection.no_ca_file_hint": (
            "vérifiez [directory.ldap] ca_file dans config.toml",
            "check [directory.ldap] ca_file in config.toml",
        ),
        "dir.ldap_connection.closed": (
            "l'annuaire LDAP a été fermé",
            "the LDAP directory was closed",
        ),
        "dir.ldap_connection.cannot_connect": (
            "connexion impossible à l'annuaire LDAP : {failures}",
            "cannot connect to the LDAP directory: {failures}",
        ),
        "dir.ldap_connection.cannot_connect_hint": (
            "vérifiez que le serveur fonctionne, ainsi que [directory.ldap] url, ca_file "
            "et timeout",
            "check that the server runs and [directory.ldap] url, ca_file and timeout",
        ),
        "dir.ldap_connection.invalid_credentials": (
            "{url} a refusé l'authentification (bind) de {who} : identifiants invalides",
            "{url} refused the bind as {who}: invalid credentials",
        ),
        "dir.ldap_connection.invalid_credentials_hint": (
            "vérifiez le bind DN et le mot de passe ({source})",
            "check the bind DN and the password from {source}",
        ),
        "dir.ldap_connection.bind_refused": (
            "{url} a refusé l'authentification (bind) de {who} : {detail}",
            "{url} refused the bind as {who}: {detail}",
        ),
        "dir.ldap_connection.bind_refused_hint": (
            "vérifiez [directory.ldap] bind_dn et le mot de passe",
            "check [directory.ldap] bind_dn and the password",
        ),
        "dir.ldap_connection.tls_required_hint": (
            "le serveur exige peut-être TLS : utilisez ldaps:// ou start_tls = true",
            "the server may require TLS: use ldaps:// or start_tls = true",
        ),
        "dir.ldap_connection.anonymous": ("anonyme", "anonymous"),
        "dir.ldap_connection.system_cas": (
            "les certificats d'autorité du système",
            "the system's CA certificates",
        ),
        "dir.ldap_connection.tls_failed": (
            "échec TLS ({error}) ; le certificat du serveur doit être signé par une "
            "autorité de {ca} et porter le nom d'hôte de l'url",
            "TLS failed ({error}); the server's certificate must be signed by "
            "a CA in {ca} and name the host of the url",
        ),
        "dir.ldap_connection.timed_out": (
            "pas de réponse dans le délai (timeout) ({error})",
            "no answer within the timeout ({error})",
        ),
        "dir.ldap_connection.refused": (
            "connexion refusée (le serveur tourne-t-il, le port est-il le bon ?)",
            "connection refused (is the server running, is the port right?)",
        ),
        "dir.ldap_connection.result_code": (
            "code de résultat {code}",
            "result code {code}",
        ),
    }
)

# LDAP result codes (RFC 4511) that this module treats specially.
_SUCCESS = 0
_TIME_LIMIT = 3
_SIZE_LIMIT = 4
_ADMIN_LIMIT = 11
_NO_SUCH_ATTRIBUTE = 16
_UNDEFINED_TYPE = 17
_VALUE_EXISTS = 20
_INVALID_SYNTAX = 21
_NO_SUCH_OBJECT = 32
_INVALID_CREDENTIALS = 49
_STRONGER_AUTH_REQUIRED = 8
_REFERRAL = 10
_CONFIDENTIALITY_REQUIRED = 13
_INSUFFICIENT_ACCESS = 50
_OBJECT_CLASS_VIOLATION = 65

# -- connections ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """One configured server."""

    url: str
    host: str
    port: int
    secure: bool
    tls: ldap3.Tls | None
    timeout: float

    def server(self) -> ldap3.Server:
        # A new ldap3 Server for every connection: a Server that failed once
        # refuses to try its address again for a while, even once it is back.
        return ldap3.Server(
            self.host,
            port=self.port,
            use_ssl=self.secure,
            tls=self.tls,
            get_info=ldap3.NONE,
            connect_timeout=self.timeout,
        )


class _Connections:
    """Bound connections, lent to one thread at a time, made on demand.

    Servers are tried in the configured order, the first that answers wins
    (ldap3's ServerPool would do the same, but sleeps 10 s after a round of
    dead servers and cannot say which server failed for what reason).
    """

    def __init__(
        self,
        settings: LdapSettings,
        credentials: BindCredentials,
        urls: tuple[str, ...] | None = None,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        urls = urls or settings.urls
        self.targets = [self._target(url) for url in urls]
        self._idle: list[ldap3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.last_url = urls[0]

    def _target(self, url: str) -> _Target:
        host, port, secure = _parse_url(url)
        tls = None
        if secure or self.settings.start_tls:
            ca_file = self.settings.ca_file
            if ca_file is not None and not ca_file.is_file():
                raise DirectoryError(
                    t("dir.ldap_connection.no_ca_file", ca_file=ca_file),
                    hint=t("dir.ldap_connection.no_ca_file_hint"),
                )
            # Certificate verification is never optional: a directory that
            # cannot prove who it is must not receive the bind password.
            tls = ldap3.Tls(
                validate=ssl.CERT_REQUIRED,
                ca_certs_file=str(ca_file) if ca_file else None,
            )
        return _Target(url, host, port, secure, tls, self.settings.timeout)

    @contextmanager
    def lend(self) -> Iterator[ldap3.Connection]:
        """A bound connection for one thread; dropped if the link broke while lent."""
        with self._lock:
            if self._closed:
                raise DirectoryError(t("dir.ldap_connection.closed"))
            idle = self._idle.pop() if self._idle else None
        connection = idle if idle is not None else self.open()
        try:
            yield connection
        except DirectoryError:
            self._give_back(connection)  # a complete answer that said no: the link is fine
            raise
        except ldap_errors.LDAPCommunicationError:
            # The link is gone; so, probably, are the other idle ones (server
            # restarted): drop them all, the next call connects afresh.
            _quietly_unbind(connection)
            self.flush()
            raise
        except BaseException:
            _quietly_unbind(connection)  # interrupted mid-answer: unusable
            raise
        else:
            self._give_back(connection)

    def _give_back(self, connection: ldap3.Connection) -> None:
        with self._lock:
            if self._closed or len(self._idle) > WRITERS:
                _quietly_unbind(connection)
            else:
                self._idle.append(connection)

    def open(self) -> ldap3.Connection:
        """A new bound connection to the first server that answers."""
        failures = []
        for target in self.targets:
            try:
                connection = self._bind(target)
            except ldap_errors.LDAPException as error:  # no answer, TLS: try the next one
                failures.append(f"{target.url}: {self._why(error)}")
                continue
            self.last_url = target.url
            return connection
        raise DirectoryError(
            self.credentials.scrub(
                t("dir.ldap_connection.cannot_connect", failures="; ".join(failures))
            ),
            hint=t("dir.ldap_connection.cannot_connect_hint"),
        )

    def _bind(self, target: _Target) -> ldap3.Connection:
        credentials = self.credentials
        connection = ldap3.Connection(
            target.server(),
            user=credentials.bind_dn,
            password=credentials.password.reveal() if credentials.password else None,
            authentication=ldap3.ANONYMOUS if credentials.anonymous else ldap3.SIMPLE,
            client_strategy=ldap3.SYNC,
            auto_bind=ldap3.AUTO_BIND_NONE,
            receive_timeout=self.settings.receive_timeout,
            raise_exceptions=False,
            read_only=False,
            check_names=False,
            auto_referrals=False,
            return_empty_attributes=False,
        )
        try:
            connection.open(read_server_info=False)
            if self.settings.start_tls:
                connection.start_tls(read_server_info=False)
            bound = connection.bind(read_server_info=False)
        except BaseException:
            _quietly_unbind(connection)
            raise
        # Not needed after the bind: keep the password out of the connection
        # (ldap3 also keeps the last request, here the bind with its password).
        connection.password = None
        connection.request = None
        if not bound:
            result = dict(connection.result or {})
            _quietly_unbind(connection)
            raise self._refused(target, result)
        return connection

    def _refused(self, target: _Target, result: dict[str, Any]) -> DirectoryError:
        """A bind the server answered with "no": not worth trying another server."""
        code = result.get("result")
        who = self.credentials.bind_dn or t("dir.ldap_connection.anonymous")
        if code == _INVALID_CREDENTIALS:
            return DirectoryError(
                t("dir.ldap_connection.invalid_credentials", url=target.url, who=who),
                hint=t(
                    "dir.ldap_connection.invalid_credentials_hint",
                    source=self.credentials.where(),
                ),
            )
        detail = _server_words(result)
        hint = t("dir.ldap_connection.bind_refused_hint")
        if code in (8, 13, 48, 53):  # strongerAuthRequired, confidentialityRequired, ...
            hint = t("dir.ldap_connection.tls_required_hint")
        return DirectoryError(
            self.credentials.scrub(
                t("dir.ldap_connection.bind_refused", url=target.url, who=who, detail=detail)
            ),
            hint=hint,
        )

    def _why(self, error: ldap_errors.LDAPException) -> str:
        text = self.credentials.scrub(str(error))
        lowered = text.lower()
        if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
            ca = self.settings.ca_file or t("dir.ldap_connection.system_cas")
            return t("dir.ldap_connection.tls_failed", error=_short(text), ca=ca)
        if "timed out" in lowered or "timeout" in lowered:
            return t("dir.ldap_connection.timed_out", error=_short(text))
        if "refused" in lowered:
            return t("dir.ldap_connection.refused")
        return _short(text)

    def flush(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            _quietly_unbind(connection)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.flush()


def _quietly_unbind(connection: ldap3.Connection) -> None:
    with suppress(Exception):
        connection.unbind()
    # ldap3 leaves the socket of a connection that never opened (refused, timed
    # out) to the garbage collector: close it now, leave no connection behind.
    socket = getattr(connection, "socket", None)
    if socket is not None:
        with suppress(OSError):
            socket.close()


def _short(text: str) -> str:
    text = re.sub(r"[\[\]()'\"]+", " ", text)
    return " ".join(text.split())[:240]


def _server_words(result: Mapping[str, Any]) -> str:
    description = result.get("description") or t(
        "dir.ldap_connection.result_code", code=result.get("result")
    )
    message = str(result.get("message") or "").strip()
    return f"{description} ({message})" if message else str(description)


# -- entries as read from the server ----------------------------------------------------------
