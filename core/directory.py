"""The directory port: the `Directory` every adapter implements, what it reports
(`Census`, `WriteCheck`, `LinkedAccount`), and the write rule they all share
(`plan_change`).

The rest of the project talks to the directory only through this class:
matching reads candidates, the search dialog searches, the wizard writes
changes and reads back outcomes. An adapter never raises a library exception
to its caller: it raises `DirectoryError` with a message an admin can act on.

It lives in core so that core can name the port it uses without importing an
adapter; directory_adapters/base.py re-exports all of it for the adapters.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.errors import DirectoryError
from core.i18n import register, t
from core.identifier_form import IdentifierForm
from core.model import (
    ALREADY_IN_EFFECT,
    Category,
    ChangeKind,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    ProfileMapping,
)

__all__ = [
    "BEST_SAMPLE",
    "COUNT_CAP",
    "DEFAULT_SEARCH_LIMIT",
    "FAILED",
    "MAX_QUERY",
    "NOT_CHECKED",
    "READ_ONLY",
    "UNKNOWN_ATTRIBUTE",
    "WRITABLE",
    "Census",
    "Directory",
    "DirectoryError",
    "DirectoryLease",
    "LinkedAccount",
    "SearchQuery",
    "WriteCheck",
    "census_of",
    "not_found",
    "plan_change",
    "sample_rank",
    "sample_rank_of",
    "spread",
]

register(
    {
        "dir.base.cannot_list": (
            "{kind} ne sait pas lister tous ses comptes",
            "{kind} cannot list all its accounts",
        ),
        "dir.base.cannot_check": (
            "{kind} ne sait pas vérifier son droit d'écriture",
            "{kind} cannot check its write access",
        ),
        "dir.base.conflict": (
            "l'identifiant {idpn} est déjà stocké sur {holders}",
            "identifier {idpn} is already stored on {holders}",
        ),
        "dir.base.nothing": ("rien", "nothing"),
        "dir.base.changed": (
            "{wanted} attendu pour {uai} sur {login}, trouvé : {found} ; "
            "relancez le rapprochement avant d'écrire",
            "expected {wanted} stored for {uai} on {login}, found {found}; "
            "match again before writing",
        ),
        "dir.base.not_found": ("aucun compte {login!r}", "no account {login!r}"),
    }
)

DEFAULT_SEARCH_LIMIT = 50
# The most `count` counts: past it, "more than 10,000" is all the admin needs.
COUNT_CAP = 10_000

# Past this, a query is not a name anyone typed.
MAX_QUERY = 200

# What a write check found (`WriteCheck.status`).
WRITABLE = "writable"
READ_ONLY = "read_only"
UNKNOWN_ATTRIBUTE = "unknown_attribute"
NOT_CHECKED = "not_checked"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """The arguments of `search` and `count`, normalised once for every adapter."""

    text: str  # the words, one space apart, at most MAX_QUERY characters
    uai: str | None  # stripped, upper-case
    category: Category | None
    limit: int  # `search`'s limit, `count`'s cap

    @classmethod
    def of(
        cls, text: str, *, uai: str | None, category: Category | None, limit: int
    ) -> SearchQuery:
        return cls(
            " ".join(str(text).split())[:MAX_QUERY],
            uai.strip().upper() if uai is not None else None,
            category,
            limit,
        )

    @property
    def empty(self) -> bool:
        """Nothing to look for: no word, or no room for a result."""
        return not self.text or self.limit <= 0


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """An account that stores an identifier for an establishment."""

    account: DirectoryAccount
    idpn: str


@dataclass(frozen=True)
class WriteCheck:
    """May idpronote write identifiers here? Found without changing anything.

    `status` is one of "writable", "read_only", "unknown_attribute",
    "not_checked", "failed"; `attribute` the identifier attribute (or CSV
    column) checked; `detail` one line for the admin, never a secret;
    `target` the DN or file the check was made on.
    """

    status: str
    attribute: str
    detail: str
    target: str | None = None


@dataclass
class Census:
    """What a pass over a directory's person entries counted (see `Directory.census`).

    `total` counts the accounts idpronote can read (entries it cannot use
    are counted in `problems` instead); `profiles` and `establishments`
    count accounts per raw profile value and per UAI. `capped` says a
    limit stopped the pass: the counts are then lower bounds.
    """

    total: int = 0
    capped: bool = False
    profiles: Counter[str] = field(default_factory=Counter)
    establishments: Counter[str] = field(default_factory=Counter)
    sample: DirectoryAccount | None = None
    problems: list[str] = field(default_factory=list)


# The rank of a sample with every field the import relies on (see sample_rank).
BEST_SAMPLE = 3


def sample_rank(account: DirectoryAccount, profiles: ProfileMapping) -> int:
    """How good an example of the mapping `account` is: 0 (poor) to 3 (best).

    The best sample has profiles of a category, an establishment and a birth
    date: the admin sees every field the import relies on filled in.
    """
    return sample_rank_of(
        bool(profiles.categories_of(account.profiles)),
        bool(account.establishments),
        account.birth_date is not None,
    )


def sample_rank_of(categorised: bool, establishment: bool, born: bool) -> int:
    """`sample_rank` from what is known of an account: profiles of a category?
    an establishment? a birth date (which counts only with the other two)?"""
    if not categorised or not establishment:
        return int(categorised or establishment)
    return BEST_SAMPLE if born else BEST_SAMPLE - 1


def census_of(accounts: Iterable[DirectoryAccount], profiles: ProfileMapping, limit: int) -> Census:
    """A census of accounts already in memory (at most `limit` of them)."""
    census = Census()
    combinations: Counter[tuple[str, ...]] = Counter()
    places: Counter[tuple[str, ...]] = Counter()
    best = -1
    categorised: dict[tuple[str, ...], bool] = {}
    for account in accounts:
        if census.total >= limit:
            census.capped = True
            break
        census.total += 1
        combinations[account.profiles] += 1
        places[account.establishments] += 1
        if best < BEST_SAMPLE:
            known = categorised.get(account.profiles)
            if known is None:
                known = categorised[account.profiles] = bool(
                    profiles.categories_of(account.profiles)
                )
            rank = sample_rank_of(
                known, bool(account.establishments), account.birth_date is not None
            )
            if rank > best:
                best, census.sample = rank, account
    census.profiles = spread(combinations)
    census.establishments = spread(places)
    return census


def spread(combinations: Counter[tuple[str, ...]]) -> Counter[str]:
    """Accounts per value, from accounts per combination of values (each value once an account)."""
    counts: Counter[str] = Counter()
    for values, count in combinations.items():
        for value in dict.fromkeys(values):
            counts[value] += count
    return counts


class DirectoryLease(Protocol):
    """A directory's lock entry on one establishment, held by this session."""

    # The lock entry (for the journal and messages), and the lease's length in seconds.
    where: str
    duration: float
    # The holder whose expired lease this one replaced (user, host, pid, session,
    # since, until), or None when the lock was free.
    taken_over: Mapping[str, str] | None

    def renew(self) -> None:
        """Push the lease's end one `duration` away; LeaseLost if the entry is no longer
        ours (core/lease.py), DirectoryError if the directory cannot be reached."""

    def release(self) -> None:
        """Remove the entry if it is still ours; never raises (it expires anyway)."""


class Directory(ABC):
    """A directory of ENT accounts: LDAP, an LDIF export or a CSV file."""

    form: IdentifierForm
    profiles: ProfileMapping
    # Set by the session around `apply`: called with {login: object class} for
    # the auxiliary classes a write is about to add, before that write is sent
    # (the session journals them durably; undo takes them away again). If it
    # raises, nothing more is sent and the error goes to apply's caller.
    before_send: Callable[[Mapping[str, str]], None] | None = None

    @abstractmethod
    def describe(self) -> str:
        """One line for the admin: what directory this is (never a secret)."""

    @abstractmethod
    def accounts(self, uai: str, category: Category | None = None) -> list[DirectoryAccount]:
        """The accounts of an establishment, restricted to a category's profiles if given."""

    def search(
        self,
        text: str,
        *,
        uai: str | None = None,
        category: Category | None = None,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[DirectoryAccount]:
        """Accounts whose surname, first name or login start with the words of `text`.

        The arguments are normalised here, once (`SearchQuery`); an adapter
        implements `_search`, which never sees an empty query or limit."""
        query = SearchQuery.of(text, uai=uai, category=category, limit=limit)
        return [] if query.empty else self._search(query)

    def count(
        self,
        text: str,
        *,
        uai: str | None = None,
        category: Category | None = None,
        cap: int = COUNT_CAP,
    ) -> int | None:
        """How many accounts `search` would find with no limit, at most `cap`; None when
        only reading every match would tell (LDAP: the search dialog then says "more
        than 50" rather than scan the directory at each keystroke)."""
        return self._count(SearchQuery.of(text, uai=uai, category=category, limit=cap))

    def _search(self, query: SearchQuery) -> list[DirectoryAccount]:
        """`search` for a query with words and a positive limit: what every adapter implements
        (unless it overrides `search` itself)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither search nor _search")

    def _count(self, query: SearchQuery) -> int | None:
        """`count` (the query's `limit` is the cap; it may be empty): None, unknown, by default."""
        return None

    @abstractmethod
    def get(self, login: str) -> DirectoryAccount | None:
        """One account by login, or None."""

    @abstractmethod
    def apply(self, changes: Sequence[IdentifierChange]) -> list[ChangeOutcome]:
        """Write changes; one outcome per change, in order, whatever happened.

        Replaying a change that is already in effect reports it applied with
        reason ALREADY_IN_EFFECT and writes nothing, so a resumed session never
        doubles a value. A failure of the directory itself (server gone,
        time-out, file system full or locked) is reported, not raised: the
        change it hit is "unconfirmed" if it may have been sent, "unavailable"
        if not, nothing more is sent after it, and the rest of the batch is
        "unavailable". `before_send` is called before any write adding an
        auxiliary object class; a removal with `drop_object_class` also takes
        that class away when the entry keeps no value of the attribute.
        """

    def establishment_lock(
        self, uai: str, session: str, holder: Mapping[str, str]
    ) -> DirectoryLease | None:
        """The directory's own lock on an establishment, taken for `session` (holder:
        user, host, pid, session, directory_identity), or None for a directory that
        holds none (a file: this machine's lock, always taken first, is the only one).

        A lease, renewed while the session runs (core/lease.py); LockHeld, in the
        holder's words, if another session holds it."""
        return None

    def backup_before_next_write(self, wanted: bool) -> None:  # noqa: B027 - optional hook
        """A session starts (True), or resumes after it already wrote (False): a file
        directory keeps a backup before the session's first write only."""

    def linked(self, uai: str) -> list[LinkedAccount]:
        """Accounts storing an identifier for this establishment (one row per value)."""
        rows = []
        for account in self.accounts(uai):
            for idpn in self.form.idpns_for(account.identifiers, uai):
                rows.append(LinkedAccount(account, idpn))
        return rows

    def holders(self, idpn: str, uai: str) -> list[DirectoryAccount]:
        """Accounts already storing `idpn` for `uai` (conflict detection)."""
        return [row.account for row in self.linked(uai) if row.idpn == idpn]

    # -- what setup and `config check` ask (directory_adapters/survey.py) -------------------

    def identifier_field(self) -> str:
        """Where identifiers are stored: the LDAP attribute, or the CSV column."""
        return "idpronote"

    def every_account(self) -> Iterator[DirectoryAccount]:
        """Every account of the directory, for `census`; adapters that can list them say so."""
        raise DirectoryError(t("dir.base.cannot_list", kind=type(self).__name__))

    def census(self, limit: int) -> Census:
        """Count the accounts per profile and establishment (at most `limit` of them),
        and pick one to show as a sample. Never writes."""
        return census_of(self.every_account(), self.profiles, limit)

    def write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """May identifiers be written here (on `account`, for a server)? Changes nothing."""
        return WriteCheck(
            NOT_CHECKED,
            self.identifier_field(),
            t("dir.base.cannot_check", kind=type(self).__name__),
        )

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections or file handles."""

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def plan_change(
    form: IdentifierForm,
    current_values: Iterable[str],
    change: IdentifierChange,
    other_holders: Iterable[str] = (),
) -> tuple[tuple[str, ...] | None, ChangeOutcome | None]:
    """Decide one change against what the account stores now.

    Returns (new attribute values, None) when there is something to write,
    (None, outcome) when the change is already in effect (applied, nothing
    to write) or must be refused (conflict, stored value changed meanwhile).
    `other_holders` are the logins of other accounts storing the same
    identifier for the establishment.
    """
    values = tuple(current_values)
    stored = set(form.idpns_for(values, change.uai))
    target = set() if change.kind is ChangeKind.REMOVE else {change.idpn}
    if stored == target:
        return None, ChangeOutcome(change, applied=True, reason=ALREADY_IN_EFFECT)
    holders = sorted(h for h in other_holders if h.casefold() != change.login.casefold())
    if change.kind is not ChangeKind.REMOVE and holders:
        return None, ChangeOutcome(
            change,
            applied=False,
            failure="conflict",
            reason=t("dir.base.conflict", idpn=change.idpn, holders=", ".join(holders)),
        )
    expected = set() if change.previous is None else {change.previous}
    if stored != expected:
        found = ", ".join(sorted(stored)) or t("dir.base.nothing")
        wanted = change.previous or t("dir.base.nothing")
        return None, ChangeOutcome(
            change,
            applied=False,
            failure="changed",
            reason=t(
                "dir.base.changed",
                wanted=wanted,
                uai=change.uai,
                login=change.login,
                found=found,
            ),
        )
    return form.apply(values, change), None


def not_found(change: IdentifierChange) -> ChangeOutcome:
    return ChangeOutcome(
        change,
        applied=False,
        failure="not_found",
        reason=t("dir.base.not_found", login=change.login),
    )
