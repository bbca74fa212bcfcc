"""`[directory.ldap]`, checked, with its defaults, and the LDAP adapter's limits.

`LdapSettings` is what config.toml asks of the connection (URLs, bases,
TLS, timeouts, the provider of a replicated directory, the lock entries'
base and lease); the constants below bound what the adapter asks of the
server at once. connection.py opens connections from these settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import ConfigError
from core.i18n import register, t

register(
    {
        "dir.ldap_connection.url_required": (
            '[directory.ldap] url est obligatoire, par ex. url = "ldaps://ldap.example.org"',
            '[directory.ldap] url is required, e.g. url = "ldaps://ldap.example.org"',
        ),
        "dir.ldap_connection.base_required": (
            "[directory.ldap] base_dn est obligatoire, par ex. "
            'base_dn = "ou=people,dc=example,dc=org"',
            '[directory.ldap] base_dn is required, e.g. base_dn = "ou=people,dc=example,dc=org"',
        ),
        "dir.ldap_connection.start_tls_with_ldaps": (
            "[directory.ldap] start_tls = true avec une url ldaps:// : ldaps est déjà "
            "chiffré ; utilisez ldap:// avec start_tls, ou ldaps:// sans",
            "[directory.ldap] start_tls = true with an ldaps:// url: ldaps is already "
            "encrypted; use ldap:// with start_tls, or ldaps:// without it",
        ),
        "dir.ldap_connection.number": (
            "[directory.ldap] {key} doit être un nombre >= {minimum}",
            "[directory.ldap] {key} must be a number >= {minimum}",
        ),
        "dir.ldap_connection.url_invalid": (
            "[directory.ldap] url {url!r} : {error}",
            "[directory.ldap] url {url!r}: {error}",
        ),
        "dir.ldap_connection.not_ldap_url": (
            "[directory.ldap] url {url!r} n'est pas une URL LDAP ; "
            'attendu : "ldap://hôte[:port]" ou "ldaps://hôte[:port]"',
            "[directory.ldap] url {url!r} is not an LDAP URL; "
            'expected "ldap://host[:port]" or "ldaps://host[:port]"',
        ),
        "dir.ldap_connection.url_with_path": (
            "[directory.ldap] url {url!r} : seul le serveur va ici ; "
            "mettez la base de recherche dans base_dn",
            "[directory.ldap] url {url!r}: only the server goes here; "
            "put the search base in base_dn",
        ),
    }
)

# Seconds: the longest idpronote waits for the server, to connect and for every
# answer (bind, each page of a search, each write). `receive_timeout`, when set,
# overrides it for the answers only.
DEFAULT_TIMEOUT = 10
DEFAULT_PAGE_SIZE = 500
# Seconds a directory lock entry is held without renewal (its lease): a crashed
# holder blocks its establishment this long at most.
DEFAULT_LOCK_LEASE = 300
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
# Connections kept open for reuse, and threads reading structures at once.
WRITERS = 8
# Changes per write round (read first, written, read back): a round is the
# unit that is fully reported when the server dies.
ROUND = 100
# Logins or values per OR filter when reading many entries.
LOOKUP_CHUNK = 50
# Requests in flight at once on one connection (a write round's modifies, its
# searches): enough to keep the server busy, bounded so that a round's
# unanswered writes, if the link breaks, stay few.
IN_FLIGHT = 100
# Entries a sample search asks for (the first that reads back whole wins).
SAMPLE_CANDIDATES = 5
# The identifier a write check deletes: no entry holds it (16 upper-case letters and
# digits, like a real one, so that the server's syntax accepts it), and deleting a
# value an entry does not hold changes nothing.
CHECK_IDPN = "IDPRONOTECHECK00"
CHECK_UAI = "0000000A"


@dataclass(frozen=True)
class LdapSettings:
    """`[directory.ldap]`, checked and with its defaults."""

    urls: tuple[str, ...]
    bases: tuple[str, ...]
    start_tls: bool = False
    ca_file: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    # Whole seconds: ldap3 sets it with SO_RCVTIMEO, which takes an integer.
    # By default `timeout`: a hung server is given up on after the one delay
    # the admin configured, not after 30 s per operation.
    receive_timeout: int = DEFAULT_TIMEOUT
    page_size: int = DEFAULT_PAGE_SIZE
    size_limit: int = 0
    time_limit: int = 0
    # The provider of a replicated directory: writes, and the reads right after them,
    # go there; `urls` are then the consumers (reads), the provider their last resort.
    write_url: str | None = None
    # Where the directory's lock entries live (one per establishment); "" : none,
    # only the local lock (directory_adapters/ldap/lock.py).
    lock_base: str = ""
    lock_lease: float = DEFAULT_LOCK_LEASE

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> LdapSettings:
        urls = _strings(raw.get("url"))
        if not urls:
            raise ConfigError(t("dir.ldap_connection.url_required"))
        for url in urls:
            _parse_url(url)
        bases = _strings(raw.get("base_dn"))
        if not bases:
            raise ConfigError(t("dir.ldap_connection.base_required"))
        write_url = (_strings(raw.get("write_url")) or (None,))[0]
        if write_url is not None:
            _parse_url(write_url)
        start_tls = bool(raw.get("start_tls", False))
        every_url = (*urls, write_url) if write_url else urls
        if start_tls and any(url.lower().startswith("ldaps:") for url in every_url):
            raise ConfigError(t("dir.ldap_connection.start_tls_with_ldaps"))
        ca_file = Path(str(raw["ca_file"])).expanduser() if raw.get("ca_file") else None
        numbers = {}
        for key, default, minimum in (
            ("timeout", DEFAULT_TIMEOUT, 0.1),
            ("receive_timeout", raw.get("timeout", DEFAULT_TIMEOUT), 0.1),
            ("page_size", DEFAULT_PAGE_SIZE, 1),
            ("size_limit", 0, 0),
            ("time_limit", 0, 0),
            ("lock_lease", DEFAULT_LOCK_LEASE, 1),
        ):
            value = raw.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
                raise ConfigError(t("dir.ldap_connection.number", key=key, minimum=minimum))
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
            write_url=write_url,
            lock_base=str(raw.get("lock_base") or "").strip(),
            lock_lease=float(numbers["lock_lease"]),
        )

    @property
    def read_urls(self) -> tuple[str, ...]:
        """Where reads go, in turn: the consumers, then the provider as a last resort."""
        if self.write_url is None:
            return self.urls
        return tuple(dict.fromkeys((*self.urls, self.write_url)))

    @property
    def encrypted(self) -> bool:
        every = (*self.urls, self.write_url) if self.write_url else self.urls
        return self.start_tls or all(url.lower().startswith("ldaps:") for url in every)


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
        raise ConfigError(t("dir.ldap_connection.url_invalid", url=url, error=error)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("ldap", "ldaps") or not parts.hostname:
        raise ConfigError(t("dir.ldap_connection.not_ldap_url", url=url))
    if parts.path not in ("", "/") or parts.query:
        raise ConfigError(t("dir.ldap_connection.url_with_path", url=url))
    secure = scheme == "ldaps"
    return parts.hostname, port or (636 if secure else 389), secure
