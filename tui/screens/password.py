"""Ask for the LDAP bind password inside the interface.

When `[directory.ldap]` names no place to read the password from, the
wizard asks here: a terminal prompt from a worker thread would fight Textual
for the terminal. The password lives in memory only, wrapped in `Secret`.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from core.i18n import register, t
from core.text import printable
from directory_adapters.credentials import Secret
from tui.localise import LocalisedModal

register(
    {
        "tui.password.title": ("Mot de passe LDAP", "LDAP password"),
        "tui.password.for": (
            "Mot de passe de {who} (jamais enregistré) :",
            "Password of {who} (never stored):",
        ),
        "tui.password.keys": (
            "Entrée : se connecter · Échap : annuler",
            "Enter: connect · Esc: cancel",
        ),
        "tui.key.cancel": ("Annuler", "Cancel"),
    }
)


class PasswordDialog(LocalisedModal["Secret | None"]):
    """Dismisses with the password as a `Secret`, or None when cancelled."""

    DEFAULT_CSS = """
    PasswordDialog {
        align: center middle;
    }
    PasswordDialog > #password-box {
        width: 64;
        max-width: 100%;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    PasswordDialog #password-title {
        text-style: bold;
    }
    PasswordDialog #password-error {
        color: $error;
    }
    PasswordDialog #password-keys {
        color: $text-muted;
    }
    """

    AUTO_FOCUS = "#password"
    BINDINGS = [Binding("escape", "cancel", t("tui.key.cancel"), id="password.cancel")]

    def __init__(self, who: str, *, error: str = "") -> None:
        super().__init__()
        self._who = printable(who)
        self._error = printable(error)

    def compose(self) -> ComposeResult:
        with Vertical(id="password-box"):
            yield Static(Text(t("tui.password.title")), id="password-title")
            if self._error:
                yield Static(Text(self._error), id="password-error")
            yield Static(Text(t("tui.password.for", who=self._who)))
            yield Input(password=True, id="password")
            yield Static(Text(t("tui.password.keys")), id="password-keys")

    @on(Input.Submitted, "#password")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value:
            self.dismiss(Secret(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
