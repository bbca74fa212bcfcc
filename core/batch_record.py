"""What a batch keeps of its run: each establishment's result, and its own record.

`EstablishmentResult` is one establishment's line of the report.
`BatchState` is `<data_dir>/batches/<id>.jsonl`, one durable line per event
(which establishment started, under which session, how it ended), read back
by `--resume` so that what ended is not run again (core/batch.py).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.batch_input import BatchEntry
from core.journal import new_session_id
from core.journal_lines import append_durably
from core.private_files import check_private_dir, private_dir, read_private

__all__ = [
    "COMPLETED",
    "COUNT_KEYS",
    "FAILED",
    "LEFT",
    "OUTCOMES",
    "BatchState",
    "EstablishmentResult",
]

COMPLETED, LEFT, FAILED = "completed", "left_for_human", "failed"
OUTCOMES = (COMPLETED, LEFT, FAILED)
COUNT_KEYS = ("recognised", "left_for_human", "written", "refused", "removed")


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
