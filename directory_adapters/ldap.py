"""The ENT directory over LDAP (ldap3): read accounts, search them, write identifiers.

Configured by `[directory.ldap]` (CONTRACT.md) and read through the
attribute mapping of `mapping.py`, like the LDIF file.

Reading: the accounts of an establishment come from Simple Paged Results
searches asking only for the mapped attributes; responses are read as plain
dictionaries, never as ldap3's `Entry` objects (too heavy for thousands of
accounts). An account's establishments may be UAIs or DNs of structure
entries; both are understood, DNs are resolved once and cached.

Searching (the wizard's search-as-you-type): the server narrows with prefix
filters, built only from escaped user text, bounded by size and time limits;
the exact rule (that of the CSV directory: every word of the query starts a
word of the surname, first name or login, accents and case ignored) is then
applied here. Limitations, all server-side: LDAP matching rules ignore case
but not accents, so the filter sends each word as typed, without accents, and
with accents guessed (one letter at a time, or two of é, è, ô, ï together):
"hel", "helene" and "hélène" find "Hélène", but "leveque" does not find
"LÉVÊQUE" (é with ê is not guessed; "lev" or "lévêque" do). A word inside a
compound name ("bris" in "Le Bris") is looked for by substring from its 4th
letter on (shorter substrings cannot use the server's index), or at any
length when something else narrows the search (an establishment, a longer
word of the query). Results are the first ones the server returns (twice the
number asked for, at least 50), sorted here: a very short query over a whole
academy shows a sample, not the alphabetical start of the directory.

Writing: per change, delete exactly the values this establishment owns and
add the new one (`MODIFY_DELETE` + `MODIFY_ADD`, never a replace of the whole
attribute: other establishments' and other tools' values stay), after
checking on the server that no other account holds the identifier. Writes go
out on a few connections at once, in rounds of independent changes, each
round read back before the next: an outcome says `applied` only when the
server shows the value. If the server dies mid-batch, every change still gets
an outcome, and running the same batch again finishes the job ("already in
effect" for what was done).

No ldap3 exception leaves this module: every failure becomes a
`DirectoryError` (or a failed `ChangeOutcome`) saying which server, what
happened and what to check. The bind password is never part of a message.
"""

from __future__ import annotations

import math
import re
import ssl
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from itertools import combinations, product
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars

from core.errors import ConfigError, DirectoryError
from core.i18n import register, t
from core.model import (
    CATEGORIES,
    DEFAULT_PROFILES,
    Category,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    ProfileMapping,
)
from core.names import normalise_name
from directory_adapters.base import (
    BEST_SAMPLE,
    DEFAULT_SEARCH_LIMIT,
    FAILED,
    NOT_CHECKED,
    READ_ONLY,
    UNKNOWN_ATTRIBUTE,
    WRITABLE,
    Census,
    Directory,
    LinkedAccount,
    WriteCheck,
    counted,
    not_found,
    plan_change,
    sample_rank,
    skipped,
    spread,
)
from directory_adapters.credentials import BindCredentials, bind_credentials
from directory_adapters.mapping import AttributeMapping, is_dn

register(
    {
        "dir.ldap.describe": (
            "LDAP {urls} (base {bases}) en tant que {who}{tls}",
            "LDAP {urls} (base {bases}) as {who}{tls}",
        ),
        "dir.ldap.anonymous": ("anonyme", "anonymous"),
        "dir.ldap.unencrypted": (", non chiffré", ", unencrypted"),
    }
)

__all__ = ["LdapDirectory", "LdapSettings"]

DEFAULT_TIMEOUT = 10
DEFAULT_RECEIVE_TIMEOUT = 30
DEFAULT_PAGE_SIZE = 500
# A search-as-you-type query that takes longer than this is not worth waiting for.
DEFAULT_SEARCH_TIME_LIMIT = 5
# How many entries a search asks for, per result wanted: the server's filter is
# wider than the exact rule applied here, and results are sorted after.
SEARCH_FETCH_FACTOR = 2
SEARCH_FETCH_MAX = 1000
MAX_QUERY = 200
# Spellings of one query word sent to the server (as typed, unaccented, with
# accents guessed): bounds the filter's size.
MAX_SPELLINGS = 32
# Substrings shorter than this cannot use OpenLDAP's default subany index.
INNER_WORD_MIN = 4
# Writes in flight at once, each on its own connection.
WRITERS = 8
# Changes per write round (read first, written, read back): a round is the
# unit that is fully reported when the server dies.
ROUND = 100
# Logins or values per OR filter when reading many entries.
LOOKUP_CHUNK = 50
# Entries a sample search asks for (the first that reads back whole wins).
SAMPLE_CANDIDATES = 5
# The identifier a write check deletes: no entry holds it (16 upper-case letters and
# digits, like a real one, so that the server's syntax accepts it), and deleting a
# value an entry does not hold changes nothing.
CHECK_IDPN = "IDPRONOTECHECK00"
CHECK_UAI = "0000000A"

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

_ACCENTED = {"a": "àâä", "c": "ç", "e": "éèêë", "i": "îï", "o": "ôö", "u": "ùûü", "y": "ÿ"}
# The accents French names combine within one word.
_PAIRED = {"e": "éè", "o": "ô", "i": "ï"}
_DN_SPACES = re.compile(r"\s*([,=+])\s*")


# -- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LdapSettings:
    """`[directory.ldap]`, checked and with its defaults."""

    urls: tuple[str, ...]
    bases: tuple[str, ...]
    start_tls: bool = False
    ca_file: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    # Whole seconds: ldap3 sets it with SO_RCVTIMEO, which takes an integer.
    receive_timeout: int = DEFAULT_RECEIVE_TIMEOUT
    page_size: int = DEFAULT_PAGE_SIZE
    size_limit: int = 0
    time_limit: int = 0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> LdapSettings:
        urls = _strings(raw.get("url"))
        if not urls:
            raise ConfigError(
                '[directory.ldap] url is required, e.g. url = "ldaps://ldap.example.org"'
            )
        for url in urls:
            _parse_url(url)
        bases = _strings(raw.get("base_dn"))
        if not bases:
            raise ConfigError(
                '[directory.ldap] base_dn is required, e.g. base_dn = "ou=people,dc=example,dc=org"'
            )
        start_tls = bool(raw.get("start_tls", False))
        if start_tls and any(url.lower().startswith("ldaps:") for url in urls):
            raise ConfigError(
                "[directory.ldap] start_tls = true with an ldaps:// url: ldaps is already "
                "encrypted; use ldap:// with start_tls, or ldaps:// without it"
            )
        ca_file = Path(str(raw["ca_file"])).expanduser() if raw.get("ca_file") else None
        numbers = {}
        for key, default, minimum in (
            ("timeout", DEFAULT_TIMEOUT, 0.1),
            ("receive_timeout", DEFAULT_RECEIVE_TIMEOUT, 0.1),
            ("page_size", DEFAULT_PAGE_SIZE, 1),
            ("size_limit", 0, 0),
            ("time_limit", 0, 0),
        ):
            value = raw.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
                raise ConfigError(f"[directory.ldap] {key} must be a number >= {minimum}")
            numbers[key] = value
        return cls(
            urls=urls,
            bases=bases,
            start_tls=start_tls,
            ca_file=ca_file,
            timeout=float(numbers["timeout"]),
            receive_timeout=math.ceil(numbers["receive_timeout"]),
            page_size=int(numbers["page_size"]),
            size_limit=int(numbers["size_limit"]),
            time_limit=int(numbers["time_limit"]),
        )

    @property
    def encrypted(self) -> bool:
        return self.start_tls or all(url.lower().startswith("ldaps:") for url in self.urls)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    return tuple(str(v).strip() for v in value if str(v).strip())


def _parse_url(url: str) -> tuple[str, int, bool]:
    """(host, port, ldaps?) of an LDAP URL, or a ConfigError saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ConfigError(f"[directory.ldap] url {url!r}: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise ConfigError(
            f"[directory.ldap] url {url!r} is not an LDAP URL; "
            'expected "ldap://host[:port]" or "ldaps://host[:port]"'
        )
    if parts.path not in ("", "/") or parts.query:
        raise ConfigError(
            f"[directory.ldap] url {url!r}: only the server goes here; "
            "put the search base in base_dn"
        )
    secure = scheme == "ldaps"
    return parts.hostname, port or (636 if secure else 389), secure


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

    def __init__(self, settings: LdapSettings, credentials: BindCredentials) -> None:
        self.settings = settings
        self.credentials = credentials
        self.targets = [self._target(url) for url in settings.urls]
        self._idle: list[ldap3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self.last_url = settings.urls[0]

    def _target(self, url: str) -> _Target:
        host, port, secure = _parse_url(url)
        tls = None
        if secure or self.settings.start_tls:
            ca_file = self.settings.ca_file
            if ca_file is not None and not ca_file.is_file():
                raise DirectoryError(
                    f"the CA file {ca_file} does not exist or is not a file",
                    hint="check [directory.ldap] ca_file in config.toml",
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
                raise DirectoryError("the LDAP directory was closed")
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
            self.credentials.scrub("cannot connect to the LDAP directory: " + "; ".join(failures)),
            hint="check that the server runs and [directory.ldap] url, ca_file and timeout",
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
        who = self.credentials.bind_dn or "anonymous"
        if code == _INVALID_CREDENTIALS:
            return DirectoryError(
                f"{target.url} refused the bind as {who}: invalid credentials",
                hint=f"check the bind DN and the password from {self.credentials.source}",
            )
        detail = _server_words(result)
        hint = "check [directory.ldap] bind_dn and the password"
        if code in (8, 13, 48, 53):  # strongerAuthRequired, confidentialityRequired, ...
            hint = "the server may require TLS: use ldaps:// or start_tls = true"
        return DirectoryError(
            self.credentials.scrub(f"{target.url} refused the bind as {who}: {detail}"),
            hint=hint,
        )

    def _why(self, error: ldap_errors.LDAPException) -> str:
        text = self.credentials.scrub(str(error))
        lowered = text.lower()
        if "certificate" in lowered or "ssl" in lowered or "tls" in lowered:
            ca = self.settings.ca_file or "the system's CA certificates"
            return (
                f"TLS failed ({_short(text)}); the server's certificate must be signed by "
                f"a CA in {ca} and name the host of the url"
            )
        if "timed out" in lowered or "timeout" in lowered:
            return f"no answer within the timeout ({_short(text)})"
        if "refused" in lowered:
            return "connection refused (is the server running, is the port right?)"
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


def _short(text: str) -> str:
    text = re.sub(r"[\[\]()'\"]+", " ", text)
    return " ".join(text.split())[:240]


def _server_words(result: Mapping[str, Any]) -> str:
    description = result.get("description") or f"result code {result.get('result')}"
    message = str(result.get("message") or "").strip()
    return f"{description} ({message})" if message else str(description)


# -- entries as read from the server ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    dn: str
    # lower-case attribute name -> values as text
    attributes: dict[str, list[str]]

    def values(self, attribute: str) -> list[str]:
        return self.attributes.get(attribute.lower(), [])


def _entry(response: Mapping[str, Any]) -> _Entry:
    attributes = {}
    for name, raw in response["raw_attributes"].items():
        attributes[name.lower()] = [
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in raw
        ]
    return _Entry(response["dn"], attributes)


def _dn_key(dn: str) -> str:
    """A cache key for a DN: case and spaces around separators do not matter."""
    return _DN_SPACES.sub(r"\1", dn.strip()).lower()


# -- filters ----------------------------------------------------------------------------------


def _equals(attribute: str, value: str) -> str:
    return f"({attribute}={escape_filter_chars(value)})"


def _any_of(parts: Iterable[str]) -> str:
    parts = list(dict.fromkeys(p for p in parts if p))
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else "(|" + "".join(parts) + ")"


def _all_of(parts: Iterable[str]) -> str:
    parts = [p for p in parts if p]
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else "(&" + "".join(parts) + ")"


def _fold(text: str) -> str:
    """Lower case, accents removed, everything else kept (`D'Hé` -> `d'he`)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _spellings(word: str) -> list[str]:
    """A query word as the server may store it: as typed, unaccented, with accents guessed.

    One letter accented at a time, then two of é, è, ô, ï together (Hélène,
    Frédéric, Jérôme), at most MAX_SPELLINGS in all.
    """
    plain = _fold(word)
    found = dict.fromkeys([word.casefold(), plain])
    for spelling in _accents_guessed(plain):
        if len(found) >= MAX_SPELLINGS:
            break
        found[spelling] = None
    return list(found)


def _accents_guessed(plain: str) -> Iterator[str]:
    for i, letter in enumerate(plain):
        for accented in _ACCENTED.get(letter, ""):
            yield plain[:i] + accented + plain[i + 1 :]
    paired = [i for i, letter in enumerate(plain) if letter in _PAIRED]
    for first, second in combinations(paired, 2):
        for a, b in product(_PAIRED[plain[first]], _PAIRED[plain[second]]):
            yield plain[:first] + a + plain[first + 1 : second] + b + plain[second + 1 :]


def _significant(words: list[str]) -> list[str]:
    """The query words that say something: a word that starts another is implied by it."""
    unique = list(dict.fromkeys(words))
    return [w for w in unique if not any(o != w and o.startswith(w) for o in unique)]


@dataclass
class _Query:
    """A search-as-you-type query: the words to match, and how to ask the server."""

    text: str
    words: list[str]  # normalised (upper-case ASCII), as the CSV directory compares them
    login_prefix: str
    tokens: list[tuple[str, list[str]]] = field(default_factory=list)  # raw token, its words

    @classmethod
    def parse(cls, text: str) -> _Query | None:
        query = " ".join(str(text).split())[:MAX_QUERY]
        if not query:
            return None
        words = _significant(normalise_name(query).split())
        tokens = [(token, normalise_name(token).split()) for token in query.split()]
        return cls(query, words, query.lower(), tokens)

    def matches(self, account: DirectoryAccount) -> bool:
        """The exact rule, the CSV directory's: see the module's docstring."""
        login = account.login.lower()
        if login.startswith(self.login_prefix):
            return True
        if not self.words:
            return False
        own = [
            *normalise_name(account.surname).split(),
            *normalise_name(account.first_name).split(),
        ]
        return all(
            login.startswith(word.lower()) or any(name.startswith(word) for name in own)
            for word in self.words
        )

    def server_filter(self, mapping: AttributeMapping, scoped: bool) -> str:
        """A filter that finds (at least) what `matches` accepts, but for the documented limits.

        Substrings inside a value ("bris" in "Le Bris") are indexed from
        INNER_WORD_MIN letters on; shorter ones would make the server read
        every entry. They are sent anyway when something else narrows the
        search first: an establishment (`scoped`), or, in a query of several
        words, its longest word, which then drives the server's index alone.
        """
        names = [a for a in (mapping.attribute("nom"), mapping.attribute("prenom")) if a]
        login = mapping.attribute("login")
        driver = max(self.words, key=len, default="")
        per_word: dict[str, list[str]] = {}
        for token, token_words in self.tokens:
            for word in token_words:
                if word not in self.words:
                    continue  # implied by a longer word
                parts = per_word.setdefault(word, [])
                # The raw token too: "d'art" finds D'ARTAGNAN, whose word "ART"
                # is no prefix of anything the server can see.
                sources = [word] if token.casefold() == word.casefold() else [word, token]
                for source in sources:
                    inner = scoped or word != driver or len(_fold(source)) >= INNER_WORD_MIN
                    parts += self._word_parts(source, names, login, inner)
        words_filter = _all_of(_any_of(parts) for parts in per_word.values())
        by_login = ""
        if " " not in self.text:
            by_login = f"({login}={escape_filter_chars(self.login_prefix)}*)"
        return _any_of(p for p in (words_filter, by_login) if p)

    @staticmethod
    def _word_parts(word: str, names: list[str], login: str, inner: bool) -> list[str]:
        """Prefixes of the names and login, in every spelling; substrings if `inner`."""
        spellings = _spellings(word)
        parts = []
        for attribute in names:
            parts += [f"({attribute}={escape_filter_chars(s)}*)" for s in spellings]
            if inner:
                parts += [f"({attribute}=*{escape_filter_chars(s)}*)" for s in spellings[:2]]
        parts += [f"({login}={escape_filter_chars(s)}*)" for s in spellings[:2]]
        return parts


def _sort_key(exact: str) -> Callable[[DirectoryAccount], tuple]:
    def key(account: DirectoryAccount) -> tuple:
        surname = normalise_name(account.surname)
        return (
            surname != exact,
            surname,
            normalise_name(account.first_name),
            account.login.lower(),
        )

    return key


# -- the directory ----------------------------------------------------------------------------


class LdapDirectory(Directory):
    """Accounts of an LDAP directory; identifiers written into it."""

    def __init__(
        self,
        settings: Mapping[str, Any] | LdapSettings,
        mapping: AttributeMapping | None = None,
        profiles: ProfileMapping | None = None,
        *,
        credentials: BindCredentials | None = None,
    ) -> None:
        """Check the settings, get the password, and connect (errors surface here, early)."""
        raw = settings if isinstance(settings, Mapping) else {}
        self.settings = (
            settings if isinstance(settings, LdapSettings) else LdapSettings.from_mapping(raw)
        )
        self.mapping = mapping or AttributeMapping.build()
        self.form = self.mapping.form
        self.profiles = profiles if profiles is not None else ProfileMapping(dict(DEFAULT_PROFILES))
        self.credentials = credentials if credentials is not None else bind_credentials(raw)
        # Called after each write answered, with (answered, total): for a
        # progress bar; the tests also use it to break the server mid-batch.
        self.progress: Callable[[int, int], None] | None = None
        # Entries a listing could not use (no login, no surname): (dn, why).
        self.skipped: list[tuple[str, str]] = []
        self._structure_uais: dict[str, str | None] = {}
        self._structure_dns: dict[str, tuple[str, ...]] = {}
        self._student_logins: dict[str, str | None] = {}
        self._naming_contexts: tuple[str, ...] | None = None
        self._connections = _Connections(self.settings, self.credentials)
        with self._connections.lend():
            pass  # connect now: a wrong password or a dead server is reported at once

    def describe(self) -> str:
        bases = "; ".join(self.settings.bases)
        who = self.credentials.bind_dn or t("dir.ldap.anonymous")
        urls = " | ".join(self.settings.urls)
        tls = "" if self.settings.encrypted else t("dir.ldap.unencrypted")
        if self.settings.start_tls:
            tls = ", StartTLS"
        return t("dir.ldap.describe", urls=urls, bases=bases, who=who, tls=tls)

    def close(self) -> None:
        self._connections.close()

    # -- low-level reading ------------------------------------------------------------------

    def _run(self, operation: Callable[[ldap3.Connection], Any], what: str) -> Any:
        """Run a read on a lent connection; a broken link is retried once on a new one."""
        for attempt in (1, 2):
            try:
                with self._connections.lend() as connection:
                    return operation(connection)
            except ldap_errors.LDAPCommunicationError as error:
                if attempt == 2:
                    raise self._lost(error, what) from None
            except ldap_errors.LDAPException as error:
                raise DirectoryError(
                    self.credentials.scrub(f"LDAP error while {what}: {_short(str(error))}")
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _lost(self, error: Exception, what: str) -> DirectoryError:
        text = self.credentials.scrub(_short(str(error)))
        if "timed out" in text:
            return DirectoryError(
                f"{self._connections.last_url} did not answer within "
                f"{self.settings.receive_timeout:g} s while {what}",
                hint="the server may be overloaded; raise [directory.ldap] receive_timeout",
            )
        return DirectoryError(
            f"lost the connection to {self._connections.last_url} while {what} ({text})",
            hint="check that the server runs, then try again",
        )

    def _search(
        self,
        search_filter: str,
        attributes: Sequence[str],
        *,
        what: str,
        bases: Sequence[str] | None = None,
        scope: str = ldap3.SUBTREE,
        size_limit: int | None = None,
        time_limit: int | None = None,
        truncate: bool = False,
    ) -> list[_Entry]:
        """Entries under every base (each once), page by page.

        A size or time limit hit is an error unless `truncate` says a partial
        answer is fine (a search dialog), so a listing is never silently short.
        """
        size_limit = self.settings.size_limit if size_limit is None else size_limit
        time_limit = self.settings.time_limit if time_limit is None else time_limit
        found: dict[str, _Entry] = {}
        for base in bases if bases is not None else self.settings.bases:
            for entry in self._paged(
                base, search_filter, attributes, scope, size_limit, time_limit, truncate, what
            ):
                found.setdefault(_dn_key(entry.dn), entry)
            if truncate and size_limit and len(found) >= size_limit:
                break
        return list(found.values())

    def _paged(
        self,
        base: str,
        search_filter: str,
        attributes: Sequence[str],
        scope: str,
        size_limit: int,
        time_limit: int,
        truncate: bool,
        what: str,
    ) -> list[_Entry]:
        def run(connection: ldap3.Connection) -> list[_Entry]:
            entries: list[_Entry] = []
            cookie = None
            while True:
                connection.search(
                    base,
                    search_filter,
                    search_scope=scope,
                    attributes=list(attributes) or ["1.1"],
                    size_limit=size_limit,
                    time_limit=time_limit,
                    paged_size=self.settings.page_size if scope != ldap3.BASE else None,
                    paged_cookie=cookie,
                )
                result = connection.result or {}
                entries += [
                    _entry(r)
                    for r in connection.response or ()
                    if r.get("type") == "searchResEntry"
                ]
                code = result.get("result")
                if code != _SUCCESS:
                    self._search_failed(result, base, what, len(entries), truncate)
                    return entries
                controls = result.get("controls") or {}
                paged = controls.get("1.2.840.113556.1.4.319") or {}
                cookie = (paged.get("value") or {}).get("cookie")
                if not cookie:
                    return entries

        return self._run(run, what)

    def _search_failed(
        self, result: Mapping[str, Any], base: str, what: str, count: int, truncate: bool
    ) -> None:
        code = result.get("result")
        if code in (_SIZE_LIMIT, _TIME_LIMIT, _ADMIN_LIMIT):
            if truncate:
                return
            limit = "time" if code == _TIME_LIMIT else "size"
            raise DirectoryError(
                f"{self._connections.last_url} stopped after {count} entries while {what}: "
                f"{limit} limit exceeded ({_server_words(result)})",
                hint=f"raise [directory.ldap] {limit}_limit, or ask the directory admin to "
                f"lift the server's {limit} limits for {self.credentials.bind_dn or 'anonymous'} "
                "(OpenLDAP: limits dn.exact=... size.prtotal=unlimited)",
            )
        if code == _NO_SUCH_OBJECT:
            if base == "" or self._is_configured_base(base):
                raise DirectoryError(
                    f"the search base {base!r} does not exist on {self._connections.last_url}",
                    hint="check [directory.ldap] base_dn",
                )
            return  # a DN read on its own (a structure, a student) that is gone
        if code == _INSUFFICIENT_ACCESS:
            raise DirectoryError(
                f"{self.credentials.bind_dn or 'anonymous'} may not read {base} "
                f"while {what}: insufficient access",
                hint="ask the directory admin for read access to the accounts' attributes",
            )
        raise DirectoryError(
            f"{self._connections.last_url} refused the search while {what}: {_server_words(result)}"
        )

    def _is_configured_base(self, base: str) -> bool:
        return _dn_key(base) in {_dn_key(b) for b in self.settings.bases}

    # -- establishments, structures, students -------------------------------------------------

    def _structure_bases(self) -> tuple[str, ...]:
        """Where structure entries may live: the naming contexts holding the bases."""
        if self._naming_contexts is None:
            contexts: tuple[str, ...] = ()
            with suppress(DirectoryError):
                root = self._search(
                    "(objectClass=*)",
                    ["namingContexts"],
                    what="reading the server's naming contexts",
                    bases=[""],
                    scope=ldap3.BASE,
                    size_limit=0,
                )
                contexts = tuple(root[0].values("namingContexts")) if root else ()
            chosen = []
            for base in self.settings.bases:
                key = _dn_key(base)
                suffixes = [c for c in contexts if key.endswith(_dn_key(c))]
                chosen.append(max(suffixes, key=len) if suffixes else base)
            self._naming_contexts = tuple(dict.fromkeys(chosen))
        return self._naming_contexts

    def _structures_of(self, uai: str) -> tuple[str, ...]:
        """DNs of the structure entries whose UAI attribute is `uai` (cached)."""
        attribute = self.mapping.preset.structure_uai
        if not attribute:
            return ()
        if uai not in self._structure_dns:
            entries = self._search(
                _equals(attribute, uai),
                ["1.1"],
                what=f"looking for the structure entry of {uai}",
                bases=self._structure_bases(),
            )
            for entry in entries:
                self._structure_uais[_dn_key(entry.dn)] = uai
            self._structure_dns[uai] = tuple(entry.dn for entry in entries)
        return self._structure_dns[uai]

    def _structure_uai(self, dn: str) -> str | None:
        """The UAI of the structure entry `dn` names (cached); None if there is none."""
        key = _dn_key(dn)
        if key not in self._structure_uais:
            attribute = self.mapping.preset.structure_uai
            uai = None
            if attribute:
                found = self._read_one(dn, attribute, f"reading the structure {dn}")
                uai = found[0].strip().upper() if found else None
            self._structure_uais[key] = uai
        return self._structure_uais[key]

    def _student_login(self, dn: str) -> str | None:
        """The login of the account a guardian's student DN names (cached)."""
        key = _dn_key(dn)
        if key not in self._student_logins:
            found = self._read_one(dn, self.mapping.attribute("login"), f"reading the student {dn}")
            self._student_logins[key] = found[0].strip() if found else None
        return self._student_logins[key]

    def _read_one(self, dn: str, attribute: str, what: str) -> list[str]:
        entries = self._search(
            "(objectClass=*)", [attribute], what=what, bases=[dn], scope=ldap3.BASE, size_limit=0
        )
        return entries[0].values(attribute) if entries else []

    def _establishment_filter(self, uai: str) -> str:
        attribute = self.mapping.attribute("uai")
        if not attribute:
            raise DirectoryError(
                "no establishment attribute is mapped",
                hint="set [directory.fields] uai in config.toml",
            )
        values = [uai, *self._structures_of(uai)]
        return _any_of(_equals(attribute, value) for value in values)

    def _category_filter(self, category: Category | None) -> str | None:
        """The profile filter: "" for no restriction, None when the category has no profile."""
        if category is None:
            return ""
        values = self.profiles.profiles_of(category)
        if not values:
            return None
        attribute = self.mapping.attribute("profil")
        if not attribute:
            return ""  # checked on each account instead
        return _any_of(_equals(attribute, value) for value in values)

    # -- accounts -----------------------------------------------------------------------------

    def _accounts(self, entries: Iterable[_Entry]) -> list[DirectoryAccount]:
        accounts, skipped = [], []
        for entry in entries:
            account, why = self.mapping.to_account(
                entry.dn,
                entry.attributes,
                structure_uai=self._structure_uai,
                student_login=self._student_login,
            )
            if account is None:
                skipped.append((entry.dn, why or "unusable"))
            else:
                accounts.append(account)
        self.skipped = skipped
        return accounts

    def _keep(self, account: DirectoryAccount, uai: str | None, category: Category | None) -> bool:
        if uai is not None and uai not in account.establishments:
            return False
        return category is None or self.profiles.matches(account, category)

    def accounts(self, uai: str, category: Category | None = None) -> list[DirectoryAccount]:
        return self._listing(uai, category)

    def linked(self, uai: str) -> list[LinkedAccount]:
        identifier = f"({self.mapping.identifier_attribute}=*)"
        rows = []
        for account in self._listing(uai, None, identifier):
            for idpn in self.form.idpns_for(account.identifiers, uai):
                rows.append(LinkedAccount(account, idpn))
        return rows

    def _listing(
        self, uai: str, category: Category | None, extra: str = ""
    ) -> list[DirectoryAccount]:
        uai = uai.strip().upper()
        by_category = self._category_filter(category)
        if not uai or by_category is None:
            return []
        search_filter = _all_of(
            [self.mapping.person_filter, self._establishment_filter(uai), by_category, extra]
        )
        entries = self._search(
            search_filter, self.mapping.attributes(), what=f"listing the accounts of {uai}"
        )
        accounts = [a for a in self._accounts(entries) if self._keep(a, uai, category)]
        accounts.sort(key=_sort_key(""))
        return accounts

    def get(self, login: str) -> DirectoryAccount | None:
        login = login.strip()
        if not login:
            return None
        search_filter = _all_of(
            [self.mapping.person_filter, _equals(self.mapping.attribute("login"), login)]
        )
        entries = self._search(
            search_filter, self.mapping.attributes(), what=f"reading the account {login}"
        )
        accounts = self._accounts(entries)
        # Never guess which of two accounts with one login is meant.
        return accounts[0] if len(accounts) == 1 else None

    def holders(self, idpn: str, uai: str) -> list[DirectoryAccount]:
        """Accounts storing `idpn` for `uai`, whatever their establishments."""
        uai = uai.strip().upper()
        value = self.form.format(uai, idpn)
        attribute = self.mapping.identifier_attribute
        entries = self._search(
            _equals(attribute, value),
            self.mapping.attributes(),
            what=f"looking for the holders of {value}",
        )
        accounts = self._accounts(entries)
        held = [a for a in accounts if idpn in self.form.idpns_for(a.identifiers, uai)]
        return sorted(held, key=_sort_key(""))

    def search(
        self,
        text: str,
        *,
        uai: str | None = None,
        category: Category | None = None,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[DirectoryAccount]:
        query = _Query.parse(text)
        by_category = self._category_filter(category)
        if query is None or limit <= 0 or by_category is None:
            return []
        uai = uai.strip().upper() if uai is not None else None
        parts = [self.mapping.person_filter, query.server_filter(self.mapping, uai is not None)]
        if uai is not None:
            parts.append(self._establishment_filter(uai))
        parts.append(by_category)
        fetch = min(max(limit * SEARCH_FETCH_FACTOR, 50), SEARCH_FETCH_MAX)
        if self.settings.size_limit:
            fetch = min(fetch, self.settings.size_limit)
        entries = self._search(
            _all_of(parts),
            self.mapping.attributes(),
            what=f"searching for {text!r}",
            size_limit=fetch,
            time_limit=self.settings.time_limit or DEFAULT_SEARCH_TIME_LIMIT,
            truncate=True,
        )
        found = [
            a for a in self._accounts(entries) if self._keep(a, uai, category) and query.matches(a)
        ]
        found.sort(key=_sort_key(" ".join(normalise_name(query.text).split())))
        return found[:limit]

    # -- writing ------------------------------------------------------------------------------

    def apply(self, changes: Sequence[IdentifierChange]) -> list[ChangeOutcome]:
        return _WriteBatch(self, list(changes)).run()

    # -- what setup and `config check` ask ------------------------------------------------------

    def identifier_field(self) -> str:
        return self.mapping.identifier_attribute

    def census(self, limit: int) -> Census:
        """Accounts per profile and establishment, read as cheaply as the server allows.

        One paged search per base for the person entries asks only for the profile
        and establishment attributes (each attribute read costs about a second per
        100,000 entries in ldap3), counted page by page, never kept. The entries
        idpronote cannot use (no login, no surname) are found first by a search of
        their own, usually empty, and counted apart. A size, time or administrative
        limit stops the count without error (`capped`). Then structure DNs are
        resolved to UAIs, and a sample is looked for with a few small searches.
        """
        mapping = self.mapping
        attributes = list(
            dict.fromkeys(a for a in (mapping.attribute("profil"), mapping.attribute("uai")) if a)
        )
        bases = self.settings.bases
        tally = _Tally(mapping, keep_keys=len(bases) > 1)
        remaining = max(limit, 0)
        for base in bases:
            if remaining <= 0:
                tally.capped = True
                break
            size_limit = remaining
            if self.settings.size_limit:
                size_limit = min(size_limit, self.settings.size_limit)
            unusable = self._scan(
                base,
                _all_of([mapping.person_filter, self._unusable_filter()]),
                [mapping.attribute("login"), mapping.attribute("nom")],
                size_limit,
                f"looking for unusable entries under {base}",
                lambda: _Unusable(self.mapping),
            )
            part = self._scan(
                base,
                mapping.person_filter,
                attributes,
                size_limit,
                f"counting the accounts under {base}",
                lambda unusable=unusable: _Tally(
                    mapping, earlier=tally.keys, unusable=unusable.reasons
                ),
            )
            if part.capped and size_limit == remaining and part.returned >= remaining:
                part.stopped = ""  # the census's own limit, not the server's
            if unusable.capped:
                part.capped, part.stopped = True, part.stopped or unusable.stopped
            tally.merge(part)
            remaining = max(limit, 0) - tally.seen
        return self._census_result(tally)

    def _unusable_filter(self) -> str:
        """Entries `to_account` refuses: no login, or no surname."""
        login, surname = self.mapping.attribute("login"), self.mapping.attribute("nom")
        return f"(|(!({login}=*))(!({surname}=*)))"

    def _scan(
        self,
        base: str,
        search_filter: str,
        attributes: list[str],
        size_limit: int,
        what: str,
        start: Callable[[], _ScanT],
    ) -> _ScanT:
        """A paged search whose entries go to a `_Scan` as they come; a limit stops it
        without error (`capped`). A search retried on a new connection starts afresh."""

        def run(connection: ldap3.Connection) -> _ScanT:
            scan = start()
            cookie = None
            while True:
                connection.search(
                    base,
                    search_filter,
                    search_scope=ldap3.SUBTREE,
                    attributes=attributes or ["1.1"],
                    size_limit=size_limit,
                    time_limit=self.settings.time_limit,
                    paged_size=self.settings.page_size,
                    paged_cookie=cookie,
                )
                result = connection.result or {}
                for response in connection.response or ():
                    if response.get("type") == "searchResEntry":
                        scan.returned += 1
                        scan.add(response)
                code = result.get("result")
                if code in (_SIZE_LIMIT, _TIME_LIMIT, _ADMIN_LIMIT):
                    scan.capped, scan.stopped = True, _server_words(result)
                    return scan
                if code != _SUCCESS:
                    self._search_failed(result, base, what, scan.seen, False)
                    return scan
                controls = result.get("controls") or {}
                paged = controls.get("1.2.840.113556.1.4.319") or {}
                cookie = (paged.get("value") or {}).get("cookie")
                if not cookie:
                    return scan

        return self._run(run, what)

    def _census_result(self, tally: _Tally) -> Census:
        census = Census(total=tally.total, capped=tally.capped)
        census.profiles = spread(tally.profiles)
        resolved = self._resolve_establishments(tally.places)
        unresolved: list[str] = []
        places: Counter[tuple[str, ...]] = Counter()
        for raw, count in tally.places.items():
            uais = []
            for value in raw:
                uai = resolved.get(value)
                if uai is None:
                    uai = value.strip()
                    if uai not in unresolved:
                        unresolved.append(uai)
                uais.append(uai)
            places[tuple(uais)] += count
        census.establishments = spread(places)
        problems = census.problems
        login, surname = self.mapping.attribute("login"), self.mapping.attribute("nom")
        entries = ("entry", "entries")
        if tally.without_login:
            problems.append(skipped(tally.without_login, entries, login))
        if tally.without_surname:
            problems.append(skipped(tally.without_surname, entries, surname))
        if unresolved:
            problems.append(
                f"{counted(len(unresolved), 'establishment names', 'establishments name')} "
                f"no entry with {self.mapping.preset.structure_uai} (counted under its DN), "
                f"e.g. {unresolved[0]}"
            )
        if tally.stopped:
            who = self.credentials.bind_dn or "anonymous"
            problems.append(
                f"the server stopped the count after {tally.seen} entries ({tally.stopped}): "
                f"raise [directory.ldap] size_limit or time_limit, or ask the directory admin "
                f"to lift the server's limits for {who}"
            )
        if tally.total:
            census.sample = self._sample()
        return census

    def _sample(self) -> DirectoryAccount | None:
        """An account showing every field the import relies on, if there is one.

        Small searches, best first: profiles of a category, an establishment and a
        birth date; then without the date; without the establishment; any account.
        The account is then read whole by its login (`get`: never one of two
        entries sharing a login).
        """
        mapping = self.mapping
        present = [f"({mapping.attribute(name)}=*)" for name in ("login", "nom")]
        values = [v for category in CATEGORIES for v in self.profiles.profiles_of(category)]
        profile = mapping.attribute("profil")
        categorised = _any_of(_equals(profile, v) for v in values) if profile else ""
        place, born = mapping.attribute("uai"), mapping.attribute("date_naissance")
        tiers = []
        if categorised and place:
            if born:
                tiers.append(([categorised, f"({place}=*)", f"({born}=*)"], BEST_SAMPLE))
            tiers.append(([categorised, f"({place}=*)"], 2))
        if categorised:
            tiers.append(([categorised], 1))
        tiers.append(([], 0))
        for parts, rank in tiers:
            entries = self._search(
                _all_of([mapping.person_filter, *present, *parts]),
                [mapping.attribute("login")],
                what="looking for a sample account",
                size_limit=SAMPLE_CANDIDATES,
                time_limit=self.settings.time_limit or DEFAULT_SEARCH_TIME_LIMIT,
                truncate=True,
            )
            for entry in entries:
                login = next(iter(entry.values(mapping.attribute("login"))), "").strip()
                account = self.get(login) if login else None
                if account is not None and sample_rank(account, self.profiles) >= rank:
                    return account
        return None

    def _resolve_establishments(self, places: Mapping[tuple[str, ...], int]) -> dict[str, str]:
        """Raw establishment value -> UAI; structure DNs no entry resolves are left out."""
        values = list(dict.fromkeys(value for raw in places for value in raw))
        dns = [value for value in values if is_dn(value)]
        if len(dns) > WRITERS:
            # Many structures (an academy's directory): read a few at once.
            with ThreadPoolExecutor(WRITERS, thread_name_prefix="ldap-census") as pool:
                uais = list(pool.map(self._structure_uai, dns))
        else:
            uais = [self._structure_uai(dn) for dn in dns]
        resolved = {dn: uai for dn, uai in zip(dns, uais, strict=True) if uai}
        for value in values:
            if not is_dn(value) and value.strip():
                resolved[value] = value.strip().upper()
        return resolved

    def write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """May the bind account write the identifier attribute? Asked of the server on
        `account`'s entry, harmlessly: a modify that deletes a value the entry does not
        hold changes nothing, and the server's refusal says why (RFC 4511):
        noSuchAttribute, allowed; insufficientAccessRights, not allowed;
        undefinedAttributeType, the schema lacks the attribute. When the mapping adds
        an auxiliary class the entry lacks, deleting that class too (in the same atomic
        request as the absent value, so nothing can change) checks the right on
        objectClass."""
        attribute = self.mapping.identifier_attribute
        if account is None or not account.dn:
            return WriteCheck(
                NOT_CHECKED, attribute, "no account was found to check the write access on"
            )
        dn = account.dn
        entries = self._search(
            "(objectClass=*)",
            [attribute, "objectClass"],
            what=f"reading {dn} before the write check",
            bases=[dn],
            scope=ldap3.BASE,
            size_limit=0,
        )
        if not entries:
            return WriteCheck(NOT_CHECKED, attribute, f"the entry {dn} could not be read", dn)
        entry = entries[0]
        value = self._absent_value(entry.values(attribute))
        result = self._check_modify(dn, {attribute: [(ldap3.MODIFY_DELETE, [value])]})
        check = self._write_verdict(result, attribute, dn)
        object_class = self.mapping.object_class
        classes = {c.casefold() for c in entry.values("objectClass")}
        if check.status != WRITABLE or not object_class or object_class.casefold() in classes:
            return check
        # Atomic: if the entry had gained the class meanwhile, deleting the absent value
        # still fails, and the whole request with it.
        result = self._check_modify(
            dn,
            {
                "objectClass": [(ldap3.MODIFY_DELETE, [object_class])],
                attribute: [(ldap3.MODIFY_DELETE, [value])],
            },
        )
        code = result.get("result")
        who = self.credentials.bind_dn or "anonymous"
        if code in (_NO_SUCH_ATTRIBUTE, _SUCCESS):
            return WriteCheck(
                WRITABLE,
                attribute,
                f"{who} may write {attribute}, and objectClass to add {object_class} "
                f"(checked on {dn}; nothing was changed)",
                dn,
            )
        if code == _INSUFFICIENT_ACCESS:
            return WriteCheck(
                READ_ONLY,
                attribute,
                f"{who} may write {attribute} but not objectClass, which it must to add "
                f"{object_class} to entries that lack it (as {dn}); ask for write access to "
                f'objectClass, or set [directory.identifier] object_class = "" if the '
                "entries allow the attribute already",
                dn,
            )
        words = self.credentials.scrub(_server_words(result))
        return WriteCheck(
            FAILED,
            attribute,
            f"the server refused the objectClass check on {dn}: {words}",
            dn,
        )

    def _absent_value(self, stored: Iterable[str]) -> str:
        """A value of the identifier form that the entry does not hold."""
        held = {value.casefold() for value in stored}
        for n in range(100):
            idpn = CHECK_IDPN[:-2] + f"{n:02d}"
            value = self.form.format(CHECK_UAI, idpn)
            if value.casefold() not in held:
                return value
        raise DirectoryError("the entry holds every value the write check could use")

    def _check_modify(self, dn: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        def run(connection: ldap3.Connection) -> dict[str, Any]:
            connection.modify(dn, dict(changes))
            return dict(connection.result or {})

        return self._run(run, f"checking the write access on {dn}")

    def _write_verdict(self, result: Mapping[str, Any], attribute: str, dn: str) -> WriteCheck:
        code = result.get("result")
        who = self.credentials.bind_dn or "anonymous"
        words = self.credentials.scrub(_server_words(result))
        if code in (_NO_SUCH_ATTRIBUTE, _SUCCESS):
            return WriteCheck(
                WRITABLE,
                attribute,
                f"{who} may write {attribute} (checked on {dn}; nothing was changed)",
                dn,
            )
        if code == _INSUFFICIENT_ACCESS:
            return WriteCheck(
                READ_ONLY,
                attribute,
                f"{who} may not write {attribute} on {dn}: insufficient access",
                dn,
            )
        if code in (_STRONGER_AUTH_REQUIRED, _CONFIDENTIALITY_REQUIRED):
            fix = (
                "set [directory.ldap] bind_dn to an account allowed to write"
                if self.credentials.anonymous
                else "use ldaps:// or start_tls = true"
            )
            return WriteCheck(
                READ_ONLY,
                attribute,
                f"{who} may not write {attribute} on {dn}: {words}; {fix}",
                dn,
            )
        if code == _REFERRAL:
            return WriteCheck(
                READ_ONLY,
                attribute,
                f"{self._connections.last_url} sent the write elsewhere (a referral: a "
                "read-only replica); point [directory.ldap] url at the server that takes writes",
                dn,
            )
        if code == _UNDEFINED_TYPE:
            return WriteCheck(
                UNKNOWN_ATTRIBUTE,
                attribute,
                f"the server does not know the attribute {attribute} ({words}); load "
                "idpronote's schema (directory_adapters/schema/README.md) or map another "
                "attribute in [directory.identifier]",
                dn,
            )
        return WriteCheck(
            FAILED, attribute, f"the server refused the write check on {dn}: {words}", dn
        )


# -- census ------------------------------------------------------------------------------------


class _Scan:
    """What a paged scan collects (see `LdapDirectory._scan`)."""

    def __init__(self) -> None:
        self.returned = 0  # entries the server sent
        self.seen = 0  # entries read (an entry sent twice, under two bases, is read once)
        self.capped = False
        self.stopped = ""  # the server's words when one of its limits stopped the scan

    def add(self, response: Mapping[str, Any]) -> None:
        raise NotImplementedError


_ScanT = TypeVar("_ScanT", bound=_Scan)


class _Unusable(_Scan):
    """The person entries `to_account` would refuse: DN key -> "login" or "nom"."""

    def __init__(self, mapping: AttributeMapping) -> None:
        super().__init__()
        self.login = mapping.attribute("login").lower()
        self.reasons: dict[str, str] = {}

    def add(self, response: Mapping[str, Any]) -> None:
        self.seen += 1
        entry = _entry(response)
        login = any(v.strip() for v in entry.values(self.login))
        self.reasons[_dn_key(entry.dn)] = "nom" if login else "login"


class _Tally(_Scan):
    """A census in progress: accounts per combination of raw profile values, and per
    combination of raw establishment values, read straight from ldap3's responses."""

    def __init__(
        self,
        mapping: AttributeMapping,
        *,
        earlier: set[str] | None = None,
        unusable: Mapping[str, str] | None = None,
        keep_keys: bool = False,
    ) -> None:
        """`earlier`: DN keys counted under other bases; `unusable`: DN key -> why."""
        super().__init__()
        self.total = 0  # accounts counted
        self.without_login = 0
        self.without_surname = 0
        self.profiles: Counter[tuple[str, ...]] = Counter()
        self.places: Counter[tuple[str, ...]] = Counter()
        # DN keys of the entries counted, when several bases may return one entry twice
        self.keys: set[str] | None = set() if keep_keys or earlier is not None else None
        self.earlier = earlier or set()
        self.unusable = unusable or {}
        self._attributes = {
            name: mapping.attribute(name).lower()
            for name in ("profil", "uai")
            if mapping.attribute(name)
        }
        # attribute as the server spells it -> the fields it holds
        self._fields: dict[str, tuple[str, ...]] = {}

    def add(self, response: Mapping[str, Any]) -> None:
        if self.keys is not None or self.unusable:
            key = _dn_key(response["dn"])
            if self.keys is not None:
                if key in self.keys or key in self.earlier:
                    return
                self.keys.add(key)
            reason = self.unusable.get(key)
            if reason is not None:
                self.seen += 1
                if reason == "login":
                    self.without_login += 1
                else:
                    self.without_surname += 1
                return
        self.seen += 1
        self.total += 1
        profiles: tuple[str, ...] = ()
        places: tuple[str, ...] = ()
        for name, raw in response["raw_attributes"].items():
            fields = self._fields.get(name)
            if fields is None:
                lower = name.lower()
                fields = self._fields[name] = tuple(
                    field for field, attribute in self._attributes.items() if attribute == lower
                )
            if not fields:
                continue
            values = tuple(
                text
                for text in (
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in raw
                )
                if text.strip()
            )
            if "profil" in fields:
                profiles += values
            if "uai" in fields:
                places += values
        self.profiles[profiles] += 1
        self.places[places] += 1

    def merge(self, other: _Tally) -> None:
        """Add a base's tally (counted after this one's) to this one."""
        self.seen += other.seen
        self.total += other.total
        self.capped = self.capped or other.capped
        self.stopped = self.stopped or other.stopped
        self.without_login += other.without_login
        self.without_surname += other.without_surname
        self.profiles.update(other.profiles)
        self.places.update(other.places)
        if self.keys is not None and other.keys is not None:
            self.keys |= other.keys


# -- writing, in rounds -----------------------------------------------------------------------


@dataclass
class _Write:
    """One modify request, and what became of it."""

    index: int  # the change's position in the batch
    change: IdentifierChange
    dn: str
    login: str
    delete: tuple[str, ...]  # exactly the stored values this establishment owns
    add: str | None
    add_class: str | None
    # "unsent", "confirmed" (the server said yes), "refused" (it said no),
    # "unconfirmed" (sent; the answer never came)
    state: str = "unsent"
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def modification(self, attribute: str) -> dict[str, list[tuple[str, list[str]]]]:
        # Never MODIFY_REPLACE: the attribute is shared with other establishments
        # and other tools. Delete what this establishment owns, add the new value.
        operations = []
        if self.delete:
            operations.append((ldap3.MODIFY_DELETE, list(self.delete)))
        if self.add is not None:
            operations.append((ldap3.MODIFY_ADD, [self.add]))
        changes = {attribute: operations}
        if self.add_class:
            changes = {"objectClass": [(ldap3.MODIFY_ADD, [self.add_class])], **changes}
        return changes

    @property
    def target(self) -> set[str]:
        return set() if self.change.idpn is None else {self.change.idpn}


class _WriteBatch:
    """`LdapDirectory.apply`: rounds of independent changes, each read back before the next.

    A round stops before a change that depends on an earlier change of the
    same round (same entry, or the same identifier freed or taken): that one
    is decided in the next round, against what the server then says.
    """

    def __init__(self, directory: LdapDirectory, changes: list[IdentifierChange]) -> None:
        self.directory = directory
        self.changes = changes
        self.outcomes: list[ChangeOutcome | None] = [None] * len(changes)
        self.attribute = directory.mapping.identifier_attribute
        self.form = directory.form
        self.answered = 0

    def run(self) -> list[ChangeOutcome]:
        pending = list(range(len(self.changes)))
        try:
            while pending:
                consumed, writes = self._plan(pending[:ROUND])
                pending = pending[consumed:]
                if writes:
                    self._settle(writes, self._send(writes))
        except DirectoryError as error:
            for i, change in enumerate(self.changes):
                if self.outcomes[i] is None:
                    self.outcomes[i] = _failure(
                        change, "error", f"not attempted: {error}; run the same import again"
                    )
        return [outcome for outcome in self.outcomes if outcome is not None]

    # -- reading what is there -------------------------------------------------------------

    def _by_login(self, logins: Iterable[str]) -> dict[str, list[_Entry]]:
        mapping = self.directory.mapping
        login_attribute = mapping.attribute("login")
        wanted = list(dict.fromkeys(login.strip() for login in logins if login.strip()))
        found: dict[str, list[_Entry]] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            search_filter = _all_of(
                [mapping.person_filter, _any_of(_equals(login_attribute, x) for x in chunk)]
            )
            for entry in self.directory._search(
                search_filter,
                [login_attribute, self.attribute, "objectClass"],
                what="reading the accounts to write",
                size_limit=0,
            ):
                for login in entry.values(login_attribute):
                    found.setdefault(login.strip().casefold(), []).append(entry)
        return found

    def _holders(self, values: Iterable[str]) -> dict[str, list[_Entry]]:
        login_attribute = self.directory.mapping.attribute("login")
        wanted = list(dict.fromkeys(values))
        found: dict[str, list[_Entry]] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            chunk = wanted[start : start + LOOKUP_CHUNK]
            for entry in self.directory._search(
                _any_of(_equals(self.attribute, value) for value in chunk),
                [login_attribute, self.attribute],
                what="checking that the identifiers are free",
                size_limit=0,
            ):
                for value in entry.values(self.attribute):
                    found.setdefault(value.casefold(), []).append(entry)
        return found

    # -- deciding ------------------------------------------------------------------------------

    def _value(self, change: IdentifierChange) -> str | None:
        if change.idpn is None:
            return None
        return self.form.format(change.uai.strip().upper(), change.idpn)

    def _plan(self, indices: list[int]) -> tuple[int, list[_Write]]:
        """Decide a round: (how many changes it took, the writes to send)."""
        changes = [self.changes[i] for i in indices]
        entries = self._by_login(change.login for change in changes)
        values = [v for v in map(self._value, changes) if v is not None]
        holders = self._holders(values) if values else {}
        touched: set[str] = set()  # entries, and identifier values, this round moves
        writes: list[_Write] = []
        for position, (i, change) in enumerate(zip(indices, changes, strict=True)):
            found = entries.get(change.login.strip().casefold(), [])
            if len(found) != 1:
                self.outcomes[i] = self._missing(change, found)
                continue
            entry = found[0]
            value = self._value(change)
            if _dn_key(entry.dn) in touched or (value is not None and value.casefold() in touched):
                return position, writes  # depends on this round: decided in the next
            write = self._decide(i, change, entry, value, holders)
            if write is not None:
                writes.append(write)
                touched.add(_dn_key(entry.dn))
                touched.update(v.casefold() for v in (*write.delete, write.add) if v)
        return len(indices), writes

    def _decide(
        self,
        i: int,
        change: IdentifierChange,
        entry: _Entry,
        value: str | None,
        holders: Mapping[str, list[_Entry]],
    ) -> _Write | None:
        stored = entry.values(self.attribute)
        uai = change.uai.strip().upper()
        login_attribute = self.directory.mapping.attribute("login")
        others = []
        if value is not None and change.idpn is not None:
            for holder in holders.get(value.casefold(), []):
                if _dn_key(holder.dn) == _dn_key(entry.dn):
                    continue
                if change.idpn in self.form.idpns_for(holder.values(self.attribute), uai):
                    others.append(next(iter(holder.values(login_attribute)), holder.dn))
        planned, outcome = plan_change(self.form, stored, change, others)
        if outcome is not None or planned is None:
            self.outcomes[i] = outcome or _failure(change, "error", "nothing to write")
            return None
        object_class = self.directory.mapping.object_class
        classes = {c.casefold() for c in entry.values("objectClass")}
        missing_class = (
            value is not None and object_class and object_class.casefold() not in classes
        )
        return _Write(
            index=i,
            change=change,
            dn=entry.dn,
            login=next(iter(entry.values(login_attribute)), change.login),
            delete=tuple(v for v in stored if self.form.owns(v, uai)),
            add=value,
            add_class=object_class if missing_class else None,
        )

    def _missing(self, change: IdentifierChange, found: list[_Entry]) -> ChangeOutcome:
        if not found:
            return not_found(change)
        dns = "; ".join(entry.dn for entry in found)
        return _failure(
            change,
            "not_found",
            f"several entries have the login {change.login!r} ({dns}); "
            "nothing written, the directory must be fixed first",
        )

    # -- sending -------------------------------------------------------------------------------

    def _send(self, writes: list[_Write]) -> str:
        """Send a round's writes on a few connections at once; why the link broke, or ""."""
        broken = threading.Event()
        why: list[str] = []

        def send(write: _Write) -> None:
            if broken.is_set():
                write.error = f"the connection broke earlier in the batch: {why[0]}"
                return
            try:
                with self.directory._connections.lend() as connection:
                    accepted = connection.modify(write.dn, write.modification(self.attribute))
                    write.result = dict(connection.result or {})
                    write.state = "confirmed" if accepted else "refused"
            except DirectoryError as error:  # could not even connect: not sent
                write.error = str(error)
                why.append(write.error)
                broken.set()
            except ldap_errors.LDAPSocketSendError as error:  # a request never sent whole
                write.error = self.directory.credentials.scrub(_short(str(error)))
                why.append(write.error)
                broken.set()
            except Exception as error:  # sent, or maybe: the read-back will tell
                write.state = "unconfirmed"
                write.error = self.directory.credentials.scrub(_short(str(error)))
                why.append(write.error)
                broken.set()

        with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="ldap-write") as pool:
            for _ in pool.map(send, writes):
                self.answered += 1
                if self.directory.progress is not None:
                    self.directory.progress(self.answered, len(self.changes))
        return why[0] if why else ""

    # -- reading back and reporting -----------------------------------------------------------

    def _settle(self, writes: list[_Write], broken: str) -> None:
        """One outcome per write, from what the server shows now."""
        sent = [w for w in writes if w.state in ("confirmed", "unconfirmed")]
        after: dict[str, list[_Entry]] | None = None
        lost: DirectoryError | None = None
        try:
            after = self._by_login(w.login for w in sent) if sent else {}
        except DirectoryError as error:
            lost = error
        for write in writes:
            self.outcomes[write.index] = self._outcome(write, after, lost)
        if broken and lost is not None:
            raise lost  # the server is gone: the rest of the batch waits for a retry

    def _outcome(
        self,
        write: _Write,
        after: Mapping[str, list[_Entry]] | None,
        lost: DirectoryError | None,
    ) -> ChangeOutcome:
        change = write.change
        if write.state == "unsent":
            return _failure(change, "error", f"not sent ({write.error}); nothing written")
        if write.state == "refused":
            return self._refusal(write)
        if after is None:
            said = "the server confirmed it" if write.state == "confirmed" else "no answer came"
            return _failure(
                change,
                "unconfirmed",
                f"sent ({said}) but it could not be read back: {lost}; run the same import "
                "again, it reports the changes already made as such",
            )
        entry = next(
            (
                e
                for e in after.get(write.login.casefold(), [])
                if _dn_key(e.dn) == _dn_key(write.dn)
            ),
            None,
        )
        shown = (
            None
            if entry is None
            else set(self.form.idpns_for(entry.values(self.attribute), change.uai))
        )
        if shown == write.target:
            if write.state == "unconfirmed":
                return ChangeOutcome(
                    change, applied=True, reason="the server's answer was lost; read back: written"
                )
            return ChangeOutcome(change, applied=True)
        if write.state == "unconfirmed":
            return _failure(
                change,
                "error",
                f"not written: the connection broke before an answer ({write.error})",
            )
        found = ", ".join(sorted(shown or ())) or "nothing"
        return _failure(
            change,
            "changed",
            f"the server accepted the write, but {write.login} now stores {found} for "
            f"{change.uai}: changed by someone else meanwhile; match again",
        )

    def _refusal(self, write: _Write) -> ChangeOutcome:
        change, result = write.change, write.result
        code = result.get("result")
        words = _server_words(result)
        if code in (_NO_SUCH_ATTRIBUTE, _VALUE_EXISTS):
            return _failure(
                change,
                "changed",
                f"the identifiers of {write.login} changed while writing ({words}); match again",
            )
        if code == _NO_SUCH_OBJECT:
            return _failure(change, "not_found", f"the entry {write.dn} no longer exists")
        who = self.directory.credentials.bind_dn or "anonymous"
        if code == _INSUFFICIENT_ACCESS:
            return _failure(
                change,
                "error",
                f"insufficient access: {who} may not write {self.attribute} on {write.dn}; "
                f"the directory admin must grant it write access to {self.attribute}"
                + (" and objectClass" if write.add_class else ""),
            )
        if code == _OBJECT_CLASS_VIOLATION:
            return _failure(
                change,
                "error",
                f"the object classes of {write.dn} do not allow {self.attribute} ({words}); "
                "set [directory.identifier] object_class (e.g. entPronoteAccount) in config.toml",
            )
        if code in (_UNDEFINED_TYPE, _INVALID_SYNTAX):
            unknown = self.attribute + (f" or {write.add_class}" if write.add_class else "")
            return _failure(
                change,
                "error",
                f"the server does not accept {unknown} on {write.dn} ({words}); load "
                "idpronote's schema (directory_adapters/schema/README.md) or map another one",
            )
        return _failure(change, "error", f"the server refused to write {write.dn}: {words}")


def _failure(change: IdentifierChange, kind: str, reason: str) -> ChangeOutcome:
    return ChangeOutcome(change, applied=False, failure=kind, reason=reason)
