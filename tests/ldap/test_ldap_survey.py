"""`survey` on a real slapd: counts per profile and establishment, limits, the write check
(what every directory promises of them: tests/contract/).

The write check sends modify requests that must change nothing: every test
of it compares the whole directory, operational attributes included
(modifyTimestamp, entryCSN, contextCSN), read as the admin before and after.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from bench.ldap_data import LdifWriter, Person
from core.errors import DirectoryError
from core.model import Category, ProfileMapping
from directory_adapters.ldap import LdapDirectory
from directory_adapters.mapping import AttributeMapping
from directory_adapters.survey import Survey, WriteCheck, propose_profiles, survey
from tests.ldap.conftest import (
    BASES,
    BIG,
    ELV,
    ENS,
    ESCO_DN,
    ESCO_PEOPLE,
    PEOPLE,
    TUT,
    UAI,
    fixture_ldif,
    open_ldap,
    require_slapd,
)
from tests.ldap.server import Slapd

SERVICES = "ou=services," + Slapd.base_dn
LIMITED_DN = f"cn=limited,{SERVICES}"
HALFWAY_DN = f"cn=halfway,{SERVICES}"  # may write idPronote, not objectClass
PASSWORDS = {LIMITED_DN: "limited-secret", HALFWAY_DN: "halfway-secret"}
SERVER_LIMIT = 30


class SurveyedSlapd(Slapd):
    """The fixture directory, with two more service accounts: one under a server-side size
    limit, one that may write idPronote but not objectClass."""

    def _write_conf(self) -> None:
        super()._write_conf()
        text = self.conf.read_text(encoding="utf-8")
        shared = "access to attrs=idPronote,ESCOPersonExternalIds,objectClass\n"
        assert shared in text
        halfway = (
            "access to attrs=idPronote\n"
            f'    by dn.exact="{HALFWAY_DN}" write\n'
            f'    by dn.exact="{self.service_dn}" write\n'
            "    by * read\n"
        )
        text = text.replace(shared, halfway + shared)
        text += (
            f'limits dn.exact="{LIMITED_DN}" size.soft={SERVER_LIMIT} '
            f"size.hard={SERVER_LIMIT} size.prtotal={SERVER_LIMIT}\n"
        )
        self.conf.write_text(text, encoding="utf-8")


ODD_DN = f"ou=odd,{Slapd.base_dn}"
STRUCTURE = LdifWriter("ent").structure_dn(UAI)
GONE = f"ou=gone,{Slapd.structures_dn}"  # no such entry
# Under their own base: an entry without login, one with a title, one without and
# attached to a structure that does not exist.
ODD = f"""\
dn: {ODD_DN}
objectClass: organizationalUnit
ou: odd

dn: cn=nologin,{ODD_DN}
objectClass: inetOrgPerson
objectClass: ENTPerson
cn: nologin
sn: NOLOGIN
ENTPersonProfils: {ELV}
ENTPersonStructRattach: {STRUCTURE}

dn: uid=titled,{ODD_DN}
objectClass: inetOrgPerson
objectClass: ENTPerson
uid: titled
cn: titled
sn: TITLED
title: Dr
ENTPersonProfils: {ENS}
ENTPersonStructRattach: {STRUCTURE}

dn: uid=plain,{ODD_DN}
objectClass: inetOrgPerson
objectClass: ENTPerson
uid: plain
cn: plain
sn: PLAIN
ENTPersonProfils: {ENS}
ENTPersonStructRattach: {GONE}

"""
ODD_ACCOUNTS = 2


def accounts_ldif() -> str:
    return ODD + "".join(
        f"dn: {dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: {dn.split(',')[0][3:]}\nuserPassword: {password}\n\n"
        for dn, password in PASSWORDS.items()
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """Only checked, never written to: every test proves it by comparing snapshots."""
    require_slapd()
    slapd = SurveyedSlapd(tmp_path_factory.mktemp("slapd-survey"), fixture_ldif() + accounts_ldif())
    slapd.start()
    yield slapd
    slapd.stop()


def snapshot(server: Slapd) -> list[tuple[str, dict[str, list[str]]]]:
    """Every entry with every attribute, operational ones too, as the admin reads them."""
    entries = server.search("(objectClass=*)", ["*", "+"])
    assert len(entries) > len(PEOPLE) + len(BIG)
    assert all({"entryCSN", "modifyTimestamp"} <= set(attrs) for _, attrs in entries)
    return sorted((dn, {k: sorted(v) for k, v in attrs.items()}) for dn, attrs in entries)


@pytest.fixture
def unchanged(server: Slapd) -> Iterator[None]:
    """The test must leave the directory exactly as it found it."""
    before = snapshot(server)
    yield
    assert snapshot(server) == before


def as_(server: Slapd, dn: str, preset: str = "ent", **settings) -> LdapDirectory:
    password = {Slapd.service_dn: Slapd.service_password, Slapd.reader_dn: Slapd.reader_password}
    return open_ldap(server, preset, bind_dn=dn, password={**password, **PASSWORDS}[dn], **settings)


def expected(people: list[Person]) -> tuple[Counter, Counter]:
    """Accounts per profile, and per establishment, as the fixture describes them."""
    profiles, places = Counter(), Counter()
    for person in people:
        profiles.update(set(person.profils))
        places.update(set(person.uais))
    return profiles, places


# The entries tests/ldap/conftest.py writes by hand under ou=people (ent preset).
BY_HAND = [
    Person("lmartinez", "MARTINEZ", "Léa", profils=(ELV,), uais=(UAI,)),
    Person("gmartinez", "MARTINEZ", "Guy", profils=(TUT,), uais=(UAI,)),
]


# -- the census ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "people"),
    [("ent", PEOPLE + BIG + BY_HAND), ("inetorgperson", PEOPLE), ("esco", ESCO_PEOPLE)],
)
def test_census_counts_accounts_per_profile_and_establishment(
    server: Slapd, unchanged: None, preset: str, people: list[Person]
) -> None:
    profiles, places = expected(people)
    with open_ldap(server, preset, page_size=40) as directory:
        found = survey(directory)
        assert found.description == directory.describe()
        assert (found.total, found.capped) == (len(people), False)
        assert found.profiles == dict(profiles)
        # UAIs, not structure DNs (ent), as accounts() reads them
        assert found.establishments == dict(places)
        for uai, count in found.establishments.items():
            assert len(directory.accounts(uai)) == count
        assert list(found.profiles.values()) == sorted(found.profiles.values(), reverse=True)
        assert found.problems == ()


def test_a_census_over_several_bases_counts_each_entry_once(server: Slapd) -> None:
    ent = len(PEOPLE) + len(BIG) + len(BY_HAND)
    with open_ldap(server, base_dn=[Slapd.people_dn, Slapd.base_dn]) as directory:
        # the suffix holds ou=people: its entries come back twice, are counted once
        found = survey(directory, write_check=False)
    # and the ENTPerson entries of the other bases
    assert found.total == ent + len(ESCO_PEOPLE) + ODD_ACCOUNTS
    with open_ldap(server, base_dn=[Slapd.people_dn, ESCO_DN]) as directory:
        found = survey(directory, write_check=False)
    assert found.total == ent + len(ESCO_PEOPLE)


@pytest.mark.parametrize(("field", "attribute"), [("login", "employeeNumber"), ("nom", "title")])
def test_entries_without_login_or_surname_are_counted_as_skipped(
    english, server: Slapd, unchanged: None, field: str, attribute: str
) -> None:
    raw = {
        "url": server.url,
        "base_dn": BASES["ent"],
        "bind_dn": Slapd.service_dn,
        "password": Slapd.service_password,
    }
    mapping = AttributeMapping.build("ent", fields={field: attribute})
    with LdapDirectory(raw, mapping) as directory:
        found = survey(directory)
    entries = len(PEOPLE) + len(BIG) + len(BY_HAND)
    assert (found.total, found.profiles, found.sample) == (0, {}, None)
    assert found.problems == (f"{entries} entries without {attribute} were skipped",)
    assert found.write.status == "not_checked"


def test_unusable_entries_are_skipped_and_not_counted(english, server: Slapd) -> None:
    with open_ldap(server, base_dn=ODD_DN) as directory:
        found = survey(directory, write_check=False)
    assert (found.total, found.profiles) == (2, {ENS: 2})  # the one without login: not counted
    assert found.establishments == {UAI: 1, GONE: 1}
    assert found.problems == (
        "1 entry without uid was skipped",
        f"1 establishment names no entry with ENTStructureUAI (counted under its DN), e.g. {GONE}",
    )
    raw = {"url": server.url, "base_dn": ODD_DN}
    mapping = AttributeMapping.build("ent", fields={"nom": "title"})
    with LdapDirectory(raw, mapping) as directory:  # anonymous: may read, too
        found = survey(directory)
    assert (found.total, found.profiles, found.establishments) == (1, {ENS: 1}, {UAI: 1})
    assert found.problems == (
        "1 entry without uid was skipped",
        "1 entry without title was skipped",
    )  # and the structure that does not exist was not counted: only the plain entry had it
    assert found.sample.login == "titled"
    assert found.write.status == "read_only"  # anonymous
    assert "bind_dn" in found.write.detail


def test_a_size_limit_caps_the_census_instead_of_failing(server: Slapd) -> None:
    with open_ldap(server, size_limit=50, page_size=20) as directory:
        found = survey(directory, write_check=False)
    assert (found.total, found.capped) == (50, True)
    assert sum(found.establishments.values()) >= 50
    assert any("size_limit" in problem for problem in found.problems)  # what to change


def test_a_server_side_limit_caps_the_census(server: Slapd, unchanged: None) -> None:
    with as_(server, LIMITED_DN, page_size=20) as directory:
        found = survey(directory)
    assert found.capped and 0 < found.total <= SERVER_LIMIT
    assert any(LIMITED_DN in problem for problem in found.problems)
    assert found.sample is not None
    assert found.write.status == "read_only"  # the limited account may only read


def test_the_census_limit_caps_it_quietly(server: Slapd) -> None:
    with open_ldap(server, page_size=20) as directory:
        found = survey(directory, write_check=False, limit=25)
        assert (found.total, found.capped, found.problems) == (25, True, ())
        found = survey(directory, write_check=False, limit=len(PEOPLE) + len(BIG) + 2)
        assert not found.capped


# -- the write check -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "attribute"), [("ent", "idPronote"), ("esco", "ESCOPersonExternalIds")]
)
def test_the_service_account_may_write(
    server: Slapd, unchanged: None, preset: str, attribute: str
) -> None:
    with open_ldap(server, preset) as directory:
        found = survey(directory)
    assert found.write.status == "writable", found.write
    assert found.write.attribute == attribute
    assert found.write.target == found.sample.dn
    if preset == "ent":  # the sample lacks entPronoteAccount: adding it was checked too
        assert "entPronoteAccount" in found.write.detail


def test_the_reader_may_not(server: Slapd, unchanged: None) -> None:
    with as_(server, Slapd.reader_dn) as directory:
        found = survey(directory)
    assert found.write.status == "read_only", found.write
    assert Slapd.reader_dn in found.write.detail and "idPronote" in found.write.detail


def test_an_account_that_may_not_add_the_auxiliary_class_is_read_only(
    server: Slapd, unchanged: None
) -> None:
    with as_(server, HALFWAY_DN) as directory:
        sample = survey(directory, write_check=False).sample
        assert sample.login == "jdupont"  # has no entPronoteAccount yet
        check = directory.write_check(sample)
        assert check.status == "read_only", check
        assert "objectClass" in check.detail
        # an entry that has the class already needs no objectClass write
        assert directory.write_check(directory.get("mdupont")).status == "writable"


def test_an_attribute_the_schema_lacks_is_named(server: Slapd, unchanged: None) -> None:
    mapping = AttributeMapping.build("ent", identifier_attribute="idPronoteMissing")
    raw = {
        "url": server.url,
        "base_dn": BASES["ent"],
        "bind_dn": Slapd.service_dn,
        "password": Slapd.service_password,
    }
    with LdapDirectory(raw, mapping) as directory:
        check = survey(directory).write
    assert check.status == "unknown_attribute", check
    assert check.attribute == "idPronoteMissing"
    assert "directory_adapters/schema/README.md" in check.detail


def test_an_attribute_that_refuses_the_value_fails_with_the_servers_words(
    server: Slapd, unchanged: None
) -> None:
    mapping = AttributeMapping.build("ent", identifier_attribute="seeAlso", object_class="")
    raw = {
        "url": server.url,
        "base_dn": BASES["ent"],
        "bind_dn": Slapd.service_dn,
        "password": Slapd.service_password,
    }
    with LdapDirectory(raw, mapping) as directory:
        check = survey(directory).write
    assert check.status == "failed", check
    assert "invalidAttributeSyntax" in check.detail


def test_a_value_the_entry_holds_is_never_the_one_deleted(server: Slapd, unchanged: None) -> None:
    with open_ldap(server) as directory:
        value = directory._absent_value(["0000000A$IDPRONOTECHECK00", "0000000a$idpronotecheck01"])
    assert value == "0000000A$IDPRONOTECHECK02"


def test_without_a_sample_or_when_asked_not_to_nothing_is_checked(
    server: Slapd, unchanged: None
) -> None:
    with open_ldap(server) as directory:
        assert directory.write_check(None).status == "not_checked"
        found = survey(directory, write_check=False)
    assert found.write == WriteCheck("not_checked", "idPronote", found.write.detail)
    with open_ldap(server, base_dn=f"ou=structures,{Slapd.base_dn}") as directory:
        empty = survey(directory)  # no person there
    assert (empty.total, empty.sample, empty.write.status) == (0, None, "not_checked")


# -- secrets and errors ----------------------------------------------------------------------


def every_text(found: Survey) -> str:
    return repr(found) + " ".join(found.problems) + found.write.detail + found.description


def test_no_survey_holds_the_password(server: Slapd) -> None:
    for dn in (Slapd.service_dn, Slapd.reader_dn, LIMITED_DN, HALFWAY_DN):
        with as_(server, dn, page_size=20) as directory:
            text = every_text(survey(directory))
        for password in (Slapd.service_password, Slapd.reader_password, *PASSWORDS.values()):
            assert password not in text


def test_an_unreadable_directory_raises_a_directory_error_without_the_password(
    server: Slapd, slapd_factory
) -> None:
    with open_ldap(server, base_dn="ou=nowhere,dc=example,dc=org") as directory:
        with pytest.raises(DirectoryError) as caught:
            survey(directory)
    assert "ou=nowhere" in str(caught.value)
    assert Slapd.service_password not in str(caught.value)
    gone = slapd_factory(fixture_ldif())
    directory = open_ldap(gone)
    gone.stop()
    with pytest.raises(DirectoryError) as caught:
        survey(directory)
    assert Slapd.service_password not in f"{caught.value} {caught.value.hint}"
    directory.close()


# -- proposing profiles from what was found ----------------------------------------------------


def test_profiles_proposed_from_a_real_census(server: Slapd) -> None:
    current = ProfileMapping({Category.ELEVES: ("national_elv",), Category.ENSEIGNANTS: ()})
    with open_ldap(server) as directory:
        found = survey(directory, write_check=False)
    proposal = propose_profiles(found.profiles, current)
    assert proposal[Category.ELEVES] == ("National_ELV",)  # as the directory spells it
    assert proposal[Category.ENSEIGNANTS] == ("National_ENS",)
    assert proposal[Category.RESPONSABLES] == ("National_TUT",)
    assert proposal[Category.PERSONNELS] == ("National_DOC",)
