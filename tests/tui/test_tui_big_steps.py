"""Big steps at 80x24 (and 100x30 where size matters): filter, sort, sizes, bulk actions."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text
from textual.widgets import Static

from core.config import Config
from tui.app import IdpronoteApp, Launch
from tui.screens.confirm import ConfirmDialog
from tui.screens.help import HelpScreen
from tui.screens.step import FilterField, StepScreen
from tui.widgets.tables import ColumnSpec, RowTable, fold, share_heights, share_widths

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


def demo_copy(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("identifiants.xml", "annuaire.csv"):
        shutil.copy(DEMO / name, folder / name)
    return folder


@pytest.fixture
def site(tmp_path):
    return demo_copy(tmp_path)


def make_app(site: Path) -> IdpronoteApp:
    config = replace(Config(), data_dir=site / "data")
    return IdpronoteApp(
        Launch(
            config=config,
            export=site / "identifiants.xml",
            directory_file=site / "annuaire.csv",
            uai=UAI,
            demo=True,
        )
    )


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def to_step(pilot, number: int) -> StepScreen:
    """From the start screen to step `number`, validating the steps before it."""
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    for _ in range(number - 1):
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmDialog)
        await pilot.press("enter")
        await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, StepScreen), screen
    return screen


def table(screen: StepScreen, name: str) -> RowTable:
    return screen.query_one(f"#{name}", RowTable)


def names(t: RowTable) -> list[str]:
    return [str(t.get_row_at(i)[0]) for i in range(t.row_count)]


def heading(screen: StepScreen, name: str) -> str:
    return str(screen.query_one(f"#{name}-heading", Static).content)


# -- the filter -------------------------------------------------------------------------------


async def test_slash_filters_the_focused_table_as_you_type(site):
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_step(pilot, 2)
        recognised = table(screen, "recognised")
        recognised.focus()
        await pilot.pause()
        total = recognised.total
        assert "113" in heading(screen, "recognised")
        await pilot.press("slash", *"noe")
        await pilot.pause()
        field = screen.query_one("#recognised-filter", FilterField)
        assert field.display and field.has_focus and field.value == "noe"
        # Accents and case do not count: "noe" finds Noémie, and every row found has it.
        found = names(recognised)
        assert "BERNARD Noémie" in found
        assert 0 < len(found) < total
        assert heading(screen, "recognised") == f"Reconnus ({len(found)} / {total})"
        # The unrecognised table is not filtered.
        assert table(screen, "unrecognised").row_count == 7
        await pilot.press("escape")
        await pilot.pause()
        assert not field.display and field.value == ""
        assert recognised.has_focus
        assert len(recognised.shown) == total
        assert heading(screen, "recognised") == "Reconnus (113)"
        # Then in another table: the letters typed in a filter are text, not keys.
        unrecognised = table(screen, "unrecognised")
        unrecognised.focus()
        # v, i, x, A, s would validate, interrupt, clear, accept, sort from the table.
        await pilot.press("slash", *"vixAs/")
        await pilot.pause()
        assert app.screen is screen
        assert screen.query_one("#unrecognised-filter", FilterField).value == "vixAs/"
        assert not screen.state.manual and unrecognised.sorted_by is None
        await pilot.press("escape")
        # Up and Down walk the table from its filter.
        recognised = table(screen, "recognised")
        recognised.focus()
        await pilot.press("slash", "b")
        await pilot.pause()
        row = recognised.cursor_row
        assert len(recognised.shown) > row + 2
        await pilot.press("down", "down")
        assert recognised.cursor_row == row + 2
        assert screen.query_one("#recognised-filter", FilterField).has_focus
        detail = str(screen.query_one("#detail", Static).content)
        assert detail  # the highlighted row's reason follows the cursor


async def test_the_filter_finds_by_login_identifier_and_reason(site):
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_step(pilot, 2)
        unrecognised = table(screen, "unrecognised")
        unrecognised.focus()
        await pilot.press("slash", *"DOUBLON")
        await pilot.pause()
        assert names(unrecognised) == ["DUREVAL Ambre", "DUREVAL Ambre"]
        assert "(2 / 7," in heading(screen, "unrecognised")
        # Enter: back to the table, the filter kept.
        await pilot.press("enter")
        await pilot.pause()
        assert unrecognised.has_focus and len(unrecognised.shown) == 2
        recognised = table(screen, "recognised")
        recognised.focus()
        await pilot.press("slash", *"aya.barr")
        await pilot.pause()
        assert names(recognised) == ["BARRERAUD Aya"]
        await pilot.press("ctrl+u", *"4p5g7pzj")
        await pilot.pause()
        assert names(recognised) == ["BARRERAUD Aya"]
        # A word the rows do not hold: none, and the heading says so.
        await pilot.press("ctrl+u", *"zzzz")
        await pilot.pause()
        assert recognised.row_count == 0
        assert heading(screen, "recognised") == "Reconnus (0 / 113)"


# -- sorting ----------------------------------------------------------------------------------


async def test_s_sorts_by_the_column_under_the_cursor_and_again_reverses(site):
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_step(pilot, 2)
        recognised = table(screen, "recognised")
        recognised.focus()
        await pilot.press("right")  # the birth date column
        assert recognised.column == 1
        await pilot.press("s")
        await pilot.pause()
        decisions = {d.pronote.idpn: d for d in screen.state.match.recognised}
        born = [decisions[k].pronote.birth_date for k in recognised.shown]
        assert born == sorted(born)
        assert "▲" in str(recognised.columns["born"].label)
        await pilot.press("s")
        await pilot.pause()
        born = [decisions[k].pronote.birth_date for k in recognised.shown]
        assert born == sorted(born, reverse=True)
        assert "▼" in str(recognised.columns["born"].label)
        # The rows in the table are those of the order, not the file's.
        assert recognised.coordinate_to_cell_key((0, 0)).row_key.value == recognised.shown[0]
        await pilot.press("left", "s")
        await pilot.pause()
        shown = [decisions[k].pronote.display_name for k in recognised.shown]
        assert shown == sorted(shown, key=fold)  # accents and case aside: MÉNARD before MONRAND
        # F1 lists the new keys with their ids.
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(s.content) for s in app.screen.query(Static))
        for binding in ("step.filter", "step.sort", "step.accept_all", "step.reject_fuzzy"):
            assert f"[{binding}]" in text
        assert "Accepter tous les ★ proposés" in text


# -- sizes ------------------------------------------------------------------------------------


def test_widths_grow_with_the_terminal_and_shrink_with_an_ellipsis():
    specs = [
        ColumnSpec("name", "Nom", 18, grow=4, most=40),
        ColumnSpec("born", "Naissance", 10),
        ColumnSpec("rule", "Règle", 8, grow=1, most=10),
    ]
    assert share_widths(18 + 10 + 8 + 6, specs) == [18, 10, 8]
    wide = share_widths(60, specs)
    assert sum(wide) + 6 == 60 and wide[1] == 10 and wide[0] > 18 and wide[2] <= 10
    # Past every column's most, the rest is left unused rather than stretch a date.
    assert share_widths(200, specs) == [40, 10, 10]
    narrow = share_widths(36, specs)
    assert sum(narrow) + 6 == 36 and narrow[1] == 10


def test_heights_go_to_the_table_being_worked_on_and_none_beyond_its_rows():
    # 14 lines: a big table being worked on, another big one, a short one.
    assert share_heights(14, [500, 500, 4], 0) == [8, 3, 3]
    # A filter leaves 2 lines to the one worked on: the rest goes to the others.
    assert share_heights(14, [2, 500, 4], 0) == [2, 8, 4]
    # Room to spare: each its rows, no more.
    assert share_heights(20, [2, 2, 2], 1) == [2, 2, 2]
    # Nothing focused yet: shared evenly.
    assert share_heights(15, [500, 500, 500], None) == [5, 5, 5]


async def test_columns_share_the_width_of_the_terminal(tmp_path):
    widths = {}
    for size in ((80, 24), (100, 30)):
        app = make_app(demo_copy(tmp_path / f"{size[0]}"))
        async with app.run_test(size=size) as pilot:
            screen = await to_step(pilot, 1)
            recognised = table(screen, "recognised")
            columns = recognised.columns.values()
            widths[size] = {str(c.key.value): c.width for c in columns}
            used = sum(c.get_render_width(recognised) for c in columns)
            assert used == recognised.size.width
            if size == (80, 24):
                assert_cut_with_an_ellipsis(recognised)
    assert widths[(100, 30)]["name"] > widths[(80, 24)]["name"]
    assert widths[(100, 30)]["account"] > widths[(80, 24)]["account"]
    assert widths[(100, 30)]["idpn"] == widths[(80, 24)]["idpn"] == 16


def assert_cut_with_an_ellipsis(recognised: RowTable) -> None:
    """A login too long for its column ends in "…" on the screen, never cut silently."""
    width = recognised.columns["account"].width
    cells = [recognised.get_row_at(i)[3] for i in range(recognised.row_count)]
    long = [c for c in cells if isinstance(c, Text) and len(c.plain) > width]
    assert long, "the demo has a login longer than its column"
    row = next(i for i, c in enumerate(cells) if c is long[0])
    line = recognised.render_line(row + 1).text  # under the header
    assert long[0].plain[: width - 1] + "…" in line


async def test_tables_take_the_height_the_screen_has(tmp_path):
    heights = {}
    for size in ((80, 24), (100, 30)):
        app = make_app(demo_copy(tmp_path / f"{size[0]}"))
        async with app.run_test(size=size) as pilot:
            screen = await to_step(pilot, 2)
            tables = {name: table(screen, name) for name in ("recognised", "unrecognised")}
            obsolete = table(screen, "obsolete")
            # A short table takes its rows and its header at most, three lines at least.
            assert 3 <= obsolete.size.height <= obsolete.total + 1
            box = screen.query_one("#tables")
            used = sum(w.outer_size.height for w in box.children if w.display)
            assert used == box.size.height, "no line of the screen left unused"
            heights[size] = {name: t.size.height for name, t in tables.items()}
            # The table being worked on takes most of the height: all 7 unrecognised
            # rows at 80x24 (4 before), while the others keep a few rows each.
            assert tables["unrecognised"].size.height == 7 + 1
            assert tables["recognised"].size.height >= 3
            # A filter leaving one row: that table shrinks to it, every other stays seen.
            await pilot.press("slash", *"col")
            await pilot.pause()
            assert tables["unrecognised"].size.height == 1 + 1
            assert obsolete.size.height == obsolete.total + 1
            used = sum(w.outer_size.height for w in box.children if w.display)
            assert used == box.size.height
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("tab", "tab")  # past the obsolete table, to the recognised one
            await pilot.pause()
            assert tables["recognised"].has_focus
            assert tables["recognised"].size.height > heights[size]["recognised"]
            heights[size]["recognised"] = tables["recognised"].size.height
    assert heights[(100, 30)]["recognised"] > heights[(80, 24)]["recognised"]


async def test_the_reason_line_is_shown_whole(site):
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_step(pilot, 3)
        unrecognised = table(screen, "unrecognised")
        unrecognised.focus()
        detail = screen.query_one("#detail", Static)
        longest = 0
        for row in range(unrecognised.row_count):
            unrecognised.move_cursor(row=row)
            await pilot.pause()
            text = str(detail.content)
            width = detail.content_region.width
            lines = len(Text(text).wrap(Console(width=width), width))
            longest = max(longest, lines)
            assert detail.content_region.height >= lines, text
        assert longest >= 3, "a guardian's reason with its candidates runs to three lines"
        # Guardians proposed to two records are left out of the bulk accept.
        proposals = dict(screen.session.proposals())
        logins = set(proposals.values())
        assert {"delphine.labmont", "anne.rivilin"} <= logins
        # PERLIVAL Mathieu's only candidate is PERLIVAL Ga$lle's too; CHARLES Loïc twice.
        assert "gaelle.perlival" not in logins and "loic.charles" not in logins


# -- bulk actions -----------------------------------------------------------------------------


async def test_accept_all_links_the_single_candidates_through_the_session(site, monkeypatch):
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_step(pilot, 2)
        calls = []
        link = screen.session.link

        def spy(idpn, login):
            calls.append((idpn, login))
            return link(idpn, login)

        monkeypatch.setattr(screen.session, "link", spy)
        # Declined: nothing happens.
        await pilot.press("A")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is screen and not screen.state.manual and not calls
        await pilot.press("A")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        listed = "\n".join(dialog._lines)
        assert "COLIN Léo → leo.colin (date) 07/01/2013 / 01/07/2013" in listed
        assert "PERLIVAL Mathis → mathis.perlival" in listed
        # Two records for one account (a duplicate in Pronote): never linked in bulk.
        assert "DUREVAL" not in listed
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is screen
        by_login = {login: idpn for idpn, login in screen.state.manual.items()}
        assert set(by_login) == {"leo.colin", "mathis.perlival"}
        assert sorted(login for _, login in calls) == ["leo.colin", "mathis.perlival"]
        assert "dont 2 reliés à la main" in heading(screen, "unrecognised")
        cells = {k: table(screen, "unrecognised").get_row(k)[3] for k in by_login.values()}
        assert {str(c) for c in cells.values()} == {"leo.colin", "mathis.perlival"}
        # Nothing proposed is left: A says so, and asks nothing.
        await pilot.press("A")
        await pilot.pause()
        assert app.screen is screen


async def test_reject_all_fuzzy_refuses_every_close_link(site):
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_step(pilot, 2)
        fuzzy = {d.pronote.idpn for d in screen.state.match.recognised if d.rule == "fuzzy"}
        assert len(fuzzy) == 3
        await pilot.press("R")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "BONTIER Gabriel → gariel.bontier" in "\n".join(dialog._lines)
        await pilot.press("enter")
        await settle(pilot)
        assert screen.state.rejected == fuzzy
        recognised = table(screen, "recognised")
        assert {str(recognised.get_row(k)[3]) for k in fuzzy} == {"refusé"}
        plan = {c.idpn for c in screen.session.plan().changes}
        assert not plan & fuzzy
        # r restores one, as for a single rejection.
        recognised.focus()
        recognised.move_cursor(row=recognised.get_row_index(sorted(fuzzy)[0]))
        await pilot.press("r")
        assert screen.state.rejected == fuzzy - {sorted(fuzzy)[0]}


async def test_english(site, english):
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await to_step(pilot, 2)
        recognised = table(screen, "recognised")
        recognised.focus()
        await pilot.press("slash", "b")
        await pilot.pause()
        shown = len(recognised.shown)
        assert heading(screen, "recognised") == f"Recognised ({shown} / 113)"
        await pilot.press("escape", "A")
        await pilot.pause()
        assert app.screen.query_one("#confirm-title", Static).content.plain.startswith(
            "Link 2 account(s)"
        )
