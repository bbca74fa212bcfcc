"""`idpronote apply`, `history` and `undo` on the demo data (CSV directory)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main
from tests.journals import records_of, write_sealed
from tests.report_rows import check_report_rows

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    shutil.copy(DEMO / "annuaire.csv", tmp_path / "annuaire.csv")
    shutil.copy(DEMO / "identifiants.xml", tmp_path / "identifiants.xml")
    return tmp_path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


BASE = ["identifiants.xml", "--directory-file", "annuaire.csv", "--format", "json"]


def test_apply_writes_what_match_said_and_a_second_run_changes_nothing(site, capsys):
    _, out, _ = run(["match", *BASE], capsys)
    predicted = {
        a["idpn"]: a["account"]
        for step in json.loads(out)["steps"]
        for a in step["accounts"]
        if a["status"] == "recognised"
    }
    code, out, _ = run(["apply", *BASE], capsys)
    report = json.loads(out)
    assert code == 1  # unrecognised accounts are left for the wizard
    assert report["session"]
    written = {
        a["idpn"]: a["account"]
        for step in report["steps"]
        for a in step["accounts"]
        if a["written"]
    }
    assert written == predicted
    # Every obsolete identifier is in the report, removed, and counted.
    obsolete = [o for step in report["steps"] for o in step["obsolete"]]
    assert obsolete and all((o["action"], o["written"]) == ("remove", True) for o in obsolete)
    assert report["summary"]["removed"] == len(obsolete) == report["summary"]["obsolete"]
    after = (site / "annuaire.csv").read_bytes()
    run(["apply", *BASE], capsys)
    assert (site / "annuaire.csv").read_bytes() == after
    _, out, _ = run(["history", "--format", "json"], capsys)
    first, second = json.loads(out)["sessions"]
    assert first["written"] > 100 and second["written"] == 0
    assert first["outcome"] == second["outcome"] == "completed"


def test_dry_run_writes_nothing_and_journals_nothing(site, capsys):
    before = (site / "annuaire.csv").read_bytes()
    _, out, _ = run(["apply", *BASE, "--dry-run"], capsys)
    assert json.loads(out)["session"] is None
    assert (site / "annuaire.csv").read_bytes() == before
    _, out, _ = run(["history", "--format", "json"], capsys)
    assert json.loads(out)["sessions"] == []


def test_steps_limit_what_is_written(site, capsys):
    _, out, _ = run(["apply", *BASE, "--steps", "enseignants"], capsys)
    report = json.loads(out)
    by_step = {s["category"]: sum(a["written"] for a in s["accounts"]) for s in report["steps"]}
    assert by_step["enseignants"] == 9
    # Students and guardians: only what was already stored counts as written.
    _, out, _ = run(["history", "--format", "json"], capsys)
    (session,) = json.loads(out)["sessions"]
    assert session["steps"] == [
        "enseignants", "eleves", "responsables", "maitres_de_stage", "inspecteurs", "personnels",
    ]  # fmt: skip


def test_unknown_step_is_a_usage_error(site, capsys):
    code, _, err = run(["apply", *BASE, "--steps", "eleves,parents"], capsys)
    assert code == 2 and "parents" in err


def test_undo_restores_the_file_exactly(site, capsys):
    before = (site / "annuaire.csv").read_bytes()
    _, out, _ = run(["apply", *BASE], capsys)
    session = json.loads(out)["session"]
    code, _, err = run(["undo", session, "--directory-file", "annuaire.csv"], capsys)
    assert code == 2 and "--yes" in err  # no terminal here: never without --yes
    code, out, _ = run(
        ["undo", session, "--directory-file", "annuaire.csv", "--yes", "--format", "json"], capsys
    )
    assert code == 0 and json.loads(out)["failed"] == []
    assert (site / "annuaire.csv").read_bytes() == before
    _, out, _ = run(["history", "--format", "json"], capsys)
    sessions = json.loads(out)["sessions"]
    assert sessions[0]["undone_by"] == sessions[1]["session"]


def test_undo_of_an_unknown_session(site, capsys):
    code, _, err = run(["undo", "nope", "--directory-file", "annuaire.csv", "--yes"], capsys)
    assert code == 2 and "nope" in err


def test_the_remaining_accounts_of_a_session_as_a_formula_safe_csv(site, capsys):
    export = (site / "identifiants.xml").read_text(encoding="utf-8")
    # A name that a spreadsheet would run as a formula, on an account nobody can recognise.
    export = export.replace('Nom="RIVILIN" Prenom="Gaël"', 'Nom="=HYPERLINK(1)" Prenom="@x"', 1)
    (site / "identifiants.xml").write_text(export, encoding="utf-8")
    _, out, _ = run(["apply", *BASE], capsys)
    report = json.loads(out)
    left = report["summary"]["unrecognised"]
    code, out, _ = run(["history", report["session"], "--format", "csv"], capsys)
    rows = out.strip().split("\r\n")
    assert code == 0 and len(rows) == 1 + left
    assert rows[0].startswith("etape;categorie;idpn;nom")
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.split(";")), row
    assert any("'=HYPERLINK(1)" in row for row in rows)


def test_apply_resume_finishes_an_interrupted_session(site, capsys):
    from core.config import load_config
    from core.pronote_file import read_identifiers_file
    from core.wizard import ImportSession
    from directory_adapters.csv import CsvDirectory

    config = load_config(None)
    session = ImportSession(
        CsvDirectory(site / "annuaire.csv"),
        read_identifiers_file(site / "identifiants.xml"),
        uai="0441234A",
        mode="complet",
        data_dir=config.data_dir,
    ).start()
    session.validate()
    session.interrupt()
    code, out, _ = run(["apply", *BASE, "--resume"], capsys)
    report = json.loads(out)
    assert report["session"] == session.session
    assert report["steps"][0]["category"] == "eleves"
    assert report["resumed"] == {"steps_done_before": ["enseignants"]}
    _, out, _ = run(["history", "--format", "json"], capsys)
    (only,) = json.loads(out)["sessions"]
    assert only["outcome"] == "completed" and len(only["steps"]) == 6
    code, _, err = run(["apply", *BASE, "--resume"], capsys)
    assert code == 2 and "0441234A" in err


def _age(path: Path, days: int) -> None:
    """Make a journal look `days` old (its start and its end)."""
    from datetime import datetime, timedelta

    old = (datetime.now().astimezone() - timedelta(days=days)).isoformat(timespec="seconds")
    records = records_of(path)
    for record in records:
        for key in ("started", "time"):
            if key in record:
                record[key] = old
    write_sealed(path, records)


def test_purge_deletes_old_journals_but_never_a_cut_one(site, capsys):
    run(["apply", *BASE], capsys)
    run(["apply", *BASE], capsys)
    journals = list((site / "data" / "idpronote" / "journals").rglob("*.jsonl"))
    assert len(journals) == 2
    # The first session (the one that wrote) is made old; ids of one second sort at random.
    old, recent = sorted(
        journals, key=lambda p: json.loads(p.read_text().splitlines()[0])["started_ns"]
    )
    _age(old, 400)
    # A third, old session cut in the middle of a write: no end line.
    cut = old.with_name("cut.jsonl")
    header, *rest = records_of(old)
    header["session"] = "cut-session"
    intent = next(x for x in rest if x.get("type") == "intent")
    write_sealed(cut, [header, intent])

    code, _, err = run(["history", "--purge-older-than", "365"], capsys)
    assert code == 2 and "--yes" in err  # no terminal to ask on: refuse, delete nothing
    assert old.exists()
    code, out, _ = run(
        ["history", "--purge-older-than", "365", "--yes", "--format", "json"], capsys
    )
    report = json.loads(out)
    assert code == 0
    assert report["kept_unfinished"] == ["cut-session"]
    assert len(report["purged"]) == 1
    assert not old.exists() and recent.exists() and cut.exists()
    _, out, _ = run(["history", "--format", "json"], capsys)
    assert len(json.loads(out)["sessions"]) == 2


def test_purge_days_must_be_a_number(site, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["history", "--purge-older-than", "soon"])
    assert exit_.value.code == 2
    assert "nombre de jours" in capsys.readouterr().err


def csv_stored(site: Path) -> dict[str, frozenset[str]]:
    from directory_adapters.csv import CsvDirectory

    d = CsvDirectory(site / "annuaire.csv")
    return {
        a.login: frozenset(d.form.idpns_for(a.identifiers, "0441234A"))
        for a in d.accounts("0441234A")
    }


def test_every_write_is_in_the_report_row_by_row_and_in_history(site, capsys):
    """apply --format json|csv|text: each identifier added, replaced, removed or kept."""
    # First two steps only: the other steps' obsolete identifiers are reported kept.
    before = csv_stored(site)
    _, out, _ = run(["apply", *BASE, "--steps", "enseignants,eleves"], capsys)
    report = json.loads(out)
    middle = csv_stored(site)
    first = check_report_rows(before, middle, report)
    assert first["removed"] >= 1 and report["summary"]["kept"] >= 1
    # Then everything: what is left is removed now.
    _, out, _ = run(["apply", *BASE], capsys)
    report = json.loads(out)
    after = csv_stored(site)
    changes = check_report_rows(middle, after, report)
    assert changes["removed"] >= 1 and report["summary"]["kept"] == 0
    # history SESSION lists the same removals and replacements.
    _, out, _ = run(["history", report["session"], "--format", "json"], capsys)
    listed = {(x["account"], x["idpn"], x["action"]) for x in json.loads(out)["removed"]}
    reported = {
        (o["account"], o["idpn"], "remove")
        for s in report["steps"]
        for o in s["obsolete"]
        if o["written"]
    } | {
        (a["account"], a["previous"], "replace")
        for s in report["steps"]
        for a in s["accounts"]
        if a["written"] and a["previous"] and a["previous"] in middle[a["account"]]
    }
    assert listed == reported and listed
    _, text, _ = run(["history", report["session"], "--lang", "en"], capsys)
    for login, idpn, _ in listed:
        assert any(login in line and idpn in line for line in text.splitlines()), login


def test_the_csv_and_text_reports_of_apply_list_every_removal(site, capsys):
    before = csv_stored(site)
    argv = ["apply", "identifiants.xml", "--directory-file", "annuaire.csv"]
    _, out, _ = run([*argv, "--format", "csv", "--dry-run"], capsys)
    rows = [line.split(";") for line in out.strip().split("\r\n")]
    header, rows = rows[0], rows[1:]
    assert header[-2:] == ["ecrit", "precedent"]
    planned = {(r[8], r[2]) for r in rows if r[6] == "obsolete" and r[7] == "remove"}
    gone = {(login, idpn) for login, ids in before.items() for idpn in ids}
    assert planned and planned <= gone
    assert all(r[12] == "false" for r in rows)  # a dry run writes nothing
    _, out, _ = run([*argv, "--format", "csv"], capsys)
    rows = [line.split(";") for line in out.strip().split("\r\n")][1:]
    removed = {(r[8], r[2]) for r in rows if r[6] == "obsolete" and r[12] == "true"}
    assert removed == planned
    after = csv_stored(site)
    assert all(idpn not in after[login] for login, idpn in removed)
    # The text report names each removal too (run on a fresh copy of the data).
    shutil.copy(DEMO / "annuaire.csv", site / "annuaire.csv")
    _, text, _ = run([*argv, "--lang", "en"], capsys)
    assert all(len(line) <= 80 for line in text.splitlines()[1:])  # as match: after the title
    for login, idpn in removed:
        assert any(
            login in line and idpn in line and "removed" in line for line in text.splitlines()
        )
