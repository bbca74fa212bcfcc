"""One way to open a session (core/wizard_open.py): the wizard's start screen and
`idpronote apply` refuse the same things.

Each guard is tried on both faces, on the demo's file and directory: the start
screen (Pilot, 80x24: Enter for a new import, F5 for a resume) and `apply`. Before
they shared one function, the start screen let a damaged journal pass for "nothing to
resume" and took a UAI other than the file's; `apply` started an import of an
establishment the directory holds no account of.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from cli.main import main
from core.config import Config
from core.errors import UnusableInput
from core.journal import find_session, read_session, sessions
from core.private_files import UnsafePath
from core.pronote_file import read_identifiers_file
from core.wizard_open import NothingToResume, check_establishment, open_session
from directory_adapters.csv import CsvDirectory
from tests.journals import records_of
from tui.app import IdpronoteApp, Launch
from tui.screens.start import StartScreen

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
OTHER = "0449999X"
BASE = ["identifiants.xml", "--directory-file", "annuaire.csv"]


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdgdata"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    shutil.copy(DEMO / "annuaire.csv", tmp_path / "annuaire.csv")
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    return tmp_path


def data_dir(site: Path) -> Path:
    return site / "xdgdata" / "idpronote"


def teachers_session(site: Path, capsys) -> Path:
    """One real session: the teachers' step written (a small journal)."""
    code = main(["apply", *BASE, "--steps", "enseignants", "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    return find_session(data_dir(site), json.loads(out)["session"]).path


# -- the situations each guard is for ------------------------------------------------------------


def no_account_of_the_establishment(site: Path, capsys) -> str:
    """The directory holds accounts of another establishment only."""
    path = site / "annuaire.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(UAI, OTHER), encoding="utf-8")
    return "aucun compte rattaché à 0441234A"


def a_damaged_journal(site: Path, capsys) -> str:
    path = teachers_session(site, capsys)
    body = bytearray(path.read_bytes())
    body[len(body) // 2] ^= 0x01
    path.write_bytes(bytes(body))
    (record,) = sessions(data_dir(site), UAI)
    assert record.damaged
    return "endommagé"


def a_session_cut_while_writing(site: Path, capsys) -> str:
    path = teachers_session(site, capsys)
    records = records_of(path)
    lines = path.read_bytes().split(b"\n")
    intent = next(i for i, r in enumerate(records) if r["type"] == "intent")
    path.write_bytes(b"\n".join(lines[: intent + 1]) + b"\n")
    assert read_session(path).must_finish
    return "coupée"


# -- the two faces ------------------------------------------------------------------------------


async def through_the_cli(site: Path, capsys, *, resume: bool, uai: str) -> tuple[bool, str]:
    """(refused, what was said) of `idpronote apply`."""
    argv = ["apply", *BASE, "--uai", uai, "--format", "json"]
    code = main([*argv, "--resume"] if resume else argv)
    _, err = capsys.readouterr()
    return code == 2, err


async def through_the_start_screen(
    site: Path, capsys, *, resume: bool, uai: str
) -> tuple[bool, str]:
    """(refused, what was said) of the start screen: Enter, or F5 for a resume."""
    config = replace(Config(), data_dir=data_dir(site))
    launch = Launch(
        config=config,
        export=site / "identifiants.xml",
        directory_file=site / "annuaire.csv",
        uai=uai,
    )
    app = IdpronoteApp(launch)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(3):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("f5" if resume else "enter")
        for _ in range(3):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        screen = pilot.app.screen
        refused = isinstance(screen, StartScreen)
        said = str(screen.query_one("#message").render()) if refused else ""
    return refused, " ".join(said.split())


FACES = {"apply": through_the_cli, "start screen": through_the_start_screen}


@pytest.mark.parametrize("face", FACES)
@pytest.mark.parametrize(
    ("situation", "resume"),
    [
        (no_account_of_the_establishment, False),
        (a_damaged_journal, True),
        (a_damaged_journal, False),
        (a_session_cut_while_writing, False),
    ],
    ids=["no account, new", "damaged, resume", "damaged, new", "cut, new"],
)
async def test_both_faces_refuse_the_same_sessions(site, capsys, face, situation, resume):
    expected = situation(site, capsys)
    before = {r.session for r in sessions(data_dir(site), UAI)}
    refused, said = await FACES[face](site, capsys, resume=resume, uai=UAI)
    assert refused, f"{face} opened a session it should have refused"
    assert expected in said, said
    # Nothing opened: no new journal.
    assert {r.session for r in sessions(data_dir(site), UAI)} == before


@pytest.mark.parametrize("face", FACES)
async def test_both_faces_refuse_a_file_of_another_establishment(site, capsys, face):
    # The directory holds accounts of both establishments: only the file says which.
    path = site / "annuaire.csv"
    text = path.read_text(encoding="utf-8")
    head, *rows = text.splitlines()
    path.write_text(
        "\n".join([head, *rows, *(r.replace(UAI, OTHER) for r in rows)]) + "\n", encoding="utf-8"
    )
    refused, said = await FACES[face](site, capsys, resume=False, uai=OTHER)
    assert refused, f"{face} imported the file of {UAI} into {OTHER}"
    assert "ce fichier est celui de l'établissement 0441234A, pas de 0449999X" in said, said
    assert sessions(data_dir(site), OTHER) == []


@pytest.mark.parametrize("face", FACES)
async def test_both_faces_say_when_there_is_nothing_to_resume(site, capsys, face):
    refused, said = await FACES[face](site, capsys, resume=True, uai=UAI)
    assert refused and "reprendre pour 0441234A" in said, said


@pytest.mark.parametrize("face", FACES)
async def test_both_faces_resume_an_interrupted_session(site, capsys, face):
    path = teachers_session(site, capsys)
    records = records_of(path)
    # Cut before its end: the teachers' step written, the session interrupted there.
    lines = path.read_bytes().split(b"\n")
    end = next(i for i, r in enumerate(records) if r["type"] == "end")
    path.write_bytes(b"\n".join(lines[:end]) + b"\n")
    record = read_session(path)
    assert record.resumable and not record.must_finish
    refused, said = await FACES[face](site, capsys, resume=True, uai=UAI)
    assert not refused, said


# -- the function itself ------------------------------------------------------------------------


def demo_file(site: Path):
    return read_identifiers_file(site / "identifiants.xml")


def test_open_session_checks_the_establishment_first(site):
    export = demo_file(site)
    directory = CsvDirectory(site / "annuaire.csv")
    with pytest.raises(UnusableInput, match="pas de 0449999X"):
        open_session(directory, export, uai=OTHER, mode="complet", data_dir=None, settings=None)
    with pytest.raises(UnsafePath):
        check_establishment(export, "../../x")
    assert check_establishment(export, " 0441234a ") == UAI


def test_a_dry_run_has_nothing_to_resume_and_a_new_session_starts_only_when_asked(site):
    export = demo_file(site)
    directory = CsvDirectory(site / "annuaire.csv")
    with pytest.raises(NothingToResume) as raised:
        open_session(directory, export, uai=UAI, mode="complet", data_dir=None, settings=None,
                     resume=True)  # fmt: skip
    assert raised.value.uai == UAI
    kept = data_dir(site)
    session = open_session(directory, export, uai=UAI, mode="complet", data_dir=kept,
                           settings=None, start=False)  # fmt: skip
    assert session.journal is None and session.resumed_from is None
    assert sessions(kept, UAI) == []
    with open_session(directory, export, uai=UAI, mode="partiel", data_dir=kept,
                      settings=None) as started:  # fmt: skip
        assert started.journal is not None and started.mode == "partiel"
    (record,) = sessions(kept, UAI)
    assert record.session == started.session
