"""The vocabulary of the generated data (categories, elements, profiles, labels)
and what it is made of: people, their file records and their directory accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bench.generator.names import _dmy, _iso
from core.model import SLUGS

# The six category slugs, in the wizard's order (the order of the file's sections).
CATEGORIES = SLUGS
ELEMENTS = {
    "enseignants": ("Professeurs", "Professeur"),
    "eleves": ("Eleves", "Eleve"),
    "responsables": ("Responsables", "Responsable"),
    "maitres_de_stage": ("MaitresDeStage", "MaitreDeStage"),
    "inspecteurs": ("InspecteursPedagogiques", "InspecteurPedagogique"),
    "personnels": ("Personnels", "Personnel"),
}
PROFILES = {
    "enseignants": "National_ENS",
    "eleves": "National_ELV",
    "responsables": "National_TUT",
    "maitres_de_stage": "National_MDS",
    "inspecteurs": "National_INS",
}
LABELS = (
    "homonym",
    "twins",
    "same_name_same_date",
    "typo",
    "mojibake",
    "lost_letter",
    "accents_dropped",
    "compound_name",
    "married_name",
    "date_format",
    "date_typo",
    "swapped_day_month",
    "cas_login",
    "already_linked",
    "stale_identifier",
    "departed",
    "not_in_directory",
    "duplicate_in_pronote",
    "two_establishments",
)
# Labels of the optional cases (wrong_links, relatives, mode="partiel").
EXTRA_LABELS = (
    "wrong_existing_link",
    "wrong_link_holder",
    "grandparent",
    "namesake",
    "children_absent",
)
ALL_LABELS = LABELS + EXTRA_LABELS
MODES = ("complet", "partiel")
FORMS = ("reference", "timetable")


@dataclass(eq=False)
class _Account:
    login: str
    nom: str
    prenom: str
    birth: date | None
    iso: bool
    profile: str
    uais: list[str]
    classes: list[str] = field(default_factory=list)
    eleves: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def row(self) -> tuple[str, ...]:
        birth = "" if self.birth is None else (_iso if self.iso else _dmy)(self.birth)
        return (
            self.login,
            self.nom,
            self.prenom,
            birth,
            self.profile,
            "|".join(self.uais),
            "|".join(self.classes),
            "|".join(self.eleves),
            "|".join(self.ids),
        )


@dataclass(eq=False)
class _Record:
    """One element of the identifiers file."""

    human: _Human
    ident: str
    idpn: str
    nom: str
    prenom: str
    birth_text: str | None = None
    iso: bool = False
    cas_login: str | None = None
    guardians: list[_Record] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


@dataclass(eq=False)
class _Human:
    category: str
    sex: str
    surname: str
    first_name: str
    birth: date | None
    family_surname: str = ""
    class_name: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    profile: str = ""
    in_file: bool = True
    case: str | None = None
    variant: str = ""
    children: list[_Human] = field(default_factory=list)
    guardians: list[_Human] = field(default_factory=list)
    records: list[_Record] = field(default_factory=list)
    account: _Account | None = None
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GenerationResult:
    out_dir: Path
    identifiers: Path
    directory: Path
    truth: Path
    counts: dict[str, int]
    """File records per category slug, in CATEGORIES order."""
    local_accounts: int
    other_accounts: int
    labels: dict[str, int]
    """How many file records carry each label (departed: directory accounts)."""
    obsolete: int
