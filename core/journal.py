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
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import IdpronoteError
from core.i18n import register, t
from core.journal_lines import JournalText, JournalWriteError, append_durably, read_lines, seal
from core.model import DIRECTORY_FAILURES, UAI_PATTERN, ChangeKind, ChangeOutcome, IdentifierChange
from core.private_files import (
    UnsafePath,
    check_private_dir,
    create_private,
    open_private,
    private_dir,
    read_private,
    uai_part,
)

__all__ = [
    "EstablishmentLock",
    "Journal",
    "JournalDamaged",
    "LockHeld",
    "SessionBlocked",
    "SessionRecord",
    "private_dir",
    "purge",
    "purge_candidates",
    "read_session",
    "sessions",
]

FORMAT_VERSION = 2  # 1: no checksums (before issue 21)

# The failures a resume tries again: the directory's own (DIRECTORY_FAILURES),
# and "error", which format-1 journals gave a server that went away.
RETRIED = DIRECTORY_FAILURES | {"error"}

register(
    {
        "journal.write_failed": (
            "le journal {path} n'a pas pu être écrit ({error}) sur le système de fichiers "
            "{file_system} : l'import s'arrête avant toute nouvelle écriture dans l'annuaire ; "
            "libérez de la place, puis reprenez-le (idpronote apply --resume, ou F5)",
            "the journal {path} could not be written ({error}) on the file system "
            "{file_system}: the import stops before writing anything more to the directory; "
            "make room there, then resume it (idpronote apply --resume, or F5)",
        ),
        "journal.damaged": (
            "le journal de la session {session} ({uai}) est endommagé : ligne(s) {lines} de "
            "{path} invérifiable(s) ; on ne peut plus s'y fier. Vérifiez l'annuaire "
            "(idpronote status --uai {uai}), puis prenez-en acte : "
            "idpronote history {session} --acknowledge-damage",
            "the journal of session {session} ({uai}) is damaged: line(s) {lines} of {path} "
            "do not verify; it can no longer be trusted. Check the directory (idpronote "
            "status --uai {uai}), then acknowledge it: "
            "idpronote history {session} --acknowledge-damage",
        ),
        "journal.undo_damaged": (
            "annulation refusée : le journal de la session {session} est endommagé "
            "(ligne(s) {lines} de {path} invérifiable(s)) ; rien n'a été modifié",
            "undo refused: the journal of session {session} is damaged (line(s) {lines} "
            "of {path} do not verify); nothing was changed",
        ),
    }
)


class LockHeld(IdpronoteError):
    """Another session is importing this establishment."""


class JournalDamaged(IdpronoteError):
    """A journal line does not verify: nothing is done on its word."""


class SessionBlocked(IdpronoteError):
    """A cut or damaged session must be dealt with before a new import starts."""


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
    found = {
        "login": change.login,
        "uai": change.uai,
        "kind": change.kind.value,
        "idpn": change.idpn,
        "previous": change.previous,
    }
    if change.drop_object_class:
        found["drop_object_class"] = True
    return found


def change_from_json(data: dict[str, Any]) -> IdentifierChange:
    return IdentifierChange(
        login=data["login"],
        uai=data["uai"],
        kind=ChangeKind(data["kind"]),
        idpn=data.get("idpn"),
        previous=data.get("previous"),
        drop_object_class=bool(data.get("drop_object_class")),
    )


def change_key(data: dict[str, Any]) -> tuple[str, str, str, str | None, str | None]:
    """One change as journaled, whatever batch (or retry) it was written in."""
    return (
        str(data["login"]).casefold(),
        str(data["uai"]).upper(),
        str(data["kind"]),
        data.get("idpn"),
        data.get("previous"),
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


# -- reading ---------------------------------------------------------------------------------


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


# -- the lock --------------------------------------------------------------------------------


class EstablishmentLock:
    """One import of an establishment at a time, on this machine's data directory.

    `flock` is released by the kernel when the process dies, so a crash
    never leaves a stale lock; the file's content says who holds it.
    """

    def __init__(self, data_dir: Path, uai: str) -> None:
        root = private_dir(private_dir(data_dir, link_ok=True) / "locks")
        self.path = root / f"{uai_part(uai)}.lock"
        self.uai = uai
        self._fd: int | None = None

    def acquire(self, session: str) -> None:
        # Never through a link, never another user's file: it is truncated below.
        fd = open_private(self.path, os.O_RDWR, create=True)
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
        info = {**operator(), "pid": os.getpid(), "since": now(), "session": session}
        with contextlib.suppress(OSError):  # who holds it is a courtesy: a full disk may refuse
            os.ftruncate(fd, 0)
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
    """The establishment's last import, if it can be resumed (a later one supersedes it,
    and one undone is over)."""
    found = sessions(data_dir, uai)
    undone = {r.header.get("undo_of") for r in found if r.kind == "undo" and r.ended}
    imports = [
        r for r in found if r.kind == "import" and r.header.get("mode") in ("complet", "partiel")
    ]
    if not imports or imports[-1].session in undone:
        return None
    return imports[-1] if imports[-1].resumable else None


def blocking_session(data_dir: Path, uai: str) -> SessionRecord | None:
    """What stops a new import of `uai`: a damaged session nobody acknowledged, or
    the last import cut while writing."""
    found = sessions(data_dir, uai)
    for record in found:
        if record.damaged and not record.acknowledged:
            return record
    last = resumable_session(data_dir, uai)
    return last if last is not None and last.must_finish else None


def refuse_if_blocked(data_dir: Path, uai: str) -> None:
    record = blocking_session(data_dir, uai)
    if record is None:
        return
    if record.damaged:
        raise SessionBlocked(record.damage_message())
    raise SessionBlocked(t("apply.cut_session", session=record.session, uai=uai))
