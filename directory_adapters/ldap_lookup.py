"""What a write round reads first: its accounts by login, and who holds its identifiers.

Both in as few searches as the person filter allows. When that filter only
names object classes (`(objectClass=ENTPerson)`, as every preset's does),
one search per chunk asks for both, `(|(&person(|(uid=a)...))(|(idPronote=v)
...)))`, and each entry returned is sorted out here: an entry showing the
classes surely matches the filter on the server; one that does not (it may
still match, through a subclass) is asked of the server again. Any other
filter gets its own login searches. The filters are built in BER
(`ldap_wire`), the values sent as bytes: nothing to escape, nothing parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ldap3.operation.search import compile_filter, parse_filter
from ldap3.utils.asn1 import encode

from core.i18n import register, t
from directory_adapters import ldap_wire
from directory_adapters.ldap_connection import _SUCCESS, IN_FLIGHT, LOOKUP_CHUNK
from directory_adapters.ldap_query import _dn_key, _Entry

if TYPE_CHECKING:  # the adapter drives a lookup; a lookup never imports the adapter
    from directory_adapters.ldap import LdapDirectory

register(
    {
        "dir.ldap_lookup.what": (
            "en lisant les comptes à écrire",
            "reading the accounts to write",
        ),
    }
)

_CLASS = r"\(objectClass=([^()*\\=]+)\)"


@dataclass
class Reading:
    """A lookup's searches, before they are sent: filters, what each looks for."""

    filters: list[bytes]
    kinds: list[str]  # per filter: "login", "value" or "both"
    logins: set[str]  # casefolded logins wanted
    values: set[str]  # casefolded values wanted


@dataclass
class Found:
    """casefolded login -> its person entries; casefolded value -> the entries holding it."""

    by_login: dict[str, list[_Entry]]
    holders: dict[str, list[_Entry]]


class Lookup:
    """Reads accounts and holders for `_WriteBatch`, through `ldap_wire` searches."""

    def __init__(self, directory: LdapDirectory) -> None:
        self.directory = directory
        mapping = directory.mapping
        self.login_attribute = mapping.attribute("login")
        self.attribute = mapping.identifier_attribute
        self.attributes = [self.login_attribute, self.attribute, "objectClass"]
        self.person = _compiled(mapping.person_filter)
        self.person_classes = _object_classes(mapping.person_filter)

    def read(self, logins: Iterable[str], values: Iterable[str] = ()) -> Found:
        """The entries of these logins and the holders of these values, now."""
        reading = self.prepare(logins, values)
        return self.sort(reading, self.search(reading.filters))

    def prepare(self, logins: Iterable[str], values: Iterable[str] = ()) -> Reading:
        wanted = list(dict.fromkeys(login.strip() for login in logins if login.strip()))
        wanted_values = list(dict.fromkeys(values))
        login_chunks = list(_chunks(wanted, LOOKUP_CHUNK))
        value_chunks = list(_chunks(wanted_values, LOOKUP_CHUNK))
        searches: list[tuple[bytes, str]] = []
        if self.person_classes is not None:
            for n in range(max(len(login_chunks), len(value_chunks))):
                parts = [(self._by_login(c), "login") for c in login_chunks[n : n + 1]]
                parts += [(self._holding(c), "value") for c in value_chunks[n : n + 1]]
                merged = ldap_wire.any_of([search_filter for search_filter, _ in parts])
                searches.append((merged, parts[0][1] if len(parts) == 1 else "both"))
        else:
            searches += [(self._by_login(chunk), "login") for chunk in login_chunks]
            searches += [(self._holding(chunk), "value") for chunk in value_chunks]
        return Reading(
            [search_filter for search_filter, _ in searches],
            [kind for _, kind in searches],
            {login.casefold() for login in wanted},
            {value.casefold() for value in wanted_values},
        )

    def sort(self, reading: Reading, results: Sequence[list[_Entry]]) -> Found:
        """Sort each search's entries into accounts and holders (see the module's doc)."""
        by_login: dict[str, dict[str, _Entry]] = {}  # login -> DN key -> entry
        holders: dict[str, dict[str, _Entry]] = {}  # value -> DN key -> entry
        unsure: set[str] = set()  # logins of entries this side cannot tell are persons
        for entries, kind in zip(results, reading.kinds, strict=True):
            for entry in entries:
                if kind != "value":
                    for login in entry.values(self.login_attribute):
                        key = login.strip().casefold()
                        if key not in reading.logins:
                            continue
                        if kind == "login" or self._is_person(entry):
                            by_login.setdefault(key, {})[_dn_key(entry.dn)] = entry
                        else:
                            unsure.add(login.strip())
                if kind != "login":
                    for value in entry.values(self.attribute):
                        if value.casefold() in reading.values:
                            holders.setdefault(value.casefold(), {})[_dn_key(entry.dn)] = entry
        if unsure:
            again = [self._by_login(chunk) for chunk in _chunks(sorted(unsure), LOOKUP_CHUNK)]
            for entries in self.search(again):
                for entry in entries:
                    for login in entry.values(self.login_attribute):
                        key = login.strip().casefold()
                        if key in reading.logins:
                            by_login.setdefault(key, {})[_dn_key(entry.dn)] = entry
        return Found(
            {key: list(entries.values()) for key, entries in by_login.items()},
            {key: list(entries.values()) for key, entries in holders.items()},
        )

    # -- searching -----------------------------------------------------------------------

    def first_pages(self, filters: list[bytes]) -> list[ldap_wire.Request]:
        """The first page of each filter's search under every base, to send."""
        return [self._request(f, base) for f in filters for base in self.directory.settings.bases]

    def collected(
        self, filters: list[bytes], requests: list[ldap_wire.Request]
    ) -> list[list[_Entry]] | None:
        """`first_pages` answered in full: each filter's entries (each entry once); None
        when one did not end well or has more pages (then `search` asks again)."""
        bases = self.directory.settings.bases
        found = []
        for n, _ in enumerate(filters):
            entries: dict[str, _Entry] = {}
            for request in requests[n * len(bases) : (n + 1) * len(bases)]:
                if (request.result or {}).get("result") != _SUCCESS or request.cookie:
                    return None
                for entry in request.entries:
                    entries.setdefault(_dn_key(entry.dn), entry)
            found.append(list(entries.values()))
        return found

    def search(self, filters: list[bytes]) -> list[list[_Entry]]:
        """Each filter's entries under every base (each entry once): paged searches, in
        flight together on one connection, then their next pages, until the last."""
        if not filters:
            return []
        directory = self.directory
        bases = directory.settings.bases
        what = t("dir.ldap_lookup.what")
        found: list[dict[str, _Entry]] = [{} for _ in filters]

        def run(connection: Any) -> None:
            pipeline = ldap_wire.Pipeline(
                connection, window=IN_FLIGHT, timeout=directory.settings.receive_timeout
            )
            # (filter's position, base, where its search goes on from)
            pages = [(n, base, b"") for n in range(len(filters)) for base in bases]
            while pages:
                requests = [self._request(filters[n], base, cookie) for n, base, cookie in pages]
                pipeline.run(requests)
                later = []
                for (n, base, _), request in zip(pages, requests, strict=True):
                    result = request.result or {}
                    if result.get("result") != _SUCCESS:
                        directory._search_failed(result, base, what, len(request.entries), False)
                    for entry in request.entries:
                        found[n].setdefault(_dn_key(entry.dn), entry)
                    if request.cookie:
                        later.append((n, base, request.cookie))
                pages = later

        directory._run(run, what)
        return [list(entries.values()) for entries in found]

    def _request(self, search_filter: bytes, base: str, cookie: bytes = b"") -> ldap_wire.Request:
        settings = self.directory.settings
        message_id = ldap_wire.new_id()
        data = ldap_wire.search_request(
            message_id,
            base,
            search_filter,
            self.attributes,
            time_limit=settings.time_limit,
            page_size=settings.page_size,
            cookie=cookie,
        )
        return ldap_wire.Request(data, message_id)

    # -- filters -------------------------------------------------------------------------

    def _by_login(self, logins: list[str]) -> bytes:
        by_login = ldap_wire.any_of([ldap_wire.equality(self.login_attribute, x) for x in logins])
        return ldap_wire.all_of([self.person, by_login]) if self.person else by_login

    def _holding(self, values: list[str]) -> bytes:
        return ldap_wire.any_of([ldap_wire.equality(self.attribute, v) for v in values])

    def _is_person(self, entry: _Entry) -> bool:
        classes = {c.casefold() for c in entry.values("objectClass")}
        return all(c in classes for c in self.person_classes or ())


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _compiled(person_filter: str) -> bytes:
    """The configured person filter in BER, encoded once by ldap3 (any filter it reads)."""
    if not person_filter:
        return b""
    node = parse_filter(person_filter, None, True, True, None, False)
    return bytes(encode(compile_filter(node.elements[0])))


def _object_classes(person_filter: str) -> tuple[str, ...] | None:
    """The object classes the person filter requires, when that is all it says, as
    `(objectClass=X)` or `(&(objectClass=X)(objectClass=Y)...)`; else None.

    An entry that shows those classes surely matches such a filter on the server
    (an entry that does not may still match, through a subclass)."""
    text = person_filter.strip()
    single = re.fullmatch(_CLASS, text, flags=re.IGNORECASE)
    if single:
        return (single.group(1).strip().casefold(),)
    joined = re.fullmatch(rf"\(&((?:{_CLASS})+)\)", text, flags=re.IGNORECASE)
    if joined:
        found = re.findall(_CLASS, joined.group(1), flags=re.IGNORECASE)
        return tuple(c.strip().casefold() for c in found)
    return None
