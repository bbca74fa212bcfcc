"""`survey` on the file directories (CSV, LDIF), and `propose_profiles`.

The LDAP directory's survey is tested against a real slapd in
tests/ldap/test_ldap_survey.py. Here: the counts, the problems, the sample,
and a write check that only asks the file system, never creating or changing
a file.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from core.errors import DirectoryError
from core.model import DEFAULT_PROFILES, Category, ChangeKind, IdentifierChange, ProfileMapping
from directory_adapters import base
from directory_adapters.base import Directory
from directory_adapters.csv import CsvDirectory
from directory_adapters.ldif import LdifDirectory
from directory_adapters.mapping import AttributeMapping
from directory_adapters.survey import (
    Survey,
    WriteCheck,
    classify_profile,
    propose_profiles,
    survey,
)

UAI = "0441234A"
OTHER_UAI = "0449999B"
ID1 = "8P4BHZJQ79SUNFX3"
ID2 = "5A2MJSNYRDTWKP4Q"

CSV = (
    "login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote\n"
    f"pmartin;MARTIN;Paul;;National_ENS;{UAI}|{OTHER_UAI};;;\n"
    f"invite;INVITE;Ian;;Invité;;;;\n"
    f"jdupont;DUPONT;Jean;12/05/2011;National_ELV;{UAI};5A;;\n"
    f"mdupont;Dupont;Marie;2010-01-02;National_ELV;{UAI};4B;;{UAI}${ID1}\n"
    f"tdurand;DURAND;Thomas;;National_TUT|National_ELV;{UAI}|{UAI};;jdupont;\n"
    f";SANS;Login;;National_ELV;{UAI};;;\n"
    f";SANS;Login2;;National_ELV;{UAI};;;\n"
    f"double;DOUBLE;Un;;National_ELV;{UAI};;;\n"
    f"DOUBLE;DOUBLE;Deux;;National_ELV;{UAI};;;\n"
    f"bdate;MARTINEZ;Léa;31/02/2011;National_ELV;{UAI};3C;;\n"
    f"ldoc;Le Bris;Anne;;National_DOC;{OTHER_UAI};;;\n"
)


def files(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of a folder, its bytes and modification time."""
    return {
        path.name: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder the test must leave as it found it (no file created or changed)."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "annuaire.csv").write_text(CSV, encoding="utf-8")
    (folder / "annuaire.ldif").write_text(LDIF, encoding="utf-8")
    before = files(folder)
    yield folder
    assert files(folder) == before


def deny_writes_to(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """os.access answering as for a user who may not write `denied` (root may write
    anything, so a chmod proves nothing when the tests run as root)."""
    real = os.access

    def access(path: object, mode: int, *args: object, **kwargs: object) -> bool:
        if Path(os.fspath(path)) == denied and mode & os.W_OK:  # type: ignore[arg-type]
            return False
        return real(path, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)


# -- CSV -------------------------------------------------------------------------------------


def test_csv_census(english, folder: Path) -> None:
    directory = CsvDirectory(folder / "annuaire.csv")
    found = survey(directory)
    assert isinstance(found, Survey)
    assert found.description == directory.describe()
    # rows without login and both rows of a shared login are not accounts
    assert (found.total, found.capped) == (7, False)
    assert found.profiles == {
        "National_ELV": 4,
        "Invité": 1,
        "National_DOC": 1,
        "National_ENS": 1,
        "National_TUT": 1,
    }
    # an establishment twice on one row counts that account once
    assert found.establishments == {UAI: 5, OTHER_UAI: 2}
    assert found.problems == (
        "2 rows without login were skipped",
        "2 rows with a login used more than once were skipped "
        "(e.g. line 9: login 'double' also on line 10; every row with this login is ignored "
        "until the file is fixed)",
        "1 birth date could not be read, read as no date "
        "(e.g. line 11: unreadable birth date '31/02/2011' for 'bdate' (dd/mm/yyyy or "
        "yyyy-mm-dd); loaded without a date)",
    )
    # the best sample: a category's profile, an establishment and a birth date
    assert found.sample == directory.get("jdupont")
    assert found.sample.birth_date == date(2011, 5, 12)


def test_csv_write_check_is_writable_without_touching_anything(folder: Path) -> None:
    path = folder / "annuaire.csv"
    check = survey(CsvDirectory(path, columns={"idpronote": "idpronote"})).write
    assert check == WriteCheck("writable", "idpronote", check.detail, str(path))
    assert "annuaire.csv.bak" in check.detail
    renamed = folder / "renamed.csv"
    renamed.write_text(CSV.replace(";idpronote\n", ";ids\n", 1), encoding="utf-8")
    try:
        assert CsvDirectory(renamed, columns={"idpronote": "ids"}).write_check(None).attribute == (
            "ids"
        )
    finally:
        renamed.unlink()


def test_csv_write_check_read_only_file_or_folder(
    english, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = folder / "annuaire.csv"
    directory = CsvDirectory(path)
    deny_writes_to(monkeypatch, path)
    check = directory.write_check(None)
    assert check.status == "read_only" and str(path) in check.detail
    monkeypatch.undo()
    deny_writes_to(monkeypatch, folder)
    check = directory.write_check(None)
    assert check.status == "read_only" and f"directory {folder}" in check.detail


def test_csv_write_check_follows_a_symbolic_link(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = tmp_path / "link.csv"
    link.symlink_to(folder / "annuaire.csv")
    directory = CsvDirectory(link)
    assert directory.write_check(None).status == "writable"
    deny_writes_to(monkeypatch, folder)  # where the file really is, and is replaced
    assert directory.write_check(None).status == "read_only"


def test_a_read_only_view_is_not_checked(english, folder: Path) -> None:
    directory = CsvDirectory(folder / "annuaire.csv", only_uai=OTHER_UAI)
    found = survey(directory)
    assert found.write.status == "not_checked"
    assert "read-only" in found.write.detail
    assert found.total == 2 and found.establishments == {OTHER_UAI: 2, UAI: 1}


def test_csv_limits_and_no_write_check(folder: Path) -> None:
    directory = CsvDirectory(folder / "annuaire.csv")
    found = survey(directory, limit=3, write_check=False)
    assert (found.total, found.capped) == (3, True)
    assert sum(found.profiles.values()) >= 3
    assert found.write == WriteCheck("not_checked", "idpronote", found.write.detail)


def test_an_empty_csv_has_no_sample(tmp_path: Path) -> None:
    path = tmp_path / "annuaire.csv"
    path.write_text("login;nom;prenom\n", encoding="utf-8")
    found = survey(CsvDirectory(path))
    assert (found.total, found.sample, found.profiles, found.establishments) == (0, None, {}, {})


# -- LDIF ------------------------------------------------------------------------------------

BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
ETAB1 = f"ou=etab1,ou=structures,{BASE}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


LDIF = f"""\
version: 1

dn: uid=jdupont,{PEOPLE}
objectClass: inetOrgPerson
objectClass: ENTPerson
uid: jdupont
sn: DUPONT
givenName: Jean
ENTPersonDateNaissance: 12/05/2011
ENTPersonProfils: National_ELV
ENTPersonStructRattach: {ETAB1}

dn: uid=macco12,{PEOPLE}
objectClass: ENTPerson
uid: macco12
sn:: {b64("ACCOLÉE")}
ENTPersonProfils: National_ELV
ENTPersonStructRattach: OU=Etab1, OU=Structures, DC=Example, DC=Org

dn: uid=pmartin,{PEOPLE}
objectClass: ENTPerson
uid: pmartin
sn: MARTIN
ENTPersonProfils: National_ENS
ENTPersonStructRattach: {ETAB1}
ENTPersonStructRattach: {OTHER_UAI}

dn: uid=nosn,{PEOPLE}
objectClass: ENTPerson
uid: nosn

dn: cn=No Login,{PEOPLE}
objectClass: ENTPerson
sn: LOGIN

dn: cn=Other Login,{PEOPLE}
objectClass: ENTPerson
sn: LOGIN

dn: {ETAB1}
objectClass: ENTStructure
ou: etab1
ENTStructureUAI: {UAI}

"""


def test_ldif_census_resolves_structures_and_counts_problems(english, folder: Path) -> None:
    directory = LdifDirectory(folder / "annuaire.ldif", mapping=AttributeMapping.build("ent"))
    found = survey(directory)
    assert (found.total, found.capped) == (3, False)
    assert found.profiles == {"National_ELV": 2, "National_ENS": 1}
    assert found.establishments == {UAI: 3, OTHER_UAI: 1}
    assert found.problems == (
        "1 entry without sn was skipped",
        "2 entries without uid were skipped",
    )
    assert found.sample is not None and found.sample.login == "jdupont"


def test_ldif_write_check_asks_for_the_changes_file_only(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = folder / "annuaire.ldif"
    directory = LdifDirectory(export, mapping=AttributeMapping.build("ent"))
    check = survey(directory).write
    changes = folder / "annuaire.modifications.ldif"
    assert check == WriteCheck("writable", "idPronote", check.detail, str(changes))
    assert not changes.exists()  # not created by the check
    deny_writes_to(monkeypatch, folder)
    check = directory.write_check(None)
    assert check.status == "read_only" and str(folder) in check.detail
    deny_writes_to(monkeypatch, export)  # the export is never written: irrelevant
    monkeypatch.undo()
    assert directory.write_check(None).status == "writable"


def test_ldif_write_check_with_an_existing_changes_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "annuaire.ldif"
    export.write_text(LDIF, encoding="utf-8")
    directory = LdifDirectory(export, mapping=AttributeMapping.build("esco"))
    change = IdentifierChange("jdupont", UAI, ChangeKind.ADD, idpn=ID2)
    assert [o.applied for o in directory.apply([change])] == [True]
    changes = directory.changes_path
    before = changes.read_bytes()
    check = directory.write_check(None)
    assert (check.status, check.attribute, check.target) == (
        "writable",
        "ESCOPersonExternalIds",
        str(changes),
    )
    deny_writes_to(monkeypatch, changes)
    assert directory.write_check(None).status == "read_only"
    assert changes.read_bytes() == before


# -- any directory ---------------------------------------------------------------------------


class Bare(Directory):
    """A directory that knows nothing of census: the base class's defaults."""

    def __init__(self) -> None:
        self.profiles = ProfileMapping(dict(DEFAULT_PROFILES))

    def describe(self) -> str:
        return "bare"

    def accounts(self, uai, category=None):  # type: ignore[no-untyped-def]
        return []

    def search(self, text, **kw):  # type: ignore[no-untyped-def]
        return []

    def get(self, login):  # type: ignore[no-untyped-def]
        return None

    def apply(self, changes):  # type: ignore[no-untyped-def]
        return []


def test_a_directory_that_cannot_list_its_accounts_says_so(english) -> None:
    with pytest.raises(DirectoryError, match="cannot list"):
        survey(Bare())
    assert Bare().write_check(None).status == "not_checked"


def test_the_base_census_counts_what_every_account_gives(folder: Path) -> None:
    csv = CsvDirectory(folder / "annuaire.csv")
    generic = base.census_of(csv.every_account(), csv.profiles, 100)
    own = csv.census(100)
    assert (generic.total, generic.profiles, generic.establishments) == (
        own.total,
        own.profiles,
        own.establishments,
    )
    assert generic.sample == own.sample


# -- propose_profiles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "category"),
    [
        ("National_ENS", Category.ENSEIGNANTS),
        ("ENS", Category.ENSEIGNANTS),
        ("Enseignant", Category.ENSEIGNANTS),
        ("teacher", Category.ENSEIGNANTS),
        ("National_ELV", Category.ELEVES),
        ("élève", Category.ELEVES),
        ("ELEVE", Category.ELEVES),
        ("Student", Category.ELEVES),
        ("National_TUT", Category.RESPONSABLES),
        ("Parent", Category.RESPONSABLES),
        ("Responsable légal", Category.RESPONSABLES),
        ("guardian", Category.RESPONSABLES),
        ("National_MDS", Category.MAITRES_DE_STAGE),
        ("Maître de stage", Category.MAITRES_DE_STAGE),
        ("National_INS", Category.INSPECTEURS),
        ("Inspecteur", Category.INSPECTEURS),
        ("National_DOC", Category.PERSONNELS),
        ("National_DIR", Category.PERSONNELS),
        ("National_EVS", Category.PERSONNELS),
        ("National_ETA", Category.PERSONNELS),
        ("National_COL", Category.PERSONNELS),
        ("Personnel administratif", Category.PERSONNELS),
        ("staff", Category.PERSONNELS),
        # not plainly one category
        ("National_ACA", None),
        ("Invité", None),
        ("Responsable de stage", None),
        ("ENS_ELV", None),
        ("Sens", None),
        ("", None),
    ],
)
def test_profile_values_are_classified(value: str, category: Category | None) -> None:
    assert classify_profile(value) is category


def test_propose_profiles() -> None:
    current = ProfileMapping(
        {
            Category.ENSEIGNANTS: ("national_ens", "Prof"),  # Prof: configured, found
            Category.ELEVES: ("National_ELV",),  # not found, but recognised values are
            Category.RESPONSABLES: ("National_TUT",),  # nothing found: kept as configured
            Category.INSPECTEURS: ("Prof",),  # configured twice: the first category wins
            Category.PERSONNELS: ("National_DOC", "National_DIR"),
        }
    )
    found = {
        "National_ENS": 40,
        "Prof": 2,
        "Eleve": 500,
        "élève": 3,
        "National_DOC": 2,
        "National_EVS": 4,
        "Invité": 7,
        "Maître de stage": 1,
    }
    proposal = propose_profiles(found, current)
    assert proposal == {
        Category.ENSEIGNANTS: ("National_ENS", "Prof"),
        Category.ELEVES: ("Eleve", "élève"),
        Category.RESPONSABLES: ("National_TUT",),
        Category.MAITRES_DE_STAGE: ("Maître de stage",),
        Category.INSPECTEURS: (),
        Category.PERSONNELS: ("National_DOC", "National_EVS"),
    }
    every = [value.casefold() for values in proposal.values() for value in values]
    assert len(every) == len(set(every))  # never one value in two categories
    assert "invité" not in every  # unknown: left for the admin


def test_propose_profiles_on_nothing_found_keeps_the_configuration() -> None:
    current = ProfileMapping(dict(DEFAULT_PROFILES))
    assert propose_profiles({}, current) == DEFAULT_PROFILES
    # a value spelt twice by the directory is proposed once, as most accounts spell it
    proposal = propose_profiles({"national_elv": 3, "National_ELV": 500}, current)
    assert proposal[Category.ELEVES] == ("National_ELV",)
