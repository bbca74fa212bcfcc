"""The reading side of the journal: a session read back (`SessionRecord`), the
listing of an establishment's sessions, damage acknowledgement and purge.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import IdpronoteError
from core.i18n import t
from core.journal_format import RETRIED, JournalDamaged, change_from_json, change_key, now, operator
from core.journal_lines import append_durably, read_lines
from core.model import DIRECTORY_FAILURES, UAI_PATTERN, IdentifierChange
from core.private_files import (
    UnsafePath,
    check_private_dir,
    read_private,
    uai_part,
)


@dataclass
class SessionRecord:
    """A journal read back: enough to list, resume or undo the session."""

    path: Path
    session: str
    uai: str
    kind: str  # "import" or "undo" ("unknown" when the header is damaged or missing)
    header: dict[str, Any]
    started: str
    steps_done: list[str] = field(default_factory=list)
    # Per step: the accounts left unlinked (idpn, names, rule, reason...), from its
    # validation (the intent), then from its end.
    remaining: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    intents: dict[int, dict[str, Any]] = field(default_factory=dict)
    outcomes: dict[int, dict[str, Any]] = field(default_factory=dict)
    # login (casefolded) -> the auxiliary object class a write of the session added.
    classes: dict[str, str] = field(default_factory=dict)
    # The directory locks this session took over from expired leases (lock, previous).
    takeovers: list[dict[str, Any]] = field(default_factory=list)
    ended: str | None = None  # "completed", "interrupted", "cut", "undone", ...
    ended_at: str | None = None
    end_reason: str | None = None
    # Line numbers that do not verify (or are missing from the chain).
    damaged: list[int] = field(default_factory=list)
    legacy: bool = False  # format 1: no checksums to verify
    torn: int = 0  # bytes of a last line cut while being written
    size: int = 0  # where the next line goes
    last: str | None = None  # the sum the next line chains to
    acknowledged: bool = False  # an admin took note of the damage
    # Per step: the admin's choices journaled before it was validated, in order
    # (action, idpn, login, keep); superseded once the step is done.
    drafts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def damaged_lines(self) -> int:
        return len(self.damaged)

    @property
    def batches(self) -> int:
        return max([0, *self.intents, *self.outcomes])

    @property
    def unfinished(self) -> bool:
        """Cut by a crash or a dead server: what it was writing may be half-written."""
        return self.ended in (None, "cut")

    @property
    def resumable(self) -> bool:
        """An import that can go on: cut, or interrupted by the admin."""
        return (
            self.kind == "import"
            and not self.damaged
            and self.ended in (None, "interrupted", "cut")
            and (self.header.get("mode") in ("complet", "partiel"))
        )

    @property
    def must_finish(self) -> bool:
        """Cut while writing: what it was writing must be settled before another import."""
        broken = any(o.get("failure") in DIRECTORY_FAILURES for _step, o in self.unsettled())
        return self.resumable and (self.ended == "cut" or bool(self.pending()) or broken)

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

    def last_outcomes(self) -> dict[tuple, tuple[str, dict[str, Any]]]:
        """The latest outcome of every change (a retry supersedes a failure): key -> (step, it)."""
        latest: dict[tuple, tuple[str, dict[str, Any]]] = {}
        for batch in sorted(self.outcomes):
            record = self.outcomes[batch]
            for o in record["outcomes"]:
                latest[change_key(o)] = (record["step"], o)
        return latest

    def unsettled(self) -> list[tuple[str, dict[str, Any]]]:
        """Changes whose latest outcome is a failure a resume tries again: (step, outcome)."""
        return [
            (step, o)
            for step, o in self.last_outcomes().values()
            if not o.get("applied") and o.get("failure") in RETRIED
        ]

    def written(self) -> list[dict[str, Any]]:
        """Every change this session wrote, in order."""
        return [
            o
            for batch in sorted(self.outcomes)
            for o in self.outcomes[batch]["outcomes"]
            if o.get("wrote")
        ]

    def writes(self) -> list[tuple[dict[str, Any], bool]]:
        """What undo must look at, in order, each change once: (change, certain).

        Certain: an outcome says it wrote. Possible: intended with no
        outcome (cut before the proof), or sent and never confirmed; undo
        then finds out from the directory whether it is there.
        """
        found: dict[tuple, int] = {}
        result: list[tuple[dict[str, Any], bool]] = []

        def add(change: dict[str, Any], certain: bool) -> None:
            key = change_key(change)
            if key in found:
                i = found[key]
                result[i] = (result[i][0], result[i][1] or certain)
            else:
                found[key] = len(result)
                result.append((change, certain))

        for batch in sorted(set(self.intents) | set(self.outcomes)):
            if batch in self.outcomes:
                for o in self.outcomes[batch]["outcomes"]:
                    if o.get("wrote"):
                        add(o, True)
                    elif o.get("failure") == "unconfirmed":
                        add(o, False)
            else:
                for change in self.intents[batch]["changes"]:
                    add(change, False)
        return result

    def draft(self, step: str) -> list[dict[str, Any]]:
        """The choices to replay onto `step` on resume: none once it is validated."""
        return [] if step in self.steps_done else list(self.drafts.get(step, []))

    def step_counts(self) -> dict[str, dict[str, int]]:
        """Per step, from the journal (every run of the session, before and after a
        resume): changes written, refused (latest outcome), accounts left unlinked."""
        found: dict[str, dict[str, int]] = {}

        def of(step: str) -> dict[str, int]:
            return found.setdefault(step, {"written": 0, "failed": 0, "left": 0})

        for batch in sorted(self.outcomes):
            record = self.outcomes[batch]
            of(record["step"])["written"] += sum(1 for o in record["outcomes"] if o.get("wrote"))
        for step, o in self.last_outcomes().values():
            if not o.get("applied"):
                of(step)["failed"] += 1
        for step, left in self.remaining.items():
            of(step)["left"] = len(left)
        return found

    def counts(self) -> dict[str, int]:
        outcomes = [o for b in self.outcomes.values() for o in b["outcomes"]]
        return {
            "written": sum(1 for o in outcomes if o.get("wrote")),
            "failed": sum(1 for _step, o in self.last_outcomes().values() if not o.get("applied")),
            "pending": sum(len(r["changes"]) for b, r in self.intents.items()
                           if b not in self.outcomes),
        }  # fmt: skip

    @property
    def status(self) -> str:
        if self.damaged:
            return "damaged"
        if self.ended:
            return self.ended
        return "cut"

    def damage_message(self) -> str:
        return t(
            "journal.damaged",
            session=self.session,
            uai=self.uai,
            lines=_ranges(self.damaged),
            path=self.path,
        )

    def require_intact(self) -> None:
        """Refuse to act on a journal with a line that does not verify (undo)."""
        if self.damaged:
            raise JournalDamaged(
                t(
                    "journal.undo_damaged",
                    session=self.session,
                    lines=_ranges(self.damaged),
                    path=self.path,
                )
            )


def _ranges(numbers: Sequence[int]) -> str:
    """`3, 7-9`: line numbers, short."""
    parts: list[str] = []
    for n in sorted(numbers):
        if parts and parts[-1].split("-")[-1] == str(n - 1):
            parts[-1] = parts[-1].split("-")[0] + f"-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts[:10]) + (" …" if len(parts) > 10 else "")


def read_session(path: Path) -> SessionRecord:
    """Parse one journal, checking every line: damage is recorded, never fatal."""
    text = read_lines(path)
    record: SessionRecord | None = None
    damaged = list(text.damaged)
    for number, data in text.records:
        if number in text.damaged and data.get("type") != "session":
            continue  # verified alone, but not where it claims to be: not trusted
        try:
            kind = data.get("type")
            if kind == "session" and number == 1:
                if number in text.damaged:
                    raise ValueError("a header out of its chain")
                if not isinstance(data.get("uai"), str) or not UAI_PATTERN.fullmatch(data["uai"]):
                    # Never a path built from it (undo, resume take the lock of record.uai).
                    raise ValueError("an invalid establishment code")
                header = {k: v for k, v in data.items() if k not in ("type", "sum", "prev")}
                record = SessionRecord(
                    path=path,
                    session=data["session"],
                    uai=data["uai"],
                    kind=data.get("kind", "import"),
                    header=header,
                    started=data.get("started", ""),
                )
                continue
            if record is None:
                record = _headless(path)
                if number != 1 and 1 not in damaged:
                    damaged.append(1)
            if kind == "intent":
                record.intents[data["batch"]] = data
                if "remaining" in data:
                    record.remaining.setdefault(data["step"], data["remaining"])
            elif kind == "classes":
                record.classes.update({k.casefold(): v for k, v in data["added"].items()})
            elif kind == "outcome":
                record.outcomes[data["batch"]] = data
            elif kind == "draft":
                if not isinstance(data["step"], str) or not isinstance(data["action"], str):
                    raise ValueError("a draft without its step or action")
                record.drafts.setdefault(data["step"], []).append(data)
            elif kind == "step":
                if data["step"] not in record.steps_done:
                    record.steps_done.append(data["step"])
                record.remaining[data["step"]] = data.get("remaining", [])
            elif kind == "end":
                record.ended, record.ended_at = data["outcome"], data.get("time")
                record.end_reason = data.get("reason")
            elif kind == "resumed":
                record.ended = record.ended_at = record.end_reason = None
            elif kind == "lock_taken_over":
                record.takeovers.append({"lock": data["lock"], "previous": data["previous"]})
        except (KeyError, TypeError, ValueError, AttributeError):
            if number not in damaged:
                damaged.append(number)
    if record is None:
        # Nothing whole: a crash while the header itself was written (the session
        # never started), or a header that does not verify (damage).
        record = _headless(path)
    record.damaged = sorted(damaged)
    record.legacy = text.legacy
    record.torn = text.torn
    record.size, record.last = text.size, text.last
    record.acknowledged = bool(record.damaged) and _acknowledged(path)
    return record


def _headless(path: Path) -> SessionRecord:
    """A journal without a header that verifies: named after its file and folder."""
    return SessionRecord(
        path=path, session=path.stem, uai=path.parent.name, kind="unknown", header={}, started=""
    )


# -- damage, acknowledged --------------------------------------------------------------------


def _acknowledgement(path: Path) -> Path:
    return path.with_name(path.name + ".acknowledged")


def _digest_of(path: Path) -> str:
    return hashlib.sha256(read_private(path)).hexdigest()


def _acknowledged(path: Path) -> bool:
    """An admin took note of this damage (and the journal has not changed since)."""
    try:
        note = json.loads(read_private(_acknowledgement(path)).decode("utf-8"))
        return note.get("journal_sha256") == _digest_of(path)
    except (OSError, ValueError, AttributeError):
        return False


def acknowledge_damage(record: SessionRecord) -> Path:
    """Record that an admin checked a damaged session: it no longer blocks imports.

    The journal itself is left as it is (it is the evidence); the note beside
    it holds who, when, which lines, and the journal's hash then, so any later
    change to the journal makes it block again.
    """
    note = {
        "session": record.session,
        "uai": record.uai,
        "damaged_lines": record.damaged,
        "journal_sha256": _digest_of(record.path),
        "at": now(),
        "operator": operator(),
    }
    path = _acknowledgement(record.path)
    append_durably(path, 0, (json.dumps(note, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def sessions(data_dir: Path, uai: str | None = None) -> list[SessionRecord]:
    """Every journaled session, oldest first (optionally of one establishment)."""
    root = Path(data_dir) / "journals"
    if not check_private_dir(Path(data_dir), link_ok=True) or not check_private_dir(root):
        return []
    if uai:
        folders = [root / uai_part(uai)]
    else:  # only folders of establishment codes are ours
        folders = sorted(p for p in root.iterdir() if UAI_PATTERN.fullmatch(p.name))
    found = []
    for folder in folders:
        if not check_private_dir(folder):
            continue
        for path in sorted(folder.glob("*.jsonl")):
            try:
                found.append(read_session(path))
            except UnsafePath:
                raise  # a link or another user's file among the journals: say so
            except OSError:
                continue  # unreadable
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
    whose date cannot be read, and one damaged that nobody has looked at.
    Everything else older than `older_than` may go.
    """
    at = at or datetime.now().astimezone()
    limit = at - older_than
    expired, kept = [], []
    for record in sessions(data_dir):
        moment = last_activity(record)
        if moment is None or moment >= limit:
            continue
        unsure = record.unfinished or (record.damaged and not record.acknowledged)
        (kept if unsure else expired).append(record)
    return expired, kept


def purge(records: Sequence[SessionRecord]) -> list[str]:
    """Delete these journals (their lock files are the establishments', not theirs)."""
    deleted = []
    for record in records:
        with contextlib.suppress(FileNotFoundError):
            record.path.unlink()
        with contextlib.suppress(FileNotFoundError):
            _acknowledgement(record.path).unlink()
        deleted.append(record.session)
    return deleted


def find_session(data_dir: Path, session: str) -> SessionRecord:
    for record in sessions(data_dir):
        if record.session == session:
            return record
    raise IdpronoteError(t("journal.no_session", session=session))
