"""The search dialog: live results, candidates first, filters, the admin's answer."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Static

from core.errors import DirectoryError
from core.model import Category, DirectoryAccount
from directory_adapters.csv import CsvDirectory
from tui.screens import search as search_module
from tui.screens.search import SearchDialog

DEMO = Path(__file__).resolve().parents[2] / "tui" / "demo" / "annuaire.csv"
UAI = "0441234A"
NOT_YET = object()


class Host(App[None]):
    """Pushes one dialog and keeps what it answered."""

    def __init__(self, dialog: SearchDialog) -> None:
        super().__init__()
        self.dialog = dialog
        self.answer: Any = NOT_YET

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self._answered)

    def _answered(self, value: Any) -> None:
        self.answer = value


class RecordingDirectory(CsvDirectory):
    """The demo directory, remembering how it was searched."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[dict[str, Any]] = []

    def search(self, text: str, **kwargs: Any) -> list[DirectoryAccount]:
        self.calls.append({"text": text, **kwargs})
        return super().search(text, **kwargs)


@pytest.fixture(autouse=True)
def no_debounce(monkeypatch):
    # Tests do not wait for the debounce: it fires on the next turn of the loop.
    monkeypatch.setattr(search_module, "DEBOUNCE_SECONDS", 0)


@pytest.fixture
def directory(tmp_path) -> RecordingDirectory:
    copy = tmp_path / "annuaire.csv"
    shutil.copy(DEMO, copy)
    return RecordingDirectory(copy)


def dialog(directory: Any, query: str = "MARTIN Lucas", **kwargs: Any) -> SearchDialog:
    kwargs.setdefault("category", Category.ELEVES)
    return SearchDialog(directory, uai=UAI, query=query, **kwargs)


async def settle(pilot) -> None:
    """Let the debounce fire and the search worker finish and show its results."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def logins(app: App) -> list[str]:
    table = app.screen.query_one("#search-results", DataTable)
    return [str(table.get_row_at(i)[1]) for i in range(table.row_count)]


def marks(app: App) -> list[str]:
    table = app.screen.query_one("#search-results", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def text_of(app: App, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


async def retype(pilot, text: str) -> None:
    await pilot.press("ctrl+u", *text) if text else await pilot.press("ctrl+u")
    await settle(pilot)


async def test_prefilled_query_lists_the_candidates_first(directory):
    app = Host(dialog(directory, candidates=["raphael.martin"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#search-input", Input).value == "MARTIN Lucas"
        assert logins(app) == ["raphael.martin", "lucas.martin"]
        assert marks(app) == ["★", ""]
        assert "★" in text_of(app, "#search-status")


async def test_a_candidate_found_by_the_search_too_is_listed_once(directory):
    app = Host(dialog(directory, candidates=["lucas.martin", "gone.account"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert logins(app) == ["lucas.martin"]
        assert marks(app) == ["★"]


async def test_typing_updates_the_results(directory):
    app = Host(dialog(directory))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await retype(pilot, "marchand")
        assert logins(app) == ["tom.marchand", "tom.marchand2"]
        assert directory.calls[-1] == {
            "text": "marchand",
            "uai": UAI,
            "category": Category.ELEVES,
            # One more than shown: whether there are more is known without a count.
            "limit": search_module.SEARCH_LIMIT + 1,
        }
        await retype(pilot, "")
        assert logins(app) == []
        assert "Tapez" in text_of(app, "#search-status")


async def test_toggling_the_filters_widens_the_search(directory):
    app = Host(dialog(directory, query="marchand"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        students = logins(app)
        assert "[x] F2" in text_of(app, "#search-filters")
        await pilot.press("f2")
        await settle(pilot)
        assert directory.calls[-1]["category"] is None
        assert "[ ] F2" in text_of(app, "#search-filters")
        everyone = logins(app)
        assert set(students) < set(everyone)
        assert "anthony.marchand" in everyone  # a guardian
        await pilot.press("f3")
        await settle(pilot)
        assert directory.calls[-1]["uai"] is None
        assert "[ ] F3" in text_of(app, "#search-filters")
        await pilot.press("f2", "f3")
        await settle(pilot)
        assert directory.calls[-1]["uai"] == UAI
        assert logins(app) == students


async def test_enter_links_the_highlighted_account(directory):
    app = Host(dialog(directory, query="marchand"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.answer, DirectoryAccount)
        assert app.answer.login == "tom.marchand2"
        assert app.screen is not app.dialog


async def test_up_and_down_move_in_the_results_while_typing_goes_on(directory):
    app = Host(dialog(directory, query="mar"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#search-results", DataTable)
        await pilot.press("down", "down")
        assert table.cursor_row == 2
        await pilot.press("up")
        assert table.cursor_row == 1
        assert app.screen.query_one("#search-input", Input).has_focus
        highlighted = logins(app)[1]
        assert highlighted in text_of(app, "#search-details")
        # The highlight stays on the same account when the results change around it.
        await pilot.press("t")
        await settle(pilot)
        assert logins(app)[table.cursor_row] == highlighted


async def test_escape_cancels(directory):
    app = Host(dialog(directory))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.answer is None


async def test_enter_without_result_does_nothing(directory):
    app = Host(dialog(directory, query="zzzz"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert logins(app) == []
        assert "Aucun compte" in text_of(app, "#search-status")
        await pilot.press("enter")
        await pilot.pause()
        assert app.answer is NOT_YET
        assert app.screen is app.dialog


async def test_details_show_the_stored_identifiers_this_establishment_first(directory):
    app = Host(dialog(directory, query="guillaume martin", category=Category.RESPONSABLES))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        details = text_of(app, "#search-details")
        assert "guillaume.martin" in details
        assert "15/08/1971" in details
        assert "National_TUT" in details
        assert "0441234A$VYWXRPXVH9Q5L1ZK (cet établissement)" in details
        await retype(pilot, "valvern")
        await pilot.press("f2")  # a teacher
        await settle(pilot)
        details = text_of(app, "#search-details")
        assert "0443728N$RRV2OTMI22F2PFEJ" in details
        assert "cet établissement" not in details
        assert "0443728N, 0441234A" in details


async def test_english(directory):
    from core import i18n

    i18n.set_language("en")
    app = Host(dialog(directory, query="zzzz"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "No account for 'zzzz'" in text_of(app, "#search-status")
        assert "Students" in str(app.screen.query_one("#search-box").border_title)


async def test_hostile_input_is_harmless(directory):
    app = Host(dialog(directory, query="\x1b]0;pwned\x07\x1b[2J"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#search-input", Input)
        assert "\x1b" not in field.value
        assert "\\x1b" in field.value
        await retype(pilot, "*)(uid=*")
        assert directory.calls[-1]["text"] == "*)(uid=*"
        for text in ("(|(cn=*))", "%s%n\\00", "[bold red]x[/]"):
            field.value = text  # as if pasted
            await settle(pilot)
            assert directory.calls[-1]["text"] == text
            assert logins(app) == []
        # Markup is shown as typed, never interpreted.
        assert "« [bold red]x[/] »" in text_of(app, "#search-status")
        # Pasted control characters are shown (and searched) escaped.
        field.value = "\x1b[2J\x9b31m"
        await settle(pilot)
        assert field.value == "\\x1b[2J\\x9b31m"
        assert directory.calls[-1]["text"] == "\\x1b[2J\\x9b31m"
        assert app.screen is app.dialog


async def test_hostile_names_from_the_directory_are_shown_escaped(tmp_path):
    path = tmp_path / "annuaire.csv"
    path.write_text(
        "login;nom;prenom;profil;uai;idpronote\n"
        "evil;EVIL\x1b[2J;[bold]Eve[/bold];National_ELV;0441234A;0441234A$ABCDEFGHIJKLMNOP\n",
        encoding="utf-8",
    )
    app = Host(dialog(CsvDirectory(path), query="evil"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#search-results", DataTable)
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[2] == "EVIL\\x1b[2J"
        assert row[3] == "[bold]Eve[/bold]"
        details = text_of(app, "#search-details")
        assert "\x1b" not in details
        assert "[bold]Eve[/bold]" in details


class SlowDirectory(CsvDirectory):
    """Searches block until the test lets them go."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()

    def search(self, text: str, **kwargs: Any) -> list[DirectoryAccount]:
        self.release.wait(timeout=10)
        return super().search(text, **kwargs)


async def test_a_slow_directory_never_freezes_typing(tmp_path):
    copy = tmp_path / "annuaire.csv"
    shutil.copy(DEMO, copy)
    directory = SlowDirectory(copy)
    app = Host(dialog(directory, query=""))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"marchand")
        await pilot.pause()
        # The search is still blocked, yet every key reached the field.
        assert app.screen.query_one("#search-input", Input).value == "marchand"
        assert "Recherche" in text_of(app, "#search-status")
        directory.release.set()
        await settle(pilot)
        assert logins(app) == ["tom.marchand", "tom.marchand2"]


class BrokenDirectory(CsvDirectory):
    def search(self, text: str, **kwargs: Any) -> list[DirectoryAccount]:
        raise DirectoryError("ldap://ent.example: server down", hint="try again later")


async def test_a_directory_error_is_one_line_in_the_dialog(tmp_path):
    copy = tmp_path / "annuaire.csv"
    shutil.copy(DEMO, copy)
    app = Host(dialog(BrokenDirectory(copy)))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = text_of(app, "#search-status")
        assert status == (
            "Annuaire indisponible : ldap://ent.example: server down (try again later)"
        )
        assert app.screen.query_one("#search-status").has_class("error")
        assert app.screen is app.dialog  # still usable: Escape, or change the words
        await pilot.press("escape")
        await pilot.pause()
        assert app.answer is None


async def test_enter_right_after_typing_searches_before_it_links(directory, monkeypatch):
    # A debounce that never fires by itself: Enter must not link what the old words found.
    monkeypatch.setattr(search_module, "DEBOUNCE_SECONDS", 60)
    app = Host(dialog(directory, candidates=["lucas.martin"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+u", *"marchand", "enter")
        await settle(pilot)
        assert app.answer is NOT_YET
        assert logins(app) == ["lucas.martin", "tom.marchand", "tom.marchand2"]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.answer.login == "tom.marchand"


async def test_keys_arriving_together_are_handled_in_order(directory):
    from textual import events

    app = Host(dialog(directory, query="marchand"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # One packet over SSH: Down then Enter, posted before either is handled.
        app.post_message(events.Key("down", None))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause()
        assert app.answer.login == "tom.marchand2"
