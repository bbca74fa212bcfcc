"""Journaled writes: every write of the wizard, of an undo and of a single link or
unlink goes through `_send` (journal the intent, write, journal the outcome); a
write that is a session of its own takes the lock and opens its journal through
`_journaled_session`, written once here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.directory import Directory
from core.i18n import t
from core.journal import (
    Journal,
    SessionRecord,
    change_json,
    change_key,
    new_session_id,
    operator,
)
from core.lease import EstablishmentHold
from core.memory import DecisionMemory
from core.model import (
    ALREADY_IN_EFFECT,
    DIRECTORY_FAILURES,
    WRITTEN_BEFORE_THE_CUT,
    ChangeKind,
    ChangeOutcome,
    IdentifierChange,
)
from core.wizard_state import LinkRefused, Progress

# -- writing, journaled -------------------------------------------------------------------------


def _backup_before_next_write(directory: Directory, wanted: bool) -> None:
    """Tell a file directory whether the session's next write must keep a backup first."""
    hook = getattr(directory, "backup_before_next_write", None)
    if hook is not None:
        hook(wanted)


def _apply(
    directory: Directory,
    changes: Sequence[IdentifierChange],
    journal: Journal | None,
    batch: int,
    progress: Progress | None = None,
) -> list[ChangeOutcome]:
    """`directory.apply`, journaling (durably, before they are sent) the object
    classes it adds, which undo takes away again."""
    if journal is None:
        return _apply_in_parts(directory, changes, progress)
    directory.before_send = lambda added: journal.classes(batch, dict(added))
    try:
        return _apply_in_parts(directory, changes, progress)
    finally:
        directory.before_send = None


# With a progress callback, a step's changes are sent in parts (still one journaled
# batch): about PROGRESS_PARTS of them, none smaller than PROGRESS_PART_MIN changes,
# so a small step is one write and a big one is not 2,838 file rewrites.
PROGRESS_PARTS = 10
PROGRESS_PART_MIN = 500


def _apply_in_parts(
    directory: Directory, changes: Sequence[IdentifierChange], progress: Progress | None
) -> list[ChangeOutcome]:
    if progress is None:
        return directory.apply(changes)
    changes = list(changes)
    total = len(changes)
    size = max(PROGRESS_PART_MIN, -(-total // PROGRESS_PARTS))
    outcomes: list[ChangeOutcome] = []
    _tell(progress, 0, total)
    for start in range(0, total, size):
        part = directory.apply(changes[start : start + size])
        outcomes.extend(part)
        _tell(progress, len(outcomes), total)
        broken = [o for o in part if o.failure in DIRECTORY_FAILURES]
        if broken:
            # The directory itself failed: nothing more is sent (as an adapter does
            # within one write), the rest is reported not sent.
            reason = t("wizard.not_sent", reason=broken[-1].reason or broken[-1].failure)
            outcomes += [
                ChangeOutcome(c, applied=False, failure="unavailable", reason=reason)
                for c in changes[start + size :]
            ]
            break
    return outcomes


def _tell(progress: Progress, done: int, total: int) -> None:
    # Showing progress must never break a write half-way.
    with contextlib.suppress(Exception):
        progress(done, total)


def _send(
    journal: Journal | None,
    directory: Directory,
    step: str,
    changes: Sequence[IdentifierChange],
    manual: dict[str, str] | None = None,
    *,
    remaining: list[dict[str, Any]] | None = None,
    retry: bool = False,
    claimable: set[tuple] | None = None,
    progress: Progress | None = None,
    hold: EstablishmentHold | None = None,
) -> list[ChangeOutcome]:
    """Intent (durable), the write, then the outcome: the one way a batch is written.

    `hold`: the establishment's locks; if the directory's lease may have lapsed, nothing
    is journaled nor sent (LeaseLost), and the session stays resumable."""
    if hold is not None:
        hold.check()
    batch = (
        journal.intent(step, changes, manual, remaining=remaining, retry=retry)
        if journal is not None
        else 0
    )
    outcomes = _apply(directory, changes, journal, batch, progress)
    if claimable:
        outcomes = _claim(outcomes, claimable)
    if journal is not None:
        journal.outcome(batch, step, outcomes)
    return outcomes


def _claim(outcomes: list[ChangeOutcome], which: set[tuple] | None) -> list[ChangeOutcome]:
    """Outcomes "already in effect" of changes this session sent before (all, or `which`)
    become "written by this session before it was cut"."""
    return [
        replace(o, reason=WRITTEN_BEFORE_THE_CUT)
        if o.applied
        and o.reason == ALREADY_IN_EFFECT
        and (which is None or change_key(change_json(o.change)) in which)
        else o
        for o in outcomes
    ]


@contextlib.contextmanager
def _journaled_session(
    directory: Directory, data_dir: Path, uai: str, *, kind: str, header: dict[str, Any]
) -> Iterator[tuple[Journal, EstablishmentHold]]:
    """A write that is a session of its own (undo, link, unlink): take the
    establishment's lock, open the session's journal (its header says which
    directory and who), and ask a file directory for a backup before the write.
    The lock is released when the block ends, whatever happens in it."""
    lock = EstablishmentHold(directory, data_dir, uai)
    session = new_session_id()
    with lock.held(session):
        journal = Journal.create(
            data_dir,
            uai=uai,
            kind=kind,
            session=session,
            header={
                **header,
                "directory": directory.describe(),
                "operator": operator(getattr(directory, "identity", None)),
            },
        )
        lock.journal_takeover(journal)
        _backup_before_next_write(directory, True)
        yield journal, lock


def undo_session(
    directory: Directory, record: SessionRecord, *, data_dir: Path
) -> list[ChangeOutcome]:
    """Restore what a session found before it wrote; journaled as a session of its own.

    Every change the session wrote, or may have written (intended with no
    outcome, sent and never confirmed), is reverted only where the account
    still holds what the session wrote: the adapter refuses ("changed") a
    value someone changed since, and reports "already in effect" where the
    previous value is there already (a write that never landed). An
    auxiliary object class the session added goes with the last value.
    Nothing is done on the word of a journal line that does not verify.
    """
    record.require_intact()
    changes = []
    for o, _certain in reversed(record.writes()):
        kind = ChangeKind(o["kind"])
        previous, idpn = o.get("previous"), o.get("idpn")
        if kind is ChangeKind.REMOVE:
            changes.append(IdentifierChange(o["login"], o["uai"], ChangeKind.ADD, previous, None))
        elif previous is None:
            added_class = str(o["login"]).casefold() in record.classes
            changes.append(
                IdentifierChange(o["login"], o["uai"], ChangeKind.REMOVE, None, idpn, added_class)
            )
        else:
            changes.append(
                IdentifierChange(o["login"], o["uai"], ChangeKind.REPLACE, previous, idpn)
            )
    with _journaled_session(
        directory, data_dir, record.uai, kind="undo", header={"undo_of": record.session}
    ) as (journal, lock):
        outcomes: list[ChangeOutcome] = []
        if changes:
            outcomes = _send(journal, directory, "undo", changes, hold=lock)
        journal.end("completed" if all(o.applied for o in outcomes) else "partial")
    return outcomes


def unlink_account(
    directory: Directory, uai: str, login: str, idpn: str, *, data_dir: Path | None
) -> ChangeOutcome:
    """Remove one account's identifier for an establishment, journaled as a session.

    Like every write, it takes the establishment's lock and can be undone.
    A manual link remembered for that identifier and account is forgotten
    too: otherwise the next import would put back, as `remembered`, the very
    link an admin just removed.
    """
    change = IdentifierChange(login, uai.upper(), ChangeKind.REMOVE, None, idpn)
    if data_dir is None:
        (outcome,) = directory.apply([change])
        return outcome
    # Read (and checked: a planted memory file is refused) before anything is written.
    memory = DecisionMemory(data_dir)
    remembered = memory.links(uai).get(idpn)
    with _journaled_session(
        directory, data_dir, uai.upper(), kind="import", header={"mode": "unlink"}
    ) as (journal, lock):
        (outcome,) = _send(journal, directory, "unlink", [change], hold=lock)
        journal.end("completed" if outcome.applied else "failed")
        if outcome.applied:
            if remembered is not None and remembered.casefold() == login.casefold():
                memory.forget(uai, idpn)
    return outcome


def link_account(
    directory: Directory,
    uai: str,
    login: str,
    idpn: str,
    *,
    data_dir: Path | None,
    in_file: Iterable[str] | None = None,
    mode: str = "complet",
) -> ChangeOutcome:
    """Store one identifier on one account by hand, journaled as a session of its own.

    The checks of a manual link in the wizard apply (LinkRefused says which
    failed): the account exists, no other account holds the identifier for the
    establishment, and the account holds no other identifier of the
    establishment that the latest file (`in_file`) still uses; in partial mode,
    or when no file is known, it may hold none at all. Like `unlink_account`,
    it takes the establishment's lock and can be undone; the link is remembered
    as a manual one, so the next import recognises it (rule `remembered`).
    """
    uai = uai.upper()
    account = directory.get(login)
    if account is None:
        raise LinkRefused(t("wizard.no_account", login=login))
    key = account.login.casefold()
    others = [h.login for h in directory.holders(idpn, uai) if h.login.casefold() != key]
    if others:
        raise LinkRefused(
            t("wizard.stored_elsewhere", idpn=idpn, accounts=", ".join(sorted(others)))
        )
    held = directory.form.idpns_for(account.identifiers, uai)
    stored = [s for s in held if s != idpn]
    known = None if in_file is None else set(in_file)
    if stored and (mode == "partiel" or known is None or any(s in known for s in stored)):
        raise LinkRefused(t("wizard.account_holds", login=account.login, stored=", ".join(stored)))
    # A replacement only of a stale value; an identifier already there is an ADD in effect.
    kind = ChangeKind.REPLACE if stored else ChangeKind.ADD
    previous = stored[0] if stored else None
    change = IdentifierChange(account.login, uai, kind, idpn, previous)
    if data_dir is None:
        (outcome,) = directory.apply([change])
        return outcome
    memory = DecisionMemory(data_dir)
    memory.links(uai)  # a planted memory file is refused before anything is written
    with _journaled_session(directory, data_dir, uai, kind="import", header={"mode": "link"}) as (
        journal,
        lock,
    ):
        session = journal.session
        (outcome,) = _send(journal, directory, "link", [change], {idpn: account.login}, hold=lock)
        journal.end("completed" if outcome.applied else "failed")
    if outcome.applied:
        memory.remember(uai, {idpn: account.login}, session, {account.login: account})
    return outcome
