"""Table cells: a value shown as text, cut with an ellipsis, never as markup."""

from __future__ import annotations

from rich.text import Text

from core.text import printable


def cell(value: object) -> Text:
    """A cell that is never read as markup, never lets an escape through, and shows
    that it was cut: "BRUVIVEAU Françoi…", never "BRUVIVEAU François"."""
    return Text(printable(value), no_wrap=True, overflow="ellipsis")
