"""Inputs that cost far more than their size: each bounded (times: bench/hostile_files.py).

- The identifiers file: `[file] max_size_mb` bounds the markup too, checked
  before the parser builds anything (49 MB of `<a/>`: 89 s, 1.7 GB before).
- Matching: memory bounded by candidates, not by records x homonyms
  (200,000 records of one name against 2,000 homonyms: 80 s, 6.7 GB before).
- The CSV: rows sharing one identifier value (quadratic before: 80,000 rows
  15 s); here its result, the times are the bench's.
- Line numbers past lxml's 65,535.
"""

from __future__ import annotations

import importlib
import pkgutil
import tracemalloc
from datetime import date

import pytest

from core import matching
from core.errors import UnusableInput
from core.identifier_form import IdentifierForm
from core.matching import BLOCK_LIMIT, MatchSettings, Reconciliation, people
from core.matching import guardians as guardian_rules
from core.model import DEFAULT_PROFILES, Category, DirectoryAccount, ProfileMapping, PronoteAccount
from core.pronote_file import FileSchema, read_identifiers_file
from directory_adapters.csv import CsvDirectory

UAI = "0441234A"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<IdentifiantsPronote UAI="0441234A"><Eleves>\n'
TAIL = "</Eleves></IdentifiantsPronote>\n"


def student(n: int, idpn: str | None = None, sep: str = " ") -> str:
    idpn = idpn or f"{n:016d}"
    return f'<Eleve IDPN="{idpn}" Nom="N{n}"{sep}Prenom="P" DateNaissance="01/02/2012"/>\n'


def count_surname_scores(monkeypatch) -> list[int]:
    """Count every surname comparison matching makes, wherever it is looked up.

    `_surname_score` is defined in `core.matching.people` and imported by the
    rules' modules: each is patched, so no comparison escapes the count.
    """
    compared: list[int] = []
    real = people._surname_score
    patched = []
    for info in pkgutil.iter_modules(matching.__path__):
        module = importlib.import_module(f"core.matching.{info.name}")
        if getattr(module, "_surname_score", None) is real:
            monkeypatch.setattr(
                module, "_surname_score", lambda a, b: compared.append(1) or real(a, b)
            )
            patched.append(info.name)
    assert {"people", "step", "guardians"} <= set(patched)
    return compared


# -- the file ---------------------------------------------------------------------------------


def test_markup_beyond_what_max_size_mb_allows_is_refused_before_parsing(tmp_path, monkeypatch):
    from core import pronote_file

    path = tmp_path / "tiny.xml"
    path.write_text(HEAD + student(1) + "<a/>" * 25_000 + TAIL, encoding="utf-8")  # 0.1 MB
    parsed = []
    real = pronote_file.etree.fromstring
    monkeypatch.setattr(
        pronote_file.etree, "fromstring", lambda *a, **k: parsed.append(1) or real(*a, **k)
    )
    with pytest.raises(UnusableInput) as refused:
        read_identifiers_file(path, FileSchema(max_size_mb=1))  # 20,000 tags and attributes
    assert "max_size_mb" in str(refused.value) and "\n" not in str(refused.value)
    assert parsed == []  # the parser never saw it
    assert read_identifiers_file(path, FileSchema(max_size_mb=2)).uai == UAI  # scales with it


def test_a_file_at_the_markup_bound_is_read_in_bounded_memory(tmp_path):
    """The bound for 1 MB of limit: 20,000 tags and attributes, about 4,000 records."""
    path = tmp_path / "dense.xml"
    path.write_text(HEAD + "".join(student(n) for n in range(3_900)) + TAIL, encoding="utf-8")
    tracemalloc.start()
    try:
        result = read_identifiers_file(path, FileSchema(max_size_mb=1))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.counts()["eleves"] == 3_900
    assert peak < 16 * 2**20


# -- line numbers past 65,535 ---------------------------------------------------------------


def test_problem_lines_past_65535_are_the_files_own(tmp_path):
    """Start tags over two lines, a comment and CDATA holding `<`, then bad records."""
    body = "".join(student(n, sep="\n ") for n in range(40_000))  # two lines each
    noise = "<!-- <Eleve IDPN='x'/> -->\n<![CDATA[ <x> ]]>\n"
    bad = '<Eleve IDPN="bad"\n Nom="BAD" Prenom="X"/>\n<Inconnu/>\n<Eleve Nom="NOIDPN"/>\n'
    text = HEAD + body + noise + bad + TAIL
    path = tmp_path / "long.xml"
    path.write_text(text, encoding="utf-8")
    expected = {
        "invalid_idpn": text[: text.index('<Eleve IDPN="bad"')].count("\n") + 1,
        "unknown_element": text[: text.index("<Inconnu/>")].count("\n") + 1,
        "missing_idpn": text[: text.index('<Eleve Nom="NOIDPN"')].count("\n") + 1,
    }
    assert min(expected.values()) > 80_000
    found = {p.kind: p.line for p in read_identifiers_file(path).problems}
    assert found == expected


def test_lines_past_65535_in_utf16_and_in_the_timetable_export(tmp_path):
    body = "".join(student(n) for n in range(70_000))
    bad = '<Eleve IDPN="bad" Nom="BAD" Prenom="X"/>\n'
    text = HEAD.replace("UTF-8", "UTF-16") + body + bad + TAIL
    path = tmp_path / "utf16.xml"
    path.write_bytes(text.encode("utf-16"))
    (problem,) = read_identifiers_file(path).problems
    assert problem.line == 70_003

    timetable = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ExportEmploiDuTemps xmlns="http://www.index-education.com/exportemploidutemps" '
        'Version="1.1" UAI="0441234A">\n<Cours>\n'
        + '<Cours Ident="1"><Professeur Ident="2"/></Cours>\n' * 70_000
        + '</Cours>\n<Eleves>\n<Eleve Ident="1" Nom="A" Prenom="B" IDPN="bad"/>\n'
        + "</Eleves></ExportEmploiDuTemps>\n"
    )
    path = tmp_path / "edt.xml"
    path.write_text(timetable, encoding="utf-8")
    result = read_identifiers_file(path, FileSchema(max_size_mb=20))
    assert [(p.kind, p.line) for p in result.problems] == [("invalid_idpn", 70_006)]


# -- matching -------------------------------------------------------------------------------


def _homonyms(records: int, accounts: int, *, dated: bool = True):
    born = date(2012, 1, 1)
    pronote = [
        PronoteAccount(f"{n:016d}", Category.ELEVES, "MARTIN", "Jean", born if dated else None)
        for n in range(records)
    ]
    directory = [
        DirectoryAccount(
            f"jm{n}",
            "MARTIN",
            "Jean",
            birth_date=born,
            profiles=("National_ELV",),
            establishments=(UAI,),
        )
        for n in range(accounts)
    ]
    return pronote, directory


@pytest.mark.parametrize("records, accounts", [(4_000, 600), (4_000, 1), (200, BLOCK_LIMIT + 1)])
def test_match_is_bounded_by_candidates_not_records_times_homonyms(records, accounts, monkeypatch):
    pronote, directory = _homonyms(records, accounts)
    compared = count_surname_scores(monkeypatch)
    reconciliation = Reconciliation(
        UAI,
        directory,
        form=IdentifierForm(),
        profiles=ProfileMapping(dict(DEFAULT_PROFILES)),
        settings=MatchSettings(candidates=5),
    )
    tracemalloc.start()
    try:
        step = reconciliation.step(Category.ELEVES, pronote)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(step.decisions) == records
    assert not step.recognised  # homonyms and twins always go to a human
    assert all(len(d.candidates) <= 5 for d in step.decisions)
    assert len(compared) <= records * BLOCK_LIMIT
    assert peak < 24 * 2**20  # before: 4,000 x 600 logins held, and as many comparisons
    reasons = {d.why or d.rule for d in step.decisions}
    assert reasons <= {"too_many_homonyms", "twice_in_file", "same_names_dates"}


def test_mistyped_records_among_too_many_homonyms_are_never_compared_one_by_one(monkeypatch):
    """A typo ("Jeam") escapes `exact`: without the block bound, `fuzzy` would score
    every record against every homonym (the test above never reaches a comparison)."""
    records = 200
    pronote, directory = _homonyms(records, 600)
    pronote = [PronoteAccount(p.idpn, p.category, "MARTIN", "Jeam", p.birth_date) for p in pronote]
    compared = count_surname_scores(monkeypatch)
    reconciliation = Reconciliation(
        UAI, directory, form=IdentifierForm(), profiles=ProfileMapping(dict(DEFAULT_PROFILES))
    )
    step = reconciliation.step(Category.ELEVES, pronote)
    assert len(compared) <= records * BLOCK_LIMIT  # without the bound: records x 600
    assert not step.recognised
    assert {d.why for d in step.decisions} == {"too_many_homonyms"}


def test_a_directory_homonym_with_a_unique_date_is_still_recognised():
    """The bound only withholds: below it, matching decides as before."""
    pronote, directory = _homonyms(1, BLOCK_LIMIT - 10)
    directory[0] = DirectoryAccount(
        "unique",
        "MARTIN",
        "Jean",
        birth_date=date(2011, 6, 7),
        profiles=("National_ELV",),
        establishments=(UAI,),
    )
    pronote = [PronoteAccount("A" * 16, Category.ELEVES, "MARTIN", "Jean", date(2011, 6, 7))]
    reconciliation = Reconciliation(
        UAI, directory, form=IdentifierForm(), profiles=ProfileMapping(dict(DEFAULT_PROFILES))
    )
    (decision,) = reconciliation.step(Category.ELEVES, pronote).decisions
    assert decision.recognised and decision.login == "unique" and decision.rule == "exact"


def test_an_identifier_stored_by_many_rows_loads_once_per_row(tmp_path):
    rows = "".join(
        f"u{n};N;P;;National_ELV;0359999Z;;;{UAI}$AAAAAAAAAAAAAAAA\n" for n in range(20_000)
    )
    path = tmp_path / "annuaire.csv"
    path.write_text("login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote\n" + rows)
    holders = CsvDirectory(path).holders("AAAAAAAAAAAAAAAA", UAI)
    assert len(holders) == 20_000 and len({h.login for h in holders}) == 20_000


def test_a_conflict_names_a_few_holders_never_all(tmp_path):
    rows = "".join(
        f"u{n};N{n};P;;National_ELV;{UAI};;;{UAI}$AAAAAAAAAAAAAAAA\n" for n in range(500)
    )
    path = tmp_path / "annuaire.csv"
    path.write_text("login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote\n" + rows)
    directory = CsvDirectory(path)
    reconciliation = Reconciliation.from_directory(directory, UAI)
    pronote = [PronoteAccount("A" * 16, Category.ELEVES, "X", "Y")]
    (decision,) = reconciliation.step(Category.ELEVES, pronote).decisions
    assert decision.rule == "conflict" and len(decision.candidates) <= 5
    assert "(+495)" in decision.explain() and len(decision.explain()) < 300


def test_the_candidates_matrix_is_computed_a_few_rows_at_a_time(monkeypatch):
    from rapidfuzz import process

    shapes = []
    real = process.cdist
    monkeypatch.setattr(
        process,
        "cdist",
        lambda q, c, **k: shapes.append((len(q), len(c))) or real(q, c, **k),
    )
    queries = [f"NAME{n} X" for n in range(1_000)] * 3
    choices = [f"OTHER{n} Y" for n in range(300)]
    scores = matching.candidate_scores(queries, choices, 5, tiebreak=choices)
    assert len(scores) == 3_000 and all(len(s) <= 10 for s in scores)
    assert max(rows for rows, _ in shapes) <= 256 and sum(r for r, _ in shapes) == 1_000


def test_partial_guardians_on_names_alone_compare_a_bounded_number_of_rivals(monkeypatch):
    """guardian_name looks for close names on both sides: never records x guardians."""
    # Looked up by the guardians' rules (defined in core.matching.bounds).
    monkeypatch.setattr(guardian_rules, "RIVAL_LIMIT", 50)
    guardians = 300
    pronote = [
        PronoteAccount(f"{n:016d}", Category.RESPONSABLES, f"SURNAME{n:04d}", "Jean")
        for n in range(guardians)
    ]
    directory = [
        DirectoryAccount(
            f"g{n}", f"SURNAME{n:04d}", "Jean", profiles=("National_TUT",), establishments=(UAI,)
        )
        for n in range(guardians)
    ]
    compared = count_surname_scores(monkeypatch)
    reconciliation = Reconciliation(
        UAI,
        directory,
        form=IdentifierForm(),
        profiles=ProfileMapping(dict(DEFAULT_PROFILES)),
        mode="partiel",
    )
    step = reconciliation.step(Category.RESPONSABLES, pronote)
    assert not [d for d in step.decisions if d.rule == "guardian_name"]
    # Before the bound: every guardian against every Jean, on both sides (90,000).
    assert len(compared) < guardians * 50


def test_a_stored_identifier_among_too_many_homonyms_is_a_conflict_for_a_human():
    born = date(2012, 1, 1)
    homonyms = [
        DirectoryAccount(
            f"jm{n}",
            "MARTIN",
            "Jean",
            birth_date=born,
            profiles=("National_ELV",),
            establishments=(UAI,),
        )
        for n in range(BLOCK_LIMIT + 5)
    ]
    holder = DirectoryAccount(
        "holder",
        "MARTIN",
        "Jeanne",
        birth_date=born,
        profiles=("National_ELV",),
        establishments=(UAI,),
        identifiers=(f"{UAI}$AAAAAAAAAAAAAAAA",),
    )
    reconciliation = Reconciliation(
        UAI,
        [*homonyms, holder],
        form=IdentifierForm(),
        profiles=ProfileMapping(dict(DEFAULT_PROFILES)),
    )
    pronote = [PronoteAccount("A" * 16, Category.ELEVES, "MARTIN", "Jean", born)]
    (decision,) = reconciliation.step(Category.ELEVES, pronote).decisions
    assert not decision.recognised and decision.rule == "conflict"
    assert len(decision.candidates) <= 6
