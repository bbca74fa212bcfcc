"""`idpronote explain` and `status` on a CSV directory: each FAQ situation, its cause,
its next action, and the action applied until all is well (LDAP: tests/ldap)."""

from __future__ import annotations

import json
import re

import pytest

from cli.main import main
from core.pronote_file import read_identifiers_file
from core.support import Action, apply_action, explain, status
from core.wizard import LinkRefused, link_account
from directory_adapters.csv import CsvDirectory
from tests.support_situations import (
    ADAM,
    FIXABLE,
    TOM2,
    UAI,
    Desk,
    csv_rows,
    direct_counts,
    school_merges_duplicate,
    write_situations,
)


@pytest.fixture(autouse=True)
def no_site_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("IDPRONOTE_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def site(tmp_path):
    return write_situations(tmp_path)


@pytest.fixture
def desk(site, capsys) -> Desk:
    directory, export = site
    return Desk(main, capsys, ["--directory-file", str(directory), "--file", str(export)])


@pytest.mark.parametrize("who", sorted(FIXABLE))
def test_each_situation_is_named_and_its_actions_fix_it(desk, who):
    cause, kinds = FIXABLE[who]
    code, found = desk.explain(who)
    assert code == 1 and found["cause"] == cause
    assert found["action"]["kind"] == kinds[0]
    assert found["explanation"] and found["next_action"] == found["action"]["text"]
    assert desk.fix(who) == kinds
    code, found = desk.explain(who)
    assert code == 0 and found["cause"] == "ok"


def test_the_duplicate_account_and_the_homonym_name_the_right_accounts(desk):
    _, found = desk.explain("adam.clement")
    assert found["action"] | {"text": ""} == {
        "kind": "unlink", "uai": UAI, "login": "adam.clement.old", "idpn": ADAM,
        "previous": None, "candidates": [], "idpns": [], "text": "",
    }  # fmt: skip
    assert {"kind": "duplicate_accounts", "accounts": ["adam.clement", "adam.clement.old"],
            "idpn": ADAM} in found["duplicates"]  # fmt: skip
    _, found = desk.explain("tom.marchand2")
    assert (found["action"]["login"], found["action"]["idpn"]) == ("tom.marchand", TOM2)
    # Seen from the account that holds the wrong identifier: a data leak, remove it.
    _, found = desk.explain("tom.marchand")
    assert found["cause"] == "wrong_identifier"
    assert (found["action"]["kind"], found["action"]["login"]) == ("unlink", "tom.marchand")
    assert desk.fix("tom.marchand") == ["unlink", "link"]
    assert desk.fix("tom.marchand2") == ["link"]


def test_each_decision_explain_shows_is_the_reports_with_its_reason(desk):
    _, found = desk.explain("tom.marchand2")
    assert found["decisions"]
    for d in found["decisions"]:
        assert list(d) == ["idpn", "status", "rule", "account", "candidates", "reason"]
        assert isinstance(d["candidates"], list) and d["reason"]


def test_homonyms_are_left_to_a_human(desk, site):
    directory, _ = site
    before = directory.read_bytes()
    code, found = desk.explain("ethan.faulibosc")
    assert code == 1 and found["cause"] == "ambiguous"
    action = found["action"]
    assert action["kind"] == "pick"
    assert action["candidates"] == ["ethan.faulibosc", "ethan.faulibosc2"]
    assert sorted(action["idpns"]) == ["94UCH4CQOO7X2DU7", "OR6PRS3Y0OBYT11E"]
    code, found = desk.explain("ethan.faulibosc", "--apply", "--yes")
    assert code == 1 and found["applied"]["applied"] is False and found["after"] is None
    assert directory.read_bytes() == before


def test_two_pronote_accounts_for_one_person_ask_the_school(desk, site):
    _, export = site
    code, found = desk.explain("loic.charles")
    assert code == 1 and found["cause"] == "pronote_duplicate"
    assert found["action"]["kind"] == "export_again"
    assert sorted(found["action"]["idpns"]) == ["8NXD15NNSJHEYS88", "I424QZ01DCR51T04"]
    school_merges_duplicate(export)
    assert desk.fix("loic.charles") == ["link"]


def test_stored_right_is_the_cas_side(desk):
    code, found = desk.explain("david.durand")
    assert code == 0 and found["cause"] == "ok"
    assert found["action"]["kind"] == "check_cas_release"
    assert "0441234A$SAITWT9T48C848IC" in found["next_action"]
    assert found["in_file"]["SAITWT9T48C848IC"]["nom"] == "DURAND"


def test_a_name_gives_a_pick_list_and_an_identifier_finds_its_account(desk):
    code, found = desk.explain("barmas")
    assert code == 1 and found["cause"] == "several"
    assert found["action"]["kind"] == "pick"
    assert {"anne.barmas", "hugo.barmas"} <= set(found["action"]["candidates"])
    _, found = desk.explain("5CIGVQO5X48J7OB6")  # the new identifier of a stale link
    assert found["cause"] == "stale" and found["accounts"][0]["login"] == "jean-baptiste.labmarieu"
    code, found = desk.explain("personne inconnue")
    assert code == 1 and found["cause"] == "not_found"


def test_text_in_french_and_english(desk):
    code, out, _ = desk.run("explain", "jean-baptiste.labmarieu")
    assert code == 1
    assert "ancienne base Pronote" in out and "Action suivante : Relier" in out
    _, out, _ = desk.run("explain", "jean-baptiste.labmarieu", "--lang", "en")
    assert "from an old Pronote base" in out and "Next action: Link" in out


def test_without_a_file_the_journal_names_the_last_imports_file(site, capsys, tmp_path):
    directory, export = site
    desk = Desk(main, capsys, ["--directory-file", str(directory)])
    # No import journaled: nothing to compare with, and explain says so.
    code, found = desk.explain("leo.colin")
    assert code == 1 and found["file"]["source"] == "none"
    assert found["cause"] == "no_identifier" and found["action"]["kind"] == "export_again"
    code, _, _ = desk.run("apply", str(export), "--format", "json")
    assert code == 1
    code, found = desk.explain("leo.colin")
    assert found["file"]["source"] == "journal" and found["file"]["path"] == str(export)
    assert found["cause"] == "unrecognised" and found["action"]["kind"] == "link"
    left = found["last_import"]["left_unlinked"]
    assert [(x["idpn"], x["rule"]) for x in left] == [("SLDRQ82E3WDK2CZR", "date_differs")]
    export.unlink()
    code, found = desk.explain("leo.colin")
    assert found["file"]["source"] == "unreadable" and found["action"]["kind"] == "export_again"
    code, out, _ = desk.run("explain", "leo.colin")
    assert "n'est plus lisible" in out


def test_status_agrees_with_a_direct_count(site, capsys):
    directory, export = site
    desk = Desk(main, capsys, ["--directory-file", str(directory), "--uai", UAI])
    code, out, _ = desk.run("status", "--format", "json", "--file", str(export))
    result = json.loads(out)
    assert code == 1
    assert result["categories"] == direct_counts(csv_rows(directory), export)
    assert result["categories"]["eleves"]["obsolete"] >= 1
    assert result["stored_twice"] == {}
    code, out, _ = desk.run("status", "--format", "json")
    assert json.loads(out)["categories"] == direct_counts(csv_rows(directory), None)
    Desk(main, capsys, ["--directory-file", str(directory), "--file", str(export)]).fix(
        "tom.marchand2"
    )
    _, out, _ = desk.run("status", "--format", "json", "--file", str(export))
    after = json.loads(out)
    assert after["categories"] == direct_counts(csv_rows(directory), export)
    assert after["last_session"]["outcome"] == "completed"
    code, out, _ = desk.run("status", "--file", str(export))
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "Élèves" in out


def test_status_counts_an_identifier_stored_twice(site, capsys):
    directory, export = site
    text = directory.read_text(encoding="utf-8")
    directory.write_text(
        text.replace("adam.dubois;DUBOIS;Adam;2014-09-24;National_ELV;0441234A;5B;;",
                     f"adam.dubois;DUBOIS;Adam;2014-09-24;National_ELV;0441234A;5B;;{UAI}${ADAM}"),
        encoding="utf-8",
    )  # fmt: skip
    desk = Desk(main, capsys, ["--directory-file", str(directory), "--uai", UAI])
    _, out, _ = desk.run("status", "--format", "json", "--file", str(export))
    result = json.loads(out)
    assert result["stored_twice"] == {ADAM: ["adam.clement.old", "adam.dubois"]}
    assert result["categories"] == direct_counts(csv_rows(directory), export)
    # explain: the identifier is Adam Clément's; remove it from the account of another person.
    _, found = Desk(
        main, capsys, ["--directory-file", str(directory), "--file", str(export)]
    ).explain("adam.dubois")
    assert found["cause"] == "stored_twice"
    assert (found["action"]["kind"], found["action"]["login"]) == ("unlink", "adam.dubois")


def test_usage_errors_are_one_line(site, capsys):
    directory, export = site
    desk = Desk(main, capsys, ["--directory-file", str(directory)])
    code, _, err = desk.run("status")
    assert code == 2 and "--uai" in err and len(err.strip().splitlines()) == 1
    code, _, err = desk.run("explain", "leo.colin", "--yes")
    assert code == 2 and "--apply" in err
    code, _, err = desk.run("explain", "leo.colin", "--file", str(directory))
    assert code == 2 and len(err.strip().splitlines()) == 1
    code, _, err = desk.run("explain", "leo.colin", "--uai", "0449999B", "--file", str(export))
    assert code == 2 and "0449999B" in err


def test_core_link_account_refuses_what_the_wizard_refuses(site, tmp_path):
    directory_path, export_path = site
    directory = CsvDirectory(directory_path)
    in_file = {p.idpn for p in read_identifiers_file(export_path).all_accounts()}
    with pytest.raises(LinkRefused, match=r"adam\.clement\.old"):
        link_account(directory, UAI, "adam.clement", ADAM, data_dir=tmp_path / "d", in_file=in_file)
    with pytest.raises(LinkRefused):  # david.durand holds an identifier the file still uses
        link_account(directory, UAI, "david.durand", "BE5TWPIMXMQ9Q8Q4", data_dir=None,
                     in_file=in_file)  # fmt: skip
    with pytest.raises(LinkRefused):
        link_account(directory, UAI, "nobody", "BE5TWPIMXMQ9Q8Q4", data_dir=None)
    # A pick is never written.
    with pytest.raises(Exception, match=r"humain|human"):
        apply_action(directory, Action("pick", uai=UAI, candidates=("a", "b")), data_dir=None)


def test_core_api_on_the_directory_object(site, tmp_path):
    directory_path, export_path = site
    directory = CsvDirectory(directory_path)
    export = read_identifiers_file(export_path)
    data = tmp_path / "d"
    found = explain(directory, "anne.rivilin", export=export, data_dir=data)
    assert found.cause == "guardian_unrecognised" and found.action.writes
    outcome = apply_action(directory, found.action, data_dir=data, in_file=found.file_ids)
    assert outcome.applied
    directory = CsvDirectory(directory_path)
    assert explain(directory, "anne.rivilin", export=export, data_dir=data).ok
    # Remembered like a manual link of the wizard.
    from core.memory import DecisionMemory

    assert DecisionMemory(data).links(UAI)["BE5TWPIMXMQ9Q8Q4"] == "anne.rivilin"
    figures = status(directory, UAI, export=export, data_dir=data)
    assert figures.last_session is not None and figures.last_session.header["mode"] == "link"


AYA = "4P5G7PZJKMLDP9X7"  # Aya BARRERAUD's Pronote identifier


def wrong_existing_link(site, *, holder_in_file: bool):
    """A past import put Aya BARRERAUD's identifier on Louis BERLIZAC's account."""
    directory, export = site
    text = directory.read_text(encoding="utf-8")
    louis = "louis.berlizac;BERLIZAC;Louis;2014-09-02;National_ELV;0441234A;5A;;"
    assert louis + "\n" in text
    directory.write_text(text.replace(louis + "\n", f"{louis}{UAI}${AYA}\n"), encoding="utf-8")
    if not holder_in_file:
        xml = export.read_text(encoding="utf-8")
        xml, count = re.subn(r'\s*<Eleve Ident="157" [^>]*>.*?</Eleve>', "", xml, flags=re.S)
        assert count == 1
        export.write_text(xml, encoding="utf-8")
    return directory, export


def test_an_identifier_on_the_account_of_another_person_is_explained_and_never_applied(
    site, desk, capsys
):
    directory, export = wrong_existing_link(site, holder_in_file=False)
    command = Desk(main, capsys, ["--directory-file", str(directory)])
    code, out, _ = command.run("match", str(export), "--format", "json", "--lang", "en")
    aya = next(a for s in json.loads(out)["steps"] for a in s["accounts"] if a["idpn"] == AYA)
    assert (aya["status"], aya["rule"]) == ("unrecognised", "conflict")
    assert aya["candidates"][:2] == ["louis.berlizac", "aya.barreraud"]
    code, out, _ = command.run("match", str(export), "--lang", "en")
    assert "stored on the account of another person: louis.berlizac" in " ".join(out.split())
    # apply neither confirms nor removes it; Aya's own account is not written either.
    before = {r["login"]: r["idpronote"] for r in csv_rows(directory)}
    code, out, _ = command.run("apply", str(export), "--format", "json")
    after = {r["login"]: r["idpronote"] for r in csv_rows(directory)}
    assert after["louis.berlizac"] == before["louis.berlizac"] == [f"{UAI}${AYA}"]
    assert after["aya.barreraud"] == []
    # explain, from the holder, from the identifier, from the person: cause and action.
    for who in ("louis.berlizac", AYA):
        code, found = desk.explain(who, "--lang", "en")
        assert (code, found["cause"]) == (1, "stored_on_another_person"), who
        assert "stored on the account of another person" in found["explanation"]
        assert found["action"] | {"text": ""} == {
            "kind": "unlink", "uai": UAI, "login": "louis.berlizac", "idpn": AYA,
            "previous": None, "candidates": [], "idpns": [], "text": "",
        }  # fmt: skip
    code, found = desk.explain("aya.barreraud")
    assert found["cause"] == "stored_on_other"
    assert (found["action"]["kind"], found["action"]["login"]) == ("unlink", "louis.berlizac")
    assert desk.fix("aya.barreraud") == ["unlink", "link"]
    assert {r["login"]: r["idpronote"] for r in csv_rows(directory)}["louis.berlizac"] == []


def test_the_holders_own_record_in_the_file_makes_it_a_wrong_identifier(site, desk):
    wrong_existing_link(site, holder_in_file=True)
    _, found = desk.explain("louis.berlizac")
    assert found["cause"] == "wrong_identifier"
    assert (found["action"]["kind"], found["action"]["login"]) == ("unlink", "louis.berlizac")


def test_a_plausible_holder_while_another_account_fits_better_is_a_human_choice(site, desk):
    """Aya's identifier on a near-duplicate account with a typo: neither side is unlinked."""
    directory, _ = site
    with directory.open("a", encoding="utf-8") as stream:
        stream.write(f"aya.barrerau;BARRERAU;Aya;2012-04-29;National_ELV;{UAI};3B;;{UAI}${AYA}\n")
    before = directory.read_bytes()
    for who in ("aya.barrerau", "aya.barreraud", AYA):
        code, found = desk.explain(who, "--lang", "en")
        assert (code, found["cause"]) == (1, "stored_better_fit"), who
        assert found["action"]["kind"] == "pick"
        assert found["action"]["candidates"] == ["aya.barrerau", "aya.barreraud"]
        assert "fits better" in found["explanation"]
    code, found = desk.explain("aya.barreraud", "--apply", "--yes")
    assert code == 1 and found["applied"]["applied"] is False
    assert directory.read_bytes() == before
