"""Writing identifiers into a CSV directory file, and nothing else.

The file belongs to the admin, not to us: a write changes the identifier cell
of the rows it must change and nothing else, byte for byte (other columns,
quoting, delimiter, BOM, line endings, rows we could not read). It replaces
the file atomically (a temporary file beside it, fsync, rename), keeps the
file as it was before a session's first write as `<name>.bak`, and brings
memory in line with what is on disk. Deciding against the file under the
cross-host lock is `file_store.decide_and_write`'s part.
"""

from __future__ import annotations

import codecs
import errno
import os
import secrets
import shutil
import stat
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

from core.disk import fsync_directory
from core.i18n import register, t
from core.identifier_form import IdentifierForm
from core.model import ChangeKind, ChangeOutcome, IdentifierChange
from directory_adapters.base import not_found, plan_change
from directory_adapters.csv.cells import _set_cell
from directory_adapters.csv.reader import MULTI_VALUE_SEPARATOR, CsvIndex
from directory_adapters.file_store import failed, holder_key

register(
    {
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


@dataclass
class CsvPlan:
    """A batch decided against memory: one outcome per change, the state after it."""

    outcomes: list[ChangeOutcome] = field(default_factory=list)
    values: dict[int, tuple[str, ...]] = field(default_factory=dict)  # id -> identifiers
    holders: dict[str, tuple[int, ...]] = field(default_factory=dict)  # value -> ids


def plan(
    index: CsvIndex, form: IdentifierForm, path: Path, changes: list[IdentifierChange]
) -> CsvPlan:
    """Decide every change against the file plus the earlier changes of the batch."""
    planned_batch = CsvPlan()
    new_values, new_holders = planned_batch.values, planned_batch.holders
    outcomes = planned_batch.outcomes
    for change in changes:
        i = index.by_login.get(change.login.strip().lower())
        if i is None:
            outcomes.append(_missing(index, path, change))
            continue
        values = new_values.get(i, index.identifiers(i))
        others: list[str] = []
        if change.kind is not ChangeKind.REMOVE and change.idpn is not None:
            key = form.format(change.uai.strip().upper(), change.idpn)
            ids = new_holders.get(key, index.holders.get(key, ()))
            # An account never conflicts with itself, whatever the case of
            # the login the change was made with.
            others = [index.login(j) for j in ids if j != i]
        planned, outcome = plan_change(form, values, change, others)
        if planned is None or outcome is not None:
            outcomes.append(outcome or failed(change, t("dir.csv.nothing_to_write")))
            continue
        before = {k for k in (holder_key(form, v) for v in values) if k is not None}
        after = {k for k in (holder_key(form, v) for v in planned) if k is not None}
        for key in before - after:
            ids = new_holders.get(key, index.holders.get(key, ()))
            new_holders[key] = tuple(j for j in ids if j != i)
        for key in after - before:
            ids = new_holders.get(key, index.holders.get(key, ()))
            new_holders[key] = (*ids, i)
        new_values[i] = planned
        outcomes.append(ChangeOutcome(change, applied=True))
    return planned_batch


def _missing(index: CsvIndex, path: Path, change: IdentifierChange) -> ChangeOutcome:
    lines = index.duplicates.get(change.login.strip().lower())
    if not lines:
        return not_found(change)
    where = ", ".join(map(str, lines))
    return ChangeOutcome(
        change,
        applied=False,
        failure="not_found",
        reason=t("dir.csv.several_lines", login=change.login, path=path, where=where),
    )


def rewritten(
    index: CsvIndex, text: str, values: dict[int, tuple[str, ...]], column_name: str
) -> tuple[bytes, dict[int, str]]:
    """The file's new bytes, and the new text of each record it changes (0 is the header)."""
    layout = index.layout
    starts = index.starts
    column = layout.index["idpronote"]
    edits: dict[int, str] = {}
    if column is None:
        # No identifier column yet: add it at the end of the header; the
        # rows that get a value are padded up to it, the others stay short.
        column = len(layout.header)
        edits[0] = _set_cell(text[starts[0] : starts[1]], column, column_name, layout.delimiter)
    for i, identifiers in values.items():
        record = index.record_of[i]
        edits[record] = _set_cell(
            text[starts[record] : starts[record + 1]],
            column,
            MULTI_VALUE_SEPARATOR.join(identifiers),
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
    return output, edits


def commit(index: CsvIndex, planned: CsvPlan, edits: dict[int, str], column_name: str) -> None:
    """Bring memory in line with the file just written."""
    starts = index.starts
    for i, values in planned.values.items():
        index.rows[i] = (*index.rows[i][:-1], values)  # the identifiers are last
        index.cache[i] = None
    for key, ids in planned.holders.items():
        if ids:
            index.holders[key] = ids
        else:
            index.holders.pop(key, None)
    growth = {r: len(edit) - (starts[r + 1] - starts[r]) for r, edit in edits.items()}
    shift = 0
    for record in range(min(edits) + 1, len(starts)):
        shift += growth.get(record - 1, 0)
        starts[record] += shift
    layout = index.layout
    if layout.index["idpronote"] is None:
        column = len(layout.header)
        index.layout = replace(
            layout,
            header=(*layout.header, column_name),
            index={**layout.index, "idpronote": column},
        )


def replace_file(
    shown: Path, output: bytes, inode: tuple[int, int], *, keep_backup: bool
) -> os.stat_result:
    """Write `output` in place of the file `shown`, atomically, if it is still the file
    `inode` (st_dev, st_ino); keep the previous one as `.bak` if asked. The new stat."""
    # Through a symbolic link: replace the file it points to, not the link.
    path = Path(os.path.realpath(shown))
    info = os.stat(path)
    if (info.st_dev, info.st_ino) != inode:
        raise OSError(errno.ESTALE, t("dir.csv.kept_changing", path=shown))
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(output)
            stream.flush()
            with suppress(PermissionError):
                if (info.st_uid, info.st_gid) != (os.getuid(), os.getgid()):
                    os.fchown(stream.fileno(), info.st_uid, info.st_gid)
            os.fchmod(stream.fileno(), stat.S_IMODE(info.st_mode))
            os.fsync(stream.fileno())
        if keep_backup:
            _keep_backup(path)
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise
    fsync_directory(path.parent)
    return os.stat(path)


def _keep_backup(path: Path) -> None:
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
