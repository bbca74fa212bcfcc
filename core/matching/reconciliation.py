"""One establishment's reconciliation: its directory accounts, its file, six steps.

`Reconciliation` holds what every step shares (the accounts by login, the
identifiers each stores, the remembered links); `step` decides one category
through `_Step`, and `run` does them all in the wizard's order, the
students' decisions feeding their guardians' (`children_of`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from core.identifier_form import IdentifierForm
from core.matching.decisions import Decision, MatchSettings, ObsoleteLink, StepMatch
from core.matching.people import _Person
from core.matching.step import _Step
from core.model import (
    CATEGORIES,
    Category,
    DirectoryAccount,
    ProfileMapping,
    PronoteAccount,
    RememberedLink,
)

if TYPE_CHECKING:
    # Typing only: matching reads the port, and needs nothing else of it.
    from core.directory import Directory

MODES = ("complet", "partiel")


class Reconciliation:
    """Matching for one establishment: its directory accounts, its file, six steps.

    `accounts` are the establishment's directory accounts (every category);
    `stored` maps an identifier to the accounts storing it for the
    establishment (by default computed from `accounts`, pass a wider one to
    see holders outside it); `remembered` maps identifiers to the links the
    admin made in earlier imports (a login, or a `RememberedLink` that says
    whom the account was then).
    """

    def __init__(
        self,
        uai: str,
        accounts: Sequence[DirectoryAccount],
        *,
        form: IdentifierForm,
        profiles: ProfileMapping,
        mode: str = "complet",
        settings: MatchSettings | None = None,
        stored: Mapping[str, Sequence[DirectoryAccount]] | None = None,
        remembered: Mapping[str, str | RememberedLink] | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.uai = uai.upper()
        self.form = form
        self.profiles = profiles
        self.mode = mode
        self.settings = settings or MatchSettings()
        self.remembered = {
            idpn: link if isinstance(link, RememberedLink) else RememberedLink(link)
            for idpn, link in (remembered or {}).items()
        }
        self.accounts = list(accounts)
        self._by_login = {a.login.casefold(): a for a in self.accounts}
        self._stored_of: dict[str, tuple[str, ...]] = {
            a.login.casefold(): tuple(form.idpns_for(a.identifiers, self.uai))
            for a in self.accounts
        }
        if stored is None:
            holders: dict[str, list[DirectoryAccount]] = defaultdict(list)
            for account in self.accounts:
                for idpn in self._stored_of[account.login.casefold()]:
                    holders[idpn].append(account)
            stored = holders
        self.stored = stored
        self._people: dict[str, _Person] = {}
        self._by_category: dict[Category, list[DirectoryAccount]] | None = None

    @classmethod
    def from_directory(
        cls,
        directory: Directory,
        uai: str,
        *,
        mode: str = "complet",
        settings: MatchSettings | None = None,
        remembered: Mapping[str, str | RememberedLink] | None = None,
    ) -> Reconciliation:
        """Read the establishment's accounts from a `Directory` adapter (any kind)."""
        return cls(
            uai,
            directory.accounts(uai),
            form=directory.form,
            profiles=directory.profiles,
            mode=mode,
            settings=settings,
            remembered=remembered,
        )

    def person(self, account: DirectoryAccount) -> _Person:
        key = account.login.casefold()
        found = self._people.get(key)
        if found is None:
            found = _Person.of(account.surname, account.first_name, account.birth_date)
            self._people[key] = found
        return found

    def candidates_of(self, category: Category) -> list[DirectoryAccount]:
        """The establishment's accounts with one of the category's profiles (cached)."""
        if self._by_category is None:
            by_category: dict[Category, list[DirectoryAccount]] = defaultdict(list)
            seen: dict[tuple[str, ...], set[Category]] = {}
            for account in self.accounts:
                categories = seen.get(account.profiles)
                if categories is None:
                    categories = seen[account.profiles] = self.profiles.categories_of(
                        account.profiles
                    )
                for each in categories:
                    by_category[each].append(account)
            self._by_category = by_category
        return self._by_category.get(category, [])

    # -- whole file ------------------------------------------------------------------------

    def run(
        self,
        file_accounts: Mapping[Category, Sequence[PronoteAccount]],
        categories: Iterable[Category] = CATEGORIES,
    ) -> list[StepMatch]:
        """Every step in the wizard's order, students feeding their guardians."""
        in_file = {p.idpn for accounts in file_accounts.values() for p in accounts}
        students = file_accounts.get(Category.ELEVES, ())
        steps = []
        student_logins: dict[str, str] = {}
        for category in categories:
            step = self.step(
                category,
                file_accounts.get(category, ()),
                in_file=in_file,
                children=children_of(students, student_logins),
            )
            if category is Category.ELEVES:
                student_logins = {
                    d.pronote.file_key: d.login
                    for d in step.decisions
                    if d.recognised and d.pronote.file_key and d.login
                }
            steps.append(step)
        return steps

    # -- one step ----------------------------------------------------------------------------

    def step(
        self,
        category: Category,
        pronote: Sequence[PronoteAccount],
        *,
        in_file: set[str] | None = None,
        children: Mapping[str, Sequence[str]] | None = None,
    ) -> StepMatch:
        """Decide every account of one category.

        `in_file` is every identifier of the file (all categories), for
        obsolete links and stale identifiers; `children` maps a guardian's
        file key to the logins of their recognised children. Obsolete links
        are proposed only when `pronote` holds someone: a file without any
        account of the category (a timetable export has no supervisor) cannot
        tell that one of its identifiers is gone.
        """
        if in_file is None:
            in_file = {p.idpn for p in pronote}
        work = _Step(self, category, list(pronote), in_file, children or {})
        decisions = work.decide()
        obsolete = self._obsolete(category, in_file, decisions)
        if not pronote:
            return StepMatch(category, decisions, [], kept_absent=obsolete)
        return StepMatch(category, decisions, obsolete)

    def _obsolete(
        self, category: Category, in_file: set[str], decisions: list[Decision]
    ) -> list[ObsoleteLink]:
        if self.mode != "complet":
            return []
        recognised = {d.login.casefold() for d in decisions if d.recognised and d.login}
        found = []
        for account in self.candidates_of(category):
            if account.login.casefold() in recognised:
                continue  # its stale value is replaced by the new link
            for idpn in self._stored_of[account.login.casefold()]:
                if idpn not in in_file:
                    found.append(ObsoleteLink(account, idpn))
        return sorted(found, key=lambda o: (o.account.surname, o.account.first_name, o.idpn))

    # -- helpers for _Step -------------------------------------------------------------------

    def stored_for(self, account: DirectoryAccount) -> tuple[str, ...]:
        return self._stored_of.get(account.login.casefold(), ())

    def by_login(self, login: str | None) -> DirectoryAccount | None:
        return None if not login else self._by_login.get(login.strip().casefold())


def children_of(
    students: Sequence[PronoteAccount], logins: Mapping[str, str]
) -> dict[str, list[str]]:
    """Guardian file key -> logins of their recognised children (`logins`: key -> login).

    Every guardian a student of the file points at has a key, with an empty
    list when none of their children is recognised: a guardian without a key
    has no child in the file at all (in partial mode, they signed in already).
    """
    children: dict[str, list[str]] = {}
    for student in students:
        login = logins.get(student.file_key or "")
        for key in student.guardian_keys:
            found = children.setdefault(key, [])
            if login:
                found.append(login)
    return children
