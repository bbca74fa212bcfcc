"""Errors are values the admin can act on: what, where, and what to do.

Every error that reaches the command line or a screen is one of these; the
CLI turns them into one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations


class IdpronoteError(Exception):
    """Base of every error the user is meant to read."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UnusableInput(IdpronoteError):
    """A file that cannot be used at all (not XML, too large, DTD, bad encoding...)."""


class ConfigError(IdpronoteError):
    """config.toml is missing something or holds a value that is not allowed."""


class DirectoryError(IdpronoteError):
    """The directory cannot be read or written (file unreadable, server down, rights)."""
