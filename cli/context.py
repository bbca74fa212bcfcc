"""What every headless command receives and how it writes (cli/main.py builds it).

`Context` holds a command's arguments and the effective configuration; `say`
is the one way text reaches a terminal (escaped by `core.text.printable`);
`write_private` the one way a report reaches a file (0600, never through a
link). Nothing here imports Textual.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cli import words as _words  # noqa: F401  (registers the words)
from core.config import Config
from core.errors import IdpronoteError
from core.i18n import t
from core.private_files import replace_file
from core.text import printable

__all__ = ["EXIT_OK", "EXIT_USAGE", "Context", "Handler", "UsageError", "say", "write_private"]

# The exit statuses every command shares (CONTRACT.md); a command's own "1" (something
# left for a human, a problem found) is its result.
EXIT_OK = 0
EXIT_USAGE = 2


class UsageError(IdpronoteError):
    """Bad usage: exit 2 with the reason."""


@dataclass
class Context:
    """What a command gets: its arguments and the effective configuration."""

    args: argparse.Namespace
    config: Config

    @property
    def format(self) -> str:
        return self.args.format or "text"

    def require_format(self, *allowed: str) -> str:
        if self.format not in allowed:
            raise UsageError(
                t("cli.format_unsupported", format=self.format, allowed=", ".join(allowed))
            )
        return self.format

    @property
    def uai(self) -> str | None:
        return self.args.uai

    def emit(self, text: str) -> None:
        """Write the command's result to --output (created 0600) or stdout.

        Whatever the command put in it, no control, escape or bidi character
        reaches a terminal (or a file someone will `cat`): `printable` is
        applied to the whole text, the one escaping every output goes through.
        """
        if not text.endswith("\n"):
            text += "\n"
        if self.args.output and self.args.output != "-":
            write_private(Path(self.args.output), text)
            say(t("cli.written", path=self.args.output), sys.stderr)
        else:
            say(text, sys.stdout, end="")


def say(text: str, stream, *, end: str = "\n") -> None:
    """Every text idpronote writes to a terminal, escaped (`core.text.printable`)."""
    stream.write(printable(text, keep_newlines=True) + end)


def write_private(path: Path, text: str) -> None:
    """Reports hold personal data: readable by their owner only.

    Written beside the target (a temporary file `O_EXCL`, then a rename):
    never through a symbolic link, never into a file someone else owns.
    """
    replace_file(path, printable(text, keep_newlines=True).encode("utf-8"))


Handler = Callable[[Context], int]
