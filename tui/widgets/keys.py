"""Keys that several screens bind the same way, each under the screen's own ids (so that
`[keys]` remaps them screen by screen)."""

from __future__ import annotations

from textual.binding import Binding


def scroll_keys(screen: str, *, lines: bool = False) -> list[Binding]:
    """PageUp/PageDown (and Up/Down if `lines`) scroll a long text without the focus
    leaving the field or the buttons: the screen's `action_scroll(how)` does it."""
    keys = [("up", "up", "scroll_up"), ("down", "down", "scroll_down")] if lines else []
    keys += [("pageup", "page_up", "page_up"), ("pagedown", "page_down", "page_down")]
    return [
        Binding(key, f"scroll('{how}')", show=False, id=f"{screen}.{name}")
        for key, how, name in keys
    ]
