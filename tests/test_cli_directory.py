"""`idpronote search`, `linked` and `unlink` on a CSV directory (LDAP and LDIF: tests/ldap)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "tui" / "demo" / "annuaire.csv"


@pytest.fixture(autouse=True)
def no_site_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def directory(tmp_path) -> Path:
    path = tmp_path / "annuaire.csv"
    shutil.copy(DEMO, path)
    return path


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_search_json_is_the_contract(directory, capsys):
    code, out, _ = run(
        ["search", "barmas", "--directory-file", str(directory), "--format", "json"], capsys
    )
    result = json.loads(out)
    assert code == 0 and result["query"] == "barmas"
    assert {r["login"] for r in result["results"]} >= {"anne.barmas", "hugo.barmas"}
    first = result["results"][0]
    assert set(first) == {
        "login", "nom", "prenom", "date_naissance", "profils", "uai", "classes", "idpronote",
    }  # fmt: skip


def test_search_filters_by_category_and_escapes_nothing_into_a_match(directory, capsys):
    _, out, _ = run(
        ["search", "barmas", "--category", "eleves", "--directory-file", str(directory),
         "--format", "json"],
        capsys,
    )  # fmt: skip
    assert all(r["profils"] == ["National_ELV"] for r in json.loads(out)["results"])
    for hostile in ("*)(uid=*", "*", "\\", "(", "\x00"):
        _, out, _ = run(
            ["search", hostile, "--directory-file", str(directory), "--format", "json"], capsys
        )
        assert json.loads(out)["results"] == []
    # Punctuation separates words, as in a name: "a*b" is the words "a" and "b".
    _, star, _ = run(
        ["search", "a*b", "--directory-file", str(directory), "--format", "json"], capsys
    )
    _, space, _ = run(
        ["search", "a b", "--directory-file", str(directory), "--format", "json"], capsys
    )
    assert json.loads(star)["results"] == json.loads(space)["results"]


def test_linked_lists_the_establishments_identifiers(directory, capsys):
    code, out, _ = run(
        ["linked", "--uai", "0441234A", "--directory-file", str(directory), "--format", "json"],
        capsys,
    )
    result = json.loads(out)
    assert code == 0 and result["uai"] == "0441234A"
    assert len(result["accounts"]) == 60
    assert set(result["accounts"][0]) == {"login", "nom", "prenom", "idpn"}


def test_linked_needs_an_establishment(directory, capsys):
    code, _, err = run(["linked", "--directory-file", str(directory)], capsys)
    assert code == 2 and "--uai" in err


def test_unlink_removes_only_that_establishments_value(directory, capsys):
    text = directory.read_text(encoding="utf-8")
    text = text.replace("david.durand;DURAND;David", "david.durand;DURAND;David", 1)
    argv = ["--uai", "0441234A", "--directory-file", str(directory)]
    _, out, _ = run(["linked", *argv, "--format", "json"], capsys)
    before = {a["login"]: a["idpn"] for a in json.loads(out)["accounts"]}
    code, out, _ = run(["unlink", "david.durand", *argv, "--yes", "--format", "json"], capsys)
    result = json.loads(out)
    assert code == 0 and result["applied"] and result["idpn"] == before["david.durand"]
    _, out, _ = run(["linked", *argv, "--format", "json"], capsys)
    after = {a["login"]: a["idpn"] for a in json.loads(out)["accounts"]}
    assert after == {k: v for k, v in before.items() if k != "david.durand"}
    # Again: nothing left to remove, and nothing else touched.
    code, out, _ = run(["unlink", "david.durand", *argv, "--yes", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["idpn"] is None


def test_unlink_without_a_terminal_asks_for_yes(directory, capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    before = directory.read_bytes()
    code, _, err = run(
        ["unlink", "david.durand", "--uai", "0441234A", "--directory-file", str(directory)], capsys
    )
    assert code == 2 and "--yes" in err
    assert directory.read_bytes() == before


def test_unlink_unknown_account(directory, capsys):
    code, _, err = run(
        ["unlink", "nobody", "--uai", "0441234A", "--directory-file", str(directory), "--yes"],
        capsys,
    )
    assert code == 2 and "nobody" in err


def test_unlink_is_journaled_and_can_be_undone(directory, capsys):
    before = directory.read_bytes()
    argv = ["--uai", "0441234A", "--directory-file", str(directory)]
    run(["unlink", "david.durand", *argv, "--yes"], capsys)
    _, out, _ = run(["history", "--format", "json"], capsys)
    (session,) = json.loads(out)["sessions"]
    assert session["written"] == 1 and session["mode"] == "unlink"
    code, _, _ = run(
        ["undo", session["session"], "--directory-file", str(directory), "--yes"], capsys
    )
    assert code == 0 and directory.read_bytes() == before


def test_a_directory_file_problem_is_said_in_french_unless_lang_en(tmp_path, capsys):
    empty = tmp_path / "vide.csv"
    empty.write_text("", encoding="utf-8")
    code, _, err = run(["search", "barmas", "--directory-file", str(empty)], capsys)
    assert code == 2
    assert f"le fichier annuaire {empty} est vide" in err
    code, _, err = run(["search", "barmas", "--lang", "en", "--directory-file", str(empty)], capsys)
    assert code == 2
    assert f"the directory file {empty} is empty" in err


def test_link_by_hand_is_checked_journaled_and_remembered(directory, capsys):
    """What a human does after explain says 'compare and choose': one checked manual link."""
    argv = ["--uai", "0441234A", "--directory-file", str(directory)]
    # An identifier already held by another account is refused, nothing written.
    before = directory.read_bytes()
    _, out, _ = run(["linked", *argv, "--format", "json"], capsys)
    held = json.loads(out)["accounts"][0]
    code, out, _ = run(
        ["link", "ethan.faulibosc", held["idpn"], *argv, "--yes", "--format", "json"], capsys
    )
    assert code == 1 and not json.loads(out)["applied"]
    assert directory.read_bytes() == before
    # A free identifier on an account without one: written, journaled, remembered.
    code, out, _ = run(
        ["link", "ethan.faulibosc", "94UCH4CQOO7X2DU7", *argv, "--yes", "--format", "json"],
        capsys,
    )
    assert code == 0 and json.loads(out)["applied"]
    _, out, _ = run(["linked", *argv, "--format", "json"], capsys)
    assert {"login": "ethan.faulibosc", "idpn": "94UCH4CQOO7X2DU7"}.items() <= next(
        a for a in json.loads(out)["accounts"] if a["login"] == "ethan.faulibosc"
    ).items()
    _, out, _ = run(["history", "--format", "json"], capsys)
    (session,) = json.loads(out)["sessions"]
    assert session["mode"] == "link" and session["written"] == 1
    from core.memory import DecisionMemory

    memory = DecisionMemory(directory.parent / "data" / "idpronote")
    assert memory.links("0441234A")["94UCH4CQOO7X2DU7"] == "ethan.faulibosc"
    code, _, err = run(["link", "ethan.faulibosc", "not-an-id", *argv, "--yes"], capsys)
    assert code == 2 and "16" in err


def test_match_counts_the_links_a_human_made_as_the_wizard_does(directory, capsys):
    """A manual link remembered, then lost from the directory (a nightly resync):
    `match` must recognise it as `remembered`, as the wizard and `explain` do,
    and not call the twins ambiguous again."""
    argv = ["--uai", "0441234A", "--directory-file", str(directory)]
    code, _, _ = run(["link", "ethan.faulibosc", "94UCH4CQOO7X2DU7", *argv, "--yes"], capsys)
    assert code == 0
    lines = directory.read_text(encoding="utf-8").splitlines()
    lines = [
        line.removesuffix("0441234A$94UCH4CQOO7X2DU7")
        if line.startswith("ethan.faulibosc;") else line
        for line in lines
    ]  # fmt: skip
    directory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    xml = ROOT / "tui" / "demo" / "identifiants.xml"
    _, out, _ = run(["match", str(xml), *argv, "--format", "json"], capsys)
    (decision,) = [
        d for step in json.loads(out)["steps"] for d in step["accounts"]
        if d["idpn"] == "94UCH4CQOO7X2DU7"
    ]  # fmt: skip
    assert decision["status"] == "recognised"
    assert decision["rule"] == "remembered" and decision["account"] == "ethan.faulibosc"
