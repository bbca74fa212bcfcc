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
in rounds of independent changes, pipelined on one connection
(`write.py`, `lookup.py`, `wire.py`), each answered with the
entry as it stands after the write (the post-read control, where the server
offers it; a search otherwise): an outcome says `applied` only when the
server shows the value. If the server dies mid-batch, every change still gets
an outcome, and running the same batch again finishes the job ("already in
effect" for what was done); no thread or connection is left behind.

The pools and the paged reads are `channel.py`'s; the census and the write
check `census.py`'s. No ldap3 exception leaves this package: every failure becomes a
`DirectoryError` (or a failed `ChangeOutcome`) saying which server, what
happened and what to check. The bind password is never part of a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from typing import Any

import ldap3

from core.errors import DirectoryError
from core.i18n import t
from core.lease import DirectoryLease
from core.model import (
    DEFAULT_PROFILES,
    Category,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    ProfileMapping,
)
from core.names import normalise_name
from directory_adapters.base import (
    Directory,
    LinkedAccount,
    SearchQuery,
)
from directory_adapters.credentials import BindCredentials, bind_credentials
from directory_adapters.ldap.census import _SetupQuestions
from directory_adapters.ldap.channel import Channel
from directory_adapters.ldap.connection import _Connections
from directory_adapters.ldap.lock import take_lock
from directory_adapters.ldap.query import (
    _all_of,
    _any_of,
    _dn_key,
    _Entry,
    _equals,
    _Query,
    _sort_key,
)
from directory_adapters.ldap.settings import (
    DEFAULT_SEARCH_TIME_LIMIT,
    SEARCH_FETCH_FACTOR,
    SEARCH_FETCH_MAX,
    LdapSettings,
)
from directory_adapters.ldap.write import (
    _WriteBatch,
)
from directory_adapters.ldap.write_check import _WriteQuestion
from directory_adapters.mapping import AttributeMapping

__all__ = ["LdapDirectory", "LdapSettings"]


class LdapDirectory(_SetupQuestions, _WriteQuestion, Directory):
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
        # The pools (readers, writers: see `Channel.on_provider`) and the low-level reads,
        # shared with the write rounds and the lock.
        self.channel = Channel(self.settings, self.credentials)
        # Connect now: a wrong password or a dead server is reported at once. The
        # provider is reached on the first write or lock (a session's start): a
        # read-only command (search, match) does not need it.
        with self.channel.readers.lend():
            pass

    @property
    def _connections(self) -> _Connections:
        """The connections this thread's next operation uses (the tests look at them)."""
        return self.channel.connections

    @property
    def _post_read(self) -> bool | None:
        """Whether the server offers the post-read control, once asked (None: not yet)."""
        return self.channel.post_read

    @_post_read.setter
    def _post_read(self, offered: bool | None) -> None:
        self.channel.post_read = offered

    def describe(self) -> str:
        bases = "; ".join(self.settings.bases)
        who = self.credentials.bind_dn or t("dir.ldap.anonymous")
        urls = " | ".join(self.settings.urls)
        if self.settings.write_url is not None:
            urls = t("dir.ldap.describe_provider", urls=urls, provider=self.settings.write_url)
        tls = "" if self.settings.encrypted else t("dir.ldap.unencrypted")
        if self.settings.start_tls:
            tls = ", StartTLS"
        return t("dir.ldap.describe", urls=urls, bases=bases, who=who, tls=tls)

    def close(self) -> None:
        self.channel.close()

    # -- establishments, structures, students -------------------------------------------------

    def _structure_bases(self) -> tuple[str, ...]:
        """Where structure entries may live: the naming contexts holding the bases."""
        if self._naming_contexts is None:
            contexts: tuple[str, ...] = ()
            with suppress(DirectoryError):
                root = self.channel.search(
                    "(objectClass=*)",
                    ["namingContexts"],
                    what=t("dir.ldap.what.naming_contexts"),
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
            entries = self.channel.search(
                _equals(attribute, uai),
                ["1.1"],
                what=t("dir.ldap.what.structure_of", uai=uai),
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
                found = self._read_one(dn, attribute, t("dir.ldap.what.structure", dn=dn))
                uai = found[0].strip().upper() if found else None
            self._structure_uais[key] = uai
        return self._structure_uais[key]

    def _student_login(self, dn: str) -> str | None:
        """The login of the account a guardian's student DN names (cached)."""
        key = _dn_key(dn)
        if key not in self._student_logins:
            found = self._read_one(
                dn, self.mapping.attribute("login"), t("dir.ldap.what.student", dn=dn)
            )
            self._student_logins[key] = found[0].strip() if found else None
        return self._student_logins[key]

    def _read_one(self, dn: str, attribute: str, what: str) -> list[str]:
        entries = self.channel.search(
            "(objectClass=*)", [attribute], what=what, bases=[dn], scope=ldap3.BASE, size_limit=0
        )
        return entries[0].values(attribute) if entries else []

    def _establishment_filter(self, uai: str) -> str:
        attribute = self.mapping.attribute("uai")
        if not attribute:
            raise DirectoryError(
                t("dir.ldap.no_uai_attribute"), hint=t("dir.ldap.no_uai_attribute_hint")
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
        entries = self.channel.search(
            search_filter, self.mapping.attributes(), what=t("dir.ldap.what.listing", uai=uai)
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
        entries = self.channel.search(
            search_filter, self.mapping.attributes(), what=t("dir.ldap.what.account", login=login)
        )
        accounts = self._accounts(entries)
        # Never guess which of two accounts with one login is meant.
        return accounts[0] if len(accounts) == 1 else None

    def holders(self, idpn: str, uai: str) -> list[DirectoryAccount]:
        """Accounts storing `idpn` for `uai`, whatever their establishments."""
        uai = uai.strip().upper()
        value = self.form.format(uai, idpn)
        attribute = self.mapping.identifier_attribute
        entries = self.channel.search(
            _equals(attribute, value),
            self.mapping.attributes(),
            what=t("dir.ldap.what.holders", value=value),
        )
        accounts = self._accounts(entries)
        held = [a for a in accounts if idpn in self.form.idpns_for(a.identifiers, uai)]
        return sorted(held, key=_sort_key(""))

    def _search(self, query: SearchQuery) -> list[DirectoryAccount]:
        words = _Query.parse(query.text)
        by_category = self._category_filter(query.category)
        if words is None or by_category is None:
            return []
        uai, category, limit = query.uai, query.category, query.limit
        parts = [self.mapping.person_filter, words.server_filter(self.mapping, uai is not None)]
        if uai is not None:
            parts.append(self._establishment_filter(uai))
        parts.append(by_category)
        fetch = min(max(limit * SEARCH_FETCH_FACTOR, 50), SEARCH_FETCH_MAX)
        if self.settings.size_limit:
            fetch = min(fetch, self.settings.size_limit)
        entries = self.channel.search(
            _all_of(parts),
            self.mapping.attributes(),
            what=t("dir.ldap.what.search", text=query.text),
            size_limit=fetch,
            time_limit=self.settings.time_limit or DEFAULT_SEARCH_TIME_LIMIT,
            truncate=True,
        )
        found = [
            a for a in self._accounts(entries) if self._keep(a, uai, category) and words.matches(a)
        ]
        found.sort(key=_sort_key(" ".join(normalise_name(words.text).split())))
        return found[:limit]

    # -- writing ------------------------------------------------------------------------------

    def apply(self, changes: Sequence[IdentifierChange]) -> list[ChangeOutcome]:
        with self.channel.on_provider():
            return _WriteBatch(
                self.channel, self.mapping, list(changes), self.progress, self.before_send
            ).run()

    def establishment_lock(
        self, uai: str, session: str, holder: Mapping[str, Any]
    ) -> DirectoryLease | None:
        """The establishment's lock entry under `[directory.ldap] lock_base`, taken (None
        when no lock_base is set: the local lock alone keeps sessions apart)."""
        if not self.settings.lock_base:
            return None
        with self.channel.on_provider():
            return take_lock(self.channel, uai, session, holder)

    def lock_container_missing(self) -> str | None:
        """Why `lock_base` cannot hold locks (for `config check`), or None: it is there."""
        base = self.settings.lock_base
        try:
            with self.channel.on_provider():
                found = self.channel.search(
                    "(objectClass=*)", ["1.1"], what=base, bases=[base], scope=ldap3.BASE,
                    size_limit=0,
                )  # fmt: skip
        except DirectoryError as error:
            return error.message
        return None if found else t("lock.no_container", base=base)
