"""One step's work: indexes on both sides, then the rules, strongest first.

`_Step` prepares the people of one category once (by names, birth date and
surname), then decides every record: the strong rules first (stored
evidence, then `exact`), the weak ones for the rest (guardians through
their children, `fuzzy`), then candidates for the unrecognised, and
`one_to_one` undoes two links to one account. The stored-evidence rules are
in `evidence`, the guardians' in `guardians`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date
from typing import Protocol

from rapidfuzz import fuzz

from core.matching.bounds import BLOCK_LIMIT
from core.matching.decisions import Decision, MatchSettings
from core.matching.evidence import _StoredEvidence
from core.matching.guardians import _GuardianRules
from core.matching.people import (
    _first_name_score,
    _near_date,
    _Person,
    _surname_score,
    candidate_scores,
)
from core.model import Category, DirectoryAccount, ProfileMapping, PronoteAccount, RememberedLink
from core.names import dates_compatible


class StepOwner(Protocol):
    """What a step reads of the establishment's matching (`Reconciliation`): named here,
    so that the step does not import the module that drives it."""

    uai: str
    mode: str
    profiles: ProfileMapping
    settings: MatchSettings
    stored: Mapping[str, Sequence[DirectoryAccount]]
    remembered: Mapping[str, RememberedLink]

    def person(self, account: DirectoryAccount) -> _Person: ...

    def candidates_of(self, category: Category) -> list[DirectoryAccount]: ...

    def stored_for(self, account: DirectoryAccount) -> tuple[str, ...]: ...

    def by_login(self, login: str | None) -> DirectoryAccount | None: ...


class _Step(_StoredEvidence, _GuardianRules):
    """The working state of one step: indexes on both sides, then the rules in order."""

    def __init__(
        self,
        owner: StepOwner,
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

    def fuzzy(self, i: int, p: PronoteAccount, claimed: set[str]) -> Decision | None:
        person = self.p_people[i]
        threshold = self.settings.fuzzy_threshold
        scored = []
        for j in self.block(person):
            other = self.d_people[j]
            if not dates_compatible(person.birth, other.birth) or other.lost:
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
