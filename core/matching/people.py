"""People prepared for comparison, and how close two of them are.

A name is normalised once per person (`_Person`), then compared field by
field: `_surname_score` and `_first_name_score` (0..100, rapidfuzz with the
French exceptions: compound and swapped names close, LOUIS / LOUISE never),
`_near_date` for a mistyped birth date. `_NameIndex` finds who could be
taken for someone; `candidate_scores` ranks a step's unrecognised records
against every account at once, vectorised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz, process

from core.matching.bounds import SCORE_CELLS, SCORE_ROWS
from core.names import compact_name, has_lost_letters, name_parts, normalise_name

# Endings that turn a first name into another person's: LOUIS/LOUISE,
# MICHEL/MICHELE, DANIEL/DANIELLE, JEAN/JEANNE, CHRISTIAN/CHRISTIANE.
_GENDER_ENDINGS = ("E", "LE", "NE", "TE", "A", "INE", "ETTE")
_COMPOUND_SCORE = 92.0


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
            surname=compact_name(surname),
            first_name=compact_name(first_name),
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


def _near_date(a: date | None, b: date | None) -> bool:
    """One component away, or day and month swapped: a typo of one another."""
    if a is None or b is None or a == b:
        return False
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    swapped = a.year == b.year and a.day == b.month and a.month == b.day
    return same == 2 or swapped


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
        """The groups of first names close to the person's, computed once per first name."""
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
        for members in self._groups(person):
            found += [
                n for n in members if _surname_score(person, self.people[n]) >= self.threshold
            ]
        return sorted({n for n in found if n != exclude})


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
    At most `SCORE_CELLS` scores are computed: past that (a directory or a
    file far beyond any school's), the distinct queries first in sort order
    get candidates, the others none beyond their own block.
    """
    if not queries or not choices:
        return [[] for _ in queries]
    import numpy as np  # only here: matching without candidates never needs it

    # One row per distinct query (homonyms share theirs), a few rows at a time:
    # memory is rows x choices, never queries x choices.
    distinct = list(dict.fromkeys(queries))
    if len(distinct) * len(choices) > SCORE_CELLS:
        distinct = sorted(distinct)[: max(1, SCORE_CELLS // len(choices))]
    k = min(limit, len(choices))
    keep = min(2 * limit, len(choices))
    rank = None
    if tiebreak is not None:
        rank = np.empty(len(choices), dtype=np.int64)
        rank[np.argsort(np.array(tiebreak, dtype=object), kind="stable")] = np.arange(len(choices))
    found: dict[str, list[tuple[int, float]]] = {}
    for start in range(0, len(distinct), SCORE_ROWS):
        chunk = distinct[start : start + SCORE_ROWS]
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
