"""What idpronote writes for the admin: to the terminal, to --output, and setup's files.

Every text a terminal shows goes through one escaping (`core.text.printable`,
applied to the whole output of every command); `--output` and setup's
writes never follow a link and never reuse another user's file.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
from pathlib import Path

import pytest

from cli.main import main
from core.config_file import write_config
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
OTHER_USER = 65534
# An OSC title, a screen clear, an 8-bit CSI (C1), a right-to-left override, an isolate.
HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x9b31m\u202eevil\u2066\r"
# What must never reach a terminal raw: C0 but LF and tab (and CR only in CRLF), DEL,
# C1, and the characters that reorder or hide text.
UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|\r(?!\n)"
)
EVIL_IDPN = "EVIL0000000000AA"


def run(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as usage:  # argparse's own one-line error
        code = usage.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def site(tmp_path, monkeypatch):
    """The demo establishment, plus an account whose every column is hostile, and a file
    whose names are (XML cannot carry ESC itself: C1, bidi and zero-width joiners)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(
        [
            f"evil{HOSTILE}",
            f"EVIL{HOSTILE}",
            f"Eve{HOSTILE}",
            f"31/02/2012{HOSTILE}",
            f"National_ELV|X{HOSTILE}",
            f"{UAI}|{HOSTILE}",
            f"5A|{HOSTILE}",
            f"kid{HOSTILE}",
            f"{UAI}${EVIL_IDPN}|{HOSTILE}",
        ]
    )
    directory = (DEMO / "annuaire.csv").read_text(encoding="utf-8") + out.getvalue()
    (tmp_path / "annuaire.csv").write_text(directory, encoding="utf-8")
    export = (DEMO / "identifiants.xml").read_text(encoding="utf-8")
    export = export.replace('Nom="BARRERAUD"', 'Nom="BARRERAUD&#x9b;2J&#x202e;&#x200d;"', 1)
    export = export.replace(
        "<Professeurs>", "<Professeurs><Inconnu\u200d/><Professeur\u200d IDPN='X'/>", 1
    )
    (tmp_path / "identifiants.xml").write_text(export, encoding="utf-8")
    (tmp_path / "config.toml").write_text(
        '[directory]\nkind = "csv"\npath = "annuaire.csv"\n'
        f'[file]\npartner_name = "{json.dumps(HOSTILE)[1:-1]}"\n'
        f'[directory.fields]\nclasses = "classes"\n',
        encoding="utf-8",
    )
    return tmp_path


def clean(code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err and "internal error" not in err and "erreur interne" not in err
    found = UNSAFE.findall(out + err)
    assert not found, (found, out[:2000], err)


def test_every_column_of_every_commands_text_output_is_escaped(site, capsys):
    evil = f"evil{HOSTILE}"
    session = None
    commands = [
        ["inspect", "identifiants.xml"],
        ["match", "identifiants.xml"],
        ["apply", "identifiants.xml", "--dry-run"],
        ["apply", "identifiants.xml"],
        ["search", "evil"],
        ["search", HOSTILE],
        ["search", "barreraud"],
        ["linked", "--uai", UAI],
        ["explain", evil, "--uai", UAI, "--file", "identifiants.xml"],
        ["explain", "EVIL", "--uai", UAI],
        ["explain", EVIL_IDPN, "--uai", UAI],
        ["status", "--uai", UAI, "--file", "identifiants.xml"],
        ["link", evil, "5A2MJSNYRDTWKP4Q", "--uai", UAI, "--yes"],
        ["unlink", evil, "--uai", UAI, "--yes"],
        ["history"],
        ["history", "SESSION"],
        ["undo", "SESSION", "--yes"],
        ["config", "show"],
        ["config", "check"],
        ["unlink", HOSTILE, "--uai", UAI, "--yes"],
        ["link", evil, HOSTILE, "--uai", UAI, "--yes"],
        ["inspect", f"no-such-file{HOSTILE}"],
        ["search", "x", "--category", HOSTILE],
    ]
    shown_column = False
    for lang in ("fr", "en"):
        for argv in commands:
            argv = [session if a == "SESSION" else a for a in argv]
            if None in argv:
                continue
            code, out, err = run([*argv, "--lang", lang], capsys)
            clean(code, out, err)
            if argv[:2] == ["search", "evil"]:
                # The establishments column: the known hole, shown escaped.
                shown_column = "\\x1b]0;PWNED\\x07" in out and UAI in out
            if argv[0] == "apply" and "--dry-run" not in argv and session is None:
                session = re.search(r"idpronote undo (\S+)", out).group(1)
    assert shown_column and session
    # json and csv: escaped too (JSON as \uXXXX, CSV cells as text).
    for fmt in ("json", "csv"):
        for argv in (["search", "evil"], ["match", "identifiants.xml"], ["linked", "--uai", UAI]):
            clean(*run([*argv, "--format", fmt], capsys))


def test_output_never_follows_a_symlink(site, capsys):
    victim = site / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    (site / "report.txt").symlink_to(victim)
    code, out, err = run(["inspect", "identifiants.xml", "--output", "report.txt"], capsys)
    assert code == 2 and out == "" and "lien symbolique" in err
    assert err.count("\n") == 1
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert (site / "report.txt").is_symlink()


def test_output_never_reuses_a_file_of_another_user(site, capsys):
    theirs = site / "shared" / "report.txt"
    theirs.parent.mkdir()
    theirs.parent.chmod(0o1777)  # a shared, sticky folder like /tmp
    theirs.write_text("theirs\n", encoding="utf-8")
    os.chown(theirs, OTHER_USER, OTHER_USER)
    code, _, err = run(["inspect", "identifiants.xml", "--output", str(theirs)], capsys)
    assert code == 2 and "nobody" in err
    assert theirs.read_text(encoding="utf-8") == "theirs\n"
    assert theirs.stat().st_uid == OTHER_USER


def test_an_unusable_output_is_one_line_before_any_work(site, capsys):
    directory = (site / "annuaire.csv").read_bytes()
    for target, words in (
        (str(site), "est un dossier"),
        ("/tmp", "est un dossier"),
        ("no/such/folder/report.txt", "n'existe pas"),
    ):
        code, out, err = run(["apply", "identifiants.xml", "--output", target], capsys)
        assert code == 2 and out == "" and words in err, err
        assert err.count("\n") == 1 and "Traceback" not in err and "interne" not in err
    assert (site / "annuaire.csv").read_bytes() == directory  # apply wrote nothing
    assert not (site / "data").exists()  # nor journaled anything


def test_output_is_written_beside_then_renamed_private_and_leaves_nothing(site, capsys):
    target = site / "report.json"
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o644)
    code, _, _ = run(
        ["inspect", "identifiants.xml", "--format", "json", "--output", "report.json"], capsys
    )
    assert code in (0, 1)
    assert json.loads(target.read_text(encoding="utf-8"))["uai"] == UAI
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in site.glob(".report.json*")) == []


# -- setup's writes -----------------------------------------------------------------------------


def _table(path: str = "annuaire.csv") -> dict:
    return {"directory": {"kind": "csv", "path": path}}


def test_setups_backup_never_follows_a_planted_link(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[directory.ldap]\npassword = "s3cret"\n', encoding="utf-8")
    config.chmod(0o600)
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / "config.toml.bak").symlink_to(victim)
    with pytest.raises(ConfigError) as refused:
        write_config(config, _table())
    assert "config.toml.bak" in str(refused.value)
    assert victim.read_text(encoding="utf-8") == "precious\n"  # the password never went there
    assert "s3cret" in config.read_text(encoding="utf-8")  # and the config was left as it was


def test_setups_temporary_file_is_not_at_a_name_anyone_can_plant(tmp_path):
    """Before: `.config.toml.<pid>.tmp`, opened O_TRUNC through whatever was there."""
    config = tmp_path / "config.toml"
    victim = tmp_path / "victim"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / f".config.toml.{os.getpid()}.tmp").symlink_to(victim)
    write_config(config, _table())
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert 'kind = "csv"' in config.read_text(encoding="utf-8")
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    leftovers = {p.name for p in tmp_path.iterdir()} - {"config.toml", "victim"}
    assert leftovers == {f".config.toml.{os.getpid()}.tmp"}  # the planted link, untouched


def test_setup_never_writes_over_a_config_of_another_user_or_a_link(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('language = "fr"\n', encoding="utf-8")
    os.chown(config, OTHER_USER, OTHER_USER)
    with pytest.raises(ConfigError):
        write_config(config, _table())
    assert config.stat().st_uid == OTHER_USER
    link = tmp_path / "linked.toml"
    link.symlink_to(tmp_path / "elsewhere.toml")
    with pytest.raises(ConfigError):
        write_config(link, _table())
    assert not (tmp_path / "elsewhere.toml").exists()
