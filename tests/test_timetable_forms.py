"""One population, two forms: the reference form and PRONOTE's timetable export agree.

bench/datagen.py writes the same people as an ExportEmploiDuTemps (guardians
inside their students, IdPN, empty dates, thousands of timetable elements)
and in the reference form; reading either, then matching against one
directory, must give the same accounts, links and decisions. The timetable
form in an envelope must give the same again.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from bench import datagen
from cli.main import main
from core.journal import sessions
from core.matching import Reconciliation
from core.model import CATEGORIES, Category
from core.names import normalise_name
from core.pronote_file import read_identifiers_file
from directory_adapters.csv import CsvDirectory

UAI = "0441234A"
DEMO = Path(__file__).resolve().parent.parent / "tui" / "demo"


@pytest.fixture(autouse=True)
def no_site_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


@pytest.fixture(scope="module", params=[5, 11])
def population(request, tmp_path_factory) -> datagen.GenerationResult:
    out = tmp_path_factory.mktemp(f"timetable-{request.param}")
    return datagen.generate(out, seed=request.param, students=250, form="timetable", envelope=True)


def accounts_of(export) -> dict[str, tuple]:
    """Each account as matching sees it: names normalised (guardians' first names
    are in capitals in the timetable export), dates, class, CAS login."""
    return {
        a.idpn: (
            a.category,
            normalise_name(a.surname),
            normalise_name(a.first_name),
            a.birth_date,
            a.class_name,
            a.cas_login,
        )
        for a in export.all_accounts()
    }


def links_of(export) -> dict[str, set[str]]:
    """Student identifier -> the identifiers of their guardians."""
    guardians = {g.file_key: g.idpn for g in export.accounts[Category.RESPONSABLES]}
    return {
        s.idpn: {guardians[k] for k in s.guardian_keys} for s in export.accounts[Category.ELEVES]
    }


def decisions_of(export, directory_path: Path) -> dict[str, tuple]:
    directory = CsvDirectory(directory_path)
    steps = Reconciliation.from_directory(directory, UAI).run(export.accounts)
    found = {}
    for step in steps:
        for d in step.decisions:
            found[d.pronote.idpn] = (step.category, d.status, d.rule, d.login, d.candidates)
        for o in step.obsolete:
            found[f"obsolete {o.account.login} {o.idpn}"] = (step.category,)
    return found


def test_both_forms_give_the_same_accounts_links_and_matches(population):
    timetable = read_identifiers_file(population.identifiers)
    reference = read_identifiers_file(population.out_dir / "identifiants-reference.xml")
    assert (timetable.format, reference.format) == ("timetable", "reference")
    assert timetable.counts() == reference.counts() == population.counts
    assert accounts_of(timetable) == accounts_of(reference)
    links = links_of(timetable)
    assert links == links_of(reference)
    assert sum(len(g) for g in links.values()) > len(links)  # siblings share guardians
    decisions = decisions_of(timetable, population.directory)
    assert decisions == decisions_of(reference, population.directory)
    truth = json.loads(population.truth.read_text(encoding="utf-8"))["records"]
    recognised = [
        (idpn, d[3]) for idpn, d in decisions.items() if len(d) > 1 and d[1] == "recognised"
    ]
    assert len(recognised) > 0.85 * len(truth)
    assert all(truth[idpn]["login"] == login for idpn, login in recognised)


def test_inspect_counts_every_guardian_once_and_reports_no_timetable_noise(population, capsys):
    truth = json.loads(population.truth.read_text(encoding="utf-8"))
    guardians = [r for r in truth["records"].values() if r["category"] == "responsables"]
    text = population.identifiers.read_text(encoding="utf-8")
    assert text.count("<Responsable ") > len(guardians)  # each recurs under their children
    assert text.count("<Cours ") > 500 and ' IdPN="' in text and ' IDPN="' in text
    assert 'DateNaissance=""' in text
    assert main(["inspect", str(population.identifiers), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "timetable"
    assert report["counts"]["responsables"] == len(guardians)
    assert report["problems"] == []
    assert main(["inspect", str(population.identifiers), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert out.count("Timetable data ignored") == 1
    assert "Format        : timetable export 1.1" in out


def test_the_envelope_opens_with_its_key_and_gives_the_same_counts(population, capsys):
    envelope = population.out_dir / "identifiants.chiffre.xml"
    key = population.out_dir / "partner.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    argv = ["inspect", str(envelope), "--partner-key", str(key), "--format", "json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "timetable"
    assert report["counts"] == population.counts
    assert report["envelope"]["partenaires"] == ["INDEXEDUCATION", "ENTPARTENAIRE"]
    assert report["envelope"]["partenaire"] == "ENTPARTENAIRE"
    assert report["etablissement"] == "COLLÈGE MARIE CURIE"
    # Without the key: one line, exit 2, in French by default.
    assert main(["inspect", str(envelope)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "aucune clé privée configurée" in err
    assert "Traceback" not in err


def test_the_journal_records_the_envelopes_digest(population, tmp_path, capsys):
    import hashlib

    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(population.directory, site / "annuaire.csv")
    envelope = population.out_dir / "identifiants.chiffre.xml"
    key = population.out_dir / "partner.pem"
    directory = site / "annuaire.csv"
    argv = ["apply", str(envelope), "--partner-key", str(key), "--directory-file", str(directory)]
    code = main([*argv, "--steps", "enseignants"])
    assert code in (0, 1), capsys.readouterr().err
    (record,) = sessions(tmp_path / "xdg-data" / "idpronote", UAI)
    digest = hashlib.sha256(envelope.read_bytes()).hexdigest()
    assert record.header["file_sha256"] == digest
    assert record.header["envelope"]["sha256"] == digest
    assert record.header["file_format"] == "timetable"


# -- complete mode: no category lost -----------------------------------------------------------


def test_complet_never_removes_the_categories_a_timetable_export_cannot_hold(
    population, tmp_path, capsys
):
    """The directory also has supervisors, inspectors and a guardian of nobody in the
    file, each with a stored identifier: the timetable export says nothing of them."""
    site = tmp_path / "site"
    site.mkdir()
    annuaire = site / "annuaire.csv"
    shutil.copy(population.directory, annuaire)
    extra = [
        ("anne.leroy", "LEROY", "Anne", "", "National_MDS", UAI, "", "", f"{UAI}$MS0000000000000A"),
        ("paul.noel", "NOEL", "Paul", "", "National_INS", UAI, "", "", f"{UAI}$IP0000000000000A"),
    ]
    with annuaire.open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle, delimiter=";", lineterminator="\n").writerows(extra)
    before = annuaire.read_bytes()
    argv = ["match", str(population.identifiers), "--directory-file", str(annuaire)]
    main([*argv, "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    steps = {s["category"]: s for s in report["steps"]}
    for slug in ("maitres_de_stage", "inspecteurs"):
        assert steps[slug]["obsolete"] == []
        assert [k["account"] for k in steps[slug]["kept_absent"]] in (["anne.leroy"], ["paul.noel"])
    main([*argv, "--lang", "en"])
    out = capsys.readouterr().out
    assert "Internship supervisors: 1 stored identifier(s) kept: the file holds no account" in out
    code = main(["apply", str(population.identifiers), "--directory-file", str(annuaire)])
    assert code in (0, 1), capsys.readouterr().err
    after = {row[0]: row[8] for row in csv.reader(annuaire.open(encoding="utf-8"), delimiter=";")}
    assert after["anne.leroy"] == f"{UAI}$MS0000000000000A"
    assert after["paul.noel"] == f"{UAI}$IP0000000000000A"
    assert annuaire.read_bytes() != before  # the rest of the import did write


def test_apply_refuses_to_remove_more_than_half_of_a_category(tmp_path, capsys):
    """A file with a tenth of the school's students: a wrong file, not a new year."""
    site = tmp_path / "site"
    site.mkdir()
    annuaire = site / "annuaire.csv"
    shutil.copy(DEMO / "annuaire.csv", annuaire)
    tree = etree.parse(str(DEMO / "identifiants.xml"))
    students = tree.getroot().find("Eleves")
    for n, student in enumerate(list(students)):
        if n % 10:
            students.remove(student)
    cut = site / "identifiants.xml"
    tree.write(str(cut), encoding="UTF-8", xml_declaration=True)
    stored_before = annuaire.read_bytes()
    code = main(["apply", str(cut), "--directory-file", str(annuaire), "--lang", "en"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "step 2 (Students):" in err and "more than half" in err
    assert "--allow-mass-removal" in err
    assert annuaire.read_bytes() == stored_before
    assert sessions(tmp_path / "xdg-data" / "idpronote", UAI) == []  # nothing journaled
    # A dry run says it, and writes nothing.
    code = main(["apply", str(cut), "--directory-file", str(annuaire), "--dry-run", "--lang", "en"])
    assert "more than half" in capsys.readouterr().out
    code = main(["apply", str(cut), "--directory-file", str(annuaire), "--allow-mass-removal"])
    assert code in (0, 1), capsys.readouterr().err
    assert annuaire.read_bytes() != stored_before


def test_every_category_is_kept_when_the_file_holds_none_of_it(tmp_path):
    """Core, not the CLI: whatever the file, a category it lacks loses nothing."""
    export = read_identifiers_file(DEMO / "identifiants.xml")
    directory = CsvDirectory(DEMO / "annuaire.csv")
    only_teachers = {Category.ENSEIGNANTS: export.accounts[Category.ENSEIGNANTS]}
    steps = Reconciliation.from_directory(directory, UAI).run(only_teachers)
    for step in steps[1:]:
        assert step.obsolete == []
    assert sum(len(s.kept_absent) for s in steps) > 20
    assert {s.category for s in steps if s.kept_absent} <= set(CATEGORIES[1:])
