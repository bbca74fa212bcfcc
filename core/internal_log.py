"""Where an unexpected error's traceback goes: a private log file, never the terminal.

Both interfaces use it (the CLI's frame and the TUI's crash handler): the
admin reads one line naming this file; the developers read the file.
"""

from __future__ import annotations

import os
import traceback
from datetime import datetime
from pathlib import Path

from core.errors import IdpronoteError
from core.private_files import open_private, private_dir

__all__ = ["log_internal_error"]


def log_internal_error(error: BaseException) -> Path | str:
    """Keep the traceback for the developers, out of the admin's terminal."""
    import platformdirs

    try:
        directory = private_dir(Path(platformdirs.user_log_dir("idpronote")))
        path = directory / "errors.log"
        # Never through a link, never another user's file (private_files.py).
        fd = open_private(path, os.O_WRONLY | os.O_APPEND, create=True)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n")
            handle.write("".join(traceback.format_exception(error)))
        return path
    except (OSError, IdpronoteError):
        return "stderr"
