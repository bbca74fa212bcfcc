"""The private slapd fixtures (tests/ldap/server.py), for this directory and the whole suite.

A machine without OpenLDAP skips these tests, except in CI (`CI=true`),
where a missing slapd fails the run: `make test` installs it, so its absence
there is a broken build, not a reason to test less.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.ldap_data import LdifWriter, Person, to_ldif
from directory_adapters.ldap import LdapDirectory
from directory_adapters.mapping import AttributeMapping
from tests.ldap.server import Slapd, missing_programs


def require_slapd() -> None:
    """Skip (or, under CI, fail) when OpenLDAP's programs are not installed."""
    missing = missing_programs()
    if not missing:
        return
    message = (
        f"OpenLDAP test server unavailable: {', '.join(missing)} not found "
        "(make test installs slapd and ldap-utils)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def slapd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Slapd]]:
    """`slapd_factory(ldif_text_or_path, **kw)`: a started private slapd, stopped at teardown."""
    require_slapd()
    started: list[Slapd] = []

    def start(ldif: str | Path = "", **kw: object) -> Slapd:
        server = Slapd(tmp_path_factory.mktemp("slapd"), ldif, **kw)  # type: ignore[arg-type]
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        server.stop()


# -- the fixture directory ---------------------------------------------------------------------
# One collège (UAI), a lycée (OTHER_UAI) and a big school for paging (BIG_UAI),
# in the three presets' shapes, each under its own base.

UAI = "0441234A"
OTHER_UAI = "0449999B"
BIG_UAI = "0440003C"
BIG_COUNT = 120
ID1 = "8P4BHZJQ79SUNFX3"
ID2 = "5A2MJSNYRDTWKP4Q"
ID3 = "Q2ZZZZZZZZZZZZZ9"
ID4 = "AAAAAAAAAAAAAAAA"
INO_DN = "ou=ino,dc=example,dc=org"
ESCO_DN = "ou=esco,dc=example,dc=org"
ESCO_STRUCTURES_DN = "ou=escostructures,dc=example,dc=org"
ELV, TUT, ENS, DOC = "National_ELV", "National_TUT", "National_ENS", "National_DOC"

PEOPLE = [
    Person("jdupont", "DUPONT", "Jean", "12/05/2011", (ELV,), (UAI,), ("5A",)),
    Person(
        "mdupont", "Dupont", "Marie", "2010-01-02", (ELV,), (UAI,), ("4B",), (), (f"{UAI}${ID1}",)
    ),
    Person("macco12", "ACCOLÉE", "Mérine", "2011-05-12", (ELV,), (UAI,), ("5A",)),
    Person("tdurand", "DURAND", "Thomas", "", (TUT,), (UAI,), (), ("jdupont", "mdupont")),
    Person(
        "pmartin",
        "MARTIN",
        "Paul",
        profils=(ENS,),
        uais=(UAI, OTHER_UAI),
        idpronote=(f"{OTHER_UAI}${ID4}", f"PRONOTE${ID3}"),
    ),
    Person("ldoc", "Le Bris", "Anne-Sophie", "", (DOC,), (OTHER_UAI,)),
    Person("hcaron", "CARON", "Hélène", "", (ENS,), (UAI,)),
    Person("cdartagnan", "D'ARTAGNAN", "Charles", "", (ENS,), (UAI,)),
    Person("pdupont", "Dupont (née Martin)", "Paule", "", (TUT,), (UAI,)),
    Person("bslash", "Back\\Slash", "Bob", "", (ENS,), (OTHER_UAI,)),
    Person("aleveque", "LÉVÊQUE", "Anne", "", (DOC,), (OTHER_UAI,)),
]
BIG = [
    Person(f"eleve{n:03d}", f"NOM{n:03d}", "Prénom", "", (ELV,), (BIG_UAI,), ("6A",))
    for n in range(BIG_COUNT)
]
ESCO_PEOPLE = [
    Person("jdupont", "DUPONT", "Jean", "12/05/2011", (ELV,), (UAI,), ("5A",)),
    Person(
        "pmartin",
        "MARTIN",
        "Paul",
        profils=(ENS,),
        uais=(UAI, OTHER_UAI),
        idpronote=(f"{OTHER_UAI}${ID4}", "SCONET$12345"),
    ),
]


def _by_hand(writer: LdifWriter) -> str:
    """Entries the generator does not make: a student named by cn, a guardian pointing at
    it, a structure DN spelt oddly, and the parents of the other presets' bases."""
    student = "cn=Lea Martinez,ou=people,dc=example,dc=org"
    odd = writer.structure_dn(UAI).upper().replace(",", ", ")
    return (
        f"dn: {student}\nobjectClass: inetOrgPerson\nobjectClass: ENTPerson\n"
        "objectClass: ENTEleve\nuid: lmartinez\ncn: Lea Martinez\nsn: MARTINEZ\n"
        f"givenName:: {base64.b64encode('Léa'.encode()).decode()}\n"
        f"ENTPersonProfils: {ELV}\nENTPersonStructRattach: {odd}\nENTEleveClasses: 3C\n\n"
        "dn: uid=gmartinez,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\n"
        "objectClass: ENTPerson\nobjectClass: ENTAuxPersRelEleve\nuid: gmartinez\n"
        f"cn: Guy Martinez\nsn: MARTINEZ\ngivenName: Guy\nENTPersonProfils: {TUT}\n"
        f"ENTPersonStructRattach: {writer.structure_dn(UAI)}\n"
        f"ENTAuxPersRelEleveEleve: {student}\n\n"
        f"dn: {INO_DN}\nobjectClass: organizationalUnit\nou: ino\n\n"
        f"dn: {ESCO_DN}\nobjectClass: organizationalUnit\nou: esco\n\n"
        f"dn: {ESCO_STRUCTURES_DN}\nobjectClass: organizationalUnit\nou: escostructures\n\n"
    )


def fixture_ldif() -> str:
    """The whole fixture directory, as slapadd takes it."""
    ent = LdifWriter("ent")
    text = "".join(ent.person(p) for p in PEOPLE + BIG)
    text += _by_hand(ent) + ent.structures_ldif()
    text += to_ldif(PEOPLE, "inetorgperson", people_dn=INO_DN)
    text += to_ldif(ESCO_PEOPLE, "esco", people_dn=ESCO_DN, structures_dn=ESCO_STRUCTURES_DN)
    return text


BASES = {"ent": Slapd.people_dn, "inetorgperson": INO_DN, "esco": ESCO_DN}


def open_ldap(
    server: Slapd,
    preset: str = "ent",
    *,
    bind_dn: str | None = Slapd.service_dn,
    password: str = Slapd.service_password,
    **settings: Any,
) -> LdapDirectory:
    """The adapter on `server`, as the service account, for a preset and its base."""
    raw: dict[str, Any] = {"url": server.url, "base_dn": BASES[preset], **settings}
    if bind_dn:
        raw |= {"bind_dn": bind_dn, "password": password}
    return LdapDirectory(raw, AttributeMapping.build(preset))


@pytest.fixture(scope="session")
def reading_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """The fixture directory, for tests that only read (never write to it)."""
    require_slapd()
    server = Slapd(tmp_path_factory.mktemp("slapd-read"), fixture_ldif())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def writing_server(slapd_factory: Callable[..., Slapd]) -> Slapd:
    """A fresh copy of the fixture directory, for one test that writes."""
    return slapd_factory(fixture_ldif())
