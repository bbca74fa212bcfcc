"""The support screen at 80x24: explain a person, apply the action after a confirmation."""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.app import App
from textual.widgets import Input, OptionList, Static

from core.config import Config
from core.pronote_file import read_identifiers_file
from directory_adapters.csv import CsvDirectory
from tests.support_situations import FIXABLE, UAI, school_merges_duplicate, write_situations
from tui.app import IdpronoteApp, Launch
from tui.screens import support as support_module
from tui.screens.confirm import ConfirmDialog
from tui.screens.support import SupportScreen


class Host(App[None]):
    def __init__(self, screen: SupportScreen) -> None:
        super().__init__()
        self.support = screen

    def on_mount(self) -> None:
        self.push_screen(self.support)


@pytest.fixture(autouse=True)
def no_debounce(monkeypatch):
    monkeypatch.setattr(support_module, "DEBOUNCE_SECONDS", 0)


@pytest.fixture
def site(tmp_path):
    return write_situations(tmp_path)


def screen_for(site, tmp_path) -> SupportScreen:
    directory, export = site
    return SupportScreen(
        CsvDirectory(directory),
        uai=UAI,
        data_dir=tmp_path / "data",
        export=read_identifiers_file(export),
    )


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def shown(app: App) -> str:
    return str(app.screen.query_one("#support-text", Static).content)


async def ask(pilot, who: str) -> None:
    field = pilot.app.screen.query_one("#support-input", Input)
    field.value = who
    await settle(pilot)


async def apply(pilot) -> None:
    await pilot.press("f2")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ConfirmDialog)
    await pilot.press("enter")
    await settle(pilot)


async def test_each_situation_is_fixed_through_the_screen(site, tmp_path):
    screen = screen_for(site, tmp_path)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for who, (cause, kinds) in sorted(FIXABLE.items()):
            await ask(pilot, who)
            assert screen.explanation.cause == cause, who
            applied = []
            while not screen.explanation.ok:
                assert len(applied) < 3, (who, applied)
                applied.append(screen.explanation.action.kind)
                await apply(pilot)
                assert pilot.app.screen is screen
            assert applied == kinds, who
            assert "Action suivante : Côté CAS" in shown(pilot.app)
    directory = CsvDirectory(site[0])
    for who in FIXABLE:
        account = directory.get(who)
        assert directory.form.idpns_for(account.identifiers, UAI), who


async def test_a_pick_writes_nothing_and_a_name_lists_the_accounts(site, tmp_path):
    screen = screen_for(site, tmp_path)
    before = site[0].read_bytes()
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await ask(pilot, "ethan.faulibosc")
        assert screen.explanation.cause == "ambiguous"
        await pilot.press("f2")
        await settle(pilot)
        assert pilot.app.screen is screen  # no confirmation: nothing to write
        await ask(pilot, "barmas")
        picks = screen.query_one("#support-picks", OptionList)
        assert picks.display and picks.option_count == 3
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        assert screen.explanation.query == "hugo.barmas"
        assert screen.explanation.cause == "not_in_file"
        assert not picks.display
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is not screen
    assert site[0].read_bytes() == before


async def test_the_school_exports_again_then_the_screen_links(site, tmp_path):
    _, export = site
    screen = screen_for(site, tmp_path)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await ask(pilot, "loic.charles")
        assert screen.explanation.action.kind == "export_again"
    school_merges_duplicate(export)
    screen = screen_for(site, tmp_path)
    async with Host(screen).run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await ask(pilot, "loic.charles")
        await apply(pilot)
        assert screen.explanation.ok


async def test_f7_on_the_start_screen_and_the_command_palette(site, tmp_path):
    directory, export = site
    config = replace(Config(), data_dir=tmp_path / "data")
    app = IdpronoteApp(
        Launch(config=config, export=export, directory_file=directory, uai=UAI, demo=True)
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f7")
        await settle(pilot)
        assert isinstance(app.screen, SupportScreen)
        assert app.screen.uai == UAI and app.screen.export is not None
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, SupportScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Support" in titles
        (command,) = [c for c in app.get_system_commands(app.screen) if c.title == "Support"]
        command.callback()
        await settle(pilot)
        assert isinstance(app.screen, SupportScreen)
