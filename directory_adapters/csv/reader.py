"""Reading a CSV directory file: its bytes, their layout, every row as an account.

Reading builds every index once (by login, by establishment, a sorted word
list for prefix search: directory_adapters/file_index.py), so search stays in
the milliseconds on a 200,000-row academy export. A row that cannot be read
as given is a `DirectoryProblem` (file line, what to fix); the rest loads.
Two rows of one login are both withheld: which is right is never guessed.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
import re
from array import array
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import DirectoryError
from core.i18n import register, t
from core.identifier_form import IdentifierForm
from core.model import DIRECTORY_FIELDS, DirectoryAccount, ProfileMapping
from core.names import InvalidDate, normalise_name, parse_date
from core.text import printable
from directory_adapters.csv.cells import _LINE_END, _QUOTE, _detect_delimiter
from directory_adapters.csv.view import only_rows_of
from directory_adapters.file_index import AccountIndex, category_bits
from directory_adapters.file_store import (
    DirectoryProblem,
    duplicate_logins,
    holder_key,
    loaded_without_collecting,
)

register(
    {
        "dir.csv.unreadable": (
            "lecture impossible du fichier annuaire {path} : {error}",
            "cannot read the directory file {path}: {error}",
        ),
        "dir.csv.not_utf8": (
            "le fichier annuaire {path} n'est pas en UTF-8 (ligne {line})",
            "the directory file {path} is not UTF-8 (line {line})",
        ),
        "dir.csv.not_utf8_hint": (
            "enregistrez-le en UTF-8, par ex. « CSV UTF-8 » dans un tableur",
            "save it as UTF-8, e.g. 'CSV UTF-8' in a spreadsheet",
        ),
        "dir.csv.empty": (
            "le fichier annuaire {path} est vide",
            "the directory file {path} is empty",
        ),
        "dir.csv.empty_hint": (
            "une ligne d'en-tête est attendue, par ex. login;nom;prenom;uai;profil;idpronote",
            "expected a header line such as login;nom;prenom;uai;profil;idpronote",
        ),
        "dir.csv.not_csv": (
            "le fichier annuaire {path} n'est pas lisible en CSV (ligne {line}) : {error}",
            "the directory file {path} cannot be read as CSV (line {line}): {error}",
        ),
        "dir.csv.missing_column": (
            "le fichier annuaire {path} n'a pas de colonne {wanted} (en-tête trouvé : {header!r})",
            "the directory file {path} has no column {wanted} (header found: {header!r})",
        ),
        "dir.csv.missing_column_hint": (
            "si le fichier la nomme autrement, indiquez-la dans config.toml sous "
            "[directory.fields] : {example}",
            "if the file names it differently, map it in config.toml under "
            "[directory.fields]: {example}",
        ),
        "dir.csv.missing_column_example": ('{name} = "<sa colonne>"', '{name} = "<its column>"'),
        "dir.csv.missing_login": (
            "ligne {line} : {column!r} vide ; ligne ignorée",
            "line {line}: empty {column!r}; row ignored",
        ),
        "dir.csv.invalid_date": (
            "ligne {line} : date de naissance {raw!r} illisible pour {login!r} "
            "(jj/mm/aaaa ou aaaa-mm-jj) ; chargé sans date",
            "line {line}: unreadable birth date {raw!r} for {login!r} "
            "(dd/mm/yyyy or yyyy-mm-dd); loaded without a date",
        ),
        "dir.csv.duplicate_login": (
            "ligne {line} : identifiant de connexion {login!r} aussi ligne {others} ; "
            "toutes les lignes de cet identifiant sont ignorées jusqu'à correction du fichier",
            "line {line}: login {login!r} also on line {others}; "
            "every row with this login is ignored until the file is fixed",
        ),
    }
)

FIELDS = DIRECTORY_FIELDS
DEFAULT_COLUMNS: dict[str, str] = {name: name for name in FIELDS}
REQUIRED = ("login", "nom", "prenom")
MULTI_VALUE_SEPARATOR = "|"

_NORMALISED = re.compile(r"[A-Z0-9?]+(?: [A-Z0-9?]+)*")

# Positions in an account row (the compact form of a DirectoryAccount).
_LOGIN, _SURNAME, _FIRST, _BIRTH, _PROFILES, _UAIS, _CLASSES, _STUDENTS, _IDS = range(9)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """The identity of the file as read: a write goes ahead only if it is still this."""

    size: int
    mtime_ns: int
    digest: bytes
    inode: tuple[int, int] = (0, 0)  # (st_dev, st_ino)


@dataclass(frozen=True, slots=True)
class Layout:
    """How the file is written: everything a rewrite must reproduce."""

    delimiter: str
    bom: bool
    line_terminator: str
    header: tuple[str, ...]
    # field name -> index of its column in the header, None when absent
    index: Mapping[str, int | None]


class CsvIndex(AccountIndex):
    """The file's accounts, kept as plain tuples (`DirectoryAccount`s when first asked for),
    and where each record is in the text, for a write."""

    __slots__ = (
        "cache",  # id -> DirectoryAccount, filled on demand
        "layout",
        "record_of",  # id -> record number in the file (0 is the header)
        "rows",  # id -> account row
        "starts",  # record r is text[starts[r]:starts[r + 1]] of the decoded file
    )

    def __len__(self) -> int:
        return len(self.rows)

    def account(self, i: int) -> DirectoryAccount:
        found = self.cache[i]
        if found is None:
            row = self.rows[i]
            found = self.cache[i] = DirectoryAccount(
                login=row[_LOGIN],
                surname=row[_SURNAME],
                first_name=row[_FIRST],
                birth_date=row[_BIRTH],
                profiles=row[_PROFILES],
                establishments=row[_UAIS],
                classes=row[_CLASSES],
                students=row[_STUDENTS],
                identifiers=row[_IDS],
            )
        return found

    def establishments(self, i: int) -> tuple[str, ...]:
        return self.rows[i][_UAIS]

    def profiles(self, i: int) -> tuple[str, ...]:
        return self.rows[i][_PROFILES]

    def born(self, i: int) -> bool:
        return self.rows[i][_BIRTH] is not None

    def identifiers(self, i: int) -> tuple[str, ...]:
        return self.rows[i][_IDS]

    def login(self, i: int) -> str:
        return self.rows[i][_LOGIN]


@dataclass
class CsvReader:
    """How to read one CSV directory file (made afresh for each read)."""

    path: Path
    columns: Mapping[str, str]
    form: IdentifierForm
    profiles: ProfileMapping
    delimiter: str | None = None
    only_uai: str | None = None
    # With `only_uai`: the file's own line of each line of the view read.
    line_map: array | None = None

    def read(self) -> tuple[bytes, Fingerprint]:
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read()
        except OSError as error:
            raise DirectoryError(
                t("dir.csv.unreadable", path=self.path, error=error.strerror or error)
            ) from None
        return data, Fingerprint(
            len(data), info.st_mtime_ns, digest(data), (info.st_dev, info.st_ino)
        )

    def decode(self, data: bytes) -> tuple[str, bool]:
        bom = data.startswith(codecs.BOM_UTF8)
        body = data[len(codecs.BOM_UTF8) :] if bom else data
        try:
            return body.decode("utf-8"), bom
        except UnicodeDecodeError as error:
            line = body.count(b"\n", 0, error.start) + 1
            raise DirectoryError(
                t("dir.csv.not_utf8", path=self.path, line=line),
                hint=t("dir.csv.not_utf8_hint"),
            ) from None

    def parse(self, data: bytes) -> CsvIndex:
        """The index of the file's bytes (of one establishment's records if `only_uai`)."""
        return loaded_without_collecting(lambda: self._parse_data(data), len)

    def _parse_data(self, data: bytes) -> CsvIndex:
        text, bom = self.decode(data)
        self.line_map = None
        if self.only_uai:
            text, self.line_map = only_rows_of(self, text, self.only_uai)
        return self._parse_text(text, bom)

    def _parse_text(self, text: str, bom: bool) -> CsvIndex:
        if not text.strip():
            raise DirectoryError(t("dir.csv.empty", path=self.path), hint=t("dir.csv.empty_hint"))
        first_line = _LINE_END.split(text, maxsplit=1)[0]
        delimiter = self.delimiter or _detect_delimiter(first_line)
        ending = _LINE_END.search(text)
        position = 0

        def lines() -> Iterator[str]:
            nonlocal position
            for line in io.StringIO(text, newline=""):
                # The reader asks for a line only when the record needs it, so
                # after each record `position` is where the next one starts.
                position += len(line)
                yield line

        reader = csv.reader(lines(), delimiter=delimiter, quotechar=_QUOTE, doublequote=True)
        try:
            header = next(reader)
            layout = Layout(
                delimiter=delimiter,
                bom=bom,
                line_terminator=ending.group() if ending else "\n",
                header=tuple(header),
                index=self.resolve_columns(header, delimiter),
            )
            starts = array("q", [0, position])
            index = CsvIndex()
            index.layout, index.starts, index.problems = layout, starts, []
            entries, index.duplicates = self._read_rows(
                reader, layout, starts, index.problems, lambda: position
            )
        except csv.Error as error:
            raise DirectoryError(
                t("dir.csv.not_csv", path=self.path, line=reader.line_num, error=error)
            ) from None
        self._index_rows(index, entries)
        index.problems.sort(key=lambda problem: problem.line)
        return index

    def resolve_columns(self, header: list[str], delimiter: str) -> dict[str, int | None]:
        names = [cell.strip() for cell in header]
        folded = [name.casefold() for name in names]
        index: dict[str, int | None] = {}
        for field_name in FIELDS:
            wanted = self.columns[field_name]
            if wanted in names:
                index[field_name] = names.index(wanted)
            elif wanted.casefold() in folded:
                index[field_name] = folded.index(wanted.casefold())
            else:
                index[field_name] = None
        missing = [name for name in REQUIRED if index[name] is None]
        if missing:
            wanted = ", ".join(repr(self.columns[name]) for name in missing)
            example = ", ".join(t("dir.csv.missing_column_example", name=name) for name in missing)
            raise DirectoryError(
                t(
                    "dir.csv.missing_column",
                    path=self.path,
                    wanted=wanted,
                    header=printable(delimiter.join(names)),
                ),
                hint=t("dir.csv.missing_column_hint", example=example),
            )
        return index

    def _read_rows(
        self,
        reader: Any,  # a csv reader, for its line_num
        layout: Layout,
        starts: array,
        problems: list[DirectoryProblem],
        position: Callable[[], int],
    ) -> tuple[list[tuple], dict[str, list[int]]]:
        """One entry per readable account, (row, lower login, record, line); duplicates."""
        width = len(layout.header)
        # Every row is padded to the header plus one always-empty cell, which
        # the absent optional columns read.
        blank = [""] * (width + 1)
        column = {k: width if v is None else v for k, v in layout.index.items()}
        i_login, i_surname, i_first, i_birth = (
            column[k] for k in ("login", "nom", "prenom", "date_naissance")
        )
        i_profiles, i_uais, i_classes, i_students, i_ids = (
            column[k] for k in ("profil", "uai", "classes", "eleves", "idpronote")
        )
        # Profiles, establishments and classes repeat endlessly: one tuple each.
        profiles_of: dict[str, tuple[str, ...]] = {}
        uais_of: dict[str, tuple[str, ...]] = {}
        classes_of: dict[str, tuple[str, ...]] = {}
        names: dict[str, str] = {}
        dates: dict[str, date | None] = {}
        entries = []
        lines_of: dict[str, list[int]] = {}
        previous_line = reader.line_num
        for cells in reader:
            starts.append(position())
            line = previous_line + 1
            if self.line_map is not None:
                line = self.line_map[line - 1]
            previous_line = reader.line_num
            count = len(cells)
            if count == width:
                cells.append("")
            else:
                cells = cells[:width] + blank[: width + 1 - min(count, width)]
            login = cells[i_login].strip()
            if not login:
                if any(cell.strip() for cell in cells):  # a blank line is no account
                    problems.append(
                        DirectoryProblem(
                            line,
                            "missing_login",
                            t(
                                "dir.csv.missing_login",
                                line=line,
                                column=self.columns["login"],
                            ),
                        )
                    )
                continue
            raw = cells[i_profiles]
            profiles = profiles_of.get(raw)
            if profiles is None:
                profiles = profiles_of[raw] = _split(raw)
            raw = cells[i_uais]
            uais = uais_of.get(raw)
            if uais is None:
                uais = uais_of[raw] = _split(raw.upper())
            raw = cells[i_classes]
            classes = classes_of.get(raw)
            if classes is None:
                classes = classes_of[raw] = _split(raw)
            surname = cells[i_surname].strip()
            surname = names.setdefault(surname, surname)
            first_name = cells[i_first].strip()
            first_name = names.setdefault(first_name, first_name)
            raw = cells[i_birth].strip()
            birth = dates.get(raw)
            if birth is None and raw:
                if raw not in dates:
                    with suppress(InvalidDate):
                        birth = parse_date(raw)
                    dates[raw] = birth
                if birth is None:
                    problems.append(
                        DirectoryProblem(
                            line,
                            "invalid_date",
                            t("dir.csv.invalid_date", line=line, raw=raw, login=login),
                        )
                    )
            row = (
                login,
                surname,
                first_name,
                birth,
                profiles,
                uais,
                classes,
                _split(cells[i_students]),
                _split(cells[i_ids]),
            )
            lower = login.lower()
            lines_of.setdefault(lower, []).append(line)
            entries.append((row, lower if lower != login else login, len(starts) - 2, line))

        duplicates, twice = duplicate_logins(
            lines_of,
            lambda line, login, others: DirectoryProblem(
                line,
                "duplicate_login",
                t("dir.csv.duplicate_login", line=line, login=login, others=others),
            ),
        )
        if not duplicates:
            return entries, duplicates
        problems.extend(twice)
        # Neither of two rows is read: their date problems go too, the duplicate is
        # what the admin must fix.
        duplicate_lines = {line for seen in duplicates.values() for line in seen}
        problems[:] = [
            p for p in problems if p.kind != "invalid_date" or p.line not in duplicate_lines
        ]
        return [entry for entry in entries if entry[1] not in duplicates], duplicates

    def _index_rows(self, index: CsvIndex, entries: list[tuple]) -> None:
        """Number the accounts in result order and build every lookup."""
        normalised: dict[str, str] = {}

        def norm(text: str) -> str:
            found = normalised.get(text)
            if found is None:
                # normalise_name is idempotent: a name already in its output
                # form (an upper-case ASCII surname, mostly) is its own result.
                found = text if _NORMALISED.fullmatch(text) else normalise_name(text)
                found = normalised[text] = normalised.setdefault(found, found)
            return found

        keys = [(norm(row[_SURNAME]), norm(row[_FIRST]), lower) for row, lower, _r, _l in entries]
        order = sorted(range(len(entries)), key=keys.__getitem__)
        entries = [entries[k] for k in order]
        keys = [keys[k] for k in order]
        del order
        index.rows = rows = [entry[0] for entry in entries]
        index.cache = [None] * len(entries)
        index.record_of = array("i", (entry[2] for entry in entries))
        del entries
        shared = {name: name for name in normalised.values()}
        normalised.clear()
        bits_of: dict[tuple[str, ...], int] = {}
        bits = bytearray(len(rows))
        # Lists while building: a tuple rebuilt per row was quadratic when many rows
        # share one value (80,000 rows: 15 s).
        holders: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            profiles = row[_PROFILES]
            found = bits_of.get(profiles)
            if found is None:
                found = bits_of[profiles] = category_bits(self.profiles.categories_of(profiles))
            bits[i] = found
            for value in row[_IDS]:
                key = holder_key(self.form, value)
                if key is not None:
                    ids = holders.get(key)
                    if ids is None:
                        holders[key] = [i]
                    elif ids[-1] != i:
                        ids.append(i)
        index.index_names(keys, (row[_UAIS] for row in rows), bits, shared)
        index.holders = {key: tuple(ids) for key, ids in holders.items()}


def _split(raw: str) -> tuple[str, ...]:
    """The values of a multi-valued cell, stripped, empty ones dropped."""
    raw = raw.strip()
    if not raw:
        return ()
    if MULTI_VALUE_SEPARATOR not in raw:
        return (raw,)
    return tuple(v for v in (p.strip() for p in raw.split(MULTI_VALUE_SEPARATOR)) if v)


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=20).digest()
