"""The Directory port's reading promises (core/directory.py), kept by every adapter.

Each test runs on the CSV file, the LDIF export and a real slapd holding the
same accounts (conftest.py). Where an adapter is allowed to differ, the
expectation is parametrised by kind and the comment says why.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date

import pytest

from core.directory import COUNT_CAP, Directory
from core.model import Category, DirectoryAccount, ProfileMapping
from core.text import printable
from tests.changes import logins
from tests.contract.conftest import BY_HAND, EVERYONE, Kind
from tests.ldap.conftest import (
    BIG_COUNT,
    BIG_UAI,
    DOC,
    ELV,
    ENS,
    ID1,
    ID3,
    ID4,
    OTHER_UAI,
    TUT,
    UAI,
)


def without_dn(account: DirectoryAccount | None) -> DirectoryAccount | None:
    """An account as every kind reads it: a file row has no DN (a CSV one, at least)."""
    return None if account is None else replace(account, dn=None)


# -- one account -------------------------------------------------------------------------------


def test_get_reads_every_field(reader: Directory) -> None:
    assert isinstance(reader, Directory)
    assert without_dn(reader.get("jdupont")) == DirectoryAccount(
        login="jdupont",
        surname="DUPONT",
        first_name="Jean",
        birth_date=date(2011, 5, 12),
        profiles=(ELV,),
        establishments=(UAI,),
        classes=("5A",),
    )
    paul = reader.get("pmartin")
    assert paul.establishments == (UAI, OTHER_UAI)
    assert paul.identifiers == (f"{OTHER_UAI}${ID4}", f"PRONOTE${ID3}")
    marie = reader.get("macco12")
    assert (marie.surname, marie.first_name, marie.birth_date) == (
        "ACCOLÉE",
        "Mérine",
        date(2011, 5, 12),
    )
    assert reader.get("mdupont").birth_date == date(2010, 1, 2)
    # a guardian's students, by login (LDAP: from their DNs, one named by cn)
    assert reader.get("tdurand").students == ("jdupont", "mdupont")
    assert reader.get("gmartinez").students == ("lmartinez",)
    assert reader.get("lmartinez").classes == ("3C",)


def test_get_ignores_case_and_unknown_logins(reader: Directory) -> None:
    assert reader.get("JDupont").login == "jdupont"
    assert reader.get(" JDupont ").login == "jdupont"
    assert reader.get("nobody") is None
    assert reader.get("*") is None
    assert reader.get("") is None


# -- listings ----------------------------------------------------------------------------------


def test_accounts_per_establishment_and_category(reader: Directory) -> None:
    assert logins(reader.accounts(UAI, Category.ELEVES)) == [
        "macco12",
        "jdupont",
        "mdupont",
        "lmartinez",
    ]
    assert logins(reader.accounts(UAI, Category.ENSEIGNANTS)) == ["hcaron", "cdartagnan", "pmartin"]
    assert logins(reader.accounts(OTHER_UAI)) == ["bslash", "ldoc", "aleveque", "pmartin"]
    assert logins(reader.accounts(OTHER_UAI.lower(), Category.PERSONNELS)) == ["ldoc", "aleveque"]
    assert reader.accounts("0000000X") == []
    assert reader.accounts(UAI, Category.INSPECTEURS) == []


def test_every_account_of_a_big_establishment_once(reader: Directory) -> None:
    accounts = reader.accounts(BIG_UAI)
    assert len(accounts) == BIG_COUNT == len(set(logins(accounts)))
    assert logins(accounts)[:2] == ["eleve000", "eleve001"]


def test_profiles_come_from_the_mapping(reading_kind: Kind) -> None:
    profiles = ProfileMapping({Category.PERSONNELS: ("national_ens",)})
    directory = reading_kind.open(profiles=profiles)
    assert logins(directory.accounts(UAI, Category.PERSONNELS)) == [
        "hcaron",
        "cdartagnan",
        "pmartin",
    ]
    assert directory.accounts(UAI, Category.ENSEIGNANTS) == []
    assert logins(directory.search("m", uai=UAI, category=Category.PERSONNELS)) == ["pmartin"]


# -- search ------------------------------------------------------------------------------------


def test_search_by_prefix_of_surname_first_name_or_login(reader: Directory) -> None:
    assert logins(reader.search("dup")) == ["jdupont", "mdupont", "pdupont"]
    assert logins(reader.search("mari")) == ["mdupont"]
    assert logins(reader.search("tdur")) == ["tdurand"]
    assert logins(reader.search("macco1")) == ["macco12"]
    assert logins(reader.search("eleve11")) == [f"eleve{n}" for n in range(110, 120)]


def test_search_puts_the_exact_surname_first(reader: Directory) -> None:
    # then (surname, first name, login), accents and case aside
    assert logins(reader.search("martin")) == ["pmartin", "pdupont", "gmartinez", "lmartinez"]
    assert logins(reader.search("dupont")) == ["jdupont", "mdupont", "pdupont"]


def test_search_needs_every_word_in_any_order(reader: Directory) -> None:
    assert logins(reader.search("jean dupont")) == ["jdupont"]
    assert logins(reader.search("DUP je")) == ["jdupont"]
    assert logins(reader.search("  dupont   marie ")) == ["mdupont"]
    assert reader.search("dupont pierre") == []
    assert reader.search("dupont jeanne") == []


def test_search_ignores_case_punctuation_and_accents(reader: Directory) -> None:
    assert logins(reader.search("meri")) == ["macco12"]  # Mérine
    assert logins(reader.search("accolee")) == ["macco12"]  # ACCOLÉE
    assert logins(reader.search("ACCOLÉE")) == ["macco12"]
    assert logins(reader.search("Anne Sophie le bris")) == ["ldoc"]
    assert logins(reader.search("bris")) == ["ldoc"]  # a word inside a compound surname
    assert logins(reader.search("léa")) == ["lmartinez"]
    assert logins(reader.search("lea")) == ["lmartinez"]
    assert logins(reader.search("hel")) == ["hcaron"]  # Hélène
    assert logins(reader.search("helene")) == ["hcaron"]
    assert logins(reader.search("hélène")) == ["hcaron"]
    assert logins(reader.search("d'art")) == ["cdartagnan"]
    assert logins(reader.search("artagnan")) == ["cdartagnan"]
    assert logins(reader.search("lev")) == ["aleveque"]  # LÉVÊQUE
    assert logins(reader.search("lévêque")) == ["aleveque"]


def test_search_limits_the_ldap_adapter_documents(reading_kind: Kind, reader: Directory) -> None:
    """The LDAP adapter asks the server with substring filters, so two guesses are out
    of its reach (directory_adapters/ldap/query.py): a word with two different
    accented letters typed without them, and a short word inside a compound name
    searched directory-wide. The files compare every word in memory: found."""
    found = {"leveque": ["aleveque"], "née": ["pdupont"]}
    if reading_kind.name == "ldap":
        found = {"leveque": [], "née": []}
    assert logins(reader.search("leveque")) == found["leveque"]
    assert logins(reader.search("née")) == found["née"]
    # within an establishment, every kind finds it
    assert logins(reader.search("née", uai=UAI)) == ["pdupont"]


def test_search_filters_and_limit(reader: Directory) -> None:
    assert logins(reader.search("m", uai=OTHER_UAI)) == ["pmartin"]
    assert logins(reader.search("m", uai=UAI, category=Category.ELEVES)) == [
        "macco12",
        "mdupont",
        "lmartinez",
    ]
    assert logins(reader.search("d", uai=UAI, category=Category.RESPONSABLES)) == [
        "pdupont",
        "tdurand",
    ]
    assert logins(reader.search("dup", limit=1)) == ["jdupont"]
    assert logins(reader.search("dup", limit=2)) == ["jdupont", "mdupont"]
    assert reader.search("d", limit=0) == []
    assert reader.search("dup", uai="0000000X") == []
    assert reader.search("dup", category=Category.INSPECTEURS) == []
    assert logins(reader.search("dup", uai=UAI.lower())) == ["jdupont", "mdupont", "pdupont"]
    assert len(reader.search("nom", uai=BIG_UAI, limit=10)) == 10


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "*)(uid=*",
        "*",
        "*)(|(objectClass=*",
        ")(",
        ".*",
        "(?P<x>",
        "[a-z]+",
        "\\",
        "\\2a",
        "%",
        "\x00",
        "\x00\x1b[2J",
        "é" * 5000,
    ],
)
def test_hostile_or_empty_queries_find_nothing(reader: Directory, query: str) -> None:
    """LDAP filter metacharacters, regular expressions and `*` are text, never patterns."""
    assert reader.search(query) == []
    assert reader.search(query, uai=UAI) == []


def test_special_characters_are_searched_for_literally(reader: Directory) -> None:
    assert logins(reader.search("dupont (née")) == ["pdupont"]
    assert logins(reader.search("née martin", uai=UAI)) == ["pdupont"]
    assert logins(reader.search("back\\sl")) == ["bslash"]
    assert logins(reader.search("dupont)")) == ["jdupont", "mdupont", "pdupont"]
    assert logins(reader.search("d'artagnan charles")) == ["cdartagnan"]


def test_count_says_how_many_search_would_find(reading_kind: Kind, reader: Directory) -> None:
    queries = [("dup", None), ("nom", BIG_UAI), ("m", UAI), ("zzz", None), ("", None)]
    for text, uai in queries:
        counted = reader.count(text, uai=uai)
        if reading_kind.name == "ldap":
            # Only reading every match would tell: the search dialog says "more than 50".
            assert counted is None
        else:
            assert counted == len(reader.search(text, uai=uai, limit=COUNT_CAP)), text
    if reading_kind.name != "ldap":
        assert reader.count("nom", uai=BIG_UAI) == BIG_COUNT
        assert reader.count("nom", cap=7) == 7
        assert reader.count("dup", category=Category.ELEVES) == 2


# -- identifiers -------------------------------------------------------------------------------


def test_linked_and_holders(reader: Directory) -> None:
    assert [(row.account.login, row.idpn) for row in reader.linked(UAI)] == [("mdupont", ID1)]
    assert logins(reader.holders(ID1, UAI)) == ["mdupont"]
    assert reader.holders(ID1, OTHER_UAI) == []
    # whatever the account's establishments: pmartin stores OTHER_UAI's value
    assert logins(reader.holders(ID4, OTHER_UAI.lower())) == ["pmartin"]
    # a value of another form (PRONOTE$...) is no establishment's
    assert reader.holders(ID3, UAI) == reader.holders(ID3, OTHER_UAI) == []
    assert reader.linked("0000000X") == []


# -- what setup and `config check` ask ---------------------------------------------------------


def test_census_counts_accounts_per_profile_and_establishment(reader: Directory) -> None:
    profiles, places = Counter(), Counter()
    for person in EVERYONE:
        profiles.update(set(person.profils))
        places.update(set(person.uais))
    census = reader.census(10_000)
    assert (census.total, census.capped) == (len(EVERYONE), False)
    assert census.profiles == profiles == {ELV: 124, ENS: 4, TUT: 3, DOC: 2}
    assert census.establishments == places  # UAIs, however the storage names them
    assert census.problems == []
    # the sample shows every field the import relies on
    sample = census.sample
    assert sample is not None and sample == reader.get(sample.login)
    assert reader.profiles.categories_of(sample.profiles)
    assert sample.establishments and sample.birth_date is not None


def test_census_stops_at_its_limit(reader: Directory) -> None:
    census = reader.census(25)
    assert (census.total, census.capped, census.problems) == (25, True, [])
    assert sum(census.establishments.values()) >= 25
    assert not reader.census(len(EVERYONE)).capped


def test_describe_is_one_line_that_shows_no_secret(reading_kind: Kind, reader: Directory) -> None:
    text = reader.describe()
    assert text and "\n" not in text and printable(text) == text
    for secret in reading_kind.secrets:
        assert secret not in text and secret not in repr(reader)
    for person in EVERYONE + BY_HAND:  # nor anything an account stores
        assert not [value for value in person.idpronote if value in text]
