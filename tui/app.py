"""The idpronote wizard: a Textual app over core.wizard.

The app owns what every screen shares: the configuration, the directory once
opened, the keymap from `[keys]`, and F1. Screens show core state and send
the admin's intent back; nothing here decides what gets written.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from core.config import Config
from core.errors import IdpronoteError
from core.i18n import register, t
from tui.errors import PasswordNeeded
from tui.localise import LocalisedCommandPalette, localised_notice

register(
    {
        "tui.app.title": (
            "import des identifiants Pronote",
            "Pronote identifiers import",
        ),
        "tui.key.help": ("Aide", "Help"),
        "tui.key.quit": ("Quitter", "Quit"),
        # issue 16: nothing lost
        "tui.app.quit_title": (
            "Quitter avec {count} choix manuel(s) non validé(s) ?",
            "Quit with {count} manual choice(s) not validated?",
        ),
        "tui.app.quit_kept": (
            "Rien n'est perdu : ces choix (liens à la main, refus) sont au journal de la "
            "session ; relancez {command}, puis F5 sur l'écran d'accueil, pour les retrouver.",
            "Nothing is lost: these choices (links by hand, rejections) are in the "
            "session's journal; start {command} again, then F5 on the start screen, to "
            "find them.",
        ),
        "tui.app.quit_nothing_written": (
            "Rien n'est écrit dans l'annuaire avant Valider.",
            "Nothing is written to the directory before Validate.",
        ),
        "tui.app.quit_yes": ("Quitter", "Quit"),
        "tui.app.quit_no": ("Continuer l'étape", "Go on with the step"),
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
    # The demo works on its own copy (under the data directory): the start screen says so.
    demo: bool = False
    # `idpronote setup`: open the setup screen first, and write there.
    setup: bool = False
    setup_target: Path | None = None

    @property
    def needs_setup(self) -> bool:
        """No directory anywhere: the admin is led to setup before the wizard."""
        return self.setup or (
            not self.demo and self.directory_file is None and self.config.directory.kind is None
        )


# Textual's system commands (title, help) -> our message keys (title, help).
_SYSTEM_COMMANDS: dict[tuple[str, str | None], tuple[str, str]] = {
    ("Theme", None): ("tui.palette.theme", "tui.palette.theme_help"),
    ("Quit", None): ("tui.palette.quit", "tui.palette.quit_help"),
    ("Keys", "Hide the keys and widget help panel"): (
        "tui.palette.keys",
        "tui.palette.keys_hide",
    ),
    ("Keys", None): ("tui.palette.keys", "tui.palette.keys_show"),
    ("Maximize", None): ("tui.palette.maximize", "tui.palette.maximize_help"),
    ("Minimize", None): ("tui.palette.minimize", "tui.palette.minimize_help"),
    ("Screenshot", None): ("tui.palette.screenshot", "tui.palette.screenshot_help"),
    ("Bell", None): ("tui.palette.bell", "tui.palette.bell_help"),
}


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
        # A bind password typed in the interface (setup, or the password dialog).
        self.secret: Any = None
        self.sub_title = t("tui.app.title")

    def on_mount(self) -> None:
        if self.config.keys:
            self.set_keymap(self.config.keys)
        if self.launch.needs_setup:
            from tui.screens.setup import SetupScreen

            self.push_screen(SetupScreen(self.launch))
            return
        from tui.screens.start import StartScreen

        self.push_screen(StartScreen(self.launch))

    def reconfigure(self, config: Config, secret: Any = None) -> None:
        """Setup wrote a configuration: use it from now on, then go to the start screen."""
        from dataclasses import replace

        from tui.screens.start import StartScreen

        if self.directory is not None:
            self.directory.close()
            self.directory = None
        self.config = config
        self.secret = secret
        self.launch = replace(self.launch, config=config, setup=False, directory_file=None)
        if config.keys:
            self.set_keymap(config.keys)
        # Whatever led here (the start screen's F6, or setup first), start afresh.
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(StartScreen(self.launch))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (Ctrl+P): Textual's commands in words of ours, and support."""
        for command in super().get_system_commands(screen):
            words = _SYSTEM_COMMANDS.get((command.title, command.help))
            if words is None:
                words = _SYSTEM_COMMANDS.get((command.title, None))
            if words is not None:
                command = command._replace(title=t(words[0]), help=t(words[1]))
            yield command
        from tui.screens.support import SupportScreen, open_support

        if not isinstance(screen, SupportScreen):
            yield SystemCommand(
                t("tui.key.support"), t("tui.support.command_help"), lambda: open_support(self)
            )

    def _open_step(self) -> Any:
        """The step screen of a session still open (under any dialog), if there is one."""
        for screen in reversed(self.screen_stack):
            session = getattr(screen, "session", None)
            if hasattr(screen, "writing") and session is not None and not session.finished:
                return screen
        return None

    async def action_quit(self) -> None:
        """Ctrl+Q: with manual choices pending in the step, ask first (they are journaled
        either way); quitting mid-session journals it as interrupted, resumable with F5."""
        from tui.screens.confirm import ConfirmDialog

        step = self._open_step()
        if step is None or step.writing:
            # Nothing open, or Validate writing: the journal settles it (F5 resumes).
            self.exit()
            return
        pending = step.session.current.pending
        if not pending or (isinstance(self.screen, ConfirmDialog) and self.screen.id == "quit"):
            self._quit_session(step)
            return
        command = "idpronote demo" if self.launch.demo else "idpronote"

        def answered(yes: bool | None) -> None:
            if yes:
                self._quit_session(step)

        dialog = ConfirmDialog(
            t("tui.app.quit_title", count=pending),
            [t("tui.app.quit_kept", command=command), t("tui.app.quit_nothing_written")],
            yes=t("tui.app.quit_yes"),
            no=t("tui.app.quit_no"),
        )
        dialog.id = "quit"
        self.push_screen(dialog, answered)

    async def action_quit_asking(self) -> None:
        """Ctrl+C on a step: the same question as Ctrl+Q when choices are pending."""
        step = self._open_step()
        if step is not None and not step.writing and step.session.current.pending:
            await self.action_quit()
        else:
            self.action_help_quit()

    def _quit_session(self, step: Any) -> None:
        with contextlib.suppress(IdpronoteError):  # a journal that cannot take it: F5 all the same
            step.session.interrupt()
        self.exit()

    def action_command_palette(self) -> None:
        """Textual's palette, with our placeholder (Textual's `action_command_palette`)."""
        if self.use_command_palette and not LocalisedCommandPalette.is_open(self):
            self.push_screen(LocalisedCommandPalette(id="--command-palette"))

    def search_themes(self) -> None:
        from textual.theme import ThemeProvider

        self.push_screen(
            LocalisedCommandPalette(providers=[ThemeProvider], placeholder=t("tui.palette.themes"))
        )

    def action_help_quit(self) -> None:
        """Ctrl+C does not quit (Textual): say how to, in the admin's language."""
        for active in self.active_bindings.values():
            if active.binding.action in ("quit", "app.quit"):
                shown = self.get_key_display(active.binding)
                self.notify(
                    t("tui.notice.quit", key=shown),
                    title=t("tui.notice.quit_title"),
                    markup=False,
                )
                return

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Textual's own notices (the screenshot's) in the admin's language.

        Text, not markup, unless asked: notices name logins, files and errors."""
        message, title, keep_markup = localised_notice(message, title)
        super().notify(
            message,
            title=title,
            severity=severity,
            timeout=timeout,
            markup=markup and keep_markup,
        )

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def open_directory(self) -> Any:
        """The directory, opened once (from a thread worker: it may be slow)."""
        if self.directory is None:
            from directory_adapters import open_directory
            from directory_adapters.credentials import BindCredentials, needs_prompt

            credentials = None
            ldap = self.config.directory.ldap
            uses_ldap = self.launch.directory_file is None and self.config.directory.kind == "ldap"
            if uses_ldap and self.secret is not None:
                bind_dn = str(ldap.get("bind_dn") or "").strip()
                credentials = BindCredentials(
                    bind_dn, self.secret, "the password typed in idpronote"
                )
            elif uses_ldap and needs_prompt(ldap):
                raise PasswordNeeded(str(ldap.get("bind_dn")))
            self.directory = open_directory(
                self.config, self.launch.directory_file, credentials=credentials
            )
        return self.directory

    def _fatal_error(self) -> None:
        """Textual's hook for an unhandled exception: one line for the admin, details in the log.

        (Textual would print a traceback with local variables, names and
        identifiers included; the brief forbids both.)
        """
        import sys

        from core.internal_log import log_internal_error

        error = sys.exc_info()[1] or self._exception
        log = log_internal_error(error) if error is not None else "?"
        name = type(error).__name__ if error is not None else "error"
        self._exit_renderables.append("idpronote: " + t("cli.internal_error", error=name, log=log))
        self._close_messages_no_wait()

    def on_unmount(self) -> None:
        if self.directory is not None:
            self.directory.close()
