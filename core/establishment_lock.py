"""The establishment lock: one import of an establishment at a time, and the
lookups that say whether an establishment's last session must be resumed first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path

from core.i18n import t
from core.journal_format import LockHeld, SessionBlocked
from core.journal_sessions import SessionRecord, sessions
from core.lock_holder import held_by, holder_record, read_holder
from core.private_files import (
    open_private,
    private_dir,
    uai_part,
)

# -- the lock --------------------------------------------------------------------------------


class EstablishmentLock:
    """One import of an establishment at a time, on this machine's data directory.

    `flock` is released by the kernel when the process dies, so a crash
    never leaves a stale lock; the file's content says who holds it.
    """

    def __init__(self, data_dir: Path, uai: str) -> None:
        root = private_dir(private_dir(data_dir, link_ok=True) / "locks")
        self.path = root / f"{uai_part(uai)}.lock"
        self.uai = uai
        self._fd: int | None = None

    def acquire(self, session: str) -> None:
        # Never through a link, never another user's file: it is truncated below.
        fd = open_private(self.path, os.O_RDWR, create=True)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(fd)
            os.close(fd)
            raise LockHeld(held_by("journal.locked", holder, uai=self.uai)) from None
        info = holder_record(session=session)
        with contextlib.suppress(OSError):  # who holds it is a courtesy: a full disk may refuse
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(info).encode())
            os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @contextlib.contextmanager
    def held(self, session: str) -> Iterator[EstablishmentLock]:
        self.acquire(session)
        try:
            yield self
        finally:
            self.release()


def resumable_session(data_dir: Path, uai: str) -> SessionRecord | None:
    """The establishment's last import, if it can be resumed (a later one supersedes it,
    and one undone is over)."""
    found = sessions(data_dir, uai)
    undone = {r.header.get("undo_of") for r in found if r.kind == "undo" and r.ended}
    imports = [
        r for r in found if r.kind == "import" and r.header.get("mode") in ("complet", "partiel")
    ]
    if not imports or imports[-1].session in undone:
        return None
    return imports[-1] if imports[-1].resumable else None


def blocking_session(data_dir: Path, uai: str) -> SessionRecord | None:
    """What stops a new import of `uai`: a damaged session nobody acknowledged, or
    the last import cut while writing."""
    found = sessions(data_dir, uai)
    for record in found:
        if record.damaged and not record.acknowledged:
            return record
    last = resumable_session(data_dir, uai)
    return last if last is not None and last.must_finish else None


def refuse_if_blocked(data_dir: Path, uai: str) -> None:
    record = blocking_session(data_dir, uai)
    if record is None:
        return
    if record.damaged:
        raise SessionBlocked(record.damage_message())
    raise SessionBlocked(t("apply.cut_session", session=record.session, uai=uai))
