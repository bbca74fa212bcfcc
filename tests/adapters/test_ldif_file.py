"""The LDIF directory: an export read like the LDAP directory, changes ldapmodify applies.

What every directory promises (listings, search, holders, the write rule, replay)
is tested once for the three kinds in tests/contract/; here, what is the LDIF export's own.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import io
import os
import stat
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from core import i18n
from core.config import Config, DirectoryConfig
from core.errors import ConfigError, DirectoryError
from core.model import Category, DirectoryAccount, IdentifierChange
from directory_adapters import open_directory
from directory_adapters.base import Directory
from directory_adapters.file_protocol import WriteLock
from directory_adapters.ldif import LdifDirectory
from directory_adapters.ldif.names import _dn_key, _parse_filter
from directory_adapters.ldif.syntax import _ldif_line, _LdifReader
from directory_adapters.mapping import AttributeMapping
from tests.changes import add, logins, remove

UAI = "0441234A"
OTHER_UAI = "0449999B"
ID1 = "8P4BHZJQ79SUNFX3"
ID2 = "5A2MJSNYRDTWKP4Q"
ID3 = "Q2ZZZZZZZZZZZZZ9"
ID4 = "AAAAAAAAAAAAAAAA"
BASE = "dc=example,dc=org"
PEOPLE = f"ou=people,{BASE}"
ETAB1 = f"ou=etab1,ou=structures,{BASE}"
ETAB2 = f"ou=etab2,ou=structures,{BASE}"
HCARON_DN = f"cn=Hélène Caron,{PEOPLE}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


# -- the exports -------------------------------------------------------------------
# Each *_ENTRIES text is schema-valid for the test slapd (tests/ldap/server.py adds
# the suffix, ou=people and ou=structures); the reading fixtures add an export's
# header and entries no server would hold.

ENT_ENTRIES = f"""\
dn: uid=jdupont,{PEOPLE}
objectClass: inetOrgPerson
objectClass: ENTPerson
objectClass: ENTEleve
uid: jdupont
cn: Jean Dupont
sn: DUPONT
givenName: Jean
ENTPersonDateNaissance: 12/05/2011
ENTPersonProfils: National_ELV
ENTPersonStructRattach: {ETAB1}
ENTEleveClasses: 5A

dn: uid=mdupont,{PEOPLE}
objectClass: inetOrgPerson
objectClass: ENTPerson
objectClass: ENTEleve
objectClass: entPronoteAccount
uid: mdupont
cn: Marie Dupont
sn: Dupont
givenName: Marie
ENTPersonDateNaissance: 2010-01-02
ENTPersonProfils: National_ELV
ENTPersonStructRattach: {ETAB1}
ENTEleveClasses: 4B
idPronote: {UAI}${ID1}

dn: uid=macco12,{PEOPLE}
objectClass: inetOrgPerson
objectClass: ENTPerson
objectClass: ENTEleve
uid: macco12
cn:: {b64("Mérine Accolée")}
sn:: {b64("ACCOLÉE")}
givenName:: {b64("Mérine")}
ENTPersonDateNaissance: 2011-05-12
ENTPersonProfils: National_ELV
ENTPersonStructRattach: OU=Etab1, OU=Structures, DC=Example, DC=Org
ENTEleveClasses: 5A

dn: cn=Lea Martinez,{PEOPLE}
objectClass: inetOrgPerson
objectClass: ENTPerson
objectClass: ENTEleve
uid: lmartinez
cn: Lea Martinez
sn: MARTI
 NEZ
givenName:: {b64("Léa")}
ENTPersonProfils: National_ELV
ENTPersonStructRattach: {ETAB1}
ENTEleveClasses: 3C

dn: uid=tdurand,{PEOPLE}
objectClass: inetOrgPerson
objectClass: ENTPerson
objectClass: ENTAuxPersRelEleve
uid: tdurand
cn: Thomas Durand
sn: DURAND
givenName: Thomas
ENTPersonProfils: National_TUT
ENTPersonStructRattach: {ETAB1}
ENTAuxPersRelEleveEleve: uid=jdupont,{PEOPLE}
ENTAuxPersRelEleveEleve: cn=Lea Martinez,{PEOPLE}

dn: uid=pmartin,{PEOPLE}
objectClass: inetOrgPerson
objectClass: ENTPerson
objectClass: entPronoteAccount
uid: pmartin
cn: Paul Martin
sn: MARTIN
givenName: Paul
ENTPersonProfils: National_ENS
ENTPersonStructRattach: {ETAB1}
ENTPersonStructRattach: {ETAB2}
idPronote: {OTHER_UAI}${ID4}
idPronote: SCONET$12345

dn:: {b64(HCARON_DN)}
objectClass: inetOrgPerson
objectClass: ENTPerson
uid: hcaron
cn:: {b64("Hélène Caron")}
sn: CARON
givenName:: {b64("Hélène")}
ENTPersonProfils: National_ENS
ENTPersonStructRattach: {ETAB1}

dn: uid=ldoc,{PEOPLE}
objectClass: inetOrgPerson
objectClass: ENTPerson
uid: ldoc
cn: Anne-Sophie Le Bris
sn: Le Bris
givenName;lang-fr: Anne-Sophie
ENTPersonProfils: National_DOC
ENTPersonStructRattach: {ETAB2}

dn: {ETAB1}
objectClass: ENTStructure
ou: etab1
ENTStructureUAI: {UAI}

dn: {ETAB2}
objectClass: ENTStructure
ou: etab2
ENTStructureUAI: {OTHER_UAI}

"""

ENT_PROBLEMS = f"""\
dn: uid=nosn,{PEOPLE}
objectClass: ENTPerson
uid: nosn
cn: No Surname

dn: cn=No Login,{PEOPLE}
objectClass: ENTPerson
cn: No Login
sn: LOGIN

dn: uid=double,{PEOPLE}
objectClass: ENTPerson
uid: double
sn: DOUBLE
givenName: Un

dn: uid=double2,{PEOPLE}
objectClass: entperson
uid: DOUBLE
sn: DOUBLE
givenName: Deux

dn: uid=bdate,{PEOPLE}
objectClass: ENTPerson
uid: bdate
sn: MARTINEZ
givenName:< file:///etc/shadow
ENTPersonDateNaissance: 31/02/2011
ENTPersonProfils: National_ELV
ENTPersonStructRattach: {ETAB1}
ENTPersonStructRattach: ou=etab9,ou=structures,{BASE}

dn: uid=jdupont,{PEOPLE}
changetype: modify
add: idPronote
idPronote: {UAI}${ID2}
-

dn: uid=group,{BASE}
objectClass: groupOfNames
cn: not a person
member: uid=jdupont,{PEOPLE}

"""

ENT_EXPORT = f"""\
# Export of {BASE} (slapcat), with a comment
  folded over two lines
version: 1

dn: {BASE}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

{ENT_ENTRIES}{ENT_PROBLEMS}"""

INO_DN = f"ou=ino,{BASE}"
INO_ENTRIES = f"""\
dn: {INO_DN}
objectClass: organizationalUnit
ou: ino

dn: uid=jdupont,{INO_DN}
objectClass: inetOrgPerson
uid: jdupont
cn: Jean Dupont
sn: DUPONT
givenName: Jean
departmentNumber: {UAI}
employeeType: National_ELV
ou: 5A

dn: uid=pmartin,{INO_DN}
objectClass: inetOrgPerson
objectClass: entPronoteAccount
uid: pmartin
cn: Paul Martin
sn: MARTIN
givenName: Paul
departmentNumber: {UAI}
departmentNumber: {OTHER_UAI.lower()}
employeeType: National_ENS
idPronote: {OTHER_UAI}${ID4}
idPronote: {UAI.lower()}${ID3}

dn: uid=tdurand,{INO_DN}
objectClass: inetOrgPerson
uid: tdurand
cn: Thomas Durand
sn: DURAND
givenName: Thomas
departmentNumber: {UAI}
employeeType: National_TUT
seeAlso: uid=jdupont,{INO_DN}

"""

ESCO_DN = f"ou=esco,{BASE}"
ESCO_ENTRIES = f"""\
dn: {ESCO_DN}
objectClass: organizationalUnit
ou: esco

dn: uid=jdupont,{ESCO_DN}
objectClass: inetOrgPerson
objectClass: ENTPerson
objectClass: ESCOPerson
uid: jdupont
cn: Jean Dupont
sn: DUPONT
givenName: Jean
ENTPersonProfils: National_ELV
ESCOUAI: {UAI}
ESCOPersonExternalIds: PRONOTE${ID1}
ESCOPersonExternalIds: SCONET$12345

dn: uid=pmartin,{ESCO_DN}
objectClass: inetOrgPerson
objectClass: ENTPerson
objectClass: ESCOPerson
uid: pmartin
cn: Paul Martin
sn: MARTIN
givenName: Paul
ENTPersonProfils: National_ENS
ESCOUAI: {UAI}
ESCOUAI: {OTHER_UAI}

"""


def write(tmp_path: Path, text: str, name: str = "annuaire.ldif", newline: str = "\n") -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", newline).encode("utf-8"))
    return path


def open_ldif(path: Path, preset: str = "ent", **kw: object) -> LdifDirectory:
    return LdifDirectory(path, mapping=AttributeMapping.build(preset), **kw)  # type: ignore[arg-type]


def line_of(text: str, needle: str, after: str = "") -> int:
    """The 1-based line where `needle` starts a line (the first after `after`)."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(after)) if after else 0
    return next(n for n, line in enumerate(lines) if n >= start and line.startswith(needle)) + 1


def records(directory: LdifDirectory) -> list[str]:
    """The modify records of the changes file, without its header."""
    text = directory.changes_path.read_text(encoding="utf-8")
    return [block for block in text.split("\n\n") if block.startswith("dn")]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write(tmp_path, ENT_EXPORT)


@pytest.fixture
def directory(path: Path) -> LdifDirectory:
    return open_ldif(path)


# -- reading the presets ------------------------------------------------------------


def test_ent_entries_with_structure_and_student_dns(directory: LdifDirectory) -> None:
    assert isinstance(directory, Directory)
    assert directory.get("jdupont") == DirectoryAccount(
        login="jdupont",
        surname="DUPONT",
        first_name="Jean",
        dn=f"uid=jdupont,{PEOPLE}",
        birth_date=date(2011, 5, 12),
        profiles=("National_ELV",),
        establishments=(UAI,),
        classes=("5A",),
    )
    # a structure DN spelt in another case and spacing is the same entry
    assert directory.get("macco12").establishments == (UAI,)
    # student DNs: by their uid RDN, or (cn=...) through the entry they name
    assert directory.get("tdurand").students == ("jdupont", "lmartinez")
    pmartin = directory.get("pmartin")
    assert pmartin.establishments == (UAI, OTHER_UAI)
    assert pmartin.identifiers == (f"{OTHER_UAI}${ID4}", "SCONET$12345")
    assert directory.get("mdupont").identifiers == (f"{UAI}${ID1}",)
    assert directory.describe().startswith(f"LDIF {directory.path} : 9 comptes")


def test_base64_folding_and_attribute_options(directory: LdifDirectory) -> None:
    macco = directory.get("macco12")
    assert (macco.surname, macco.first_name) == ("ACCOLÉE", "Mérine")
    assert directory.get("lmartinez").surname == "MARTINEZ"  # folded line
    assert directory.get("lmartinez").first_name == "Léa"
    assert directory.get("hcaron").dn == HCARON_DN  # dn:: base64
    assert directory.get("hcaron").first_name == "Hélène"
    assert directory.get("ldoc").first_name == "Anne-Sophie"  # givenName;lang-fr


def test_crlf_line_ends_read_the_same(tmp_path: Path, directory: LdifDirectory) -> None:
    crlf = open_ldif(write(tmp_path, ENT_EXPORT, "crlf.ldif", newline="\r\n"))
    assert [crlf.get(a.login) for a in directory.accounts(UAI)] == directory.accounts(UAI)
    assert [(p.line, p.kind) for p in crlf.problems] == [
        (p.line, p.kind) for p in directory.problems
    ]


def test_problem_entries_are_reported_with_their_lines(english, directory: LdifDirectory) -> None:
    text = ENT_EXPORT
    bdate = line_of(text, "dn: uid=bdate")
    assert [(p.line, p.kind) for p in directory.problems] == [
        (line_of(text, "dn: uid=nosn"), "missing_surname"),
        (line_of(text, "dn: cn=No Login"), "missing_login"),
        (line_of(text, "dn: uid=double,"), "duplicate_login"),
        (line_of(text, "dn: uid=double2"), "duplicate_login"),
        (bdate, "unknown_structure"),
        (bdate, "invalid_date"),
        (line_of(text, "givenName:<"), "url_value"),
        (line_of(text, "dn: uid=jdupont", after="dn: uid=bdate"), "changetype"),
    ]
    assert all(p.message.startswith(f"line {p.line}: ") for p in directory.problems)
    # never guess which duplicate is right; the rest of a problem entry still loads
    assert directory.get("double") is None
    bdate_account = directory.get("bdate")
    assert (bdate_account.first_name, bdate_account.birth_date) == ("", None)
    assert bdate_account.establishments == (UAI,)
    # the change record was not applied
    assert directory.get("jdupont").identifiers == ()


def test_a_url_value_is_never_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Secret\n")
    export = write(
        tmp_path,
        f"dn: uid=a,{PEOPLE}\nobjectClass: ENTPerson\nuid: a\nsn: A\n"
        f"givenName:< file://{secret}\njpegPhoto:< file://{secret}\n"
        f"ENTPersonStructRattach:< http://127.0.0.1:1/{ETAB1}\n\n"
        f"dn:< file://{secret}\nobjectClass: ENTPerson\nuid: b\nsn: B\n",
    )
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def watch(original: Callable[..., object]) -> Callable[..., object]:
        def watched(file: object, *args: object, **kwargs: object) -> object:
            opened.append(str(file))
            return original(file, *args, **kwargs)

        return watched

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a URL was fetched")

    monkeypatch.setattr(builtins, "open", watch(real_open))
    monkeypatch.setattr(io, "open", watch(real_open))
    monkeypatch.setattr(os, "open", watch(real_os_open))
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    directory = open_ldif(export)
    monkeypatch.undo()
    assert str(secret) not in opened
    account = directory.get("a")
    assert (account.first_name, account.establishments) == ("", ())
    assert [(p.line, p.kind) for p in directory.problems] == [
        (5, "url_value"),
        (6, "url_value"),
        (7, "url_value"),
        (9, "url_value"),
    ]
    assert directory.get("b") is None


def test_inetorgperson_preset(tmp_path: Path) -> None:
    directory = open_ldif(write(tmp_path, INO_ENTRIES), "inetorgperson")
    assert directory.problems == []
    assert logins(directory.accounts(UAI)) == ["jdupont", "tdurand", "pmartin"]
    assert logins(directory.accounts(OTHER_UAI, Category.ENSEIGNANTS)) == ["pmartin"]
    assert directory.get("jdupont").classes == ("5A",)
    assert directory.get("tdurand").students == ("jdupont",)
    # a UAI written in lower case by hand is still this establishment's value
    assert logins(directory.holders(ID3, UAI)) == ["pmartin"]
    assert [(row.account.login, row.idpn) for row in directory.linked(UAI)] == [("pmartin", ID3)]


def test_esco_preset_reads_pronote_values_among_other_ids(tmp_path: Path) -> None:
    directory = open_ldif(write(tmp_path, ESCO_ENTRIES), "esco")
    assert directory.problems == []
    assert directory.get("jdupont").identifiers == (f"PRONOTE${ID1}", "SCONET$12345")
    assert directory.get("pmartin").establishments == (UAI, OTHER_UAI)
    assert logins(directory.holders(ID1, UAI)) == ["jdupont"]
    assert logins(directory.holders(ID1, OTHER_UAI)) == ["jdupont"]  # no UAI in this form


def test_base_dn_keeps_the_persons_under_it(tmp_path: Path) -> None:
    export = write(tmp_path, ENT_ENTRIES + ESCO_ENTRIES)
    # the ESCO entries are ENTPersons too: their logins collide with ou=people's
    assert "duplicate_login" in {p.kind for p in open_ldif(export).problems}
    directory = open_ldif(export, base_dn="OU=People, DC=example,DC=org")
    assert directory.problems == []
    assert directory.get("jdupont").dn == f"uid=jdupont,{PEOPLE}"
    assert open_ldif(export, "esco", base_dn=ESCO_DN).get("jdupont").dn == f"uid=jdupont,{ESCO_DN}"


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("ou=etab1,ou=structures,dc=example", "OU=Etab1 , ou=Structures,DC=EXAMPLE", True),
        ("cn=a\\,b,ou=x", "CN=A\\2Cb, OU=X", True),  # an escaped comma, two spellings
        ("cn=a\\,b,ou=x", "cn=a,b=,ou=x", False),
        ("cn=x+uid=y,ou=p", "UID=y + CN=X,ou=p", True),  # multi-valued RDNs in any order
        ("cn=H\\C3\\A9l\\C3\\A8ne,ou=p", "cn=hélène,ou=p", True),  # UTF-8 hex escapes
        ("cn=back\\5Cslash,ou=p", "cn=back\\\\slash,ou=p", True),
        ("cn=back\\\\,ou=p", "cn=back\\,,ou=p", False),
    ],
)
def test_dns_compare_as_ldap_compares_them(one: str, other: str, same: bool) -> None:
    assert (_dn_key(one) == _dn_key(other)) is same


def test_base_dn_is_a_subtree_not_a_suffix_of_text(tmp_path: Path) -> None:
    def person(dn: str, login: str) -> str:
        return f"dn: {dn}\nobjectClass: ENTPerson\nuid: {login}\nsn: X\n\n"

    export = write(
        tmp_path,
        person(f"uid=in,{PEOPLE}", "in")
        + person(f"cn=x\\,{PEOPLE}", "escaped")  # one RDN whose value ends with ",ou=people..."
        + person(f"uid=out,ou=otherpeople,{BASE}", "out")
        + person(PEOPLE, "base"),
    )
    directory = open_ldif(export, base_dn=PEOPLE)
    assert sorted(a.login for a in directory.search("x")) == ["base", "in"]


def test_duplicate_dns_and_unreadable_lines_are_problems(tmp_path: Path) -> None:
    text = (
        f"dn: uid=a,{PEOPLE}\nobjectClass: ENTPerson\nuid: a\nsn: A\n\n"
        f"dn: UID=A, {PEOPLE}\nobjectClass: ENTPerson\nuid: a2\nsn: A\n\n"
        f"dn: uid=b,{PEOPLE}\nobjectClass: ENTPerson\nuid: b\nsn:: not base64!\n"
        "this line has no colon\ngivenName:: /w==\n\n"
        f"objectClass: no dn here\n\n"
    )
    export = tmp_path / "odd.ldif"
    export.write_bytes(
        text.encode()
        + f"dn: uid=c,{PEOPLE}\nobjectClass: ENTPerson\nuid: c\nsn: ".encode()
        + "Hélène".encode("latin-1")
        + b"\n"
    )
    directory = open_ldif(export)
    assert [(p.line, p.kind) for p in directory.problems] == [
        (6, "duplicate_dn"),
        (11, "missing_surname"),
        (14, "bad_value"),
        (15, "syntax"),
        (16, "bad_value"),
        (18, "syntax"),
        (20, "missing_surname"),
        (23, "bad_value"),
    ]
    assert logins(directory.search("a")) == ["a"]
    assert directory.get("b") is None  # its surname could not be read


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 2\n\ndn: o=x\nobjectClass: top\n", "version"),
        ("", None),
        ("\n\n# only a comment\n", None),
    ],
)
def test_version_and_empty_exports(tmp_path: Path, text: str, message: str | None) -> None:
    export = write(tmp_path, text)
    if message is None:
        assert open_ldif(export).accounts(UAI) == []
        return
    with pytest.raises(DirectoryError, match=message):
        open_ldif(export)


def test_missing_huge_or_special_files_are_refused_unread(english, tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="cannot read"):
        open_ldif(tmp_path / "missing.ldif")
    with pytest.raises(DirectoryError, match="not a regular file"):
        open_ldif(tmp_path)
    fifo = tmp_path / "fifo.ldif"
    os.mkfifo(fifo)
    with pytest.raises(DirectoryError, match="not a regular file"):
        open_ldif(fifo)  # would block forever if it were opened
    export = write(tmp_path, ENT_EXPORT)
    with pytest.raises(DirectoryError, match="more than the 1000 bytes") as caught:
        open_ldif(export, max_size=1000)
    assert caught.value.hint


def test_a_file_growing_while_read_stops_at_the_budget(english, tmp_path: Path) -> None:
    source = io.BytesIO(b"dn: o=x\n" + b"description: " + b"x" * 5000 + b"\n")
    reader = _LdifReader(tmp_path / "x.ldif", source, 1000, problems=[])
    with pytest.raises(DirectoryError, match="grew past 1000 bytes"):
        list(reader.records())


def test_the_changes_file_is_never_the_export(english, path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be the export"):
        open_ldif(path, changes_path=path.parent / "." / path.name)


def test_person_filter_subset() -> None:
    predicate, attributes = _parse_filter(
        "(&(objectClass=ENTPerson)(|(uid=*)(cn=x\\2ay))(!(ENTPersonProfils=National_TUT)))"
    )
    assert attributes == {"objectclass", "uid", "cn", "entpersonprofils"}
    assert predicate({"objectclass": ["entperson"], "uid": ["a"]})
    assert predicate({"objectclass": ["ENTPerson"], "cn": ["X*Y"]})
    assert not predicate({"objectclass": ["ENTPerson"], "cn": ["xy"]})
    assert not predicate(
        {"objectclass": ["ENTPerson"], "uid": ["a"], "entpersonprofils": ["national_tut"]}
    )
    for unsupported in ("(cn=a*b)", "(cn~=a)", "objectClass=x", "(&(cn=a)", "(cn=a))"):
        with pytest.raises(ConfigError):
            _parse_filter(unsupported)


# -- writing ------------------------------------------------------------------------


def test_a_change_is_an_ldif_modify_record(directory: LdifDirectory, path: Path) -> None:
    export = path.read_bytes()
    assert not directory.changes_path.exists()  # nothing written, nothing created
    outcomes = directory.apply([add("jdupont", ID2), add("mdupont", ID3, previous=ID1)])
    assert [(o.applied, o.failure) for o in outcomes] == [(True, None)] * 2
    assert directory.changes_path == path.with_name("annuaire.modifications.ldif")
    assert records(directory) == [
        f"dn: uid=jdupont,{PEOPLE}\nchangetype: modify\n"
        "add: objectClass\nobjectClass: entPronoteAccount\n-\n"
        f"add: idPronote\nidPronote: {UAI}${ID2}\n-",
        f"dn: uid=mdupont,{PEOPLE}\nchangetype: modify\n"
        f"delete: idPronote\nidPronote: {UAI}${ID1}\n-\n"
        f"add: idPronote\nidPronote: {UAI}${ID3}\n-",
    ]
    header = directory.changes_path.read_text().split("\nversion: 1\n")[0]
    assert "ldapmodify -x -H ldap://" in header and "-f annuaire.modifications.ldif" in header
    assert path.read_bytes() == export  # the export is never modified
    assert directory.get("mdupont").identifiers == (f"{UAI}${ID3}",)
    assert logins(directory.holders(ID1, UAI)) == []
    # the object class is added once, with the first identifier only
    directory.apply([add("jdupont", ID1, uai=OTHER_UAI)])
    assert records(directory)[-1] == (
        f"dn: uid=jdupont,{PEOPLE}\nchangetype: modify\n"
        f"add: idPronote\nidPronote: {OTHER_UAI}${ID1}\n-"
    )


def test_the_changes_file_is_private(directory: LdifDirectory) -> None:
    previous = os.umask(0o022)
    try:
        directory.apply([add("jdupont", ID2)])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(directory.changes_path.stat().st_mode) == 0o600


def test_only_the_establishments_values_move(directory: LdifDirectory) -> None:
    # pmartin: another establishment's value and another tool's value stay
    directory.apply([add("pmartin", ID3), add("pmartin", ID2, OTHER_UAI, previous=ID4)])
    assert records(directory) == [
        f"dn: uid=pmartin,{PEOPLE}\nchangetype: modify\nadd: idPronote\nidPronote: {UAI}${ID3}\n-",
        f"dn: uid=pmartin,{PEOPLE}\nchangetype: modify\n"
        f"delete: idPronote\nidPronote: {OTHER_UAI}${ID4}\n-\n"
        f"add: idPronote\nidPronote: {OTHER_UAI}${ID2}\n-",
    ]
    assert directory.get("pmartin").identifiers == (
        "SCONET$12345",
        f"{UAI}${ID3}",
        f"{OTHER_UAI}${ID2}",
    )
    directory.apply([remove("pmartin", ID3)])
    assert records(directory)[-1] == (
        f"dn: uid=pmartin,{PEOPLE}\nchangetype: modify\n"
        f"delete: idPronote\nidPronote: {UAI}${ID3}\n-"
    )
    assert directory.get("pmartin").identifiers == ("SCONET$12345", f"{OTHER_UAI}${ID2}")


def test_a_value_spelt_in_lower_case_is_deleted_as_spelt(tmp_path: Path) -> None:
    directory = open_ldif(write(tmp_path, INO_ENTRIES), "inetorgperson")
    assert directory.apply([add("pmartin", ID3)])[0].reason == "already in effect"
    assert directory.apply([add("pmartin", ID2, previous=ID3)])[0].applied
    assert records(directory) == [
        f"dn: uid=pmartin,{INO_DN}\nchangetype: modify\n"
        f"delete: idPronote\nidPronote: {UAI.lower()}${ID3}\n-\n"
        f"add: idPronote\nidPronote: {UAI}${ID2}\n-"
    ]


def test_esco_form_writes_pronote_values_and_no_object_class(tmp_path: Path) -> None:
    directory = open_ldif(write(tmp_path, ESCO_ENTRIES), "esco")
    outcomes = directory.apply([add("jdupont", ID2, previous=ID1), add("pmartin", ID1)])
    assert all(o.applied for o in outcomes)
    assert records(directory) == [
        f"dn: uid=jdupont,{ESCO_DN}\nchangetype: modify\n"
        f"delete: ESCOPersonExternalIds\nESCOPersonExternalIds: PRONOTE${ID1}\n-\n"
        f"add: ESCOPersonExternalIds\nESCOPersonExternalIds: PRONOTE${ID2}\n-",
        f"dn: uid=pmartin,{ESCO_DN}\nchangetype: modify\n"
        f"add: ESCOPersonExternalIds\nESCOPersonExternalIds: PRONOTE${ID1}\n-",
    ]
    assert directory.get("jdupont").identifiers == ("SCONET$12345", f"PRONOTE${ID2}")


def test_a_dn_that_is_not_a_safe_string_is_base64(directory: LdifDirectory) -> None:
    directory.apply([add("hcaron", ID2)])
    assert records(directory)[0].startswith(f"dn:: {b64(HCARON_DN)}\nchangetype: modify\n")


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("0441234A$8P4BHZJQ79SUNFX3", True),
        ("", True),
        (" leading space", False),
        ("trailing space ", False),
        (":colon first", False),
        ("<less first", False),
        ("line\nbreak", False),
        ("carriage\rreturn", False),
        ("Hélène", False),
        ("nul\x00", False),
        ("a:b<c", True),
    ],
)
def test_ldif_values_are_base64_unless_safe(value: str, safe: bool) -> None:
    line = _ldif_line("attr", value)
    if safe:
        assert line == f"attr: {value}\n"
    else:
        assert line == f"attr:: {b64(value)}\n"


def test_changed_values_and_unknown_or_duplicate_logins(english, directory: LdifDirectory) -> None:
    outcomes = directory.apply(
        [add("mdupont", ID2), add("nobody", ID2), add("double", ID2), add("nosn", ID2)]
    )
    assert [o.failure for o in outcomes] == ["changed", "not_found", "not_found", "not_found"]
    assert "fix the export" in outcomes[2].reason
    assert not directory.changes_path.exists()


def test_reopening_replays_the_changes_file(directory: LdifDirectory, path: Path) -> None:
    changes = [add("jdupont", ID2), add("mdupont", ID3, previous=ID1), add("hcaron", ID4)]
    directory.apply(changes)
    written = directory.changes_path.read_bytes()
    resumed = open_ldif(path)
    for login in ("jdupont", "mdupont", "hcaron", "pmartin"):
        assert resumed.get(login) == directory.get(login)
    assert logins(resumed.holders(ID3, UAI)) == ["mdupont"]
    assert [o.reason for o in resumed.apply(changes)] == ["already in effect"] * 3
    # the object class added before is known: not added a second time
    assert resumed.apply([add("jdupont", ID1, uai=OTHER_UAI)])[0].applied
    assert "objectClass" not in records(resumed)[-1]
    assert directory.changes_path.read_bytes().startswith(written)
    assert resumed.problems == directory.problems


def test_two_sessions_on_one_export_see_each_other(path: Path) -> None:
    first, second = open_ldif(path), open_ldif(path)
    assert first.apply([add("jdupont", ID2)])[0].applied
    outcome = second.apply([add("macco12", ID2)])[0]
    assert (outcome.applied, outcome.failure) == (False, "conflict")
    assert second.apply([add("macco12", ID3)])[0].applied
    assert len(records(first)) == 2
    assert open_ldif(path).get("macco12").identifiers == (f"{UAI}${ID3}",)


def test_a_write_made_while_waiting_for_the_lock_is_decided_against(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other session writes between our decision and our lock: we decide again under it."""
    first, second = open_ldif(path), open_ldif(path)
    other = WriteLock(Path(os.path.realpath(second.changes_path)))  # the first, mid-write
    other.acquire()
    planned = threading.Event()
    plan = second._plan

    def watched(changes: list[IdentifierChange]) -> object:
        decided = plan(changes)
        planned.set()
        return decided

    monkeypatch.setattr(second, "_plan", watched)
    outcomes: list[object] = []
    waiting = threading.Thread(target=lambda: outcomes.extend(second.apply([add("macco12", ID2)])))
    try:
        waiting.start()
        assert planned.wait(10)
        first._write(first._plan([add("jdupont", ID2)]))  # as its own apply does, under the lock
    finally:
        other.release()
    waiting.join(10)
    (outcome,) = outcomes
    assert (outcome.applied, outcome.failure) == (False, "conflict")
    assert len(records(first)) == 1
    assert open_ldif(path).holders(ID2, UAI)[0].login == "jdupont"


def test_an_interrupted_write_is_cut_off_and_reported(directory: LdifDirectory, path: Path) -> None:
    directory.apply([add("jdupont", ID2)])
    complete = directory.changes_path.read_bytes()
    cut = f"dn: uid=mdupont,{PEOPLE}\nchangetype: modify\nadd: idPronote\nidPronote: {UAI}$5A2M"
    directory.changes_path.write_bytes(complete + cut.encode())
    resumed = open_ldif(path)
    problem = resumed.problems[-1]
    assert problem.kind == "incomplete_change"
    assert problem.line == complete.count(b"\n") + 1
    assert resumed.get("mdupont").identifiers == (f"{UAI}${ID1}",)
    assert resumed.apply([add("macco12", ID3)])[0].applied
    text = directory.changes_path.read_text()
    assert "5A2M\n" not in text and "$5A2M" not in text.replace(ID2, "")
    assert len(records(resumed)) == 2
    assert open_ldif(path).get("macco12").identifiers == (f"{UAI}${ID3}",)


def test_changes_made_on_another_export_are_refused(
    english, directory: LdifDirectory, path: Path
) -> None:
    directory.apply([add("jdupont", ID2)])
    path.write_text(ENT_EXPORT.replace("Thomas", "Thomas-Edouard"))
    with pytest.raises(DirectoryError, match="another version") as caught:
        open_ldif(path)
    assert "move it away" in (caught.value.hint or "")
    outcome = directory.apply([add("macco12", ID3)])[0]
    # The changes file cannot be used at all: not about this entry.
    assert (outcome.applied, outcome.failure) == (False, "unavailable")
    assert "another version" in outcome.reason


def test_a_hand_edited_changes_file_is_refused_clearly(english, path: Path) -> None:
    changes = path.with_name("annuaire.modifications.ldif")
    changes.write_text(f"dn: uid=jdupont,{PEOPLE}\nchangetype: delete\n\n")
    with pytest.raises(DirectoryError, match="changetype: modify"):
        open_ldif(path)
    changes.write_text(
        f"dn: uid=nobody,{PEOPLE}\nchangetype: modify\nadd: idPronote\n"
        f"idPronote: {UAI}${ID2}\n-\n\n"
    )
    with pytest.raises(DirectoryError, match="not a person entry"):
        open_ldif(path)
    changes.write_text(
        f"dn: uid=jdupont,{PEOPLE}\nchangetype: modify\nadd: idPronote\n"
        f"idPronote:< file:///etc/shadow\n-\n\n"
    )
    with pytest.raises(DirectoryError, match="URL"):
        open_ldif(path)


def changes_for(path: Path, body: str, *, bound: bool = True) -> Path:
    """A changes file of `body`, with the digest line of `path` as idpronote writes it."""
    changes = path.with_name("annuaire.modifications.ldif")
    digest = hashlib.blake2b(path.read_bytes(), digest_size=20).hexdigest()
    head = f"# export-blake2b: {digest}\n" if bound else ""
    changes.write_text(f"{head}version: 1\n\n{body}")
    return changes


def test_a_written_changes_file_replays_replace_and_whole_deletes(path: Path) -> None:
    changes_for(
        path,
        f"dn: uid=pmartin,{PEOPLE}\nchangetype: modify\n"
        f"replace: idPronote\nidPronote: {UAI}${ID3}\nidPronote: other\n-\n"
        "replace: sn\nsn: MARTIN-DURAND\n-\n\n"
        f"dn: uid=mdupont,{PEOPLE}\nchangetype: modify\ndelete: idPronote\n-\n\n",
    )
    directory = open_ldif(path)
    assert directory.get("pmartin").identifiers == (f"{UAI}${ID3}", "other")
    assert directory.get("pmartin").surname == "MARTIN-DURAND"
    assert directory.get("mdupont").identifiers == ()


def test_a_changes_file_not_bound_to_the_export_is_never_replayed(english, path: Path) -> None:
    # Its records name entries by DN alone: on an export it was not made against, a DN
    # may be another person's now. Only the digest line idpronote writes binds them.
    body = (
        f"dn: uid=pmartin,{PEOPLE}\nchangetype: modify\n"
        f"add: idPronote\nidPronote: {UAI}${ID3}\n-\n\n"
    )
    changes_for(path, body, bound=False)
    with pytest.raises(DirectoryError, match="not written by idpronote") as caught:
        open_ldif(path)
    assert "move it away" in (caught.value.hint or "")
    changes_for(path, body)
    assert open_ldif(path).get("pmartin").identifiers[-1] == f"{UAI}${ID3}"


@pytest.mark.parametrize("failing", ["fsync", "write"])
def test_a_failed_write_changes_nothing(
    directory: LdifDirectory, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    directory.apply([add("jdupont", ID2)])
    before = directory.changes_path.read_bytes()

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, broken)
    outcomes = directory.apply([add("mdupont", ID3, previous=ID1), add("macco12", ID4)])
    monkeypatch.undo()
    assert [(o.applied, o.failure) for o in outcomes] == [(False, "unavailable")] * 2
    assert "No space left on device" in outcomes[0].reason
    assert directory.changes_path.read_bytes() == before
    assert directory.get("mdupont").identifiers == (f"{UAI}${ID1}",)
    assert directory.holders(ID4, UAI) == []
    assert directory.apply([add("macco12", ID4)])[0].applied
    assert open_ldif(directory.path).get("macco12").identifiers == (f"{UAI}${ID4}",)


def test_an_unwritable_place_for_the_changes_is_an_outcome(
    english, tmp_path: Path, path: Path
) -> None:
    directory = open_ldif(path, changes_path=tmp_path / "missing" / "changes.ldif")
    outcome = directory.apply([add("jdupont", ID2)])[0]
    assert (outcome.applied, outcome.failure) == (False, "unavailable")
    assert "could not write" in outcome.reason
    assert directory.get("jdupont").identifiers == ()


def test_open_directory_reads_ldif(path: Path) -> None:
    config = Config(directory=DirectoryConfig(kind="ldif", path=path, preset="ent"))
    directory = open_directory(config)
    assert isinstance(directory, LdifDirectory)
    assert directory.get("jdupont").establishments == (UAI,)
    assert isinstance(open_directory(Config(), directory_file=path), LdifDirectory)


# -- against a real slapd ---------------------------------------------------------------

ROUND_TRIPS = {
    # preset: (export, batches of changes)
    "ent": (
        ENT_ENTRIES,
        [
            [
                add("jdupont", ID2),  # needs the object class
                add("mdupont", ID3, previous=ID1),
                add("pmartin", ID1),  # freed by mdupont just before, in the same batch
                add("pmartin", ID2, OTHER_UAI, previous=ID4),
                add("hcaron", ID4),  # a DN written in base64
            ],
            [remove("mdupont", ID3), add("macco12", ID3), add("jdupont", ID1, OTHER_UAI)],
        ],
    ),
    "inetorgperson": (
        INO_ENTRIES,
        [
            [add("pmartin", ID2, previous=ID3), add("jdupont", ID3)],
            [add("tdurand", ID1), remove("pmartin", ID4, OTHER_UAI)],
        ],
    ),
    "esco": (
        ESCO_ENTRIES,
        [[add("jdupont", ID2, previous=ID1), add("pmartin", ID1)], [remove("jdupont", ID2)]],
    ),
}


@pytest.mark.parametrize("preset", list(ROUND_TRIPS))
def test_ldapmodify_applies_the_changes_as_is(
    preset: str, tmp_path: Path, slapd_factory: Callable[..., object]
) -> None:
    export, batches = ROUND_TRIPS[preset]
    server = slapd_factory(export)
    directory = open_ldif(write(tmp_path, export), preset)
    assert directory.problems == []
    for batch in batches:
        outcomes = directory.apply(batch)
        assert [(o.applied, o.reason) for o in outcomes] == [(True, None)] * len(batch)
    done = server.ldapmodify(directory.changes_path)  # type: ignore[attr-defined]
    assert done.returncode == 0, done.stderr
    mapping = directory.mapping
    attribute = mapping.identifier_attribute
    everyone = {a.login: a for uai in (UAI, OTHER_UAI) for a in directory.accounts(uai)}
    assert everyone
    for login, account in everyone.items():
        [(dn, values)] = server.search(f"(uid={login})", [attribute, "objectClass"])  # type: ignore[attr-defined]
        assert dn.lower() == account.dn.lower()
        assert sorted(values.get(attribute, [])) == sorted(account.identifiers), login
        classes = {value.lower() for value in values["objectClass"]}
        if mapping.object_class and account.identifiers:
            assert mapping.object_class.lower() in classes
    # a resumed session agrees with the directory and has nothing left to write
    resumed = open_ldif(directory.path, preset)
    written = directory.changes_path.read_bytes()
    for batch in batches[-1:]:
        assert all(o.reason == "already in effect" for o in resumed.apply(batch))
    assert directory.changes_path.read_bytes() == written


def test_the_export_reads_as_the_ldap_adapter_reads_the_server(
    tmp_path: Path, slapd_factory: Callable[..., object]
) -> None:
    from tests.ldap.conftest import BASES, fixture_ldif, open_ldap

    reading_server = slapd_factory(fixture_ldif())
    export = write(tmp_path, fixture_ldif())
    for preset, base in BASES.items():
        ldif = open_ldif(export, preset, base_dn=base)
        with open_ldap(reading_server, preset) as ldap:  # type: ignore[arg-type]
            for uai in (UAI, OTHER_UAI):
                for category in (None, Category.ELEVES, Category.RESPONSABLES):
                    expected = sorted(ldap.accounts(uai, category), key=lambda a: a.login)
                    found = sorted(ldif.accounts(uai, category), key=lambda a: a.login)
                    assert [replace_dn(a) for a in found] == [replace_dn(a) for a in expected]


def replace_dn(account: DirectoryAccount) -> DirectoryAccount:
    """DNs compared without case: a server may hand back its own spelling."""
    return replace(account, dn=(account.dn or "").lower())


def test_changes_made_on_another_export_are_said_in_french_by_default(
    directory: LdifDirectory, path: Path
) -> None:
    directory.apply([add("jdupont", ID2)])
    path.write_text(ENT_EXPORT.replace("Thomas", "Thomas-Edouard"))
    changes = path.with_name("annuaire.modifications.ldif")
    with pytest.raises(DirectoryError) as caught:
        open_ldif(path)
    assert caught.value.message == (
        f"{changes} contient des modifications faites sur une autre version de {path}"
    )
    assert caught.value.hint == (
        "appliquez-le avec ldapmodify si ce n'est pas déjà fait, puis déplacez-le : "
        "idpronote en commencera un nouveau"
    )
    i18n.set_language("en")
    with pytest.raises(DirectoryError) as caught:
        open_ldif(path)
    assert caught.value.message == f"{changes} holds changes made on another version of {path}"
    assert caught.value.hint == (
        "apply it with ldapmodify if not done yet, then move it away: idpronote starts a new one"
    )
