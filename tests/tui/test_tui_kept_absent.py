"""A step whose category the file does not hold: the screen says what is kept, and why."""

from __future__ import annotations

import re
import shutil

import pytest
from textual.widgets import Static

from core.model import Category
from tests.tui.test_tui_wizard import DEMO, make_app, settle, start, stored


@pytest.fixture
def site(tmp_path):
    for name in ("identifiants.xml", "annuaire.csv"):
        shutil.copy(DEMO / name, tmp_path / name)
    return tmp_path


async def test_a_category_absent_from_the_file_keeps_its_identifiers_and_says_so(site):
    # A file without supervisors (a timetable export has none); the directory
    # stores one for xavier.laquet.
    path = site / "identifiants.xml"
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"  <MaitresDeStage>.*?</MaitresDeStage>\n", "", text, flags=re.S),
                    encoding="utf-8")  # fmt: skip
    before = stored(site)["xavier.laquet"]
    assert before == {"ZTEQCG9NEPCVIHW7"}
    app = make_app(site)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start(pilot)
        while screen.session.category is not Category.MAITRES_DE_STAGE:
            await pilot.press("v")
            await pilot.pause()
            await pilot.press("enter")
            await settle(pilot)
            screen = pilot.app.screen
        assert not screen.query("#obsolete")
        said = str(screen.query_one("#kept-absent", Static).render())
        assert "1 identifiant(s) stocké(s) gardé(s)" in said
        assert "aucun compte de cette catégorie" in said
        await pilot.press("v")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
    assert stored(site)["xavier.laquet"] == before
