"""`idpronote batch` over a real slapd: several collèges, jobs 1 and 2, faults, resume.

The region is bench/region.py's (bench/datagen.py collèges, one directory),
loaded into a private slapd (tests/ldap/server.py, slapadd -q). The CSV forms
of these tests are in tests/test_batch.py.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from bench.ldap_data import read_annuaire, to_ldif
from bench.region import build_region
from cli.main import main
from core.batch import BatchSettings, run_batch
from core.batch_input import entries_in
from core.batch_record import BatchState
from core.config import load_config
from core.journal import sessions
from directory_adapters import open_directory
from directory_adapters.ldap import LdapDirectory
from tests.killpoints import run_child
from tests.ldap.conftest import require_slapd
from tests.ldap.server import Slapd

COLLEGES = 3
STUDENTS = 60
NO_GUARD = "--allow-mass-removal"
LEASE = 2  # seconds: the directory's lock entries a killed batch leaves expire within the test


@pytest.fixture(scope="session")
def region_ldif(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ldap-region")
    region = build_region(folder, COLLEGES, STUDENTS)
    return region, to_ldif(read_annuaire(region.directory), "ent")


def make_site(folder: Path, region, server: Slapd) -> Path:
    folder.mkdir(exist_ok=True)
    shutil.copytree(region.files, folder / "fichiers")
    (folder / "config.toml").write_text(
        f"""data_dir = "data"
[directory]
kind = "ldap"
preset = "ent"
[directory.ldap]
url = "{server.url}"
bind_dn = "{Slapd.service_dn}"
password_env = "IDPRONOTE_TEST_PASSWORD"
base_dn = "{Slapd.people_dn}"
timeout = 5
lock_base = "{Slapd.locks_dn}"
lock_lease = {LEASE}
""",
        encoding="utf-8",
    )
    return folder


@pytest.fixture
def site(tmp_path, monkeypatch, slapd_factory, region_ldif):
    region, ldif = region_ldif
    server = slapd_factory(ldif)
    folder = make_site(tmp_path / "site", region, server)
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.service_password)
    monkeypatch.chdir(folder)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return folder, server, list(region.uais)


def env(folder: Path) -> dict[str, str]:
    return {
        "IDPRONOTE_TEST_PASSWORD": Slapd.service_password,
        "IDPRONOTE_CONFIG": str(folder / "config.toml"),
        "XDG_STATE_HOME": str(folder / "state"),
    }


def identifiers(server: Slapd) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every person entry's identifiers and object classes, as the admin reads them."""
    return {
        dn.lower(): (tuple(sorted(a.get("idPronote", []))), tuple(sorted(a["objectClass"])))
        for dn, a in server.search("(uid=*)", ["idPronote", "objectClass"])
    }


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def one_job(tmp_path_factory, region_ldif):
    """The same batch, `--jobs 1`, start to end, on a server of its own: (what it leaves
    there, its report), for every test that compares with it."""
    require_slapd()
    region, ldif = region_ldif
    server = Slapd(tmp_path_factory.mktemp("slapd-one-job"), ldif)
    server.start()
    try:
        folder = make_site(tmp_path_factory.mktemp("one-job") / "site", region, server)
        done = run_child(["batch", "fichiers", NO_GUARD, "--format", "json"], cwd=folder,
                         env=env(folder))  # fmt: skip
        assert done.returncode == 1, done.stderr
        return identifiers(server), json.loads(done.stdout)
    finally:
        server.stop()


@pytest.mark.parametrize("jobs", [1, 2])
def test_several_collèges_over_ldap(site, capsys, jobs, one_job):
    folder, server, _uais = site
    before = identifiers(server)
    code, out, err = run(["batch", "fichiers", "--jobs", str(jobs), NO_GUARD, "--format",
                          "json"], capsys)  # fmt: skip
    assert code == 1, err
    report = json.loads(out)
    assert [e["outcome"] for e in report["establishments"]] == ["left_for_human"] * 3
    after = identifiers(server)
    changed = [dn for dn in after if after[dn][0] != before[dn][0]]
    written = report["summary"]["counts"]["written"]
    assert written > 100
    # A value changed per identifier written (no account holds two of the region's schools).
    assert len(changed) == written
    for entry in report["establishments"]:
        (record,) = sessions(folder / "data", entry["uai"])
        assert record.ended == "completed" and len(record.written()) == entry["counts"]["written"]
    if jobs == 2:
        other, alone = one_job
        assert other == after
        assert [e["counts"] for e in alone["establishments"]] == [
            e["counts"] for e in report["establishments"]
        ]


def test_each_collège_is_read_alone(site):
    """One listing per establishment, of that establishment only: never the region."""
    folder, server, uais = site
    config = load_config(folder / "config.toml")
    calls: list[tuple[str, str | None]] = []

    class Counting(LdapDirectory):
        def accounts(self, uai, category=None):
            calls.append(("accounts", uai.upper()))
            return super().accounts(uai, category)

        def census(self, limit):
            calls.append(("census", None))
            return super().census(limit)

    def opener():
        plain = open_directory(config)
        plain.close()
        return Counting(
            {"url": server.url, "bind_dn": Slapd.service_dn,
             "password": Slapd.service_password, "base_dn": Slapd.people_dn},
            plain.mapping, config.profiles,
        )  # fmt: skip

    settings = BatchSettings(mode="complet", data_dir=config.data_dir,
                             file_schema=config.file_schema, jobs=2,
                             allow_mass_removal=True)  # fmt: skip
    state = BatchState.create(config.data_dir, source="x", kind="folder", mode="complet")
    results = run_batch(entries_in(folder / "fichiers"), opener, settings, state)
    assert [r.outcome for r in results] == ["left_for_human"] * 3
    assert sorted(calls) == sorted(("accounts", uai) for uai in uais)


def test_the_directory_gone_mid_batch_then_resumed(site, capsys):
    """slapd killed once the first collège is done: the others fail, said; the batch ends.
    Restarted, --resume does the others."""
    folder, server, uais = site
    config = load_config(folder / "config.toml")
    settings = BatchSettings(mode="complet", data_dir=config.data_dir,
                             file_schema=config.file_schema, allow_mass_removal=True)  # fmt: skip
    source = str((folder / "fichiers").resolve())
    state = BatchState.create(config.data_dir, source=source, kind="folder", mode="complet")

    def progress(result, count, total):
        if count == 1:
            server.kill()

    results = run_batch(entries_in(folder / "fichiers"), lambda: open_directory(config),
                        settings, state, progress=progress)  # fmt: skip
    assert [r.outcome for r in results] == ["left_for_human", "failed", "failed"]
    assert all(r.errors and "Traceback" not in r.errors[0] for r in results[1:])
    server.start()
    _code, out, _err = run(["batch", "fichiers", NO_GUARD, "--resume", "--format", "json"], capsys)
    report = json.loads(out)
    assert [e["earlier"] for e in report["establishments"]] == [True, False, False]
    assert [e["outcome"] for e in report["establishments"]] == ["left_for_human"] * 3
    assert all(len(sessions(folder / "data", u)) == 1 for u in uais)


@pytest.mark.parametrize("jobs", [1, 2])
def test_killed_mid_batch_then_resumed(site, one_job, jobs):
    folder, server, uais = site
    other, alone = one_job
    killed = run_child(["batch", "fichiers", "--jobs", str(jobs), NO_GUARD], cwd=folder,
                       env=env(folder), kill="ldap-modify:150")  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    assert len([r for r in sessions(folder / "data") if r.ended == "completed"]) < len(uais)
    # The killed batch's lock entries in the directory hold until their lease runs out.
    assert server.search("(objectClass=*)", ["cn"]) and any(
        "ou=locks" in dn.lower() and dn.lower() != Slapd.locks_dn for dn, _ in
        server.search("(objectClass=*)", ["cn"])
    )  # fmt: skip
    time.sleep(LEASE + 0.5)
    resumed = run_child(["batch", "fichiers", NO_GUARD, "--resume", "--format", "json"],
                        cwd=folder, env=env(folder))  # fmt: skip
    assert resumed.returncode == 1, resumed.stderr
    report = json.loads(resumed.stdout)
    assert [e["outcome"] for e in report["establishments"]] == ["left_for_human"] * 3
    shape = [(e["earlier"], e["resumed"]) for e in report["establishments"]]
    # One at a time: the first done before the kill, the second's session cut, resumed;
    # two at a time: which were cut depends on the threads' pace, but some was.
    if jobs == 1:
        assert shape[:2] == [(True, False), (False, True)]
    else:
        assert any(resumed for _earlier, resumed in shape)
    assert identifiers(server) == other
    keys = [
        (o["login"].casefold(), o["uai"], o["kind"], o["idpn"], o["previous"])
        for record in sessions(folder / "data")
        for o in record.written()
    ]
    assert len(keys) == len(set(keys))  # nothing written twice
    assert len(keys) == alone["summary"]["counts"]["written"]
    for uai in uais:
        (record,) = sessions(folder / "data", uai)
        assert record.ended == "completed"
