"""Setup and `config check` against a real slapd holding the demo directory.

Setup (the Textual screen, driven by Pilot at 80x24) tests the connection,
writes a configuration that `config check` then accepts, and goes on to the
wizard; the password never lands in the file, the screen or the output
unless the admin chose to store it.
"""

from __future__ import annotations

import csv
import html
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Input, RadioButton, RadioSet

from bench.ldap_data import read_annuaire, to_ldif
from cli.main import main
from core.config import Config, read_config
from core.model import Category
from tests.ldap.conftest import require_slapd
from tests.ldap.server import Slapd
from tui.app import IdpronoteApp, Launch
from tui.screens.confirm import ConfirmDialog
from tui.screens.setup import SetupScreen
from tui.screens.start import StartScreen

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "tui" / "demo"
VARIABLE = "IDPRONOTE_SETUP_TEST_PASSWORD"
# Student accounts in the demo directory, all establishments.
with open(DEMO / "annuaire.csv", encoding="utf-8") as _file:
    STUDENTS = sum(
        "National_ELV" in row["profil"].split("|") for row in csv.DictReader(_file, delimiter=";")
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Slapd]:
    """The demo directory; nothing here writes to it (the write check is harmless)."""
    require_slapd()
    slapd = Slapd(
        tmp_path_factory.mktemp("slapd-setup"),
        to_ldif(read_annuaire(DEMO / "annuaire.csv"), "ent"),
    )
    slapd.start()
    yield slapd
    slapd.stop()


@pytest.fixture
def place(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.delenv(VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


def write_config(place: Path, server: Slapd, **ldap: str) -> Path:
    settings = {
        "url": server.url,
        "bind_dn": Slapd.service_dn,
        "password_env": VARIABLE,
        "base_dn": Slapd.people_dn,
    }
    settings.update(ldap)
    lines = "\n".join(f'{k} = "{v}"' for k, v in settings.items())
    path = place / "config.toml"
    path.write_text(
        f'data_dir = "data"\n[directory]\nkind = "ldap"\npreset = "ent"\n'
        f"[directory.ldap]\n{lines}\n",
        encoding="utf-8",
    )
    return path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# -- config check --------------------------------------------------------------------------------


def test_check_accepts_the_service_account(place, server, capsys, monkeypatch):
    write_config(place, server)
    monkeypatch.setenv(VARIABLE, Slapd.service_password)
    code, out, err = run(["config", "check", "--format", "json"], capsys)
    report = json.loads(out)
    assert report["usable"], report["findings"]
    survey = report["survey"]
    assert survey["total"] == 350
    assert survey["profiles"]["National_ELV"] == STUDENTS
    assert survey["establishments"]["0441234A"] > 300
    assert survey["write"]["status"] == "writable"
    assert survey["sample"]["login"] and survey["sample"]["date_naissance"]
    assert Slapd.service_password not in out + err
    assert code == (0 if report["ok"] else 1)


def test_check_says_a_read_only_account_cannot_write(place, server, capsys, monkeypatch):
    write_config(place, server, bind_dn=Slapd.reader_dn)
    monkeypatch.setenv(VARIABLE, Slapd.reader_password)
    code, out, err = run(["config", "check", "--lang", "en"], capsys)
    assert code == 1
    assert "no write access to idPronote" in out
    assert "ask for write access" in out
    assert Slapd.reader_password not in out + err


def test_check_with_a_wrong_password_is_a_finding_not_a_traceback(
    place, server, capsys, monkeypatch
):
    write_config(place, server)
    monkeypatch.setenv(VARIABLE, "not-the-password")
    code, out, err = run(["config", "check", "--format", "json", "--lang", "en"], capsys)
    assert code == 1
    report = json.loads(out)
    assert not report["usable"]
    assert any("invalid credentials" in f["message"] for f in report["findings"])
    assert "not-the-password" not in out + err and "Traceback" not in out + err


# -- the setup screen ----------------------------------------------------------------------------


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def fill(screen: SetupScreen, **values: str) -> None:
    for name, value in values.items():
        screen.query_one(f"#{name}", Input).value = value


def screen_text(app: IdpronoteApp) -> str:
    """What the terminal shows, as text (the screenshot SVG's text runs, in order)."""
    runs = re.findall(r"<text[^>]*>(.*?)</text>", app.export_screenshot())
    return "".join(html.unescape(run) for run in runs).replace("\xa0", " ")


def screen_rows(app: IdpronoteApp) -> list[str]:
    """The terminal's rows as the admin reads them (the SVG's text runs grouped by row)."""
    rows: dict[float, str] = {}
    svg = app.export_screenshot()
    for y, run in re.findall(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', svg):
        rows[float(y)] = rows.get(float(y), "") + html.unescape(run).replace("\xa0", " ")
    return [rows[y] for y in sorted(rows)]


async def test_setup_tests_writes_and_goes_on_to_the_wizard(place, server, capsys, monkeypatch):
    target = place / "site" / "config.toml"
    app = IdpronoteApp(Launch(config=Config(), setup=True, setup_target=target))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        fill(
            screen,
            url=server.url,
            bind_dn=Slapd.service_dn,
            password=Slapd.service_password,
            store_where=VARIABLE,
            base_dn=Slapd.people_dn,
        )
        await pilot.press("f5")
        await settle(pilot)
        results = str(screen.query_one("#results").render())
        assert "350" in results and "idPronote" in results
        assert f"National_ELV ({STUDENTS})" in results  # the proposed profiles, with counts
        assert Slapd.service_password not in screen_text(app)
        await pilot.press("f2")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        # The command to run stands whole on one row of the 80×24 screen, as typed.
        assert any(f"export {VARIABLE}=…" in row for row in screen_rows(app)), screen_rows(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, StartScreen)
        # The password typed in setup opens the directory now, without the variable.
        await settle(pilot)
        assert "LDAP" in str(app.screen.query_one("#directory").render())
        assert Slapd.service_password not in screen_text(app)

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert Slapd.service_password not in target.read_text()
    config = read_config(target)
    assert config.directory.kind == "ldap"
    assert config.directory.ldap["password_env"] == VARIABLE
    assert "National_ELV" in config.profiles.profiles_of(Category.ELEVES)

    # config check accepts what setup wrote.
    monkeypatch.setenv(VARIABLE, Slapd.service_password)
    _, out, err = run(["config", "check", "--config", str(target), "--format", "json"], capsys)
    assert json.loads(out)["usable"]
    assert Slapd.service_password not in out + err
    assert not (place / "state").exists() or not list((place / "state").rglob("errors.log"))


async def test_setup_can_store_the_password_in_a_private_file(place, server):
    target = place / "config.toml"
    secret_file = place / "ldap-password"
    app = IdpronoteApp(Launch(config=Config(), setup=True, setup_target=target))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        store = screen.query_one("#store", RadioSet)
        list(store.query(RadioButton))[1].value = True  # "file"
        await pilot.pause()
        fill(
            screen,
            url=server.url,
            bind_dn=Slapd.service_dn,
            password=Slapd.service_password,
            store_where=str(secret_file),
            base_dn=Slapd.people_dn,
        )
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("escape")  # stay on the setup screen
        await settle(pilot)
        assert isinstance(app.screen, SetupScreen)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert secret_file.read_text().strip() == Slapd.service_password
    text = target.read_text()
    assert Slapd.service_password not in text
    assert read_config(target).directory.ldap["password_file"] == str(secret_file)


async def test_setup_reports_a_read_only_account_before_writing_anything(place, server):
    target = place / "config.toml"
    app = IdpronoteApp(Launch(config=Config(), setup=True, setup_target=target))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        fill(
            screen,
            url=server.url,
            bind_dn=Slapd.reader_dn,
            password=Slapd.reader_password,
            base_dn=Slapd.people_dn,
        )
        await pilot.press("f5")
        await settle(pilot)
        results = str(screen.query_one("#results").render())
        assert "pas de droit d'écriture sur idPronote" in results
    assert not target.exists()  # testing writes nothing
