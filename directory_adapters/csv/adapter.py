"""The directory as a CSV file on disk (CONTRACT.md, "The local directory file").

`CsvDirectory` reads the file whole (directory_adapters/csv/reader.py, or one
establishment's view of it: view.py), answers every read from memory
(`FileDirectory`, directory_adapters/file_store.py), and writes identifiers
back into it (writer.py). It never overwrites an edit made on disk since the
file was read: under a lock that other hosts see
(directory_adapters/file_protocol.py) it checks the file's size, time and
hash against what it read, and re-reads and decides again if they differ.
What a killed write left (its temporary file) is removed at the next start.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.disk import file_system
from core.errors import DirectoryError
from core.i18n import register, t
from core.identifier_form import IdentifierForm
from core.model import (
    DEFAULT_PROFILES,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    ProfileMapping,
)
from directory_adapters.base import NOT_CHECKED, READ_ONLY, WRITABLE, Census, WriteCheck
from directory_adapters.csv import writer
from directory_adapters.csv.reader import (
    DEFAULT_COLUMNS,
    FIELDS,
    CsvIndex,
    CsvReader,
    Fingerprint,
    digest,
)
from directory_adapters.file_protocol import WriteLock, remove_leftovers
from directory_adapters.file_store import (
    FileDirectory,
    decide_and_write,
    failed,
    unavailable,
)

register(
    {
        "dir.csv.describe": ("CSV {path} : {count} comptes", "CSV {path}: {count} accounts"),
        "dir.csv.describe_scoped": (
            "CSV {path} : {count} comptes de {uai} (lecture seule)",
            "CSV {path}: {count} accounts of {uai} (read-only)",
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
    }
)

__all__ = ["DEFAULT_COLUMNS", "FIELDS", "CsvDirectory"]


class CsvDirectory(FileDirectory):
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
        # A read-only view of one establishment's rows (directory_adapters/csv/view.py).
        self.only_uai = only_uai.strip().upper() if only_uai else None
        self._delimiter = delimiter
        self._lock = threading.RLock()
        # The backup is taken before the first write of a session (see
        # backup_before_next_write), not before every write.
        self._backup_due = backup
        self._write_lock = WriteLock(Path(os.path.realpath(self.path)))
        self._remove_leftovers()  # even for a read-only view: they hold personal data
        data, self._fingerprint = self._reader().read()
        self._index: CsvIndex = self._parse(data)

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
    def delimiter(self) -> str:
        return self._index.layout.delimiter

    def reload(self) -> None:
        """Read the file again (after an edit made outside idpronote)."""
        with self._lock:
            data, fingerprint = self._reader().read()
            self._index = self._parse(data)
            self._fingerprint = fingerprint

    def _reader(self) -> CsvReader:
        return CsvReader(
            self.path, self.columns, self.form, self.profiles, self._delimiter, self.only_uai
        )

    def _parse(self, data: bytes) -> CsvIndex:
        return self._reader().parse(data)

    # -- the Directory protocol: reading -------------------------------------------

    def describe(self) -> str:
        if self.only_uai:
            return t(
                "dir.csv.describe_scoped",
                path=self.path,
                count=len(self._index),
                uai=self.only_uai,
            )
        return t("dir.csv.describe", path=self.path, count=len(self._index))

    # -- what setup and `config check` ask ------------------------------------------

    def identifier_field(self) -> str:
        return self.columns["idpronote"]

    def census(self, limit: int) -> Census:
        return self._index.census(
            limit, things="row", login=self.columns["login"], surname=self.columns["nom"]
        )

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
                    plan=lambda: writer.plan(self._index, self.form, self.path, changes),
                    outcomes=lambda plan: None if plan.values else plan.outcomes,
                    look=self._look,
                    write=self._write,
                )
            except DirectoryError as error:
                return [unavailable(change, str(error)) for change in changes]

    def _look(self) -> tuple[bytes, bool]:
        """The file's bytes under the lock, and whether they are not what was read."""
        data, fingerprint = self._reader().read()
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

    def _write(self, plan: writer.CsvPlan, data: bytes) -> list[ChangeOutcome]:
        """Write a plan decided under the lock on `data`, the file's bytes read there."""
        index = self._index
        text, _bom = self._reader().decode(data)
        column_name = self.columns["idpronote"]
        output, edits = writer.rewritten(index, text, plan.values, column_name)
        try:
            info = writer.replace_file(
                self.path, output, self._fingerprint.inode, keep_backup=self._backup_due
            )
        except OSError as error:
            reason = t(
                "dir.csv.write_failed",
                path=self.path,
                error=error.strerror or error,
                file_system=file_system(self.path),
            )
            return [unavailable(outcome.change, reason) for outcome in plan.outcomes]
        # On disk now: bring memory in line.
        self._backup_due = False
        self._fingerprint = Fingerprint(
            len(output), info.st_mtime_ns, digest(output), (info.st_dev, info.st_ino)
        )
        writer.commit(index, plan, edits, column_name)
        return plan.outcomes
