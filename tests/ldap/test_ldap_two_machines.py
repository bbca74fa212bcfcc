"""Two machines at once (issue 18), simulated: two processes, two data directories, one
provider, overlapping lists of establishments, each machine one `idpronote batch`.

Each process has its own data directory, as two hosts would: their local locks
never meet, only the directory's lock entries keep them apart. Each one runs
its list in turn (`machine`, the one place that says how), its writes slowed a
little so that the two meet on the establishments both lists hold.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from core.config import load_config
from core.journal import change_key, sessions
from core.model import CATEGORIES, ChangeKind
from core.pronote_file import read_identifiers_file
from core.wizard import ImportSession
from directory_adapters import open_directory
from tests.killpoints import ROOT
from tests.ldap.schools import schools
from tests.ldap.server import Slapd

SCHOOLS = 5
# Seconds before each modify: an establishment's import lasts a few seconds, so that
# the two machines are at work on the same lists at the same time.
DELAY = "ldap-modify:0.004"

# One machine: `idpronote batch` over a manifest of its establishments' files, in one
# process, its JSON report on stdout.
_MACHINE = """
import sys
from tests.killpoints import install
install()
from cli.main import main
sys.exit(main(["batch", "--manifest", sys.argv[1], "--format", "json"]))
"""


def machine(folder: Path, files: list[Path]) -> subprocess.Popen[str]:
    """Start one machine (its config.toml and data directory in `folder`) on `files`."""
    manifest = folder / "manifest.csv"
    manifest.write_text("".join(f"{f.stem};{f}\n" for f in files), encoding="utf-8")
    env = {"PYTHONPATH": str(ROOT), "IDPRONOTE_TEST_PASSWORD": Slapd.service_password,
           "IDPRONOTE_TEST_DELAY": DELAY, "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-c", _MACHINE, str(manifest)],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def host(folder: Path, server: Slapd) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text(
        f"""
data_dir = "{folder / "data"}"
[directory]
kind = "ldap"
preset = "ent"
[directory.ldap]
url = "{server.url}"
bind_dn = "{Slapd.service_dn}"
password_env = "IDPRONOTE_TEST_PASSWORD"
base_dn = "{Slapd.people_dn}"
lock_base = "{Slapd.locks_dn}"
lock_lease = 5
""",
        encoding="utf-8",
    )
    return folder


def intended(config_path: Path, files: dict[str, Path]) -> dict[tuple[str, str], frozenset]:
    """What one clean import of each establishment leaves: (login, uai) -> identifiers."""
    expected = {}
    with open_directory(load_config(config_path)) as directory:
        for uai, path in files.items():
            for account in directory.accounts(uai):
                expected[account.login, uai] = frozenset(
                    directory.form.idpns_for(account.identifiers, uai)
                )
            s = ImportSession(directory, read_identifiers_file(path), uai=uai, mode="complet",
                              data_dir=None)  # fmt: skip
            for category in CATEGORIES:
                for change in s.plan(s.state(category)).changes:
                    value = frozenset() if change.kind is ChangeKind.REMOVE else {change.idpn}
                    expected[change.login, uai] = frozenset(value)
    return expected


def stored(config_path: Path, uais) -> dict[tuple[str, str], frozenset]:
    with open_directory(load_config(config_path)) as directory:
        return {
            (a.login, uai): frozenset(directory.form.idpns_for(a.identifiers, uai))
            for uai in uais
            for a in directory.accounts(uai)
        }


def test_two_machines_on_overlapping_lists_never_import_one_establishment_twice_at_once(
    slapd_factory, tmp_path, monkeypatch
):
    ldif, files = schools(SCHOOLS, tmp_path / "files")
    server = slapd_factory(ldif, tls=False)
    a, b = host(tmp_path / "a", server), host(tmp_path / "b", server)
    monkeypatch.setenv("IDPRONOTE_TEST_PASSWORD", Slapd.service_password)
    expected = intended(a / "config.toml", files)
    uais = list(files)
    # A takes the first four in order, B the last four backwards: three in common,
    # which the two reach at about the same time.
    lists = {a: uais[:4], b: list(reversed(uais[1:]))}
    children = {folder: machine(folder, [files[u] for u in chosen])
                for folder, chosen in lists.items()}  # fmt: skip
    outcomes: dict[Path, dict[str, dict]] = {}
    for folder, child in children.items():
        out, err = child.communicate(timeout=300)
        assert child.returncode in (0, 1), err  # 1: some left for a human, or refused
        report = json.loads(out)
        outcomes[folder] = {line["uai"]: line for line in report["establishments"]}
        assert set(outcomes[folder]) == set(lists[folder])  # every file of its list

    # Each establishment of a list: imported, or refused because the other held it.
    imported: Counter[str] = Counter()
    for found in outcomes.values():
        for uai, line in found.items():
            if line["outcome"] in ("completed", "left_for_human"):
                imported[uai] += 1
            else:
                assert line["outcome"] == "failed", line
                assert line["errors"] and "jusqu'au" in line["errors"][0], line
                assert not any("Traceback" in e for e in line["errors"]), line
    # Together, they account for every establishment.
    assert set(imported) == set(uais)

    # Never two sessions of one establishment at the same time, on the two machines.
    spans: dict[str, list[tuple[float, float, Path]]] = {}
    records = []
    for folder in (a, b):
        for record in sessions(folder / "data"):
            records.append(record)
            assert record.ended == "completed", (record.session, record.ended)
            start = record.header["started_ns"] / 1e9
            end = datetime.fromisoformat(record.ended_at).timestamp()
            spans.setdefault(record.uai, []).append((start, end, folder))
    assert Counter({uai: len(found) for uai, found in spans.items()}) == imported
    for uai, found in spans.items():
        found.sort()
        for (_s1, end, _f1), (start, _e2, _f2) in itertools.pairwise(found):
            # `ended_at` is rounded down to the second: a later start never precedes it.
            assert start >= end, uai

    # Nothing written twice: each change once, over both machines' journals.
    written = Counter(change_key(o) for record in records for o in record.written())
    assert written and max(written.values()) == 1
    # And the directory holds what one import of each establishment leaves.
    assert stored(a / "config.toml", uais) == expected
    assert server.search("(objectClass=applicationProcess)") == []  # every lock released
