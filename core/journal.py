"""The write-ahead journal of import sessions, and the establishment lock.

Directories have no transactions. Every write batch is journaled before it is
sent (intent) and after (outcome), in JSON lines flushed and fsynced, so that
after a crash or a dead server the next start knows exactly what may have
been written: the intents without an outcome. Replaying them is safe because
adapters report a change already in effect as applied without writing it.

Journals hold personal data (names, identifiers): files are created 0600 in
directories 0700, and only the owner can read them.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import secrets
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import IdpronoteError
from core.i18n import t
from core.model import ChangeKind, ChangeOutcome, IdentifierChange

__all__ = [
    "EstablishmentLock",
    "Journal",
    "LockHeld",
    "SessionRecord",
    "private_dir",
    "purge",
    "purge_candidates",
    "read_session",
    "sessions",
]

FORMAT_VERSION = 1


class LockHeld(IdpronoteError):
    """Another session is importing this establishment."""


def private_dir(path: Path) -> Path:
    """A directory only its owner can enter (created 0700, tightened if it exists)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_session_id() -> str:
    return datetime.now().strftime("%Y-%m-%dT%H-%M-%S") + "-" + secrets.token_hex(2)


def operator(identity: str | None = None) -> dict[str, str | None]:
    """Who is writing: the system user, the host, and the directory identity used."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname(), "directory_identity": identity}


def change_json(change: IdentifierChange) -> dict[str, Any]:
    return {
        "login": change.login,
        "uai": change.uai,
        "kind": change.kind.value,
        "idpn": change.idpn,
        "previous": change.previous,
    }


def change_from_json(data: dict[str, Any]) -> IdentifierChange:
    return IdentifierChange(
        login=data["login"],
        uai=data["uai"],
        kind=ChangeKind(data["kind"]),
        idpn=data.get("idpn"),
        previous=data.get("previous"),
    )


def outcome_json(outcome: ChangeOutcome) -> dict[str, Any]:
    return {
        **change_json(outcome.change),
        "applied": outcome.applied,
        "wrote": outcome.wrote,
        "failure": outcome.failure,
        "reason": outcome.reason,
    }


# -- writing ---------------------------------------------------------------------------------


class Journal:
    """One session's journal file: append-only, each record durable before the next step."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._batches = 0

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
        folder = private_dir(private_dir(data_dir) / "journals") / uai
        private_dir(folder)
        journal = cls(folder / f"{session}.jsonl")
        journal.session = session
        journal.append({"type": "session", "session": session, "uai": uai, "kind": kind,
                        "version": FORMAT_VERSION, "started": now(),
                        "started_ns": time.time_ns(), **header})  # fmt: skip
        return journal

    @classmethod
    def reopen(cls, record: SessionRecord) -> Journal:
        journal = cls(record.path)
        journal.session = record.session
        journal._batches = record.batches
        return journal

    session: str = ""

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def intent(
        self,
        step: str,
        changes: Sequence[IdentifierChange],
        manual: dict[str, str] | None = None,
    ) -> int:
        """Before a batch is sent: what is about to be written, and what it replaces.

        `manual` (identifier -> login) says which links the admin made by
        hand, so that a resumed session still remembers them.
        """
        self._batches += 1
        self.append({"type": "intent", "batch": self._batches, "step": step, "time": now(),
                     "changes": [change_json(c) for c in changes],
                     "manual": manual or {}})  # fmt: skip
        return self._batches

    def outcome(self, batch: int, step: str, outcomes: Sequence[ChangeOutcome]) -> None:
        """After the batch: what the directory confirmed, change by change."""
        self.append({"type": "outcome", "batch": batch, "step": step, "time": now(),
                     "outcomes": [outcome_json(o) for o in outcomes]})  # fmt: skip

    def step_done(self, step: str, summary: dict[str, Any]) -> None:
        self.append({"type": "step", "step": step, "time": now(), **summary})

    def resumed(self) -> None:
        self.append({"type": "resumed", "time": now(), "operator": operator()})

    def end(self, outcome: str) -> None:
        self.append({"type": "end", "outcome": outcome, "time": now()})


# -- reading ---------------------------------------------------------------------------------


@dataclass
class SessionRecord:
    """A journal read back: enough to list, resume or undo the session."""

    path: Path
    session: str
    uai: str
    kind: str  # "import" or "undo"
    header: dict[str, Any]
    started: str
    steps_done: list[str] = field(default_factory=list)
    # Per validated step: the accounts left unlinked (idpn, names, rule, reason...).
    remaining: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    intents: dict[int, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    ended: str | None = None  # "completed", "interrupted", "undone", ...
    ended_at: str | None = None
    damaged_lines: int = 0

    @property
    def batches(self) -> int:
        return max([0, *self.intents, *self.outcomes])

    @property
    def unfinished(self) -> bool:
        """Cut by a crash or a dead server: what it was writing may be half-written."""
        return self.ended is None

    @property
    def resumable(self) -> bool:
        """An import that can go on: cut, or interrupted by the admin."""
        return (
            self.kind == "import"
            and self.ended in (None, "interrupted")
            and (self.header.get("mode") in ("complet", "partiel"))
        )

    def pending(self) -> list[tuple[int, str, list[IdentifierChange], dict[str, str]]]:
        """Batches journaled as intended with no outcome: they may be half-written.

        (batch, step, changes, manual links of the step).
        """
        return [
            (
                batch,
                record["step"],
                [change_from_json(c) for c in record["changes"]],
                record.get("manual", {}),
            )
            for batch, record in sorted(self.intents.items())
            if batch not in self.outcomes
        ]

    def written(self) -> list[dict[str, Any]]:
        """Every change this session wrote, in order."""
        return [
            o
            for batch in sorted(self.outcomes)
            for o in self.outcomes[batch]["outcomes"]
            if o.get("wrote")
        ]

    def counts(self) -> dict[str, int]:
        outcomes = [o for b in self.outcomes.values() for o in b["outcomes"]]
        return {
            "written": sum(1 for o in outcomes if o.get("wrote")),
            "failed": sum(1 for o in outcomes if not o.get("applied")),
            "pending": sum(len(r["changes"]) for b, r in self.intents.items()
                           if b not in self.outcomes),
        }  # fmt: skip

    @property
    def status(self) -> str:
        if self.ended:
            return self.ended
        return "unfinished"


def read_session(path: Path) -> SessionRecord:
    """Parse one journal; a line cut by a crash is counted, never fatal."""
    record: SessionRecord | None = None
    damaged = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                damaged += 1
                continue
            kind = data.get("type")
            if kind == "session":
                header = {k: v for k, v in data.items() if k not in ("type",)}
                record = SessionRecord(
                    path=path,
                    session=data["session"],
                    uai=data["uai"],
                    kind=data.get("kind", "import"),
                    header=header,
                    started=data.get("started", ""),
                )
            elif record is None:
                damaged += 1
            elif kind == "intent":
                record.intents[data["batch"]] = data
            elif kind == "outcome":
                record.outcomes[data["batch"]] = data
            elif kind == "step":
                record.steps_done.append(data["step"])
                record.remaining[data["step"]] = data.get("remaining", [])
            elif kind == "end":
                record.ended, record.ended_at = data["outcome"], data.get("time")
            elif kind == "resumed":
                record.ended = record.ended_at = None
    if record is None:
        raise IdpronoteError(t("journal.unreadable", path=path))
    record.damaged_lines = damaged
    return record


def sessions(data_dir: Path, uai: str | None = None) -> list[SessionRecord]:
    """Every journaled session, oldest first (optionally of one establishment)."""
    root = data_dir / "journals"
    if not root.is_dir():
        return []
    folders = [root / uai] if uai else sorted(p for p in root.iterdir() if p.is_dir())
    found = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.jsonl")):
            with contextlib.suppress(IdpronoteError, OSError):
                found.append(read_session(path))
    return sorted(found, key=lambda r: (r.header.get("started_ns", 0), r.started, r.session))


def last_activity(record: SessionRecord) -> datetime | None:
    """When the session last did something: its end, else its start."""
    for text in (record.ended_at, record.started):
        if text:
            with contextlib.suppress(ValueError):
                moment = datetime.fromisoformat(text)
                return moment if moment.tzinfo else moment.astimezone()
    return None


def purge_candidates(
    data_dir: Path, older_than: timedelta, *, at: datetime | None = None
) -> tuple[list[SessionRecord], list[SessionRecord]]:
    """Journals past retention: (those that may go, those kept anyway).

    A session cut in the middle of a write (no end) is kept whatever its age:
    its journal is the only record of what may be half-written. So is one
    whose date cannot be read. Everything else older than `older_than` may go.
    """
    at = at or datetime.now().astimezone()
    limit = at - older_than
    expired, kept = [], []
    for record in sessions(data_dir):
        moment = last_activity(record)
        if moment is None or moment >= limit:
            continue
        (kept if record.unfinished else expired).append(record)
    return expired, kept


def purge(records: Sequence[SessionRecord]) -> list[str]:
    """Delete these journals (their lock files are the establishments', not theirs)."""
    deleted = []
    for record in records:
        with contextlib.suppress(FileNotFoundError):
            record.path.unlink()
        deleted.append(record.session)
    return deleted


def find_session(data_dir: Path, session: str) -> SessionRecord:
    for record in sessions(data_dir):
        if record.session == session:
            return record
    raise IdpronoteError(t("journal.no_session", session=session))


# -- the lock --------------------------------------------------------------------------------


class EstablishmentLock:
    """One import of an establishment at a time, on this machine's data directory.

    `flock` is released by the kernel when the process dies, so a crash
    never leaves a stale lock; the file's content says who holds it.
    """

    def __init__(self, data_dir: Path, uai: str) -> None:
        self.path = private_dir(data_dir / "locks") / f"{uai}.lock"
        self.uai = uai
        self._fd: int | None = None

    def acquire(self, session: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self._holder(fd)
            os.close(fd)
            raise LockHeld(
                t(
                    "journal.locked",
                    uai=self.uai,
                    user=holder.get("user", "?"),
                    host=holder.get("host", "?"),
                    pid=holder.get("pid", "?"),
                    since=holder.get("since", "?"),
                )
            ) from None
        os.ftruncate(fd, 0)
        info = {**operator(), "pid": os.getpid(), "since": now(), "session": session}
        os.write(fd, json.dumps(info).encode())
        os.fsync(fd)
        self._fd = fd

    @staticmethod
    def _holder(fd: int) -> dict[str, Any]:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            return json.loads(os.read(fd, 4096) or b"{}")
        except (OSError, ValueError):
            return {}

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
    """The establishment's last import, if it can be resumed (a later one supersedes it)."""
    imports = [
        r
        for r in sessions(data_dir, uai)
        if r.kind == "import" and r.header.get("mode") in ("complet", "partiel")
    ]
    return imports[-1] if imports and imports[-1].resumable else None
