"""A region's rentrée: every establishment's file imported as `apply` would, in one run.

The input is a folder of identifiers files (one per establishment) or a
manifest of `UAI;FILE` lines. Each establishment goes through the very path
`apply` takes (core/automatic.py: its session, lock, journal and memory),
with a directory adapter of its own, opened for it and closed after it, that
reads that establishment only. `jobs` establishments run at a time, in
threads of this process: the work is waiting (on the directory's answers,
on the journal's fsyncs), one process killed stops every job at once (no
orphan left holding a lock when the batch is resumed), and the partner
key's passphrase and the bind password are asked once and stay in this
process's memory.

An establishment that fails (a bad file, a file of another establishment
than its name says, its lock held, the directory failing) is reported with
its reason and the others go on. The batch keeps its own record under the
data directory (`batches/<id>.jsonl`, 0600, one durable line per event):
which establishment started, under which session, and how it ended.
`--resume` reads it back: the establishments that ended are not run again,
a session cut by the interruption is resumed as `apply --resume` does, and
the others run.

What to import (a folder, a manifest) is read by core/batch_input.py; the
report's lines and the batch's record are core/batch_record.py's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.automatic import run_automatic
from core.batch_input import BatchEntry
from core.batch_record import COMPLETED, FAILED, LEFT, BatchState, EstablishmentResult
from core.errors import IdpronoteError, UnusableInput
from core.i18n import t
from core.journal import SessionRecord, read_session, resumable_session, sessions
from core.matching import MatchSettings
from core.model import CATEGORIES, ChangeKind
from core.private_files import uai_part
from core.pronote_file import FileSchema, IdentifiersFile, read_identifiers_file
from core.wizard import ImportSession
from core.wizard_open import open_session

__all__ = ["BatchSettings", "import_establishment", "run_batch"]


@dataclass
class BatchSettings:
    """What every establishment's import shares."""

    mode: str
    data_dir: Path
    file_schema: FileSchema
    matching: MatchSettings | None = None
    jobs: int = 1
    allow_mass_removal: bool = False
    # Told of an error that is not the user's (the CLI logs its traceback).
    internal_error: Callable[[BaseException], str] | None = None


# -- one establishment -----------------------------------------------------------------------


class _Claims:
    """Two files for one establishment in a batch: the second is refused."""

    def __init__(self) -> None:
        self._by_uai: dict[str, str] = {}
        self._lock = threading.Lock()

    def claim(self, uai: str, entry: BatchEntry) -> None:
        with self._lock:
            other = self._by_uai.setdefault(uai, entry.key)
        if other != entry.key:
            name = other.split(":", 1)[-1]
            raise UnusableInput(t("batch.twice", uai=uai, file=entry.where, other=Path(name).name))


def _establishment(entry: BatchEntry, export: IdentifiersFile) -> str:
    """The file's UAI, checked against what the manifest or the file's name says."""
    for problem in export.problems:
        if problem.kind == "invalid_uai":
            raise UnusableInput(
                t("match.invalid_uai", file=entry.where, value=problem.params["value"])
            )
    if entry.uai and export.uai and entry.uai != export.uai:
        raise UnusableInput(
            t("batch.other_uai", file=entry.where, file_uai=export.uai, uai=entry.uai)
        )
    uai = export.uai or entry.uai
    if not uai:
        raise UnusableInput(t("match.no_uai", file=entry.where))
    return uai_part(uai)


def _ours(
    data_dir: Path, uai: str, mine: str | None, since: int | None
) -> tuple[SessionRecord | None, SessionRecord | None]:
    """(a session of this batch to resume, one of this batch that completed unrecorded):
    `mine` the session the batch recorded for the establishment, `since` when the
    interrupted run started it (a session begun after that, not yet recorded)."""
    if mine is None and since is None:
        return None, None

    def of_batch(record: SessionRecord) -> bool:
        started = int(record.header.get("started_ns") or 0)
        return record.session == mine or (since is not None and started >= since)

    cut = resumable_session(data_dir, uai)
    if cut is not None and of_batch(cut):
        return cut, None
    imports = [r for r in sessions(data_dir, uai) if r.kind == "import" and of_batch(r)]
    if imports and imports[-1].ended == COMPLETED:
        return None, imports[-1]
    return None, None


def _from_journal(result: EstablishmentResult, record: SessionRecord) -> None:
    """Counts a session's journal holds (the whole session, resumed parts included)."""
    written = record.written()
    result.counts["written"] = len(written)
    result.counts["removed"] = sum(1 for o in written if o.get("kind") == ChangeKind.REMOVE.value)
    result.counts["refused"] = record.counts()["failed"]
    result.counts["left_for_human"] = sum(len(v) for v in record.remaining.values())


def import_establishment(
    entry: BatchEntry,
    open_directory: Callable[[], Any],
    settings: BatchSettings,
    state: BatchState,
    claims: _Claims,
) -> EstablishmentResult:
    """`apply` of one establishment's file; never raises: a failure is the result's."""
    started = time.perf_counter()
    result = EstablishmentResult(str(entry.file), entry.uai)
    # What the interrupted run recorded, read before this run records its own start.
    mine, since = state.sessions.get(entry.key), state.started_ns.get(entry.key)
    state.record_start(entry.key)
    session: ImportSession | None = None

    def started_session(s: ImportSession) -> None:
        if s.session:
            result.session = s.session
            state.record_session(entry.key, s.session)

    try:
        export = read_identifiers_file(entry.file, settings.file_schema)
        result.etablissement = export.establishment_name
        uai = result.uai = _establishment(entry, export)
        claims.claim(uai, entry)
        cut, completed = _ours(settings.data_dir, uai, mine, since)
        if completed is not None:
            # Killed after its session ended and before the batch wrote it down.
            result.session = completed.session
            _from_journal(result, completed)
            left = result.counts["left_for_human"] or result.counts["refused"]
            result.outcome = LEFT if left else COMPLETED
        else:
            with open_directory() as directory:
                session = open_session(
                    directory,
                    export,
                    uai=uai,
                    mode=cut.header.get("mode", settings.mode) if cut else settings.mode,
                    data_dir=settings.data_dir,
                    settings=settings.matching,
                    resume=cut or False,
                    start=False,  # run_automatic starts it, after the mass-removal guard
                )
                result.resumed = cut is not None
                with session:
                    run = run_automatic(
                        session,
                        CATEGORIES,
                        resumed=cut is not None,
                        allow_mass_removal=settings.allow_mass_removal,
                        on_start=started_session,
                    )
            result.counts["recognised"] = sum(len(s.recognised) for s in run.steps)
            result.counts["left_for_human"] = sum(len(s.unrecognised) for s in run.steps)
            result.counts["refused"] = len(run.failures)
            result.errors += [
                f"{o.change.login} {o.change.idpn or o.change.previous}: "
                f"{o.reason or o.failure or ''}"
                for o in run.failures
            ]
            if session.journal is not None:
                _from_journal(result, read_session(session.journal.path))
            left = result.counts["left_for_human"] or result.counts["refused"]
            result.outcome = LEFT if left else COMPLETED
    except IdpronoteError as error:
        result.outcome = FAILED
        result.errors.append(" ".join(str(error).split()))
        if session is not None and session.session:
            result.session = session.session
    except Exception as error:  # one establishment's bug must not stop the region
        result.outcome = FAILED
        note = settings.internal_error(error) if settings.internal_error else type(error).__name__
        result.errors.append(note)
    result.seconds = round(time.perf_counter() - started, 3)
    state.record_done(entry.key, result)
    return result


# -- the batch --------------------------------------------------------------------------------


def run_batch(
    entries: Iterable[BatchEntry],
    open_directory: Callable[[], Any],
    settings: BatchSettings,
    state: BatchState,
    *,
    progress: Callable[[EstablishmentResult, int, int], None] | None = None,
) -> list[EstablishmentResult]:
    """Every entry imported (`settings.jobs` at a time); the results in the entries' order.

    Entries the state says ended (a resumed batch) are not run again; their
    recorded results come back marked `earlier`.
    """
    entries = list(entries)
    results: dict[str, EstablishmentResult] = {}
    claims = _Claims()
    todo = []
    for entry in entries:
        done = state.done.get(entry.key)
        if done is not None and done.get("outcome") in (COMPLETED, LEFT):
            result = EstablishmentResult.from_json(done)
            result.earlier = True
            results[entry.key] = result
            if result.uai:
                claims.claim(result.uai, entry)
        else:
            todo.append(entry)
    total, count = len(entries), len(results)
    with ThreadPoolExecutor(max_workers=max(1, settings.jobs), thread_name_prefix="batch") as pool:
        futures: dict[Future[EstablishmentResult], BatchEntry] = {
            pool.submit(import_establishment, e, open_directory, settings, state, claims): e
            for e in todo
        }
        try:
            for future in as_completed(futures):
                result = future.result()
                results[futures[future].key] = result
                count += 1
                if progress is not None:
                    progress(result, count, total)
        except KeyboardInterrupt:
            # The establishments being imported finish (their sessions end cleanly);
            # the others wait for --resume.
            for future in futures:
                future.cancel()
            raise
    state.end()
    return [results[e.key] for e in entries]
