"""The idpronote wizard: a Textual app over core.wizard.

The app owns what every screen shares: the configuration, the directory once
opened, the keymap from `[keys]`, and F1. Screens show core state and send
the admin's intent back; nothing here decides what gets written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding

from core.config import Config
from core.i18n import register, t

register(
    {
        "tui.app.title": (
            "import des identifiants Pronote",
            "Pronote identifiers import",
        ),
        "tui.key.help": ("Aide", "Help"),
        "tui.key.quit": ("Quitter", "Quit"),
    }
)


@dataclass
class Launch:
    """What the command line asked the wizard to start with."""

    config: Config
    export: Path | None = None
    directory_file: Path | None = None
    uai: str | None = None
    mode: str | None = None
    # The demo works on a throwaway copy: it says so on the start screen.
    demo: bool = False


class IdpronoteApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "idpronote"
    BINDINGS = [
        Binding("f1", "help", t("tui.key.help"), id="app.help"),
        Binding("ctrl+q", "quit", t("tui.key.quit"), id="app.quit", priority=True, show=False),
    ]

    def __init__(self, launch: Launch, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.launch = launch
        self.config = launch.config
        self.directory: Any = None
        self.sub_title = t("tui.app.title")

    def on_mount(self) -> None:
        if self.config.keys:
            self.set_keymap(self.config.keys)
        from tui.screens.start import StartScreen

        self.push_screen(StartScreen(self.launch))

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def open_directory(self) -> Any:
        """The directory, opened once (from a thread worker: it may be slow)."""
        if self.directory is None:
            from directory_adapters import open_directory

            self.directory = open_directory(self.config, self.launch.directory_file)
        return self.directory

    def _fatal_error(self) -> None:
        """Textual's hook for an unhandled exception: one line for the admin, details in the log.

        (Textual would print a traceback with local variables, names and
        identifiers included; the brief forbids both.)
        """
        import sys

        from tui.cli import log_internal_error

        error = sys.exc_info()[1] or self._exception
        log = log_internal_error(error) if error is not None else "?"
        name = type(error).__name__ if error is not None else "error"
        self._exit_renderables.append("idpronote: " + t("cli.internal_error", error=name, log=log))
        self._close_messages_no_wait()

    def on_unmount(self) -> None:
        if self.directory is not None:
            self.directory.close()
