"""What the CSV and LDIF directory files share, written once.

Both adapters hold a whole directory file in memory (an `AccountIndex`,
directory_adapters/file_index.py) and write it back under the cross-host
lock of directory_adapters/file_protocol.py. The pieces that were the same in
both live here: every read answered from the index (`FileDirectory`), the
problem a row or record of the file raises, the outcomes of a change that
could not be written, the canonical key of an identifier value, a load
without the garbage collector, and the write protocol itself
(`decide_and_write`): decide against memory,
take the lock, and when the file changed since it was read, read it again
and decide again *under the lock*, so that two writers of one file (two jobs
of one batch, two hosts) take turns instead of one losing every time.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from core.identifier_form import IdentifierForm
from core.model import Category, ChangeOutcome, DirectoryAccount, IdentifierChange
from directory_adapters.base import Directory, SearchQuery
from directory_adapters.file_index import AccountIndex
from directory_adapters.file_protocol import WriteLock

__all__ = [
    "COLLECT_AFTER",
    "DirectoryProblem",
    "FileDirectory",
    "decide_and_write",
    "duplicate_logins",
    "failed",
    "holder_key",
    "loaded_without_collecting",
    "unavailable",
]

# Above this many accounts, a load ends with a full collection (see below).
COLLECT_AFTER = 20_000

Loaded = TypeVar("Loaded")
Plan = TypeVar("Plan")
Snapshot = TypeVar("Snapshot")


@dataclass(frozen=True, slots=True)
class DirectoryProblem:
    """A row of the file that could not be read as given (the rest still loads)."""

    line: int
    kind: str  # "missing_login", "duplicate_login", "invalid_date", ...
    message: str


def duplicate_logins(
    lines_of: dict[str, list[int]], say: Callable[[int, str, str], DirectoryProblem]
) -> tuple[dict[str, list[int]], list[DirectoryProblem]]:
    """The logins (lower case) on more than one line, and a problem for each of those lines:
    `say(line, login, other lines)`. Never guess which of two is right: neither is read."""
    duplicates = {key: lines for key, lines in lines_of.items() if len(lines) > 1}
    problems = [
        say(line, key, ", ".join(str(other) for other in lines if other != line))
        for key, lines in duplicates.items()
        for line in lines
    ]
    return duplicates, problems


class FileDirectory(Directory):
    """The reads a directory file answers from its index, the same for CSV and LDIF.

    A subclass sets `_index` (replaced whole on reload), `_write_lock` and `form`.
    """

    _index: AccountIndex
    _write_lock: WriteLock

    @property
    def lock_timeout(self) -> float:
        """How long a write waits for another process (another host) writing the file."""
        return self._write_lock.timeout

    @lock_timeout.setter
    def lock_timeout(self, seconds: float) -> None:
        self._write_lock.timeout = seconds

    @property
    def problems(self) -> list[DirectoryProblem]:
        """Rows or entries that could not be used as given (the rest still loads)."""
        return self._index.problems

    def get(self, login: str) -> DirectoryAccount | None:
        return self._index.with_login(login)

    def accounts(self, uai: str, category: Category | None = None) -> list[DirectoryAccount]:
        return self._index.of_establishment(uai, category)

    def holders(self, idpn: str, uai: str) -> list[DirectoryAccount]:
        """Accounts storing `idpn` for `uai` in this form, whatever their establishments."""
        return self._index.holding(self.form.format(uai.strip().upper(), idpn))

    def _search(self, query: SearchQuery) -> list[DirectoryAccount]:
        index = self._index
        return [index.account(i) for i in index.found(query)]

    def _count(self, query: SearchQuery) -> int:
        """The same search, counted in memory without making the accounts."""
        return len(self._index.found(query))

    def every_account(self) -> Iterator[DirectoryAccount]:
        return self._index.every_account()

    def _holder_key(self, value: str) -> str | None:
        return holder_key(self.form, value)


def loaded_without_collecting(load: Callable[[], Loaded], size: Callable[[Loaded], int]) -> Loaded:
    """`load()` with the cyclic garbage collector paused.

    A load makes hundreds of thousands of small objects, nearly all kept: the
    collector would only scan them again and again. The first full collection
    after it walks every new object once (and stops tracking the tuples): pay
    it here when the load was big (`size` of what it gave), not in the middle
    of a search-as-you-type keystroke.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        loaded = load()
    finally:
        if collecting:
            gc.enable()
    if collecting and size(loaded) > COLLECT_AFTER:
        gc.collect()
    return loaded


def holder_key(form: IdentifierForm, value: str) -> str | None:
    """The canonical spelling of a value of our form, None for any other value."""
    parsed = form.parse(value)
    if parsed is None:
        return None
    uai, idpn = parsed
    canonical = form.format(uai or "", idpn)
    return value if value == canonical else canonical


def failed(change: IdentifierChange, reason: str) -> ChangeOutcome:
    return ChangeOutcome(change, applied=False, failure="error", reason=reason)


def unavailable(change: IdentifierChange, reason: str) -> ChangeOutcome:
    """The file could not be written at all (disk, lock): not about this account."""
    return ChangeOutcome(change, applied=False, failure="unavailable", reason=reason)


def decide_and_write(
    write_lock: WriteLock,
    *,
    stale: Callable[[], bool],
    reload: Callable[[], None],
    plan: Callable[[], Plan],
    outcomes: Callable[[Plan], list[ChangeOutcome] | None],
    look: Callable[[], tuple[Snapshot, bool]],
    write: Callable[[Plan, Snapshot], list[ChangeOutcome]],
) -> list[ChangeOutcome]:
    """The write protocol of a directory file (the caller holds its thread lock).

    `stale` says cheaply whether the file on disk is no longer what memory
    holds, `reload` reads it again, `plan` decides every change against
    memory, `outcomes` gives a plan's outcomes when it has nothing to write
    (None when it has). Under the lock, `look` reads what the write needs
    and says whether the file moved on since memory was read (having brought
    memory in line if so); `write` writes the plan and gives its outcomes.

    The check before the lock spares waiting for it when the changes are
    already in effect on the file as it now is; the check under the lock is
    the one that counts: whoever wrote before us has let go of it, so what
    is read then stays true until we write, and the changes are decided
    again against it there (outside the lock, a writer could lose every
    time to another that keeps writing: two jobs of one batch).
    """
    if stale():
        reload()
    planned = plan()
    done = outcomes(planned)
    if done is not None:
        return done
    with write_lock.held():
        snapshot, moved = look()
        if moved:
            # Someone wrote since we read: their edit wins, and every change
            # is decided again against it.
            planned = plan()
            done = outcomes(planned)
            if done is not None:
                return done
        return write(planned, snapshot)
