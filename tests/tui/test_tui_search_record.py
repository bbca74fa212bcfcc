"""The search dialog beside the Pronote record: what is linked, what is in the way, true counts."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Static

from core.model import Category, DirectoryAccount, PronoteAccount
from directory_adapters.csv import CsvDirectory
from tui.screens import search as search_module
from tui.screens.search import SearchDialog

DEMO = Path(__file__).resolve().parents[2] / "tui" / "demo" / "annuaire.csv"
UAI = "0441234A"
HEADER = "login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote\n"


class Host(App[None]):
    def __init__(self, dialog: SearchDialog) -> None:
        super().__init__()
        self.dialog = dialog

    def on_mount(self) -> None:
        self.push_screen(self.dialog)


@pytest.fixture(autouse=True)
def no_debounce(monkeypatch):
    monkeypatch.setattr(search_module, "DEBOUNCE_SECONDS", 0)


@pytest.fixture
def directory(tmp_path) -> CsvDirectory:
    copy = tmp_path / "annuaire.csv"
    shutil.copy(DEMO, copy)
    return CsvDirectory(copy)


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def text_of(app: App, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).content)


def rows(app: App) -> list[list[str]]:
    table = app.screen.query_one("#search-results", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


LEO = PronoteAccount(
    "SLDRQ82E3WDK2CZR",
    Category.ELEVES,
    "COLIN",
    "Léo",
    birth_date=date(2013, 1, 7),
    class_name="4A",
    file_key="12",
)


async def test_the_record_being_linked_is_shown_with_its_birth_date_and_class(directory):
    dialog = SearchDialog(
        directory, uai=UAI, category=Category.ELEVES, query="colin leo", record=LEO
    )
    app = Host(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        record = text_of(app, "#search-record")
        assert record == "Pronote : COLIN Léo · né(e) le 07/01/2013 · classe 4A"
        # Each result shows its own birth date beside it: here the day and month swapped.
        assert rows(app)[0][1:5] == ["leo.colin", "COLIN", "Léo", "01/07/2013"]


async def test_a_guardian_shows_the_children_in_the_file_and_their_accounts(directory):
    guardian = PronoteAccount("HUP2NFZQRYAD7EXS", Category.RESPONSABLES, "COLIN", "Karim")
    sister = PronoteAccount("X" * 16, Category.ELEVES, "COLIN", "Agathe", class_name="3A")
    dialog = SearchDialog(
        directory,
        uai=UAI,
        category=Category.RESPONSABLES,
        query="colin",
        record=guardian,
        children=[(LEO, "leo.colin"), (sister, None)],
    )
    app = Host(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        record = text_of(app, "#search-record")
        assert record.startswith("Pronote : COLIN Karim · enfants : ")
        assert "COLIN Léo 4A → leo.colin" in record
        assert "COLIN Agathe 3A → non relié" in record
        assert "sans date" not in record  # a guardian has none in Pronote: not worth a word
        # Wrapped whole, not cut, at 80 columns.
        widget = app.screen.query_one("#search-record", Static)
        assert widget.size.height >= 2


async def test_accounts_in_the_way_are_marked_with_a_word_before_enter(directory):
    why = {"leo.colin": "taken", "agathe.colin": "holds", "lina.colin": "replaces"}

    def check(account: DirectoryAccount) -> str | None:
        return why.get(account.login)

    dialog = SearchDialog(
        directory,
        uai=UAI,
        category=Category.ELEVES,
        query="colin",
        candidates=["leo.colin"],
        check=check,
    )
    app = Host(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        marks = {row[1]: row[0] for row in rows(app)}
        assert marks["leo.colin"] == "★✗ pris"
        assert marks["agathe.colin"] == " ✗ occupé"
        assert all(m.strip() == "" for login, m in marks.items() if login not in why)
        details = text_of(app, "#search-details")
        assert details.startswith("✗ pris : un autre compte Pronote de cette étape")
        await pilot.press("down")
        assert "✗ occupé : ce compte porte déjà un autre identifiant" in text_of(
            app, "#search-details"
        )


def many_martins(path: Path, count: int) -> CsvDirectory:
    lines = [
        f"martin{n:04d};MARTIN;Prénom{n};2012-01-01;National_ELV;{UAI};5A;;\n" for n in range(count)
    ]
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return CsvDirectory(path)


async def test_the_count_is_true_and_fits_80_columns(tmp_path):
    directory = many_martins(tmp_path / "annuaire.csv", 827)
    dialog = SearchDialog(
        directory, uai=UAI, category=Category.ELEVES, query="martin", candidates=["martin0001"]
    )
    app = Host(dialog)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        status = app.screen.query_one("#search-status", Static)
        text = str(status.content)
        assert text == "827 comptes, les 50 premiers · ★ proposé"
        assert len(text) <= status.content_region.width
        assert len(rows(app)) == 50


class Uncounted:
    """A directory that cannot count cheaply (as LDAP): the dialog says "more than"."""

    def __init__(self, inner: CsvDirectory) -> None:
        self.inner = inner
        self.form = inner.form

    def search(self, text: str, **kwargs: Any) -> list[DirectoryAccount]:
        return self.inner.search(text, **kwargs)

    def get(self, login: str) -> DirectoryAccount | None:
        return self.inner.get(login)


async def test_a_directory_that_cannot_count_says_more_than(tmp_path):
    directory = Uncounted(many_martins(tmp_path / "annuaire.csv", 120))
    app = Host(SearchDialog(directory, uai=UAI, category=Category.ELEVES, query="martin"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert text_of(app, "#search-status") == "plus de 50 comptes, les 50 premiers"
        # Exactly 50: no "more".
    directory = Uncounted(many_martins(tmp_path / "fifty.csv", 50))
    app = Host(SearchDialog(directory, uai=UAI, category=Category.ELEVES, query="martin"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert text_of(app, "#search-status") == "50 compte(s)"


async def test_without_the_establishment_filter_each_row_says_whose_it_is(directory):
    app = Host(SearchDialog(directory, uai=UAI, category=Category.ENSEIGNANTS, query="valvern"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#search-results", DataTable)
        assert [str(c.key.value) for c in table.columns.values()][-1] == "classes"
        await pilot.press("f3")
        await settle(pilot)
        keys = [str(c.key.value) for c in table.columns.values()]
        assert keys[-2:] == ["uai", "profile"]
        found = {row[1]: row for row in rows(app)}
        assert found["isabelle.valvern"][-2:] == ["0443728N,0441234A", "ENS"]
        # Every column within 80 columns.
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert used <= table.size.width
        await pilot.press("f3")
        await settle(pilot)
        assert [str(c.key.value) for c in table.columns.values()][-1] == "classes"
