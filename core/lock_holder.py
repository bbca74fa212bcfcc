"""Who holds a lock file: what its holder writes in it, read back, and the words naming it.

The establishment lock (core/establishment_lock.py) and a directory file's
write lock (directory_adapters/file_protocol.py) both hold, while taken, a
small JSON record of their holder, so that whoever is kept waiting is told
who, where and since when.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from core.i18n import t
from core.journal_format import now, operator

__all__ = ["held_by", "holder_record", "read_holder"]


def holder_record(**extra: Any) -> dict[str, Any]:
    """What a holder writes in the lock file: user, host, pid, since (and `extra`)."""
    return {**operator(), "pid": os.getpid(), "since": now(), **extra}


def read_holder(fd: int) -> dict[str, Any]:
    """The record in the lock file open as `fd`; {} when unreadable (a courtesy, not a proof)."""
    try:
        found = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def held_by(key: str, holder: Mapping[str, Any], **params: Any) -> str:
    """The message `key`, naming the holder ("?" for what the record lacks)."""
    return t(
        key,
        user=holder.get("user", "?"),
        host=holder.get("host", "?"),
        pid=holder.get("pid", "?"),
        since=holder.get("since", "?"),
        **params,
    )
