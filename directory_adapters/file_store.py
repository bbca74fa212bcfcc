"""What the CSV and LDIF directory files share, written once.

Both adapters hold a whole directory file in memory and write it back under
the cross-host lock of directory_adapters/file_protocol.py. The pieces that
were the same in both live here: the problem a row or record of the file
raises, the outcomes of a change that could not be written, the query words
that matter for a prefix search, the canonical key of an identifier value,
and the write protocol itself (`decide_and_write`): decide against memory,
take the lock, and when the file changed since it was read, read it again
and decide again *under the lock*, so that two writers of one file (two jobs
of one batch, two hosts) take turns instead of one losing every time.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from core.identifier_form import IdentifierForm
from core.model import ChangeOutcome, IdentifierChange
from directory_adapters.file_protocol import WriteLock

__all__ = [
    "COLLECT_AFTER",
    "DirectoryProblem",
    "decide_and_write",
    "failed",
    "holder_key",
    "loaded_without_collecting",
    "prefix_range",
    "significant",
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


def significant(words: list[str]) -> list[str]:
    """The query words that say something: a word that starts another is implied by it."""
    unique = list(dict.fromkeys(words))
    return [w for w in unique if not any(o != w and o.startswith(w) for o in unique)]


def prefix_range(words: Sequence[str], prefix: str) -> tuple[int, int]:
    """The slice of the sorted `words` that start with `prefix`."""
    lo = bisect_left(words, prefix)
    return lo, bisect_left(words, prefix + "\U0010ffff", lo)


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
