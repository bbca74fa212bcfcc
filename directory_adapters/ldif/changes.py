"""The changes file: the LDIF of modify operations idpronote appends, for `ldapmodify -f`.

Every write is appended, durably (fsync), to it; the export itself is never
written. On open it is replayed on top of the export, but only when its
digest line names this very export (on another one its DNs may be other
people's): a session interrupted and resumed offline sees its own earlier
writes, and replays them as "already in effect" instead of writing them
twice. A record cut by a killed write is left out, never reported written.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.disk import file_system, fsync_directory
from core.errors import DirectoryError
from core.i18n import register, t
from core.identifier_form import IdentifierForm
from core.model import ChangeKind, ChangeOutcome, IdentifierChange
from core.text import printable
from directory_adapters.base import not_found, plan_change
from directory_adapters.file_store import DirectoryProblem, unavailable
from directory_adapters.ldif.loader import LdifIndex, _Entry, _stamp, _stat_or_none
from directory_adapters.ldif.names import _dn_key
from directory_adapters.ldif.syntax import (
    _BadValue,
    _decode,
    _LdifReader,
    _Line,
    _modify,
    _modify_record,
    _operations,
    _problem,
)
from directory_adapters.mapping import AttributeMapping

register(
    {
        "dir.ldif.incomplete_change": (
            "{path} se termine par un enregistrement coupé par une écriture interrompue "
            "(à partir de la ligne {line}) ; il n'a jamais été signalé comme écrit et est ignoré",
            "{path} ends with a record cut by an interrupted write "
            "(from line {line}); it was never reported as written and is left out",
        ),
        "dir.ldif.other_export": (
            "{changes} contient des modifications faites sur une autre version de {path}",
            "{changes} holds changes made on another version of {path}",
        ),
        "dir.ldif.unbound_changes": (
            "{changes} n'a pas été écrit par idpronote pour {path} (pas de ligne "
            "« # export-blake2b ») : ses modifications ne sont pas rejouées",
            "{changes} was not written by idpronote for {path} (no '# export-blake2b' "
            "line): its changes are not replayed",
        ),
        "dir.ldif.other_export_hint": (
            "appliquez-le avec ldapmodify si ce n'est pas déjà fait, puis déplacez-le : "
            "idpronote en commencera un nouveau",
            "apply it with ldapmodify if not done yet, then move it away: "
            "idpronote starts a new one",
        ),
        "dir.ldif.where": ("{path}, ligne {line}", "{path}, line {line}"),
        "dir.ldif.record_no_dn": (
            "un enregistrement ne commence pas par dn:",
            "a record does not start with dn:",
        ),
        "dir.ldif.modify_only": (
            "seuls des enregistrements changetype: modify sont attendus ici",
            "only changetype: modify records are expected here",
        ),
        "dir.ldif.bad_changes_hint": (
            "ce fichier est écrit par idpronote ; restaurez-le, ou appliquez-le avec "
            "ldapmodify et déplacez-le",
            "this file is written by idpronote; restore it, or apply it with "
            "ldapmodify and move it away",
        ),
        "dir.ldif.not_a_person": (
            "{where} : {dn!r} n'est pas une entrée de personne de {path}",
            "{where}: {dn!r} is not a person entry of {path}",
        ),
        "dir.ldif.not_a_person_hint": (
            "appliquez le fichier des modifications avec ldapmodify et déplacez-le",
            "apply the changes file with ldapmodify and move it away",
        ),
        "dir.ldif.kept_changing": (
            "{path} a changé sans cesse pendant l'écriture ; réessayez",
            "{path} kept changing while writing; try again",
        ),
        "dir.ldif.several_entries": (
            "l'identifiant de connexion {login!r} figure sur plusieurs entrées de {path} "
            "(lignes {lines}) ; corrigez l'export pour qu'il n'y figure qu'une fois",
            "login {login!r} is on several entries of {path} "
            "(lines {lines}); fix the export so that it appears once",
        ),
        "dir.ldif.write_failed": (
            "écriture impossible de {path} : {error} (système de fichiers {file_system}) ; "
            "rien n'a été modifié",
            "could not write {path}: {error} (file system {file_system}); nothing was changed",
        ),
    }
)

_DIGEST_LINE = re.compile(rb"^# export-blake2b: ([0-9a-f]+)\r?$", re.MULTILINE)
# Every batch we append ends with a blank line: what follows the last one was cut.
_RECORD_END = re.compile(rb"\n\r?\n")


@dataclass(slots=True)
class _Plan:
    """A batch decided against memory: outcomes, the LDIF to append, the state after it."""

    outcomes: list[ChangeOutcome] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    values: dict[int, tuple[str, ...]] = field(default_factory=dict)
    holders: dict[str, set[int]] = field(default_factory=dict)
    classes: set[int] = field(default_factory=set)  # entries given the auxiliary class
    dropped: set[int] = field(default_factory=set)  # entries it is taken from (undo)


class _ChangesFile:
    """The changes file, for `LdifDirectory`: replayed while loading (`_replay`),
    appended to by a write (`_plan`, `_write_decided`). Besides what loading sets
    (directory_adapters/ldif/loader.py) it uses `form`, `mapping`, `before_send`
    and `_load`."""

    path: Path
    changes_path: Path
    mapping: AttributeMapping
    form: IdentifierForm
    max_size: int
    _kept: set[str]
    _index: LdifIndex
    _lock: threading.RLock
    _seen: tuple[tuple[int, int, int] | None, tuple[int, int, int] | None]
    _digest: str
    _complete: int
    _changes_digest: bytes

    def _replay(
        self, persons: list[_Entry], digest: str, problems: list[DirectoryProblem]
    ) -> tuple[os.stat_result | None, int]:
        """Apply the changes file to the entries; (its stat, the size of its complete part)."""
        if not self.changes_path.exists():
            return None, 0
        info = self._stat(self.changes_path, "dir.ldif.changes")
        with self._open(self.changes_path, "dir.ldif.changes") as handle:
            data = handle.read(self.max_size + 1)
        complete = _complete_size(data)
        if complete < len(data):
            line = data.count(b"\n", 0, complete) + 1
            problems.append(
                _problem(
                    line,
                    "incomplete_change",
                    t("dir.ldif.incomplete_change", path=self.changes_path, line=line),
                )
            )
        data = data[:complete]
        reader = _LdifReader(self.changes_path, io.BytesIO(data), self.max_size)
        records = list(reader.records())
        if not records:
            return info, 0  # a header alone: the next write starts the file again
        self._changes_digest = hashlib.blake2b(data, digest_size=20).digest()
        by_dn = {entry.key: entry for entry in persons}
        parsed = [self._replay_record(lines, by_dn) for lines in records]
        # A record names its entry by DN only. Its change is the same person's only on
        # the very export it was made against, which the digest line binds it to: on
        # another export the DN may be someone else's now. A changes file without the
        # line was not written by idpronote, and is refused rather than trusted.
        recorded = _DIGEST_LINE.search(data)
        if recorded is None:
            raise DirectoryError(
                t("dir.ldif.unbound_changes", changes=self.changes_path, path=self.path),
                hint=t("dir.ldif.other_export_hint"),
            )
        if recorded.group(1).decode() != digest:
            raise DirectoryError(
                t("dir.ldif.other_export", changes=self.changes_path, path=self.path),
                hint=t("dir.ldif.other_export_hint"),
            )
        for entry, operations in parsed:
            for operation, attribute, values in operations:
                if attribute in self._kept:
                    _modify(entry.attributes, operation, attribute, values)
        return info, complete

    def _replay_record(
        self, lines: list[_Line], by_dn: dict[str, _Entry]
    ) -> tuple[_Entry, list[tuple[str, str, list[str]]]]:
        """The entry a change record names, and its operations (checked, not applied)."""
        where = t("dir.ldif.where", path=self.changes_path, line=lines[0].number)
        try:
            if lines[0].base != "dn":
                raise _BadValue(t("dir.ldif.record_no_dn"))
            dn = _decode(lines[0])
            if len(lines) < 2 or lines[1].base != "changetype" or lines[1].raw.strip() != "modify":
                raise _BadValue(t("dir.ldif.modify_only"))
            operations = list(_operations(lines[2:]))
        except _BadValue as error:
            raise DirectoryError(
                t("dir.ldif.at_line", path=self.changes_path, line=lines[0].number, message=error),
                hint=t("dir.ldif.bad_changes_hint"),
            ) from None
        entry = by_dn.get(_dn_key(dn))
        if entry is None:
            raise DirectoryError(
                t("dir.ldif.not_a_person", where=where, dn=printable(dn), path=self.path),
                hint=t("dir.ldif.not_a_person_hint"),
            )
        return entry, operations

    # -- the Directory protocol: reading -------------------------------------------

    # -- writing ------------------------------------------------------------------------

    def _look(self) -> tuple[None, bool]:
        """Under the lock: has the export or the changes file moved on (read it again)?"""
        if not self._changed_on_disk():
            return None, False
        self._load()
        return None, True

    def _write_decided(self, plan: _Plan, changes: list[IdentifierChange]) -> list[ChangeOutcome]:
        """Write a plan decided under the lock.

        The lock's check looks at sizes and times; the bytes of the changes file
        are checked as it is opened. Other bytes under the same size and time
        (a writer that does not take the lock, a clock that did not move): read
        them and decide once more, still under the lock.
        """
        outcomes = self._write(plan)
        if outcomes is None:
            self._load()
            plan = self._plan(changes)
            if not plan.records:
                return plan.outcomes
            outcomes = self._write(plan)
        if outcomes is None:
            reason = t("dir.ldif.kept_changing", path=self.changes_path)
            return [unavailable(change, reason) for change in changes]
        return outcomes

    def _changed_on_disk(self) -> bool:
        return self._seen != (
            _stamp(_stat_or_none(self.path)),
            _stamp(_stat_or_none(self.changes_path)),
        )

    def _plan(self, changes: list[IdentifierChange]) -> _Plan:
        """Decide every change against memory plus the earlier changes of the batch."""
        plan = _Plan()
        for change in changes:
            i = self._index.by_login.get(change.login.strip().lower())
            if i is None:
                plan.outcomes.append(self._missing(change))
                continue
            values = plan.values.get(i, self._index.accounts[i].identifiers)
            others: list[str] = []
            if change.kind is not ChangeKind.REMOVE and change.idpn is not None:
                key = self.form.format(change.uai.strip().upper(), change.idpn)
                holders = plan.holders.get(key, self._index.holders.get(key, set()))
                others = [self._index.accounts[j].login for j in sorted(holders) if j != i]
            planned, outcome = plan_change(self.form, values, change, others)
            if planned is None:  # already in effect, or refused
                plan.outcomes.append(outcome or ChangeOutcome(change, applied=True))
                continue
            self._plan_record(plan, i, values, planned, change.drop_object_class)
            plan.outcomes.append(ChangeOutcome(change, applied=True))
        return plan

    def _plan_record(
        self,
        plan: _Plan,
        i: int,
        values: tuple[str, ...],
        planned: tuple[str, ...],
        drop_class: bool = False,
    ) -> None:
        """The modify record taking account `i` from `values` to `planned`."""
        deleted = list(dict.fromkeys(v for v in values if v not in planned))
        added = list(dict.fromkeys(v for v in planned if v not in values))
        if not deleted and not added:  # the same values in another order: nothing to say
            plan.values[i] = planned
            return
        object_class = self.mapping.object_class
        classes = self._index.object_classes[i]
        has_class = (i in plan.classes or object_class.casefold() in classes) and (
            i not in plan.dropped
        )
        needs_class = bool(added and object_class and not has_class)
        if needs_class:
            plan.classes.add(i)
            plan.dropped.discard(i)
        # Undo of a write that added the class: it goes with the entry's last value.
        drops_class = bool(drop_class and object_class and has_class and not planned)
        if drops_class:
            plan.dropped.add(i)
            plan.classes.discard(i)
        plan.records.append(
            _modify_record(
                self._index.dns[i],
                self.mapping.identifier_attribute,
                deleted,
                added,
                object_class if needs_class else None,
                object_class if drops_class else None,
            )
        )
        before = set(filter(None, map(self._holder_key, values)))
        after = set(filter(None, map(self._holder_key, planned)))
        for key in before - after:
            self._planned_holders(plan, key).discard(i)
        for key in after - before:
            self._planned_holders(plan, key).add(i)
        plan.values[i] = planned

    def _planned_holders(self, plan: _Plan, key: str) -> set[int]:
        if key not in plan.holders:
            plan.holders[key] = set(self._index.holders.get(key, ()))
        return plan.holders[key]

    def _missing(self, change: IdentifierChange) -> ChangeOutcome:
        lines = self._index.duplicates.get(change.login.strip().lower())
        if not lines:
            return not_found(change)
        return ChangeOutcome(
            change,
            applied=False,
            failure="not_found",
            reason=t(
                "dir.ldif.several_entries",
                login=change.login,
                path=self.path,
                lines=", ".join(map(str, lines)),
            ),
        )

    def _write(self, plan: _Plan) -> list[ChangeOutcome] | None:
        """Append the plan durably (under the lock), then bring memory in line.

        None if the changes file is not what was read.
        """
        try:
            handle, created = _open_changes(self.changes_path)
        except OSError as error:
            return self._unwritten(plan, error)
        try:
            if self._moved_on(handle, created):
                return None  # another session wrote meanwhile: read it, decide again
            if plan.classes and self.before_send is not None:
                self.before_send(
                    {self._index.accounts[i].login: self.mapping.object_class for i in plan.classes}
                )
            start = 0 if created else self._complete
            data = (self._header() if start == 0 else "") + "".join(plan.records)
            try:
                _append_durably(handle, start, data.encode("utf-8"))
            except OSError as error:
                with contextlib.suppress(OSError):
                    os.ftruncate(handle, start)
                return self._unwritten(plan, error)
            if created:
                fsync_directory(self.changes_path.parent)
            self._complete = start + len(data.encode("utf-8"))
            self._seen = (self._seen[0], _stamp(os.fstat(handle)))
            self._changes_digest = _changes_digest(handle, self._complete)
        finally:
            os.close(handle)
        self._commit(plan)
        return plan.outcomes

    def _moved_on(self, handle: int, created: bool) -> bool:
        """Is the changes file no longer what was read (size, time, inode, then its bytes)?"""
        if self._seen[1] != (None if created else _stamp(os.fstat(handle))):
            return True
        return not created and _changes_digest(handle, self._complete) != self._changes_digest

    def _unwritten(self, plan: _Plan, error: OSError) -> list[ChangeOutcome]:
        reason = t(
            "dir.ldif.write_failed",
            path=self.changes_path,
            error=error.strerror or error,
            file_system=file_system(self.changes_path),
        )
        return [unavailable(outcome.change, reason) for outcome in plan.outcomes]

    def _commit(self, plan: _Plan) -> None:
        for i, values in plan.values.items():
            self._index.accounts[i] = replace(self._index.accounts[i], identifiers=values)
        for i in plan.classes:
            self._index.object_classes[i] |= {self.mapping.object_class.casefold()}
        for i in plan.dropped:
            self._index.object_classes[i] -= {self.mapping.object_class.casefold()}
        for key, holders in plan.holders.items():
            if holders:
                self._index.holders[key] = holders
            else:
                self._index.holders.pop(key, None)

    def _header(self) -> str:
        name = printable(self.changes_path.name)
        return (
            f"# idpronote: Pronote identifier changes for the directory exported as "
            f"{printable(self.path.name)}.\n"
            "# They are NOT in the directory yet. Apply them, once, with:\n"
            f'#   ldapmodify -x -H ldap://SERVER -D "BIND_DN" -W -f {name}\n'
            "# Each record deletes exactly the old identifier values it names and adds the\n"
            "# new one; other values of the attribute are left as they are.\n"
            f"# idpronote replays this file on top of {printable(self.path.name)}; once it\n"
            "# is applied and the directory exported again, move it away.\n"
            f"# export-blake2b: {self._digest}\n"
            "version: 1\n\n"
        )


def _open_changes(path: Path) -> tuple[int, bool]:
    """A descriptor on the changes file, and whether it was just created (mode 0600)."""
    flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return os.open(path, flags), False
    try:
        os.fchmod(handle, 0o600)  # whatever the umask allowed
    except OSError:
        os.close(handle)
        raise
    return handle, True


def _append_durably(handle: int, start: int, data: bytes) -> None:
    """Write `data` at `start` (cutting any incomplete tail first) and fsync."""
    if os.fstat(handle).st_size != start:
        os.ftruncate(handle, start)
    os.lseek(handle, start, os.SEEK_SET)
    view = memoryview(data)
    while view:
        written = os.write(handle, view)
        view = view[written:]
    os.fsync(handle)


def _complete_size(data: bytes) -> int:
    """Where the last complete record of a changes file ends (each ends with a blank line)."""
    end = 0
    for match in _RECORD_END.finditer(data):
        end = match.end()
    return end


def _changes_digest(handle: int, size: int) -> bytes:
    """The hash of the complete part of the changes file (its first `size` bytes)."""
    digest = hashlib.blake2b(digest_size=20)
    position = 0
    while position < size:
        block = os.pread(handle, min(1 << 20, size - position), position)
        if not block:
            break
        digest.update(block)
        position += len(block)
    return digest.digest()
