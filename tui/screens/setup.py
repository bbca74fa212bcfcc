"""Set up the directory: describe it, test it live, write config.toml, go on to the wizard.

The test binds, counts the accounts per profile, shows one account as the
wizard will read it, and checks (harmlessly) that the identifier attribute
may be written. The profile mapping is proposed from the values actually
found. The password is kept in config.toml only if the admin chooses so;
otherwise the file names the environment variable or the password file it
will be read from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Header,
    Input,
    Label,
    LoadingIndicator,
    RadioButton,
    RadioSet,
    Static,
)

from core.config import PRESETS, Config, parse_config
from core.config_file import (
    DEFAULT_PASSWORD_ENV,
    PASSWORD_STORES,
    SetupAnswers,
    default_target,
    read_existing,
    setup_table,
)
from core.errors import IdpronoteError
from core.i18n import t
from core.model import CATEGORIES, Category
from core.text import printable
from tui.localise import LocalisedScreen
from tui.screens.confirm import ask
from tui.screens.setup_parts import absolute_path, as_field_text, save_answers, test_report
from tui.screens.start import PathSuggester

KINDS = ("ldap", "ldif", "csv")


class SetupScreen(LocalisedScreen[None]):
    """The directory's connection and mapping, tested, then written to config.toml."""

    BINDINGS = [
        Binding("f5", "test", t("tui.key.test"), id="setup.test"),
        Binding("f2", "save", t("tui.key.save"), id="setup.save"),
        Binding("escape", "back", t("tui.key.back"), id="setup.back"),
        # Setup opened first (`idpronote setup`): nowhere to go back to, Esc leaves.
        Binding("escape", "leave", t("tui.key.quit"), id="setup.quit"),
    ]

    def __init__(self, launch: Any) -> None:
        super().__init__()
        self.launch = launch
        self.config: Config = launch.config
        self.target = default_target(self.config, launch.setup_target)
        # The profiles the last successful test proposed, saved with the rest.
        self.proposal: dict[Category, tuple[str, ...]] = {}

    # -- the form ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        directory = self.config.directory
        ldap = directory.ldap
        kind = directory.kind or "ldap"
        store = (
            "env"
            if ldap.get("password_env") or not ldap
            else "file"
            if ldap.get("password_file")
            else "config"
            if ldap.get("password")
            else "prompt"
        )
        yield Header()
        with VerticalScroll(id="setup"):
            yield Static(t("tui.setup.title"), classes="title")
            intro = "tui.setup.intro_none" if directory.kind is None else "tui.setup.intro"
            yield Static(t(intro), classes="help")
            with Horizontal(classes="field"):
                yield Label(t("tui.setup.kind"), classes="label")
                with RadioSet(id="kind", compact=True):
                    for k in KINDS:
                        yield RadioButton(t(f"tui.setup.kind_{k}"), value=k == kind)
            with Horizontal(classes="field"):
                yield Label(t("tui.setup.preset"), classes="label")
                with RadioSet(id="preset", compact=True):
                    for p in PRESETS:
                        yield RadioButton(p, value=p == directory.preset)
            with Vertical(id="ldap-fields"):
                yield from self._setting(ldap, "url", example="ldaps://ldap.example.org")
                with Horizontal(classes="field"):
                    yield Label("", classes="label")
                    yield Checkbox(
                        t("tui.setup.start_tls"),
                        bool(ldap.get("start_tls")),
                        id="start_tls",
                        compact=True,
                    )
                yield from self._setting(ldap, "ca_file", suggest=True)
                yield from self._setting(
                    ldap, "bind_dn", example="cn=idpronote,ou=services,dc=example,dc=org"
                )
                yield from self._field("password", "tui.setup.password", "", password=True)
                with Horizontal(classes="field"):
                    yield Label(t("tui.setup.store"), classes="label")
                    with RadioSet(id="store", compact=True):
                        for s in PASSWORD_STORES:
                            yield RadioButton(t(f"tui.setup.store_{s}"), value=s == store)
                where = (
                    as_field_text(ldap.get("password_file"))
                    if store == "file"
                    else as_field_text(ldap.get("password_env")) or DEFAULT_PASSWORD_ENV
                )
                yield from self._field("store_where", "tui.setup.store_env_name", where)
                yield from self._setting(ldap, "base_dn", example="ou=people,dc=example,dc=org")
            with Vertical(id="file-fields"):
                path = str(directory.path) if directory.path else ""
                yield from self._field("path", "tui.setup.file", path, suggest=True)
            yield from self._field("target", "tui.setup.target", str(self.target), suggest=True)
            with Horizontal(id="setup-buttons"):
                yield Button(t("tui.setup.test"), id="test", compact=True)
                yield Button(t("tui.setup.save"), id="save", variant="primary", compact=True)
            yield LoadingIndicator(id="busy")
            yield Static("", id="results")
        yield Footer()

    def _setting(
        self, ldap: Any, key: str, *, example: str = "", suggest: bool = False
    ) -> ComposeResult:
        """An [directory.ldap] key's field: its label `tui.setup.<key>`, its value, an example."""
        placeholder = t("tui.setup.example", value=example) if example else ""
        yield from self._field(
            key,
            f"tui.setup.{key}",
            as_field_text(ldap.get(key)),
            placeholder=placeholder,
            suggest=suggest,
        )

    def _field(
        self,
        name: str,
        label: str,
        value: str,
        *,
        placeholder: str = "",
        password: bool = False,
        suggest: bool = False,
    ) -> ComposeResult:
        with Horizontal(classes="field", id=f"row-{name}"):
            yield Label(t(label), classes="label", id=f"label-{name}")
            yield Input(
                value,
                id=name,
                placeholder=placeholder,
                password=password,
                compact=True,
                suggester=PathSuggester() if suggest else None,
            )

    def on_mount(self) -> None:
        self.query_one("#busy").display = False
        self._show_kind()
        self.query_one("#kind", RadioSet).focus()
        # What Esc compares with before quitting without a word.
        self._initial = self._form()

    def _pressed(self, radio: str, values: tuple[str, ...]) -> str:
        index = self.query_one(f"#{radio}", RadioSet).pressed_index
        return values[index] if 0 <= index < len(values) else values[0]

    @property
    def kind(self) -> str:
        return self._pressed("kind", KINDS)

    @property
    def store(self) -> str:
        return self._pressed("store", PASSWORD_STORES)

    def _show_kind(self) -> None:
        ldap = self.kind == "ldap"
        self.query_one("#ldap-fields").display = ldap
        self.query_one("#file-fields").display = not ldap
        store = self.store
        self.query_one("#row-store_where").display = store in ("env", "file")
        label = "tui.setup.store_file_path" if store == "file" else "tui.setup.store_env_name"
        self.query_one("#label-store_where", Label).update(t(label))

    @on(RadioSet.Changed)
    def _changed(self, event: RadioSet.Changed) -> None:
        if event.radio_set.id == "store":
            where = self.query_one("#store_where", Input)
            if self.store == "file" and where.value == DEFAULT_PASSWORD_ENV:
                where.value = str(self.target.with_name("ldap-password"))
            elif self.store == "env" and "/" in where.value:
                where.value = DEFAULT_PASSWORD_ENV
        self._show_kind()
        self.proposal = {}

    @on(Button.Pressed, "#test")
    def _test_pressed(self) -> None:
        self.action_test()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value.strip()

    def answers(self) -> SetupAnswers:
        """The form as setup answers; file paths made absolute (the config may live elsewhere)."""
        store = self.store
        where = self._value("store_where")
        return SetupAnswers(
            kind=self.kind,
            preset=self._pressed("preset", PRESETS),
            path=absolute_path(self._value("path")),
            url=self._value("url"),
            start_tls=self.query_one("#start_tls", Checkbox).value,
            ca_file=absolute_path(self._value("ca_file")),
            bind_dn=self._value("bind_dn"),
            base_dn=self._value("base_dn"),
            keep_in=store,
            password_env=where if store == "env" else DEFAULT_PASSWORD_ENV,
            password_file=absolute_path(where) if store == "file" else "",
            profiles=self._profiles(),
        )

    def _profiles(self) -> dict[Category, tuple[str, ...]]:
        """The proposal from the last test, added to what is configured (nothing dropped:
        a profile absent today, such as National_ETA, may have accounts tomorrow)."""
        if not self.proposal:
            return {}
        merged: dict[Category, tuple[str, ...]] = {}
        for category in CATEGORIES:
            values = list(self.proposal.get(category, ()))
            for value in self.config.profiles.profiles_of(category):
                if value.casefold() not in {v.casefold() for v in values}:
                    values.append(value)
            merged[category] = tuple(values)
        return merged

    def _target(self) -> Path:
        return Path(self._value("target") or str(self.target)).expanduser()

    def _say(self, text: str | Text) -> None:
        self.query_one("#results", Static).update(
            text if isinstance(text, Text) else Text(printable(text, keep_newlines=True))
        )

    def _busy(self, on: bool) -> None:
        self.query_one("#busy").display = on

    # -- testing -----------------------------------------------------------------------------

    def _candidate(self, answers: SetupAnswers) -> Config:
        """The configuration these answers would write, checked as the reader checks it."""
        target = self._target()
        data = setup_table(answers, read_existing(target))
        return parse_config(data, target)

    def _credentials(self, answers: SetupAnswers) -> Any:
        from directory_adapters.credentials import BindCredentials, Secret

        typed = self.query_one("#password", Input).value
        if answers.kind != "ldap" or not answers.bind_dn:
            return None
        if typed:
            return BindCredentials(answers.bind_dn, Secret(typed), "the password typed in setup")
        if answers.keep_in in ("config", "prompt"):
            raise IdpronoteError(t("tui.setup.type_password"))
        return None  # read from the environment variable or the file, as the wizard will

    def action_test(self) -> None:
        try:
            answers = self.answers()
            config = self._candidate(answers)
            credentials = self._credentials(answers)
        except IdpronoteError as error:
            self._say(str(error))
            return
        self._busy(True)
        self._say(t("tui.setup.testing"))
        self.run_test(config, credentials)

    @work(thread=True, exclusive=True, group="setup", exit_on_error=False)
    def run_test(self, config: Config, credentials: Any) -> None:
        from directory_adapters import open_directory
        from directory_adapters.checkup import Checkup, checkup

        proposal: dict[Category, tuple[str, ...]] = {}
        try:
            directory = open_directory(config, credentials=credentials)
        except IdpronoteError as error:
            result = Checkup()
            result.add("error", "directory", str(error))
        else:
            try:
                result = checkup(config, directory=directory)
            finally:
                directory.close()
            if result.survey is not None:
                from directory_adapters.survey import propose_profiles

                proposal = propose_profiles(result.survey.profiles, config.profiles)
        self.app.call_from_thread(self._tested, result, proposal)

    def _tested(self, result: Any, proposal: dict[Category, tuple[str, ...]]) -> None:
        self._busy(False)
        self.proposal = proposal
        text = test_report(result, proposal, self._profiles())
        self._say(text)
        # The results are below the form: bring them into view.
        results = self.query_one("#results")
        self.call_after_refresh(
            self.query_one("#setup", VerticalScroll).scroll_to_widget, results, top=True
        )

    # -- saving ------------------------------------------------------------------------------

    def action_save(self) -> None:
        from directory_adapters.credentials import Secret

        typed = self.query_one("#password", Input).value
        target = self._target()
        try:
            answers = self.answers()
            config, lines = save_answers(answers, typed, target)
        except (IdpronoteError, OSError) as error:
            self._say(t("tui.setup.not_saved", error=error))
            return
        ldap = answers.kind == "ldap" and bool(answers.bind_dn)
        secret = Secret(typed) if typed and ldap else None

        def go_on() -> None:
            self.app.reconfigure(config, secret)

        self._say("\n".join(lines))
        ask(self.app, t("tui.setup.continue_title"), "\n".join(lines).split("\n"),
            yes=t("tui.setup.continue"), no=t("tui.setup.stay"), then=go_on)  # fmt: skip

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # "Back" when there is somewhere to go back to (opened from the start screen);
        # "Quit" when setup is all there is.
        if action == "back":
            return self._below() is not None
        if action == "leave":
            return self._below() is None
        return True

    def _below(self) -> Screen | None:
        """The screen setup was opened from (the start screen's F6), if any."""
        stack = self.app.screen_stack
        if self not in stack:
            return None
        index = stack.index(self)
        return stack[index - 1] if index >= 2 else None

    def _form(self) -> tuple[SetupAnswers, str]:
        return self.answers(), self.query_one("#password", Input).value

    def action_leave(self) -> None:
        """Esc when setup was opened first: quit, after asking if something was typed."""
        if self._form() == self._initial:
            self.app.exit()
            return
        ask(self.app, t("tui.setup.leave_title"), [t("tui.setup.leave_unsaved")],
            yes=t("tui.setup.leave_yes"), no=t("tui.setup.stay"), then=self.app.exit)  # fmt: skip

    def action_back(self) -> None:
        """Back to the start screen when setup was opened from it (F6); else nothing."""
        if self._below() is not None:
            self.app.pop_screen()
