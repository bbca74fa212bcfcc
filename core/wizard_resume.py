"""Resuming a session: what the journal says was meant is sent again, then it goes on.

A cut or interrupted session is reopened under its lock: first the batches
journaled as intended with no outcome, then the changes whose last outcome
was the directory failing; replaying is idempotent. Then the interrupted
step's drafts come back. A part of `ImportSession` (core/wizard.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

from core.directory import Directory
from core.errors import DirectoryError, IdpronoteError
from core.i18n import t
from core.journal import (
    Journal,
    JournalDamaged,
    SessionBlocked,
    SessionRecord,
    blocking_session,
    change_from_json,
    change_key,
    read_session,
)
from core.lease import EstablishmentHold
from core.matching import MatchSettings
from core.model import (
    SLUGS,
    WRITTEN_BEFORE_THE_CUT,
    Category,
    ChangeOutcome,
    IdentifierChange,
)
from core.pronote_file import IdentifiersFile
from core.wizard_state import (
    file_digest,
)
from core.wizard_writes import (
    _apply,
    _backup_before_next_write,
    _claim,
    _send,
)


class Resumption:
    """`ImportSession.resume`, and the replays it is made of."""

    @classmethod
    def resume(
        cls,
        directory: Directory,
        record: SessionRecord,
        export: IdentifiersFile,
        *,
        data_dir: Path,
        settings: MatchSettings | None = None,
    ) -> Self:
        """Continue a cut or interrupted session: settle what may be half-written, go on.

        First the batches journaled as intended with no outcome are sent
        again, then the changes whose last outcome was a failure of the
        directory itself. Replaying is idempotent: a change already in effect
        is reported applied without being written again, and counts as
        written by this session (it intended it, and the directory shows it).
        """
        if record.damaged:
            raise JournalDamaged(record.damage_message())
        expected = record.header.get("file_sha256")
        if expected and Path(export.path).is_file() and file_digest(Path(export.path)) != expected:
            raise IdpronoteError(t("wizard.resume_other_file", session=record.session))
        session = cls(
            directory,
            export,
            uai=record.uai,
            mode=record.header.get("mode", "complet"),
            data_dir=data_dir,
            settings=settings,
        )
        session.resumed_from = record
        session.lock = EstablishmentHold(directory, data_dir, record.uai)
        session.lock.acquire(record.session)
        try:
            other = blocking_session(data_dir, record.uai)
            if other is not None and other.damaged:
                raise SessionBlocked(other.damage_message())
            session.journal = Journal.reopen(record)
            session.journal.resumed(dropped=record.torn)
            session.lock.journal_takeover(session.journal)
            # A file keeps the backup taken before this session's first write.
            _backup_before_next_write(directory, not record.written())
            done = list(record.steps_done)
            replayed: dict[str, list[ChangeOutcome]] = {}
            for batch, step, changes, manual in record.pending():
                outcomes = session._replay(step, changes, manual, batch=batch)
                replayed.setdefault(step, []).extend(outcomes)
                if step not in done and step in SLUGS:
                    # The batch was the step's whole write set: replayed, it is done.
                    session._step_done(
                        Category.from_slug(step), outcomes, record.remaining.get(step, [])
                    )
                    done.append(step)
            session._settle(read_session(record.path), done, replayed)
        except BaseException:
            session.close()
            raise
        session.index = next(
            (i for i, c in enumerate(session.steps) if c.slug not in done), len(session.steps)
        )
        for category in session.steps[: session.index]:
            # What this resume wrote of a step shows in its report; earlier writes do not.
            session.state(category).outcomes = replayed.get(category.slug, [])
        if session.index >= len(session.steps):
            session._end("completed")
        session._replay_draft(record)
        return session

    def _settle(
        self, record: SessionRecord, done: list[str], replayed: dict[str, list[ChangeOutcome]]
    ) -> None:
        """Try again, step by step, the changes whose last outcome was the directory failing."""
        by_step: dict[str, list[dict[str, Any]]] = {}
        for step, outcome in record.unsettled():
            by_step.setdefault(step, []).append(outcome)
        manual: dict[str, dict[str, str]] = {}
        for intent in record.intents.values():
            manual.setdefault(intent["step"], {}).update(intent.get("manual", {}))
        order = {slug: i for i, slug in enumerate(SLUGS)}
        for step in sorted(by_step, key=lambda s: order.get(s, len(order))):
            failed = by_step[step]
            # Sent but never confirmed: if it is there now, this session put it there.
            claimable = {change_key(o) for o in failed if o.get("failure") == "unconfirmed"}
            changes = [change_from_json(o) for o in failed]
            outcomes = self._replay(step, changes, manual.get(step, {}), claimable=claimable)
            replayed.setdefault(step, []).extend(outcomes)
            if step not in done and step in SLUGS:
                self._step_done(Category.from_slug(step), outcomes, record.remaining.get(step, []))
                done.append(step)

    def _replay(
        self,
        step: str,
        changes: list[IdentifierChange],
        manual: dict[str, str],
        *,
        batch: int | None = None,
        claimable: set[tuple] | None = None,
    ) -> list[ChangeOutcome]:
        """Send again what the journal says this session meant to write.

        `batch`: an intent without outcome, whose outcome this completes;
        otherwise a new batch of retries, of which `claimable` (change keys)
        count as written by this session when found already in effect.
        """
        try:
            if batch is None:
                outcomes = _send(self.journal, self.directory, step, changes, manual, retry=True,
                                 claimable=claimable or set(), hold=self.lock)  # fmt: skip
            else:
                if self.lock is not None:
                    self.lock.check()
                outcomes = _claim(_apply(self.directory, changes, self.journal, batch), None)
                if self.journal is not None:
                    self.journal.outcome(batch, step, outcomes)
        except DirectoryError as error:
            self._cut_unknown(step, error)
        self._learn(outcomes)
        self._remember(manual)
        if any(o.reason == WRITTEN_BEFORE_THE_CUT for o in outcomes):
            _backup_before_next_write(self.directory, False)  # the backup was taken then
        self._stop_if_cut(step, outcomes)
        return outcomes
