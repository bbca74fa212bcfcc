"""What a directory holds, and whether idpronote may write to it: setup's and `config check`'s look.

`survey` counts the person entries per profile value and per establishment,
picks one account to show through the attribute mapping, and checks the
write access, without changing anything:

- LDAP: one paged search per base, for a handful of attributes; a size,
  time or administrative limit of the server stops the count without error
  (`capped`, the counts are then lower bounds). The write check sends, on the
  sample's entry, a modify that deletes a value the entry does not hold: the
  server refuses it, and why it refuses tells whether idpronote may write
  (RFC 4511: noSuchAttribute, it may; insufficientAccessRights, it may not;
  undefinedAttributeType, the schema lacks the attribute).
- CSV and LDIF: a pass over the rows in memory; the write check asks the
  file system (os.access) whether the file (CSV) or the changes file (LDIF)
  could be written. No file is created or changed.

`propose_profiles` turns the profile values found into a `[profiles]`
proposal the admin confirms.

Nothing here holds a secret: descriptions, details and problems are made
from the directory's answers with the bind password scrubbed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from core.i18n import register, t
from core.model import CATEGORIES, Category, DirectoryAccount, ProfileMapping
from directory_adapters.base import NOT_CHECKED, Census, Directory, WriteCheck

register(
    {
        "dir.survey.not_checked": (
            "le droit d'écriture n'a pas été vérifié",
            "the write access was not checked",
        ),
    }
)

__all__ = ["Census", "Survey", "WriteCheck", "propose_profiles", "survey"]

DEFAULT_LIMIT = 500_000


@dataclass(frozen=True)
class Survey:
    """What `survey` found."""

    description: str  # directory.describe()
    total: int  # accounts counted (entries idpronote cannot read are in `problems`)
    capped: bool  # a limit stopped the count: the counts are "at least"
    profiles: dict[str, int]  # raw profile value -> accounts holding it, most first
    establishments: dict[str, int]  # UAI (or an unresolvable structure DN) -> accounts
    sample: DirectoryAccount | None  # one account as the attribute mapping reads it
    write: WriteCheck
    problems: tuple[str, ...]  # counted, one line each


def survey(directory: Directory, *, write_check: bool = True, limit: int = DEFAULT_LIMIT) -> Survey:
    """Count, sample and check `directory` (at most `limit` entries are counted).

    Raises `DirectoryError` when the directory cannot be read at all (lost
    connection, timeout, a base that does not exist); a limit that stops the
    count is not an error. With `write_check=False` nothing is sent beyond reads.
    """
    census: Census = directory.census(limit)
    if write_check:
        write = directory.write_check(census.sample)
    else:
        write = WriteCheck(NOT_CHECKED, directory.identifier_field(), t("dir.survey.not_checked"))
    # The adapters never put the bind password in a message; scrubbed again all the same.
    credentials = getattr(directory, "credentials", None)
    scrub: Callable[[str], str] = getattr(credentials, "scrub", lambda text: text)
    return Survey(
        description=scrub(directory.describe()),
        total=census.total,
        capped=census.capped,
        profiles=_most_first(census.profiles),
        establishments=_most_first(census.establishments),
        sample=census.sample,
        write=replace(write, detail=scrub(write.detail)),
        problems=tuple(scrub(problem) for problem in census.problems),
    )


def _most_first(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# -- proposing [profiles] -----------------------------------------------------------------------

# Words (accents and case ignored) that name a category in the profile values French
# ENTs use. A value is classified when its words point at exactly one category.
_WORDS: dict[Category, frozenset[str]] = {
    Category.ENSEIGNANTS: frozenset(
        {"ens", "enseignant", "enseignants", "enseignante", "teacher", "teachers", "professeur"}
    ),
    Category.ELEVES: frozenset({"elv", "eleve", "eleves", "student", "students", "pupil"}),
    Category.RESPONSABLES: frozenset(
        {"tut", "parent", "parents", "responsable", "responsables", "guardian", "guardians"}
    ),
    Category.MAITRES_DE_STAGE: frozenset({"mds"}),
    Category.INSPECTEURS: frozenset({"ins", "inspecteur", "inspecteurs", "inspector"}),
    Category.PERSONNELS: frozenset(
        {"doc", "dir", "evs", "eta", "col", "personnel", "personnels", "staff"}
    ),
}
# Phrases, searched in the value's words run together.
_PHRASES: dict[Category, tuple[str, ...]] = {
    Category.MAITRES_DE_STAGE: ("maitredestage", "maitresdestage", "tuteurdestage"),
}
_NOT_WORD = re.compile(r"[^0-9a-z]+")


def _words(value: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", value.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return [word for word in _NOT_WORD.split(plain) if word]


def classify_profile(value: str) -> Category | None:
    """The category a profile value plainly names, or None (unknown or ambiguous)."""
    words = _words(value)
    joined = "".join(words)
    found = {
        category
        for category, phrases in _PHRASES.items()
        if any(phrase in joined for phrase in phrases)
    }
    if not found:
        if "stage" in words:
            return None  # "responsable de stage": about internships, but whose?
        found = {
            category for category, names in _WORDS.items() if any(word in names for word in words)
        }
    return found.pop() if len(found) == 1 else None


def propose_profiles(
    found: Mapping[str, int], current: ProfileMapping
) -> dict[Category, tuple[str, ...]]:
    """Profile values per category, proposed from the values actually found:
    keep every configured value that exists in `found`; add found values that
    are recognisably the category's (case-insensitive heuristics on common French ENT
    spellings: National_ENS / ENS / Enseignant / teacher -> ENSEIGNANTS; National_ELV / ELV /
    Eleve / student -> ELEVES; National_TUT / TUT / Parent / Responsable / guardian ->
    RESPONSABLES; National_MDS / maitre de stage -> MAITRES_DE_STAGE; National_INS /
    Inspecteur -> INSPECTEURS; National_DOC, National_DIR, National_EVS, National_ETA,
    National_COL / Personnel / staff -> PERSONNELS); a category with nothing found keeps its
    configured values; never put one value in two categories.

    Values are spelt as the directory spells them; kept values come first, in the
    configured order, then the values recognised, most accounts first.
    """
    spelling: dict[str, str] = {}
    for value, _count in sorted(found.items(), key=lambda item: (-item[1], item[0])):
        if value.strip():
            spelling.setdefault(value.casefold(), value)
    taken: set[str] = set()
    proposal: dict[Category, list[str]] = {category: [] for category in CATEGORIES}
    for category in CATEGORIES:  # configured and found: kept (the first category wins)
        for value in current.profiles_of(category):
            key = value.casefold()
            if key in spelling and key not in taken:
                taken.add(key)
                proposal[category].append(spelling[key])
    for key, value in spelling.items():  # found, not configured: recognised or left out
        if key in taken:
            continue
        category = classify_profile(value)
        if category is not None:
            taken.add(key)
            proposal[category].append(value)
    for category in CATEGORIES:  # nothing found: as configured
        if proposal[category]:
            continue
        for value in current.profiles_of(category):
            key = value.casefold()
            if key not in taken:
                taken.add(key)
                proposal[category].append(value)
    return {category: tuple(values) for category, values in proposal.items()}
