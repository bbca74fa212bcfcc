"""How the CSV adapter runs a search over its in-memory index (local_file._Index)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING

from core.model import CATEGORIES, Category

if TYPE_CHECKING:
    from directory_adapters.local_file import _Index

# Checking one account in Python costs about as much as putting this many ids
# of the sorted word index into a set; it decides how a search is run.
_CHECK_COST = 20

# Positions in an account row (the compact form of a DirectoryAccount).
_LOGIN, _SURNAME, _FIRST, _BIRTH, _PROFILES, _UAIS, _CLASSES, _STUDENTS, _IDS = range(9)


def _category_bit(category: Category) -> int:
    return 1 << CATEGORIES.index(category)


def _category_bits(categories: set[Category]) -> int:
    bits = 0
    for category in categories:
        bits |= _category_bit(category)
    return bits


class _Search:
    """One search, run one of two ways.

    *Collect*: take the ids of the rarest query word from the sorted word
    index (cheap, in C), narrow them with the other words, sort, and check
    the rest in order until `limit`. *Walk*: go through the accounts (or an
    establishment's accounts) in result order and check each one, stopping
    at `limit`; better when the rarest word still matches half the directory
    ("m") or when the establishment is small.
    """

    def __init__(
        self,
        index: _Index,
        words: list[str],
        login_prefix: str | None,
        category: Category | None,
        uai: str | None,
        universe: Sequence[int] | None,
        limit: int,
    ) -> None:
        self.index = index
        self.bit = _category_bit(category) if category is not None else 0
        self.login_prefix = login_prefix
        self.uai = uai
        self.universe = universe
        self.limit = limit
        self.exact = (0, 0)  # ids of the accounts whose surname is the whole query
        # (search-key patterns, ranges of the word index, entries), rarest first
        self.words = []
        for word in words:
            ranges = [index.prefix_range(w) for w in dict.fromkeys([word, word.lower()])]
            patterns = (" " + word, " " + word.lower())
            self.words.append((patterns, ranges, sum(hi - lo for lo, hi in ranges)))
        self.words.sort(key=lambda entry: entry[2])
        self.login_range = index.prefix_range(login_prefix) if login_prefix else (0, 0)

    def run(self) -> list[int]:
        rarest = self.words[0][2] if self.words else 0
        logins = self.login_range[1] - self.login_range[0]
        if rarest + logins == 0:
            return []
        if self.universe is not None and len(self.universe) * _CHECK_COST <= rarest + logins:
            return self.walk(budget=len(self.universe)) or []
        if self.universe is None and rarest * 8 > len(self.index.rows):
            found = self.walk(budget=max(2000, (rarest + logins) // _CHECK_COST))
            if found is not None:
                return found
        return self.collect()

    def matches(self, i: int) -> bool:
        index = self.index
        if self.bit and not index.category_bits[i] & self.bit:
            return False
        if self.words:
            key = index.search_keys[i]
            if all(upper in key or lower in key for (upper, lower), _, _ in self.words):
                return True
        return self.login_prefix is not None and index.logins[i].startswith(self.login_prefix)

    def walk(self, budget: int) -> list[int] | None:
        """Accounts in result order, checked one by one; None past the budget."""
        first, last = self.exact
        universe = self.universe
        if universe is None:
            total = len(self.index.rows)
            ordered: Iterator[int] = chain(range(first, last), range(first), range(last, total))
        else:
            lo, hi = bisect_left(universe, first), bisect_left(universe, last)
            ordered = chain(
                (universe[k] for k in range(lo, hi)),
                (universe[k] for k in range(lo)),
                (universe[k] for k in range(hi, len(universe))),
            )
        found: list[int] = []
        matches = self.matches
        for checked, i in enumerate(ordered):
            if checked >= budget:
                return None
            if matches(i):
                found.append(i)
                if len(found) >= self.limit:
                    break
        return found

    def collect(self) -> list[int]:
        """Candidates from the word index, narrowed in C, then checked in order."""
        index = self.index
        ids = index.word_ids
        candidates: set[int] = set()
        unchecked = []  # patterns of the words the candidates were not narrowed by
        if self.words and self.words[0][2]:
            _, ranges, _ = self.words[0]
            for lo, hi in ranges:
                candidates.update(ids[lo:hi])
            for patterns, ranges, count in self.words[1:]:
                if count > 4 * len(candidates):
                    unchecked.append(patterns)  # cheaper to check the few left
                    continue
                narrowed: set[int] = set()
                for lo, hi in ranges:
                    narrowed.update(ids[lo:hi])
                candidates &= narrowed
        lo, hi = self.login_range
        by_login = {i for i in ids[lo:hi] if index.logins[i].startswith(self.login_prefix)}
        candidates |= by_login
        if self.universe is not None:
            if len(self.universe) <= len(candidates):
                candidates &= set(self.universe)
            else:
                rows = index.rows
                candidates = {i for i in candidates if self.uai in rows[i][_UAIS]}
        ordered = sorted(candidates)
        first, last = self.exact
        lo, hi = bisect_left(ordered, first), bisect_left(ordered, last)
        found: list[int] = []
        bits, bit, keys = index.category_bits, self.bit, index.search_keys
        for i in chain(ordered[lo:hi], ordered[:lo], ordered[hi:]):
            if bit and not bits[i] & bit:
                continue
            if unchecked and i not in by_login:
                key = keys[i]
                if not all(upper in key or lower in key for upper, lower in unchecked):
                    continue
            found.append(i)
            if len(found) >= self.limit:
                break
        return found
