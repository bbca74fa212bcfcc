"""A full disk in the middle of an import: the journal's, or the directory file's.

A small tmpfs is mounted and filled up to a few kilobytes, so that the disk
runs out at a different moment of the write protocol each time. The import
stops with one line naming the file system, before any further write to the
directory; once space is freed, `--resume` (or a new `apply`, when nothing
had started) ends in the intended state, `history` counts every write, and
`undo` restores the original file exactly. Skipped where a tmpfs cannot be
mounted (not root, no mount(8), a container without the right).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from cli.main import main
from core.config import load_config
from core.journal import resumable_session
from core.model import CATEGORIES
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters.csv import CsvDirectory

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if not shutil.which("mount"):
        pytest.skip("no mount(8) here: cannot make a full disk")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, check=False)


def fill(mount: Path, leave: int) -> Path:
    """A filler file leaving about `leave` bytes free on the mount."""
    filler = mount / "filler"
    info = os.statvfs(mount)
    free = info.f_bavail * info.f_frsize
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, free - leave))
    return filler


def site_with(tmp_path, monkeypatch, *, data: Path, directory: Path) -> Path:
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    shutil.copy(DEMO / "annuaire.csv", directory)
    (tmp_path / "config.toml").write_text(
        f'data_dir = "{data}"\n[directory]\nkind = "csv"\npath = "{directory}"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def planned(directory: Path) -> int:
    export = read_identifiers_file(DEMO / "identifiants.xml")
    s = ImportSession(CsvDirectory(directory), export, uai=UAI, mode="complet", data_dir=None)
    return sum(len(s.plan(s.state(c)).changes) for c in CATEGORIES)


def finish_after_freeing(site: Path, filler: Path, capsys) -> dict:
    filler.unlink()
    data = load_config(site / "config.toml").data_dir
    argv = ["apply", "identifiants.xml", "--format", "json"]
    if resumable_session(data, UAI) is not None:
        argv.append("--resume")
    code, out, err = run(argv, capsys)
    assert code in (0, 1), err
    _, out, _ = run(["history", "--format", "json"], capsys)
    (session,) = [s for s in json.loads(out)["sessions"] if s["written"]]
    return session


# Out of space: before the start, at an intent, at an outcome (the write done, its proof
# refused), at the next intent, at the next outcome.
@pytest.mark.parametrize("leave", [0, 8192, 20480, 40960, 57344])
def test_the_journal_disk_fills_up(tmp_path, monkeypatch, capsys, small_disk, leave):
    site = site_with(tmp_path, monkeypatch, data=small_disk / "data", directory=tmp_path / "a.csv")
    before = (site / "a.csv").read_bytes()
    expected = planned(site / "a.csv")
    filler = fill(small_disk, leave)
    code, out, err = run(["apply", "identifiants.xml", "--format", "json", "--lang", "en"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "No space left on device" in err and str(small_disk) in err and "tmpfs" in err
    assert "stops before writing anything more to the directory" in err
    session = finish_after_freeing(site, filler, capsys)
    assert session["outcome"] == "completed"
    assert (session["written"], session["failed"]) == (expected, 0)
    code, out, err = run(["undo", session["session"], "--yes", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["restored"] == expected, err
    assert (site / "a.csv").read_bytes() == before


@pytest.mark.parametrize("leave", [0, 8192])
def test_the_directory_file_disk_fills_up(tmp_path, monkeypatch, capsys, small_disk, leave):
    csv = small_disk / "annuaire.csv"
    site = site_with(tmp_path, monkeypatch, data=tmp_path / "data", directory=csv)
    before = csv.read_bytes()
    expected = planned(csv)
    filler = fill(small_disk, leave)
    code, out, err = run(["apply", "identifiants.xml", "--format", "json", "--lang", "en"], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "No space left on device" in err and str(small_disk) in err and "--resume" in err
    assert csv.read_bytes() == before  # the rename never happened
    assert [p.name for p in small_disk.iterdir() if p.name.startswith(".")] == []
    session = finish_after_freeing(site, filler, capsys)
    assert session["outcome"] == "completed"
    assert (session["written"], session["failed"]) == (expected, 0)
    code, out, err = run(["undo", session["session"], "--yes", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["restored"] == expected, err
    assert csv.read_bytes() == before
