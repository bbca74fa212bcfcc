"""Errors the TUI raises and catches between its own modules (no Textual here).

Kept apart from tui/app.py so that a screen can catch them without importing
the application that opens it.
"""

from __future__ import annotations

from core.errors import IdpronoteError

__all__ = ["PasswordNeeded"]


class PasswordNeeded(IdpronoteError):
    """The configuration names a bind DN but no password source: ask in the interface."""
