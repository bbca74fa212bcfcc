"""The data directory and the paths built into it are attacked, not only the file.

Findings of the second security round (issue 20): a file header's UAI that
climbs out of the data directory, a data directory someone else prepared, a
lock file that is a link, a planted memory of manual links.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cli.main import main
from core.journal import EstablishmentLock, Journal, sessions
from core.memory import DecisionMemory
from core.private_files import UnsafePath, open_private, private_dir, uai_part
from core.pronote_file import read_identifiers_file

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
OTHER_USER = 65534  # nobody: the tests run as root, who may give files away


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A CSV site whose data directory is site/state/idpronote (config.toml's data_dir)."""
    for name in ("identifiants.xml", "annuaire.csv"):
        shutil.copy(DEMO / name, tmp_path / name)
    (tmp_path / "config.toml").write_text(
        'data_dir = "state/idpronote"\n[directory]\nkind = "csv"\npath = "annuaire.csv"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "logs"))
    return tmp_path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def data(site: Path) -> Path:
    return site / "state" / "idpronote"


def everything_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# -- 1. the UAI of the file's header ----------------------------------------------------------


@pytest.mark.parametrize("uai", ["../../../escape", "../../../../../../../../tmp/x", "0441234A/.."])
def test_a_header_uai_that_climbs_out_builds_no_path_and_writes_nothing(site, capsys, uai):
    export = site / "identifiants.xml"
    export.write_text(
        export.read_text(encoding="utf-8").replace('UAI="0441234A"', f'UAI="{uai}"'),
        encoding="utf-8",
    )
    before = everything_under(site)
    directory = (site / "annuaire.csv").read_bytes()
    for extra in ([], ["--uai", UAI]):
        code, out, err = run(["apply", "identifiants.xml", "--lang", "en", *extra], capsys)
        assert code == 2 and out == ""
        assert "establishment code is invalid" in err and err.count("\n") == 1
    assert everything_under(site) == before  # no journal, no lock, no folder, anywhere
    assert not list(site.parent.glob("*scape*")) and not Path("/tmp/X").exists()
    assert (site / "annuaire.csv").read_bytes() == directory
    report = read_identifiers_file(export)
    assert report.uai is None
    assert [p.kind for p in report.problems if p.line == 1] == ["invalid_uai"]


def test_the_envelopes_uai_is_checked_like_the_headers(tmp_path, rsa_keys):
    from tests.core.test_envelope import CONTENT, key_file, schema, sealed

    content = CONTENT.replace(b' UAI="0441234A"', b"")
    assert content != CONTENT
    path = sealed(tmp_path, rsa_keys, content, uai="../../etc")
    result = read_identifiers_file(path, schema(key_file(tmp_path, rsa_keys)))
    assert result.uai is None
    assert "invalid_uai" in [p.kind for p in result.problems]


@pytest.mark.parametrize("uai", ["../x", "0441234A/../../x", "", "0441234a\n", None, "0441234AB"])
def test_no_path_is_ever_built_from_an_invalid_uai(tmp_path, uai):
    root = tmp_path / "data"
    for attempt in (
        lambda: Journal.create(root, uai=uai, kind="import", header={}),
        lambda: EstablishmentLock(root, uai),
        lambda: DecisionMemory(root).links(uai),
        lambda: sessions(root, uai or "x"),  # no code at all means every establishment
        lambda: uai_part(uai),
    ):
        with pytest.raises((UnsafePath, AttributeError)):
            attempt()
    assert not (tmp_path / "x").exists()
    assert everything_under(tmp_path) <= {"data", "data/journals", "data/locks"}


# -- 3. a data directory someone else prepared ------------------------------------------------


@pytest.mark.parametrize("part", ["", "journals", "locks", "memory", "journals/0441234A"])
def test_a_data_directory_owned_by_someone_else_is_refused_with_the_fix(site, capsys, part):
    folder = data(site) / part
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    os.chown(folder, OTHER_USER, OTHER_USER)
    directory = (site / "annuaire.csv").read_bytes()
    code, out, err = run(["apply", "identifiants.xml", "--lang", "en"], capsys)
    assert code == 2 and out == ""
    assert f"{folder} belongs to user nobody" in err and "chown -R root" in err
    assert (site / "annuaire.csv").read_bytes() == directory  # nothing imported
    assert os.stat(folder).st_mode & 0o777 == 0o777  # not even its mode touched


def test_a_lock_file_that_is_a_link_is_never_followed(site, capsys):
    victim = site / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    locks = private_dir(private_dir(data(site).parent) / "idpronote")
    (private_dir(locks / "locks") / f"{UAI}.lock").symlink_to(victim)
    code, _, err = run(["apply", "identifiants.xml", "--lang", "en"], capsys)
    assert code == 2 and "is a symbolic link" in err and "rm " in err
    assert victim.read_text(encoding="utf-8") == "precious\n"


@pytest.mark.parametrize("planted", ["symlink", "fifo", "hard link", "other user's", "directory"])
def test_nothing_planted_in_place_of_a_lock_is_truncated_or_used(tmp_path, planted):
    root = tmp_path / "data"
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    lock = EstablishmentLock(root, UAI)
    if planted == "symlink":
        lock.path.symlink_to(victim)
    elif planted == "fifo":
        os.mkfifo(lock.path)
    elif planted == "hard link":
        os.link(victim, lock.path)
    elif planted == "other user's":
        lock.path.write_text("theirs\n", encoding="utf-8")
        os.chown(lock.path, OTHER_USER, OTHER_USER)
    else:
        lock.path.mkdir()
    with pytest.raises(UnsafePath) as refused:
        lock.acquire("s")
    assert str(lock.path) in str(refused.value)
    assert victim.read_text(encoding="utf-8") == "precious\n"
    if planted == "other user's":
        assert lock.path.read_text(encoding="utf-8") == "theirs\n"


def test_a_journal_is_a_new_file_or_nothing(tmp_path):
    root = tmp_path / "data"
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    first = Journal.create(root, uai=UAI, kind="import", header={}, session="s1")
    (first.path.parent / "s2.jsonl").symlink_to(victim)
    with pytest.raises(UnsafePath):
        Journal.create(root, uai=UAI, kind="import", header={}, session="s2")
    with pytest.raises(UnsafePath):
        Journal.create(root, uai=UAI, kind="import", header={}, session="s1")  # exists
    assert victim.read_text(encoding="utf-8") == "precious\n"
    with pytest.raises(UnsafePath):
        sessions(root, UAI)  # a link among the journals is said, not skipped in silence
    os.unlink(first.path.parent / "s2.jsonl")
    assert [r.session for r in sessions(root, UAI)] == ["s1"]


def test_a_journal_planted_as_a_link_is_refused_by_history(site, capsys):
    victim = site / "victim.jsonl"
    victim.write_text('{"type": "session", "session": "x", "uai": "0441234A"}\n')
    folder = private_dir(private_dir(private_dir(data(site).parent) / "idpronote" / "journals"))
    private_dir(folder / UAI)
    (folder / UAI / "x.jsonl").symlink_to(victim)
    code, _, err = run(["history", "--lang", "en"], capsys)
    assert code == 2 and "is a symbolic link" in err


def test_files_of_the_data_directory_are_opened_without_following_links(tmp_path):
    target = tmp_path / "target"
    target.write_text("x", encoding="utf-8")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(UnsafePath):
        open_private(tmp_path / "link", os.O_RDONLY)
    (tmp_path / "dirlink").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(UnsafePath):
        private_dir(tmp_path / "dirlink")
    assert private_dir(tmp_path / "dirlink", link_ok=True)  # the data directory itself may be
    assert target.read_text(encoding="utf-8") == "x"


# -- 3. the remembered links ------------------------------------------------------------------


def _two_students(site: Path) -> tuple[str, str, str]:
    """An unrecognised student's identifier, and two logins of the establishment."""
    from core.model import Category
    from directory_adapters.csv import CsvDirectory

    export = read_identifiers_file(site / "identifiants.xml")
    student = export.accounts[Category.ELEVES][0]
    logins = sorted(a.login for a in CsvDirectory(site / "annuaire.csv").accounts(UAI))
    return student.idpn, logins[0], logins[1]


def _apply_json(site, capsys) -> tuple[int, dict]:
    code, out, err = run(["apply", "identifiants.xml", "--format", "json", "--lang", "en"], capsys)
    return code, (json.loads(out) if out else {"error": err})


@pytest.mark.parametrize(
    "planted",
    ["unsigned (the old form)", "signed elsewhere", "edited by hand", "another establishment's"],
)
def test_a_planted_memory_file_is_refused_and_nothing_is_written(site, capsys, planted, tmp_path):
    idpn, victim, _ = _two_students(site)
    memory = DecisionMemory(data(site))
    path = memory.root / f"{UAI}.json"
    entry = {"login": victim, "at": "2026-01-01", "by": "x", "session": None}
    if planted == "unsigned (the old form)":
        private_dir(private_dir(data(site).parent) / "idpronote")
        private_dir(memory.root)
        path.write_text(json.dumps({idpn: entry}), encoding="utf-8")
    elif planted == "signed elsewhere":
        elsewhere = DecisionMemory(tmp_path / "elsewhere")
        elsewhere.remember(UAI, {idpn: victim})
        memory._write(UAI, {})  # this data directory has its own key
        shutil.copy(elsewhere.root / f"{UAI}.json", path)
    elif planted == "edited by hand":
        memory.remember(UAI, {idpn: "someone.else"})
        document = json.loads(path.read_text(encoding="utf-8"))
        document["entries"][idpn]["login"] = victim
        path.write_text(json.dumps(document), encoding="utf-8")
    else:
        memory.remember("0359999Z", {idpn: victim})
        os.replace(memory.root / "0359999Z.json", path)
    directory = (site / "annuaire.csv").read_bytes()
    code, report = _apply_json(site, capsys)
    assert code == 2, report
    assert "not signed by this data directory's key" in report["error"]
    assert f"rm {path}" in report["error"]
    assert (site / "annuaire.csv").read_bytes() == directory


def test_a_memory_written_by_idpronote_is_recognised_as_remembered(site, capsys):
    _, out, _ = run(["match", "identifiants.xml", "--format", "json"], capsys)
    steps = json.loads(out)["steps"]
    taken = {a["account"] for step in steps for a in step["accounts"] if a["account"]}
    idpn, login = next(
        (a["idpn"], a["candidates"][0])
        for a in steps[1]["accounts"]
        if a["status"] == "unrecognised" and a["candidates"] and a["candidates"][0] not in taken
    )
    DecisionMemory(data(site)).remember(UAI, {idpn: login}, "s")
    _, report = _apply_json(site, capsys)
    decisions = [a for step in report["steps"] for a in step["accounts"] if a["idpn"] == idpn]
    assert decisions and decisions[0]["rule"] == "remembered"
    assert decisions[0]["account"] == login
    key = DecisionMemory(data(site)).key_path
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_bytes()) == 32
