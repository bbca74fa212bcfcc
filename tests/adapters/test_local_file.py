"""The CSV directory: what an admin's file looks like before and after idpronote.

What every directory promises (listings, search, holders, the write rule, replay)
is tested once for the three kinds in tests/contract/; here, what is the CSV file's own.
"""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pytest

from core.errors import DirectoryError
from core.identifier_form import IdentifierForm
from core.model import (
    DirectoryAccount,
)
from directory_adapters.base import Directory
from directory_adapters.csv import CsvDirectory
from directory_adapters.csv.cells import _read_back, _set_cell
from tests.changes import add, logins, remove

UAI = "0441234A"
OTHER_UAI = "0449999B"
ID1 = "8P4BHZJQ79SUNFX3"
ID2 = "5A2MJSNYRDTWKP4Q"
ID3 = "Q2ZZZZZZZZZZZZZ9"
ID4 = "AAAAAAAAAAAAAAAA"

# Quoting, an unknown column, a multi-line cell, a problem row of each kind,
# an identifier of another establishment and one of another form: all of it
# must come back untouched after a write.
DIRECTORY = (
    "login;nom;prenom;date_naissance;profil;uai;classes;eleves;idpronote;commentaire\n"
    f'jdupont;DUPONT;Jean;12/05/2011;National_ELV;{UAI};5A;;;"vu; le 3"\n'
    f"mdupont;Dupont;Marie;2010-01-02;National_ELV;{UAI};4B;;{UAI}${ID1};\n"
    f'macco12;ACCOLÉE;Mérine;2011-05-12;National_ELV;{UAI};5A;;;"deux\nlignes"\n'
    f"tdurand;DURAND;Thomas;;National_TUT;{UAI};;jdupont|mdupont;;\n"
    f"pmartin;MARTIN;Paul;;National_ENS;{UAI}|{OTHER_UAI};;;{OTHER_UAI}${ID4}|PRONOTE${ID3};\n"
    f";SANS;Login;;National_ELV;{UAI};;;;orphelin\n"
    f"double;DOUBLE;Un;;National_ELV;{UAI};;;;\n"
    f"DOUBLE;DOUBLE;Deux;;National_ELV;{UAI};;;;\n"
    f"bdate;MARTINEZ;Léa;31/02/2011;National_ELV;{UAI};3C;;;\n"
    f"ldoc;Le Bris;Anne-Sophie;;National_DOC;{OTHER_UAI};;;;\n"
)


def write(tmp_path: Path, text: str, *, bom: bool = False, newline: str = "\n") -> Path:
    path = tmp_path / "annuaire.csv"
    data = text.replace("\n", newline).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write(tmp_path, DIRECTORY)


@pytest.fixture
def directory(path: Path) -> CsvDirectory:
    return CsvDirectory(path)


def changed_lines(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


# -- reading -------------------------------------------------------------------


def test_reads_accounts_with_every_field(directory: CsvDirectory) -> None:
    assert isinstance(directory, Directory)
    jean = directory.get("jdupont")
    assert jean == DirectoryAccount(
        login="jdupont",
        surname="DUPONT",
        first_name="Jean",
        birth_date=date(2011, 5, 12),
        profiles=("National_ELV",),
        establishments=(UAI,),
        classes=("5A",),
    )
    assert directory.get("tdurand").students == ("jdupont", "mdupont")
    assert directory.get("pmartin").establishments == (UAI, OTHER_UAI)
    assert directory.get("pmartin").identifiers == (f"{OTHER_UAI}${ID4}", f"PRONOTE${ID3}")
    assert directory.get("macco12").first_name == "Mérine"
    assert directory.describe() == f"CSV {directory.path} : 7 comptes"
    assert directory.delimiter == ";"


def test_multi_values_are_stripped_upper_cased_and_empty_ones_dropped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "login;nom;prenom;profil;uai;classes\n"
        "a;A;A; National_ENS || National_DOC ;0441234a | 0449999b|;5A| |5B\n",
    )
    account = CsvDirectory(path).get("a")
    assert account.profiles == ("National_ENS", "National_DOC")
    assert account.establishments == (UAI, OTHER_UAI)
    assert account.classes == ("5A", "5B")
    assert account.identifiers == ()  # no idpronote column: nothing stored yet


def test_bom_and_comma_delimiter_and_crlf(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'login,nom,prenom,uai\njdupont,DUPONT,"Jean, dit Jeannot",0441234A\n',
        bom=True,
        newline="\r\n",
    )
    directory = CsvDirectory(path)
    assert directory.delimiter == ","
    assert directory.get("jdupont").first_name == "Jean, dit Jeannot"
    assert directory.get("jdupont").surname == "DUPONT"  # the BOM is not in "login"


def test_explicit_delimiter_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "login,nom,prenom,a;b;c;d\njdupont,DUPONT,Jean,1;2;3;4\n")
    with pytest.raises(DirectoryError):  # the header has more ";" than ","
        CsvDirectory(path)
    assert CsvDirectory(path, delimiter=",").get("jdupont").first_name == "Jean"


def test_renamed_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"uid;sn;givenName;ENTPersonStructRattach;ids\njdupont;DUPONT;Jean;{UAI};{UAI}${ID1}\n",
    )
    directory = CsvDirectory(
        path,
        columns={
            "login": "uid",
            "nom": "sn",
            "prenom": "givenName",
            "uai": "ENTPersonStructRattach",
            "idpronote": "ids",
        },
    )
    assert directory.get("jdupont").identifiers == (f"{UAI}${ID1}",)
    assert directory.get("jdupont").establishments == (UAI,)


def test_missing_required_column_says_how_to_map_it(tmp_path: Path) -> None:
    path = write(tmp_path, "uid;nom;firstname\na;B;C\n")
    with pytest.raises(DirectoryError) as caught:
        CsvDirectory(path)
    message = str(caught.value)
    assert str(path) in message
    assert "'login'" in message and "'prenom'" in message
    assert "uid;nom;firstname" in message
    assert "[directory.fields]" in message


def test_not_utf8_names_file_and_line(english, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("login;nom;prenom\na;B;C\nb;ACCOLÉE;Mérine\n".encode("latin-1"))
    with pytest.raises(DirectoryError) as caught:
        CsvDirectory(path)
    assert str(path) in str(caught.value)
    assert "line 3" in str(caught.value)
    assert "UTF-8" in str(caught.value)


def test_unreadable_or_empty_file(english, tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="cannot read"):
        CsvDirectory(tmp_path / "missing.csv")
    with pytest.raises(DirectoryError, match="empty"):
        CsvDirectory(write(tmp_path, "\n\n"))


def test_problem_rows_are_reported_with_their_lines(directory: CsvDirectory) -> None:
    problems = [(p.line, p.kind) for p in directory.problems]
    # macco12's comment spans lines 4-5, so everything after is one line further.
    assert problems == [
        (8, "missing_login"),
        (9, "duplicate_login"),
        (10, "duplicate_login"),
        (11, "invalid_date"),
    ]
    assert "10" in directory.problems[1].message
    # Never guess which duplicate is right: neither is read.
    assert directory.get("double") is None
    assert directory.get("bdate").birth_date is None


# -- reading: search and listings ------------------------------------------------


def test_login_with_punctuation_is_found_by_its_raw_prefix(tmp_path: Path) -> None:
    path = write(tmp_path, "login;nom;prenom\nj.dupont-2;DUPONT;Jean\nx;DUPONTEL;Y\n")
    directory = CsvDirectory(path)
    assert logins(directory.search("j.dupont-")) == ["j.dupont-2"]
    assert logins(directory.search("J.DUP")) == ["j.dupont-2"]


# -- writing ---------------------------------------------------------------------


def test_add_replace_remove_change_only_the_identifier_cells(path: Path) -> None:
    directory = CsvDirectory(path)
    before = path.read_bytes()
    outcomes = directory.apply(
        [
            add("jdupont", ID2),
            add("mdupont", ID3, previous=ID1),
            add("pmartin", ID1),
        ]
    )
    assert [(o.applied, o.failure) for o in outcomes] == [(True, None)] * 3
    after = path.read_bytes()
    assert changed_lines(before, after) == [
        (
            f'jdupont;DUPONT;Jean;12/05/2011;National_ELV;{UAI};5A;;;"vu; le 3"\n'.encode(),
            f"jdupont;DUPONT;Jean;12/05/2011;National_ELV;{UAI};5A;;"
            f'{UAI}${ID2};"vu; le 3"\n'.encode(),
        ),
        (
            f"mdupont;Dupont;Marie;2010-01-02;National_ELV;{UAI};4B;;{UAI}${ID1};\n".encode(),
            f"mdupont;Dupont;Marie;2010-01-02;National_ELV;{UAI};4B;;{UAI}${ID3};\n".encode(),
        ),
        (
            f"pmartin;MARTIN;Paul;;National_ENS;{UAI}|{OTHER_UAI};;;"
            f"{OTHER_UAI}${ID4}|PRONOTE${ID3};\n".encode(),
            # the other establishment's and the other form's values stay
            f"pmartin;MARTIN;Paul;;National_ENS;{UAI}|{OTHER_UAI};;;"
            f"{OTHER_UAI}${ID4}|PRONOTE${ID3}|{UAI}${ID1};\n".encode(),
        ),
    ]
    # memory follows the disk, and so does a fresh read
    assert directory.get("mdupont").identifiers == (f"{UAI}${ID3}",)
    assert logins(directory.holders(ID1, UAI)) == ["pmartin"]
    assert logins(directory.holders(ID3, UAI)) == ["mdupont"]
    assert CsvDirectory(path).get("pmartin") == directory.get("pmartin")
    assert logins(directory.search("jean")) == ["jdupont"]

    outcomes = directory.apply([remove("pmartin", ID1), remove("mdupont", ID3)])
    assert all(o.applied for o in outcomes)
    assert directory.get("pmartin").identifiers == (f"{OTHER_UAI}${ID4}", f"PRONOTE${ID3}")
    assert changed_lines(before, path.read_bytes())[0][1].endswith(
        f'{UAI}${ID2};"vu; le 3"\n'.encode()
    )
    assert len(changed_lines(before, path.read_bytes())) == 2  # mdupont's cell is now empty


def test_crlf_bom_and_quoted_cells_survive_a_write(tmp_path: Path) -> None:
    text = (
        'login,"nom",prenom,idpronote,"notes, libres"\n'
        '"jdupont","DUPONT","Jean","","a ""b"""\n'
        'x,Y,"multi\nligne",,\n'
        "mdupont,DUPONT,Marie,,\n"
    )
    path = write(tmp_path, text, bom=True, newline="\r\n")
    before = path.read_bytes()
    directory = CsvDirectory(path)
    assert all(o.applied for o in directory.apply([add("jdupont", ID1), add("MDUPONT", ID2)]))
    after = path.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf")
    assert changed_lines(before, after) == [
        (
            b'"jdupont","DUPONT","Jean","","a ""b"""\r\n',
            f'"jdupont","DUPONT","Jean","{UAI}${ID1}","a ""b"""\r\n'.encode(),
        ),
        (b"mdupont,DUPONT,Marie,,\r\n", f"mdupont,DUPONT,Marie,{UAI}${ID2},\r\n".encode()),
    ]


def test_problem_rows_and_unknown_columns_are_preserved(path: Path) -> None:
    before = path.read_bytes()
    directory = CsvDirectory(path)
    directory.apply([add("bdate", ID2)])
    changes = changed_lines(before, path.read_bytes())
    assert [old.split(b";")[0] for old, _ in changes] == [b"bdate"]
    assert (
        changes[0][1]
        == f"bdate;MARTINEZ;Léa;31/02/2011;National_ELV;{UAI};3C;;{UAI}${ID2};\n".encode()
    )


def test_identifier_column_is_added_when_missing(tmp_path: Path) -> None:
    path = write(tmp_path, "login;nom;prenom;uai\na;A;A;0441234A\nb;B;B;0441234A\n")
    directory = CsvDirectory(path)
    assert directory.apply([add("b", ID1)])[0].applied
    assert (
        path.read_text()
        == f"login;nom;prenom;uai;idpronote\na;A;A;0441234A\nb;B;B;0441234A;{UAI}${ID1}\n"
    )
    assert CsvDirectory(path).get("b").identifiers == (f"{UAI}${ID1}",)
    assert directory.apply([add("a", ID2)])[0].applied
    assert CsvDirectory(path).get("a").identifiers == (f"{UAI}${ID2}",)


def test_unknown_and_duplicate_logins_are_not_found(directory: CsvDirectory) -> None:
    unknown, duplicate = directory.apply([add("nobody", ID2), add("double", ID2)])
    assert (unknown.applied, unknown.failure) == (False, "not_found")
    assert (duplicate.applied, duplicate.failure) == (False, "not_found")
    assert "9, 10" in duplicate.reason


def test_backup_is_the_previous_file(path: Path) -> None:
    before = path.read_bytes()
    CsvDirectory(path).apply([add("jdupont", ID2)])
    assert (path.parent / "annuaire.csv.bak").read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["annuaire.csv", "annuaire.csv.bak"]


def test_no_backup_when_asked(path: Path) -> None:
    CsvDirectory(path, backup=False).apply([add("jdupont", ID2)])
    assert sorted(p.name for p in path.parent.iterdir()) == ["annuaire.csv"]


def test_permissions_are_kept(path: Path) -> None:
    path.chmod(0o640)
    CsvDirectory(path).apply([add("jdupont", ID2)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_an_edit_made_on_disk_meanwhile_survives(path: Path) -> None:
    directory = CsvDirectory(path)
    edited = path.read_text().replace("Thomas", "Thomas-Edouard")
    path.write_text(edited.replace(f";4B;;{UAI}${ID1};", ";4B;;;"))
    outcomes = directory.apply([add("jdupont", ID1)])
    # ID1 left mdupont in the edit, so it is free now
    assert outcomes[0].applied, outcomes[0].reason
    text = path.read_text()
    assert "Thomas-Edouard" in text
    assert f"jdupont;DUPONT;Jean;12/05/2011;National_ELV;{UAI};5A;;{UAI}${ID1};" in text
    assert directory.get("tdurand").first_name == "Thomas-Edouard"


def test_an_edit_invisible_to_stat_is_caught_by_the_hash(path: Path) -> None:
    directory = CsvDirectory(path)
    stamp = path.stat().st_mtime_ns
    # same size, same mtime: only the content differs
    edited = path.read_text().replace("Thomas", "Thomaz").replace(f"{UAI}${ID1}", f"{UAI}${ID3}")
    path.write_text(edited)
    os.utime(path, ns=(stamp, stamp))
    outcomes = directory.apply([add("jdupont", ID2), add("macco12", ID3)])
    assert [o.failure for o in outcomes] == [None, "conflict"]  # ID3 is mdupont's now
    text = path.read_text()
    assert "Thomaz" in text and f"{UAI}${ID3}" in text
    assert directory.get("jdupont").identifiers == (f"{UAI}${ID2}",)


def test_an_edit_on_disk_is_read_before_deciding(path: Path) -> None:
    directory = CsvDirectory(path)
    path.write_text(path.read_text().replace(f";4B;;{UAI}${ID1};", f";4B;;{UAI}${ID3};"))
    outcomes = directory.apply([add("mdupont", ID2, previous=ID1)])
    assert outcomes[0].failure == "changed"
    assert directory.get("mdupont").identifiers == (f"{UAI}${ID3}",)


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_a_failed_write_changes_nothing(
    path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    directory = CsvDirectory(path)
    before = path.read_bytes()

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, broken)
    outcomes = directory.apply([add("jdupont", ID2), add("mdupont", ID1)])
    # The file could not be written at all: not about these accounts.
    assert [(o.applied, o.failure) for o in outcomes] == [(False, "unavailable")] * 2
    assert "No space left on device" in outcomes[0].reason
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []
    assert directory.get("jdupont").identifiers == ()
    assert directory.holders(ID2, UAI) == []

    monkeypatch.undo()
    assert directory.apply([add("jdupont", ID2)])[0].applied
    assert CsvDirectory(path).get("jdupont").identifiers == (f"{UAI}${ID2}",)


def test_a_symbolic_link_stays_a_link(tmp_path: Path) -> None:
    real = write(tmp_path, DIRECTORY)
    link = tmp_path / "current.csv"
    link.symlink_to(real.name)
    assert CsvDirectory(link).apply([add("jdupont", ID2)])[0].applied
    assert link.is_symlink()
    assert CsvDirectory(real).get("jdupont").identifiers == (f"{UAI}${ID2}",)
    assert (tmp_path / "annuaire.csv.bak").read_text() == DIRECTORY


def test_short_rows_and_quoted_identifier_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "login;nom;prenom;uai;idpronote;note\n"
        "a;A;A\n"
        f'b;B;B;{UAI};"{OTHER_UAI}${ID4}|autre;outil";x\n',
    )
    directory = CsvDirectory(path)
    assert directory.get("b").identifiers == (f"{OTHER_UAI}${ID4}", "autre;outil")
    directory.apply([add("a", ID1), add("b", ID2)])
    assert path.read_text().splitlines()[1:] == [
        f"a;A;A;;{UAI}${ID1}",
        f'b;B;B;{UAI};"{OTHER_UAI}${ID4}|autre;outil|{UAI}${ID2}";x',
    ]


@pytest.mark.parametrize(
    ("record", "column", "written"),
    [
        ("a;b;c\n", 1, "a;V;c\n"),
        ('"a";"b;x";""\r\n', 2, '"a";"b;x";"V"\r\n'),
        ("a;b\n", 4, "a;b;;;V\n"),
        ('a;"deux\nlignes";c', 2, 'a;"deux\nlignes";V'),
        ('a;"b""c";d\n', 2, 'a;"b""c";V\n'),
        # too odd to edit in place: written again whole, and still says the same
        ('"ouvert;b\n', 1, None),
    ],
)
def test_one_cell_is_replaced_and_the_record_still_reads_back(
    record: str, column: int, written: str | None
) -> None:
    result = _set_cell(record, column, "V", ";")
    if written is not None:
        assert result == written
    before = _read_back(record, ";")
    expected = [*before, *[""] * (column + 1 - len(before))]
    expected[column] = "V"
    assert _read_back(result, ";") == expected


def test_other_value_forms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f"login;nom;prenom;uai;idpronote\na;A;A;{UAI};{UAI}${ID1}|PRONOTE${ID2}\nb;B;B;{UAI};\n",
    )
    directory = CsvDirectory(path, form=IdentifierForm("PRONOTE${idpn}"))
    assert logins(directory.holders(ID2, UAI)) == ["a"]
    assert directory.apply([add("a", ID3, previous=ID2)])[0].applied
    assert directory.get("a").identifiers == (f"{UAI}${ID1}", f"PRONOTE${ID3}")
    assert directory.apply([add("b", ID3)])[0].failure == "conflict"


def test_a_csv_problem_is_said_in_french_by_default(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("login;nom;prenom\na;B;C\nb;ACCOLÉE;Mérine\n".encode("latin-1"))
    with pytest.raises(DirectoryError) as caught:
        CsvDirectory(path)
    assert caught.value.message == f"le fichier annuaire {path} n'est pas en UTF-8 (ligne 3)"
    assert caught.value.hint == "enregistrez-le en UTF-8, par ex. « CSV UTF-8 » dans un tableur"
    path.write_text("login;nom;prenom\n;B;C\n", encoding="utf-8")
    (problem,) = CsvDirectory(path).problems
    assert problem.message == "ligne 2 : 'login' vide ; ligne ignorée"


def test_a_csv_problem_in_english(english, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("login;nom;prenom\na;B;C\nb;ACCOLÉE;Mérine\n".encode("latin-1"))
    with pytest.raises(DirectoryError) as caught:
        CsvDirectory(path)
    assert caught.value.message == f"the directory file {path} is not UTF-8 (line 3)"
    assert caught.value.hint == "save it as UTF-8, e.g. 'CSV UTF-8' in a spreadsheet"
    path.write_text("login;nom;prenom\n;B;C\n", encoding="utf-8")
    (problem,) = CsvDirectory(path).problems
    assert problem.message == "line 2: empty 'login'; row ignored"
