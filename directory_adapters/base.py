"""The `Directory` every adapter implements, and the write rule they all share.

The rest of the project talks to the directory only through this class:
matching reads candidates, the search dialog searches, the wizard writes
changes and reads back outcomes. An adapter never raises a library exception
to its caller: it raises `DirectoryError` with a message an admin can act on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.errors import DirectoryError
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

__all__ = ["Directory", "DirectoryError", "LinkedAccount", "plan_change"]

DEFAULT_SEARCH_LIMIT = 50


@dataclass(frozen=True, slots=True)
class LinkedAccount:
    """An account that stores an identifier for an establishment."""

    account: DirectoryAccount
    idpn: str


class Directory(ABC):
    """A directory of ENT accounts: LDAP, an LDIF export or a CSV file."""

    form: IdentifierForm
    profiles: ProfileMapping

    @abstractmethod
    def describe(self) -> str:
        """One line for the admin: what directory this is (never a secret)."""

    @abstractmethod
    def accounts(self, uai: str, category: Category | None = None) -> list[DirectoryAccount]:
        """The accounts of an establishment, restricted to a category's profiles if given."""

    @abstractmethod
    def search(
        self,
        text: str,
        *,
        uai: str | None = None,
        category: Category | None = None,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[DirectoryAccount]:
        """Accounts whose surname, first name or login start with the words of `text`."""

    @abstractmethod
    def get(self, login: str) -> DirectoryAccount | None:
        """One account by login, or None."""

    @abstractmethod
    def apply(self, changes: Sequence[IdentifierChange]) -> list[ChangeOutcome]:
        """Write changes; one outcome per change, in order, whatever happened.

        Replaying a change that is already in effect reports it applied and
        writes nothing, so a resumed session never doubles a value.
        """

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
            reason=f"identifier {change.idpn} is already stored on {', '.join(holders)}",
        )
    expected = set() if change.previous is None else {change.previous}
    if stored != expected:
        found = ", ".join(sorted(stored)) or "nothing"
        wanted = change.previous or "nothing"
        return None, ChangeOutcome(
            change,
            applied=False,
            failure="changed",
            reason=f"expected {wanted} stored for {change.uai} on {change.login}, found {found}; "
            "match again before writing",
        )
    return form.apply(values, change), None


def not_found(change: IdentifierChange) -> ChangeOutcome:
    return ChangeOutcome(
        change, applied=False, failure="not_found", reason=f"no account {change.login!r}"
    )
