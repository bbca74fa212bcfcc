"""What the CSV and LDIF adapters hold in memory to answer every read: `AccountIndex`.

Both read a whole directory file, then number its accounts in (surname,
first name, login) order, the order of search results, so that sorting ids
sorts results. On those ids they keep the same lookups: by login, by
establishment, the bit set of each account's categories, the canonical
identifier values each account stores, and a sorted list of every name and
login word for prefix search. This module builds those lookups, runs a
search over them (`_Search`) and counts a census; each adapter keeps only
how it stores an account (`account`, `establishments`, `profiles`, `born`).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain

from core.model import CATEGORIES, Category, DirectoryAccount
from core.names import normalise_name
from directory_adapters.base import (
    BEST_SAMPLE,
    Census,
    SearchQuery,
    sample_rank_of,
    spread,
    summarise_problems,
)

__all__ = ["AccountIndex", "category_bit", "category_bits", "prefix_range", "significant"]

# Checking one account in Python costs about as much as putting this many ids
# of the sorted word index into a set; it decides how a search is run.
_CHECK_COST = 20


def significant(words: list[str]) -> list[str]:
    """The query words that say something: a word that starts another is implied by it."""
    unique = list(dict.fromkeys(words))
    return [w for w in unique if not any(o != w and o.startswith(w) for o in unique)]


def prefix_range(words: Sequence[str], prefix: str) -> tuple[int, int]:
    """The slice of the sorted `words` that start with `prefix`."""
    lo = bisect_left(words, prefix)
    return lo, bisect_left(words, prefix + "\U0010ffff", lo)


def category_bit(category: Category) -> int:
    return 1 << CATEGORIES.index(category)


def category_bits(categories: set[Category]) -> int:
    bits = 0
    for category in categories:
        bits |= category_bit(category)
    return bits


class AccountIndex:
    """One loaded state of a directory file: replaced whole on reload, patched by a write.

    A subclass says how it stores an account; the lookups are the same for all.
    """

    __slots__ = (
        "by_login",  # lower-case login -> id
        "by_uai",  # UAI -> ids, ascending
        "category_bits",  # id -> bit set of the Category positions
        "duplicates",  # lower-case login -> lines, for logins read more than once
        "holders",  # canonical identifier value -> ids storing it
        "logins",  # id -> lower-case login
        "problems",  # what could not be read as given (DirectoryProblem)
        "search_keys",  # id -> " SURNAME WORDS FIRST WORDS login"
        "surnames",  # id -> normalised surname (ascending, for bisect)
        "word_ids",  # the account of each entry of `words`
        "words",  # every search word, sorted
    )

    # -- how a subclass stores an account --------------------------------------------------

    def __len__(self) -> int:
        raise NotImplementedError

    def account(self, i: int) -> DirectoryAccount:
        raise NotImplementedError

    def establishments(self, i: int) -> tuple[str, ...]:
        raise NotImplementedError

    def profiles(self, i: int) -> tuple[str, ...]:
        raise NotImplementedError

    def born(self, i: int) -> bool:
        """Does account `i` have a birth date?"""
        raise NotImplementedError

    # -- building ------------------------------------------------------------------------------

    def index_names(
        self,
        keys: Sequence[tuple[str, str, str]],
        establishments: Iterable[tuple[str, ...]],
        bits: bytearray,
        shared: dict[str, str],
    ) -> None:
        """Every lookup but the holders, from each account's (normalised surname, normalised
        first name, lower-case login) in id order, its establishments and category bits.

        `shared` maps a string to its one copy (words of compound names are new strings).
        """
        self.surnames = [key[0] for key in keys]
        self.logins = [key[2] for key in keys]
        self.by_login = {login: i for i, login in enumerate(self.logins)}
        self.category_bits = bits
        by_uai: dict[str, list[int]] = {}
        words: list[str] = []
        word_ids: list[int] = []
        search_keys: list[str] = []
        for i, (uais, (surname, first_name, login)) in enumerate(
            zip(establishments, keys, strict=True)
        ):
            for uai in uais:
                by_uai.setdefault(uai, []).append(i)
            own = [*surname.split(), *first_name.split(), login]
            if len(own) > 3:
                # Words of compound names are new strings: share them. (A
                # one-word name splits into itself, already shared.)
                own = list(dict.fromkeys(shared.setdefault(w, w) for w in own))
            elif len(set(own)) < len(own):
                own = list(dict.fromkeys(own))
            words.extend(own)
            word_ids.extend([i] * len(own))
            search_keys.append(" " + " ".join(own))
        # Stable: the entries of one word keep ascending ids.
        order = sorted(range(len(words)), key=words.__getitem__)
        self.words = [words[k] for k in order]
        self.word_ids = array("i", [word_ids[k] for k in order])
        self.search_keys = search_keys
        self.by_uai = {uai: array("i", ids) for uai, ids in by_uai.items()}

    # -- reading -------------------------------------------------------------------------------

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        return prefix_range(self.words, prefix)

    def with_login(self, login: str) -> DirectoryAccount | None:
        i = self.by_login.get(login.strip().lower())
        return None if i is None else self.account(i)

    def of_establishment(self, uai: str, category: Category | None) -> list[DirectoryAccount]:
        ids = self.by_uai.get(uai.strip().upper(), ())
        if category is None:
            return [self.account(i) for i in ids]
        bit = category_bit(category)
        bits = self.category_bits
        return [self.account(i) for i in ids if bits[i] & bit]

    def holding(self, key: str) -> list[DirectoryAccount]:
        """The accounts storing the canonical identifier value `key`, in result order."""
        return [self.account(i) for i in sorted(self.holders.get(key, ()))]

    def every_account(self) -> Iterator[DirectoryAccount]:
        return (self.account(i) for i in range(len(self)))

    def found(self, query: SearchQuery) -> list[int]:
        """The ids `Directory.search` returns, in its order: each word a prefix of a
        surname, first-name or login word, or the text a prefix of the login; the
        accounts whose surname is the whole text first."""
        if query.empty or not len(self):
            return []
        normalised = " ".join(normalise_name(query.text).split())
        words = significant(normalised.split())
        login_prefix: str | None = query.text.lower()
        if len(words) == 1 and words[0].lower() == login_prefix:
            login_prefix = None  # the word's own login lookup covers it
        universe = None
        if query.uai is not None:
            universe = self.by_uai.get(query.uai)
            if not universe:
                return []
        search = _Search(self, words, login_prefix, query.category, query.uai, universe)
        if normalised:
            search.exact = (
                bisect_left(self.surnames, normalised),
                bisect_right(self.surnames, normalised),
            )
        return search.run(query.limit)

    def census(self, limit: int, *, things: str, login: str, surname: str) -> Census:
        """A pass over the accounts in memory (no DirectoryAccount made but the sample's);
        `things`, `login`, `surname` name the problems (see `summarise_problems`)."""
        count = min(len(self), max(limit, 0))
        census = Census(total=count, capped=len(self) > count)
        census.profiles = spread(Counter(self.profiles(i) for i in range(count)))
        census.establishments = spread(Counter(self.establishments(i) for i in range(count)))
        best, chosen = -1, None
        for i in range(count):
            rank = sample_rank_of(
                bool(self.category_bits[i]), bool(self.establishments(i)), self.born(i)
            )
            if rank > best:
                best, chosen = rank, i
                if best >= BEST_SAMPLE:
                    break
        census.sample = None if chosen is None else self.account(chosen)
        census.problems = summarise_problems(
            self.problems, things=things, login=login, surname=surname
        )
        return census


class _Search:
    """One search, run one of two ways.

    *Collect*: take the ids of the rarest query word from the sorted word
    index (cheap, in C), narrow them with the other words, sort, and check
    the rest in order until the limit. *Walk*: go through the accounts (or an
    establishment's accounts) in result order and check each one, stopping
    at the limit; better when the rarest word still matches half the directory
    ("m") or when the establishment is small.
    """

    def __init__(
        self,
        index: AccountIndex,
        words: list[str],
        login_prefix: str | None,
        category: Category | None,
        uai: str | None,
        universe: Sequence[int] | None,
    ) -> None:
        self.index = index
        self.bit = category_bit(category) if category is not None else 0
        self.login_prefix = login_prefix
        self.uai = uai
        self.universe = universe
        self.limit = 0
        self.exact = (0, 0)  # ids of the accounts whose surname is the whole query
        # (search-key patterns, ranges of the word index, entries), rarest first
        self.words = []
        for word in words:
            ranges = [index.prefix_range(w) for w in dict.fromkeys([word, word.lower()])]
            patterns = (" " + word, " " + word.lower())
            self.words.append((patterns, ranges, sum(hi - lo for lo, hi in ranges)))
        self.words.sort(key=lambda entry: entry[2])
        self.login_range = index.prefix_range(login_prefix) if login_prefix else (0, 0)

    def run(self, limit: int) -> list[int]:
        self.limit = limit
        rarest = self.words[0][2] if self.words else 0
        logins = self.login_range[1] - self.login_range[0]
        if rarest + logins == 0:
            return []
        if self.universe is not None and len(self.universe) * _CHECK_COST <= rarest + logins:
            return self.walk(budget=len(self.universe)) or []
        if self.universe is None and rarest * 8 > len(self.index):
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
            total = len(self.index)
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
                candidates = {i for i in candidates if self.uai in index.establishments(i)}
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
