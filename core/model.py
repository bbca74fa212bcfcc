"""The domain's nouns: categories, Pronote accounts, directory accounts, changes.

Everything here is a frozen value: the reader builds them, matching compares
them, the wizard decides on them, adapters write them. Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import Enum


class Category(Enum):
    """The six Pronote categories, in the wizard's order.

    Students come before guardians: a guardian is best recognised through the
    children already matched.
    """

    #         slug                label (fr)                   label (en)
    ENSEIGNANTS = ("enseignants", "Enseignants", "Teachers")
    ELEVES = ("eleves", "Élèves", "Students")
    RESPONSABLES = ("responsables", "Responsables", "Guardians")
    MAITRES_DE_STAGE = ("maitres_de_stage", "Maîtres de stage", "Internship supervisors")
    INSPECTEURS = ("inspecteurs", "Inspecteurs pédagogiques", "Inspectors")
    PERSONNELS = ("personnels", "Personnels", "Staff")

    def __init__(self, slug: str, label_fr: str, label_en: str) -> None:
        self.slug = slug
        self.label_fr = label_fr
        self.label_en = label_en

    def label(self, lang: str = "fr") -> str:
        return self.label_en if lang == "en" else self.label_fr

    @property
    def step(self) -> int:
        """1-based position in the wizard ("Étape 2/6")."""
        return CATEGORIES.index(self) + 1

    @classmethod
    def from_slug(cls, slug: str) -> Category:
        for category in cls:
            if category.slug == slug:
                return category
        raise ValueError(f"unknown category {slug!r}; expected one of {', '.join(SLUGS)}")


CATEGORIES: tuple[Category, ...] = tuple(Category)
SLUGS: tuple[str, ...] = tuple(c.slug for c in CATEGORIES)

IDPN_PATTERN = re.compile(r"[A-Z0-9]{16}")
UAI_PATTERN = re.compile(r"[0-9]{7}[A-Z]")


def is_valid_idpn(value: str) -> bool:
    """A Pronote identifier is exactly 16 upper-case letters and digits."""
    return IDPN_PATTERN.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class PronoteAccount:
    """One person of the identifiers file."""

    idpn: str
    category: Category
    surname: str
    first_name: str
    birth_date: date | None = None
    class_name: str | None = None
    cas_login: str | None = None
    # The file's local key (`Ident`): how students point at their guardians.
    file_key: str | None = None
    # For a student: the file keys of their guardians, in file order.
    guardian_keys: tuple[str, ...] = ()
    # Fields the project does not interpret (CodePostal, Entreprise, ...).
    other_fields: tuple[tuple[str, str], ...] = ()
    # 1-based line of the record in the file, for every message about it.
    line: int = 0

    @property
    def display_name(self) -> str:
        return f"{self.surname} {self.first_name}".strip()


# The fields of a directory account, named as CONTRACT.md's CSV columns and
# the keys of `[directory.fields]` in config.toml.
DIRECTORY_FIELDS: tuple[str, ...] = (
    "login",
    "nom",
    "prenom",
    "date_naissance",
    "profil",
    "uai",
    "classes",
    "eleves",
    "idpronote",
)


@dataclass(frozen=True, slots=True)
class DirectoryAccount:
    """One account of the ENT directory, as read through the attribute mapping."""

    login: str
    surname: str
    first_name: str
    dn: str | None = None
    birth_date: date | None = None
    profiles: tuple[str, ...] = ()
    # UAI codes of the establishments the account belongs to.
    establishments: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    # For a guardian: the logins of their students.
    students: tuple[str, ...] = ()
    # Raw values of the identifier attribute, every form and establishment.
    identifiers: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        return f"{self.surname} {self.first_name}".strip()


@dataclass(frozen=True, slots=True)
class RememberedLink:
    """A manual link kept for the next import, and whom the account was when it was made.

    The names and birth date are the directory account's at the time: a login
    that later changed owner (reassigned, renamed) must not carry the link to
    someone else. Entries written before these were recorded have none.
    """

    login: str
    surname: str | None = None
    first_name: str | None = None
    birth_date: date | None = None

    @property
    def recorded(self) -> bool:
        return self.surname is not None or self.first_name is not None


class ChangeKind(Enum):
    ADD = "add"  # no value of this establishment yet
    REPLACE = "replace"  # a different value of this establishment is stored
    REMOVE = "remove"  # drop this establishment's value (obsolete, unlink)


@dataclass(frozen=True, slots=True)
class IdentifierChange:
    """One write: store (or remove) the identifier of one establishment on one account.

    `previous` is what the change expects to find (the value form's idpn for
    that establishment, or None): it lets undo restore exactly, and lets an
    adapter refuse to overwrite something that changed under its feet.
    """

    login: str
    uai: str
    kind: ChangeKind
    idpn: str | None = None
    previous: str | None = None
    # For a removal (undo of a write that added the auxiliary object class):
    # when no value of the identifier attribute is left on the entry, remove
    # that class too, in the same modification. Adapters without classes ignore it.
    drop_object_class: bool = False

    def __post_init__(self) -> None:
        if self.kind is ChangeKind.REMOVE:
            if self.idpn is not None:
                raise ValueError("a removal carries no new identifier")
        elif self.idpn is None or not is_valid_idpn(self.idpn):
            raise ValueError(f"invalid Pronote identifier {self.idpn!r}")


# The reason of an outcome that wrote nothing because the directory already
# held the intended state (a replay, a resume): undo has nothing to revert.
ALREADY_IN_EFFECT = "already in effect"

# The reason of an outcome found "already in effect" when a session replays
# what it had journaled as intended (a resume after a crash, or after a write
# sent but never confirmed): the session itself wrote it before it was cut, so
# it counts as written (history, undo).
WRITTEN_BEFORE_THE_CUT = "already in effect: written by this session before it was cut"

# Failures that are not about one entry: the directory itself could not be
# written (server gone, time-out, file system full, file locked by another
# host). The step stops at the first one, and the session is cut, resumable.
DIRECTORY_FAILURES = frozenset({"unavailable", "unconfirmed"})


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    """What became of one change: applied, or failed with a reason a human can read."""

    change: IdentifierChange
    applied: bool
    reason: str | None = None
    # Machine-readable failure kind. About this entry: "conflict", "not_found",
    # "changed", "error" (refused for this entry: rights, schema). About the
    # directory (DIRECTORY_FAILURES): "unavailable": not written, because the
    # directory could not be reached or written (server gone, time-out, disk
    # full, file locked); an adapter sends nothing more after the first one and
    # reports the rest of the batch "unavailable" too; or "unconfirmed": the
    # write was sent but its effect could not be checked (the server's answer,
    # or the read-back, never came); it may or may not be in effect, and
    # replaying the same change settles it ("already in effect").
    failure: str | None = None

    @property
    def wrote(self) -> bool:
        """Did this change modify the directory (applied, and not already in effect)?"""
        return self.applied and self.reason != ALREADY_IN_EFFECT


@dataclass(slots=True)
class ProfileMapping:
    """Directory profile values -> Pronote category (from `[profiles]` in config.toml)."""

    by_category: dict[Category, tuple[str, ...]] = field(default_factory=dict)

    def profiles_of(self, category: Category) -> tuple[str, ...]:
        return self.by_category.get(category, ())

    def categories_of(self, profiles: tuple[str, ...]) -> set[Category]:
        wanted = {p.casefold() for p in profiles}
        return {
            category
            for category, values in self.by_category.items()
            if any(v.casefold() in wanted for v in values)
        }

    def matches(self, account: DirectoryAccount, category: Category) -> bool:
        mine = {p.casefold() for p in self.profiles_of(category)}
        return any(p.casefold() in mine for p in account.profiles)


DEFAULT_PROFILES: dict[Category, tuple[str, ...]] = {
    Category.ENSEIGNANTS: ("National_ENS",),
    Category.ELEVES: ("National_ELV",),
    Category.RESPONSABLES: ("National_TUT",),
    Category.MAITRES_DE_STAGE: ("National_MDS",),
    Category.INSPECTEURS: ("National_INS",),
    Category.PERSONNELS: (
        "National_DOC",
        "National_DIR",
        "National_EVS",
        "National_ETA",
        "National_COL",
    ),
}
