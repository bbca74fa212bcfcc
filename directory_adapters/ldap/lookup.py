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
from typing import Any

from ldap3.operation.search import compile_filter, parse_filter
from ldap3.utils.asn1 import encode

from core.i18n import register, t
from directory_adapters.ldap import wire as ldap_wire
from directory_adapters.ldap.channel import Channel
from directory_adapters.ldap.connection import _ADMIN_LIMIT, _SIZE_LIMIT, _SUCCESS
from directory_adapters.ldap.query import _all_of, _any_of, _dn_key, _Entry, _equals
from directory_adapters.ldap.settings import IN_FLIGHT, LOOKUP_CHUNK
from directory_adapters.mapping import AttributeMapping

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
    """A lookup's searches, before they are sent: per search, the logins and the values
    it looks for (one of the two may be empty)."""

    parts: list[tuple[list[str], list[str]]]
    logins: set[str]  # casefolded logins wanted
    values: set[str]  # casefolded values wanted


@dataclass
class Found:
    """casefolded login -> its person entries; casefolded value -> the entries holding it."""

    by_login: dict[str, list[_Entry]]
    holders: dict[str, list[_Entry]]


class Lookup:
    """Reads accounts and holders for `_WriteBatch`, through `ldap_wire` searches."""

    def __init__(self, channel: Channel, mapping: AttributeMapping) -> None:
        self.channel = channel
        self.login_attribute = mapping.attribute("login")
        self.attribute = mapping.identifier_attribute
        self.attributes = [self.login_attribute, self.attribute, "objectClass"]
        self.person_filter = mapping.person_filter
        self.person = _compiled(mapping.person_filter)
        self.person_classes = _object_classes(mapping.person_filter)

    def read(self, logins: Iterable[str], values: Iterable[str] = ()) -> Found:
        """The entries of these logins and the holders of these values, now."""
        reading = self.prepare(logins, values)
        return self.sort(reading, self.search(reading.parts))

    def prepare(self, logins: Iterable[str], values: Iterable[str] = ()) -> Reading:
        wanted = list(dict.fromkeys(login.strip() for login in logins if login.strip()))
        wanted_values = list(dict.fromkeys(values))
        login_chunks = list(_chunks(wanted, LOOKUP_CHUNK))
        value_chunks = list(_chunks(wanted_values, LOOKUP_CHUNK))
        if self.person_classes is not None:  # merged: sorted out in `sort`
            count = max(len(login_chunks), len(value_chunks))
            parts = [
                (
                    login_chunks[n] if n < len(login_chunks) else [],
                    value_chunks[n] if n < len(value_chunks) else [],
                )
                for n in range(count)
            ]
        else:
            parts = [(chunk, []) for chunk in login_chunks]
            parts += [([], chunk) for chunk in value_chunks]
        return Reading(
            parts,
            {login.casefold() for login in wanted},
            {value.casefold() for value in wanted_values},
        )

    def sort(self, reading: Reading, results: Sequence[list[_Entry]]) -> Found:
        """Sort each search's entries into accounts and holders (see the module's doc)."""
        by_login: dict[str, dict[str, _Entry]] = {}  # login -> DN key -> entry
        holders: dict[str, dict[str, _Entry]] = {}  # value -> DN key -> entry
        unsure: set[str] = set()  # logins of entries this side cannot tell are persons
        for entries, (logins, values) in zip(results, reading.parts, strict=True):
            # With values too, the search also returned entries that are no persons.
            sure = not values
            for entry in entries:
                if logins:
                    for login in entry.values(self.login_attribute):
                        key = login.strip().casefold()
                        if key not in reading.logins:
                            continue
                        if sure or self._is_person(entry):
                            by_login.setdefault(key, {})[_dn_key(entry.dn)] = entry
                        else:
                            unsure.add(login.strip())
                if values:
                    for value in entry.values(self.attribute):
                        if value.casefold() in reading.values:
                            holders.setdefault(value.casefold(), {})[_dn_key(entry.dn)] = entry
        if unsure:
            again = [(chunk, []) for chunk in _chunks(sorted(unsure), LOOKUP_CHUNK)]
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

    def requests(self, parts: list[tuple[list[str], list[str]]]) -> list[ldap_wire.Request]:
        """Each search under every base, to send."""
        return [self._request(part, base) for part in parts for base in self.channel.settings.bases]

    def collected(
        self, parts: list[tuple[list[str], list[str]]], requests: list[ldap_wire.Request]
    ) -> list[list[_Entry] | None]:
        """The answers to `requests`: each search's entries (each entry once), or None
        where one did not end well (see `search`)."""
        bases = self.channel.settings.bases
        found: list[list[_Entry] | None] = []
        for n, _ in enumerate(parts):
            entries: dict[str, _Entry] | None = {}
            for request in requests[n * len(bases) : (n + 1) * len(bases)]:
                if entries is None or (request.result or {}).get("result") != _SUCCESS:
                    entries = None
                    continue
                for entry in request.entries:
                    entries.setdefault(_dn_key(entry.dn), entry)
            found.append(None if entries is None else list(entries.values()))
        return found

    def search(self, parts: list[tuple[list[str], list[str]]]) -> list[list[_Entry]]:
        """Each search's entries under every base (each entry once), the searches in
        flight together on one connection. They are not paged (the server keeps one
        paged search per connection): one that the server's size limit stops is asked
        again through ldap3's paged search, alone; other refusals are errors."""
        if not parts:
            return []
        channel = self.channel
        bases = channel.settings.bases
        what = t("dir.ldap_lookup.what")

        def run(connection: Any) -> list[ldap_wire.Request]:
            requests = self.requests(parts)
            ldap_wire.Pipeline(
                connection, window=IN_FLIGHT, timeout=channel.settings.receive_timeout
            ).run(requests)
            return requests

        requests = channel.run(run, what)
        found = self.collected(parts, requests)
        results = []
        for n, (part, entries) in enumerate(zip(parts, found, strict=True)):
            if entries is not None:
                results.append(entries)
                continue
            for base, request in zip(
                bases, requests[n * len(bases) : (n + 1) * len(bases)], strict=True
            ):
                result = request.result or {}
                if result.get("result") not in (_SUCCESS, _SIZE_LIMIT, _ADMIN_LIMIT):
                    channel.search_failed(result, base, what, len(request.entries), False)
            results.append(
                channel.search(self._text(*part), self.attributes, what=what, size_limit=0)
            )
        return results

    def _request(self, part: tuple[list[str], list[str]], base: str) -> ldap_wire.Request:
        message_id = ldap_wire.new_id()
        data = ldap_wire.search_request(
            message_id,
            base,
            self._filter(*part),
            self.attributes,
            time_limit=self.channel.settings.time_limit,
        )
        return ldap_wire.Request(data, message_id)

    # -- filters -------------------------------------------------------------------------

    def _filter(self, logins: list[str], values: list[str]) -> bytes:
        """`(|(&person(|(login=a)...))(|(attribute=v)...))`, in BER, either side alone."""
        parts = []
        if logins:
            by_login = ldap_wire.any_of(
                [ldap_wire.equality(self.login_attribute, x) for x in logins]
            )
            parts.append(ldap_wire.all_of([self.person, by_login]) if self.person else by_login)
        if values:
            parts.append(ldap_wire.any_of([ldap_wire.equality(self.attribute, v) for v in values]))
        return ldap_wire.any_of(parts)

    def _text(self, logins: list[str], values: list[str]) -> str:
        """The same filter as text, for ldap3 (escaped)."""
        parts = []
        if logins:
            by_login = _any_of(_equals(self.login_attribute, x) for x in logins)
            parts.append(_all_of([self.person_filter, by_login]))
        if values:
            parts.append(_any_of(_equals(self.attribute, v) for v in values))
        return _any_of(parts)

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
