"""One CSV reader for every view of the directory file.

`match` and `explain` load only the establishment's records of a large CSV;
`apply` and `search` load it whole. A line inside a multi-line quoted cell
once became a phantom account in the first view only: `match` recognised
`phantom.login`, `explain` advised linking it. Both views must read the
same records.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cli.main import main
from directory_adapters.csv import CsvDirectory

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo"
UAI = "0441234A"
PHANTOM_IDPN = "PHANT0M000000000"
# A real account of another establishment whose notes cell holds, on lines of its
# own, what looks like rows of ours (as the finding had it: only those lines name
# the UAI, and they hold no quote).
NOTES_ROW = (
    'note.holder;HOLDER;Nina;2012-03-04;National_ELV;0359999Z;5A;;;"first line\n'
    "phantom.login;PHANTOM;Paul;2012-01-01;National_ELV;0441234A;5A;;\n"
    "ghost.login;GHOST;Gaby;;National_TUT;0441234A;;phantom.login;\n"
    'end of the notes"\n'
)


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    lines = (DEMO / "annuaire.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n") + ";notes\n"
    body = [line.rstrip("\n") + ";\n" for line in lines[1:]]
    (tmp_path / "annuaire.csv").write_text(header + NOTES_ROW + "".join(body), encoding="utf-8")
    export = (DEMO / "identifiants.xml").read_text(encoding="utf-8")
    phantom = (
        f'<Eleve Ident="9999" IDPN="{PHANTOM_IDPN}" Nom="PHANTOM" Prenom="Paul" '
        'DateNaissance="01/01/2012" Classe="5A"/>'
    )
    (tmp_path / "identifiants.xml").write_text(
        export.replace("<Eleves>", "<Eleves>" + phantom, 1), encoding="utf-8"
    )
    return tmp_path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def phantom_decision(report: dict) -> dict:
    return next(a for s in report["steps"] for a in s["accounts"] if a["idpn"] == PHANTOM_IDPN)


def test_no_view_of_the_file_sees_a_phantom_account(site, capsys):
    common = ["--directory-file", "annuaire.csv", "--format", "json"]
    _, out, _ = run(["match", "identifiants.xml", *common], capsys)
    decision = phantom_decision(json.loads(out))
    assert decision["account"] is None and decision["status"] == "unrecognised"
    assert "phantom.login" not in decision["candidates"]

    _, out, _ = run(["explain", "phantom.login", "--uai", UAI, *common], capsys)
    explained = json.loads(out)
    assert explained["accounts"] == [] and explained["cause"] != "ok"
    assert "phantom.login" not in json.dumps(explained.get("next_action"))

    _, out, _ = run(
        ["explain", PHANTOM_IDPN, "--uai", UAI, "--file", "identifiants.xml", *common], capsys
    )
    assert "phantom.login" not in json.dumps(json.loads(out))

    _, out, _ = run(["search", "phantom", *common], capsys)
    assert json.loads(out)["results"] == []
    _, out, _ = run(["search", "holder", *common], capsys)
    (holder,) = json.loads(out)["results"]
    assert holder["login"] == "note.holder"

    before = (site / "annuaire.csv").read_bytes()
    _, out, _ = run(["apply", "identifiants.xml", *common], capsys)
    assert phantom_decision(json.loads(out))["written"] is False
    after = (site / "annuaire.csv").read_bytes()
    assert NOTES_ROW.encode() in after and before.count(b"phantom") == after.count(b"phantom")


def test_both_views_agree_on_the_notes_holder_and_its_lines(site):
    full = CsvDirectory(site / "annuaire.csv")
    scoped = CsvDirectory(site / "annuaire.csv", only_uai=UAI)
    assert scoped.get("phantom.login") is None and full.get("phantom.login") is None
    assert scoped.get("ghost.login") is None
    # Its record names the UAI (in the notes): loaded whole, as the full read has it.
    assert scoped.get("note.holder") == full.get("note.holder")
    assert full.get("note.holder").establishments == ("0359999Z",)
    assert {a.login for a in scoped.accounts(UAI)} == {a.login for a in full.accounts(UAI)}
    assert [(p.line, p.kind) for p in scoped.problems] == [
        (p.line, p.kind) for p in full.problems if p.line in {q.line for q in scoped.problems}
    ]


# Cells built from what breaks line-based reading: quotes, delimiters, line ends of
# every kind inside and outside quotes, the UAI itself, quotes in unquoted cells.
_PIECES = st.sampled_from(
    [
        *("a", "B", " ", ";", ",", "\n", "\r\n", "\r", '"', '""', UAI, UAI.lower()),
        *("0359999Z", "é", "|", f"\nrow.like;NOM;P;;National_ELV;{UAI};;;\n"),
    ]
)
_CELL = st.lists(_PIECES, max_size=8).map("".join)


def _cell(text: str, quoted: bool) -> str:
    return '"' + text.replace('"', '""') + '"' if quoted else text


@st.composite
def csv_files(draw) -> str:
    rows = ["login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote;notes\n"]
    for n in range(draw(st.integers(0, 8))):
        uai = draw(st.sampled_from([UAI, UAI.lower(), "0359999Z", f"{UAI}|0359999Z", ""]))
        notes = draw(_CELL)
        raw = draw(st.booleans())  # a cell as a careless tool writes it: unquoted, anything
        cells = [f"l{n}", "NOM", "P", "", "National_ELV", uai, "", "", ""]
        line = ";".join(cells) + ";" + (notes if raw else _cell(notes, True))
        rows.append(line + draw(st.sampled_from(["\n", "\r\n", "\r"])))
    return "".join(rows)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=csv_files())
@example(  # found by this test: the second "a" is on a line no UAI is on
    text="login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote;notes\n"
    "l0;NOM;P;;National_ELV;0441234A;;;;\na;0441234A\n"
    'l1;NOM;P;;National_ELV;0441234A;;;;"\nl2;NOM;P;;National_ELV;0441234A;;;;"\na;"\n'
)
def test_the_establishment_view_reads_exactly_what_the_full_read_reads(tmp_path, text):
    path = tmp_path / "annuaire.csv"
    path.write_bytes(text.encode("utf-8"))
    try:
        full = CsvDirectory(path)
    except Exception as error:  # a file the full read refuses is refused by both
        with pytest.raises(type(error)):
            CsvDirectory(path, only_uai=UAI)
        return
    scoped = CsvDirectory(path, only_uai=UAI)
    # Never an account the full read does not have (a phantom), never a different one.
    for account in scoped.every_account():
        assert full.get(account.login) == account
    wanted = {(a.login, a.surname, a.establishments) for a in full.accounts(UAI)}
    assert {(a.login, a.surname, a.establishments) for a in scoped.accounts(UAI)} == wanted
    lines = {p.line: p.kind for p in full.problems}
    assert all(lines.get(p.line) == p.kind for p in scoped.problems)


def test_a_fully_quoted_file_is_read_by_the_same_reader(tmp_path):
    source = (DEMO / "annuaire.csv").read_text(encoding="utf-8").splitlines()
    quoted = "".join(";".join(f'"{c}"' for c in line.split(";")) + "\r\n" for line in source)
    path = tmp_path / "annuaire.csv"
    path.write_text(quoted, encoding="utf-8")
    full, scoped = CsvDirectory(path), CsvDirectory(path, only_uai=UAI)
    assert sorted(a.login for a in scoped.accounts(UAI)) == sorted(
        a.login for a in full.accounts(UAI)
    )


@pytest.mark.parametrize("other", ["0359999Z", ""])
def test_a_login_written_twice_is_withheld_by_the_establishment_view_too(tmp_path, other):
    """The full read refuses both rows of a login written twice, wherever the second
    is (another school's line, a line without a UAI): `match` and `explain`, which
    read one establishment, must not take for an account what `apply` refuses."""
    path = tmp_path / "annuaire.csv"
    path.write_text(
        "login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote\n"
        f"ines.marin;MARIN;Inès;2012-04-02;National_ELV;{UAI};5B;;\n"
        "paul.roux;ROUX;Paul;2012-01-09;National_ELV;0441234A;5B;;\n"
        f'"INES.MARIN";"MARIN";"Inès";"2011-11-30";"National_ELV";"{other}";"";"";""\r\n'
        f"zoe.lambert;LAMBERT;Zoé;2011-05-05;National_ELV;{other};;;\n",
        encoding="utf-8",
    )
    full = CsvDirectory(path)
    scoped = CsvDirectory(path, only_uai=UAI)
    assert full.get("ines.marin") is None and scoped.get("ines.marin") is None
    assert scoped.get("paul.roux") == full.get("paul.roux")
    assert [(p.line, p.kind) for p in scoped.problems] == [
        (2, "duplicate_login"), (4, "duplicate_login")
    ]  # fmt: skip


def test_a_login_written_twice_is_found_in_any_column_and_after_any_line_end(tmp_path):
    """The login column need not come first; lines may end in CR alone."""
    for end in ("\n", "\r"):
        path = tmp_path / "annuaire.csv"
        rows = [
            "nom;prenom;login;date_naissance;profil;uai;classes;eleves;idpronote",
            f"MARIN;Inès;ines.marin;2012-04-02;National_ELV;{UAI};5B;;",
            f"ROUX;Paul;paul.roux;2012-01-09;National_ELV;{UAI};5B;;",
            "MARIN;Inès; Ines.Marin ;2011-11-30;National_ELV;0359999Z;;;",
        ]
        path.write_text(end.join(rows) + end, encoding="utf-8", newline="")
        full, scoped = CsvDirectory(path), CsvDirectory(path, only_uai=UAI)
        assert full.get("ines.marin") is None and scoped.get("ines.marin") is None, end
        assert scoped.get("paul.roux") == full.get("paul.roux")
