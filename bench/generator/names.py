"""Names and their spellings: the weighted tables, the synthetic surname tail, and
the ways a name is written differently (no accents, mojibake, `$`, login parts)."""

from __future__ import annotations

import bisect
import itertools
import random
import re
import string
import unicodedata
from datetime import date

IDPN_ALPHABET = string.ascii_uppercase + string.digits
UAI_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

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
