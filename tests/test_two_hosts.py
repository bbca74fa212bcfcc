"""Two hosts, one CSV: two `apply` with separate data directories never lose an update.

Their establishment locks never meet (each host has its own data directory),
so only the lock beside the CSV keeps them apart. Each child waits a second
just before its rename, holding the file, so that the two writes overlap;
every identifier either journal says was written must be in the file after.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from core.journal import sessions
from core.model import ChangeKind, IdentifierChange
from directory_adapters.csv import CsvDirectory
from directory_adapters.file_protocol import WriteLock
from tests.killpoints import start_child

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"


def host(site: Path, name: str) -> dict[str, str]:
    """One machine: its own config.toml and data directory, the shared CSV."""
    config = site / f"{name}.toml"
    csv = site / "annuaire.csv"
    config.write_text(
        f'data_dir = "{site / name}"\n[directory]\nkind = "csv"\npath = "{csv}"\n',
        encoding="utf-8",
    )
    return {"IDPRONOTE_CONFIG": str(config), "XDG_STATE_HOME": str(site / name / "state")}


def test_two_hosts_never_lose_an_update(tmp_path):
    site = tmp_path
    shutil.copy(DEMO / "annuaire.csv", site / "annuaire.csv")
    shutil.copy(DEMO / "identifiants.xml", site / "identifiants.xml")
    delay = "directory-rename:1.0"
    children = [
        start_child(
            ["apply", "identifiants.xml", "--steps", steps, "--format", "json"],
            cwd=site,
            env={**host(site, name), "IDPRONOTE_TEST_TARGET": "annuaire.csv"},
            delay=delay,
        )
        for name, steps in (("a", "enseignants,responsables"), ("b", "eleves"))
    ]
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode in (0, 1), err
        assert json.loads(out)["session"]
    now = CsvDirectory(site / "annuaire.csv")
    stored = {
        a.login.casefold(): set(now.form.idpns_for(a.identifiers, UAI)) for a in now.accounts(UAI)
    }
    written = 0
    for name in ("a", "b"):
        (record,) = sessions(site / name, UAI)
        for o in record.written():
            written += 1
            if o["kind"] == "remove":
                assert o["previous"] not in stored[o["login"].casefold()], (name, o["login"])
            else:
                assert stored[o["login"].casefold()] == {o["idpn"]}, (name, o["login"])
    assert written > 100
    assert [p.name for p in site.iterdir() if p.name.startswith(".")] == []


def test_a_writer_that_does_not_let_go_is_named(tmp_path, english):
    path = tmp_path / "annuaire.csv"
    shutil.copy(DEMO / "annuaire.csv", path)
    other = WriteLock(path)  # the other host, in the middle of its write
    other.acquire()
    try:
        directory = CsvDirectory(path)
        directory.lock_timeout = 0.2
        before = path.read_bytes()
        started = time.monotonic()
        change = IdentifierChange("aya.barreraud", UAI, ChangeKind.ADD, "A" * 16, None)
        (outcome,) = directory.apply([change])
        assert time.monotonic() - started >= 0.2
        assert (outcome.applied, outcome.failure) == (False, "unavailable")
        assert "is being written by" in outcome.reason and "process" in outcome.reason
        assert path.read_bytes() == before
    finally:
        other.release()
    assert not list(tmp_path.glob(".*.lock"))
