"""The confirmation dialog: yes with Enter/o/y, no with Escape/n, long lists scroll."""

from __future__ import annotations

from typing import Any

import pytest
from textual.app import App
from textual.containers import VerticalScroll
from textual.widgets import Button, Static

from tui.screens.confirm import ConfirmDialog

NOT_YET = object()


class Host(App[None]):
    def __init__(self, dialog: ConfirmDialog) -> None:
        super().__init__()
        self.dialog = dialog
        self.answer: Any = NOT_YET

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self._answered)

    def _answered(self, value: Any) -> None:
        self.answer = value


def ask(lines: list[str] | None = None, title: str = "Valider l'étape 2/6 ?") -> Host:
    lines = ["2 ajout(s), 1 remplacement(s), 0 retrait(s)."] if lines is None else lines
    return Host(ConfirmDialog(title, lines, yes="Valider", no="Revenir"))


@pytest.mark.parametrize(
    ("keys", "answer"),
    [
        (["enter"], True),
        (["o"], True),
        (["y"], True),
        (["escape"], False),
        (["n"], False),
        (["tab", "enter"], False),  # Enter presses the focused button: here "Revenir"
    ],
)
async def test_keys_answer(keys, answer):
    app = ask()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        assert app.answer is answer
        assert app.screen is not app.dialog


@pytest.mark.parametrize(("button", "answer"), [("#confirm-yes", True), ("#confirm-no", False)])
async def test_buttons_answer(button, answer):
    app = ask()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.click(button)
        await pilot.pause()
        assert app.answer is answer


async def test_the_buttons_say_what_they_do():
    app = ask()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        yes = app.screen.query_one("#confirm-yes", Button)
        assert str(yes.label) == "Valider"
        assert str(app.screen.query_one("#confirm-no", Button).label) == "Revenir"
        assert yes.has_focus
        keys = str(app.screen.query_one("#confirm-keys", Static).content)
        assert keys == "Entrée ou o : confirmer · Échap ou n : annuler"


async def test_a_long_list_scrolls_inside_a_dialog_that_fits():
    lines = [f"ajout : compte{n:03d} ← ABCDEFGH{n:08d}" for n in range(200)]
    app = ask(lines)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#confirm-box").region
        assert box.x >= 0 and box.y >= 0
        assert box.right <= 80 and box.bottom <= 24
        # Every part of the dialog is on screen: title, buttons, key hints.
        for part in ("#confirm-title", "#confirm-yes", "#confirm-no", "#confirm-keys"):
            assert box.contains_region(app.screen.query_one(part).region), part
        scroll = app.screen.query_one("#confirm-lines", VerticalScroll)
        assert scroll.max_scroll_y > 0
        await pilot.press("pagedown", "down")
        await pilot.pause()
        assert scroll.scroll_y > 0
        await pilot.press("enter")
        await pilot.pause()
        assert app.answer is True


async def test_names_are_shown_as_text_never_as_markup_or_escapes():
    app = ask(["Retirer [bold]EVIL[/bold]\x1b[2J ?"], title="\x1b]0;pwned\x07 [red]x")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#confirm-text", Static).content)
        assert text == "Retirer [bold]EVIL[/bold]\\x1b[2J ?"
        title = str(app.screen.query_one("#confirm-title", Static).content)
        assert title == "\\x1b]0;pwned\\x07 [red]x"


async def test_english_hint():
    from core import i18n

    i18n.set_language("en")
    app = ask()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = str(app.screen.query_one("#confirm-keys", Static).content)
        assert keys == "Enter or y: confirm · Esc or n: cancel"
