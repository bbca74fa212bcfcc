"""The directory as a CSV file on disk (CONTRACT.md, "The local directory file").

The file belongs to the admin, not to us: a write changes the identifier cell
of the rows it must change and nothing else, byte for byte (other columns,
quoting, delimiter, BOM, line endings, rows we could not read). It replaces
the file atomically, keeps the file as it was before a session's first write
as `<name>.bak`, and never overwrites an edit made on disk since the file was
read: under a lock that other hosts see (directory_adapters/file_protocol.py)
it checks the file's size, time and hash against what it read, and re-reads
and decides again if they differ. What a killed write left (its temporary
file) is removed at the next start.

Reading builds every index once (by login, by establishment, a sorted word
list for prefix search), so search stays in the milliseconds on a 200,000-row
academy export.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import os
import re
import secrets
import shutil
import stat
import tempfile
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from core.disk import file_system, fsync_directory
from core.errors import DirectoryError
from core.i18n import register, t
from core.identifier_form import IdentifierForm
from core.model import (
    DEFAULT_PROFILES,
    DIRECTORY_FIELDS,
    Category,
    ChangeKind,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    ProfileMapping,
)
from core.names import InvalidDate, normalise_name, parse_date
from core.text import printable
from directory_adapters.base import (
    BEST_SAMPLE,
    NOT_CHECKED,
    READ_ONLY,
    WRITABLE,
    Census,
    Directory,
    SearchQuery,
    WriteCheck,
    not_found,
    plan_change,
    sample_rank_of,
    spread,
    summarise_problems,
)
from directory_adapters.csv_cells import (
    _QUOTE,
    _count_lines,
    _detect_delimiter,
    _line_end,
    _line_start,
    _lines_named,
    _RecordSpans,
    _set_cell,
)
from directory_adapters.csv_cells import _read_back as _read_back  # tests check cells with it
from directory_adapters.csv_search import (
    _BIRTH,
    _CLASSES,
    _FIRST,
    _IDS,
    _LOGIN,
    _PROFILES,
    _STUDENTS,
    _SURNAME,
    _UAIS,
    _category_bit,
    _category_bits,
    _Search,
)
from directory_adapters.file_protocol import WriteLock, remove_leftovers
from directory_adapters.file_store import (
    DirectoryProblem,
    decide_and_write,
    failed,
    holder_key,
    loaded_without_collecting,
    prefix_range,
    significant,
    unavailable,
)

register(
    {
        "dir.csv.describe": ("CSV {path} : {count} comptes", "CSV {path}: {count} accounts"),
        "dir.csv.describe_scoped": (
            "CSV {path} : {count} comptes de {uai} (lecture seule)",
            "CSV {path}: {count} accounts of {uai} (read-only)",
        ),
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
        "dir.csv.check.scoped": (
            "{path} a été ouvert en lecture seule pour {uai} ; "
            "ouvrez le fichier entier pour y écrire",
            "{path} was opened read-only for {uai}; open the whole file to write to it",
        ),
        "dir.csv.check.file_read_only": (
            "{path} n'est pas modifiable par cet utilisateur",
            "{path} is not writable by this user",
        ),
        "dir.csv.check.directory_read_only": (
            "son dossier {directory} n'est pas modifiable par cet utilisateur (une écriture "
            "remplace le fichier via un fichier temporaire à côté et garde {name}.bak)",
            "its directory {directory} is not writable by this user (a write replaces "
            "the file through a temporary file there and keeps {name}.bak)",
        ),
        "dir.csv.check.writable": (
            "{path} et son dossier sont modifiables",
            "{path} and its directory are writable",
        ),
        "dir.csv.check.writable_backup": (
            "{path} et son dossier sont modifiables (une écriture garde {name}.bak)",
            "{path} and its directory are writable (a write keeps {name}.bak)",
        ),
        "dir.csv.scoped_nothing_written": (
            "{path} a été ouvert en lecture seule pour {uai} ; rien n'est écrit",
            "{path} was opened read-only for {uai}; nothing written",
        ),
        "dir.csv.kept_changing": (
            "{path} a changé sans cesse pendant l'écriture ; réessayez",
            "{path} kept changing while writing; try again",
        ),
        "dir.csv.nothing_to_write": ("rien à écrire", "nothing to write"),
        "dir.csv.several_lines": (
            "l'identifiant de connexion {login!r} figure sur plusieurs lignes de {path} "
            "({where}) ; corrigez le fichier pour qu'il n'y figure qu'une fois",
            "login {login!r} is on several lines of {path} ({where}); "
            "fix the file so that it appears once",
        ),
        "dir.csv.write_failed": (
            "écriture impossible de {path} : {error} (système de fichiers {file_system}) ; "
            "rien n'a été modifié",
            "could not write {path}: {error} (file system {file_system}); nothing was changed",
        ),
    }
)

__all__ = ["DEFAULT_COLUMNS", "FIELDS", "CsvDirectory", "DirectoryProblem"]

FIELDS = DIRECTORY_FIELDS
DEFAULT_COLUMNS: dict[str, str] = {name: name for name in FIELDS}
REQUIRED = ("login", "nom", "prenom")
MULTI_VALUE_SEPARATOR = "|"

_LINE_END = re.compile(r"\r\n|\n|\r")
_NORMALISED = re.compile(r"[A-Z0-9?]+(?: [A-Z0-9?]+)*")


@dataclass(frozen=True, slots=True)
class _Fingerprint:
    """The identity of the file as read: a write goes ahead only if it is still this."""

    size: int
    mtime_ns: int
    digest: bytes
    inode: tuple[int, int] = (0, 0)  # (st_dev, st_ino)


@dataclass(frozen=True, slots=True)
class _Layout:
    """How the file is written: everything a rewrite must reproduce."""

    delimiter: str
    bom: bool
    line_terminator: str
    header: tuple[str, ...]
    # field name -> index of its column in the header, None when absent
    index: Mapping[str, int | None]


class _Index:
    """One loaded state of the file: replaced whole on reload, patched by apply.

    Accounts are numbered in (surname, first name, login) order, the order of
    search results, so sorting ids sorts results. They are kept as plain
    tuples and become `DirectoryAccount`s when first asked for.
    """

    __slots__ = (
        "by_login",  # lower-case login -> id
        "by_uai",  # UAI -> ids, ascending
        "cache",  # id -> DirectoryAccount, filled on demand
        "category_bits",  # id -> bit set of the Category positions
        "duplicates",  # lower-case login -> lines, for logins read more than once
        "holders",  # canonical identifier value -> ids storing it
        "layout",
        "logins",  # id -> lower-case login
        "problems",
        "record_of",  # id -> record number in the file (0 is the header)
        "rows",  # id -> account row
        "search_keys",  # id -> " SURNAME WORDS FIRST WORDS login"
        "starts",  # record r is text[starts[r]:starts[r + 1]] of the decoded file
        "surnames",  # id -> normalised surname (ascending, for bisect)
        "word_ids",  # the account of each entry of `words`
        "words",  # every search word, sorted
    )

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

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        return prefix_range(self.words, prefix)


class CsvDirectory(Directory):
    """Accounts read from a CSV file; identifiers written back into it."""

    def __init__(
        self,
        path: Path,
        *,
        columns: Mapping[str, str] | None = None,
        form: IdentifierForm = IdentifierForm(),  # noqa: B008 - a frozen value
        profiles: ProfileMapping | None = None,
        delimiter: str | None = None,
        backup: bool = True,
        only_uai: str | None = None,
    ) -> None:
        unknown = set(columns or ()) - set(FIELDS)
        if unknown:
            raise ValueError(
                f"unknown directory fields {sorted(unknown)}; expected some of {', '.join(FIELDS)}"
            )
        if delimiter is not None and len(delimiter) != 1:
            raise ValueError(f"a CSV delimiter is one character, not {delimiter!r}")
        self.path = Path(path)
        self.columns: dict[str, str] = {**DEFAULT_COLUMNS, **(columns or {})}
        self.form = form
        self.profiles = profiles if profiles is not None else ProfileMapping(dict(DEFAULT_PROFILES))
        self.backup = backup
        # A read-only view of one establishment's rows (see _only_rows_of).
        self.only_uai = only_uai.strip().upper() if only_uai else None
        self._line_map: array | None = None
        self._delimiter = delimiter
        self._lock = threading.RLock()
        # The backup is taken before the first write of a session (see
        # backup_before_next_write), not before every write.
        self._backup_due = backup
        self._write_lock = WriteLock(Path(os.path.realpath(self.path)))
        self._remove_leftovers()  # even for a read-only view: they hold personal data
        data, self._fingerprint = self._read()
        self._index = self._parse(data)

    @property
    def lock_timeout(self) -> float:
        """How long a write waits for another process (another host) writing the file."""
        return self._write_lock.timeout

    @lock_timeout.setter
    def lock_timeout(self, seconds: float) -> None:
        self._write_lock.timeout = seconds

    def backup_before_next_write(self, wanted: bool) -> None:
        with self._lock:
            self._backup_due = self.backup and wanted

    def _remove_leftovers(self) -> list[Path]:
        """Temporary files of a write that was killed before its rename (personal data)."""
        name = re.escape(Path(os.path.realpath(self.path)).name)
        patterns = [
            re.compile(rf"\.{name}\.[A-Za-z0-9_]{{8}}\.tmp"),
            re.compile(rf"\.{name}\.bak\.[0-9a-f]{{8}}"),
        ]
        return remove_leftovers(self._write_lock.target, patterns, self._write_lock)

    @property
    def problems(self) -> list[DirectoryProblem]:
        return self._index.problems

    @property
    def delimiter(self) -> str:
        return self._index.layout.delimiter

    def reload(self) -> None:
        """Read the file again (after an edit made outside idpronote)."""
        with self._lock:
            data, fingerprint = self._read()
            self._index = self._parse(data)
            self._fingerprint = fingerprint

    # -- reading the file ----------------------------------------------------------

    def _read(self) -> tuple[bytes, _Fingerprint]:
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read()
        except OSError as error:
            raise DirectoryError(
                t("dir.csv.unreadable", path=self.path, error=error.strerror or error)
            ) from None
        return data, _Fingerprint(
            len(data), info.st_mtime_ns, _digest(data), (info.st_dev, info.st_ino)
        )

    def _decode(self, data: bytes) -> tuple[str, bool]:
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

    def _parse(self, data: bytes) -> _Index:
        return loaded_without_collecting(lambda: self._parse_data(data), lambda i: len(i.rows))

    def _parse_data(self, data: bytes) -> _Index:
        text, bom = self._decode(data)
        self._line_map = None
        if self.only_uai:
            text = self._only_rows_of(text, self.only_uai)
        return self._parse_text(text, bom)

    def _parse_text(self, text: str, bom: bool) -> _Index:
        if not text.strip():
            raise DirectoryError(t("dir.csv.empty", path=self.path), hint=t("dir.csv.empty_hint"))
        first_line = _LINE_END.split(text, maxsplit=1)[0]
        delimiter = self._delimiter or _detect_delimiter(first_line)
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
            layout = _Layout(
                delimiter=delimiter,
                bom=bom,
                line_terminator=ending.group() if ending else "\n",
                header=tuple(header),
                index=self._resolve_columns(header, delimiter),
            )
            starts = array("q", [0, position])
            index = _Index()
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

    def _resolve_columns(self, header: list[str], delimiter: str) -> dict[str, int | None]:
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
        layout: _Layout,
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
            if self._line_map is not None:
                line = self._line_map[line - 1]
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

        duplicates = {key: seen for key, seen in lines_of.items() if len(seen) > 1}
        if not duplicates:
            return entries, duplicates
        for key, seen in duplicates.items():
            for line in seen:
                others = ", ".join(str(other) for other in seen if other != line)
                problems.append(
                    DirectoryProblem(
                        line,
                        "duplicate_login",
                        t("dir.csv.duplicate_login", line=line, login=key, others=others),
                    )
                )
        # Never guess which of two rows is right: neither is read. Their date
        # problems go too, the duplicate is what the admin must fix.
        duplicate_lines = {line for seen in duplicates.values() for line in seen}
        problems[:] = [
            p for p in problems if p.kind != "invalid_date" or p.line not in duplicate_lines
        ]
        return [entry for entry in entries if entry[1] not in duplicates], duplicates

    def _index_rows(self, index: _Index, entries: list[tuple]) -> None:
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
        index.rows = [entry[0] for entry in entries]
        index.cache = [None] * len(entries)
        index.record_of = array("i", (entry[2] for entry in entries))
        index.surnames = [key[0] for key in keys]
        index.logins = [key[2] for key in keys]
        index.by_login = {login: i for i, login in enumerate(index.logins)}
        del entries

        shared = {name: name for name in normalised.values()}
        normalised.clear()
        bits_of: dict[tuple[str, ...], int] = {}
        category_bits = bytearray(len(keys))
        by_uai: dict[str, list[int]] = {}
        # Lists while building: a tuple rebuilt per row was quadratic when many rows
        # share one value (80,000 rows: 15 s).
        holders: dict[str, list[int]] = {}
        words: list[str] = []
        word_ids: list[int] = []
        search_keys: list[str] = []
        for i, (row, (surname, first_name, login)) in enumerate(zip(index.rows, keys, strict=True)):
            profiles = row[_PROFILES]
            bits = bits_of.get(profiles)
            if bits is None:
                bits = bits_of[profiles] = _category_bits(self.profiles.categories_of(profiles))
            category_bits[i] = bits
            for uai in row[_UAIS]:
                by_uai.setdefault(uai, []).append(i)
            own = [*surname.split(), *first_name.split(), login]
            if len(own) > 3:
                # Words of compound names are new strings: share them. (A
                # one-word name splits into itself, already shared.)
                own = list(dict.fromkeys(shared.setdefault(w, w) for w in own))
            elif len(set(own)) < len(own):
                own = list(dict.fromkeys(own))
            words.extend(own)
            word_ids.extend([i] * len(own))
            search_keys.append(" " + " ".join(own))
            for value in row[_IDS]:
                key = self._holder_key(value)
                if key is not None:
                    found = holders.get(key)
                    if found is None:
                        holders[key] = [i]
                    elif found[-1] != i:
                        found.append(i)
        del keys, shared
        # Stable: the entries of one word keep ascending ids.
        order = sorted(range(len(words)), key=words.__getitem__)
        index.words = [words[k] for k in order]
        index.word_ids = array("i", [word_ids[k] for k in order])
        index.search_keys = search_keys
        index.category_bits = category_bits
        index.holders = {key: tuple(ids) for key, ids in holders.items()}
        index.by_uai = {uai: array("i", ids) for uai, ids in by_uai.items()}

    def _holder_key(self, value: str) -> str | None:
        return holder_key(self.form, value)

    # -- the Directory protocol: reading -------------------------------------------

    def _only_rows_of(self, text: str, uai: str) -> str:
        """The header and the records that mention `uai`, as the full read splits them.

        A regional file holds a million rows; matching needs one establishment's
        accounts and the holders of its identifiers, whose values carry the UAI
        in the `{uai}${idpn}` form. Picking those records by a substring search
        before parsing makes loading ~20x faster. The records are those the
        csv reader of the full read sees: a line inside a multi-line quoted
        cell is part of its record, never a row of its own (a phantom
        account). Lines without a quote are records as they are; the csv
        reader itself walks every line that holds one. Skipped (full load)
        when the value form has no UAI in it. `_line_map` keeps every
        message's line number the file's own.
        """
        if not self.form.per_establishment:
            return text
        first_line = _LINE_END.split(text, maxsplit=1)[0]
        records = _RecordSpans(text, self._delimiter or _detect_delimiter(first_line))
        header_end = records.header_end()
        quoted = None if header_end is None else records.quoted(header_end)
        if quoted is None:
            return text  # the full read says what is wrong with the file
        starts = [a for a, _b in quoted]
        spans: set[tuple[int, int]] = set()
        for needle in {uai, uai.lower(), uai[:-1] + uai[-1].lower()}:
            at = text.find(needle, header_end)
            while at != -1:
                k = bisect_right(starts, at) - 1
                if k >= 0 and at < quoted[k][1]:
                    span = quoted[k]  # inside a record that spans lines: all of it
                else:
                    span = (_line_start(text, at), _line_end(text, at))
                spans.add(span)
                at = text.find(needle, span[1])
        spans |= self._namesakes(text, header_end, records, quoted, spans)
        ordered = sorted(spans)
        line_map = array("q", range(1, _count_lines(text, 0, header_end) + 2))
        del line_map[-1]
        line, position = 1, 0
        for a, b in ordered:
            line += _count_lines(text, position, a)
            position = a
            line_map.extend(range(line, line + max(_count_lines(text, a, b), 1)))
        self._line_map = line_map
        chunks = [text[a:b] for a, b in ordered]
        last = "" if not chunks or chunks[-1].endswith(("\n", "\r")) else "\n"
        return text[:header_end] + "".join(chunks) + last

    def _namesakes(
        self,
        text: str,
        header_end: int,
        records: _RecordSpans,
        quoted: list[tuple[int, int]],
        chosen: set[tuple[int, int]],
    ) -> set[tuple[int, int]]:
        """The other records whose login is one of the chosen records' logins.

        The full read withholds every row of a login written twice (it never
        guesses which is right), wherever the other row is: another school's
        line, or a line no UAI is on. The view must see those rows too, or it
        would take for an account what the full read refuses. One pass over
        the file's login column (the quoted records through the csv reader,
        the other lines by a pattern: no quote on them, so no surprise).
        """
        try:
            header = next(csv.reader([text[:header_end]], delimiter=records.delimiter))
            column = self._resolve_columns(header, records.delimiter)["login"]
        except (StopIteration, csv.Error, DirectoryError):
            return set()  # the full read says what is wrong with the header
        if column is None:
            return set()
        wanted = {records.cell(a, b, column) for a, b in chosen} - {""}
        if not wanted:
            return set()
        found = {
            span for span in quoted if span not in chosen and records.cell(*span, column) in wanted
        }
        starts = [a for a, _b in quoted]
        for at in _lines_named(text, header_end, records.delimiter, column, wanted):
            k = bisect_right(starts, at) - 1
            if k >= 0 and at < quoted[k][1]:
                continue  # within a quoted record: seen above, as the csv reader reads it
            found.add((at, _line_end(text, at)))
        return found - chosen

    def describe(self) -> str:
        if self.only_uai:
            return t(
                "dir.csv.describe_scoped",
                path=self.path,
                count=len(self._index.rows),
                uai=self.only_uai,
            )
        return t("dir.csv.describe", path=self.path, count=len(self._index.rows))

    def get(self, login: str) -> DirectoryAccount | None:
        index = self._index
        i = index.by_login.get(login.strip().lower())
        return None if i is None else index.account(i)

    def accounts(self, uai: str, category: Category | None = None) -> list[DirectoryAccount]:
        index = self._index
        ids = index.by_uai.get(uai.strip().upper(), ())
        if category is None:
            return [index.account(i) for i in ids]
        bit = _category_bit(category)
        bits = index.category_bits
        return [index.account(i) for i in ids if bits[i] & bit]

    def holders(self, idpn: str, uai: str) -> list[DirectoryAccount]:
        """Accounts storing `idpn` for `uai` in this form, whatever their establishments."""
        index = self._index
        key = self.form.format(uai.strip().upper(), idpn)
        return [index.account(i) for i in sorted(index.holders.get(key, ()))]

    def _search(self, query: SearchQuery) -> list[DirectoryAccount]:
        index = self._index
        return [index.account(i) for i in self._found(query)]

    def _count(self, query: SearchQuery) -> int:
        """The same search, counted in memory without making the accounts."""
        return len(self._found(query))

    def _found(self, query: SearchQuery) -> list[int]:
        """The row ids `search` returns, in its order."""
        index = self._index
        if query.empty or not index.rows:
            return []
        text, uai, category, limit = query.text, query.uai, query.category, query.limit
        normalised = " ".join(normalise_name(text).split())
        words = significant(normalised.split())
        login_prefix: str | None = text.lower()
        if len(words) == 1 and words[0].lower() == login_prefix:
            login_prefix = None  # the word's own login lookup covers it
        universe = None
        if uai is not None:
            universe = index.by_uai.get(uai)
            if not universe:
                return []
        found = _Search(index, words, login_prefix, category, uai, universe, limit)
        if normalised:
            found.exact = (
                bisect_left(index.surnames, normalised),
                bisect_right(index.surnames, normalised),
            )
        return found.run()

    # -- what setup and `config check` ask ------------------------------------------

    def identifier_field(self) -> str:
        return self.columns["idpronote"]

    def every_account(self) -> Iterator[DirectoryAccount]:
        index = self._index
        return (index.account(i) for i in range(len(index.rows)))

    def census(self, limit: int) -> Census:
        """A pass over the rows in memory (no DirectoryAccount made but the sample's)."""
        index = self._index
        count = min(len(index.rows), max(limit, 0))
        rows = index.rows if count == len(index.rows) else index.rows[:count]
        census = Census(total=count, capped=len(index.rows) > count)
        census.profiles = spread(Counter(row[_PROFILES] for row in rows))
        census.establishments = spread(Counter(row[_UAIS] for row in rows))
        best, chosen = -1, None
        for i, row in enumerate(rows):
            rank = sample_rank_of(
                bool(index.category_bits[i]), bool(row[_UAIS]), row[_BIRTH] is not None
            )
            if rank > best:
                best, chosen = rank, i
                if best >= BEST_SAMPLE:
                    break
        census.sample = None if chosen is None else index.account(chosen)
        census.problems = summarise_problems(
            index.problems,
            things="row",
            login=self.columns["login"],
            surname=self.columns["nom"],
        )
        return census

    def write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """Could a write replace the file (a temporary file, a `.bak`, a rename beside it)?

        Asked of the file system (os.access): nothing is created or changed.
        """
        column = self.identifier_field()
        if self.only_uai:
            return WriteCheck(
                NOT_CHECKED,
                column,
                t("dir.csv.check.scoped", path=self.path, uai=self.only_uai),
                str(self.path),
            )
        path = Path(os.path.realpath(self.path))
        if not os.access(path, os.W_OK):
            return WriteCheck(
                READ_ONLY, column, t("dir.csv.check.file_read_only", path=path), str(self.path)
            )
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return WriteCheck(
                READ_ONLY,
                column,
                t("dir.csv.check.directory_read_only", directory=path.parent, name=path.name),
                str(self.path),
            )
        writable = "dir.csv.check.writable_backup" if self.backup else "dir.csv.check.writable"
        return WriteCheck(WRITABLE, column, t(writable, path=path, name=path.name), str(self.path))

    # -- the Directory protocol: writing -------------------------------------------

    def apply(self, changes: Sequence[IdentifierChange]) -> list[ChangeOutcome]:
        changes = list(changes)
        if not changes:
            return []
        if self.only_uai:
            reason = t("dir.csv.scoped_nothing_written", path=self.path, uai=self.only_uai)
            return [failed(change, reason) for change in changes]
        with self._lock:
            try:
                return decide_and_write(
                    self._write_lock,
                    stale=self._changed_on_disk_quick,
                    reload=self.reload,
                    plan=lambda: self._plan(changes),
                    outcomes=lambda plan: None if plan[1] else plan[0],
                    look=self._look,
                    write=lambda plan, data: self._write(data, *plan),
                )
            except DirectoryError as error:
                return [unavailable(change, str(error)) for change in changes]

    def _look(self) -> tuple[bytes, bool]:
        """The file's bytes under the lock, and whether they are not what was read."""
        data, fingerprint = self._read()
        if fingerprint == self._fingerprint:
            return data, False
        self._index = self._parse(data)
        self._fingerprint = fingerprint
        return data, True

    def _changed_on_disk_quick(self) -> bool:
        try:
            info = os.stat(self.path)
        except OSError:
            return False  # reading it just below reports the error
        return (info.st_size, info.st_mtime_ns) != (
            self._fingerprint.size,
            self._fingerprint.mtime_ns,
        )

    def _plan(
        self, changes: list[IdentifierChange]
    ) -> tuple[list[ChangeOutcome], dict[int, tuple[str, ...]], dict[str, tuple[int, ...]]]:
        """Decide every change against the file plus the earlier changes of the batch."""
        index = self._index
        new_values: dict[int, tuple[str, ...]] = {}
        new_holders: dict[str, tuple[int, ...]] = {}
        outcomes: list[ChangeOutcome] = []
        for change in changes:
            i = index.by_login.get(change.login.strip().lower())
            if i is None:
                outcomes.append(self._missing(index, change))
                continue
            values = new_values.get(i, index.rows[i][_IDS])
            others: list[str] = []
            if change.kind is not ChangeKind.REMOVE and change.idpn is not None:
                key = self.form.format(change.uai.strip().upper(), change.idpn)
                ids = new_holders.get(key, index.holders.get(key, ()))
                # An account never conflicts with itself, whatever the case of
                # the login the change was made with.
                others = [index.rows[j][_LOGIN] for j in ids if j != i]
            planned, outcome = plan_change(self.form, values, change, others)
            if planned is None or outcome is not None:
                outcomes.append(outcome or failed(change, t("dir.csv.nothing_to_write")))
                continue
            before = {k for k in map(self._holder_key, values) if k is not None}
            after = {k for k in map(self._holder_key, planned) if k is not None}
            for key in before - after:
                ids = new_holders.get(key, index.holders.get(key, ()))
                new_holders[key] = tuple(j for j in ids if j != i)
            for key in after - before:
                ids = new_holders.get(key, index.holders.get(key, ()))
                new_holders[key] = (*ids, i)
            new_values[i] = planned
            outcomes.append(ChangeOutcome(change, applied=True))
        return outcomes, new_values, new_holders

    def _missing(self, index: _Index, change: IdentifierChange) -> ChangeOutcome:
        lines = index.duplicates.get(change.login.strip().lower())
        if not lines:
            return not_found(change)
        where = ", ".join(map(str, lines))
        return ChangeOutcome(
            change,
            applied=False,
            failure="not_found",
            reason=t("dir.csv.several_lines", login=change.login, path=self.path, where=where),
        )

    def _write(
        self,
        data: bytes,
        outcomes: list[ChangeOutcome],
        new_values: dict[int, tuple[str, ...]],
        new_holders: dict[str, tuple[int, ...]],
    ) -> list[ChangeOutcome]:
        index = self._index
        layout = index.layout
        starts = index.starts
        text, _bom = self._decode(data)
        column = layout.index["idpronote"]
        edits: dict[int, str] = {}
        if column is None:
            # No identifier column yet: add it at the end of the header; the
            # rows that get a value are padded up to it, the others stay short.
            column = len(layout.header)
            edits[0] = _set_cell(
                text[starts[0] : starts[1]], column, self.columns["idpronote"], layout.delimiter
            )
        for i, values in new_values.items():
            record = index.record_of[i]
            edits[record] = _set_cell(
                text[starts[record] : starts[record + 1]],
                column,
                MULTI_VALUE_SEPARATOR.join(values),
                layout.delimiter,
            )
        pieces: list[str] = []
        done = 0
        for record in sorted(edits):
            pieces.append(text[done : starts[record]])
            pieces.append(edits[record])
            done = starts[record + 1]
        pieces.append(text[done:])
        output = (codecs.BOM_UTF8 if layout.bom else b"") + "".join(pieces).encode("utf-8")
        try:
            info = self._replace_file(output)
        except OSError as error:
            reason = t(
                "dir.csv.write_failed",
                path=self.path,
                error=error.strerror or error,
                file_system=file_system(self.path),
            )
            return [unavailable(outcome.change, reason) for outcome in outcomes]

        # On disk now: bring memory in line.
        self._fingerprint = _Fingerprint(
            len(output), info.st_mtime_ns, _digest(output), (info.st_dev, info.st_ino)
        )
        for i, values in new_values.items():
            index.rows[i] = (*index.rows[i][:_IDS], values)
            index.cache[i] = None
        for key, ids in new_holders.items():
            if ids:
                index.holders[key] = ids
            else:
                index.holders.pop(key, None)
        growth = {r: len(edit) - (starts[r + 1] - starts[r]) for r, edit in edits.items()}
        shift = 0
        for record in range(min(edits) + 1, len(starts)):
            shift += growth.get(record - 1, 0)
            starts[record] += shift
        if layout.index["idpronote"] is None:
            header = (*layout.header, self.columns["idpronote"])
            index.layout = replace(
                layout, header=header, index={**layout.index, "idpronote": column}
            )
        return outcomes

    def _replace_file(self, output: bytes) -> os.stat_result:
        """Write `output` in place of the file, atomically; the new file's stat."""
        # Through a symbolic link: replace the file it points to, not the link.
        path = Path(os.path.realpath(self.path))
        info = os.stat(path)
        if (info.st_dev, info.st_ino) != self._fingerprint.inode:
            raise OSError(errno.ESTALE, t("dir.csv.kept_changing", path=self.path))
        handle, temporary = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
        )
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(output)
                stream.flush()
                with suppress(PermissionError):
                    if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
                        os.fchown(stream.fileno(), info.st_uid, info.st_gid)
                os.fchmod(stream.fileno(), stat.S_IMODE(info.st_mode))
                os.fsync(stream.fileno())
            if self._backup_due:
                self._keep_backup(path)
                self._backup_due = False
            os.replace(temporary, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(temporary)
            raise
        fsync_directory(path.parent)
        return os.stat(path)

    def _keep_backup(self, path: Path) -> None:
        backup = path.with_name(path.name + ".bak")
        staging = path.with_name(f".{path.name}.bak.{secrets.token_hex(4)}")
        try:
            try:
                os.link(path, staging)  # the previous file itself, no copy
            except OSError:
                shutil.copy2(path, staging)
            os.replace(staging, backup)
        except BaseException:
            with suppress(OSError):
                os.unlink(staging)
            raise


def _split(raw: str) -> tuple[str, ...]:
    """The values of a multi-valued cell, stripped, empty ones dropped."""
    raw = raw.strip()
    if not raw:
        return ()
    if MULTI_VALUE_SEPARATOR not in raw:
        return (raw,)
    return tuple(v for v in (p.strip() for p in raw.split(MULTI_VALUE_SEPARATOR)) if v)


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=20).digest()
