"""Reading a real slapd: the presets' mapping, listings, search, holders.

What every directory promises (listings, search, holders, the write rule, replay)
is tested once for the three kinds in tests/contract/; here, what is the LDAP adapter's own.
"""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import ConfigError, DirectoryError
from core.model import Category, DirectoryAccount
from directory_adapters.ldap import LdapDirectory
from directory_adapters.mapping import AttributeMapping
from tests.changes import logins
from tests.ldap.conftest import (
    BIG_COUNT,
    BIG_UAI,
    ID1,
    ID3,
    ID4,
    OTHER_UAI,
    UAI,
    open_ldap,
)
from tests.ldap.server import Slapd


@pytest.fixture(scope="module")
def ent(reading_server: Slapd) -> LdapDirectory:
    directory = open_ldap(reading_server, "ent")
    yield directory
    directory.close()


# -- the presets ---------------------------------------------------------------------------


def test_ent_preset_reads_every_field_and_resolves_structure_dns(ent: LdapDirectory) -> None:
    jean = ent.get("jdupont")
    assert jean == DirectoryAccount(
        login="jdupont",
        surname="DUPONT",
        first_name="Jean",
        dn="uid=jdupont,ou=people,dc=example,dc=org",
        birth_date=date(2011, 5, 12),
        profiles=("National_ELV",),
        establishments=(UAI,),  # from the DN of its ENTStructure entry
        classes=("5A",),
    )
    paul = ent.get("pmartin")
    assert paul.establishments == (UAI, OTHER_UAI)
    assert paul.identifiers == (f"{OTHER_UAI}${ID4}", f"PRONOTE${ID3}")


def test_ent_guardian_students_given_as_dns(ent: LdapDirectory) -> None:
    # by the DN's uid RDN, and by reading an entry whose RDN is not the login
    assert ent.get("tdurand").students == ("jdupont", "mdupont")
    assert ent.get("gmartinez").students == ("lmartinez",)
    # a structure DN spelt with other case and spaces still names the collège
    assert ent.get("lmartinez").establishments == (UAI,)


def test_inetorgperson_preset(reading_server: Slapd) -> None:
    with open_ldap(reading_server, "inetorgperson") as directory:
        marie = directory.get("mdupont")
        assert (marie.surname, marie.first_name, marie.birth_date) == ("Dupont", "Marie", None)
        assert marie.profiles == ("National_ELV",)
        assert marie.establishments == (UAI,)
        assert marie.classes == ("4B",)
        assert marie.identifiers == (f"{UAI}${ID1}",)
        assert directory.get("tdurand").students == ("jdupont", "mdupont")  # seeAlso DNs
        assert logins(directory.accounts(UAI, Category.ELEVES)) == ["macco12", "jdupont", "mdupont"]


def test_esco_preset_reads_pronote_values_among_external_ids(reading_server: Slapd) -> None:
    with open_ldap(reading_server, "esco") as directory:
        paul = directory.get("pmartin")
        assert paul.establishments == (UAI, OTHER_UAI)  # ESCOUAI
        assert set(paul.identifiers) == {f"PRONOTE${ID4}", "SCONET$12345"}
        assert [(row.account.login, row.idpn) for row in directory.linked(UAI)] == [
            ("pmartin", ID4)
        ]
        assert logins(directory.holders(ID4, OTHER_UAI)) == ["pmartin"]


# -- listings --------------------------------------------------------------------------------


def test_paged_listing_returns_every_account_once(reading_server: Slapd) -> None:
    with open_ldap(reading_server, page_size=7) as directory:
        accounts = directory.accounts(BIG_UAI)
    assert len(accounts) == BIG_COUNT == len(set(logins(accounts)))
    assert logins(accounts)[:2] == ["eleve000", "eleve001"]


def test_a_listing_cut_by_a_size_limit_is_an_error_not_a_short_list(reading_server: Slapd) -> None:
    with open_ldap(reading_server, size_limit=50, page_size=20) as directory:
        with pytest.raises(DirectoryError) as caught:
            directory.accounts(BIG_UAI)
        assert "size limit" in str(caught.value)
        assert "size_limit" in str(caught.value)  # what to change
        # a search may be cut: it just shows fewer results
        assert len(directory.search("nom", limit=10)) == 10


def test_several_bases(reading_server: Slapd) -> None:
    from tests.ldap.conftest import ESCO_DN

    with open_ldap(reading_server, base_dn=[Slapd.people_dn, ESCO_DN]) as directory:
        # jdupont exists under both bases: a login that is not unique is never guessed
        assert directory.get("jdupont") is None
        assert directory.get("macco12").login == "macco12"
        assert "ou=people" in directory.describe() and "ou=esco" in directory.describe()


def test_a_missing_base_is_named(reading_server: Slapd) -> None:
    with open_ldap(reading_server, base_dn="ou=nowhere,dc=example,dc=org") as directory:
        with pytest.raises(DirectoryError, match="ou=nowhere,dc=example,dc=org"):
            directory.accounts(UAI)


# -- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"base_dn": "dc=x"}, "url is required"),
        ({"url": "ldap://h"}, "base_dn is required"),
        ({"url": "http://h", "base_dn": "dc=x"}, "not an LDAP URL"),
        ({"url": "ldap://h/dc=x", "base_dn": "dc=x"}, "put the search base in base_dn"),
        ({"url": "ldaps://h", "start_tls": True, "base_dn": "dc=x"}, "already encrypted"),
        ({"url": "ldap://h", "base_dn": "dc=x", "page_size": 0}, "page_size"),
    ],
)
def test_settings_are_checked(english, settings: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LdapDirectory(settings, AttributeMapping.build())
