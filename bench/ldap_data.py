"""Directory rows as LDIF, in the shape of each preset: LDAP fixtures for tests and benchmarks.

    .venv/bin/python bench/ldap_data.py annuaire.csv OUT.ldif [--preset ent]

Reads the local directory file of CONTRACT.md (what `bench/datagen.py`
writes as `annuaire.csv`), or takes `Person` rows built in code, and writes
the entries an LDAP directory of that preset would hold, ready for
`slapadd` under `dc=example,dc=org` (tests/ldap/server.py):

- ``ent``: `ENTPerson` entries; establishments as DNs of `ENTStructure`
  entries (whose DN does not contain the UAI, so a reader must resolve it
  through `ENTStructureUAI`), students of a guardian as DNs;
- ``inetorgperson``: `inetOrgPerson` entries, the UAI in `departmentNumber`,
  the profile in `employeeType`, classes in `ou`, students as `seeAlso` DNs;
- ``esco``: `ENTPerson` + `ESCOPerson` entries, UAIs in `ESCOUAI`, and the
  identifiers as `PRONOTE$<idpn>` in `ESCOPersonExternalIds`.

The `entPronoteAccount` class is given only to entries that already hold an
identifier, as on a site where idpronote adds it on the first write.
"""

from __future__ import annotations

import argparse
import base64
import csv
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ldap3.utils.dn import escape_rdn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.names import InvalidDate, format_date, parse_date

PEOPLE_DN = "ou=people,dc=example,dc=org"
STRUCTURES_DN = "ou=structures,dc=example,dc=org"
PRESET_NAMES = ("ent", "inetorgperson", "esco")

# RFC 2849 SAFE-STRING: a SAFE-INIT-CHAR, then SAFE-CHARs.
_SAFE = re.compile(
    r"[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*"
)
_STORED = re.compile(r"(?P<uai>[0-9]{7}[A-Za-z])\$(?P<idpn>[A-Z0-9]{16})")


@dataclass(frozen=True)
class Person:
    """One directory account, with CONTRACT.md's columns."""

    login: str
    nom: str
    prenom: str
    date_naissance: str = ""
    profils: tuple[str, ...] = ()
    uais: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    eleves: tuple[str, ...] = ()  # logins of a guardian's students
    idpronote: tuple[str, ...] = ()  # stored values, "{uai}${idpn}" as the CSV holds them


def read_annuaire(path: Path) -> Iterator[Person]:
    """The rows of a local directory file (`;`, `|` between values)."""

    def values(cell: str | None) -> tuple[str, ...]:
        return tuple(v.strip() for v in (cell or "").split("|") if v.strip())

    with path.open(encoding="utf-8-sig", newline="") as stream:
        for row in csv.DictReader(stream, delimiter=";"):
            if not (row.get("login") or "").strip():
                continue
            yield Person(
                login=row["login"].strip(),
                nom=(row.get("nom") or "").strip(),
                prenom=(row.get("prenom") or "").strip(),
                date_naissance=(row.get("date_naissance") or "").strip(),
                profils=values(row.get("profil")),
                uais=values((row.get("uai") or "").upper()),
                classes=values(row.get("classes")),
                eleves=values(row.get("eleves")),
                idpronote=values(row.get("idpronote")),
            )


def person_dn(login: str, people_dn: str = PEOPLE_DN) -> str:
    return f"uid={escape_rdn(login)},{people_dn}"


def line(attribute: str, value: str) -> str:
    """One LDIF line; base64 when the value is not a SAFE-STRING (RFC 2849)."""
    if value == "" or (_SAFE.fullmatch(value) and not value.endswith(" ")):
        return f"{attribute}: {value}\n"
    return f"{attribute}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}\n"


def entry(dn: str, attributes: Iterable[tuple[str, str]]) -> str:
    return line("dn", dn) + "".join(line(a, v) for a, v in attributes if v != "") + "\n"


class LdifWriter:
    """Turns `Person` rows into entries of one preset; structures are kept for the end."""

    def __init__(
        self,
        preset: str = "ent",
        *,
        people_dn: str = PEOPLE_DN,
        structures_dn: str = STRUCTURES_DN,
    ) -> None:
        if preset not in PRESET_NAMES:
            raise ValueError(f"unknown preset {preset!r}; expected one of {PRESET_NAMES}")
        self.preset = preset
        self.people_dn = people_dn
        self.structures_dn = structures_dn
        self.structures: dict[str, str] = {}  # UAI -> DN of its ENTStructure entry

    def structure_dn(self, uai: str) -> str:
        found = self.structures.get(uai)
        if found is None:
            found = self.structures[uai] = f"ou=etab{len(self.structures) + 1},{self.structures_dn}"
        return found

    def person(self, person: Person) -> str:
        common = [
            ("uid", person.login),
            ("cn", f"{person.prenom} {person.nom}".strip() or person.login),
            ("sn", person.nom or person.login),
            ("givenName", person.prenom),
        ]
        students = [person_dn(login, self.people_dn) for login in person.eleves]
        if self.preset == "inetorgperson":
            classes = ["inetOrgPerson"] + (["entPronoteAccount"] if person.idpronote else [])
            attributes = [
                *common,
                *(("departmentNumber", uai) for uai in person.uais),
                *(("employeeType", profile) for profile in person.profils),
                *(("ou", name) for name in person.classes),
                *(("seeAlso", dn) for dn in students),
                *(("idPronote", value) for value in person.idpronote),
            ]
        else:
            classes = ["inetOrgPerson", "ENTPerson"]
            classes += ["ENTEleve"] if person.classes else []
            classes += ["ENTAuxPersRelEleve"] if students else []
            attributes = [
                *common,
                ("ENTPersonDateNaissance", _french_date(person.date_naissance)),
                *(("ENTPersonProfils", profile) for profile in person.profils),
                *(("ENTPersonStructRattach", self.structure_dn(uai)) for uai in person.uais),
                *(("ENTEleveClasses", name) for name in person.classes),
                *(("ENTAuxPersRelEleveEleve", dn) for dn in students),
            ]
            if self.preset == "esco":
                classes.append("ESCOPerson")
                attributes += [("ESCOUAI", uai) for uai in person.uais]
                attributes += [("ESCOPersonExternalIds", _esco(v)) for v in person.idpronote]
            else:
                classes += ["entPronoteAccount"] if person.idpronote else []
                attributes += [("idPronote", value) for value in person.idpronote]
        return entry(
            person_dn(person.login, self.people_dn),
            [*(("objectClass", name) for name in classes), *attributes],
        )

    def structures_ldif(self) -> str:
        return "".join(
            entry(
                dn,
                [
                    ("objectClass", "ENTStructure"),
                    ("ou", dn.split(",", 1)[0].split("=", 1)[1]),
                    ("ENTStructureUAI", uai),
                ],
            )
            for uai, dn in self.structures.items()
        )


def to_ldif(people: Iterable[Person], preset: str = "ent", **where: str) -> str:
    """Every entry of `people` (and their structures) as one LDIF text."""
    writer = LdifWriter(preset, **where)
    persons = "".join(writer.person(p) for p in people)
    return persons + writer.structures_ldif()


def write_ldif(people: Iterable[Person], path: Path, preset: str = "ent", **where: str) -> int:
    """Stream `people` into an LDIF file; the number of person entries written."""
    writer = LdifWriter(preset, **where)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for person in people:
            out.write(writer.person(person))
            count += 1
        out.write(writer.structures_ldif())
    return count


def _french_date(text: str) -> str:
    try:
        return format_date(parse_date(text), "fr")
    except InvalidDate:
        return ""


def _esco(value: str) -> str:
    """`{uai}${idpn}` as ESCO stores it, `PRONOTE${idpn}`; other values as they are."""
    match = _STORED.fullmatch(value)
    return f"PRONOTE${match['idpn']}" if match else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("annuaire", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--preset", choices=PRESET_NAMES, default="ent")
    args = parser.parse_args(argv)
    count = write_ldif(read_annuaire(args.annuaire), args.out, args.preset)
    print(f"{args.out}: {count} accounts ({args.preset})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
