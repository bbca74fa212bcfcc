"""`idpronote inspect` and the frame every command shares: formats, output, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo" / "identifiants.xml"
MINI = """<?xml version="1.0" encoding="UTF-8"?>
<IdentifiantsPronote UAI="0441234A" NomEtablissement="Collège Marie Curie"
                     DateHeure="2026-09-01T08:30:00">
  <Eleves>
    <Eleve Ident="1" IDPN="5A2MJSNYRDTWKP4Q" Nom="ACCOLEE&#x9b;2J&#x202e;" Prenom="Mérine">
      <Responsable Ident="9"/>
    </Eleve>
  </Eleves>
</IdentifiantsPronote>
"""


@pytest.fixture(autouse=True)
def no_site_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_demo_counts_match_the_generator(capsys):
    truth = json.loads((DEMO.parent / "truth.json").read_text(encoding="utf-8"))
    code, out, _ = run(["inspect", str(DEMO), "--format", "json"], capsys)
    report = json.loads(out)
    assert set(report) == {
        "uai",
        "etablissement",
        "date",
        "encoding",
        "counts",
        "format",
        "problems",
    }
    assert report["format"] == "reference"
    assert report["uai"] == "0441234A"
    assert report["encoding"] == "UTF-8"
    assert list(report["counts"]) == [
        "enseignants",
        "eleves",
        "responsables",
        "maitres_de_stage",
        "inspecteurs",
        "personnels",
    ]
    expected = dict.fromkeys(report["counts"], 0)
    for record in truth["records"].values():
        expected[record["category"]] += 1
    assert report["counts"] == expected
    assert code == (1 if report["problems"] else 0)


def test_inspect_text_is_french_by_default_and_english_on_request(tmp_path, capsys):
    export = tmp_path / "export.xml"
    export.write_text(MINI, encoding="utf-8")
    code, out, _ = run(["inspect", str(export)], capsys)
    assert code == 1
    assert "Élèves" in out and "Problèmes (2)" in out
    assert "responsable Ident=9 introuvable" in out
    code, out, _ = run(["inspect", str(export), "--lang", "en"], capsys)
    assert "Students" in out and "Problems (2)" in out
    assert "guardian Ident=9 not found" in out


def test_inspect_text_never_writes_control_characters(tmp_path, capsys):
    export = tmp_path / "export.xml"
    export.write_text(MINI, encoding="utf-8")
    _, out, _ = run(["inspect", str(export)], capsys)
    assert "\x9b" not in out and "\u202e" not in out
    _, out, _ = run(["inspect", str(export), "--format", "json"], capsys)
    assert "\x9b" not in out and "\u202e" not in out
    json.loads(out)


def test_inspect_json_problem_lines(tmp_path, capsys):
    export = tmp_path / "export.xml"
    export.write_text(MINI, encoding="utf-8")
    _, out, _ = run(["inspect", str(export), "--format", "json", "--lang", "en"], capsys)
    problems = json.loads(out)["problems"]
    assert [(p["line"], p["kind"]) for p in problems] == [
        (5, "control_characters"),
        (6, "unknown_guardian"),
    ]


def test_inspect_csv_is_formula_safe(tmp_path, capsys):
    export = tmp_path / "export.xml"
    export.write_text(MINI.replace('Nom="ACCOLEE', 'Nom="=cmd|ACCOLEE'), encoding="utf-8")
    code, out, _ = run(["inspect", str(export), "--format", "csv"], capsys)
    assert code == 1
    assert out.splitlines()[0] == "line;kind;message"
    for line in out.splitlines()[1:]:
        assert line.split(";", 2)[2][:1] not in "=+-@"


def test_output_file_is_private(tmp_path, capsys):
    export = tmp_path / "export.xml"
    export.write_text(MINI, encoding="utf-8")
    report = tmp_path / "report.json"
    report.write_text("old")
    os.chmod(report, 0o644)
    run(["inspect", str(export), "--format", "json", "--output", str(report)], capsys)
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert json.loads(report.read_text(encoding="utf-8"))["uai"] == "0441234A"


def test_unusable_file_is_one_line_and_exit_2(tmp_path, capsys):
    export = tmp_path / "export.xml"
    export.write_text("<?xml version='1.0'?>\n<!DOCTYPE x [<!ENTITY a 'b'>]>\n<x>&a;</x>")
    code, out, err = run(["inspect", str(export)], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and "line 2" in err.replace("ligne", "line")
    assert "Traceback" not in err


def test_usage_errors_exit_2_in_one_line(capsys):
    for argv in (["inspect"], ["frobnicate"], ["inspect", "x", "--format", "yaml"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        _, err = capsys.readouterr()
        assert caught.value.code == 2
        assert err.count("\n") == 1


def test_wrong_establishment_is_refused(tmp_path, capsys):
    export = tmp_path / "export.xml"
    export.write_text(MINI, encoding="utf-8")
    code, _, err = run(["inspect", str(export), "--uai", "0351111B"], capsys)
    assert code == 2 and "0441234A" in err
    with pytest.raises(SystemExit) as caught:
        main(["inspect", str(export), "--uai", "nope"])
    assert caught.value.code == 2
    assert "UAI 'NOPE' invalide" in capsys.readouterr().err


def test_bad_config_is_one_line(tmp_path, capsys):
    (tmp_path / "config.toml").write_text('language = "de"\n')
    code, _, err = run(["inspect", str(DEMO)], capsys)
    assert code == 2
    assert "config.toml, ligne 1 : language" in err


def test_console_script_runs_as_a_process(tmp_path):
    export = tmp_path / "export.xml"
    export.write_text(MINI, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "tui", "inspect", str(export), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["counts"]["eleves"] == 1


# -- idpronote match ------------------------------------------------------------------------

DEMO_DIRECTORY = DEMO.parent / "annuaire.csv"
ACCOUNT_KEYS = {
    "idpn", "nom", "prenom", "date_naissance", "status", "rule", "account", "score",
    "candidates", "written", "previous",
}  # fmt: skip


def test_match_json_is_the_contract_and_agrees_with_the_ground_truth(capsys):
    code, out, _ = run(
        ["match", str(DEMO), "--directory-file", str(DEMO_DIRECTORY), "--format", "json"], capsys
    )
    report = json.loads(out)
    assert code == 1  # some accounts are left for a human
    assert set(report) == {"uai", "mode", "file", "session", "steps", "summary"}
    assert (report["uai"], report["mode"], report["session"]) == ("0441234A", "complet", None)
    assert [s["category"] for s in report["steps"]] == [
        "enseignants", "eleves", "responsables", "maitres_de_stage", "inspecteurs", "personnels",
    ]  # fmt: skip
    truth = json.loads((DEMO.parent / "truth.json").read_text(encoding="utf-8"))["records"]
    recognised = 0
    for step in report["steps"]:
        assert set(step) == {"category", "accounts", "obsolete", "counts"}
        for obsolete in step["obsolete"]:
            assert set(obsolete) == {"account", "idpn", "action", "written"}
            assert (obsolete["action"], obsolete["written"]) == ("remove", False)
        for account in step["accounts"]:
            assert set(account) == ACCOUNT_KEYS
            assert account["written"] is False
            if account["status"] == "recognised":
                recognised += 1
                assert account["account"] == truth[account["idpn"]]["login"]
            else:
                assert account["account"] is None
    assert recognised == report["summary"]["recognised"] > 300


def test_match_csv_is_formula_safe_and_one_row_per_account(tmp_path, capsys):
    export = tmp_path / "export.xml"
    export.write_text(
        MINI.replace('Nom="ACCOLEE&#x9b;2J&#x202e;"', 'Nom="=HYPERLINK(1)"'), encoding="utf-8"
    )
    directory = tmp_path / "annuaire.csv"
    directory.write_text(
        "login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote\n"
        "@evil;+SUM;-1;;National_ELV;0441234A;;;\n",
        encoding="utf-8",
    )
    _, out, _ = run(
        ["match", str(export), "--directory-file", str(directory), "--format", "csv"], capsys
    )
    rows = out.strip().split("\r\n")
    assert len(rows) == 2
    for cell in rows[1].split(";"):
        assert not cell.startswith(("=", "+", "-", "@")), rows[1]


def test_match_text_french_by_default_english_on_request(capsys):
    argv = ["match", str(DEMO), "--directory-file", str(DEMO_DIRECTORY)]
    _, french, _ = run(argv, capsys)
    _, english, _ = run([*argv, "--lang", "en"], capsys)
    assert "Étape" in french and "rien n'a été écrit" in french
    assert "Step" in english and "nothing was written" in english
    assert all(len(line) <= 80 for line in english.splitlines()[1:])


def test_match_partial_mode_lists_no_obsolete(capsys):
    argv = ["match", str(DEMO), "--directory-file", str(DEMO_DIRECTORY), "--format", "json"]
    _, out, _ = run([*argv, "--mode", "partiel"], capsys)
    assert json.loads(out)["summary"]["obsolete"] == 0
    _, out, _ = run(argv, capsys)
    assert json.loads(out)["summary"]["obsolete"] > 0


def test_match_refuses_another_establishment(capsys):
    code, _, err = run(
        ["match", str(DEMO), "--directory-file", str(DEMO_DIRECTORY), "--uai", "0359999Z"], capsys
    )
    assert code == 2 and "0441234A" in err and len(err.strip().splitlines()) == 1


def test_match_without_a_directory_says_what_to_do(capsys):
    code, _, err = run(["match", str(DEMO)], capsys)
    assert code == 2 and "--directory-file" in err


def test_an_internal_error_is_one_line_and_a_private_log(tmp_path, monkeypatch, capsys):
    """A bug must not print a traceback (names, identifiers) on the admin's terminal."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))

    def broken(_ctx):
        raise RuntimeError("bug holding DUPONT Jean 5A2MJSNYRDTWKP4Q")

    monkeypatch.setattr("cli.commands.inspect.run", broken)
    code, out, err = run(["inspect", str(DEMO)], capsys)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "RuntimeError" in err and "DUPONT" not in err and "Traceback" not in err
    log = next((tmp_path / "state").rglob("errors.log"))
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert "DUPONT" in log.read_text() and "Traceback" in log.read_text()
