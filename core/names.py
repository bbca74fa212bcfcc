"""Person names and birth dates as the matcher compares them.

The same person reaches us spelt differently by Pronote and by the directory:
accents or not, upper-case surnames, `MARTIN-DUPONT` against `MARTIN DUPONT`,
`D'ARTAGNAN` against `DARTAGNAN`, and exports mangled by a wrong encoding
(`MÃ©rine` or `M$rine` for `Mérine`). A wrong link opens someone else's
account, so everything here errs on the side of "not the same": a letter lost to
an encoding is kept visible as `?` and must never by itself justify a link.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date

from core.text import printable

# -- mojibake ----------------------------------------------------------------------------------

# UTF-8 bytes shown through CP1252 (Windows tools) or Latin-1 (everything else). CP1252 leaves
# 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined; decoders then fall back to the Latin-1 control
# character, so both spellings of every byte must lead back to that byte.
_CP1252_SPECIALS = {}
for _byte in range(0x80, 0xA0):
    try:
        _CP1252_SPECIALS[bytes([_byte]).decode("cp1252")] = _byte
    except UnicodeDecodeError:
        pass

# A mojibake sequence is a UTF-8 lead byte (C2..F4: Â, Ã, â, Å...) followed by a continuation
# byte (80..BF: ©, ‰, €, ’...). Counting these, rather than a few known pairs, also covers
# Œ (`Å’`), Á (`Ã\x81`) and text encoded twice (`ÃƒÂ©`).
_CONTINUATION = "".join(chr(b) for b in range(0x80, 0xC0)) + "".join(_CP1252_SPECIALS)
_MOJIBAKE = re.compile("[\u00c2-\u00f4][" + re.escape(_CONTINUATION) + "]")
_MAX_ROUNDS = 2  # once for a plain mis-decode, once more for an export decoded twice


def _mojibake_count(text: str) -> int:
    return len(_MOJIBAKE.findall(text))


def _as_single_bytes(text: str) -> bytes | None:
    """The bytes a CP1252/Latin-1 decoder turned into `text`; None if it cannot have."""
    try:
        return text.encode("cp1252")
    except UnicodeEncodeError:
        pass
    out = bytearray()
    for char in text:
        code = ord(char)
        if char in _CP1252_SPECIALS:
            out.append(_CP1252_SPECIALS[char])
        elif code < 0x100:
            out.append(code)
        else:
            return None
    return bytes(out)


def _western(text: str) -> bool:
    """True when `text` holds only what CP1252 can: Western European letters and punctuation.

    Repairs are limited to these because beyond them mojibake and genuine text collide:
    `äÿ`.upper() is `ÄŸ`, which is also the mojibake of Turkish `ğ`, and `ÇŸ` would decode
    to the IPA letter `ǟ`. A Turkish or Polish name mangled this way stays unrepaired and
    falls to a manual link, which is the safe side.
    """
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def repair_mojibake(text: str) -> str:
    """`text` with UTF-8 read as CP1252/Latin-1 undone (`MÃ©rine` -> `Mérine`); never raises.

    A round is kept only if the bytes are valid UTF-8, the result holds strictly fewer
    mojibake sequences and is Western European text (see `_western`), so a genuine name
    (which almost never decodes as UTF-8) comes back unchanged; ASCII is never touched.
    """
    current = text
    for _ in range(_MAX_ROUNDS):
        if current.isascii():
            break
        raw = _as_single_bytes(current)
        if raw is None:
            break
        try:
            candidate = raw.decode("utf-8")
        except UnicodeDecodeError:
            break
        if not _western(candidate) or _mojibake_count(candidate) >= _mojibake_count(current):
            break
        current = candidate
    return current


# -- normalisation ------------------------------------------------------------------------------

LOST_LETTER = "?"
# What a letter lost to a bad encoding looks like in the exports we receive: `$` from some
# Pronote exports, `?` from encoders told to replace, U+FFFD from decoders told to replace.
_LOST_MARKERS = frozenset("$?\ufffd")

_KEPT = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") | {LOST_LETTER}
# Letters that Unicode does not decompose into a base letter plus accents. Ligatures are
# spelt out because French writes ŒDIPE and OEDIPE alike; the others are the usual
# transliterations, so a name spelt with them is not reported as having lost letters.
_SPELT_OUT = {
    "Œ": "OE",
    "Æ": "AE",
    "ß": "SS",
    "Ø": "O",
    "Ł": "L",
    "Đ": "D",
    "Ð": "D",
    "Þ": "TH",
    "Ħ": "H",
    "Ŧ": "T",
    "Ŋ": "N",
    "Ə": "E",
}
# Apostrophes that Unicode files under "modifier letter" (ʼ ʻ) must separate like `'` does.
_SEPARATING_LETTERS = frozenset("ʼʻ")
_CACHE_SIZE = 1 << 14  # the matcher normalises the same directory names over and over


def normalise_name(text: str) -> str:
    """The comparison form of a name: `D'Artagnan-Mérine` -> `D ARTAGNAN MERINE`.

    Upper-case ASCII letters, digits, single spaces and `?` (a lost letter). Accents, case,
    ligatures and punctuation are ignored; particles are kept (see `name_keys`). A letter
    of another script cannot be compared with ASCII, so it also becomes `?`: such a name is
    never linked automatically, rather than silently reduced to its Latin part.
    Idempotent: the output is ASCII, which every step leaves as it is.
    """
    return _normalise(text)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", repair_mojibake(text))
    # Case is folded before decomposing: casefold can produce accented letters (İ -> i̇).
    text = unicodedata.normalize("NFKD", text.casefold()).upper()
    out: list[str] = []
    for char in text:
        if char in _KEPT:
            out.append(char)
        elif char in _LOST_MARKERS:
            out.append(LOST_LETTER)
        elif char in _SPELT_OUT:
            out.append(_SPELT_OUT[char])
        elif char.isspace() or char in _SEPARATING_LETTERS:
            # Tabs and newlines are Cc but separate words like a space does.
            out.append(" ")
        else:
            category = unicodedata.category(char)
            if category in ("Cc", "Cf") or category[0] == "M":
                # Invisible (zero-width, bidi, soft hyphen) or an accent left by NFKD.
                continue
            if category == "Nd":
                out.append(str(unicodedata.decimal(char)))
            elif category[0] == "L" and category != "Lm":
                out.append(LOST_LETTER)
            else:
                out.append(" ")
    return " ".join("".join(out).split())


def has_lost_letters(text: str) -> bool:
    """True when some letter of the name could not be read (shown as `?` once normalised)."""
    return LOST_LETTER in normalise_name(text)


def compact_name(text: str) -> str:
    """The normalised name without its spaces: `Le Gall`, `LE GALL` and `LEGALL` are one."""
    return "".join(normalise_name(text).split())


# -- particles and keys -------------------------------------------------------------------------

PARTICLES = frozenset(
    {
        "DE",  # French: DE GAULLE, often dropped or glued on (DEGAULLE) by other systems
        "DU",  # French, DE + LE: DU BELLAY
        "DES",  # French, DE + LES: DES ROCHES
        "D",  # French elided DE: D'ARTAGNAN, written D ARTAGNAN, DARTAGNAN or ARTAGNAN
        "LA",  # French article: DE LA FONTAINE, LA FAYETTE
        "LE",  # French and Breton article: LE GALL, LE PEN, often glued on (LEGALL)
        "LES",  # French plural article
        "L",  # French elided article: L'HERMITE
        "DI",  # Italian: DI MARIA
        "DA",  # Italian and Portuguese: DA SILVA, DA COSTA
        "VAN",  # Dutch and Flemish: VAN DAMME
        "VON",  # German: VON BRAUN
        "DEL",  # Spanish and Italian: DEL PIERO
        "DELLA",  # Italian: DELLA ROBBIA
    }
)


def _without_particles(words: list[str], *, leading_only: bool) -> list[str]:
    if leading_only:
        kept = list(words)
        while kept and kept[0] in PARTICLES:
            kept.pop(0)
    else:
        kept = [word for word in words if word not in PARTICLES]
    # A name made only of particles (LE, DE LA) is a name, not nothing.
    return kept or list(words)


def name_keys(text: str) -> frozenset[str]:
    """Compact keys that survive spacing and particles, for blocking and equality.

    `DE LA FONTAINE` -> {DELAFONTAINE, FONTAINE}; `LE GALL` and `LEGALL` share LEGALL.
    An empty name has no key, so that two blank names never fall in the same block.
    """
    words = normalise_name(text).split()
    if not words:
        return frozenset()
    stripped = _without_particles(words, leading_only=True)
    return frozenset({"".join(words), "".join(stripped)})


def name_parts(text: str) -> tuple[str, ...]:
    """The words of the name without particles: `MARTIN-DUPONT` -> (MARTIN, DUPONT)."""
    words = normalise_name(text).split()
    return tuple(_without_particles(words, leading_only=False))


# -- dates --------------------------------------------------------------------------------------

MIN_YEAR = 1900
MAX_YEAR = 2100
ACCEPTED_DATE_FORMS = (
    "dd/mm/yyyy",
    "yyyy-mm-dd[Thh:mm[:ss]]",
    "LDAP YYYYMMDD or YYYYMMDDhh[mm[ss]][.f](Z|+hhmm|-hhmm)",
)


class InvalidDate(ValueError):
    """A date that is none of the accepted forms, impossible, or outside 1900..2100."""

    def __init__(self, value: str) -> None:
        shown = printable(value if len(value) <= 40 else value[:40] + "…")
        super().__init__(
            f"invalid date '{shown}': expected {' or '.join(ACCEPTED_DATE_FORMS)}, "
            f"with a year between {MIN_YEAR} and {MAX_YEAR}"
        )
        self.value = value


# re.ASCII: `\d` would otherwise accept Arabic-Indic or full-width digits.
_FRENCH = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?",
    re.ASCII,
)
# RFC 4517 GeneralizedTime: the time zone is required as soon as there is an hour.
_GENERALIZED = re.compile(
    r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(?:(\d{2})(\d{2})?)?(?:[.,]\d+)?(Z|[+-]\d{2}(\d{2})?))?",
    re.ASCII,
)


def _valid_time(hour: str | None, minute: str | None, second: str | None) -> bool:
    # Second 60 is a leap second, legal in both ISO 8601 and GeneralizedTime.
    return int(hour or 0) <= 23 and int(minute or 0) <= 59 and int(second or 0) <= 60


def _valid_offset(zone: str | None) -> bool:
    if not zone or zone == "Z":
        return True
    digits = zone[1:].replace(":", "")
    return int(digits[:2]) <= 23 and int(digits[2:] or 0) <= 59


def parse_date(text: str | None) -> date | None:
    """A calendar date from dd/mm/yyyy, ISO or LDAP GeneralizedTime; None when blank.

    The time and zone of a timestamp are checked but dropped, never applied: a birth date is
    the day as written, and shifting `20110512000000+0200` to UTC would move it to the 11th.
    Raises InvalidDate for anything else, an impossible day or a year outside 1900..2100.
    """
    if text is None or not text.strip():
        return None
    value = text.strip()
    if match := _FRENCH.fullmatch(value):
        day, month, year = match.groups()
        time_ok = True
    elif match := _ISO.fullmatch(value):
        year, month, day, hour, minute, second, zone = match.groups()
        time_ok = _valid_time(hour, minute, second) and _valid_offset(zone)
    elif match := _GENERALIZED.fullmatch(value):
        year, month, day, hour, minute, second, zone, _ = match.groups()
        time_ok = _valid_time(hour, minute, second) and _valid_offset(zone)
    else:
        raise InvalidDate(value)
    if not time_ok or not MIN_YEAR <= int(year) <= MAX_YEAR:
        raise InvalidDate(value)
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise InvalidDate(value) from None


def dates_compatible(a: date | None, b: date | None) -> bool:
    """The same birth date where both sides have one: a missing date rules nothing out."""
    return a is None or b is None or a == b


def format_date(d: date | None, style: str = "fr") -> str:
    """`12/05/2011` (style "fr", the ENT's ENTPersonDateNaissance) or `2011-05-12` ("iso")."""
    if d is None:
        return ""
    # Formatted by hand: strftime pads years below 1000 differently across platforms.
    if style == "fr":
        return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
    if style == "iso":
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    raise ValueError(f"unknown date style {style!r}: expected 'fr' or 'iso'")
