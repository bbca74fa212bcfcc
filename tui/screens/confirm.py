"""A yes/no question before anything is written: validate a step, interrupt, unlink.

The dialog lists what will happen (long lists scroll) and answers True or
False. Enter (or o / y) says yes, Escape (or n) says no; the buttons do the
same for whoever reaches them with Tab.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from core.i18n import register, t
from core.text import printable
from tui.localise import LocalisedModal
from tui.widgets.keys import scroll_keys

register(
    {
        "tui.confirm.yes": ("Confirmer", "Confirm"),
        "tui.confirm.no": ("Annuler", "Cancel"),
        "tui.confirm.keys": (
            "Entrée ou o : confirmer · Échap ou n : annuler",
            "Enter or y: confirm · Esc or n: cancel",
        ),
    }
)


class ConfirmDialog(LocalisedModal[bool]):
    """Ask before acting: dismisses True (go ahead) or False (nothing happens)."""

    DEFAULT_CSS = """
    ConfirmDialog {
        align: center middle;
    }
    ConfirmDialog > #confirm-box {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ConfirmDialog #confirm-title {
        text-style: bold;
        margin-bottom: 1;
    }
    ConfirmDialog #confirm-lines {
        height: auto;
        max-height: 14;
        scrollbar-size-vertical: 1;
    }
    ConfirmDialog #confirm-buttons {
        height: auto;
        align-horizontal: center;
        margin-top: 1;
    }
    ConfirmDialog #confirm-buttons Button {
        margin: 0 1;
    }
    ConfirmDialog #confirm-keys {
        color: $text-muted;
        text-align: center;
    }
    """

    AUTO_FOCUS = "#confirm-yes"

    BINDINGS = [
        Binding("enter,o,y", "answer(True)", t("tui.confirm.yes"), id="confirm.yes"),
        Binding("escape,n", "answer(False)", t("tui.confirm.no"), id="confirm.no"),
        # The list may be longer than the screen: scroll it without leaving the buttons.
        *scroll_keys("confirm", lines=True),
    ]

    def __init__(self, title: str, lines: Sequence[str], *, yes: str, no: str) -> None:
        super().__init__()
        # Callers pass names read from files and the directory: never markup, never escapes.
        self._title = printable(title)
        self._lines = [printable(line) for line in lines]
        self._yes = printable(yes)
        self._no = printable(no)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text(self._title), id="confirm-title")
            with VerticalScroll(id="confirm-lines", can_focus=False):
                yield Static(Text("\n".join(self._lines)), id="confirm-text")
            with Horizontal(id="confirm-buttons"):
                yield Button(Content(self._yes), variant="primary", id="confirm-yes")
                yield Button(Content(self._no), id="confirm-no")
            yield Static(Text(t("tui.confirm.keys")), id="confirm-keys")

    @on(Button.Pressed, "#confirm-yes")
    def _yes_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no_pressed(self) -> None:
        self.dismiss(False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_scroll(self, how: str) -> None:
        lines = self.query_one("#confirm-lines", VerticalScroll)
        getattr(lines, f"scroll_{how}")()


def ask(
    app: Any, title: str, lines: Sequence[str], *, yes: str, no: str, then: Callable[[], None]
) -> None:
    """Ask the question; `then` runs once the admin says yes (No and Escape do nothing)."""

    def answered(answer: bool | None) -> None:
        if answer:
            then()

    app.push_screen(ConfirmDialog(title, lines, yes=yes, no=no), answered)
