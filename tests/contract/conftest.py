"""The three directory kinds, loaded with the same accounts, for the contract suite.

The accounts are tests/ldap/conftest.py's fixture directory under
`ou=people` (the ent preset): its `PEOPLE`, the big school `BIG` for
paging and counts, and the two entries it writes by hand (`BY_HAND`).
Each kind holds them in its own storage form:

- ``csv``: a CONTRACT.md directory file written from the same rows;
- ``ldif``: the very LDIF the test slapd is loaded with (`fixture_ldif`),
  read under `ou=people` as the LDAP adapter's base;
- ``ldap``: a real slapd loaded with it (tests/ldap/server.py).

`reader` is one directory per kind for the whole session, that no test writes
to (one slapd for every read); `writer` a fresh one per test (a file in the
test's folder, or a private slapd started for the test, about 0.2 s).

A `Kind` also reads its storage without the adapter (`stored`, `snapshot`),
so that a test can tell what really was written, or that nothing was.
"""

from __future__ import annotations

import base64
import csv
import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.ldap_data import Person, to_ldif
from core.model import ProfileMapping
from directory_adapters.base import Directory
from directory_adapters.csv import CsvDirectory
from directory_adapters.ldif import LdifDirectory
from directory_adapters.mapping import AttributeMapping
from tests.ldap.conftest import BIG, ELV, PEOPLE, TUT, UAI, fixture_ldif, open_ldap, require_slapd
from tests.ldap.server import Slapd

KINDS = ("csv", "ldif", "ldap")

# The two entries tests/ldap/conftest.py writes by hand under ou=people, as rows:
# a student whose DN is named by cn, and a guardian pointing at her.
BY_HAND = [
    Person("lmartinez", "MARTINEZ", "Léa", "", (ELV,), (UAI,), ("3C",)),
    Person("gmartinez", "MARTINEZ", "Guy", "", (TUT,), (UAI,), (), ("lmartinez",)),
]
EVERYONE = PEOPLE + BIG + BY_HAND
DN_OF = {"lmartinez": f"cn=Lea Martinez,{Slapd.people_dn}"}
CSV_HEADER = ("login", "nom", "prenom", "date_naissance", "profil", "uai", "classes", "eleves")


def dn_of(login: str) -> str:
    return DN_OF.get(login, f"uid={login},{Slapd.people_dn}")


def csv_text(people: list[Person]) -> str:
    out = io.StringIO()
    rows = csv.writer(out, delimiter=";", lineterminator="\n")
    rows.writerow([*CSV_HEADER, "idpronote"])
    for p in people:
        multi = (p.profils, p.uais, p.classes, p.eleves, p.idpronote)
        rows.writerow([p.login, p.nom, p.prenom, p.date_naissance, *("|".join(v) for v in multi)])
    return out.getvalue()


def files_of(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of a folder: its bytes and modification time."""
    return {
        path.name: (path.read_bytes(), path.stat().st_mtime_ns)
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


class Kind:
    """One kind of directory, on its storage."""

    name: str
    # What describe() and every message must never show.
    secrets: tuple[str, ...] = ()

    def open(self, profiles: ProfileMapping | None = None) -> Directory:
        raise NotImplementedError

    def stored(self, login: str) -> list[str]:
        """The identifier values the storage holds for `login`, sorted, read without
        the adapter."""
        raise NotImplementedError

    def snapshot(self) -> Any:
        """Everything the storage holds (and when it last changed)."""
        raise NotImplementedError

    def read_only(self, monkeypatch: pytest.MonkeyPatch) -> Directory:
        """The directory, opened by someone who may read it and not write it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class CsvKind(Kind):
    name = "csv"

    def __init__(self, folder: Path, people: list[Person]) -> None:
        self.folder = folder
        self.path = folder / "annuaire.csv"
        self.path.write_text(csv_text(people), encoding="utf-8")

    def open(self, profiles: ProfileMapping | None = None) -> Directory:
        return CsvDirectory(self.path, profiles=profiles)

    def stored(self, login: str) -> list[str]:
        with self.path.open(encoding="utf-8", newline="") as stream:
            [row] = [r for r in csv.DictReader(stream, delimiter=";") if r["login"] == login]
        return sorted(v for v in (row["idpronote"] or "").split("|") if v)

    def snapshot(self) -> Any:
        return files_of(self.folder)

    def read_only(self, monkeypatch: pytest.MonkeyPatch) -> Directory:
        deny_writes_to(monkeypatch, self.folder)
        deny_writes_to(monkeypatch, self.path)
        return self.open()


class LdifKind(Kind):
    name = "ldif"

    def __init__(self, folder: Path, people: list[Person], ldif: str) -> None:
        self.folder = folder
        self.people = people
        self.path = folder / "annuaire.ldif"
        self.path.write_text(ldif, encoding="utf-8")

    def open(self, profiles: ProfileMapping | None = None) -> Directory:
        mapping = AttributeMapping.build("ent")
        return LdifDirectory(self.path, mapping=mapping, profiles=profiles, base_dn=Slapd.people_dn)

    def stored(self, login: str) -> list[str]:
        """The export's values, then the changes file's records replayed by hand."""
        [person] = [p for p in self.people if p.login == login]
        values = list(person.idpronote)
        changes = self.folder / "annuaire.modifications.ldif"
        text = changes.read_text(encoding="utf-8") if changes.exists() else ""
        for block in text.split("\n\n"):
            lines = [line for line in block.splitlines() if line and not line.startswith("#")]
            if not lines or not lines[0].startswith("dn"):
                continue
            if ldif_value(lines[0]).lower() != dn_of(login).lower():
                continue
            op, named = "", []
            for line in [*lines[1:], "-"]:
                if line == "-":
                    if op == "add":
                        values += named
                    elif op == "delete":
                        values = [v for v in values if named and v not in named]
                    elif op == "replace":
                        values = named
                    op, named = "", []
                elif line.split(":")[0].lower() in ("add", "delete", "replace"):
                    verb, attribute = line.split(":", 1)
                    op = verb.lower() if attribute.strip().lower() == "idpronote" else "other"
                elif line.split(":")[0].lower() == "idpronote":
                    named.append(ldif_value(line))
        return sorted(values)

    def snapshot(self) -> Any:
        return files_of(self.folder)

    def read_only(self, monkeypatch: pytest.MonkeyPatch) -> Directory:
        deny_writes_to(monkeypatch, self.folder)  # where the changes file would go
        return self.open()


class LdapKind(Kind):
    name = "ldap"
    secrets = (Slapd.service_password, Slapd.reader_password, Slapd.admin_password)

    def __init__(self, server: Slapd) -> None:
        self.server = server
        self.opened: list[Directory] = []

    def open(self, profiles: ProfileMapping | None = None, **settings: Any) -> Directory:
        directory = open_ldap(self.server, **settings)
        if profiles is not None:
            directory.profiles = profiles
        self.opened.append(directory)
        return directory

    def stored(self, login: str) -> list[str]:
        found = [
            values
            for dn, values in self.server.search(f"(uid={login})", ["idPronote"])
            if dn.lower().endswith(Slapd.people_dn)
        ]
        assert len(found) == 1, found
        return sorted(found[0].get("idPronote", []))

    def snapshot(self) -> Any:
        # operational attributes too: entryCSN and modifyTimestamp change on any write
        entries = self.server.search("(objectClass=*)", ["*", "+"])
        return sorted((dn, {k: sorted(v) for k, v in attrs.items()}) for dn, attrs in entries)

    def read_only(self, monkeypatch: pytest.MonkeyPatch) -> Directory:
        return self.open(bind_dn=Slapd.reader_dn, password=Slapd.reader_password)

    def close(self) -> None:
        for directory in self.opened:
            directory.close()


def ldif_value(line: str) -> str:
    """The value of one unfolded LDIF line (`attr: text` or `attr:: base64`)."""
    _, _, rest = line.partition(":")
    if rest.startswith(":"):
        return base64.b64decode(rest[1:].strip()).decode("utf-8")
    return rest.strip()


def deny_writes_to(monkeypatch: pytest.MonkeyPatch, denied: Path) -> None:
    """os.access answering as for a user who may not write `denied` (root may write
    anything, so a chmod proves nothing when the tests run as root)."""
    real = os.access

    def access(path: object, mode: int, *args: object, **kwargs: object) -> bool:
        if Path(os.fspath(path)) == denied and mode & os.W_OK:  # type: ignore[arg-type]
            return False
        return real(path, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)


def make_kind(
    name: str,
    folder: Path,
    start: Callable[[str], Slapd],
    people: list[Person] = EVERYONE,
    ldif: str | None = None,
) -> CsvKind | LdifKind | LdapKind:
    """A storage of kind `name` holding `people` (`ldif`: their entries, as slapd and
    the LDIF directory load them; by default the whole fixture directory)."""
    ldif = fixture_ldif() if ldif is None else ldif
    folder.mkdir(parents=True, exist_ok=True)
    if name == "csv":
        return CsvKind(folder, people)
    if name == "ldif":
        return LdifKind(folder, people, ldif)
    return LdapKind(start(ldif))


@pytest.fixture(scope="session")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """The fixture directory on one slapd, for every contract test that only reads."""
    require_slapd()
    server = Slapd(tmp_path_factory.mktemp("slapd-contract"), fixture_ldif(), tls=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=KINDS)
def reading_kind(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Kind]:
    """One storage of each kind for the session, that no test writes to."""
    folder = tmp_path_factory.mktemp(f"contract-{request.param}")
    kind = make_kind(request.param, folder, lambda _: request.getfixturevalue("contract_server"))
    yield kind
    if isinstance(kind, LdapKind):
        kind.close()


@pytest.fixture(scope="session")
def reader(reading_kind: Kind) -> Directory:
    """The directory of `reading_kind`, opened once: only read."""
    return reading_kind.open()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kind]:
    """A fresh storage of each kind, for one test that writes (or checks it may)."""

    def start(ldif: str) -> Slapd:
        return request.getfixturevalue("slapd_factory")(ldif, tls=False)

    made = make_kind(request.param, tmp_path, start)
    yield made
    if isinstance(made, LdapKind):
        made.close()


@pytest.fixture
def writer(kind: Kind) -> Directory:
    return kind.open()


@pytest.fixture
def fresh_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Kind]]:
    """`fresh_storage(name, people)`: a new storage of that kind holding `people`, only."""
    made: list[Kind] = []

    def start(ldif: str) -> Slapd:
        return request.getfixturevalue("slapd_factory")(ldif, tls=False)

    def build(name: str, people: list[Person]) -> Kind:
        kind = make_kind(name, tmp_path / name, start, people, to_ldif(people))
        made.append(kind)
        return kind

    yield build
    for kind in made:
        if isinstance(kind, LdapKind):
            kind.close()
