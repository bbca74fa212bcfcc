"""Names compare alike however they were spelt or mangled; dates read in every form we meet."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.names import (
    LOST_LETTER,
    PARTICLES,
    InvalidDate,
    format_date,
    has_lost_letters,
    name_keys,
    name_parts,
    normalise_name,
    parse_date,
    repair_mojibake,
)

# -- mojibake -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mangled", "expected"),
    [
        ("MÃ©rine", "Mérine"),
        ("Ã‰LODIE", "ÉLODIE"),
        ("FranÃ§ois", "François"),
        ("BÃ©atrice", "Béatrice"),
        ("HÃ©lÃ¨ne", "Hélène"),
        ("Ã\x89LODIE", "ÉLODIE"),  # Latin-1 rather than CP1252
        ("Ã\x81ngel", "Ángel"),  # 0x81 is undefined in CP1252
        ("Å’dipe", "Œdipe"),
        ("Lâ€™Hermite", "L’Hermite"),
        ("ÃƒÂ©lodie", "élodie"),  # encoded twice
        ("MÃƒÂ©rine", "Mérine"),
        ("StrauÃŸ", "Strauß"),
    ],
)
def test_repair_mojibake(mangled, expected):
    assert repair_mojibake(mangled) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Mérine",
        "ÉLODIE",
        "Œdipe",
        "DUPONT",
        "",
        "Ã",  # a genuine Ã that does not decode as UTF-8
        "Åsa",
        "João",
        "MÃ©rine é",  # partly mangled: the round trip fails, so nothing is guessed
        "M\ufffdrine",
        "Иванов",
        "ÇŸ",  # would decode to the IPA letter ǟ
        "ÂŸ",  # would decode to a control character
        "DoÄŸan",  # Turkish ğ: beyond CP1252, where mojibake and real text collide
    ],
)
def test_repair_mojibake_leaves_the_rest_alone(text):
    assert repair_mojibake(text) == text


def test_repair_mojibake_stops_after_two_rounds():
    thrice = "é".encode().decode("cp1252").encode().decode("cp1252").encode().decode("cp1252")
    assert repair_mojibake(thrice) == "Ã©"


@given(st.text())
def test_repair_mojibake_never_raises(text):
    assert isinstance(repair_mojibake(text), str)


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_repair_mojibake_leaves_ascii_alone(text):
    assert repair_mojibake(text) == text


# -- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Mérine", "MERINE"),
        ("merine", "MERINE"),
        ("MÃ©rine", "MERINE"),
        ("ŒDIPE", "OEDIPE"),
        ("œdipe", "OEDIPE"),
        ("Lætitia", "LAETITIA"),
        ("ÆLIS", "AELIS"),
        ("Strauß", "STRAUSS"),
        ("Jean-Pierre", "JEAN PIERRE"),
        ("Jean‐Pierre", "JEAN PIERRE"),
        ("Jean‑Pierre", "JEAN PIERRE"),
        ("Jean‒Pierre", "JEAN PIERRE"),
        ("Jean–Pierre", "JEAN PIERRE"),
        ("Jean—Pierre", "JEAN PIERRE"),
        ("Jean―Pierre", "JEAN PIERRE"),
        ("D'Artagnan", "D ARTAGNAN"),
        ("D’Artagnan", "D ARTAGNAN"),
        ("Dʼartagnan", "D ARTAGNAN"),
        ("D`Artagnan", "D ARTAGNAN"),
        ("D´Artagnan", "D ARTAGNAN"),
        ("J.-P. Martin", "J P MARTIN"),
        ("Martin, Paul", "MARTIN PAUL"),
        ("martin_dupont", "MARTIN DUPONT"),
        ("  de  la   Fontaine ", "DE LA FONTAINE"),
        ("DE LA FONTAINE", "DE LA FONTAINE"),
        ("Jean\tPierre\n", "JEAN PIERRE"),
        ("DU\u200bPONT", "DUPONT"),  # zero-width space
        ("DUPONT\u202e", "DUPONT"),  # right-to-left override
        ("MARTIN\u00adDUPONT", "MARTINDUPONT"),  # soft hyphen
        ("DU\x00PONT\x1b", "DUPONT"),
        ("Henri IV 2", "HENRI IV 2"),
        ("Ｍｅｒｉｎｅ", "MERINE"),  # full-width
        ("Øre Łukasz", "ORE LUKASZ"),
        ("", ""),
        ("-'.", ""),
    ],
)
def test_normalise_name(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize("raw", ["M$rine", "M?rine", "M\ufffdrine", "m$rine", "M?RINE"])
def test_every_lost_letter_marker_becomes_one_question_mark(raw):
    assert normalise_name(raw) == "M?RINE"
    assert has_lost_letters(raw)


def test_lost_letter_constant():
    assert LOST_LETTER == "?"
    assert normalise_name("$$") == "??"


def test_letters_of_other_scripts_count_as_lost():
    assert normalise_name("Иван") == "????"
    assert has_lost_letters("DUPONТ")  # the last letter is a Cyrillic Т
    assert not has_lost_letters("Mérine")
    assert not has_lost_letters("")


def test_accent_and_case_blind():
    assert normalise_name("Mérine") == normalise_name("MERINE") == normalise_name("merine")


# -- particles, keys and parts ------------------------------------------------------------------


def test_particles():
    assert {"DE", "DU", "DES", "D", "LA", "LE", "LES", "L"} <= PARTICLES
    assert {"DI", "DA", "VAN", "VON", "DEL", "DELLA"} <= PARTICLES
    assert len(PARTICLES) == 14


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("De La Fontaine", {"DELAFONTAINE", "FONTAINE"}),
        ("DELAFONTAINE", {"DELAFONTAINE"}),
        ("D'Artagnan", {"DARTAGNAN", "ARTAGNAN"}),
        ("Le Gall", {"LEGALL", "GALL"}),
        ("LEGALL", {"LEGALL"}),
        ("Martin-Dupont", {"MARTINDUPONT"}),
        ("Jean de La Fontaine", {"JEANDELAFONTAINE"}),  # only leading particles go
        ("Van der Berg", {"VANDERBERG", "DERBERG"}),
        ("LE", {"LE"}),
        ("De La", {"DELA"}),
        ("", set()),
        (" - ", set()),
    ],
)
def test_name_keys(raw, expected):
    assert name_keys(raw) == frozenset(expected)


def test_name_keys_survive_spacing_and_particles():
    assert name_keys("LE GALL") & name_keys("LEGALL")
    assert name_keys("De la Fontaine") & name_keys("Delafontaine")
    assert name_keys("D'Artagnan") & name_keys("Artagnan")
    assert name_keys("d’Artagnan") & name_keys("DARTAGNAN")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("MARTIN-DUPONT", ("MARTIN", "DUPONT")),
        ("De La Fontaine", ("FONTAINE",)),
        ("Jean de la Fontaine", ("JEAN", "FONTAINE")),
        ("da Silva", ("SILVA",)),
        ("LE", ("LE",)),
        ("", ()),
    ],
)
def test_name_parts(raw, expected):
    assert name_parts(raw) == expected


# -- properties of normalise_name ---------------------------------------------------------------

FRENCH_ALPHABET = "aàâäeéèêëiîïoôöuùûüyÿcçAÀÉÈÊÔÇ -'"
_PLAIN = str.maketrans("àâäéèêëîïôöùûüÿçÀÉÈÊÔÇ", "aaaeeeeiioouuuycAEEEOC")


def strip_accents_by_hand(text: str) -> str:
    return text.translate(_PLAIN)


@given(st.text())
@settings(max_examples=200)
def test_normalise_name_is_idempotent(text):
    once = normalise_name(text)
    assert normalise_name(once) == once


@given(st.text())
@settings(max_examples=200)
def test_normalise_name_output_alphabet(text):
    assert re.fullmatch(r"[A-Z0-9 ?]*", normalise_name(text))
    assert "  " not in normalise_name(text)
    assert normalise_name(text) == normalise_name(text).strip()


@given(st.text(alphabet=FRENCH_ALPHABET))
def test_normalise_name_is_accent_blind(text):
    assert normalise_name(strip_accents_by_hand(text)) == normalise_name(text)


@given(st.text(alphabet=FRENCH_ALPHABET))
def test_normalise_name_is_case_blind(text):
    assert normalise_name(text.upper()) == normalise_name(text) == normalise_name(text.lower())


@given(st.text(alphabet=FRENCH_ALPHABET))
def test_mojibake_of_a_name_normalises_like_the_name(text):
    mangled = text.encode().decode("cp1252")
    assert normalise_name(mangled) == normalise_name(text)


def test_strip_accents_by_hand_agrees_with_unicode():
    for char in FRENCH_ALPHABET:
        decomposed = unicodedata.normalize("NFD", char)[0]
        assert strip_accents_by_hand(char) == decomposed


# -- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "12/05/2011",
        "12/5/2011",
        " 12/05/2011 \n",
        "2011-05-12",
        "2011-05-12T00:00:00",
        "2011-05-12T23:59:59",
        "2011-05-12T10:30",
        "2011-05-12 10:30:00",
        "2011-05-12T10:30:00.123",
        "2011-05-12T10:30:00Z",
        "2011-05-12T23:30:00+02:00",
        "2011-05-12T00:30:00-0500",
        "20110512",
        "20110512000000Z",
        "201105120000Z",
        "20110512000000.0Z",
        "20110512000000,0Z",
        "20110512233000+0200",  # not shifted to the 13th in UTC: a birth date is a day
        "20110512003000-0500",
        "2011051210Z",
    ],
)
def test_parse_date_accepted_forms(text):
    assert parse_date(text) == date(2011, 5, 12)


def test_parse_date_day_first_short_forms():
    assert parse_date("1/2/2011") == date(2011, 2, 1)
    assert parse_date("29/02/2012") == date(2012, 2, 29)
    assert parse_date("01/01/1900") == date(1900, 1, 1)
    assert parse_date("31/12/2100") == date(2100, 12, 31)


@pytest.mark.parametrize("text", [None, "", " ", "\t\n"])
def test_parse_date_blank_is_none(text):
    assert parse_date(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2011",  # impossible day
        "29/02/2011",
        "12/13/2011",
        "00/05/2011",
        "12/05/1899",  # out of range
        "12/05/2101",
        "1899-12-31",
        "21010101",
        "12/05/11",  # two-digit year
        "12-05-2011",
        "12.05.2011",
        "2011/05/12",
        "2011-5-12",
        "2011-05-12T25:00:00",
        "2011-05-12T10:61",
        "2011-05-12T10:30:00+25:00",
        "2011-05-12x",
        "20110512000000",  # GeneralizedTime needs a zone once it has an hour
        "20110512250000Z",
        "20110512000000+2500",
        "2011051",
        "201105121",
        "20111305",
        "٢٠١١-٠٥-١٢",  # Arabic-Indic digits
        "１２/０５/２０１１",  # full-width digits
        "12 mai 2011",
        "hier",
        "12/05/2011 12/05/2011",
    ],
)
def test_parse_date_rejects(text):
    with pytest.raises(InvalidDate) as caught:
        parse_date(text)
    message = str(caught.value)
    assert text.strip() in message
    assert "dd/mm/yyyy" in message and "yyyy-mm-dd" in message and "YYYYMMDD" in message


def test_invalid_date_is_a_value_error_with_a_safe_message():
    assert issubclass(InvalidDate, ValueError)
    with pytest.raises(ValueError, match="x1b"):
        parse_date("12/05/2011\x1b[2J")
    with pytest.raises(InvalidDate) as caught:
        parse_date("9" * 10_000)
    assert len(str(caught.value)) < 300
    assert caught.value.value == "9" * 10_000


def test_format_date():
    assert format_date(date(2011, 5, 12)) == "12/05/2011"
    assert format_date(date(2011, 5, 12), "fr") == "12/05/2011"
    assert format_date(date(2011, 5, 12), style="iso") == "2011-05-12"
    assert format_date(date(1900, 1, 1), "iso") == "1900-01-01"
    assert format_date(None) == ""
    assert format_date(None, "iso") == ""
    with pytest.raises(ValueError, match="style"):
        format_date(date(2011, 5, 12), "us")


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
@settings(max_examples=200)
def test_format_then_parse_round_trips(d):
    assert parse_date(format_date(d, "fr")) == d
    assert parse_date(format_date(d, "iso")) == d
    assert parse_date(format_date(d, style="iso").replace("-", "")) == d
