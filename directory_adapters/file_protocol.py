"""What the CSV and LDIF adapters share to write a directory file: a lock across hosts.

Two machines (two data directories, so two establishment locks that never
meet) may import into one file on a shared disk. Each write protocol (read
the file, check it is what was read, write, rename or append, sync) runs
under an exclusive lock on a lock file beside the directory file, holding the
holder's name, so a second writer waits for the first, re-reads, decides again
and never overwrites an update it did not see.

The lock file exists only while a write is in progress: its holder removes it
before letting go, and an acquirer checks that the file it locked is still
the one at that name (otherwise it was removed meanwhile: take the new one).
`flock` is released by the kernel when a process dies, so a crash never
leaves a lock held, only (at worst) a lock file that the next writer takes
over. On Linux NFS clients `flock` is carried to the server as a lock of the
whole file, so other hosts see it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import DirectoryError
from core.i18n import register, t
from core.lock_holder import held_by, holder_record, read_holder

__all__ = ["FileLocked", "WriteLock", "remove_leftovers"]

register(
    {
        "dir.file.locked": (
            "{path} est en cours d'écriture par {user} sur {host} (processus {pid}) depuis "
            "{since} ; rien n'est écrit : relancez le même import quand il aura fini",
            "{path} is being written by {user} on {host} (process {pid}) since {since}; "
            "nothing written: run the same import again once it is done",
        ),
        "dir.file.cannot_lock": (
            "écriture impossible de {path} : son verrou ne peut pas être créé à côté "
            "({error}) ; rien n'est écrit",
            "could not write {path}: its lock file cannot be created beside it ({error}); "
            "nothing written",
        ),
    }
)

# How long a writer waits for another one (another host) to finish its write.
LOCK_TIMEOUT = 30.0


class FileLocked(DirectoryError):
    """Another process (perhaps on another host) kept the directory file locked."""


class WriteLock:
    """The exclusive lock of one directory file's write protocol."""

    def __init__(self, target: Path, timeout: float = LOCK_TIMEOUT) -> None:
        self.target = target
        self.path = target.with_name(f".{target.name}.lock")
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self, *, wait: bool = True) -> bool:
        """Take the lock (waiting up to `timeout`); False only when `wait` is False
        and someone holds it. FileLocked, naming the holder, when the wait is over."""
        deadline = time.monotonic() + self.timeout
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = read_holder(fd)
                os.close(fd)
                if not wait:
                    return False
                if time.monotonic() >= deadline:
                    raise FileLocked(held_by("dir.file.locked", holder, path=self.target)) from None
                time.sleep(0.02)
                continue
            if not self._still_there(fd):
                os.close(fd)  # removed by the holder we waited for: take the new one
                continue
            with contextlib.suppress(OSError):
                info = holder_record()
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(info).encode(), 0)
            self._fd = fd
            return True

    def _open(self) -> int:
        flags = os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(self.path, os.O_RDWR | flags, 0o644)
        except PermissionError:
            # Another user's lock file: it can still be locked, read only.
            try:
                return os.open(self.path, os.O_RDONLY | flags, 0o644)
            except OSError as error:
                raise DirectoryError(
                    t("dir.file.cannot_lock", path=self.target, error=error.strerror or error)
                ) from None
        except OSError as error:
            raise DirectoryError(
                t("dir.file.cannot_lock", path=self.target, error=error.strerror or error)
            ) from None

    def _still_there(self, fd: int) -> bool:
        try:
            mine, there = os.fstat(fd), os.stat(self.path)
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # still holding it: nobody can take this one meanwhile
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    @contextlib.contextmanager
    def held(self) -> Iterator[WriteLock]:
        self.acquire()
        try:
            yield self
        finally:
            self.release()


def remove_leftovers(target: Path, patterns: list[re.Pattern[str]], lock: WriteLock) -> list[Path]:
    """Remove what a killed write left beside `target` (files named by `patterns`).

    Only while holding the lock, taken without waiting: a writer at work
    (perhaps on another host) owns its temporary files; they are left alone.
    """
    removed: list[Path] = []
    try:
        if not lock.acquire(wait=False):
            return removed
    except DirectoryError:
        return removed  # no right to lock here: no right to clean up either
    try:
        with contextlib.suppress(OSError):
            for entry in os.scandir(target.parent):
                if any(p.fullmatch(entry.name) for p in patterns) and entry.is_file(
                    follow_symlinks=False
                ):
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
    finally:
        lock.release()
    return removed
