"""Search on a random directory agrees with the rule, written the slow and obvious way.

The same random accounts on the three kinds; every query, with and without an
establishment or a category, at two limits, must give what `reference_search`
gives, in its order. The files get many accounts for their word indexes (the
CSV 3,000, the LDIF export, slower to read, the first 1,500); the LDAP adapter
only the first 48: it asks the server for twice the results wanted (at least
50) and sorts those, so beyond that the order is the server's, as
directory_adapters/ldap/query.py documents.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from bench.ldap_data import Person
from core.model import Category, DirectoryAccount, ProfileMapping
from core.names import normalise_name
from tests.contract.conftest import KINDS, Kind
from tests.ldap.conftest import OTHER_UAI, UAI

SIZES = {"csv": 3000, "ldif": 1500, "ldap": 48}
SURNAMES = ["MARTIN", "MARTINEZ", "Bernard", "DUBOIS", "DURAND", "LE BRIS", "MA", "DE LA TOUR"]
SURNAMES += ["Éloi"]
FIRSTS = ["Jean", "Marie", "Mérine", "Léa", "Jean-Pierre", "Anne Sophie", "Martin"]
PROFILES = ["National_ELV", "National_ENS", "National_TUT"]
QUERIES = ["m", "ma", "mar", "martin", "j", "je m", "le", "de la", "u1", "u12", "marti j", "b"]
QUERIES += ["z", "jean pierre", "merine du", "u17", "u2999", "lea", "tour", "sophie an", "eloi"]


def people(count: int) -> list[Person]:
    rng = random.Random(7)
    made = []
    for n in range(SIZES["csv"]):
        login, surname, first = f"u{n}{rng.choice('abc')}", rng.choice(SURNAMES), rng.choice(FIRSTS)
        profile, uais = rng.choice(PROFILES), rng.choice([(UAI,), (OTHER_UAI,), (UAI, OTHER_UAI)])
        made.append(Person(login, surname, first, profils=(profile,), uais=uais))
    return made[:count]  # the same accounts for every kind, fewer for LDAP


def reference_search(
    everyone: list[DirectoryAccount],
    profiles: ProfileMapping,
    text: str,
    uai: str | None,
    category: Category | None,
    limit: int,
) -> list[str]:
    """The rule of core/directory.py's `search`, written the slow and obvious way."""
    query = " ".join(text.split())
    if not query:
        return []
    words = normalise_name(query).split()
    raw = query.lower()
    found = []
    for account in everyone:
        mine = [
            *normalise_name(account.surname).split(),
            *normalise_name(account.first_name).split(),
            account.login.lower(),
        ]
        hit = bool(words) and all(
            any(w.startswith(q) or w.startswith(q.lower()) for w in mine) for q in words
        )
        if not (hit or account.login.lower().startswith(raw)):
            continue
        if uai is not None and uai not in account.establishments:
            continue
        if category is not None and not profiles.matches(account, category):
            continue
        found.append(account)
    exact = " ".join(words)
    found.sort(
        key=lambda a: (
            normalise_name(a.surname) != exact,
            normalise_name(a.surname),
            normalise_name(a.first_name),
            a.login.lower(),
        )
    )
    return [a.login for a in found[:limit]]


@pytest.mark.parametrize("name", KINDS)
def test_search_agrees_with_the_obvious_rule(name: str, fresh_storage: Callable[..., Kind]) -> None:
    accounts = people(SIZES[name])
    directory = fresh_storage(name, accounts).open()
    everyone = list({a.login: a for u in (UAI, OTHER_UAI) for a in directory.accounts(u)}.values())
    assert len(everyone) == len(accounts)
    for query in QUERIES:
        # "b" starts BRIS, a short word inside "LE BRIS": the LDAP adapter finds it only
        # within an establishment (its documented limit); the files, everywhere.
        places = (UAI,) if name == "ldap" and query == "b" else (None, UAI)
        for uai in places:
            for category in (None, Category.ENSEIGNANTS):
                for limit in (5, 50):
                    expected = reference_search(
                        everyone, directory.profiles, query, uai, category, limit
                    )
                    found = directory.search(query, uai=uai, category=category, limit=limit)
                    assert [a.login for a in found] == expected, (query, uai, category, limit)
