"""The demo and benchmark data generator: deterministic, realistic, and its truth holds."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from lxml import etree

from bench import datagen

STUDENTS = 120
FILES = ("identifiants.xml", "annuaire.csv", "truth.json")
DEMO = Path(__file__).resolve().parent.parent / "tui" / "demo"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> datagen.GenerationResult:
    return datagen.generate(tmp_path_factory.mktemp("gen"), seed=3, students=STUDENTS)


@pytest.fixture(scope="module")
def truth(generated) -> dict:
    return json.loads(generated.truth.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def xml_root(generated):
    return etree.parse(str(generated.identifiers)).getroot()


@pytest.fixture(scope="module")
def rows(generated) -> list[dict[str, str]]:
    with generated.directory.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream, delimiter=";"))


def test_same_seed_gives_byte_identical_files(generated, tmp_path):
    again = datagen.generate(tmp_path, seed=3, students=STUDENTS)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (generated.out_dir / name).read_bytes(), name
    assert again.counts == generated.counts


def test_another_seed_gives_other_files(generated, tmp_path):
    datagen.generate(tmp_path, seed=4, students=STUDENTS)
    for name in FILES:
        assert (tmp_path / name).read_bytes() != (generated.out_dir / name).read_bytes(), name


def test_counts_follow_the_ratios(generated, xml_root):
    counts = generated.counts
    assert list(counts) == list(datagen.CATEGORIES)
    assert counts["eleves"] == STUDENTS
    assert counts["enseignants"] == round(STUDENTS / 14)
    assert counts["personnels"] == round(STUDENTS / 40)
    assert counts["maitres_de_stage"] == 3
    assert counts["inspecteurs"] == 2
    assert 1.5 * STUDENTS <= counts["responsables"] <= 1.9 * STUDENTS
    for slug, (wrapper, tag) in datagen.ELEMENTS.items():
        assert len(xml_root.findall(f"{wrapper}/{tag}")) == counts[slug], slug


def test_the_file_is_in_the_reference_form(generated, xml_root):
    text = generated.identifiers.read_text(encoding="utf-8")
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<IdentifiantsPronote ')
    assert xml_root.get("UAI") == "0441234A"
    assert xml_root.get("NomEtablissement") == "Collège Marie Curie"
    assert xml_root.get("DateHeure") == "2026-09-01T08:30:00"
    students = xml_root.findall("Eleves/Eleve")
    assert all(re.fullmatch(r"[6543][A-Z]", e.get("Classe")) for e in students)
    assert all(e.get("DateNaissance") for e in students)
    for guardian in xml_root.findall("Responsables/Responsable"):
        assert guardian.get("DateNaissance") is None and guardian.get("CodePostal")
    dates = [e.get("DateNaissance") for e in xml_root.iter() if e.get("DateNaissance")]
    french = [d for d in dates if re.fullmatch(r"\d\d/\d\d/\d{4}", d)]
    iso = [d for d in dates if re.fullmatch(r"\d{4}-\d\d-\d\d", d)]
    assert len(french) + len(iso) == len(dates)
    assert len(french) > len(iso) > 0


def test_every_idpn_is_valid_and_unique(xml_root, truth):
    idpns = [e.get("IDPN") for e in xml_root.iter() if e.get("IDPN")]
    assert all(re.fullmatch(r"[A-Z0-9]{16}", idpn) for idpn in idpns)
    assert len(idpns) == len(set(idpns))
    assert set(idpns) == set(truth["records"])


def test_every_guardian_reference_points_at_a_guardian(xml_root):
    guardians = {e.get("Ident") for e in xml_root.findall("Responsables/Responsable")}
    for student in xml_root.findall("Eleves/Eleve"):
        links = [link.get("Ident") for link in student.findall("Responsable")]
        assert 1 <= len(links) <= 2
        assert set(links) <= guardians


def test_every_hard_case_is_present(truth):
    labels = {label for entry in truth["records"].values() for label in entry["labels"]}
    labels |= {label for entry in truth["directory_only"].values() for label in entry["labels"]}
    assert labels == set(datagen.LABELS)


def test_truth_logins_exist_in_the_directory(truth, rows):
    logins = {row["login"] for row in rows}
    assert len(logins) == len(rows)
    for idpn, entry in truth["records"].items():
        assert entry["login"] is None or entry["login"] in logins, idpn
        assert (entry["login"] is None) == ("not_in_directory" in entry["labels"]), idpn
    assert set(truth["directory_only"]) <= logins
    assert set(truth["obsolete"]) <= set(truth["directory_only"])


def test_truth_lines_point_at_the_records(generated, truth):
    lines = generated.identifiers.read_text(encoding="utf-8").splitlines()
    for idpn, entry in truth["records"].items():
        assert f'IDPN="{idpn}"' in lines[entry["line"] - 1]


def test_directory_form(generated, rows):
    header = generated.directory.read_text(encoding="utf-8").split("\n", 1)[0]
    assert header == ";".join(datagen.CSV_HEADER)
    uai = "0441234A"
    logins = {row["login"] for row in rows}
    profiles = {row["profil"] for row in rows}
    assert {"National_ENS", "National_ELV", "National_TUT", "National_MDS", "National_INS"} < (
        profiles
    )
    for row in rows:
        assert uai in row["uai"].split("|")
        for value in filter(None, row["idpronote"].split("|")):
            assert re.fullmatch(r"\d{3}\d{4}[A-Z]\$[A-Z0-9]{16}", value), value
        for student in filter(None, row["eleves"].split("|")):
            assert student in logins
    dates = [row["date_naissance"] for row in rows if row["date_naissance"]]
    assert sum(bool(re.fullmatch(r"\d{4}-\d\d-\d\d", d)) for d in dates) > 0.8 * len(dates)


def test_truth_is_consistent_with_the_data(truth, rows, xml_root):
    by_login = {row["login"]: row for row in rows}
    records = {e.get("IDPN"): e for e in xml_root.iter() if e.get("IDPN")}
    for idpn, entry in truth["records"].items():
        labels, element = entry["labels"], records[idpn]
        row = by_login.get(entry["login"])
        if "cas_login" in labels:
            assert element.get("IdentifiantCAS") == entry["login"]
        if "already_linked" in labels:
            assert f"0441234A${idpn}" in row["idpronote"].split("|")
        if "mojibake" in labels:
            assert "Ã" in element.get("Prenom") + element.get("Nom")
        if "lost_letter" in labels:
            assert "$" in element.get("Prenom") + element.get("Nom")
        if "two_establishments" in labels:
            assert len(row["uai"].split("|")) == 2
    for login in truth["obsolete"]:
        stored = by_login[login]["idpronote"].split("|")
        assert any(v.startswith("0441234A$") and v[9:] not in records for v in stored)
    duplicates = [e for e in truth["records"].values() if "duplicate_in_pronote" in e["labels"]]
    assert len({e["login"] for e in duplicates if e["login"]}) * 2 == len(
        [e for e in duplicates if e["login"]]
    )


def test_other_accounts_are_appended_without_changing_the_establishment(generated, tmp_path):
    result = datagen.generate(tmp_path, seed=3, students=STUDENTS, other_accounts=500)
    assert result.other_accounts == 500
    local = generated.directory.read_bytes()
    assert (tmp_path / "annuaire.csv").read_bytes().startswith(local)
    for name in ("identifiants.xml", "truth.json"):
        assert (tmp_path / name).read_bytes() == (generated.out_dir / name).read_bytes()
    with (tmp_path / "annuaire.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream, delimiter=";"))
    assert len(rows) == result.local_accounts + 500
    others = rows[result.local_accounts :]
    assert all("0441234A" not in row["uai"] for row in others)
    assert len({row["login"] for row in rows}) == len(rows)


def test_cli_writes_the_files(tmp_path, capsys):
    assert datagen.main([str(tmp_path), "--seed", "2", "--students", "40"]) == 0
    assert all((tmp_path / name).exists() for name in FILES)
    assert "eleves 40" in capsys.readouterr().out


def test_the_bundled_demo_is_what_the_generator_makes(tmp_path):
    datagen.generate(tmp_path, seed=7, students=120)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DEMO / name).read_bytes(), name


def test_the_timetable_form_is_deterministic_too(tmp_path):
    names = (*FILES, "identifiants-reference.xml")
    first = datagen.generate(tmp_path / "a", seed=3, students=60, form="timetable")
    datagen.generate(tmp_path / "b", seed=3, students=60, form="timetable")
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    root = etree.parse(str(first.identifiers)).getroot()
    assert etree.QName(root).localname == "ExportEmploiDuTemps"
    assert first.counts["maitres_de_stage"] == first.counts["inspecteurs"] == 0
    truth = json.loads(first.truth.read_text(encoding="utf-8"))["records"]
    lines = first.identifiers.read_text(encoding="utf-8").splitlines()
    for idpn, record in truth.items():  # the first occurrence, for a guardian
        assert f'="{idpn}"' in lines[record["line"] - 1]


def test_the_cli_wraps_any_file_in_an_envelope_for_a_fresh_key(tmp_path, capsys):
    from core.envelope import PartnerKey
    from core.pronote_file import FileSchema, read_identifiers_file

    source = DEMO / "identifiants.xml"
    assert datagen.main([str(tmp_path), "--wrap", str(source)]) == 0
    assert "partner.pem" in capsys.readouterr().out
    key = tmp_path / "partner.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    schema = FileSchema(partner=PartnerKey(path=key))
    opened = read_identifiers_file(tmp_path / "identifiants.chiffre.xml", schema)
    assert opened.counts() == read_identifiers_file(source).counts()
    assert opened.envelope.uai == "0441234A"


# -- the optional cases ----------------------------------------------------------------------------


def _load(folder: Path) -> tuple[dict, dict[str, dict[str, str]], etree._Element]:
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    with (folder / "annuaire.csv").open(encoding="utf-8", newline="") as stream:
        rows = {row["login"]: row for row in csv.DictReader(stream, delimiter=";")}
    return truth, rows, etree.parse(str(folder / "identifiants.xml")).getroot()


@pytest.fixture(scope="module")
def complete_extra(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("extra")
    datagen.generate(folder, seed=3, students=STUDENTS, wrong_links=True, relatives=True)
    return folder


@pytest.fixture(scope="module")
def partial_extra(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("partial")
    datagen.generate(
        folder, seed=3, students=STUDENTS, wrong_links=True, relatives=True, mode="partiel"
    )
    return folder


def test_optional_cases_are_off_by_default(truth):
    labels = {x for entry in truth["records"].values() for x in entry["labels"]}
    assert not labels & set(datagen.EXTRA_LABELS)


def test_a_wrong_existing_link_stores_an_identifier_on_another_persons_account(complete_extra):
    truth, rows, _ = _load(complete_extra)
    records = truth["records"]
    wrong = {i: r for i, r in records.items() if "wrong_existing_link" in r["labels"]}
    holders = {i: r for i, r in records.items() if "wrong_link_holder" in r["labels"]}
    assert {r["category"] for r in wrong.values()} == {"eleves", "responsables", "enseignants"}
    assert len(wrong) == len(holders)
    for idpn, r in wrong.items():
        (holder,) = [login for login, row in rows.items() if f"0441234A${idpn}" in row["idpronote"]]
        assert holder != r["login"]
        assert holder in {h["login"] for h in holders.values()}
        assert f"0441234A${idpn}" not in rows[r["login"]]["idpronote"]
        assert rows[holder]["nom"] != rows[r["login"]]["nom"] or (
            rows[holder]["prenom"] != rows[r["login"]]["prenom"]
        )


def test_grandparents_and_namesakes_are_guardians_of_the_file(complete_extra):
    truth, rows, root = _load(complete_extra)
    records = truth["records"]
    grandparents = [r for r in records.values() if "grandparent" in r["labels"]]
    namesakes = [i for i, r in records.items() if "namesake" in r["labels"]]
    assert grandparents and len(namesakes) >= 3
    assert {r["category"] for r in grandparents} == {"responsables"}
    # A namesake has the very names of another guardian account of the establishment.
    by_idpn = {e.get("IDPN"): e for e in root.iter() if e.get("IDPN")}
    for idpn in namesakes:
        e = by_idpn[idpn]
        same = [
            login
            for login, row in rows.items()
            if row["profil"] == "National_TUT"
            and datagen._key(row["nom"], row["prenom"])
            == datagen._key(e.get("Nom"), e.get("Prenom"))
            and login != records[idpn]["login"]
        ]
        assert same, e.get("Nom")


def test_a_partial_file_leaves_out_who_signed_in(complete_extra, partial_extra):
    full, _, _ = _load(complete_extra)
    truth, rows, root = _load(partial_extra)
    # The same people: only who is in the file, and what accounts store, differ.
    assert set(truth["records"]) < set(full["records"])
    assert rows.keys() == _load(complete_extra)[1].keys()
    left_out = set(full["records"]) - set(truth["records"])
    for idpn in left_out:
        login = full["records"][idpn]["login"]
        labels = full["records"][idpn]["labels"]
        if login and "wrong_existing_link" not in labels and "duplicate_in_pronote" not in labels:
            assert f"0441234A${idpn}" in rows[login]["idpronote"].split("|"), idpn
    assert truth["obsolete"] == []  # the September import removed the departed' identifiers
    # Students point only at guardians who are in the file.
    keys = {e.get("Ident") for e in root.findall("Responsables/Responsable")}
    assert {r.get("Ident") for r in root.findall("Eleves/Eleve/Responsable")} <= keys
    childless = [r for r in truth["records"].values() if "children_absent" in r["labels"]]
    assert len(childless) > 0.2 * len(
        [r for r in truth["records"].values() if r["category"] == "responsables"]
    )


def test_optional_cases_are_deterministic(partial_extra, tmp_path):
    datagen.generate(
        tmp_path, seed=3, students=STUDENTS, wrong_links=True, relatives=True, mode="partiel"
    )
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (partial_extra / name).read_bytes(), name
