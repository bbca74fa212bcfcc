"""The write-ahead journal of import sessions, and the establishment lock.

Directories have no transactions. Every write batch is journaled before it is
sent (intent) and after (outcome), in JSON lines flushed and fsynced, so that
after a crash or a dead server the next start knows exactly what may have
been written: the intents without an outcome. Replaying them is safe because
adapters report a change already in effect as applied without writing it, and
a change found in effect that this session intended counts as written by it.

Every line is sealed with a checksum chained to the line before
(core/journal_lines.py): a damaged session is shown as such, blocks new imports
of its establishment until an admin acknowledges it, and is never undone on
the word of a line that does not verify. Journals of format 1 (no checksums)
are still read, listed and undone, reported as not verifiable.

Journals hold personal data (names, identifiers): files are created 0600 in
directories 0700, and only the owner can read them.

The module is split by concern; this is the one most code imports, and it
re-exports the rest: core/journal_format.py (what a line holds),
core/journal_sessions.py (the reading side), core/establishment_lock.py (the
lock and the lookups that block a new import).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.establishment_lock import (
    EstablishmentLock,
    blocking_session,
    refuse_if_blocked,
    resumable_session,
)
from core.i18n import t
from core.journal_format import (
    FORMAT_VERSION,
    RETRIED,
    JournalDamaged,
    LockHeld,
    SessionBlocked,
    change_from_json,
    change_json,
    change_key,
    new_session_id,
    now,
    operator,
    outcome_json,
)
from core.journal_lines import JournalText, JournalWriteError, append_durably, read_lines, seal
from core.journal_sessions import (
    SessionRecord,
    acknowledge_damage,
    find_session,
    last_activity,
    purge,
    purge_candidates,
    read_session,
    sessions,
)
from core.model import ChangeOutcome, IdentifierChange
from core.private_files import (
    UnsafePath,
    create_private,
    private_dir,
    uai_part,
)

__all__ = [
    "FORMAT_VERSION",
    "RETRIED",
    "EstablishmentLock",
    "Journal",
    "JournalDamaged",
    "LockHeld",
    "SessionBlocked",
    "SessionRecord",
    "acknowledge_damage",
    "blocking_session",
    "change_from_json",
    "change_json",
    "change_key",
    "find_session",
    "last_activity",
    "new_session_id",
    "now",
    "operator",
    "outcome_json",
    "private_dir",
    "purge",
    "purge_candidates",
    "read_session",
    "refuse_if_blocked",
    "resumable_session",
    "sessions",
]


class Journal:
    """One session's journal file: append-only, each record durable before the next step.

    `append` is the one way a line is written: it seals the record (its
    checksum, chained to the line before), writes it whole and syncs it, or
    raises JournalWriteError and leaves the file as it was.
    """

    def __init__(self, path: Path, *, size: int | None = None, last: str | None = None) -> None:
        self.path = path
        self._batches = 0
        # Where the next line goes, and the sum it chains to; None: read the file first.
        self._size = size
        self._last = last
        self._writing = threading.Lock()

    @classmethod
    def create(
        cls,
        data_dir: Path,
        *,
        uai: str,
        kind: str,
        header: dict[str, Any],
        session: str | None = None,
    ) -> Journal:
        session = session or new_session_id()
        root = private_dir(private_dir(data_dir, link_ok=True) / "journals")
        folder = private_dir(root / uai_part(uai))
        journal = cls(folder / f"{session}.jsonl", size=0)
        journal.session = session
        # A new file, or nothing: never a journal (or a link) that was already there.
        try:
            os.close(create_private(journal.path))
        except FileExistsError:
            raise UnsafePath(t("private.exists", path=journal.path)) from None
        try:
            journal.append({"type": "session", "session": session, "uai": uai, "kind": kind,
                            "version": FORMAT_VERSION, "started": now(),
                            "started_ns": time.time_ns(), **header})  # fmt: skip
        except JournalWriteError:
            # Not even its header: the session never started, nothing to keep.
            with contextlib.suppress(OSError):
                journal.path.unlink()
            raise
        return journal

    @classmethod
    def reopen(cls, record: SessionRecord) -> Journal:
        """Go on writing a session's journal (a line cut by a crash is dropped first)."""
        if record.damaged:
            raise JournalDamaged(record.damage_message())
        journal = cls(record.path, size=record.size, last=record.last)
        journal.session = record.session
        journal._batches = record.batches
        return journal

    session: str = ""

    def append(self, record: dict[str, Any]) -> None:
        with self._writing:
            if self._size is None:
                text = read_lines(self.path) if self.path.exists() else JournalText()
                self._size, self._last = text.size, text.last
            line, digest = seal(record, self._last)
            append_durably(self.path, self._size, line)
            self._size += len(line)
            self._last = digest

    def intent(
        self,
        step: str,
        changes: Sequence[IdentifierChange],
        manual: dict[str, str] | None = None,
        *,
        remaining: list[dict[str, Any]] | None = None,
        retry: bool = False,
    ) -> int:
        """Before a batch is sent: what is about to be written, and what it replaces.

        `manual` (identifier -> login) says which links the admin made by
        hand, so that a resumed session still remembers them; `remaining`
        the step's accounts left without a link, as validated (the school's
        to-do list survives a crash before the step's end).
        """
        self._batches += 1
        record = {"type": "intent", "batch": self._batches, "step": step, "time": now(),
                  "changes": [change_json(c) for c in changes], "manual": manual or {}}  # fmt: skip
        if remaining is not None:
            record["remaining"] = remaining
        if retry:
            record["retry"] = True
        self.append(record)
        return self._batches

    def classes(self, batch: int, added: dict[str, str]) -> None:
        """Before sending: the auxiliary object classes the batch adds (login -> class),
        which undo takes away again with the last value."""
        self.append({"type": "classes", "batch": batch, "time": now(), "added": added})

    def outcome(self, batch: int, step: str, outcomes: Sequence[ChangeOutcome]) -> None:
        """After the batch: what the directory confirmed, change by change."""
        self.append({"type": "outcome", "batch": batch, "step": step, "time": now(),
                     "outcomes": [outcome_json(o) for o in outcomes]})  # fmt: skip

    def draft(self, step: str, action: str, **fields: Any) -> None:
        """A choice the admin just made in a step not yet validated (a manual link, a
        rejection taken or taken back, an obsolete identifier kept or removed).

        Nothing is written on its word: a resume replays the current step's
        drafts onto its state, and the step's validation supersedes them.
        """
        self.append({"type": "draft", "step": step, "action": action, "time": now(), **fields})

    def step_done(self, step: str, summary: dict[str, Any]) -> None:
        self.append({"type": "step", "step": step, "time": now(), **summary})

    def resumed(self, dropped: int = 0) -> None:
        record: dict[str, Any] = {"type": "resumed", "time": now(), "operator": operator()}
        if dropped:
            # The bytes of a line a crash cut: never acted on, dropped, and said so.
            record["dropped_incomplete_line"] = dropped
        self.append(record)

    def end(self, outcome: str, **details: Any) -> None:
        self.append({"type": "end", "outcome": outcome, "time": now(), **details})

    def lock_taken_over(self, where: str, previous: dict[str, Any]) -> None:
        """The directory's lock on the establishment was held by a lease that had
        expired (a crashed host, most likely): this session took it over. Readers
        that do not know this record pass over it (it changes nothing written)."""
        self.append({"type": "lock_taken_over", "time": now(), "lock": where,
                     "previous": previous})  # fmt: skip


# -- reading ---------------------------------------------------------------------------------
