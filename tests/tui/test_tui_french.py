"""Every screen and dialog of the wizard in French, and in English with `--lang en`.

The walk goes through the start screen, the command palette and its Keys
panel, F1, a step, the search dialog, a confirmation, the interrupt dialog,
the end screen, the imported identifiers, support, setup (opened from the
start screen and opened first) and the password dialog, at 80x24. At each
stop it reads the whole terminal as text and fails on any word of the other
language from a short list (words chosen not to occur in the other language
nor in the demo's data).
"""

from __future__ import annotations

import io
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from textual.command import CommandInput, CommandPalette
from textual.widgets import DataTable, Input

from core import i18n
from core.config import Config
from tui.app import IdpronoteApp, Launch
from tui.screens.confirm import ConfirmDialog
from tui.screens.end import EndScreen
from tui.screens.help import HelpScreen
from tui.screens.imported import ImportedScreen
from tui.screens.password import PasswordDialog
from tui.screens.search import SearchDialog
from tui.screens.setup import SetupScreen
from tui.screens.step import StepScreen
from tui.screens.support import SupportScreen

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"

# English a French screen must never show: Textual's own words first, then the app's.
ENGLISH = [
    "Search", "commands", "Quit", "Keys", "Cursor", "Page Up", "Page Down", "Page Left",
    "Page Right", "Maximize", "Minimize", "Screenshot", "Theme", "Scroll", "Delete", "Select",
    "Toggle", "Submit", "Focus", "Copy", "Paste", "Move", "Bottom", "No matches", "Input",
    "needed", "Press", "Do you want", "unfinished", "completed", "interrupted", "ambiguous",
    "date_differs", "no_candidate", "duplicate_in_file", "Help", "Cancel", "Back", "Next",
    "Previous", "the", "and", "with", "found", "is", "Step", "Students", "Teachers",
]  # fmt: skip
# French an English screen must never show.
FRENCH = [
    "Chercher", "commandes", "Quitter", "Touches", "Curseur", "Agrandir", "Capture", "Thème",
    "Défiler", "Effacer", "Choisir", "Appuyez", "Aucune", "Aucun", "Saisie", "il faut",
    "terminée", "interrompue", "homonymes", "Aide", "Annuler", "Retour", "Valider",
    "Interrompre", "Parcourir", "Étape", "étape", "Élèves", "Enseignants", "Reconnus",
    "Configuration de l'annuaire", "Tapez", "les", "des", "et", "pour",
]  # fmt: skip


def words_of(lang: str) -> list[str]:
    """The words that must not appear in `lang`: the other language's."""
    return ENGLISH if lang == "fr" else FRENCH


def screen_text(app) -> str:
    """What the terminal shows now, as text (the screenshot's own rendering)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        record=True,
        legacy_windows=False,
        safe_box=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def foreign(text: str, lang: str) -> list[str]:
    """The lines of `text` holding a word of the other language, each with the word."""
    found = []
    for word in words_of(lang):
        pattern = re.compile(r"(?<![\w'])" + re.escape(word) + r"(?![\w])")
        for line in text.splitlines():
            if pattern.search(line):
                found.append(f"{word!r} in {line.strip()!r}")
    return found


class Walk:
    """Reads the screen at each stop of the walk; remembers what was wrong, and where."""

    def __init__(self, pilot, lang: str) -> None:
        self.pilot = pilot
        self.lang = lang
        self.problems: list[str] = []
        self.seen: dict[str, str] = {}

    async def settle(self) -> None:
        for _ in range(3):
            await self.pilot.app.workers.wait_for_complete()
            await self.pilot.pause()

    async def look(self, where: str) -> str:
        await self.settle()
        text = screen_text(self.pilot.app)
        self.seen[where] = text
        self.problems += [f"{where}: {p}" for p in foreign(text, self.lang)]
        return text

    async def until(self, what: str, where: str) -> str:
        """Look until `what` is on screen (a Textual timer, such as the palette's)."""
        for _ in range(40):
            text = screen_text(self.pilot.app)
            if what in text:
                return await self.look(where)
            await self.pilot.pause(0.05)
        raise AssertionError(f"{where}: {what!r} never shown:\n{text}")

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.pilot.app.workers.wait_for_complete()
        await self.pilot.pause()

    async def palette(self, where: str, then: str | None = None) -> None:
        """Ctrl+P, look, then run the command titled `then` (or close the palette)."""
        await self.press("ctrl+p")
        assert isinstance(self.pilot.app.screen, CommandPalette)
        await self.until(i18n.t("tui.palette.quit"), where)
        if then is None:
            await self.press("escape")
            return
        self.pilot.app.screen.query_one(CommandInput).value = then
        await self.until(then, where + " (typed)")
        await self.press("down", "enter")


@pytest.fixture
def site(tmp_path, monkeypatch):
    for name in ("identifiants.xml", "annuaire.csv"):
        shutil.copy(DEMO / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def demo_app(site: Path, **launch) -> IdpronoteApp:
    config = replace(Config(), data_dir=site / "data")
    return IdpronoteApp(
        Launch(
            config=config,
            export=site / "identifiants.xml",
            directory_file=site / "annuaire.csv",
            uai=UAI,
            demo=True,
            **launch,
        )
    )


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_every_screen_and_dialog_speaks_one_language(site, lang):
    i18n.set_language(lang)
    app = demo_app(site)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        walk = Walk(pilot, lang)
        await walk.look("start")
        # The palette, a search with no match, and the Keys panel (an Input has the cursor).
        await walk.palette("palette")
        await walk.press("ctrl+p")
        app.screen.query_one(CommandInput).value = "zzzz"
        await walk.until(i18n.t("tui.palette.no_matches"), "palette, no match")
        await walk.press("escape")
        await walk.palette("palette", then=i18n.t("tui.palette.keys"))
        assert app.screen.query("HelpPanel")
        await walk.look("keys panel (start)")
        await walk.palette("palette, keys shown", then=i18n.t("tui.palette.keys"))
        assert not app.screen.query("HelpPanel")
        await walk.press("f1")
        assert isinstance(app.screen, HelpScreen)
        help_text = await walk.look("help (start)")
        assert "[keys]" in help_text
        await walk.press("escape")

        # A step: its table, the Keys panel with DataTable's keys, Ctrl+C's notice.
        await walk.press("enter")
        assert isinstance(app.screen, StepScreen)
        assert isinstance(app.focused, DataTable)
        await walk.look("step 1")
        await walk.palette("palette (step)", then=i18n.t("tui.palette.keys"))
        await walk.look("keys panel (step)")
        await walk.palette("palette (step, keys shown)", then=i18n.t("tui.palette.keys"))
        await walk.press("ctrl+c")
        await walk.until(i18n.t("tui.notice.quit_title"), "ctrl+c")
        app.clear_notifications()
        await walk.press("f1")
        await walk.look("help (step)")
        await walk.press("escape")
        await walk.press("v")
        assert isinstance(app.screen, ConfirmDialog)
        await walk.look("validate confirmation")
        await walk.press("enter")

        # Step 2 has unrecognised students: the search dialog, F1 there, Esc out of both.
        assert isinstance(app.screen, StepScreen) and app.screen.session.index == 1
        await walk.look("step 2")
        app.screen.query_one("#unrecognised", DataTable).focus()
        await walk.press("p")
        assert isinstance(app.screen, SearchDialog)
        await walk.look("search dialog")
        await walk.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = await walk.look("help (search)")
        # The keys of the search field (Enter links) and the moving keys, with words.
        assert "[search.link]" in text and i18n.t("tui.help.move.down") in text
        await walk.press("escape")
        assert isinstance(app.screen, SearchDialog)
        await walk.press("escape")
        assert isinstance(app.screen, StepScreen)

        # Interrupt: the dialog, then the end screen and its help.
        await walk.press("i")
        assert isinstance(app.screen, ConfirmDialog)
        await walk.look("interrupt dialog")
        await walk.press("enter")
        assert isinstance(app.screen, EndScreen)
        await walk.look("end")
        await walk.press("f1")
        await walk.look("help (end)")
        await walk.press("escape")
        await walk.press("f4")
        assert isinstance(app.screen, ImportedScreen)
        await walk.look("imported")
    assert not walk.problems, "\n".join(walk.problems)


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_support_setup_and_password_speak_one_language(site, lang, monkeypatch):
    monkeypatch.setattr("tui.screens.support.DEBOUNCE_SECONDS", 0)
    monkeypatch.setenv("IDPRONOTE_CONFIG", str(site / "config.toml"))
    i18n.set_language(lang)
    app = demo_app(site)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        walk = Walk(pilot, lang)
        await walk.settle()
        # Support: a person whose accounts are homonyms (a reason code, as words).
        await walk.press("f7")
        assert isinstance(app.screen, SupportScreen)
        await walk.look("support")
        app.screen.query_one("#support-input", Input).value = "ethan.faulibosc"
        text = await walk.look("support, explained")
        assert i18n.t("rule.ambiguous") in text
        await walk.press("escape")

        # Setup from the start screen: empty fields, F2, the message; Esc goes back.
        await walk.press("f6")
        assert isinstance(app.screen, SetupScreen)
        await walk.look("setup")
        await walk.press("f2")
        text = await walk.look("setup, nothing filled in")
        assert i18n.t("config.needs_url").split(",")[0] in text.replace("\n", " ")
        await walk.press("escape")
        assert not isinstance(app.screen, SetupScreen)

        app.push_screen(PasswordDialog("cn=idpronote,ou=services,dc=example,dc=org"))
        await walk.look("password dialog")
        await walk.press("escape")
        assert not isinstance(app.screen, PasswordDialog)

        app.push_screen(
            ConfirmDialog("?", ["…"], yes=i18n.t("tui.confirm.yes"), no=i18n.t("tui.confirm.no"))
        )
        await walk.look("confirmation")
        await walk.press("escape")
        assert not isinstance(app.screen, ConfirmDialog)
    assert not walk.problems, "\n".join(walk.problems)


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_setup_opened_first_says_esc_quits_and_does(tmp_path, lang):
    i18n.set_language(lang)
    app = IdpronoteApp(Launch(config=Config(), setup=True, setup_target=tmp_path / "c.toml"))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        walk = Walk(pilot, lang)
        text = await walk.look("setup first")
        footer = text.splitlines()[-1]
        assert f"esc {i18n.t('tui.key.quit')}" in footer
        await walk.press("escape")
        await walk.settle()
    assert walk.problems == []
    assert app.return_code == 0 and not app.is_running


async def test_setup_opened_first_asks_before_quitting_what_was_typed(tmp_path):
    app = IdpronoteApp(Launch(config=Config(), setup=True, setup_target=tmp_path / "c.toml"))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.pause()
        app.screen.query_one("#url", Input).value = "ldaps://ldap.lycee.example"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")  # stay
        await pilot.pause()
        assert isinstance(app.screen, SetupScreen) and app.is_running
        assert app.screen.query_one("#url", Input).value == "ldaps://ldap.lycee.example"
        await pilot.press("escape", "enter")  # quit, this time
        await pilot.pause()
    assert not app.is_running
    assert not (tmp_path / "c.toml").exists()


async def test_a_notice_naming_brackets_shows_them(site):
    app = demo_app(site)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        app.screen.notify("[file] partner_key : [b]illisible[/b]")
        app.notify("[directory.ldap] url")
        await pilot.pause()
        text = screen_text(app)
        # (A toast wraps its lines: each bracketed word is looked for on its own.)
        assert "[file] partner_key" in text and "[b]illisible[/b]" in text
        assert "[directory.ldap] url" in text


async def test_a_name_with_brackets_titles_the_search_dialog_as_it_is(site):
    from core.model import CATEGORIES

    app = demo_app(site)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        directory = app.open_directory()
        app.push_screen(
            SearchDialog(
                directory, uai=UAI, category=CATEGORIES[1], query="", title="[b]COLIN[/b] Léo"
            )
        )
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert "[b]COLIN[/b] Léo" in screen_text(app)


def test_every_textual_binding_the_app_shows_has_french():
    """A Textual upgrade that brings a key description not translated fails here."""
    from textual.app import App
    from textual.command import CommandList
    from textual.containers import Horizontal, Vertical, VerticalScroll
    from textual.screen import ModalScreen, Screen
    from textual.widgets import (
        Button,
        Checkbox,
        Footer,
        Header,
        Label,
        LoadingIndicator,
        OptionList,
        RadioButton,
        RadioSet,
        Static,
    )

    from tui.localise import TEXTUAL_FR

    used = [App, Screen, ModalScreen, CommandPalette, CommandInput, CommandList, Button,
            Checkbox, DataTable, Footer, Header, Input, Label, LoadingIndicator, OptionList,
            RadioButton, RadioSet, Static, Horizontal, Vertical, VerticalScroll]  # fmt: skip
    missing = set()
    for cls in used:
        for _key, binding in cls._merge_bindings():
            for text in (binding.description, binding.tooltip):
                if text and text not in TEXTUAL_FR:
                    missing.add(f"{cls.__name__}: {text!r}")
        if cls.BINDING_GROUP_TITLE and cls.BINDING_GROUP_TITLE not in TEXTUAL_FR:
            missing.add(f"{cls.__name__}: {cls.BINDING_GROUP_TITLE!r}")
    assert not missing, sorted(missing)


def test_every_screen_of_the_app_is_localised():
    """A new screen that forgets the mixin would show Textual's English keys."""
    import importlib
    import inspect
    import pkgutil

    from textual.screen import Screen

    import tui.screens
    from tui.localise import Localised

    plain = []
    for module in pkgutil.iter_modules(tui.screens.__path__):
        loaded = importlib.import_module(f"tui.screens.{module.name}")
        for name, cls in inspect.getmembers(loaded, inspect.isclass):
            if cls.__module__ == loaded.__name__ and issubclass(cls, Screen):
                if not issubclass(cls, Localised):
                    plain.append(f"{loaded.__name__}.{name}")
    assert not plain
