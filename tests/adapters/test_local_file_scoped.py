"""The read-only view of one establishment that `match` loads from a large CSV."""

from __future__ import annotations

from pathlib import Path

from core.identifier_form import IdentifierForm
from core.model import ChangeKind, IdentifierChange
from directory_adapters.csv import CsvDirectory

HEADER = "login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote\n"
ROWS = [
    "a1;MARTIN;Léa;2011-05-12;National_ELV;0441234A;5A;;\n",
    "o1;DURAND;Luc;2010-01-01;National_ELV;0359999Z;;;\n",
    # Another establishment's account storing our value: a holder, loaded.
    "o2;PETIT;Eva;;National_ELV;0359999Z;;;0441234A$AAAAAAAAAAAAAAAA\n",
    "a2;BERNARD;Hugo;bad-date;National_ELV;0441234a;5B;;\n",
    "o3;ROUX;Jade;;National_ELV;0351111B;;;\n",
]


def write(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "annuaire.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def test_only_the_establishment_and_its_holders_are_loaded(tmp_path):
    directory = CsvDirectory(write(tmp_path, ROWS), only_uai="0441234A")
    assert sorted(a.login for a in directory.accounts("0441234A")) == ["a1", "a2"]
    assert directory.get("o1") is None
    assert [a.login for a in directory.holders("AAAAAAAAAAAAAAAA", "0441234A")] == ["o2"]
    assert "lecture seule" in directory.describe()


def test_line_numbers_stay_the_files_own(tmp_path):
    full = CsvDirectory(write(tmp_path, ROWS))
    scoped = CsvDirectory(write(tmp_path, ROWS), only_uai="0441234A")
    assert [(p.line, p.kind) for p in scoped.problems] == [(5, "invalid_date")]
    assert [p.line for p in scoped.problems] == [p.line for p in full.problems]


def test_the_view_never_writes(english, tmp_path):
    path = write(tmp_path, ROWS)
    before = path.read_bytes()
    directory = CsvDirectory(path, only_uai="0441234A")
    change = IdentifierChange("a1", "0441234A", ChangeKind.ADD, "BBBBBBBBBBBBBBBB")
    (outcome,) = directory.apply([change])
    assert not outcome.applied and "read-only" in outcome.reason
    assert path.read_bytes() == before


def test_records_spanning_lines_are_read_whole(tmp_path):
    rows = [*ROWS, 'a3;"LE\nGALL";Tom;;National_ELV;0441234A;;;\n', "a4;X;Y;zz;;0441234A;;;\n"]
    path = write(tmp_path, rows)
    directory = CsvDirectory(path, only_uai="0441234A")
    assert directory.get("o1") is None  # still only the establishment's records
    assert sorted(a.login for a in directory.accounts("0441234A")) == ["a1", "a2", "a3", "a4"]
    assert directory.get("a3").surname == "LE\nGALL"
    # Line numbers after a record of two lines are still the file's own.
    assert [p.line for p in directory.problems] == [p.line for p in CsvDirectory(path).problems]


def test_forms_without_the_uai_load_everything(tmp_path):
    rows = ["a1;MARTIN;Léa;;National_ELV;0441234A;;;\n", "o1;X;Y;;National_ELV;0359999Z;;;\n"]
    directory = CsvDirectory(
        write(tmp_path, rows), only_uai="0441234A", form=IdentifierForm("PRONOTE${idpn}")
    )
    assert directory.get("o1") is not None
