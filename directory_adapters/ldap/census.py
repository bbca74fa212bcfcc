"""What setup and `config check` ask of an LDAP directory: its census.

The census counts accounts per profile and establishment as cheaply as the
server allows (a few attributes, threads over the bases) and picks a sample
account (the write check is write_check.py's). These are `LdapDirectory`
methods, written here as a mixin (`_SetupQuestions`) over what the adapter
holds: `settings`, `mapping`, `profiles`, `credentials`, `channel`, and its
readers of accounts and structures (`get`, `_fields`, `_attributes`,
`_structure_uai`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import ldap3

from core.i18n import t
from core.model import (
    CATEGORIES,
    DirectoryAccount,
)
from directory_adapters.base import (
    BEST_SAMPLE,
    Census,
    counted,
    sample_rank,
    skipped,
    spread,
)
from directory_adapters.ldap.connection import (
    _ADMIN_LIMIT,
    _SIZE_LIMIT,
    _SUCCESS,
    _TIME_LIMIT,
    _server_words,
)
from directory_adapters.ldap.query import (
    _all_of,
    _any_of,
    _dn_key,
    _entry,
    _equals,
)
from directory_adapters.ldap.settings import DEFAULT_SEARCH_TIME_LIMIT, SAMPLE_CANDIDATES, WRITERS
from directory_adapters.mapping import AttributeMapping, is_dn


class _SetupQuestions:
    """`census` and `write_check` for `LdapDirectory` (see the module's docstring)."""

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
                t("dir.ldap.what.unusable", base=base),
                lambda: _Unusable(self.mapping),
            )
            part = self._scan(
                base,
                mapping.person_filter,
                attributes,
                size_limit,
                t("dir.ldap.what.counting", base=base),
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
            for page, result in self.channel.pages(
                connection,
                base,
                search_filter,
                attributes,
                size_limit=size_limit,
                time_limit=self.settings.time_limit,
            ):
                for response in page:
                    scan.returned += 1
                    scan.add(response)
                code = result.get("result")
                if code in (_SIZE_LIMIT, _TIME_LIMIT, _ADMIN_LIMIT):
                    scan.capped, scan.stopped = True, _server_words(result)
                elif code != _SUCCESS:
                    self.channel.search_failed(result, base, what, scan.seen, False)
            return scan

        return self.channel.run(run, what)

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
        entries = "entry"
        if tally.without_login:
            problems.append(skipped(tally.without_login, entries, login))
        if tally.without_surname:
            problems.append(skipped(tally.without_surname, entries, surname))
        if unresolved:
            problems.append(
                counted(
                    "dir.ldap.unresolved",
                    len(unresolved),
                    attribute=self.mapping.preset.structure_uai,
                    example=unresolved[0],
                )
            )
        if tally.stopped:
            problems.append(
                t(
                    "dir.ldap.count_stopped",
                    seen=tally.seen,
                    stopped=tally.stopped,
                    who=self.channel.who(),
                )
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
            entries = self.channel.search(
                _all_of([mapping.person_filter, *present, *parts]),
                [mapping.attribute("login")],
                what=t("dir.ldap.what.sample"),
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
