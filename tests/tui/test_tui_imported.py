"""The imported identifiers screen: list, filter, unlink (confirmed, journaled)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Input, Static

from core import journal
from core.errors import DirectoryError
from core.model import ChangeOutcome, IdentifierChange
from directory_adapters.csv import CsvDirectory
from tui.screens import imported as imported_module
from tui.screens.confirm import ConfirmDialog
from tui.screens.imported import CHUNK, ImportedScreen

DEMO = Path(__file__).resolve().parents[2] / "tui" / "demo" / "annuaire.csv"
UAI = "0441234A"
LUCIE = "0441234A$FXVXGFD9NXUICA4E"


class Host(App[None]):
    def __init__(self, screen: ImportedScreen) -> None:
        super().__init__()
        self.imported = screen

    def on_mount(self) -> None:
        self.push_screen(self.imported)


@pytest.fixture(autouse=True)
def no_debounce(monkeypatch):
    monkeypatch.setattr(imported_module, "DEBOUNCE_SECONDS", 0)


@pytest.fixture
def csv_copy(tmp_path) -> Path:
    copy = tmp_path / "annuaire.csv"
    shutil.copy(DEMO, copy)
    return copy


async def settle(pilot) -> None:
    """Let the load, the filter and the unlink workers finish and show their work."""
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def table(app: App) -> DataTable:
    return app.screen.query_one("#imported-table", DataTable)


def column(app: App, key: str) -> list[str]:
    data = table(app)
    return [str(data.get_cell(row.key, key)) for row in data.ordered_rows]


def heading(app: App) -> str:
    return str(app.screen.query_one("#imported-heading", Static).content)


def notifications(app: App) -> list[str]:
    return [n.message for n in app._notifications]


async def filter_with(pilot, text: str) -> None:
    await pilot.press("slash", "ctrl+u", *text)
    await settle(pilot)


async def test_lists_the_identifiers_of_the_establishment(csv_copy, tmp_path):
    app = Host(ImportedScreen(CsvDirectory(csv_copy), uai=UAI, data_dir=tmp_path / "data"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert heading(app) == "Identifiants Pronote importés · 0441234A · 60 identifiant(s)"
        assert table(app).row_count == 60
        assert column(app, "login")[:2] == ["anne.barmas", "hugo.barmas"]
        assert column(app, "idpn")[0] == "G3H02LC9XMQU0IKO"
        # Another establishment's identifier is not this one's.
        assert "isabelle.valvern" not in column(app, "login")
        assert table(app).has_focus


async def test_the_filter_narrows_and_widens_the_table(csv_copy, tmp_path):
    app = Host(ImportedScreen(CsvDirectory(csv_copy), uai=UAI, data_dir=tmp_path / "data"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await filter_with(pilot, "cheg")
        assert column(app, "login") == [
            "alexandre.chegeat",
            "lucie.chegeat",
            "marie-helene.chegeat",
        ]
        assert heading(app).endswith("3 sur 60 identifiant(s)")
        field = app.screen.query_one("#imported-filter", Input)
        for text, logins in [
            ("chegl", []),
            ("cheg lu", ["lucie.chegeat"]),  # every word must match
            ("CLEMENT", ["mathieu.clement"]),  # neither case nor accents matter
            ("g3h02", ["anne.barmas"]),  # identifiers match too
        ]:
            field.value = text
            await settle(pilot)
            assert column(app, "login") == logins, text
        await pilot.press("end", "ctrl+u")
        await settle(pilot)
        assert table(app).row_count == 60
        assert heading(app).endswith("· 60 identifiant(s)")


async def test_enter_in_the_filter_goes_to_the_list(csv_copy, tmp_path):
    app = Host(ImportedScreen(CsvDirectory(csv_copy), uai=UAI, data_dir=tmp_path / "data"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert app.screen.query_one("#imported-filter", Input).has_focus
        # x types in the filter: the footer stops offering it.
        assert app.screen.check_action("unlink", ()) is False
        await pilot.press("b", "a", "r", "down", "enter")
        await settle(pilot)
        assert table(app).has_focus
        assert table(app).cursor_row == 1
        assert app.screen.query_one("#imported-filter", Input).value == "bar"


async def test_unlink_asks_then_removes_the_identifier_and_journals_it(csv_copy, tmp_path):
    data_dir = tmp_path / "data"
    app = Host(ImportedScreen(CsvDirectory(csv_copy), uai=UAI, data_dir=data_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await filter_with(pilot, "lucie cheg")
        await pilot.press("enter", "x")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        text = str(dialog.query_one("#confirm-text", Static).content)
        assert "lucie.chegeat (CHEGEAT Lucie)" in text
        assert "FXVXGFD9NXUICA4E" in text
        assert LUCIE in csv_copy.read_text(encoding="utf-8")  # nothing written yet
        await pilot.press("o")
        await settle(pilot)
        assert app.screen is app.imported
        assert table(app).row_count == 0
        assert heading(app).endswith("0 sur 59 identifiant(s)")
        done = "Identifiant FXVXGFD9NXUICA4E retiré du compte lucie.chegeat"
        assert done in notifications(app)
    content = csv_copy.read_text(encoding="utf-8")
    assert LUCIE not in content
    assert "lucie.chegeat;CHEGEAT;Lucie" in content
    (session,) = journal.sessions(data_dir)
    assert session.uai == UAI
    assert session.header["mode"] == "unlink"
    assert session.ended == "completed"


async def test_delete_unlinks_too_and_escape_in_the_dialog_keeps_everything(csv_copy, tmp_path):
    data_dir = tmp_path / "data"
    before = csv_copy.read_bytes()
    app = Host(ImportedScreen(CsvDirectory(csv_copy), uai=UAI, data_dir=data_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("delete")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.imported
        assert table(app).row_count == 60
    assert csv_copy.read_bytes() == before
    assert journal.sessions(data_dir) == []


async def test_a_refused_unlink_says_why_and_keeps_the_row(csv_copy, tmp_path):
    # Opened for one establishment only, the file is read-only: the write is refused.
    directory = CsvDirectory(csv_copy, only_uai=UAI)
    app = Host(ImportedScreen(directory, uai=UAI, data_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x", "enter")
        await settle(pilot)
        assert table(app).row_count == 60
        (message,) = notifications(app)
        assert message.startswith("anne.barmas : identifiant non retiré (")
        assert "lecture seule" in message


class FailingDirectory(CsvDirectory):
    def apply(self, changes: list[IdentifierChange]) -> list[ChangeOutcome]:
        raise DirectoryError("ldap://ent.example: server down")


async def test_a_failing_directory_is_a_notification_not_a_traceback(csv_copy, tmp_path):
    app = Host(ImportedScreen(FailingDirectory(csv_copy), uai=UAI, data_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("x", "enter")
        await settle(pilot)
        assert notifications(app) == ["Retrait impossible : ldap://ent.example: server down"]
        assert table(app).row_count == 60
        assert app.screen is app.imported


class UnreadableDirectory(CsvDirectory):
    def linked(self, uai: str) -> list[Any]:
        raise DirectoryError("ldap://ent.example: invalid credentials")


async def test_a_load_failure_is_shown_in_the_heading(csv_copy, tmp_path):
    app = Host(ImportedScreen(UnreadableDirectory(csv_copy), uai=UAI, data_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "Lecture de l'annuaire impossible" in heading(app)
        assert "invalid credentials" in heading(app)
        await pilot.press("x")  # nothing to unlink: no dialog, no crash
        await pilot.pause()
        assert app.screen is app.imported


async def test_escape_goes_back(csv_copy, tmp_path):
    app = Host(ImportedScreen(CsvDirectory(csv_copy), uai=UAI, data_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not app.imported
        assert not app.imported.is_attached


async def test_english_title(csv_copy, tmp_path):
    from core import i18n

    i18n.set_language("en")
    app = Host(ImportedScreen(CsvDirectory(csv_copy), uai=UAI, data_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert heading(app) == "Imported Pronote identifiers · 0441234A · 60 identifier(s)"


def big_directory(path: Path, count: int) -> CsvDirectory:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

    def idpn(n: int) -> str:
        digits = []
        for _ in range(16):
            n, r = divmod(n, len(alphabet))
            digits.append(alphabet[r])
        return "".join(reversed(digits))

    lines = ["login;nom;prenom;profil;uai;idpronote"]
    for n in range(count):
        names = f"DUPONT{n % 997:03d};Prénom{n:05d}"
        lines.append(f"user{n:05d};{names};National_ELV;{UAI};{UAI}${idpn(n * 7919)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return CsvDirectory(path)


@pytest.mark.slow
async def test_ten_thousand_rows_stay_usable(tmp_path):
    directory = big_directory(tmp_path / "big.csv", 10_000)
    app = Host(ImportedScreen(directory, uai=UAI, data_dir=tmp_path / "data"))
    async with app.run_test(size=(80, 24)) as pilot:
        while not table(app).row_count:
            await pilot.pause()
        # The first rows are there at once; the rest stream in behind them.
        assert CHUNK <= table(app).row_count < 10_000
        await settle(pilot)
        assert table(app).row_count == 10_000
        assert heading(app).endswith("10000 identifiant(s)")
        await pilot.press("end")
        assert table(app).cursor_row == 9_999
        await pilot.press("x", "o")
        await settle(pilot)
        assert table(app).row_count == 9_999
        assert heading(app).endswith("9999 identifiant(s)")
        await filter_with(pilot, "dupont042")
        assert table(app).row_count == 10
        assert set(column(app, "surname")) == {"DUPONT042"}


async def test_slash_and_the_letters_after_it_arriving_together_all_reach_the_filter(
    csv_copy, tmp_path
):
    from textual import events

    app = Host(ImportedScreen(CsvDirectory(csv_copy), uai=UAI, data_dir=None))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # One packet over SSH: "/cheg", posted before any of it is handled.
        app.post_message(events.Key("slash", "/"))
        for letter in "cheg":
            app.post_message(events.Key(letter, letter))
        await settle(pilot)
        assert app.screen.query_one("#imported-filter", Input).value == "cheg"
        assert table(app).row_count == 3
        # In the filter, "/" is just a character.
        await pilot.press("slash")
        assert app.screen.query_one("#imported-filter", Input).value == "cheg/"
