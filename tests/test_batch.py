"""`idpronote batch`: several establishments' files in one run, over a regional CSV.

The region comes from bench/region.py (bench/datagen.py collèges, each with
its own UAI and logins, all in one directory file). The LDAP forms are in
tests/ldap/test_ldap_batch.py.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from bench.region import build_region
from cli.main import main
from core.batch import BatchSettings, run_batch
from core.batch_input import entries_in
from core.batch_record import BatchState
from core.config import load_config
from core.journal import EstablishmentLock, sessions
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters.csv import CsvDirectory
from tests.killpoints import run_child

COLLEGES = 3
STUDENTS = 60
NO_GUARD = "--allow-mass-removal"


@pytest.fixture(scope="session")
def region_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("region")
    return folder, build_region(folder, COLLEGES, STUDENTS)


@pytest.fixture
def site(tmp_path, monkeypatch, region_template):
    """A fresh copy of the region: `fichiers/<UAI>.xml`, `annuaire.csv`, a config."""
    _folder, region = region_template
    shutil.copytree(region.files, tmp_path / "fichiers")
    shutil.copy(region.directory, tmp_path / "annuaire.csv")
    (tmp_path / "config.toml").write_text(
        'data_dir = "data"\n[directory]\nkind = "csv"\npath = "annuaire.csv"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path, list(region.uais)


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as usage:
        code = usage.code
    out, err = capsys.readouterr()
    return code, out, err


def stored(site: Path, uais) -> dict[tuple[str, str], frozenset[str]]:
    """What the directory file holds, per (account, establishment)."""
    directory = CsvDirectory(site / "annuaire.csv")
    return {
        (a.login, uai): frozenset(directory.form.idpns_for(a.identifiers, uai))
        for uai in uais
        for a in directory.accounts(uai)
    }


def written_keys(data_dir: Path) -> list[tuple]:
    """Every change some journal says it wrote, once per time it was written."""
    found = []
    for record in sessions(data_dir):
        for o in record.written():
            found.append((o["login"].casefold(), o["uai"], o["kind"], o["idpn"], o["previous"]))
    return found


def uninterrupted(copy: Path, region, jobs: int = 1) -> dict:
    """The region imported by one batch, start to end, in `copy`: what it leaves."""
    shutil.copytree(region.files, copy / "fichiers")
    shutil.copy(region.directory, copy / "annuaire.csv")
    (copy / "config.toml").write_text(
        'data_dir = "data"\n[directory]\nkind = "csv"\npath = "annuaire.csv"\n', encoding="utf-8"
    )
    done = run_child(
        ["batch", "fichiers", "--jobs", str(jobs), NO_GUARD, "--format", "json"],
        cwd=copy,
        env={"IDPRONOTE_CONFIG": str(copy / "config.toml"), "XDG_STATE_HOME": str(copy / "s")},
    )
    assert done.returncode in (0, 1), done.stderr
    return {"stored": stored(copy, region.uais), "report": json.loads(done.stdout)}


@pytest.fixture(scope="session")
def one_job(tmp_path_factory, region_template):
    """One uninterrupted `--jobs 1` run, for every test that compares with it."""
    _folder, region = region_template
    return uninterrupted(tmp_path_factory.mktemp("one-job"), region)


# -- several establishments ------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_establishment_is_imported_as_apply_would(site, capsys, tmp_path, jobs):
    root, uais = site
    before = stored(root, uais)
    original = (root / "annuaire.csv").read_bytes()
    code, out, err = run(["batch", "fichiers", "--jobs", str(jobs), NO_GUARD, "--format",
                          "json"], capsys)  # fmt: skip
    report = json.loads(out)
    assert code == 1, err  # datagen's hard cases leave accounts for a human
    assert [e["uai"] for e in report["establishments"]] == uais
    assert report["summary"]["outcomes"] == {"completed": 0, "left_for_human": 3, "failed": 0}
    after = stored(root, uais)
    changed = {k for k in after if after[k] != before.get(k)}
    for entry in report["establishments"]:
        assert entry["outcome"] == "left_for_human"
        assert entry["counts"]["written"] > 20 and entry["errors"] == []
        (record,) = [r for r in sessions(root / "data", entry["uai"])]
        assert record.session == entry["session"] and record.ended == "completed"
        assert len(record.written()) == entry["counts"]["written"]
        mine = {k for k in changed if k[1] == entry["uai"]}
        # Every value the report counts is one the directory changed for that school.
        assert len(mine) == entry["counts"]["written"], entry["uai"]
    assert report["summary"]["counts"]["written"] == len(changed)
    # One progress line per establishment on stderr.
    assert sum(1 for line in err.splitlines() if line.startswith("[")) == 3
    # The same file, one establishment at a time with `apply`: the same directory.
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(root / "config.toml", alone)
    (alone / "annuaire.csv").write_bytes(original)
    for uai in uais:
        argv = ["apply", str(root / "fichiers" / f"{uai}.xml"), NO_GUARD, "--config",
                str(alone / "config.toml"), "--format", "json"]  # fmt: skip
        assert main(argv) in (0, 1)
    capsys.readouterr()
    assert stored(alone, uais) == after


def test_jobs_one_and_two_leave_the_same_directory(tmp_path, region_template, one_job):
    _folder, region = region_template
    two = uninterrupted(tmp_path, region, jobs=2)
    one = one_job
    assert one["stored"] == two["stored"]
    counts = [[e["counts"] for e in r["report"]["establishments"]] for r in (one, two)]
    assert counts[0] == counts[1]


def test_each_establishment_reads_only_its_own_accounts(site):
    """The directory is read once per establishment, scoped to it: never the region."""
    root, uais = site
    calls: list[tuple[str, str | None]] = []

    class Counting(CsvDirectory):
        def accounts(self, uai, category=None):
            calls.append(("accounts", uai.upper()))
            return super().accounts(uai, category)

        def every_account(self):
            calls.append(("every_account", None))
            return super().every_account()

        def census(self, limit):
            calls.append(("census", None))
            return super().census(limit)

    config = load_config(root / "config.toml")
    settings = BatchSettings(mode="complet", data_dir=config.data_dir,
                             file_schema=config.file_schema, allow_mass_removal=True)  # fmt: skip
    state = BatchState.create(config.data_dir, source=str(root), kind="folder", mode="complet")
    results = run_batch(
        entries_in(root / "fichiers"), lambda: Counting(root / "annuaire.csv"), settings, state
    )
    assert [r.outcome for r in results] == ["left_for_human"] * 3
    assert sorted(calls) == sorted(("accounts", uai) for uai in uais)


# -- one establishment failing never stops the others ------------------------------------------


def test_a_broken_file_among_good_ones(site, capsys):
    root, uais = site
    (root / "fichiers" / "0449999B.xml").write_text("<IdentifiantsPronote><oops", "utf-8")
    code, out, err = run(["batch", "fichiers", NO_GUARD, "--format", "json"], capsys)
    assert code == 1
    report = json.loads(out)
    by_uai = {e["uai"]: e for e in report["establishments"]}
    broken = by_uai["0449999B"]
    assert broken["outcome"] == "failed" and broken["session"] is None
    assert "0449999B.xml" in broken["errors"][0]
    assert all(by_uai[u]["outcome"] == "left_for_human" for u in uais)
    assert "Traceback" not in err


def test_a_file_of_another_establishment_than_its_name_is_refused(site, capsys):
    root, uais = site
    files = root / "fichiers"
    (files / f"{uais[0]}.xml").rename(files / "0449999B.xml")  # its content says uais[0]
    code, out, _err = run(["batch", "fichiers", NO_GUARD, "--lang", "en"], capsys)
    assert code == 1
    assert f"establishment {uais[0]}'s, not 0449999B's" in out
    assert sessions(root / "data", uais[0]) == [] and sessions(root / "data", "0449999B") == []
    assert all(len(sessions(root / "data", u)) == 1 for u in uais[1:])


def test_an_establishment_the_directory_holds_no_account_of_is_refused(site, capsys):
    # The batch opens its sessions as the wizard and `apply` do (core/wizard_open.py): a
    # school whose accounts are missing would otherwise have every identifier removed.
    root, uais = site
    path = root / "annuaire.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(uais[0], "0449999B"), "utf-8")
    code, out, _err = run(["batch", "fichiers", NO_GUARD, "--format", "json"], capsys)
    assert code == 1
    by_uai = {e["uai"]: e for e in json.loads(out)["establishments"]}
    assert by_uai[uais[0]]["outcome"] == "failed"
    assert f"aucun compte rattaché à {uais[0]}" in by_uai[uais[0]]["errors"][0]
    assert sessions(root / "data", uais[0]) == []
    assert all(by_uai[u]["outcome"] == "left_for_human" for u in uais[1:])


def test_a_lock_held_on_one_establishment(site, capsys):
    root, uais = site
    lock = EstablishmentLock(root / "data", uais[1])
    lock.acquire("someone-else")
    try:
        code, out, err = run(["batch", "fichiers", NO_GUARD, "--format", "json"], capsys)
    finally:
        lock.release()
    report = json.loads(out)
    assert code == 1
    outcomes = [e["outcome"] for e in report["establishments"]]
    assert outcomes == ["left_for_human", "failed", "left_for_human"]
    assert uais[1] in report["establishments"][1]["errors"][0]
    assert sessions(root / "data", uais[1]) == []
    # Released: --resume runs only that one.
    code, out, err = run(["batch", "fichiers", NO_GUARD, "--resume", "--format", "json"], capsys)
    report = json.loads(out)
    assert [e["earlier"] for e in report["establishments"]] == [True, False, True]
    assert [e["outcome"] for e in report["establishments"]] == ["left_for_human"] * 3
    assert all(len(sessions(root / "data", u)) == 1 for u in uais)
    # Nothing left: a further --resume has nothing to do.
    code, out, err = run(["batch", "fichiers", "--resume"], capsys)
    assert code == 2 and "aucun lot interrompu" in err


def test_a_resume_never_takes_over_another_admins_session(site, capsys):
    """Refused for its lock, the establishment had no session of this batch: an admin's
    session interrupted meanwhile is theirs, and the resume imports it anew."""
    root, uais = site
    lock = EstablishmentLock(root / "data", uais[1])
    lock.acquire("someone-else")
    try:
        assert run(["batch", "fichiers", NO_GUARD], capsys)[0] == 1
    finally:
        lock.release()
    with CsvDirectory(root / "annuaire.csv") as directory:
        export = read_identifiers_file(root / "fichiers" / f"{uais[1]}.xml")
        theirs = ImportSession(directory, export, uai=uais[1], mode="complet",
                               data_dir=root / "data").start()  # fmt: skip
        theirs.interrupt()
    _code, out, _err = run(["batch", "fichiers", NO_GUARD, "--resume", "--format", "json"], capsys)
    entry = json.loads(out)["establishments"][1]
    assert entry["outcome"] == "left_for_human" and entry["resumed"] is False
    assert entry["session"] != theirs.session
    records = {r.session: r.ended for r in sessions(root / "data", uais[1])}
    assert records == {theirs.session: "interrupted", entry["session"]: "completed"}


# -- interrupted, then resumed -----------------------------------------------------------------


@pytest.mark.parametrize("kill", ["directory-rename:8", "journal-fsync:45"])
def test_killed_mid_batch_then_resumed_ends_as_an_uninterrupted_run(site, one_job, kill):
    root, uais = site
    expected = one_job
    env = {"IDPRONOTE_CONFIG": str(root / "config.toml"), "XDG_STATE_HOME": str(root / "s")}
    killed = run_child(["batch", "fichiers", NO_GUARD], cwd=root, env=env, kill=kill,
                       target="annuaire.csv")  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    # Cut in the middle: some establishment is not done yet.
    done_before = [r for r in sessions(root / "data") if r.ended == "completed"]
    assert len(done_before) < len(uais)
    resumed = run_child(["batch", "fichiers", NO_GUARD, "--resume", "--format", "json"],
                        cwd=root, env=env, target="annuaire.csv")  # fmt: skip
    assert resumed.returncode == 1, resumed.stderr
    report = json.loads(resumed.stdout)
    assert [e["outcome"] for e in report["establishments"]] == ["left_for_human"] * 3
    # The first was done before the kill, the second's session cut and resumed.
    assert [(e["earlier"], e["resumed"]) for e in report["establishments"]][:2] == [
        (True, False),
        (False, True),
    ]
    assert stored(root, uais) == expected["stored"]
    # Nothing written twice, and as much written in all as by the uninterrupted run.
    keys = written_keys(root / "data")
    assert len(keys) == len(set(keys))
    assert len(keys) == sum(e["counts"]["written"] for e in expected["report"]["establishments"])
    # Every establishment has exactly one import session, completed.
    for uai in uais:
        (record,) = sessions(root / "data", uai)
        assert record.ended == "completed"


# -- input refused ------------------------------------------------------------------------------


def test_a_manifest_uai_that_is_a_path_is_refused(site, capsys):
    root, uais = site
    (root / "manifest.csv").write_text(
        f"uai;fichier\n{uais[0]};fichiers/{uais[0]}.xml\n../../etc;fichiers/{uais[1]}.xml\n",
        encoding="utf-8",
    )
    code, out, err = run(["batch", "--manifest", "manifest.csv", "--lang", "en"], capsys)
    assert code == 2 and out == ""
    assert "manifest.csv, line 3: '../../etc' is not an establishment code" in err
    assert not (root / "data").exists() or sessions(root / "data") == []
    assert not (root / "etc").exists()


def test_a_manifest_names_each_establishment_file(site, capsys):
    root, uais = site
    (root / "fichiers" / f"{uais[2]}.xml").rename(root / "troisieme.xml")
    (root / "manifest.csv").write_text(
        f"# the region's rentrée\n{uais[0]};fichiers/{uais[0]}.xml\n"
        f"{uais[1]}, fichiers/{uais[1]}.xml\n{uais[2]};troisieme.xml\n"
        # the second's file under another UAI: refused, the others go on
        f"0449999B;fichiers/{uais[1]}.xml\n",
        encoding="utf-8",
    )
    code, out, _err = run(["batch", "--manifest", "manifest.csv", NO_GUARD, "--format", "json"],
                         capsys)  # fmt: skip
    report = json.loads(out)
    assert code == 1
    outcomes = {e["uai"]: e["outcome"] for e in report["establishments"]}
    assert outcomes == {**dict.fromkeys(uais, "left_for_human"), "0449999B": "failed"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["batch", "nowhere"], "n'est pas un dossier"),
        (["batch"], "donnez un dossier"),
        (["batch", "fichiers", "--manifest", "m.csv"], "pas les deux"),
        (["batch", "fichiers", "--jobs", "0"], "au moins 1"),
        (["batch", "--manifest", "none.csv"], "introuvable"),
        (["batch", "fichiers", "--resume"], "aucun lot interrompu"),
        (["batch", "empty"], "aucun fichier .xml"),
    ],
)
def test_unusable_input_exits_2(site, capsys, argv, message):
    root, _uais = site
    (root / "empty").mkdir()
    code, _out, err = run(argv, capsys)
    assert code == 2 and message in err and "Traceback" not in err


# -- the report ----------------------------------------------------------------------------------


def test_report_shapes(site, capsys):
    root, uais = site
    code, out, err = run(["batch", "fichiers", NO_GUARD, "--format", "json"], capsys)
    report = json.loads(out)
    assert set(report) == {"batch", "source", "mode", "jobs", "resumed", "establishments",
                           "summary"}  # fmt: skip
    assert set(report["summary"]) == {"establishments", "outcomes", "counts"}
    entry = report["establishments"][0]
    assert set(entry) == {"file", "uai", "etablissement", "outcome", "session", "counts",
                          "errors", "resumed", "earlier", "seconds"}  # fmt: skip
    assert set(entry["counts"]) == {"recognised", "left_for_human", "written", "refused",
                                    "removed"}  # fmt: skip
    assert entry["etablissement"] == "Collège n°1"
    # The record of the batch is private.
    (state,) = (root / "data" / "batches").iterdir()
    assert state.stat().st_mode & 0o777 == 0o600
    # CSV: one row per establishment, the undo session in it.
    code, out, err = run(["batch", "fichiers", NO_GUARD, "--format", "csv"], capsys)
    rows = list(csv.reader(io.StringIO(out), delimiter=";"))
    assert rows[0][:4] == ["uai", "etablissement", "fichier", "resultat"]
    assert [r[0] for r in rows[1:]] == uais and all(r[9] for r in rows[1:])
    # Text, in English; --output through the private, link-refusing writer.
    code, out, err = run(["batch", "fichiers", NO_GUARD, "--lang", "en", "--output", "r.txt"],
                         capsys)  # fmt: skip
    text = (root / "r.txt").read_text(encoding="utf-8")
    assert "Batch import — 3 establishment(s)" in text and "idpronote undo SESSION" in text
    assert (root / "r.txt").stat().st_mode & 0o777 == 0o600
    (root / "link.txt").symlink_to(root / "r.txt")
    code, out, err = run(["batch", "fichiers", "--output", "link.txt"], capsys)
    assert code == 2 and "lien symbolique" in err


def test_names_and_file_names_are_escaped_in_the_text_report(site, capsys):
    """XML cannot carry ESC itself: an 8-bit CSI and a bidi override in the establishment's
    name; a raw ESC in the file's name (it is in the report too)."""
    root, uais = site
    files = root / "fichiers"
    first = files / f"{uais[0]}.xml"
    text = first.read_text(encoding="utf-8")
    first.write_text(text.replace("Collège n°1", "Coll&#x9b;2J&#x202e;ège"), encoding="utf-8")
    (files / f"{uais[1]}.xml").rename(files / f"{uais[1]}\x1b[2J.xml")
    (files / "0449999B\x1b]0;PWNED\x07.xml").write_text("<broken", encoding="utf-8")
    code, out, err = run(["batch", "fichiers", NO_GUARD], capsys)
    assert code == 1
    for raw in ("\x1b", "\x9b", "\u202e", "\x07"):
        assert raw not in out and raw not in err
    assert "Coll\\x9b2J\\u202eège" in out
    assert "\\x1b]0;PWNED\\x07" in out and "\\x1b]0;PWNED\\x07" in err


def test_a_tty_gets_a_progress_bar(site, capsys, monkeypatch):
    _root, _uais = site

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["batch", "fichiers", NO_GUARD]) == 1
    shown = terminal.getvalue()
    assert "\r[" + "#" * 24 + "] 3/3" in shown
    assert shown.count("\n") == 3  # one line per establishment; the bar is redrawn on \r
