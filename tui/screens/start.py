"""The start screen: the file, the establishment, the mode, the directory; then step 1/6."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import Suggester
from textual.widgets import (
    Button,
    Footer,
    Header,
    Input,
    Label,
    LoadingIndicator,
    RadioButton,
    RadioSet,
    Static,
)

from core.errors import IdpronoteError
from core.i18n import language, register, t
from core.journal import LockHeld, resumable_session
from core.model import CATEGORIES, UAI_PATTERN
from core.pronote_file import IdentifiersFile, read_identifiers_file
from core.text import printable
from core.wizard_open import NothingToResume, open_session, session_to_resume
from tui.errors import PasswordNeeded
from tui.localise import LocalisedScreen

register(
    {
        "tui.key.setup": ("Configurer", "Set up"),
        "tui.key.support": ("Support", "Support"),
        "tui.start.no_password": (
            "pas de mot de passe : annuaire non ouvert (F6 pour configurer)",
            "no password: directory not opened (F6 to set up)",
        ),
        "tui.start.password_wanted": ("mot de passe demandé…", "password asked…"),
        "tui.start.title": (
            "Nouvel import d'identifiants Pronote",
            "New Pronote identifiers import",
        ),
        "tui.start.demo": (
            "Démonstration : une copie des données d'exemple, gardée d'un lancement à "
            "l'autre (idpronote demo --reset la remet à neuf), aucun serveur.",
            "Demo: a copy of the sample data, kept from one run to the next (idpronote "
            "demo --reset starts afresh), no server.",
        ),
        "tui.start.file": ("Fichier d'identifiants", "Identifiers file"),
        "tui.start.uai": ("Établissement (UAI)", "Establishment (UAI)"),
        "tui.start.mode": ("Mode d'import", "Import mode"),
        "tui.start.complet": ("Complet", "Complete"),
        "tui.start.partiel": ("Partiel", "Partial"),
        "tui.start.complet_help": (
            "Premier import ou rentrée : le fichier contient tout le monde ; les "
            "identifiants absents du fichier sont proposés au retrait.",
            "First import or new school year: the file holds everyone; identifiers no "
            "longer in it are offered for removal.",
        ),
        "tui.start.partiel_help": (
            "En cours d'année : le fichier ne contient que les nouveaux ; rien n'est retiré "
            "ni remplacé.",
            "During the year: the file holds only newcomers; nothing is removed or replaced.",
        ),
        "tui.start.directory": ("Annuaire", "Directory"),
        "tui.start.reading": ("Lecture…", "Reading…"),
        "tui.start.no_file": (
            "Indiquez le fichier exporté de Pronote.",
            "Name the file exported from Pronote.",
        ),
        "tui.start.bad_uai": (
            "UAI invalide : 7 chiffres et une lettre, ex. 0441234A",
            "Invalid UAI: 7 digits and a letter, e.g. 0441234A",
        ),
        "tui.start.counts": ("{total} comptes : {detail}", "{total} accounts: {detail}"),
        "tui.start.problems": (
            "{count} problème(s) dans le fichier (les fiches valides seront importées) :",
            "{count} problem(s) in the file (the valid records will be imported):",
        ),
        "tui.start.no_problem": ("Aucun problème dans le fichier.", "No problem in the file."),
        "tui.start.unfinished": (
            "Une session interrompue existe pour {uai} ({session}) : F5 pour la reprendre, "
            "Entrée pour en commencer une nouvelle.",
            "An interrupted session exists for {uai} ({session}): F5 resumes it, Enter "
            "starts a new one.",
        ),
        "tui.start.cut": (
            "La session {session} de {uai} a été coupée pendant une écriture : F5 la "
            "reprend et la termine ; aucun nouvel import de {uai} ne commence avant.",
            "Session {session} of {uai} was cut while writing: F5 resumes and finishes "
            "it; no new import of {uai} starts before that.",
        ),
        "tui.start.matching": ("Rapprochement de l'étape 1…", "Matching step 1…"),
        "tui.key.start": ("Commencer", "Start"),
        "tui.start.go": ("Commencer l'étape 1/6 (Entrée)", "Start step 1/6 (Enter)"),
        "tui.key.resume": ("Reprendre", "Resume"),
        # issue 16: nothing lost
        "tui.start.nothing_to_resume": (
            "Aucune session à reprendre pour {uai} : Entrée commence un nouvel import.",
            "No session to resume for {uai}: Enter starts a new import.",
        ),
        "tui.start.resume_needs_file": (
            "Indiquez d'abord le fichier d'identifiants de la session à reprendre.",
            "First name the identifiers file of the session to resume.",
        ),
    }
)


class PathSuggester(Suggester):
    """Completes a path from the files on disk (→ accepts the suggestion)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if not value:
            return None
        path = Path(os.path.expanduser(value))
        folder, prefix = (path, "") if value.endswith("/") else (path.parent, path.name)
        try:
            names = sorted(
                entry.name + ("/" if entry.is_dir() else "")
                for entry in os.scandir(folder)
                if entry.name.startswith(prefix) and not entry.name.startswith(".")
            )
        except OSError:
            return None
        if not names:
            return None
        head = value if value.endswith("/") else value[: len(value) - len(prefix)]
        return head + names[0]


class StartScreen(LocalisedScreen[None]):
    AUTO_FOCUS = "#file"
    BINDINGS = [
        Binding("enter", "start", t("tui.key.start"), id="start.start", show=True),
        Binding("f5", "resume", t("tui.key.resume"), id="start.resume"),
        Binding("f4", "imported", t("tui.key.imported"), id="start.imported"),
        Binding("f6", "setup", t("tui.key.setup"), id="start.setup"),
        Binding("f7", "support", t("tui.key.support"), id="start.support"),
    ]

    def __init__(self, launch: Any) -> None:
        super().__init__()
        self.launch = launch
        self.export: IdentifiersFile | None = None
        self.unfinished: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="start"):
            yield Static(t("tui.start.title"), classes="title")
            if self.launch.demo:
                yield Static(t("tui.start.demo"), classes="notice")
            with Horizontal(classes="field"):
                yield Label(t("tui.start.file"), classes="label")
                yield Input(
                    str(self.launch.export or ""),
                    id="file",
                    suggester=PathSuggester(),
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label(t("tui.start.uai"), classes="label")
                yield Input(self.launch.uai or "", id="uai", max_length=8, compact=True)
            with Horizontal(classes="field"):
                yield Label(t("tui.start.mode"), classes="label")
                with RadioSet(id="mode", compact=True):
                    yield RadioButton(t("tui.start.complet"), value=self.launch.mode != "partiel")
                    yield RadioButton(t("tui.start.partiel"), value=self.launch.mode == "partiel")
            yield Static("", id="mode-help", classes="help")
            with Horizontal(classes="field"):
                yield Label(t("tui.start.directory"), classes="label")
                yield Static("…", id="directory")
            yield Button(t("tui.start.go"), id="go", variant="primary", compact=True)
            yield LoadingIndicator(id="busy")
            with Vertical(id="report"):
                yield Static("", id="counts")
                yield Static("", id="problems")
                yield Static("", id="message", classes="error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#busy").display = False
        self._show_mode_help()
        self.open_directory()
        if self.launch.export:
            self.read_file(str(self.launch.export))

    # -- the form ----------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return "partiel" if self.query_one("#mode", RadioSet).pressed_index == 1 else "complet"

    def _show_mode_help(self) -> None:
        self.query_one("#mode-help", Static).update(t(f"tui.start.{self.mode}_help"))

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.action_start()

    def on_radio_set_changed(self, _event: RadioSet.Changed) -> None:
        self._show_mode_help()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "file" and event.value and not self._file_matches(event.value):
            self.read_file(event.value)
            return
        self.action_start()

    def _file_matches(self, value: str) -> bool:
        return self.export is not None and Path(value).expanduser() == Path(self.export.path)

    def message(self, text: str) -> None:
        # Text, not markup: a message naming "[file] partner_key" lost its "[file]".
        self.query_one("#message", Static).update(Text(printable(text, keep_newlines=True)))

    def busy(self, on: bool) -> None:
        self.query_one("#busy").display = on

    # -- reading the file and the directory (threads) ---------------------------------------------

    @work(thread=True, exclusive=True, group="directory", exit_on_error=False)
    def open_directory(self) -> None:
        from directory_adapters.credentials import needs_prompt

        try:
            describe = self.app.open_directory().describe()
        except PasswordNeeded as needed:
            self.app.call_from_thread(self._ask_password, needed.message)
            return
        except IdpronoteError as error:
            if self.app.secret is not None and needs_prompt(self.app.config.directory.ldap):
                # The password typed was refused: ask again, saying why.
                self.app.secret = None
                who = str(self.app.config.directory.ldap.get("bind_dn"))
                self.app.call_from_thread(self._ask_password, who, str(error))
                return
            describe = str(error)
        self.app.call_from_thread(self._show_directory, describe)

    def _ask_password(self, who: str, error: str = "") -> None:
        from tui.screens.password import PasswordDialog

        def given(secret: Any) -> None:
            if secret is None:
                self._show_directory(t("tui.start.no_password"))
                return
            self.app.secret = secret
            self.open_directory()

        self._show_directory(t("tui.start.password_wanted"))
        self.app.push_screen(PasswordDialog(who, error=error), given)

    def action_setup(self) -> None:
        from tui.screens.setup import SetupScreen

        self.app.push_screen(SetupScreen(self.launch))

    def _show_directory(self, text: str) -> None:
        self.query_one("#directory", Static).update(Text(printable(text)))

    @work(thread=True, exclusive=True, group="file", exit_on_error=False)
    def read_file(self, value: str) -> None:
        self.app.call_from_thread(self.busy, True)
        try:
            export = read_identifiers_file(Path(value).expanduser(), self.app.config.file_schema)
        except IdpronoteError as error:
            self.app.call_from_thread(self._file_failed, str(error))
            return
        finally:
            self.app.call_from_thread(self.busy, False)
        self.app.call_from_thread(self._file_read, export)

    def _file_failed(self, text: str) -> None:
        self.export = None
        self.query_one("#counts", Static).update("")
        self.query_one("#problems", Static).update("")
        self.message(text)

    def _file_read(self, export: IdentifiersFile) -> None:
        self.export = export
        self.message("")
        uai = self.query_one("#uai", Input)
        if export.uai and not uai.value:
            uai.value = export.uai
        counts = export.counts()
        detail = ", ".join(
            f"{c.label(language())} {counts[c.slug]}" for c in CATEGORIES if counts[c.slug]
        )
        title = export.establishment_name or ""
        summary = t("tui.start.counts", total=sum(counts.values()), detail=detail)
        self.query_one("#counts", Static).update(
            Text((printable(title) + "\n" if title else "") + summary)
        )
        if export.problems:
            lines = [t("tui.start.problems", count=len(export.problems))]
            lines += [
                f"  {t('inspect.line', line=p.line)} : {printable(p.message)}"
                for p in export.problems[:20]
            ]
            self.query_one("#problems", Static).update(Text("\n".join(lines)))
        else:
            self.query_one("#problems", Static).update(t("tui.start.no_problem"))
        self._look_for_unfinished()

    def _look_for_unfinished(self) -> None:
        uai = self._uai()
        self.unfinished = None
        if not uai:
            return
        self.unfinished = resumable_session(self.app.config.data_dir, uai)
        if self.unfinished is not None:
            key = "tui.start.cut" if self.unfinished.must_finish else "tui.start.unfinished"
            self.message(t(key, uai=uai, session=self.unfinished.session))

    def _uai(self) -> str | None:
        value = self.query_one("#uai", Input).value.strip().upper()
        return value if UAI_PATTERN.fullmatch(value) else None

    # -- starting ------------------------------------------------------------------------------

    def action_start(self) -> None:
        value = self.query_one("#file", Input).value.strip()
        if not value:
            self.message(t("tui.start.no_file"))
            return
        if not self._file_matches(value):
            self.read_file(value)
            return
        uai = self._uai()
        if uai is None:
            self.message(t("tui.start.bad_uai"))
            return
        self.begin(uai, self.mode)

    def action_resume(self) -> None:
        """F5: the establishment's interrupted or cut session, or a word saying there is none."""
        if self.export is None:
            self.message(t("tui.start.resume_needs_file"))
            return
        uai = self._uai()
        if uai is None:
            self.message(t("tui.start.bad_uai"))
            return
        try:
            # Looked for again: a session may have been interrupted since the file was read.
            _, self.unfinished = session_to_resume(self.app.config.data_dir, uai)
        except NothingToResume:
            self.unfinished = None
            self.message(t("tui.start.nothing_to_resume", uai=uai))
            return
        except IdpronoteError as error:  # a damaged journal in the way
            self.unfinished = None
            self.message(str(error))
            return
        self.begin(uai, self.unfinished.header.get("mode", "complet"), resume=True)

    def action_imported(self) -> None:
        uai = self._uai()
        if uai is None:
            self.message(t("tui.start.bad_uai"))
            return
        from tui.screens.imported import ImportedScreen

        self.app.push_screen(
            ImportedScreen(self.app.open_directory(), uai=uai, data_dir=self.app.config.data_dir)
        )

    def action_support(self) -> None:
        from tui.screens.support import open_support

        open_support(self.app, uai=self._uai(), export=self.export)

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def begin(self, uai: str, mode: str, resume: bool = False) -> None:
        self.app.call_from_thread(self.busy, True)
        self.app.call_from_thread(self.message, t("tui.start.matching"))
        config = self.app.config
        try:
            # The one way to open a session, `idpronote apply`'s too: the same guards.
            session = open_session(self.app.open_directory(), self.export, uai=uai, mode=mode,
                                   data_dir=config.data_dir, settings=config.matching,
                                   resume=resume)  # fmt: skip
            if not session.finished:
                session.current  # noqa: B018 - matches step 1 here, in the thread
        except NothingToResume:
            self.app.call_from_thread(self.message, t("tui.start.nothing_to_resume", uai=uai))
            return
        except (IdpronoteError, LockHeld) as error:
            self.app.call_from_thread(self.message, str(error))
            return
        finally:
            self.app.call_from_thread(self.busy, False)
        self.app.call_from_thread(self._started, session)

    def _started(self, session: Any) -> None:
        self.message("")
        from tui.screens.end import EndScreen
        from tui.screens.step import StepScreen

        if session.finished:
            self.app.push_screen(EndScreen(session))
        else:
            self.app.push_screen(StepScreen(session))
        summary = session.draft_summary()
        if summary:
            # What the resume brought back of the step, and what it had to drop.
            notes = [printable(n) for n in session.draft_notes[:5]]
            self.notify(
                "\n".join([summary, *notes]),
                severity="warning" if notes else "information",
                timeout=20 if notes else 10,
                markup=False,
            )
