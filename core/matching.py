"""Automatic reconciliation: one decision per Pronote account, and why.

Precision before recall. A Pronote account is recognised only on evidence
that cannot point at someone else: an identifier already stored, the CAS
login the file carries, a link the admin made before, or names and birth
date that are unique on both sides. Anything weaker is shown to the admin
as candidates, never written. Every decision carries its rule and a reason
the wizard and the reports show.

Rules, strongest first (CONTRACT.md names them in the report):

- ``already_linked``: the directory already stores this identifier for this
  establishment, on one account, and that account is the person (below).
- ``cas_login``: the file's IdentifiantCAS is a directory login of the
  category whose names agree (disagreeing names are a ``conflict``).
- ``remembered``: a manual link made in an earlier import, to an account
  that is still the person it was then.
- ``exact``: same surname, first name and birth date, unique on both sides;
  ``exact_name`` when one side has no birth date (never for guardians).
- ``guardian_children``: a guardian of the same names linked in the
  directory to one of the children the students' step recognised.
- ``fuzzy``: one name field equal, the other close (a typo, accents, a
  compound or swapped name, a married name through the children), dates
  equal where both have one, unique with a clear margin.
- ``guardian_name`` (partial mode only): a guardian none of whose children
  is in the file (they signed in already), whose names are those of exactly
  one guardian account of the establishment, with no close rival on either
  side; the account holds no identifier of the establishment, and its
  children are students of the establishment who hold one.

Stored state is evidence only when the person agrees. An identifier already
stored, a CAS login and a remembered link all name an account that someone
or something wrote earlier, possibly by mistake (a past wrong import, a login
given to someone else). Each is taken only if the account is the person:
names that agree as `names_agree` says (typos, accents, compound names yes;
another person no), and no other account of the category that fits clearly
better (same names exactly and a compatible birth date, where the named
account has neither). Otherwise the record is a ``conflict`` for a human,
with the account named and the best candidates.

Never automatic: ``ambiguous`` (several candidates fit as well),
``duplicate_in_file`` (two Pronote accounts for one directory account),
``conflict`` (the identifier is stored on two accounts, or on the account of
another person, or the CAS login's or a remembered link's account is another
person, or another account fits better), ``account_taken`` (the account
holds another identifier of the establishment that the file still uses, or
any in partial mode),
``date_differs`` (names agree, birth dates do not), ``lost_letters`` (a name
with unreadable letters), ``uncertain`` and ``no_candidate``.

Scale: directory accounts of other establishments are never looked at;
the rest is dictionary lookups on normalised keys (birth date, compact
names), and the only n x m scoring, the candidates of unrecognised accounts,
runs vectorised in rapidfuzz.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from rapidfuzz import fuzz, process

from core.i18n import register, t
from core.identifier_form import IdentifierForm
from core.model import (
    CATEGORIES,
    Category,
    DirectoryAccount,
    ProfileMapping,
    PronoteAccount,
    RememberedLink,
)
from core.names import has_lost_letters, name_parts, normalise_name

__all__ = [
    "Decision",
    "MatchSettings",
    "ObsoleteLink",
    "Reconciliation",
    "StepMatch",
]

MODES = ("complet", "partiel")

# Bounded work (docs/SECURITY.md): a Pronote account is compared with at most this
# many directory accounts (its block: same birth date, same surname or surname
# part, same names). Past it, only evidence that names one account (a stored
# identifier, the CAS login, a remembered link) or a guardian's children can
# recognise it; otherwise it goes to a human. A real establishment's blocks hold
# a few accounts; 200,000 records of one name against 2,000 homonyms took 80 s
# and 6.7 GB, records x homonyms.
BLOCK_LIMIT = 64
# Partial mode's guardians on names alone look for rivals among close first names:
# at most this many people per guardian, and this many per step (a real step
# compares a few hundred thousand; past it, the rest goes to a human).
RIVAL_LIMIT = 5_000
RIVAL_BUDGET = 5_000_000
# Rows of the candidate-scoring matrix computed at once (memory: rows x accounts).
_SCORE_ROWS = 256
# At most this many candidate scores per step (a few seconds of rapidfuzz on 2 cores;
# a real step needs under 5 million: a thousand unrecognised x 5,000 accounts).
_SCORE_CELLS = 50_000_000

register(
    {
        "why.too_many_homonyms": (
            "plus de {limit} comptes de l'annuaire à comparer (mêmes noms, même nom de "
            "famille ou même date de naissance) : jamais de lien automatique, choisissez à la "
            "main",
            "more than {limit} directory accounts to compare with (same names, surname or "
            "birth date): never linked automatically, choose by hand",
        ),
    }
)

# Endings that turn a first name into another person's: LOUIS/LOUISE,
# MICHEL/MICHELE, DANIEL/DANIELLE, JEAN/JEANNE, CHRISTIAN/CHRISTIANE.
_GENDER_ENDINGS = ("E", "LE", "NE", "TE", "A", "INE", "ETTE")
_COMPOUND_SCORE = 92.0


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """The thresholds of `[matching]` in config.toml."""

    # The differing name field must score at least this (rapidfuzz ratio, 0..100).
    fuzzy_threshold: float = 80.0
    # ... and beat the second-best candidate by this much.
    fuzzy_margin: float = 10.0
    # How many candidates an unrecognised account lists.
    candidates: int = 5


@dataclass(frozen=True, slots=True)
class Decision:
    """What matching decided for one Pronote account."""

    pronote: PronoteAccount
    recognised: bool
    rule: str
    login: str | None = None
    score: int | None = None
    candidates: tuple[str, ...] = ()
    # The reason, as an i18n key under "why." and its parameters.
    why: str = ""
    params: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> str:
        return "recognised" if self.recognised else "unrecognised"

    def explain(self) -> str:
        return t("why." + (self.why or self.rule), **dict(self.params))


@dataclass(frozen=True, slots=True)
class ObsoleteLink:
    """An identifier stored for the establishment that the file no longer holds."""

    account: DirectoryAccount
    idpn: str


@dataclass
class StepMatch:
    """The decisions of one step (one category)."""

    category: Category
    decisions: list[Decision]
    obsolete: list[ObsoleteLink] = field(default_factory=list)
    # Complete mode, a category the file holds none of: the identifiers stored for
    # it are kept, never proposed as obsolete (a file that cannot carry guardians
    # says nothing about them). What would have been proposed, for the reports.
    kept_absent: list[ObsoleteLink] = field(default_factory=list)

    @property
    def recognised(self) -> list[Decision]:
        return [d for d in self.decisions if d.recognised]

    @property
    def unrecognised(self) -> list[Decision]:
        return [d for d in self.decisions if not d.recognised]


# -- prepared forms -------------------------------------------------------------------------


def _compact(text: str) -> str:
    return "".join(normalise_name(text).split())


@dataclass(slots=True)
class _Person:
    """A name prepared once for comparison (either side)."""

    surname: str  # compact normalised: "LEGALL", "MARTINDUPONT"
    first_name: str
    parts: frozenset[str]  # surname words without particles
    given: tuple[str, ...]  # first-name words
    birth: date | None
    lost: bool

    @classmethod
    def of(cls, surname: str, first_name: str, birth: date | None) -> _Person:
        return cls(
            surname=_compact(surname),
            first_name=_compact(first_name),
            parts=frozenset(name_parts(surname)),
            given=tuple(normalise_name(first_name).split()),
            birth=birth,
            lost=has_lost_letters(surname) or has_lost_letters(first_name),
        )

    @property
    def names(self) -> tuple[str, str]:
        return self.surname, self.first_name

    @property
    def full(self) -> str:
        return f"{self.surname} {self.first_name}"


def _surname_score(a: _Person, b: _Person) -> float:
    if a.surname == b.surname:
        return 100.0
    if a.parts and a.parts == b.parts:  # DUPONT MARTIN / MARTIN DUPONT
        return 100.0
    shared = a.parts & b.parts
    if shared and (a.parts <= b.parts or b.parts <= a.parts) and max(map(len, shared)) >= 3:
        return _COMPOUND_SCORE  # MARTIN-DUPONT / MARTIN
    return fuzz.ratio(a.surname, b.surname)


def _gender_variant(a: str, b: str) -> bool:
    short, long_ = sorted((a, b), key=len)
    if not short or not long_.startswith(short):
        return False
    ending = long_[len(short) :]
    if len(ending) == 1 and ending == short[-1] and ending != "E":
        return False  # MILA / MILAA: a doubled letter (RENE / RENEE is a pair, though)
    return ending in _GENDER_ENDINGS


def _first_name_score(a: _Person, b: _Person) -> float:
    if a.first_name == b.first_name:
        return 100.0
    if _gender_variant(a.first_name, b.first_name):
        return 0.0  # LOUIS is not LOUISE, however close the letters
    if a.given and b.given and a.given[0] == b.given[0]:
        return _COMPOUND_SCORE  # MARIE / MARIE CLAIRE
    return fuzz.ratio(a.first_name, b.first_name)


def _dates_compatible(a: date | None, b: date | None) -> bool:
    return a is None or b is None or a == b


def _near_date(a: date | None, b: date | None) -> bool:
    """One component away, or day and month swapped: a typo of one another."""
    if a is None or b is None or a == b:
        return False
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    swapped = a.year == b.year and a.day == b.month and a.month == b.day
    return same == 2 or swapped


# -- the reconciliation ----------------------------------------------------------------------


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
        directory: Any,
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


def _rival_first_names(a: _Person, b: _Person) -> float:
    """As `_first_name_score`, but LOUIS / LOUISE count as close: a doubt, not evidence."""
    return max(_first_name_score(a, b), fuzz.ratio(a.first_name, b.first_name))


class _NameIndex:
    """People grouped by first name, to find who has names close to someone's quickly.

    Close: both fields score at least `threshold` (a typo, accents, a
    compound name; first names of the other sex count), or the two fields are
    swapped. First names are few; each distinct one is scored once per
    distinct query.
    """

    def __init__(self, people: Sequence[_Person], threshold: float) -> None:
        self.people = people
        self.threshold = threshold
        self.by_first: dict[tuple[str, tuple[str, ...]], list[int]] = defaultdict(list)
        self.by_names: dict[tuple[str, str], list[int]] = defaultdict(list)
        self._close_first: dict[tuple[str, tuple[str, ...]], list[list[int]]] = {}
        for n, person in enumerate(people):
            self.by_first[person.first_name, person.given].append(n)
            self.by_names[person.names].append(n)

    def _groups(self, person: _Person) -> list[list[int]]:
        key = (person.first_name, person.given)
        groups = self._close_first.get(key)
        if groups is None:
            groups = self._close_first[key] = [
                members
                for members in self.by_first.values()
                if _rival_first_names(person, self.people[members[0]]) >= self.threshold
            ]
        return groups

    def cost(self, person: _Person) -> int:
        """How many people `rivals` would look at for this person (bounded work)."""
        size = len(self.by_names.get((person.first_name, person.surname), ()))
        return size + sum(len(m) for m in self._groups(person))

    def rivals(self, person: _Person, exclude: int) -> list[int]:
        """Everyone but `exclude` whose names are close to `person`'s."""
        found = list(self.by_names.get((person.first_name, person.surname), ()))
        key = (person.first_name, person.given)
        groups = self._close_first.get(key)
        if groups is None:
            groups = self._close_first[key] = [
                members
                for members in self.by_first.values()
                if _rival_first_names(person, self.people[members[0]]) >= self.threshold
            ]
        for members in groups:
            found += [
                n for n in members if _surname_score(person, self.people[n]) >= self.threshold
            ]
        return sorted({n for n in found if n != exclude})


class _Step:
    """The working state of one step: indexes on both sides, then the rules in order."""

    def __init__(
        self,
        owner: Reconciliation,
        category: Category,
        pronote: list[PronoteAccount],
        in_file: set[str],
        children: Mapping[str, Sequence[str]],
    ) -> None:
        self.owner = owner
        self.category = category
        self.pronote = pronote
        self.in_file = in_file
        self.children = children
        self.settings = owner.settings
        self.candidates = owner.candidates_of(category)
        self.position = {a.login.casefold(): j for j, a in enumerate(self.candidates)}
        self.is_candidate = self.position.keys()
        # Prepared once per distinct (names, date): homonyms share one (never mutated).
        prepared: dict[tuple[str, str, date | None], _Person] = {}
        self.p_people = []
        for p in pronote:
            key = (p.surname, p.first_name, p.birth_date)
            person = prepared.get(key)
            if person is None:
                person = prepared[key] = _Person.of(*key)
            self.p_people.append(person)
        self.d_people = [owner.person(a) for a in self.candidates]
        self.by_names: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.by_date: dict[date, list[int]] = defaultdict(list)
        self.by_surname: dict[str, list[int]] = defaultdict(list)
        for j, person in enumerate(self.d_people):
            self.by_names[person.names].append(j)
            self.by_surname[person.surname].append(j)
            for part in person.parts:
                if part != person.surname:
                    self.by_surname[part].append(j)
            if person.birth is not None:
                self.by_date[person.birth].append(j)
        # Guardians by child, on both sides: directory links, and the file's
        # guardians of each recognised child.
        self.guardians_of_student: dict[str, list[int]] = defaultdict(list)
        if category is Category.RESPONSABLES:
            for j, account in enumerate(self.candidates):
                for student in account.students:
                    self.guardians_of_student[student.casefold()].append(j)
        self.file_guardians_of: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(pronote):
            for kid in children.get(p.file_key or "", ()):
                self.file_guardians_of[kid.casefold()].append(i)
        self.p_by_names: dict[tuple[str, str], list[int]] = defaultdict(list)
        # (names, birth date) -> how many file records: twins found in O(1).
        self.p_dated: Counter[tuple[tuple[str, str], date | None]] = Counter()
        for i, person in enumerate(self.p_people):
            self.p_by_names[person.names].append(i)
            self.p_dated[person.names, person.birth] += 1
        self._sorted_logins: dict[tuple[str, str], tuple[str, ...]] = {}
        self._rival_work = 0

    # -- availability -------------------------------------------------------------------------

    def taken_by_other(self, j: int, idpn: str) -> bool:
        """Does candidate j hold another identifier of the establishment we must not replace?"""
        stored = self.owner.stored_for(self.candidates[j])
        others = [s for s in stored if s != idpn]
        if not others:
            return False
        if self.owner.mode == "partiel":
            return True  # partial mode never replaces anything
        return any(s in self.in_file for s in others)

    # -- the rules ---------------------------------------------------------------------------

    def decide(self) -> list[Decision]:
        decisions: list[Decision | None] = [self.strong(i) for i in range(len(self.pronote))]
        claimed = {d.login.casefold() for d in decisions if d is not None and d.recognised}
        for i, decision in enumerate(decisions):
            if decision is None:
                decisions[i] = self.weak(i, claimed)
        final = [d for d in decisions if d is not None]
        self.widen_candidates(final)
        return self.one_to_one(final)

    def widen_candidates(self, decisions: list[Decision]) -> None:
        """Candidates for the unrecognised beyond their block: one vectorised pass."""
        todo = [
            n
            for n, d in enumerate(decisions)
            if d.rule in ("uncertain", "no_candidate", "lost_letters")
        ]
        if not todo or not self.candidates:
            return
        index = {id(p): i for i, p in enumerate(self.pronote)}
        queries = [self.p_people[index[id(decisions[n].pronote)]].full for n in todo]
        choices = [person.full for person in self.d_people]
        limit = self.settings.candidates
        logins = [a.login for a in self.candidates]
        scores = candidate_scores(queries, choices, limit, tiebreak=logins)
        for n, top in zip(todo, scores, strict=True):
            d = decisions[n]
            ranked = sorted((-score, self.candidates[j].login) for j, score in top if score >= 70)
            extra = [login for _, login in ranked]
            logins = tuple(dict.fromkeys((*d.candidates, *extra)))[:limit]
            rule = "uncertain" if d.rule == "no_candidate" and logins else d.rule
            decisions[n] = replace(d, rule=rule, candidates=logins)

    def strong(self, i: int) -> Decision | None:
        """already_linked, cas_login, remembered, exact: evidence that names one account."""
        p = self.pronote[i]
        for rule in (self.already_linked, self.cas_login, self.remembered):
            decision = rule(i, p)
            if decision is not None:
                return decision
        if self.crowded(self.p_people[i]):
            # Guardians may still be told apart by their children (weak).
            return None if self.category is Category.RESPONSABLES else self.too_many(i, p)
        return self.exact(i, p)

    # -- bounded work ------------------------------------------------------------------------

    def crowded(self, person: _Person) -> bool:
        """Would comparing this person mean more than BLOCK_LIMIT directory accounts?

        An upper bound of `block()` from the sizes of its index lists, in O(1)
        (the same names are among the same surname's).
        """
        size = len(self.by_date.get(person.birth, ())) if person.birth is not None else 0
        for key in {person.surname, *person.parts}:
            size += len(self.by_surname.get(key, ()))
        return size > BLOCK_LIMIT

    def too_many(self, i: int, p: PronoteAccount) -> Decision:
        person = self.p_people[i]
        return Decision(
            p,
            False,
            "ambiguous",
            candidates=self.same_names_logins(person),
            why="too_many_homonyms",
            params=(("limit", str(BLOCK_LIMIT)),),
        )

    def same_names_logins(self, person: _Person) -> tuple[str, ...]:
        """The first logins of the same names, sorted once per names (shared by homonyms)."""
        found = self._sorted_logins.get(person.names)
        if found is None:
            found = self.logins(self.by_names.get(person.names, ()))
            self._sorted_logins[person.names] = found
        return found

    def already_linked(self, i: int, p: PronoteAccount) -> Decision | None:
        """The identifier is stored already: evidence only if the holder is the person.

        Someone wrote it, maybe wrongly (a past import, a hand edit): a value
        on two accounts, or on an account whose names disagree, or while
        another account fits clearly better, is a conflict. It is never
        written nor removed automatically: the admin decides.
        """
        holders = list(self.owner.stored.get(p.idpn, ()))
        if not holders:
            return None
        logins = tuple(sorted({h.login for h in holders}))
        if len(logins) > 1:
            return Decision(
                p,
                False,
                "conflict",
                candidates=self.with_best(i, logins),
                why="stored_twice",
                params=(("accounts", _listed(logins, self.settings.candidates)),),
            )
        holder = holders[0]
        cas = self.owner.by_login(p.cas_login)
        if cas is not None and cas.login.casefold() != holder.login.casefold():
            return Decision(
                p,
                False,
                "conflict",
                candidates=(cas.login, holder.login),
                why="stored_elsewhere",
                params=(("holder", holder.login), ("cas", cas.login)),
            )
        if not self.names_agree(self.p_people[i], self.owner.person(holder)):
            return Decision(
                p,
                False,
                "conflict",
                candidates=self.with_best(i, (holder.login,)),
                why="stored_on_another_person",
                params=(("holder", holder.login), ("name", holder.display_name)),
            )
        better = self.better_fits(i, holder)
        if better:
            return self.fits_better(p, holder, better, "stored_better_fit")
        return Decision(p, True, "already_linked", holder.login, 100, (holder.login,))

    def cas_login(self, i: int, p: PronoteAccount) -> Decision | None:
        account = self.owner.by_login(p.cas_login)
        if account is None or account.login.casefold() not in self.is_candidate:
            return None
        if not self.names_agree(self.p_people[i], self.owner.person(account)):
            return Decision(
                p,
                False,
                "conflict",
                candidates=self.with_best(i, (account.login,)),
                why="cas_names_disagree",
                params=(("login", account.login), ("name", account.display_name)),
            )
        # A login given to a namesake: another account fits the record clearly better.
        better = self.better_fits(i, account)
        if better:
            return self.fits_better(p, account, better, "cas_better_fit")
        j = self.index_of(account)
        if self.taken_by_other(j, p.idpn):
            return self.taken(p, account)
        return Decision(p, True, "cas_login", account.login, 100, (account.login,))

    def remembered(self, i: int, p: PronoteAccount) -> Decision | None:
        """A manual link of an earlier import, while its account is still that person.

        The admin may have linked across names (a married name, a nickname):
        the account is compared with whom it was when the link was made, not
        with the file. An entry from before that was recorded is compared
        with the file's names instead.
        """
        link = self.owner.remembered.get(p.idpn)
        account = self.owner.by_login(link.login if link else None)
        if link is None or account is None or account.login.casefold() not in self.is_candidate:
            return None
        now = self.owner.person(account)
        if link.recorded:
            then = _Person.of(link.surname or "", link.first_name or "", link.birth_date)
            changed = not self.names_agree(then, now) or not _dates_compatible(
                then.birth, now.birth
            )
            why = "remembered_owner_changed"
        else:
            changed = not self.names_agree(self.p_people[i], now)
            why = "remembered_names_disagree"
        if changed:
            return Decision(
                p,
                False,
                "conflict",
                candidates=self.with_best(i, (account.login,)),
                why=why,
                params=(("login", account.login), ("name", account.display_name)),
            )
        if self.taken_by_other(self.index_of(account), p.idpn):
            return self.taken(p, account)
        return Decision(p, True, "remembered", account.login, 100, (account.login,))

    def better_fits(self, i: int, account: DirectoryAccount) -> tuple[str, ...]:
        """Other accounts of the category that fit record i clearly better than `account`.

        `account` fits fully when it is of the category, with exactly the
        record's names and a compatible birth date; then nothing fits better.
        Otherwise any free account that does fit fully is better (a login or an
        identifier on a namesake with another date, on the account of another
        profile, on a near-homonym): precision first, a human chooses.
        """
        person = self.p_people[i]
        other = self.owner.person(account)
        key = account.login.casefold()
        if (
            key in self.is_candidate
            and other.names == person.names
            and _dates_compatible(person.birth, other.birth)
        ):
            return ()
        same = self.by_names.get(person.names, ())
        if len(same) > BLOCK_LIMIT:
            # Too many homonyms to look at one by one: some may fit better, a human decides.
            return tuple(
                login for login in self.same_names_logins(person) if login.casefold() != key
            )
        found = [
            j
            for j in same
            if self.candidates[j].login.casefold() != key
            and _dates_compatible(person.birth, self.d_people[j].birth)
            and not self.taken_by_other(j, self.pronote[i].idpn)
        ]
        return self.logins(found)

    def fits_better(
        self, p: PronoteAccount, account: DirectoryAccount, better: tuple[str, ...], why: str
    ) -> Decision:
        return Decision(
            p,
            False,
            "conflict",
            candidates=(account.login, *better),
            why=why,
            params=(("holder", account.login), ("better", ", ".join(better))),
        )

    def with_best(self, i: int, named: Iterable[str]) -> tuple[str, ...]:
        """The accounts a conflict names, then the record's best candidates."""
        person = self.p_people[i]
        if self.crowded(person):  # never a ranking of thousands of homonyms per record
            best = self.same_names_logins(person)
        else:
            best = self.ranked(person, self.block(person))
        return tuple(dict.fromkeys((*named, *best)))[: max(self.settings.candidates, 2)]

    def exact(self, i: int, p: PronoteAccount) -> Decision | None:
        person = self.p_people[i]
        if person.lost or not person.surname:
            return None
        same = self.by_names.get(person.names, [])
        if not same:
            return None
        if person.birth is None:
            if self.category is Category.RESPONSABLES:
                return None  # guardians are recognised through their children
            fitting = same
        else:
            fitting = [j for j in same if self.d_people[j].birth in (person.birth, None)]
            dated = [j for j in fitting if self.d_people[j].birth == person.birth]
            fitting = dated or fitting
        if not fitting:
            return None  # same names, other dates: left to the weak rules
        logins = self.logins(fitting)
        if len(fitting) > 1:
            return Decision(p, False, "ambiguous", candidates=logins, why="same_names_dates")
        if self.has_twin(person):
            return Decision(p, False, "duplicate_in_file", candidates=logins, why="twice_in_file")
        j = fitting[0]
        target = self.d_people[j]
        hazard = self.near_date_hazard(person, j)
        if hazard:
            return Decision(p, False, "ambiguous", candidates=(logins[0], *hazard), why="near_date")
        if self.taken_by_other(j, p.idpn):
            return self.taken(p, self.candidates[j])
        rule = "exact" if person.birth is not None and target.birth is not None else "exact_name"
        return Decision(p, True, rule, logins[0], 100, logins)

    def has_twin(self, person: _Person) -> bool:
        """Another file record of these names whose birth date does not rule it out."""
        if person.birth is None:
            return len(self.p_by_names.get(person.names, ())) > 1
        same = self.p_dated[person.names, person.birth] - 1
        undated = self.p_dated[person.names, None]
        return same + undated > 0

    def near_date_hazard(self, person: _Person, chosen: int) -> tuple[str, ...]:
        """Other candidates with close names and a birth date one typo away."""
        if person.birth is None:
            return ()
        found = []
        for j in self.block(person):
            if j == chosen:
                continue
            other = self.d_people[j]
            if _near_date(person.birth, other.birth) and self.close_names(person, other):
                found.append(self.candidates[j].login)
        return tuple(sorted(found))[: self.settings.candidates]

    def logins(self, indexes: Iterable[int]) -> tuple[str, ...]:
        """Candidates' logins in a stable order, whatever the directory's order.

        At most `settings.candidates` of them: a decision keeps the few logins
        the admin should look at first, never one per homonym (memory is
        bounded by candidates, not by records x homonyms).
        """
        return tuple(sorted(self.candidates[j].login for j in indexes))[: self.settings.candidates]

    def weak(self, i: int, claimed: set[str]) -> Decision:
        """Guardians through their children, then fuzzy; otherwise the reason and candidates."""
        p = self.pronote[i]
        person = self.p_people[i]
        if self.category is Category.RESPONSABLES:
            decision = self.through_children(i, p, claimed)
            if decision is None and self.owner.mode == "partiel":
                decision = self.guardian_by_name(i, p, claimed)
            if decision is not None:
                return decision
            if self.crowded(person):
                return self.too_many(i, p)
        elif not person.lost:
            decision = self.fuzzy(i, p, claimed)
            if decision is not None:
                return decision
        return self.unrecognised(i, p)

    def through_children(self, i: int, p: PronoteAccount, claimed: set[str]) -> Decision | None:
        kids = {k.casefold() for k in self.children.get(p.file_key or "", ())}
        if not kids:
            return None
        person = self.p_people[i]
        linked = sorted({j for kid in kids for j in self.guardians_of_student.get(kid, ())})
        if not linked:
            return None
        if len(linked) > BLOCK_LIMIT:
            limit = (("limit", str(BLOCK_LIMIT)),)
            logins = self.logins(linked)
            return Decision(p, False, "ambiguous", candidates=logins, why="too_many_homonyms",
                            params=limit)  # fmt: skip
        if person.lost:
            logins = self.logins(linked)
            return Decision(p, False, "lost_letters", candidates=logins)
        same = [j for j in linked if self.d_people[j].names == person.names]
        if len(same) > 1:
            logins = self.logins(same)
            return Decision(p, False, "ambiguous", candidates=logins, why="same_names_children")
        if len(same) == 1:
            if self.duplicate_guardian(i, same[0]):
                return Decision(
                    p, False, "duplicate_in_file", candidates=self.logins(same), why="twice_in_file"
                )
            return self.accept(p, same[0], claimed, "guardian_children", 100)
        return self.close_guardian(i, p, linked, kids, claimed)

    def duplicate_guardian(self, i: int, j: int) -> bool:
        """Another guardian of the file with the same names and no family of their own.

        Homonym parents of two families are told apart by their children; a
        same-named record whose children lead to no other account may be
        the same person entered twice in Pronote: the admin decides which.
        """
        namesakes = self.p_by_names.get(self.p_people[i].names, ())
        if len(namesakes) > BLOCK_LIMIT:
            return True  # too many to tell apart: a human decides
        for k in namesakes:
            if k == i:
                continue
            theirs = {c.casefold() for c in self.children.get(self.pronote[k].file_key or "", ())}
            elsewhere = {
                x
                for kid in theirs
                for x in self.guardians_of_student.get(kid, ())
                if x != j and self.d_people[x].names == self.p_people[i].names
            }
            if not elsewhere:
                return True
        return False

    def close_guardian(
        self, i: int, p: PronoteAccount, linked: list[int], kids: set[str], claimed: set[str]
    ) -> Decision | None:
        """Typos and married names among the children's guardians: one field equal.

        The candidate must be the only one of the children's guardians that
        fits, and no other guardian of those children in the file may fit it.
        """
        person = self.p_people[i]
        threshold = self.settings.fuzzy_threshold
        fitting = []
        for j in linked:
            other = self.d_people[j]
            first = _first_name_score(person, other)
            surname = _surname_score(person, other)
            if first == 100.0 or (surname == 100.0 and first >= threshold):
                fitting.append((j, first, surname))
        if len(fitting) != 1:
            return None
        j, first, surname = fitting[0]
        target = self.d_people[j]
        fellows = self.fellow_guardians(i, kids)
        if len(fellows) > BLOCK_LIMIT:
            return None
        for k in fellows:
            fellow = self.p_people[k]
            if _first_name_score(fellow, target) >= threshold:
                return None
        why = "married_name" if first == 100.0 and surname < threshold else ""
        score = int(min(first, surname) if not why else first)
        return self.accept(p, j, claimed, "fuzzy", score, why=why)

    def guardian_by_name(self, i: int, p: PronoteAccount, claimed: set[str]) -> Decision | None:
        """Partial mode: a guardian whose children all signed in already, on names alone.

        A partial file leaves out whoever signed in through the ENT, so a
        parent whose children did arrives with no child to vouch for them.
        The names are enough only where nobody else could be meant: no child
        of theirs in the file; the same names as exactly one guardian account
        of the establishment, and no other guardian, in the file or the
        directory, with close names (a typo, a compound name, swapped fields,
        LOUIS / LOUISE: what fuzzy matching could take for them);
        that account holds no identifier of the establishment (an account that
        holds one is never a target here); and it has children, all students
        of the establishment who hold an identifier of it and are not in the
        file, as children who signed in are. Anything less is for a human.
        """
        if p.file_key and p.file_key in self.children:
            return None  # a child in the file: only through that child
        person = self.p_people[i]
        if person.lost or not person.surname or not person.first_name:
            return None
        same = self.by_names.get(person.names, [])
        if len(same) != 1:
            return None
        j = same[0]
        if len(self.p_by_names.get(person.names, ())) > 1:
            return None  # a namesake in the file: a rival, found in O(1)
        # Bounded work: a person with thousands of close names, or a step that has
        # compared more than RIVAL_BUDGET names, leaves the rest for a human.
        cost = self.file_names.cost(person) + self.directory_names.cost(person)
        if cost > RIVAL_LIMIT or self._rival_work + cost > RIVAL_BUDGET:
            return None
        self._rival_work += cost
        if self.file_names.rivals(person, exclude=i) or self.directory_names.rivals(
            person, exclude=j
        ):
            return None
        account = self.candidates[j]
        if self.owner.stored_for(account) or not account.students:
            return None
        for login in account.students:
            child = self.owner.by_login(login)
            if child is None or self.owner.uai not in {u.upper() for u in child.establishments}:
                return None
            if not self.owner.profiles.matches(child, Category.ELEVES):
                return None
            held = self.owner.stored_for(child)
            if not held or any(idpn in self.in_file for idpn in held):
                return None
        return self.accept(p, j, claimed, "guardian_name", 100)

    @property
    def rival_threshold(self) -> float:
        """A rival is anyone fuzzy matching could take for the person (LOUIS/LOUISE too)."""
        return self.settings.fuzzy_threshold

    @functools.cached_property
    def file_names(self) -> _NameIndex:
        return _NameIndex(self.p_people, self.rival_threshold)

    @functools.cached_property
    def directory_names(self) -> _NameIndex:
        return _NameIndex(self.d_people, self.rival_threshold)

    def fellow_guardians(self, i: int, kids: set[str]) -> list[int]:
        """Other guardians of the file who share one of these recognised children."""
        return sorted({k for kid in kids for k in self.file_guardians_of.get(kid, ()) if k != i})

    def fuzzy(self, i: int, p: PronoteAccount, claimed: set[str]) -> Decision | None:
        person = self.p_people[i]
        threshold = self.settings.fuzzy_threshold
        scored = []
        for j in self.block(person):
            other = self.d_people[j]
            if not _dates_compatible(person.birth, other.birth) or other.lost:
                continue
            if person.birth is None and other.birth is None and self.category_needs_date():
                continue
            surname = _surname_score(person, other)
            first = _first_name_score(person, other)
            swapped = person.surname == other.first_name and person.first_name == other.surname
            if swapped:
                surname = first = 100.0
            if min(surname, first) < threshold or max(surname, first) < 100.0:
                continue  # one field must be equal, the other close
            scored.append(((surname + first) / 2, j))
        if not scored:
            return None
        scored.sort(key=lambda x: (-x[0], self.candidates[x[1]].login))
        best, j = scored[0]
        rivals = [s for s, k in scored[1:] if best - s < self.settings.fuzzy_margin]
        if rivals:
            logins = tuple(self.candidates[k].login for _, k in scored[: 1 + len(rivals)])
            return Decision(p, False, "ambiguous", candidates=logins, why="close_candidates")
        hazard = self.near_date_hazard(person, j)
        if hazard:
            return Decision(
                p,
                False,
                "ambiguous",
                candidates=(self.candidates[j].login, *hazard),
                why="near_date",
            )
        return self.accept(p, j, claimed, "fuzzy", int(best))

    def category_needs_date(self) -> bool:
        """Students and teachers have dates on both sides: two missing dates prove nothing."""
        return self.category in (Category.ELEVES, Category.ENSEIGNANTS)

    def accept(
        self, p: PronoteAccount, j: int, claimed: set[str], rule: str, score: int, why: str = ""
    ) -> Decision:
        """Link to candidate j unless a strong rule took it; two weak links to one
        account are undone together by `one_to_one`, whatever the file's order."""
        account = self.candidates[j]
        if account.login.casefold() in claimed:
            return Decision(
                p, False, "duplicate_in_file", candidates=(account.login,), why="already_claimed"
            )
        if self.taken_by_other(j, p.idpn):
            return self.taken(p, account)
        return Decision(p, True, rule, account.login, score, (account.login,), why=why)

    def taken(self, p: PronoteAccount, account: DirectoryAccount) -> Decision:
        stored = ", ".join(self.owner.stored_for(account))
        return Decision(
            p,
            False,
            "account_taken",
            candidates=(account.login,),
            params=(("login", account.login), ("stored", stored)),
        )

    def unrecognised(self, i: int, p: PronoteAccount) -> Decision:
        person = self.p_people[i]
        block = self.block(person)
        same_names = [j for j in self.by_names.get(person.names, [])]
        limit = self.settings.candidates
        if person.lost:
            logins = self.ranked(person, block)[:limit]
            return Decision(p, False, "lost_letters", candidates=logins)
        if same_names:
            logins = self.logins(same_names)[:limit]
            if self.category is Category.RESPONSABLES:
                return Decision(p, False, "uncertain", candidates=logins, why="no_child")
            if len(same_names) > 1 and person.birth is None:
                return Decision(p, False, "ambiguous", candidates=logins, why="same_names")
            return Decision(p, False, "date_differs", candidates=logins)
        logins = self.ranked(person, block)[:limit]
        if not logins:
            return Decision(p, False, "no_candidate")
        return Decision(p, False, "uncertain", candidates=logins)

    # -- blocking and ranking ----------------------------------------------------------------

    def block(self, person: _Person) -> list[int]:
        """Candidates worth comparing: same date, same surname or surname part, same names."""
        found: dict[int, None] = {}
        if person.birth is not None:
            found.update(dict.fromkeys(self.by_date.get(person.birth, ())))
        for key in (person.surname, *person.parts):
            found.update(dict.fromkeys(self.by_surname.get(key, ())))
        if person.birth is None or self.category is Category.RESPONSABLES:
            found.update(dict.fromkeys(self.by_names.get(person.names, ())))
        return list(found)

    def ranked(self, person: _Person, block: list[int]) -> tuple[str, ...]:
        scores = [
            (fuzz.ratio(person.full, self.d_people[j].full), self.candidates[j].login)
            for j in block
        ]
        scores = [s for s in scores if s[0] >= 50]
        scores.sort(key=lambda s: (-s[0], s[1]))
        return tuple(login for _, login in scores)

    def close_names(self, a: _Person, b: _Person) -> bool:
        return min(_surname_score(a, b), _first_name_score(a, b)) >= self.settings.fuzzy_threshold

    def names_agree(self, a: _Person, b: _Person) -> bool:
        """For a CAS login: the login is the evidence, names only must not contradict it."""
        if a.names == b.names:
            return True
        surname = _surname_score(a, b)
        first = _first_name_score(a, b)
        if a.lost or b.lost:
            return first >= 60 and surname >= 60
        return min(surname, first) >= 75 or (first == 100 and bool(a.parts & b.parts))

    def index_of(self, account: DirectoryAccount) -> int:
        return self.position[account.login.casefold()]

    # -- links are one-to-one ------------------------------------------------------------------

    def one_to_one(self, decisions: list[Decision]) -> list[Decision]:
        by_login: dict[str, list[int]] = defaultdict(list)
        for n, d in enumerate(decisions):
            if d.recognised and d.login:
                by_login[d.login.casefold()].append(n)
        for indexes in by_login.values():
            if len(indexes) < 2:
                continue
            keep = [n for n in indexes if decisions[n].rule == "already_linked"]
            keep = keep[:1] if len(keep) == 1 else []
            for n in indexes:
                if n in keep:
                    continue
                d = decisions[n]
                decisions[n] = replace(
                    d,
                    recognised=False,
                    rule="duplicate_in_file",
                    login=None,
                    score=None,
                    why="twice_in_file",
                )
        return decisions


def _listed(logins: Sequence[str], shown: int) -> str:
    """A few logins for a message, and how many more (never 80,000 names in one line)."""
    text = ", ".join(logins[:shown])
    return text + (f" (+{len(logins) - shown})" if len(logins) > shown else "")


def candidate_scores(
    queries: Sequence[str],
    choices: Sequence[str],
    limit: int,
    workers: int = -1,
    tiebreak: Sequence[str] | None = None,
) -> list[list[tuple[int, float]]]:
    """Top `limit` (index, score) of `choices` for each query, vectorised with cdist.

    Every choice tied with the k-th score is kept, unless `tiebreak` (a key
    per choice, e.g. the logins) is given: then the best twice `limit` by
    (score, key) are kept, chosen in numpy, so that neither memory nor time
    depends on how many homonyms tie, nor the result on the directory's order.
    At most `_SCORE_CELLS` scores are computed: past that (a directory or a
    file far beyond any school's), the distinct queries first in sort order
    get candidates, the others none beyond their own block.
    """
    if not queries or not choices:
        return [[] for _ in queries]
    import numpy as np  # only here: matching without candidates never needs it

    # One row per distinct query (homonyms share theirs), a few rows at a time:
    # memory is rows x choices, never queries x choices.
    distinct = list(dict.fromkeys(queries))
    if len(distinct) * len(choices) > _SCORE_CELLS:
        distinct = sorted(distinct)[: max(1, _SCORE_CELLS // len(choices))]
    k = min(limit, len(choices))
    keep = min(2 * limit, len(choices))
    rank = None
    if tiebreak is not None:
        rank = np.empty(len(choices), dtype=np.int64)
        rank[np.argsort(np.array(tiebreak, dtype=object), kind="stable")] = np.arange(len(choices))
    found: dict[str, list[tuple[int, float]]] = {}
    for start in range(0, len(distinct), _SCORE_ROWS):
        chunk = distinct[start : start + _SCORE_ROWS]
        matrix = process.cdist(chunk, choices, scorer=fuzz.ratio, dtype=np.uint8, workers=workers)
        if rank is not None:
            # One key per cell: best score first, then the tiebreak's order.
            keys = (255 - matrix.astype(np.int64)) * len(choices) + rank[None, :]
            best = np.argpartition(keys, keep - 1, axis=1)[:, :keep]
            for query, row, picks, row_keys in zip(chunk, matrix, best, keys, strict=True):
                picks = picks[np.argsort(row_keys[picks])]
                found[query] = [(int(c), float(row[c])) for c in picks if row[c] > 0]
            continue
        kth = -np.partition(-matrix.astype(np.int16), k - 1, axis=1)[:, k - 1]
        for query, row, floor in zip(chunk, matrix, kth, strict=True):
            # Every choice tied with the k-th score, then a stable cut: ties never
            # depend on the directory's order.
            picks = np.nonzero(row >= max(int(floor), 1))[0]
            found[query] = sorted(
                ((int(c), float(row[c])) for c in picks), key=lambda x: (-x[1], x[0])
            )
    return [found.get(query, []) for query in queries]


def summary(steps: Iterable[StepMatch]) -> dict[str, int]:
    steps = list(steps)
    return {
        "recognised": sum(len(s.recognised) for s in steps),
        "unrecognised": sum(len(s.unrecognised) for s in steps),
        "obsolete": sum(len(s.obsolete) for s in steps),
    }


def decision_json(decision: Decision, written: bool = False) -> dict[str, Any]:
    """One account of CONTRACT.md's report."""
    p = decision.pronote
    return {
        "idpn": p.idpn,
        "nom": p.surname,
        "prenom": p.first_name,
        "date_naissance": p.birth_date.isoformat() if p.birth_date else None,
        "status": decision.status,
        "rule": decision.rule,
        "account": decision.login,
        "score": decision.score,
        "candidates": list(decision.candidates),
        "written": written,
    }
