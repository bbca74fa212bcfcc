"""Deterministic generator of realistic demo and benchmark data.

    .venv/bin/python bench/datagen.py OUT_DIR [--seed 1] [--students 600] [--other-accounts 0]

Writes, for one establishment (a collège), into OUT_DIR:

- ``identifiants.xml``: the identifiers file in FORMAT.md's reference form,
  pretty-printed one element per line, so that line numbers mean something;
- ``annuaire.csv``: the local directory file of CONTRACT.md (``;``, UTF-8,
  ``|`` between values, identifiers stored as ``{uai}${idpn}``);
- ``truth.json``: for every IDPN of the file, the directory login of the same
  person (or null) and the hard cases of that record (labels below); the
  directory accounts that are in no file record, with their labels; and
  ``obsolete``, the logins that store an identifier of this establishment
  that is not in the file while their person is not in the file either.

Everything comes from ``random.Random(seed)``: the same arguments give
byte-identical files. ``--other-accounts N`` appends N accounts of other
establishments to the CSV (streamed, for regional-scale benchmarks); they use
their own seeded generator, so the establishment's part does not change with N.

Sizes: students exactly as asked, teachers = students/14, staff = students/40
(the first five: principal, deputy, librarian, CPE, secretary), 3 internship
supervisors, 2 inspectors, guardians about 1.7 per student: families of 1
(87%), 2 (11.5%) or 3 (1.5%) children with 2 guardians (92%) or one, plus 5%
of the student count in guardians without a student in the file. Surnames:
22% from the weighted list of common ones below, the rest from a synthetic
long tail, so that homonyms happen at a believable rate. Logins are
``prenom.nom`` (no accents) from the directory's own spelling, with a number
from 2 on a clash; other establishments' logins end in a number >= 1000.

Hard cases (DOMAIN.md), their rates, and the label each record carries. A
rate is of the population named; every case appears at least once (``min 1``)
as long as there are people to carry it. Hard cases that change a record are
exclusive: a record carries at most one of them, and never ``cas_login`` or
``already_linked`` on top, so each stays as hard as it is meant to be (one
exception: half the time the first of two ``duplicate_in_pronote`` records is
``already_linked``, as when the first duplicate got the link). ``homonym``,
``same_name_same_date``, ``date_format`` and ``not_in_directory`` are also
derived from the data at the end, so that accidental cases are labelled too.

==========================  ============================================  ==========
label                       what                                          rate
==========================  ============================================  ==========
homonym                     same names, different birth date (and any     1 pair per
                            other same-name pair that happens, guardians  200 students
                            included: they have no date in the file)      (min 1)
twins                       same surname and birth date, different first  1 pair per
                            names (the first pair is LOUIS / LOUISE)      100 students
same_name_same_date         two people, same names and date: ambiguous    1 pair per
                                                                          600 students
typo                        one letter differs in the directory           1% of records
mojibake                    file name UTF-8 read as CP1252 (MÃ©rine)      0.5% of S+T+G
lost_letter                 file name with ``$`` for an accented letter   0.5% of S+T+G
accents_dropped             directory name without accents                3% of S+T
compound_name               MARTIN-DUPONT vs MARTIN DUPONT / MARTIN       1% of S+T
married_name                guardian under another surname in directory   3% of guardians
date_format                 file and directory write the date differently file 80% d/m/y,
                                                                          directory 90% ISO
date_typo                   directory date differs by one component       0.5% of S+T
swapped_day_month           directory date has day and month swapped      0.5% of S+T
cas_login                   IdentifiantCAS = directory login              30% of plain
                                                                          S, T, staff;
                                                                          15% of G
already_linked              directory already stores ``{uai}${idpn}``      20% of plain
                                                                          records
stale_identifier            directory stores an old identifier of this    1% of students;
                            establishment (also on departed accounts)     60% of departed
                                                                          students, 50% of
                                                                          others departed
departed                    directory account of the establishment, not   4% of students
                            in the file (with guardians), teachers        (+ guardians),
                                                                          5% of teachers
not_in_directory            file record without directory account         1% of students,
                                                                          2% of T and G,
                                                                          1 supervisor
duplicate_in_pronote        same person twice in the file (two IDPNs)     1 per 600 S,
                                                                          1 per 300 G
two_establishments          teacher in two UAIs, storing the other's id   10% of teachers
==========================  ============================================  ==========

(S: students, T: teachers, G: guardians. "Plain" records carry no exclusive
hard case.)

Optional, off by default so that the bundled demo stays what it is (each
draws from a generator of its own, seeded from ``seed``):

``wrong_links`` (``--wrong-links``), a past mistake: ``wrong_existing_link``
on a plain record whose identifier is stored on the account of another plain
person of the category (1% of students, guardians and teachers, min 1 each),
whose own record carries ``wrong_link_holder``.

``relatives`` (``--relatives``), more guardians who are not a child's parent:
``grandparent`` (for 5% of families, min 1: the family's surname or not, the
father's first name for a fifth of the grandfathers, a guardian of the
grandchildren in the file, with a directory account linked to them half of
the time) and ``namesake`` (1% of guardians, min 3: the very names of another
guardian of the establishment, current or departed; no children half the
time, else a guardian of a child of another family; an account of their own
for a third of them).

``mode="partiel"`` (``--mode partiel``), the file Pronote exports with "only
users without CAS identifiers": people who signed in through the ENT are not
in it, their accounts store their identifier (students 50%, guardians 45%,
teachers 60%, the others 40%; a ``wrong_existing_link`` record always: its
holder signed in with it), and the students' links to guardians left out
are dropped. The September complete import removed the departed accounts'
identifiers. A guardian in the file none of whose children is in it carries
``children_absent``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import itertools
import json
import math
import random
import re
import string
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from lxml import etree

if __package__ in (None, ""):  # run as a script: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CATEGORIES = (
    "enseignants",
    "eleves",
    "responsables",
    "maitres_de_stage",
    "inspecteurs",
    "personnels",
)
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
CSV_HEADER = (
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
FORMS = ("reference", "timetable")
IDPN_ALPHABET = string.ascii_uppercase + string.digits
UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

# --- names -----------------------------------------------------------------
# Relative frequencies are approximate (INSEE-like ranks), enough to make
# MARTIN common and homonyms happen by themselves.
# fmt: off
SURNAMES = (
    ("MARTIN", 235), ("BERNARD", 105), ("THOMAS", 95), ("PETIT", 90), ("ROBERT", 88),
    ("RICHARD", 87), ("DURAND", 85), ("DUBOIS", 84), ("MOREAU", 80), ("LAURENT", 78),
    ("SIMON", 77), ("MICHEL", 77), ("LEFEBVRE", 75), ("LEROY", 70), ("ROUX", 66), ("DAVID", 65),
    ("BERTRAND", 64), ("MOREL", 63), ("FOURNIER", 62), ("GIRARD", 61), ("BONNET", 60),
    ("DUPONT", 59), ("LAMBERT", 58), ("FONTAINE", 57), ("ROUSSEAU", 56), ("VINCENT", 56),
    ("MULLER", 55), ("LEFÈVRE", 54), ("FAURE", 53), ("ANDRÉ", 53), ("MERCIER", 52), ("BLANC", 52),
    ("GUÉRIN", 51), ("BOYER", 50), ("GARNIER", 49), ("CHEVALIER", 49), ("FRANÇOIS", 48),
    ("LEGRAND", 47), ("GAUTHIER", 47), ("GARCIA", 47), ("PERRIN", 46), ("ROBIN", 45),
    ("CLÉMENT", 45), ("MORIN", 44), ("NICOLAS", 44), ("HENRY", 43), ("ROUSSEL", 43),
    ("MATHIEU", 42), ("GAUTIER", 42), ("MASSON", 41), ("MARCHAND", 40), ("DUVAL", 40),
    ("DENIS", 40), ("DUMONT", 39), ("MARIE", 39), ("LEMAIRE", 38), ("NOËL", 38), ("MEYER", 38),
    ("DUFOUR", 37), ("MEUNIER", 37), ("BRUN", 37), ("BLANCHARD", 36), ("GIRAUD", 36),
    ("JOLY", 36), ("RIVIÈRE", 35), ("LUCAS", 35), ("BRUNET", 35), ("GAILLARD", 34),
    ("BARBIER", 34), ("ARNAUD", 34), ("MARTINEZ", 33), ("GÉRARD", 33), ("ROCHE", 33),
    ("RENARD", 32), ("SCHMITT", 32), ("ROY", 32), ("LEROUX", 32), ("COLIN", 31), ("VIDAL", 31),
    ("CARON", 31), ("PICARD", 30), ("ROGER", 30), ("FABRE", 30), ("AUBERT", 30), ("LEMOINE", 29),
    ("RENAUD", 29), ("DUMAS", 29), ("LACROIX", 29), ("OLIVIER", 28), ("PHILIPPE", 28),
    ("BOURGEOIS", 28), ("PIERRE", 28), ("BENOÎT", 27), ("REY", 27), ("LECLERC", 27),
    ("PAYET", 27), ("ROLLAND", 26), ("LECLERCQ", 26), ("GUILLAUME", 26), ("LECOMTE", 26),
    ("LOPEZ", 26), ("JEAN", 25), ("DUPUY", 25), ("GUILLOT", 25), ("HUBERT", 25), ("BERGER", 25),
    ("CARPENTIER", 24), ("SANCHEZ", 24), ("DUPUIS", 24), ("MOULIN", 24), ("LOUIS", 24),
    ("DESCHAMPS", 23), ("HUET", 23), ("VASSEUR", 23), ("PEREZ", 23), ("BOUCHER", 23),
    ("FLEURY", 22), ("ROYER", 22), ("KLEIN", 22), ("JACQUET", 22), ("ADAM", 22), ("PARIS", 22),
    ("POIRIER", 21), ("MARTY", 21), ("AUBRY", 21), ("GUYOT", 21), ("CARRÉ", 21), ("CHARLES", 21),
    ("RENAULT", 20), ("CHARPENTIER", 20), ("MÉNARD", 20), ("MAILLARD", 20), ("BARON", 20),
    ("BERTIN", 20), ("BAILLY", 20), ("HERVÉ", 19), ("SCHNEIDER", 19), ("FERNANDEZ", 19),
    ("LE GALL", 19), ("COLLET", 18), ("LÉGER", 18), ("BOUVIER", 18), ("JULIEN", 18),
    ("PRÉVOST", 18), ("MILLET", 18), ("LE ROUX", 17), ("COUSIN", 17), ("GERMAIN", 17),
    ("BRETON", 17), ("LANGLOIS", 17), ("RÉMY", 16), ("LE GOFF", 16), ("PELLETIER", 16),
    ("LEVÊQUE", 16), ("LEBLANC", 16), ("HÉBERT", 15), ("MARÉCHAL", 14), ("BARTHÉLEMY", 13),
    ("NGUYEN", 14), ("DA SILVA", 13), ("DOS SANTOS", 12), ("FERREIRA", 12), ("DIALLO", 10),
    ("TRAORÉ", 8), ("HADDAD", 8), ("D'ALMEIDA", 6), ("N'DIAYE", 6), ("DE LA FONTAINE", 5),
    ("LE BIHAN", 8), ("MARTIN-DUPONT", 3), ("LEFÈVRE-DUVAL", 2), ("ACCOLÉE", 2),
)
STUDENT_FIRST_NAMES = {
    "F": (
        ("Emma", 30), ("Jade", 30), ("Louise", 28), ("Alice", 25), ("Chloé", 24), ("Léa", 24),
        ("Lina", 22), ("Inès", 18), ("Léna", 18), ("Manon", 18), ("Ambre", 16), ("Juliette", 16),
        ("Zoé", 16), ("Camille", 16), ("Rose", 15), ("Anna", 15), ("Mila", 14), ("Julia", 14),
        ("Lou", 14), ("Lola", 14), ("Sarah", 14), ("Jeanne", 12), ("Eva", 12), ("Nina", 12),
        ("Romane", 12), ("Mia", 12), ("Agathe", 10), ("Maëlys", 10), ("Louna", 10),
        ("Charlotte", 10), ("Lucie", 10), ("Anaïs", 8), ("Noémie", 8), ("Clémence", 8),
        ("Yasmine", 8), ("Aya", 8), ("Margaux", 8), ("Salomé", 8), ("Mathilde", 8), ("Lilou", 8),
        ("Elsa", 8), ("Océane", 6), ("Éloïse", 6), ("Maëlle", 6), ("Capucine", 6), ("Julie", 6),
        ("Héloïse", 5), ("Apolline", 5), ("Victoire", 5), ("Mérine", 2), ("Gaëlle", 2),
        ("Marie-Hélène", 1),
    ),
    "M": (
        ("Gabriel", 30), ("Louis", 28), ("Raphaël", 26), ("Jules", 25), ("Adam", 24),
        ("Lucas", 24), ("Léo", 24), ("Hugo", 22), ("Arthur", 22), ("Nathan", 20), ("Liam", 18),
        ("Ethan", 16), ("Paul", 16), ("Tom", 16), ("Noah", 16), ("Théo", 16), ("Sacha", 14),
        ("Enzo", 14), ("Nolan", 12), ("Mohamed", 12), ("Maël", 12), ("Mathis", 12), ("Timéo", 10),
        ("Noé", 10), ("Axel", 10), ("Antoine", 10), ("Mathéo", 10), ("Yanis", 10), ("Rayan", 10),
        ("Victor", 10), ("Baptiste", 8), ("Clément", 8), ("Valentin", 8), ("Samuel", 8),
        ("Martin", 8), ("Évan", 6), ("Timothée", 6), ("Gaël", 6), ("Killian", 6), ("Robin", 6),
        ("Ibrahim", 5), ("Côme", 4), ("Loïc", 3), ("Aurélien", 3), ("Jean-Baptiste", 3),
    ),
}
ADULT_FIRST_NAMES = {
    "F": (
        ("Nathalie", 20), ("Isabelle", 20), ("Sandrine", 18), ("Stéphanie", 18), ("Céline", 18),
        ("Valérie", 16), ("Sophie", 16), ("Aurélie", 16), ("Julie", 16), ("Sylvie", 14),
        ("Catherine", 14), ("Émilie", 14), ("Élodie", 14), ("Karine", 14), ("Virginie", 14),
        ("Mélanie", 14), ("Audrey", 14), ("Marie", 14), ("Véronique", 12), ("Laurence", 12),
        ("Caroline", 12), ("Amandine", 12), ("Delphine", 12), ("Hélène", 10), ("Christelle", 10),
        ("Séverine", 10), ("Anne", 10), ("Cécile", 10), ("Laetitia", 10), ("Claire", 10),
        ("Gaëlle", 8), ("Fatima", 8), ("Nadia", 8), ("Jessica", 8), ("Emmanuelle", 8),
        ("Anaïs", 6), ("Françoise", 6), ("Agnès", 6), ("Samia", 5), ("Marie-Hélène", 4),
        ("Noémie", 4), ("Anne-Sophie", 4),
    ),
    "M": (
        ("Nicolas", 20), ("Sébastien", 18), ("Christophe", 18), ("Julien", 18), ("Stéphane", 16),
        ("Laurent", 16), ("Olivier", 16), ("David", 16), ("Frédéric", 14), ("Guillaume", 14),
        ("Mathieu", 14), ("Vincent", 14), ("Alexandre", 14), ("Jérôme", 12), ("François", 12),
        ("Philippe", 12), ("Éric", 12), ("Cédric", 12), ("Pierre", 12), ("Thierry", 10),
        ("Pascal", 10), ("Grégory", 10), ("Franck", 10), ("Anthony", 10), ("Damien", 10),
        ("Arnaud", 10), ("Loïc", 8), ("Benoît", 8), ("Karim", 8), ("Mickaël", 8), ("Xavier", 8),
        ("Yannick", 8), ("Mohamed", 8), ("Fabrice", 8), ("Jean-Pierre", 6), ("Hervé", 6),
        ("Gilles", 6), ("Rachid", 5), ("Jean-François", 5), ("Jean-Marc", 4),
    ),
}
# Twin pairs: close names, so that a fuzzy match could cross them.
TWIN_PAIRS = (
    (("M", "Louis"), ("F", "Louise")),
    (("M", "Léo"), ("F", "Léa")),
    (("M", "Jules"), ("F", "Julie")),
    (("M", "Lucas"), ("F", "Lucie")),
    (("M", "Mathis"), ("F", "Mathilde")),
    (("F", "Chloé"), ("F", "Zoé")),
    (("M", "Noé"), ("M", "Noah")),
    (("F", "Emma"), ("M", "Enzo")),
)
STAFF_FUNCTIONS_FIRST = (
    ("Principal", "Principale", "National_DIR"),
    ("Principal adjoint", "Principale adjointe", "National_DIR"),
    ("Professeur documentaliste", "Professeure documentaliste", "National_DOC"),
    ("Conseiller principal d'éducation", "Conseillère principale d'éducation", "National_EVS"),
    ("Secrétaire de direction", "Secrétaire de direction", "National_ETA"),
)
STAFF_FUNCTIONS_MORE = (
    (("Assistant d'éducation", "Assistante d'éducation", "National_EVS"), 5),
    (("AESH", "AESH", "National_EVS"), 2),
    (("Agent d'entretien", "Agente d'entretien", "National_COL"), 2),
    (("Cuisinier", "Cuisinière", "National_COL"), 1),
    (("Infirmier", "Infirmière", "National_ETA"), 1),
    (("Gestionnaire", "Gestionnaire", "National_DIR"), 1),
)
COMPANIES = (
    "Boulangerie {}",
    "Garage {} & Fils",
    "Pharmacie des Halles",
    "Mairie de Saint-Herblain",
    "Crèche « Les Petits Loups »",
    "Cabinet vétérinaire {}",
    "Librairie L'Encre Bleue",
    "Menuiserie {}",
)
DISCIPLINES = (
    "Mathématiques",
    "Lettres",
    "Histoire-géographie",
    "Sciences de la vie et de la Terre",
    "Éducation physique et sportive",
    "Anglais",
    "Physique-chimie",
    "Technologie",
)
# The surnames above are only the head of the distribution: in France the 150
# commonest cover a small part of the population. The long tail is made of
# French-sounding syllables, so that homonyms come at a believable rate.
SURNAME_HEAD_SHARE = 0.22
TAIL_STARTS = (
    "BEAU", "BON", "BOIS", "BRU", "CHA", "CHAM", "CHE", "COR", "DEL", "DES", "DU", "FAU", "FER",
    "FON", "GAR", "GUI", "JOU", "LA", "LAB", "LAC", "LAF", "LAM", "LAN", "LAR", "LAV", "MAL",
    "MAR", "MON", "MOU", "PER", "POU", "RI", "ROU", "SAU", "TAR", "VAL", "VER", "VIL", "KER",
    "POR", "BAR", "BER", "CAR", "DAR", "MER", "TOU", "BOU", "GOU", "PRA", "TRI",
)
TAIL_MIDDLES = ("", "", "", "", "", "DE", "LI", "MA", "RE", "VI")
TAIL_ENDS = (
    "CHAMP", "BERT", "RAND", "LIN", "NIER", "RIER", "TIER", "VEAU", "GEOT", "MONT", "VAL", "LOT",
    "RET", "NET", "CHET", "DOUX", "GNON", "LIER", "CELLE", "VILLE", "FORT", "BOSC", "MAS", "RIEU",
    "GEAT", "NARD", "NEAU", "QUET", "ZIN", "DRIEU", "RAUD", "GEON", "MIER", "THIER", "BRUN",
    "LEC", "VERN", "GUEN", "MEUR", "ZAC",
)
POSTAL_SUFFIXES = ("000", "100", "200", "300", "400", "120", "230", "240", "470", "700", "800")
# fmt: on


class _Weighted:
    """Draws from (value, weight) pairs with one `random()` and a bisect."""

    def __init__(self, pairs: tuple[tuple[object, int], ...]) -> None:
        self.values = [value for value, _ in pairs]
        self.cumulative = list(itertools.accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


class _Surnames:
    """The weighted head of common surnames, then a uniform synthetic tail."""

    def __init__(self) -> None:
        self.head = _Weighted(SURNAMES)

    def pick(self, rng: random.Random) -> str:
        if rng.random() < SURNAME_HEAD_SHARE:
            return self.head.pick(rng)
        return (
            TAIL_STARTS[rng.randrange(len(TAIL_STARTS))]
            + TAIL_MIDDLES[rng.randrange(len(TAIL_MIDDLES))]
            + TAIL_ENDS[rng.randrange(len(TAIL_ENDS))]
        )


_SURNAME = _Surnames()
_FIRST = {("young", sex): _Weighted(names) for sex, names in STUDENT_FIRST_NAMES.items()} | {
    ("adult", sex): _Weighted(names) for sex, names in ADULT_FIRST_NAMES.items()
}
_MORE_FUNCTIONS = _Weighted(STAFF_FUNCTIONS_MORE)


def fold(text: str) -> str:
    """The text without accents (Mérine -> Merine), case kept."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def has_accent(text: str) -> bool:
    return fold(text) != text


def mojibake(text: str) -> str:
    """UTF-8 bytes read as CP1252: Mérine -> MÃ©rine."""
    return text.encode("utf-8").decode("cp1252")


def _mojibake_safe(text: str) -> bool:
    try:
        mojibake(text)
    except UnicodeDecodeError:
        return False
    return True


def lose_letters(text: str) -> str:
    """Accented letters replaced by `$`, as some exports do: Mérine -> M$rine."""
    return "".join("$" if not c.isascii() and c.isalpha() else c for c in text)


def _login_part(name: str) -> str:
    return re.sub(r"[^a-z-]", "", fold(name).lower().replace(" ", "-")).strip("-")


def _key(surname: str, first_name: str) -> tuple[str, str]:
    """Names as a matcher would compare them: no accents, case, hyphens or apostrophes."""

    def norm(text: str) -> str:
        return " ".join(re.sub(r"[-'’]", " ", fold(text).upper()).split())

    return norm(surname), norm(first_name)


def uai_check_letter(digits: str) -> str:
    return UAI_LETTERS[int(digits) % 23]


def _dmy(day: date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year:04d}"


def _iso(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


# --- the people ------------------------------------------------------------


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


# --- one establishment -----------------------------------------------------


class _Establishment:
    def __init__(
        self,
        seed: int,
        students: int,
        uai: str,
        export_date: datetime,
        timetable: bool = False,
        *,
        wrong_links: bool = False,
        relatives: bool = False,
        mode: str = "complet",
        login_suffix: str = "",
    ) -> None:
        self.rng = random.Random(seed)
        # Several establishments in one directory (bench/region.py): logins unique across them.
        self.login_suffix = login_suffix
        # A population the timetable export can express: no internship supervisor,
        # no inspector, no guardian without a student (it lists guardians under students).
        self.timetable = timetable
        self.seed = seed
        self.wrong_links = wrong_links
        self.relatives = relatives
        self.mode = mode
        self.uai = uai
        self.students = students
        self.year = export_date.year if export_date.month >= 8 else export_date.year - 1
        self.humans: dict[str, list[_Human]] = {slug: [] for slug in CATEGORIES}
        self.departed: list[_Human] = []
        self.idpns: set[str] = set()
        self.logins: dict[str, int] = {}
        self._ident = 0
        self.identifiers_path = Path()
        per_level = students / 4
        self.letters = "ABCDEFGHIJKLMNOP"[: max(1, math.ceil(per_level / 28))]
        self.classes = [f"{level}{letter}" for level in "6543" for letter in self.letters]
        dept = uai[1:3] if uai.startswith("0") else uai[:3]
        self.postal_codes = [(dept + suffix)[:5] for suffix in POSTAL_SUFFIXES]

    # small draws
    def idpn(self) -> str:
        while True:
            value = "".join(self.rng.choices(IDPN_ALPHABET, k=16))
            if value not in self.idpns:
                self.idpns.add(value)
                return value

    def ident(self) -> str:
        self._ident += self.rng.randint(1, 4)
        return str(self._ident)

    def login(self, account: _Account) -> str:
        base = f"{_login_part(account.prenom)}.{_login_part(account.nom)}"
        count = self.logins.get(base, 0) + 1
        self.logins[base] = count
        # Suffixes stay below 1000: other establishments' logins use 1000 and up.
        assert count < 1000, base
        return (base if count == 1 else f"{base}{count}") + self.login_suffix

    def other_uai(self) -> str:
        while True:
            digits = self.uai[:3] + f"{self.rng.randrange(10000):04d}"
            value = digits + uai_check_letter(digits)
            if value != self.uai:
                return value

    def birth(self, age_low: int, age_high: int) -> date:
        year = self.year - self.rng.randint(age_low, age_high)
        return date.fromordinal(date(year, 1, 1).toordinal() + self.rng.randrange(365))

    def student_birth(self, level: int) -> date:
        """level 0 is 6e; about 5% are a year older, 1% a year younger."""
        year = self.year - 11 - level
        draw = self.rng.random()
        year -= 1 if draw < 0.05 else (-1 if draw < 0.06 else 0)
        return date.fromordinal(date(year, 1, 1).toordinal() + self.rng.randrange(365))

    def first_name(self, generation: str, sex: str) -> str:
        return _FIRST[generation, sex].pick(self.rng)

    def adult(self, category: str, ages: tuple[int, int], sex: str | None = None) -> _Human:
        sex = sex or self.rng.choice("FM")
        return _Human(
            category=category,
            sex=sex,
            surname=_SURNAME.pick(self.rng),
            first_name=self.first_name("adult", sex),
            birth=self.birth(*ages),
        )

    def student(self, surname: str, level: int, sex: str | None = None) -> _Human:
        sex = sex or self.rng.choice("FM")
        return _Human(
            category="eleves",
            sex=sex,
            surname=surname,
            family_surname=surname,
            first_name=self.first_name("young", sex),
            birth=self.student_birth(level),
            class_name=f"{6 - level}{self.rng.choice(self.letters)}",
        )

    # the people of the file
    def build(self) -> None:
        self.staff()
        self.families()
        self.leavers()
        self.choose_cases()
        if self.relatives:
            self.add_relatives()

    def add_relatives(self) -> None:
        """Grandparents and namesakes among the guardians (their own generator)."""
        rng = random.Random(f"datagen-relatives-{self.seed}")
        guardians = self.humans["responsables"]
        families: dict[int, list[_Human]] = {}
        for child in self.humans["eleves"]:
            if child.guardians:
                families.setdefault(id(child.guardians[0]), []).append(child)
        units = list(families.values())
        for kids in rng.sample(units, max(1, round(0.05 * len(units)))):
            father = next((g for g in kids[0].guardians if g.sex == "M"), None)
            sex = rng.choice("FM")
            human = _Human(
                category="responsables",
                sex=sex,
                surname=kids[0].family_surname if rng.random() < 0.6 else _SURNAME.pick(rng),
                first_name=_FIRST["adult", sex].pick(rng),
                birth=self.birth(58, 82),
            )
            if sex == "M" and father is not None and rng.random() < 0.2:
                human.first_name = father.first_name  # a son named after his father
            human.family_surname = kids[0].family_surname
            human.extra["CodePostal"] = rng.choice(self.postal_codes)
            human.children = list(kids)
            human.labels.append("grandparent")
            human.case = "not_in_directory" if rng.random() < 0.5 else "relative"
            for child in kids:
                child.guardians = [*child.guardians, human]
            guardians.append(human)
        current = [g for g in guardians if g.case is None and g.children]
        departed = [g for g in self.departed if g.category == "responsables"]
        students = [c for c in self.humans["eleves"] if c.case is None]
        for _ in range(max(3, round(0.01 * len(guardians)))):
            model = rng.choice(departed if departed and rng.random() < 0.3 else current)
            human = _Human(
                category="responsables",
                sex=model.sex,
                surname=model.surname,
                first_name=model.first_name,
                birth=self.birth(28, 70),
            )
            human.family_surname = human.surname
            human.extra["CodePostal"] = rng.choice(self.postal_codes)
            if self.timetable or rng.random() < 0.5:  # the timetable lists guardians under a child
                child = rng.choice(students)
                human.children = [child]
                child.guardians = [*child.guardians, human]
            human.labels.append("namesake")
            human.case = "relative" if rng.random() < 1 / 3 else "not_in_directory"
            guardians.append(human)

    def staff(self) -> None:
        rng = self.rng
        teachers = max(1, round(self.students / 14))
        self.humans["enseignants"] = [self.adult("enseignants", (23, 64)) for _ in range(teachers)]
        for index in range(max(1, round(self.students / 40))):
            human = self.adult("personnels", (20, 63))
            if index < len(STAFF_FUNCTIONS_FIRST):
                masc, fem, profile = STAFF_FUNCTIONS_FIRST[index]
            else:
                masc, fem, profile = _MORE_FUNCTIONS.pick(rng)
            human.extra["Fonction"] = fem if human.sex == "F" else masc
            human.profile = profile
            if rng.random() < 0.2:
                human.birth = None
            self.humans["personnels"].append(human)
        if self.timetable:
            return self.undated_teachers()
        for _ in range(3):
            human = self.adult("maitres_de_stage", (25, 60))
            template = rng.choice(COMPANIES)
            human.extra["Entreprise"] = template.format(_SURNAME.pick(rng).title())
            human.birth = None
            self.humans["maitres_de_stage"].append(human)
        for discipline in rng.sample(DISCIPLINES, 2):
            human = self.adult("inspecteurs", (40, 62))
            human.extra["Discipline"] = discipline
            human.birth = None
            self.humans["inspecteurs"].append(human)
        self.undated_teachers()
        self.humans["maitres_de_stage"][0].case = "not_in_directory"

    def undated_teachers(self) -> None:
        # Pronote knows no birth date for a few teachers.
        for human in self.humans["enseignants"]:
            if self.rng.random() < 0.05:
                human.birth = None

    def family(self, surname: str, children: list[_Human], *, current: bool = True) -> None:
        rng = self.rng
        postal = rng.choice(self.postal_codes)
        guardians: list[_Human] = []
        if rng.random() < 0.08:
            sex = "F" if rng.random() < 0.7 else "M"
            guardians.append(self.adult("responsables", (28, 58), sex))
        else:
            guardians += [
                self.adult("responsables", (30, 60), "M"),
                self.adult("responsables", (28, 58), "F"),
            ]
        for guardian in guardians:
            guardian.family_surname = surname
            # Mothers are often known under their own (birth) name.
            if guardian.sex == "M" or rng.random() < 0.6:
                guardian.surname = surname
            guardian.extra["CodePostal"] = postal
            if guardian.sex == "F" and len(guardians) == 2 and rng.random() < 0.15:
                guardian.extra["CodePostal"] = rng.choice(self.postal_codes)
            guardian.children = list(children)
            guardian.in_file = current
        for child in children:
            child.guardians = list(guardians)
            child.in_file = current
        if current:
            self.humans["eleves"] += children
            self.humans["responsables"] += guardians
        else:
            self.departed += children + guardians

    def families(self) -> None:
        rng = self.rng
        duplicates = max(1, round(self.students / 600))
        budget = self.students - duplicates

        def take(count: int) -> int:
            nonlocal budget
            count = min(count, budget)
            budget -= count
            return count

        for index in range(max(1, round(self.students / 100))):
            if take(2) < 2:
                break
            (sex_a, name_a), (sex_b, name_b) = TWIN_PAIRS[index % len(TWIN_PAIRS)]
            level = rng.randrange(4)
            surname = _SURNAME.pick(rng)
            a, b = self.student(surname, level, sex_a), self.student(surname, level, sex_b)
            a.first_name, b.first_name = name_a, name_b
            b.birth, b.class_name = a.birth, a.class_name if rng.random() < 0.5 else b.class_name
            a.case = b.case = "twins"
            self.family(surname, [a, b])
        for case, pairs in (
            ("homonym", max(1, round(self.students / 200))),
            ("same_name_same_date", max(1, round(self.students / 600))),
        ):
            for _ in range(pairs):
                if take(2) < 2:
                    break
                surname = _SURNAME.pick(rng)
                a = self.student(surname, rng.randrange(4))
                b = self.student(surname, rng.randrange(4), a.sex)
                b.first_name = a.first_name
                if case == "same_name_same_date":
                    b.birth = a.birth
                    b.class_name = a.class_name[0] + rng.choice(self.letters)
                while case == "homonym" and b.birth == a.birth:
                    b.birth = self.student_birth(rng.randrange(4))
                a.case = b.case = case
                self.family(surname, [a])
                self.family(surname, [b])
        while budget > 0:
            draw = rng.random()
            size = take(1 if draw < 0.87 else (2 if draw < 0.985 else 3))
            surname = _SURNAME.pick(rng)
            levels = rng.sample(range(4), size)
            children = [self.student(surname, level) for level in levels]
            names = {c.first_name for c in children}
            while len(names) < size:  # siblings do not share a first name
                for child in children[1:]:
                    child.first_name = self.first_name("young", child.sex)
                names = {c.first_name for c in children}
            self.family(surname, children)
        # Guardians of no student in the file: former students' parents, neighbours.
        for _ in range(0 if self.timetable else round(0.05 * self.students)):
            human = self.adult("responsables", (28, 70))
            human.family_surname = human.surname
            human.extra["CodePostal"] = rng.choice(self.postal_codes)
            self.humans["responsables"].append(human)

    def leavers(self) -> None:
        """Directory accounts of people who left: last year's 3e and a few teachers."""
        rng = self.rng
        for _ in range(max(1, round(0.04 * self.students))):
            surname = _SURNAME.pick(rng)
            child = self.student(surname, 3)
            child.birth = self.student_birth(4)
            self.family(surname, [child], current=False)
        for _ in range(max(1, round(0.05 * len(self.humans["enseignants"])))):
            human = self.adult("enseignants", (23, 64))
            human.in_file = False
            self.departed.append(human)
        for human in self.departed:
            human.labels.append("departed")
        students = [h for h in self.departed if h.category == "eleves"]
        others = [h for h in self.departed if h.category != "eleves"]
        stale = rng.sample(students, max(1, round(0.6 * len(students))))
        stale += rng.sample(others, round(0.5 * len(others)))
        for human in stale:
            human.labels.append("stale_identifier")

    def take(self, pool: list[_Human], count: int, case: str) -> list[_Human]:
        free = [h for h in pool if h.case is None]
        chosen = self.rng.sample(free, min(count, len(free)))
        for human in chosen:
            human.case = case
        return chosen

    def choose_cases(self) -> None:
        rng = self.rng
        h = self.humans
        students, teachers, guardians = h["eleves"], h["enseignants"], h["responsables"]
        s, t, g = len(students), len(teachers), len(guardians)
        self.take(students, max(1, round(0.01 * s)), "not_in_directory")
        self.take(teachers, round(0.02 * t), "not_in_directory")
        self.take(guardians, round(0.02 * g), "not_in_directory")
        self.take(students, max(1, round(self.students / 600)), "duplicate_in_pronote")
        # In the timetable form a guardian's second record must sit under a second child.
        pool = [x for x in guardians if len(x.children) > 1] if self.timetable else guardians
        self.take(pool, max(1, round(g / 300)), "duplicate_in_pronote")
        self.take(teachers, max(1, round(0.10 * t)), "two_establishments")
        everyone = students + teachers + guardians + h["personnels"]
        self.take(everyone, max(1, round(0.01 * len(everyone))), "typo")
        for case, pool, rate in (
            ("mojibake", students + teachers + guardians, 0.005),
            ("lost_letter", students + teachers + guardians, 0.005),
            ("accents_dropped", students + teachers, 0.03),
        ):
            for human in self.take(pool, max(1, round(rate * len(pool))), case):
                if not has_accent(human.first_name) and not has_accent(human.surname):
                    generation = "young" if human.category == "eleves" else "adult"
                    names = STUDENT_FIRST_NAMES if generation == "young" else ADULT_FIRST_NAMES
                    accented = [
                        n for n, _ in names[human.sex] if has_accent(n) and _mojibake_safe(n)
                    ]
                    human.first_name = rng.choice(accented)
        single = [x for x in students if len(x.guardians[0].children) == 1] + teachers
        for human in self.take(single, max(1, round(0.01 * (s + t))), "compound_name"):
            if "-" not in human.surname and " " not in human.surname:
                other = _SURNAME.pick(rng)
                while other == human.surname or not other.isalpha():
                    other = _SURNAME.pick(rng)
                human.surname = f"{human.surname}-{other}"
            human.variant = rng.choice(("space", "first_only", "file_first_only"))
        mothers = [
            x
            for x in guardians
            if x.sex == "F" and x.children and len(x.children[0].guardians) == 2
        ]
        self.take(mothers, max(1, round(0.03 * g)), "married_name")
        dated = [x for x in students + teachers if x.birth is not None]
        self.take(dated, max(1, round(0.005 * (s + t))), "date_typo")
        for human in self.take(dated, max(1, round(0.005 * (s + t))), "swapped_day_month"):
            assert human.birth is not None
            while human.birth.day > 12 or human.birth.day == human.birth.month:
                human.birth = human.birth.replace(day=rng.randint(1, 12))
        self.take(students, max(1, round(0.01 * s)), "stale_identifier")

    # rendering: records, then accounts, then what each case changes
    def render(self) -> None:
        rng = self.rng
        for slug in CATEGORIES:
            for human in self.humans[slug]:
                human.records.append(self.record(human))
                if human.case == "duplicate_in_pronote":
                    human.records.append(self.record(human))
        if self.timetable:
            # Seen in real exports: DateNaissance="" for a few students.
            for human in self.humans["eleves"]:
                if rng.random() < 0.02:
                    for record in human.records:
                        record.birth_text = None
        for slug in CATEGORIES:
            for human in self.humans[slug]:
                if human.case != "not_in_directory":
                    human.account = self.account(human)
                self.apply_case(human)
        for human in self.departed:
            human.account = self.account(human)
            if human.category == "eleves":
                human.account.classes = [f"3{rng.choice(self.letters)}"]
            if "stale_identifier" in human.labels:
                human.account.ids = [f"{self.uai}${self.idpn()}"]
        # The ENT made its logins from its own spelling of the names.
        everyone = [h for slug in CATEGORIES for h in self.humans[slug]] + self.departed
        for human in everyone:
            if human.account is not None:
                human.account.login = self.login(human.account)
        for human in self.humans["responsables"] + self.departed:
            if human.account is not None and human.children:
                human.account.eleves = [c.account.login for c in human.children if c.account]
        self.link_guardians()
        self.plain_links()
        if self.wrong_links:
            self.add_wrong_links()
        if self.mode == "partiel":
            self.partial()
        self.derived_labels()

    def add_wrong_links(self) -> None:
        """A past import stored some people's identifiers on another person's account."""
        rng = random.Random(f"datagen-wrong-links-{self.seed}")
        for slug in ("eleves", "responsables", "enseignants"):
            plain = [
                h
                for h in self.humans[slug]
                if h.case is None
                and h.account is not None
                and not h.account.ids
                and len(h.records) == 1
                and not {"cas_login", "already_linked"} & set(h.records[0].labels)
            ]
            count = max(1, round(0.01 * len(self.humans[slug])))
            chosen = rng.sample(plain, min(len(plain), 2 * count))
            for person, holder in zip(chosen[0::2], chosen[1::2], strict=False):
                if _key(person.surname, person.first_name) == _key(
                    holder.surname, holder.first_name
                ):
                    continue  # namesakes: not the case meant here
                assert holder.account is not None
                holder.account.ids = [f"{self.uai}${person.records[0].idpn}"]
                person.records[0].labels.append("wrong_existing_link")
                holder.records[0].labels.append("wrong_link_holder")
                person.case = holder.case = "wrong_link"

    def partial(self) -> None:
        """Who signed in through the ENT is not in a partial file; their account stores it."""
        rng = random.Random(f"datagen-partiel-{self.seed}")
        rates = {"eleves": 0.5, "responsables": 0.45, "enseignants": 0.6}
        own = f"{self.uai}$"
        for human in self.departed:
            if human.account is not None:
                human.account.ids = [v for v in human.account.ids if not v.startswith(own)]
            human.labels = [x for x in human.labels if x != "stale_identifier"]
        for slug in CATEGORIES:
            for human in self.humans[slug]:
                if human.account is None or not human.records:
                    continue
                labels = set(human.records[0].labels)
                if "wrong_link_holder" in labels or human.case == "duplicate_in_pronote":
                    continue  # cannot have signed in to their own Pronote account
                signed = "wrong_existing_link" in labels or rng.random() < rates.get(slug, 0.4)
                if not signed:
                    if "stale_identifier" in labels:
                        # The September complete import replaced it: linked, not signed in.
                        kept = [v for v in human.account.ids if not v.startswith(own)]
                        human.account.ids = [*kept, f"{own}{human.records[0].idpn}"]
                        for record in human.records:
                            record.labels = [
                                "already_linked" if x == "stale_identifier" else x
                                for x in record.labels
                            ]
                    continue
                if "wrong_existing_link" not in labels:
                    kept = [v for v in human.account.ids if not v.startswith(own)]
                    human.account.ids = [*kept, f"{own}{human.records[0].idpn}"]
                human.records = []
        in_file = {id(r) for slug in CATEGORIES for h in self.humans[slug] for r in h.records}
        for human in self.humans["eleves"]:
            for record in human.records:
                record.guardians = [g for g in record.guardians if id(g) in in_file]
        pointed = {id(g) for h in self.humans["eleves"] for r in h.records for g in r.guardians}
        for human in self.humans["responsables"]:
            if human.children and not any(id(r) in pointed for r in human.records):
                for record in human.records:
                    record.labels.append("children_absent")

    def record(self, human: _Human) -> _Record:
        record = _Record(human, self.ident(), self.idpn(), human.surname, human.first_name)
        if human.birth is not None and human.category in ("eleves", "enseignants", "personnels"):
            record.iso = self.rng.random() < 0.2
            record.birth_text = (_iso if record.iso else _dmy)(human.birth)
        return record

    def account(self, human: _Human) -> _Account:
        rng = self.rng
        keep_birth = {"eleves": 1.0, "enseignants": 0.95, "personnels": 0.8, "responsables": 0.3}
        birth = human.birth
        if birth is None and human.category == "responsables":
            birth = self.birth(30, 58)
        if rng.random() >= keep_birth.get(human.category, 0.0):
            birth = None
        account = _Account(
            login="",
            nom=human.surname,
            prenom=human.first_name,
            birth=birth,
            iso=rng.random() < 0.9,
            profile=human.profile or PROFILES[human.category],
            uais=[self.uai],
        )
        if human.category == "eleves" and human.class_name:
            account.classes = [human.class_name]
        elif human.category == "enseignants":
            account.classes = sorted(rng.sample(self.classes, min(len(self.classes), 5)))[
                : rng.randint(2, 5)
            ]
        return account

    def apply_case(self, human: _Human) -> None:
        rng = self.rng
        case, account, records = human.case, human.account, human.records
        for record in records:
            record.labels += [x for x in human.labels if x in EXTRA_LABELS]
        if case is None:
            return
        for record in records:
            record.labels.append(case)
        if case == "mojibake":
            for record in records:
                record.nom, record.prenom = mojibake(record.nom), mojibake(record.prenom)
        elif case == "lost_letter":
            for record in records:
                record.nom, record.prenom = lose_letters(record.nom), lose_letters(record.prenom)
        if account is None:
            return
        if case == "accents_dropped":
            account.nom, account.prenom = fold(account.nom), fold(account.prenom)
        elif case == "typo":
            if rng.random() < 0.5:
                account.nom = _typo(rng, account.nom)
            else:
                account.prenom = _typo(rng, account.prenom)
        elif case == "compound_name":
            first = re.split(r"[- ]", human.surname)[0]
            if human.variant == "space":
                account.nom = human.surname.replace("-", " ")
            elif human.variant == "first_only":
                account.nom = first
            else:
                for record in records:
                    record.nom = first
        elif case == "married_name":
            other = human.family_surname
            while other == human.surname:
                other = _SURNAME.pick(rng)
            account.nom = other
        elif case == "date_typo":
            account.birth = _date_typo(rng, human.birth) if human.birth else None
            if account.birth is None:
                account.birth = self.birth(23, 64)
        elif case == "swapped_day_month":
            assert human.birth is not None
            account.birth = human.birth.replace(day=human.birth.month, month=human.birth.day)
        elif case == "stale_identifier":
            account.ids = [f"{self.uai}${self.idpn()}"]
        elif case == "two_establishments":
            other = self.other_uai()
            account.uais = rng.sample([self.uai, other], 2)
            account.ids = [f"{other}${''.join(rng.choices(IDPN_ALPHABET, k=16))}"]
        elif case == "duplicate_in_pronote" and rng.random() < 0.5:
            # The first duplicate got the link: the person cannot sign in with the second.
            account.ids = [f"{self.uai}${records[0].idpn}"]
            records[0].labels.append("already_linked")

    def link_guardians(self) -> None:
        """Students point at their guardians' records; a sibling may use a duplicate."""
        for child in self.humans["eleves"]:
            for record in child.records:
                for guardian in child.guardians:
                    pick = guardian.records[0]
                    siblings = guardian.children
                    if len(guardian.records) > 1 and len(siblings) > 1 and child is siblings[-1]:
                        pick = guardian.records[1]
                    record.guardians.append(pick)

    def plain_links(self) -> None:
        rng = self.rng
        cas_rates = {"eleves": 0.3, "enseignants": 0.3, "personnels": 0.3, "responsables": 0.15}
        for slug in CATEGORIES:
            for human in self.humans[slug]:
                if human.case is not None or human.account is None:
                    continue
                record = human.records[0]
                if rng.random() < cas_rates.get(slug, 0.0):
                    record.cas_login = human.account.login
                    record.labels.append("cas_login")
                if rng.random() < 0.2:
                    human.account.ids = [f"{self.uai}${record.idpn}"]
                    record.labels.append("already_linked")

    def derived_labels(self) -> None:
        for slug in CATEGORIES:
            people = self.humans[slug] + [h for h in self.departed if h.category == slug]
            groups: dict[tuple[str, str], list[_Human]] = {}
            for human in people:
                groups.setdefault(_key(human.surname, human.first_name), []).append(human)
            for group in groups.values():
                for human in group:
                    others = [o for o in group if o is not human]
                    if not others:
                        continue
                    same_date = human.birth is not None and any(
                        o.birth == human.birth for o in others
                    )
                    label = "same_name_same_date" if same_date else "homonym"
                    if human.in_file:
                        for record in human.records:
                            record.labels.append(label)
                    else:
                        human.labels.append(label)
            for human in self.humans[slug]:
                for record in human.records:
                    if human.account is None:
                        record.labels.append("not_in_directory")
                    birth = human.account.birth if human.account else None
                    if record.birth_text and birth and record.iso != human.account.iso:
                        record.labels.append("date_format")
                    record.labels = [x for x in ALL_LABELS if x in record.labels]
        for human in self.departed:
            human.labels = [x for x in ALL_LABELS if x in human.labels]


def _typo(rng: random.Random, name: str) -> str:
    """One letter changed, dropped or doubled (never the first one, never an accent)."""
    positions = [i for i, c in enumerate(name) if i > 0 and c.isascii() and c.isalpha()]
    i = rng.choice(positions)
    letter = name[i]
    operation = rng.choice(("substitute", "drop", "double"))
    if operation == "drop" and len(name) > 3:
        return name[:i] + name[i + 1 :]
    if operation == "double":
        return name[:i] + letter + name[i:]
    pool = "aeiou" if letter.lower() in "aeiouy" else "bcdfglmnprstvz"
    new = rng.choice([c for c in pool if c != letter.lower()])
    return name[:i] + (new.upper() if letter.isupper() else new) + name[i + 1 :]


def _date_typo(rng: random.Random, birth: date) -> date:
    """The date with one component one off: day, month or year."""
    options = [("day", 1), ("day", -1), ("month", 1), ("month", -1), ("year", 1), ("year", -1)]
    rng.shuffle(options)
    for part, step in options:
        values = {"day": birth.day, "month": birth.month, "year": birth.year}
        values[part] += step
        try:
            changed = date(values["year"], values["month"], values["day"])
        except ValueError:
            continue
        if changed.day != birth.month or changed.month != birth.day:
            return changed
    raise AssertionError(birth)  # pragma: no cover - some option is always valid


# --- writing ---------------------------------------------------------------


def _write_identifiers(path: Path, school: _Establishment, name: str, stamp: str) -> None:
    root = etree.Element("IdentifiantsPronote")
    for key, value in (
        ("Version", "1"),
        ("DateHeure", stamp),
        ("UAI", school.uai),
        ("NomEtablissement", name),
    ):
        root.set(key, value)
    for slug in CATEGORIES:
        wrapper_tag, tag = ELEMENTS[slug]
        wrapper = etree.SubElement(root, wrapper_tag)
        records = [r for h in school.humans[slug] for r in h.records]
        records.sort(key=lambda r: (*_key(r.human.surname, r.human.first_name), int(r.ident)))
        for record in records:
            element = etree.SubElement(wrapper, tag)
            element.set("Ident", record.ident)
            element.set("IDPN", record.idpn)
            element.set("Nom", record.nom)
            element.set("Prenom", record.prenom)
            if record.birth_text:
                element.set("DateNaissance", record.birth_text)
            if record.human.class_name:
                element.set("Classe", record.human.class_name)
            if record.cas_login:
                element.set("IdentifiantCAS", record.cas_login)
            for key, value in record.human.extra.items():
                element.set(key, value)
            for guardian in record.guardians:
                etree.SubElement(element, "Responsable").set("Ident", guardian.ident)
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    path.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n' + body)


TIMETABLE_NAMESPACE = "http://www.index-education.com/exportemploidutemps"
SUBJECTS = (
    ("FRANC", "FRANCAIS"), ("MATHS", "MATHEMATIQUES"), ("HIGEO", "HISTOIRE & GEOGRAPH."),
    ("AGL1", "ANGLAIS LV1"), ("ESP2", "ESPAGNOL LV2"), ("ALL2", "ALLEMAND LV2"),
    ("SVT", "SCIENCES VIE & TERRE"), ("PH-CH", "PHYSIQUE-CHIMIE"), ("TECHN", "TECHNOLOGIE"),
    ("A-PLA", "ARTS PLASTIQUES"), ("EDMUS", "EDUCATION MUSICALE"), ("EPS", "ED.PHYSIQUE & SPORT."),
    ("LATIN", "LATIN"), ("EDCIV", "EDUCATION CIVIQUE"), ("VICLA", "VIE DE CLASSE"),
)  # fmt: skip
STREETS = ("rue du Moulin", "avenue de la Gare", "place de l'Église", "rue des Écoles",
           "chemin des Vignes", "boulevard Victor Hugo", "impasse des Lilas")  # fmt: skip


def _write_timetable(path: Path, school: _Establishment, seed: int) -> None:
    """The same people as `_write_identifiers`, as PRONOTE's ExportEmploiDuTemps puts them.

    Guardians inside their students (full record at each occurrence, first
    names in capitals), `IdPN` or `IDPN`, ISO dates or `DateNaissance=""`,
    classes by `Ident`, `IDCAS`, and the timetable around them: subjects,
    rooms, groups and a few `Cours` per student that name teachers by `Ident`.
    """
    rng = random.Random(f"datagen-timetable-{seed}")
    ns = TIMETABLE_NAMESPACE

    def add(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ns}}}{tag}")
        for key, value in attributes.items():
            element.set(key, value)
        return element

    def idpn_attribute() -> str:
        return "IdPN" if rng.random() < 0.5 else "IDPN"

    year = school.year
    root = etree.Element(f"{{{ns}}}ExportEmploiDuTemps", nsmap={None: ns})
    root.set("Version", "1.1")
    root.set("UAI", school.uai)
    add(root, "AnneeScolaire", DateDebut=f"{year}-09-01", DateFin=f"{year + 1}-08-31",
        DatePremierJourSemaine1=f"{year}-08-31")  # fmt: skip
    grid = add(root, "GrilleHoraire", NombrePlacesParJour="20", DureePlace="30")
    days = add(grid, "JoursOuvres")
    for day in range(1, 6):
        add(days, "Jour").text = str(day)
    places = add(grid, "PlacesParJour")
    for number in range(20):
        start, end = 8 * 60 + 30 * number, 8 * 60 + 30 * (number + 1)
        add(places, "Place", Numero=str(number),
            LibelleHeureDebut=f"{start // 60:02d}:{start % 60:02d}:00",
            LibelleHeureFin=f"{end // 60:02d}:{end % 60:02d}:00")  # fmt: skip
    subjects = add(root, "Matieres")
    for number, (code, label) in enumerate(SUBJECTS, 2):
        add(subjects, "Matiere", Ident=str(number), Code=code, Libelle=label)
    teachers = add(root, "Professeurs")
    teacher_idents = []
    for record in _sorted_records(school, "enseignants"):
        element = add(teachers, "Professeur", Ident=record.ident, Nom=record.nom,
                      Prenom=record.prenom)  # fmt: skip
        element.set("CodePostal", rng.choice(school.postal_codes))
        birth = record.human.birth if record.birth_text else None
        if birth is not None or rng.random() < 0.5:
            element.set("DateNaissance", _iso(birth) if birth else "")
        element.set(idpn_attribute(), record.idpn)
        if record.cas_login:
            element.set("IDCAS", record.cas_login)
        teacher_idents.append(record.ident)
    class_idents = {name: str(number) for number, name in enumerate(school.classes, 2)}
    classes = add(root, "Classes")
    part = 100
    for name, ident in class_idents.items():
        classe = add(classes, "Classe", Ident=ident, Nom=name)
        for _ in range(rng.randint(1, 3)):
            part += 1
            add(classe, "PartieDeClasse", Ident=str(part))
    groups = add(root, "Groupes")
    for number, name in enumerate(school.classes, 2):
        groupe = add(groups, "Groupe", Ident=str(number), Nom=f"{name} LV2")
        add(groupe, "PartieDeClasse", Ident=str(100 + number))
    rooms = add(root, "Salles")
    room_idents = [str(15500 + n) for n in range(max(8, len(school.classes) + 4))]
    for number, ident in enumerate(room_idents, 1):
        add(rooms, "Salle", Ident=ident, Nom=str(number))
    staff = _sorted_records(school, "personnels")
    if staff:  # not in the XSD; one ENT's reader has seen it
        personnels = add(root, "Personnels")
        for record in staff:
            element = add(personnels, "Personnel", Ident=record.ident, Nom=record.nom,
                          Prenom=record.prenom)  # fmt: skip
            if record.birth_text:
                element.set("DateNaissance", _iso(record.human.birth))
            element.set(idpn_attribute(), record.idpn)
            if record.cas_login:
                element.set("IDCAS", record.cas_login)
            for key, value in record.human.extra.items():
                element.set(key, value)
    students = add(root, "Eleves")
    term_start, term_end = f"{year}-09-01", f"{year + 1}-08-31"
    for record in _sorted_records(school, "eleves"):
        human = record.human
        element = add(students, "Eleve", Ident=record.ident, Nom=record.nom, Prenom=record.prenom)
        element.set("DateNaissance", _iso(human.birth) if record.birth_text else "")
        element.set("Sexe", "Feminin" if human.sex == "F" else "Masculin")
        element.set(idpn_attribute(), record.idpn)
        if record.cas_login:
            element.set("IDCAS", record.cas_login)
        for rank, guardian in enumerate(record.guardians, 1):
            g = guardian.human
            child = add(element, "Responsable", Ident=guardian.ident, RespLegal=str(rank),
                        Nom=guardian.nom, Prenom=guardian.prenom.upper(),
                        Civilite="Mme" if g.sex == "F" else "M.")  # fmt: skip
            number = int(guardian.ident)
            child.set("Adresse1", f"{1 + number % 97} {STREETS[number % len(STREETS)]}")
            if "CodePostal" in g.extra:
                child.set("CodePostal", g.extra["CodePostal"])
            child.set("Ville", "NANTES")
            child.set(idpn_attribute(), guardian.idpn)
            if guardian.cas_login:
                child.set("IDCAS", guardian.cas_login)
        if human.class_name:
            if rng.random() < 0.03:  # changed class during the year
                before = rng.choice([c for c in school.classes if c != human.class_name] or
                                    [human.class_name])  # fmt: skip
                add(element, "Classe", Ident=class_idents[before], DateEntree=term_start,
                    DateSortie=f"{year}-11-30")  # fmt: skip
                add(element, "Classe", Ident=class_idents[human.class_name],
                    DateEntree=f"{year}-12-01", DateSortie=term_end)  # fmt: skip
            else:
                add(element, "Classe", Ident=class_idents[human.class_name],
                    DateEntree=term_start, DateSortie=term_end)  # fmt: skip
    lessons = add(root, "Cours")
    for _ in range(3 * school.students):
        lesson = add(lessons, "Cours", Jour=str(rng.randint(1, 5)),
                     NumeroPlaceDebut=str(rng.randrange(18)), NombrePlaces="2")  # fmt: skip
        add(lesson, "Matiere", Ident=str(rng.randrange(2, 2 + len(SUBJECTS))))
        if teacher_idents:
            add(lesson, "Professeur", Ident=rng.choice(teacher_idents), Semaines="1048575")
        add(lesson, "Classe", Ident=rng.choice(list(class_idents.values())), Semaines="1048575")
        add(lesson, "Salle", Ident=rng.choice(room_idents), Semaines="1048575")
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    path.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n' + body)


def _sorted_records(school: _Establishment, slug: str) -> list[_Record]:
    records = [r for h in school.humans[slug] for r in h.records]
    records.sort(key=lambda r: (*_key(r.human.surname, r.human.first_name), int(r.ident)))
    return records


def _write_directory(path: Path, school: _Establishment, others: int, seed: int) -> int:
    accounts = [
        h.account
        for slug in CATEGORIES
        for h in school.humans[slug] + [d for d in school.departed if d.category == slug]
        if h.account is not None
    ]
    accounts.sort(key=lambda a: a.login)
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=";", lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(a.row() for a in accounts)
        if others:
            _write_other_accounts(writer, others, seed, school)
    return len(accounts)


def _write_truth(path: Path, school: _Establishment, seed: int, name: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    text = school.identifiers_path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        # The first occurrence: a guardian of the timetable form recurs under each child.
        if m := re.search(r' (?:IDPN|IdPN)="([A-Z0-9]{16})"', line):
            lines.setdefault(m.group(1), number)
    records = {}
    in_file = [r for slug in CATEGORIES for h in school.humans[slug] for r in h.records]
    for record in sorted(in_file, key=lambda r: lines[r.idpn]):
        account = record.human.account
        records[record.idpn] = {
            "category": record.human.category,
            "login": account.login if account else None,
            "labels": record.labels,
            "line": lines[record.idpn],
        }
    directory_only = {
        h.account.login: {"category": h.category, "labels": h.labels, "idpronote": h.account.ids}
        for h in school.departed
        if h.account is not None
    }
    obsolete = sorted(
        login for login, entry in directory_only.items() if "stale_identifier" in entry["labels"]
    )
    counts = {label: 0 for label in LABELS}
    for entry in records.values():
        for label in entry["labels"]:
            counts[label] = counts.get(label, 0) + 1
    for entry in directory_only.values():
        for label in entry["labels"]:
            if label in ("departed",):
                counts[label] += 1
    head = {
        "uai": school.uai,
        "etablissement": name,
        "seed": seed,
        "students": school.students,
        "label_counts": counts,
        "obsolete": obsolete,
    }
    parts = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items()]
    for key, table in (("records", records), ("directory_only", directory_only)):
        inner = ",\n".join(
            f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in table.items()
        )
        parts.append(f'  "{key}": {{\n{inner}\n  }}' if inner else f'  "{key}": {{}}')
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")
    return counts


# --- other establishments (streamed) ---------------------------------------

_OTHER_CATEGORY = _Weighted(
    (("family", 517), ("enseignants", 43), ("personnels", 15), ("mds", 3), ("ins", 2))
)
_STAFF_PROFILES = _Weighted(
    (
        ("National_DIR", 3),
        ("National_DOC", 1),
        ("National_EVS", 6),
        ("National_ETA", 2),
        ("National_COL", 3),
    )
)
_OTHER_CLASSES = tuple(f"{lvl}{x}" for lvl in "6543" for x in "ABCDE") + tuple(
    f"{lvl}{n}" for lvl in ("2NDE", "1G", "TG") for n in "12345"
)


def _write_other_accounts(writer, count: int, seed: int, school: _Establishment) -> None:
    """`count` accounts of other establishments, written in chunks as they are drawn."""
    rng = random.Random(f"datagen-other-establishments-{seed}")
    pool: list[str] = []
    taken = {school.uai}
    departments = [school.uai[:3]] + [f"0{rng.randint(1, 95):02d}" for _ in range(4)]
    while len(pool) < max(1, count // 800):
        digits = rng.choice(departments) + f"{rng.randrange(10000):04d}"
        uai = digits + uai_check_letter(digits)
        if uai not in taken:
            taken.add(uai)
            pool.append(uai)
    parts = {name: _login_part(name) for name, _ in SURNAMES}
    for start, middle, end in itertools.product(TAIL_STARTS, TAIL_MIDDLES, TAIL_ENDS):
        parts[start + middle + end] = (start + middle + end).lower()
    for names in (STUDENT_FIRST_NAMES, ADULT_FIRST_NAMES):
        for pairs in names.values():
            parts.update((name, _login_part(name)) for name, _ in pairs)
    dates: dict[int, tuple[str, str]] = {}
    young_start = date(school.year - 18, 1, 1).toordinal()
    adult_start = date(school.year - 65, 1, 1).toordinal()
    random_ = rng.random
    choices = rng.choices
    randrange = rng.randrange
    surname_pick, first = _SURNAME.pick, _FIRST
    seq = 1000
    written = 0
    rows: list[tuple[str, ...]] = []

    def person(generation: str, surname: str | None, start: int, span: int, profile: str, uai):
        nonlocal seq
        sex = "F" if random_() < 0.5 else "M"
        first_name = first[generation, sex].pick(rng)
        surname = surname or surname_pick(rng)
        login = f"{parts[first_name]}.{parts[surname]}{seq}"
        seq += 1
        ordinal = start + randrange(span)
        text = dates.get(ordinal)
        if text is None:
            day = date.fromordinal(ordinal)
            text = dates[ordinal] = (_iso(day), _dmy(day))
        birth = text[0] if random_() < 0.9 else text[1]
        linked = f"{uai}${''.join(choices(IDPN_ALPHABET, k=16))}" if random_() < 0.3 else ""
        return [login, surname, first_name, birth, profile, uai, "", "", linked]

    while written < count:
        uai = pool[randrange(len(pool))]
        kind = _OTHER_CATEGORY.pick(rng)
        if kind == "family":
            surname = surname_pick(rng)
            draw = random_()
            children = []
            for _ in range(1 if draw < 0.87 else (2 if draw < 0.985 else 3)):
                row = person("young", surname, young_start, 8 * 365, "National_ELV", uai)
                row[6] = _OTHER_CLASSES[randrange(len(_OTHER_CLASSES))]
                children.append(row)
            unit = list(children)
            logins = "|".join(c[0] for c in children)
            for _ in range(1 if random_() < 0.1 else 2):
                row = person("adult", None, adult_start, 40 * 365, "National_TUT", uai)
                if random_() < 0.7:
                    row[3] = ""
                row[7] = logins
                unit.append(row)
        elif kind == "enseignants":
            unit = [person("adult", None, adult_start, 42 * 365, "National_ENS", uai)]
        elif kind == "personnels":
            unit = [person("adult", None, adult_start, 42 * 365, _STAFF_PROFILES.pick(rng), uai)]
        else:
            profile = "National_MDS" if kind == "mds" else "National_INS"
            unit = [person("adult", None, adult_start, 40 * 365, profile, uai)]
            unit[0][3] = ""
        unit = unit[: count - written]
        rows += unit
        written += len(unit)
        if len(rows) >= 20_000:
            writer.writerows(rows)
            rows.clear()
    writer.writerows(rows)


# --- entry points ----------------------------------------------------------


def generate(
    out_dir: Path,
    *,
    seed: int = 1,
    students: int = 600,
    uai: str = "0441234A",
    name: str = "Collège Marie Curie",
    other_accounts: int = 0,
    export_date: str | datetime = "2026-09-01T08:30:00",
    form: str = "reference",
    envelope: bool = False,
    wrong_links: bool = False,
    relatives: bool = False,
    mode: str = "complet",
    login_suffix: str = "",
) -> GenerationResult:
    """Write identifiants.xml, annuaire.csv and truth.json into `out_dir`.

    `form="timetable"`: identifiants.xml is an ExportEmploiDuTemps, of a
    population that form can hold (no supervisors, no inspectors, every guardian
    under a student), and identifiants-reference.xml the same people in the
    reference form. `envelope`: also identifiants.chiffre.xml, identifiants.xml
    in an EXPORT_INDEX_EDUCATION envelope, and partner.pem, the fresh key that
    opens it (0600). `wrong_links`, `relatives` and `mode` add the optional
    cases of the module's docstring; off, the files are what they always were.
    `login_suffix` ends every login of the establishment (several establishments
    generated into one directory must not share logins).
    """
    if form not in FORMS:
        raise ValueError(f"form: one of {', '.join(FORMS)}")
    if form == "timetable" and mode == "partiel":
        # It lists guardians under their students: a partial file's guardians whose
        # children signed in could not be in it.
        raise ValueError("mode partiel: the reference form only")
    if students < 20:
        raise ValueError("students: at least 20, so that every hard case has people to carry it")
    if mode not in MODES:
        raise ValueError(f"mode: one of {', '.join(MODES)}")
    stamp = (
        export_date if isinstance(export_date, datetime) else datetime.fromisoformat(export_date)
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    school = _Establishment(
        seed,
        students,
        uai,
        stamp,
        timetable=form == "timetable",
        wrong_links=wrong_links,
        relatives=relatives,
        mode=mode,
        login_suffix=login_suffix,
    )
    school.build()
    school.render()
    identifiers = out_dir / "identifiants.xml"
    directory = out_dir / "annuaire.csv"
    truth = out_dir / "truth.json"
    school.identifiers_path = identifiers
    if form == "timetable":
        _write_timetable(identifiers, school, seed)
        reference = out_dir / "identifiants-reference.xml"
        _write_identifiers(reference, school, name, stamp.isoformat(timespec="seconds"))
    else:
        _write_identifiers(identifiers, school, name, stamp.isoformat(timespec="seconds"))
    if envelope:
        from bench.envelope import wrap_file

        wrap_file(identifiers, out_dir, name=name)
    local = _write_directory(directory, school, other_accounts, seed)
    labels = _write_truth(truth, school, seed, name)
    counts = {slug: sum(len(h.records) for h in school.humans[slug]) for slug in CATEGORIES}
    obsolete = sum(1 for h in school.departed if "stale_identifier" in h.labels)
    return GenerationResult(
        out_dir, identifiers, directory, truth, counts, local, other_accounts, labels, obsolete
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--form", choices=FORMS, default="reference")
    parser.add_argument(
        "--envelope", action="store_true", help="also wrap identifiants.xml for a fresh key"
    )
    parser.add_argument(
        "--wrap",
        type=Path,
        metavar="FILE",
        help="only wrap FILE in an envelope for a fresh key, into OUT_DIR",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--uai", default="0441234A")
    parser.add_argument("--name", default="Collège Marie Curie")
    parser.add_argument("--other-accounts", type=int, default=0)
    parser.add_argument("--export-date", default="2026-09-01T08:30:00")
    parser.add_argument("--wrong-links", action="store_true", help="wrong_existing_link cases")
    parser.add_argument("--relatives", action="store_true", help="grandparents and namesakes")
    parser.add_argument("--mode", choices=MODES, default="complet")
    args = parser.parse_args(argv)
    if args.wrap:
        from bench.envelope import wrap_file

        target, key_path = wrap_file(args.wrap, args.out_dir)
        print(f"{target}: {args.wrap} for partner ENTPARTENAIRE; key {key_path} (0600)")
        return 0
    started = time.perf_counter()
    result = generate(
        args.out_dir,
        seed=args.seed,
        students=args.students,
        uai=args.uai,
        name=args.name,
        other_accounts=args.other_accounts,
        export_date=args.export_date,
        form=args.form,
        envelope=args.envelope,
        wrong_links=args.wrong_links,
        relatives=args.relatives,
        mode=args.mode,
    )
    elapsed = time.perf_counter() - started
    print(f"{result.out_dir}: " + ", ".join(f"{k} {v}" for k, v in result.counts.items()))
    print(
        f"directory: {result.local_accounts} accounts of {args.uai}"
        f" + {result.other_accounts} of other establishments; obsolete {result.obsolete}"
    )
    print("labels: " + ", ".join(f"{k} {v}" for k, v in result.labels.items()))
    print(f"{elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
