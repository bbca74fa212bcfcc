"""What a screen does with the words typed in a field: pasted control characters shown
escaped, and a search that waits for a pause in the typing (the search, the imported
accounts' filter and the support screen all work so)."""

from __future__ import annotations

from collections.abc import Callable

from textual.message_pump import MessagePump
from textual.timer import Timer
from textual.widgets import Input

from core.text import has_unsafe_characters, printable


def escape_pasted(event: Input.Changed) -> bool:
    """True if the value held control characters (pasted): the field now shows them
    escaped, as every name is, and a new Changed follows with that value."""
    if has_unsafe_characters(event.value):
        event.input.value = printable(event.value)
        return True
    return False


class TypingPause:
    """Runs `then` once the typing pauses: each keystroke puts the run off again.

    The delay is given with each keystroke, so that a screen's own module constant
    (`DEBOUNCE_SECONDS`, which tests set to 0: no delay, the next turn of the loop)
    is read when the key arrives.
    """

    def __init__(self, owner: MessagePump, then: Callable[[], object]) -> None:
        self._owner = owner
        self._then = then
        self._timer: Timer | None = None

    @property
    def pending(self) -> bool:
        """A run is waiting for the typing to pause."""
        return self._timer is not None

    def typed(self, event: Input.Changed, seconds: float) -> None:
        if escape_pasted(event):
            return
        if self._timer is not None:
            self._timer.stop()
        if seconds > 0:
            self._timer = self._owner.set_timer(seconds, self._then)
        else:  # no delay (tests)
            self._owner.call_later(self._then)

    def stop(self) -> None:
        """The run is starting now (or no longer wanted): no second one later."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
