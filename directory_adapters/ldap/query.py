"""Search filters for LDAP: escaped words, guessed accents, entries read without ldap3 objects."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations, product
from typing import Any

from ldap3.utils.conv import escape_filter_chars

from core.model import (
    DirectoryAccount,
)
from core.names import normalise_name
from directory_adapters.file_index import significant
from directory_adapters.ldap.settings import INNER_WORD_MIN, MAX_QUERY, MAX_SPELLINGS
from directory_adapters.mapping import AttributeMapping

_ACCENTED = {"a": "àâä", "c": "ç", "e": "éèêë", "i": "îï", "o": "ôö", "u": "ùûü", "y": "ÿ"}
# The accents French names combine within one word.
_PAIRED = {"e": "éè", "o": "ô", "i": "ï"}
_DN_SPACES = re.compile(r"\s*([,=+])\s*")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True, slots=True)
class _Entry:
    dn: str
    # lower-case attribute name -> values as text
    attributes: dict[str, list[str]]

    def values(self, attribute: str) -> list[str]:
        return self.attributes.get(attribute.lower(), [])


def _entry(response: Mapping[str, Any]) -> _Entry:
    attributes = {}
    for name, raw in response["raw_attributes"].items():
        attributes[name.lower()] = [
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in raw
        ]
    return _Entry(response["dn"], attributes)


def _dn_key(dn: str) -> str:
    """A cache key for a DN: case and spaces around separators do not matter."""
    dn = dn.strip()
    if _SPACE.search(dn):  # rare; substituting costs (20,000 DNs in a write batch)
        dn = _DN_SPACES.sub(_separator, dn)
    return dn.lower()


def _separator(match: re.Match[str]) -> str:
    return match.group(1)


# -- filters ----------------------------------------------------------------------------------


def _equals(attribute: str, value: str) -> str:
    return f"({attribute}={escape_filter_chars(value)})"


def _any_of(parts: Iterable[str]) -> str:
    parts = list(dict.fromkeys(p for p in parts if p))
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else "(|" + "".join(parts) + ")"


def _all_of(parts: Iterable[str]) -> str:
    parts = [p for p in parts if p]
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else "(&" + "".join(parts) + ")"


def _fold(text: str) -> str:
    """Lower case, accents removed, everything else kept (`D'Hé` -> `d'he`)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _spellings(word: str) -> list[str]:
    """A query word as the server may store it: as typed, unaccented, with accents guessed.

    One letter accented at a time, then two of é, è, ô, ï together (Hélène,
    Frédéric, Jérôme), at most MAX_SPELLINGS in all.
    """
    plain = _fold(word)
    found = dict.fromkeys([word.casefold(), plain])
    for spelling in _accents_guessed(plain):
        if len(found) >= MAX_SPELLINGS:
            break
        found[spelling] = None
    return list(found)


def _accents_guessed(plain: str) -> Iterator[str]:
    for i, letter in enumerate(plain):
        for accented in _ACCENTED.get(letter, ""):
            yield plain[:i] + accented + plain[i + 1 :]
    paired = [i for i, letter in enumerate(plain) if letter in _PAIRED]
    for first, second in combinations(paired, 2):
        for a, b in product(_PAIRED[plain[first]], _PAIRED[plain[second]]):
            yield plain[:first] + a + plain[first + 1 : second] + b + plain[second + 1 :]


@dataclass
class _Query:
    """A search-as-you-type query: the words to match, and how to ask the server."""

    text: str
    words: list[str]  # normalised (upper-case ASCII), as the CSV directory compares them
    login_prefix: str
    tokens: list[tuple[str, list[str]]] = field(default_factory=list)  # raw token, its words

    @classmethod
    def parse(cls, text: str) -> _Query | None:
        query = " ".join(str(text).split())[:MAX_QUERY]
        if not query:
            return None
        words = significant(normalise_name(query).split())
        tokens = [(token, normalise_name(token).split()) for token in query.split()]
        return cls(query, words, query.lower(), tokens)

    def matches(self, account: DirectoryAccount) -> bool:
        """The exact rule, the CSV directory's: see the module's docstring."""
        login = account.login.lower()
        if login.startswith(self.login_prefix):
            return True
        if not self.words:
            return False
        own = [
            *normalise_name(account.surname).split(),
            *normalise_name(account.first_name).split(),
        ]
        return all(
            login.startswith(word.lower()) or any(name.startswith(word) for name in own)
            for word in self.words
        )

    def server_filter(self, mapping: AttributeMapping, scoped: bool) -> str:
        """A filter that finds (at least) what `matches` accepts, but for the documented limits.

        Substrings inside a value ("bris" in "Le Bris") are indexed from
        INNER_WORD_MIN letters on; shorter ones would make the server read
        every entry. They are sent anyway when something else narrows the
        search first: an establishment (`scoped`), or, in a query of several
        words, its longest word, which then drives the server's index alone.
        """
        names = [a for a in (mapping.attribute("nom"), mapping.attribute("prenom")) if a]
        login = mapping.attribute("login")
        driver = max(self.words, key=len, default="")
        per_word: dict[str, list[str]] = {}
        for token, token_words in self.tokens:
            for word in token_words:
                if word not in self.words:
                    continue  # implied by a longer word
                parts = per_word.setdefault(word, [])
                # The raw token too: "d'art" finds D'ARTAGNAN, whose word "ART"
                # is no prefix of anything the server can see.
                sources = [word] if token.casefold() == word.casefold() else [word, token]
                for source in sources:
                    inner = scoped or word != driver or len(_fold(source)) >= INNER_WORD_MIN
                    parts += self._word_parts(source, names, login, inner)
        words_filter = _all_of(_any_of(parts) for parts in per_word.values())
        by_login = ""
        if " " not in self.text:
            by_login = f"({login}={escape_filter_chars(self.login_prefix)}*)"
        return _any_of(p for p in (words_filter, by_login) if p)

    @staticmethod
    def _word_parts(word: str, names: list[str], login: str, inner: bool) -> list[str]:
        """Prefixes of the names and login, in every spelling; substrings if `inner`."""
        spellings = _spellings(word)
        parts = []
        for attribute in names:
            parts += [f"({attribute}={escape_filter_chars(s)}*)" for s in spellings]
            if inner:
                parts += [f"({attribute}=*{escape_filter_chars(s)}*)" for s in spellings[:2]]
        parts += [f"({login}={escape_filter_chars(s)}*)" for s in spellings[:2]]
        return parts


def _sort_key(exact: str) -> Callable[[DirectoryAccount], tuple]:
    def key(account: DirectoryAccount) -> tuple:
        surname = normalise_name(account.surname)
        return (
            surname != exact,
            surname,
            normalise_name(account.first_name),
            account.login.lower(),
        )

    return key


# -- the directory ----------------------------------------------------------------------------
