"""The journal's lines on disk: sealed, chained, appended only when the disk says yes.

Each line is one JSON object whose last member is `"sum"`: the first 16 hex
digits of the SHA-256 of the line's bytes without that member. Every line but
the first also carries `"prev"`, the sum of the line before it, so a line
taken out is noticed too. A line that does not verify is *damaged*: nothing
is done on its word. The only exception is a last line without its newline:
a crash (or a full disk) cut it while it was being written, and since the
protocol acts on a line only once it is whole and synced, that tail was never
acted on; the next append drops it.

Journals of format 1 (before checksums) have no sums; they are read as they
are, reported as not verifiable, and never mixed up with a damaged line of a
sealed journal: only a first line that is a session header of version 1
without a sum makes a journal format 1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.disk import file_system, fsync_directory
from core.errors import IdpronoteError
from core.i18n import t
from core.private_files import open_private, read_private

__all__ = [
    "JournalText",
    "JournalWriteError",
    "append_durably",
    "read_lines",
    "seal",
]

SUM = "sum"
PREV = "prev"
_SEALED = re.compile(rb',"sum":"([0-9a-f]{16})"\}')
_SEAL_SIZE = len(b',"sum":"') + 16 + len(b'"}')


class JournalWriteError(IdpronoteError):
    """A journal line could not be written whole and synced: the import must stop here."""


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:16]


def seal(record: dict[str, Any], prev: str | None) -> tuple[bytes, str]:
    """The line for `record` after a line whose sum is `prev`: (bytes, its sum)."""
    body = {k: v for k, v in record.items() if k not in (SUM, PREV)}
    if prev is not None:
        body[PREV] = prev
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    digest = _digest(text)
    return text[:-1] + f',"{SUM}":"{digest}"}}\n'.encode("ascii"), digest


def verify(raw: bytes) -> tuple[dict[str, Any], str] | None:
    """A line's record and sum if it verifies (`raw` without its newline), else None."""
    found = _SEALED.fullmatch(raw, len(raw) - _SEAL_SIZE)  # the seal ends the line
    if found is None:
        return None
    body = raw[: found.start()] + b"}"
    digest = found.group(1).decode("ascii")
    if _digest(body) != digest:
        return None
    try:
        data = json.loads(body.decode("utf-8"))
    except ValueError:
        return None
    return (data, digest) if isinstance(data, dict) else None


def _legacy(raw: bytes) -> dict[str, Any] | None:
    """A format-1 line: plain JSON, no sum."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        return None
    return data if isinstance(data, dict) and SUM not in data else None


@dataclass
class JournalText:
    """A journal file read and checked, line by line."""

    # (line number, record) of every line that verifies (or, format 1, parses).
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # Lines that do not verify, or whose `prev` does not name the line before.
    damaged: list[int] = field(default_factory=list)
    legacy: bool = False  # format 1: nothing to verify
    torn: int = 0  # bytes of a last line cut while being written (never acted on)
    size: int = 0  # bytes up to the end of the last whole line: where the next one goes
    last: str | None = None  # the sum of the last whole line, for the next one's `prev`


def read_lines(path: Path) -> JournalText:
    """Read `path`, checking every line (an unreadable file raises OSError)."""
    data = read_private(path)  # never through a link, never another user's file
    text = JournalText()
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline: b"" when the file ends cleanly
    text.size = len(data) - len(tail)
    first = _legacy(lines[0] if lines else tail)
    text.legacy = bool(first and first.get("type") == "session" and first.get("version", 1) <= 1)
    if tail:
        # A whole line followed by one stray byte is a newline changed, not a cut.
        whole = verify(tail[:-1]) is not None or (text.legacy and _legacy(tail[:-1]) is not None)
        if whole:
            lines.append(tail)
            text.size = len(data)
        else:
            text.torn = len(tail)
    previous: str | None = None  # the sum of the line before, if it verified
    previous_ok = False
    for number, raw in enumerate(lines, start=1):
        checked = verify(raw)
        if checked is not None:
            data_, digest = checked
            chained = data_.get(PREV)
            if number == 1:
                broken = chained is not None
            elif previous_ok and previous is not None:
                broken = chained != previous
            elif previous_ok:  # after a format-1 line: a resumed old journal starts a chain
                broken = chained is not None
            else:
                broken = False  # the line before is damaged already
            if broken:
                text.damaged.append(number)
            text.records.append((number, data_))
            previous, previous_ok = digest, True
            continue
        legacy = _legacy(raw) if text.legacy else None
        if legacy is not None:
            text.records.append((number, legacy))
            previous, previous_ok = None, True
            continue
        text.damaged.append(number)
        previous, previous_ok = None, False
    text.last = previous if previous_ok else None
    return text


def append_durably(path: Path, offset: int, data: bytes) -> None:
    """Write `data` at `offset` of `path` (created 0600), whole, then fsync.

    What lies beyond `offset` (a line cut by a crash) is cut off first. A
    short write, a full disk, an fsync refused: the file is cut back to
    `offset` (as far as the disk allows) and JournalWriteError says where.
    """
    created = not path.exists()
    try:
        # O_NOFOLLOW, and on the descriptor: a regular file of ours with one link.
        fd = open_private(path, os.O_WRONLY, create=True)
    except OSError as error:
        raise _failure(path, error) from None
    try:
        if os.fstat(fd).st_size != offset:
            os.ftruncate(fd, offset)
        view, position = memoryview(data), offset
        while view:
            written = os.pwrite(fd, view, position)
            if written <= 0:  # a short write that says nothing: the disk is full
                raise OSError(28, os.strerror(28))
            position += written
            view = view[written:]
        os.fsync(fd)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, offset)
        raise _failure(path, error) from None
    finally:
        os.close(fd)
    if created:
        fsync_directory(path.parent)


def _failure(path: Path, error: OSError) -> JournalWriteError:
    return JournalWriteError(
        t(
            "journal.write_failed",
            path=path,
            error=error.strerror or error,
            file_system=file_system(path),
        )
    )
