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
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.automatic import run_automatic
from core.errors import IdpronoteError, UnusableInput
from core.i18n import t
from core.journal import SessionRecord, new_session_id, read_session, resumable_session, sessions
from core.journal_lines import append_durably
from core.matching import MatchSettings
from core.model import CATEGORIES, UAI_PATTERN, ChangeKind
from core.private_files import check_private_dir, private_dir, read_private, uai_part
from core.pronote_file import FileSchema, IdentifiersFile, read_identifiers_file
from core.text import printable
from core.wizard import ImportSession
from core.wizard_open import open_session

__all__ = [
    "COUNT_KEYS",
    "OUTCOMES",
    "BatchEntry",
    "BatchSettings",
    "BatchState",
    "EstablishmentResult",
    "entries_in",
    "read_manifest",
    "run_batch",
]

COMPLETED, LEFT, FAILED = "completed", "left_for_human", "failed"
OUTCOMES = (COMPLETED, LEFT, FAILED)
COUNT_KEYS = ("recognised", "left_for_human", "written", "refused", "removed")
# A UAI in a file name: 7 digits and a letter, not inside a longer word or number.
_UAI_IN_NAME = re.compile(r"(?<![0-9A-Za-z])([0-9]{7}[A-Za-z])(?![0-9A-Za-z])")
_SEPARATOR = re.compile(r"[;,\t]")


# -- what to import --------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchEntry:
    """One establishment's file; `uai` what the manifest or the file's name says (or None)."""

    file: Path
    uai: str | None
    where: str  # "manifest.csv:3", or the file's name: for messages

    @property
    def key(self) -> str:
        """Unique in a batch, the same at its resume: a manifest's UAIs and a folder's
        files are each named once."""
        return f"{self.uai or ''}:{self.file}"


def uai_in_name(name: str) -> str | None:
    """The UAI a file's name carries (`0441234A.xml`, `export-0441234a.xml`), if exactly one."""
    found = {m.upper() for m in _UAI_IN_NAME.findall(Path(name).stem)}
    return uai_part(found.pop()) if len(found) == 1 else None


def entries_in(folder: Path) -> list[BatchEntry]:
    """Every `*.xml` file of `folder` (not its sub-folders, not hidden files), by name."""
    folder = Path(folder).absolute()  # the same keys however the folder is named
    if not folder.is_dir():
        raise UnusableInput(t("batch.no_folder", path=folder))
    files = sorted(
        p
        for p in folder.iterdir()
        if p.suffix.lower() == ".xml" and not p.name.startswith(".") and p.is_file()
    )
    if not files:
        raise UnusableInput(t("batch.empty_folder", path=folder))
    return [BatchEntry(p, uai_in_name(p.name), p.name) for p in files]


def read_manifest(path: Path) -> list[BatchEntry]:
    """`UAI;FILE` lines (`,` or a tab also separate; `#` comments, blank lines, and a first
    line `uai;…` are skipped); a relative FILE is beside the manifest.

    Every UAI is checked against the pattern before any path is built, and
    the whole manifest is refused, with its line, if one is not a UAI.
    """
    path = Path(path).absolute()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnusableInput(t("batch.no_manifest", path=path)) from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UnusableInput(t("batch.manifest_unreadable", path=path, error=reason)) from None
    entries: list[BatchEntry] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = _SEPARATOR.split(line, maxsplit=1)
        code = parts[0].strip()
        if not entries and not seen and code.casefold() == "uai":
            seen[""] = number  # a header line
            continue
        if len(parts) != 2 or not parts[1].strip():
            raise UnusableInput(t("batch.manifest_line", path=path, line=number))
        if not UAI_PATTERN.fullmatch(code.upper()):
            raise UnusableInput(
                t("batch.manifest_bad_uai", path=path, line=number, value=printable(repr(code)))
            )
        uai = uai_part(code.upper())
        if uai in seen:
            raise UnusableInput(
                t("batch.manifest_twice", path=path, line=number, uai=uai, first=seen[uai])
            )
        seen[uai] = number
        file = Path(parts[1].strip()).expanduser()
        if not file.is_absolute():
            file = path.parent / file
        entries.append(BatchEntry(file, uai, f"{path.name}:{number}"))
    if not entries:
        raise UnusableInput(t("batch.manifest_empty", path=path))
    return entries


# -- what each establishment gave -------------------------------------------------------------


@dataclass
class EstablishmentResult:
    """One establishment's line of the report (`as_json`: README, "batch")."""

    file: str
    uai: str | None
    etablissement: str | None = None
    outcome: str = FAILED
    session: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))
    errors: list[str] = field(default_factory=list)
    resumed: bool = False  # this run resumed a session the interruption had cut
    earlier: bool = False  # ended in the interrupted run: not run again
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EstablishmentResult:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


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


# -- the batch's own record -------------------------------------------------------------------


class BatchState:
    """`<data_dir>/batches/<id>.jsonl`: the batch's events, each line durable (0600)."""

    def __init__(self, path: Path, header: dict[str, Any], size: int = 0) -> None:
        self.path = path
        self.header = header
        self.batch: str = header["batch"]
        self.started_ns: dict[str, int] = {}
        self.sessions: dict[str, str] = {}
        self.done: dict[str, dict[str, Any]] = {}
        self.ended = False
        self._size = size
        self._writing = threading.Lock()

    @staticmethod
    def _folder(data_dir: Path) -> Path:
        return private_dir(private_dir(Path(data_dir), link_ok=True) / "batches")

    @classmethod
    def create(cls, data_dir: Path, *, source: str, kind: str, mode: str) -> BatchState:
        batch = "batch-" + new_session_id()
        header = {"type": "batch", "batch": batch, "source": source, "kind": kind,
                  "mode": mode, "started": time.time_ns()}  # fmt: skip
        state = cls(cls._folder(data_dir) / f"{batch}.jsonl", header)
        state._append(header)
        return state

    @classmethod
    def read(cls, path: Path) -> BatchState | None:
        data = read_private(path)
        lines = data.split(b"\n")
        tail = lines.pop()  # b"" when the file ends cleanly; else a line a kill cut
        state: BatchState | None = None
        for raw in lines:
            try:
                record = json.loads(raw)
            except ValueError:
                return None  # not a line this program wrote whole: not trusted
            if state is None:
                if record.get("type") != "batch" or not isinstance(record.get("batch"), str):
                    return None
                state = cls(path, record)
                continue
            key = str(record.get("key", ""))
            kind = record.get("type")
            if kind == "start":
                state.started_ns[key] = int(record.get("time", 0))
            elif kind == "session" and isinstance(record.get("session"), str):
                state.sessions[key] = record["session"]
            elif kind == "done" and isinstance(record.get("result"), dict):
                state._ended(key, record["result"])
            elif kind == "end":
                state.ended = True
            elif kind == "resumed":
                state.ended = False
        if state is not None:
            state._size = len(data) - len(tail)
        return state

    @classmethod
    def latest(cls, data_dir: Path, *, source: str, kind: str) -> BatchState | None:
        """The latest batch over this very input (a folder or a manifest), if any."""
        folder = Path(data_dir) / "batches"
        if not check_private_dir(Path(data_dir), link_ok=True) or not check_private_dir(folder):
            return None
        found = []
        for path in folder.glob("batch-*.jsonl"):
            with contextlib.suppress(OSError):
                state = cls.read(path)
                if (
                    state is not None
                    and state.header.get("source") == source
                    and (state.header.get("kind") == kind)
                ):
                    found.append(state)
        found.sort(key=lambda s: int(s.header.get("started", 0)))
        return found[-1] if found else None

    def unfinished(self, entries: Iterable[BatchEntry]) -> list[BatchEntry]:
        """The entries this batch did not bring to an end: failed, cut, or never run."""
        return [
            e
            for e in entries
            if (self.done.get(e.key) or {}).get("outcome") not in (COMPLETED, LEFT)
        ]

    def resumed(self) -> None:
        self.ended = False
        self._append({"type": "resumed", "time": time.time_ns()})

    def _append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=True) + "\n").encode("ascii")
        with self._writing:
            append_durably(self.path, self._size, line)
            self._size += len(line)

    def record_start(self, key: str) -> None:
        moment = time.time_ns()
        self.started_ns[key] = moment
        self._append({"type": "start", "key": key, "time": moment})

    def record_session(self, key: str, session: str) -> None:
        self.sessions[key] = session
        self._append({"type": "session", "key": key, "session": session})

    def record_done(self, key: str, result: EstablishmentResult) -> None:
        self._ended(key, result.as_json())
        self._append({"type": "done", "key": key, "result": result.as_json()})

    def _ended(self, key: str, result: dict[str, Any]) -> None:
        """An establishment's run ended: its session (if any) is the one a resume looks
        for; no session begun after its start can be its own any more."""
        self.done[key] = result
        self.started_ns.pop(key, None)
        if isinstance(result.get("session"), str):
            self.sessions[key] = result["session"]
        else:
            self.sessions.pop(key, None)

    def end(self) -> None:
        self.ended = True
        self._append({"type": "end", "time": time.time_ns()})


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
