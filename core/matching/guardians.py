"""The guardians' rules: through their children, and in partial mode on names alone.

A guardian carries no birth date, so names are never enough where children
can speak: `guardian_children` links a guardian to the account the
directory already names as a parent of a child the students' step
recognised; `guardian_name` (partial mode only) links, on names alone, a
guardian none of whose children is in the file, when nobody else could be
meant.
"""

from __future__ import annotations

import functools

from core.matching.bounds import BLOCK_LIMIT, RIVAL_BUDGET, RIVAL_LIMIT
from core.matching.decisions import Decision
from core.matching.people import _first_name_score, _NameIndex, _surname_score
from core.model import Category, PronoteAccount


class _GuardianRules:
    """`through_children` and `guardian_by_name`, mixed into `_Step`.

    They read the step's indexes of guardians by child and use its helpers
    (`accept`, `logins`).
    """

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
