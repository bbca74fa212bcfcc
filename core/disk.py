"""What a write failure on disk needs to say: which file system, how full.

A full disk or a read-only mount is not the admin's file being wrong: the
message names the file system (its mount point, its type, the space left) so
that whoever reads it knows where to make room.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["file_system", "fsync_directory"]


def _mounts() -> list[tuple[str, str]]:
    """(mount point, type) of every mount, from /proc (empty where there is none)."""
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mounts", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if len(fields) >= 3:
                # Spaces and the like are octal-escaped in /proc/mounts.
                point = fields[1].encode().decode("unicode_escape")
                found.append((point, fields[2]))
    return found


def file_system(path: Path) -> str:
    """`/srv/data (ext4, 12.3 MB free)`: the file system that holds `path`."""
    where = Path(os.path.realpath(path))
    while not where.exists() and where != where.parent:
        where = where.parent
    point, kind = "/", ""
    for mount, mount_kind in _mounts():
        if (str(where) + "/").startswith(mount.rstrip("/") + "/") and len(mount) >= len(point):
            point, kind = mount, mount_kind
    free = ""
    with contextlib.suppress(OSError):
        info = os.statvfs(where)
        free = _size(info.f_bavail * info.f_frsize)
    details = ", ".join(x for x in (kind, free and f"{free} free") if x)
    return f"{point} ({details})" if details else point


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)  # pragma: no cover


def fsync_directory(directory: Path) -> None:
    """Make a new name (a rename, a created file) durable; best effort, as some
    file systems refuse to sync a directory."""
    try:
        handle = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
