"""Hostile records inside a well-formed file: a clean partial load, every problem named.

(Hostile files, refused whole, are in test_hostile_files.py; how long each
takes as a process is printed by bench/hostile_files.py.)
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import UnusableInput
from core.model import Category
from core.pronote_file import IdentifiersFile, read_identifiers_file
from core.text import printable

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<IdentifiantsPronote UAI="0441234A"><Eleves>\n'
TAIL = "</Eleves></IdentifiantsPronote>\n"


def student(idpn: str, name: str = "DUPONT", first: str = "Jean") -> str:
    return f'<Eleve IDPN="{idpn}" Nom="{name}" Prenom="{first}" DateNaissance="01/02/2012"/>\n'


def write(tmp_path: Path, records: str) -> Path:
    path = tmp_path / "identifiants.xml"
    path.write_text(HEAD + records + TAIL, encoding="utf-8")
    return path


def kinds(result: IdentifiersFile) -> list[str]:
    return [p.kind for p in result.problems]


def test_ten_thousand_records_with_one_identifier_load_none_of_them(tmp_path):
    # Different people sharing one identifier: none can be trusted, each is named.
    records = "".join(student("5A2MJSNYRDTWKP4Q", f"NOM{i:05d}") for i in range(10_000))
    result = read_identifiers_file(write(tmp_path, records + student("8P4BHZJQ79SUNFX3")))
    assert [a.idpn for a in result.accounts[Category.ELEVES]] == ["8P4BHZJQ79SUNFX3"]
    assert set(kinds(result)) == {"duplicate_idpn"}
    assert len(result.problems) >= 10_000 - 1


def test_the_same_person_ten_thousand_times_loads_once(tmp_path):
    records = student("5A2MJSNYRDTWKP4Q") * 10_000
    result = read_identifiers_file(write(tmp_path, records))
    assert len(result.accounts[Category.ELEVES]) == 1
    assert kinds(result).count("duplicate_idpn") == 9_999


def test_identifiers_with_control_or_odd_characters_are_invalid(tmp_path):
    records = (
        student("5A2MJSNYRDTW\u202eKP4")
        + student("5A2MJSNYRDTWKP4\x85")
        + student("8P4BHZJQ79SUNFX3")
    )
    result = read_identifiers_file(write(tmp_path, records))
    assert [a.idpn for a in result.accounts[Category.ELEVES]] == ["8P4BHZJQ79SUNFX3"]
    assert kinds(result) == ["invalid_idpn", "invalid_idpn"]
    # The message quoting the bad identifier never carries the raw character.
    for problem in result.problems:
        shown = printable(problem.message)
        assert "\u202e" not in shown and "\x85" not in shown


def test_right_to_left_override_in_a_name_is_loaded_reported_and_never_shown_raw(tmp_path):
    evil = "EVIL\u202eLIVE"
    result = read_identifiers_file(write(tmp_path, student("5A2MJSNYRDTWKP4Q", name=evil)))
    assert kinds(result) == ["control_characters"]
    account = result.accounts[Category.ELEVES][0]
    assert account.surname == evil  # kept as is: it is how Pronote spells it
    assert "\u202e" not in printable(account.display_name)


def test_names_of_ten_thousand_characters_skip_only_their_record(tmp_path):
    records = student("5A2MJSNYRDTWKP4Q", name="A" * 10_000) + student("8P4BHZJQ79SUNFX3")
    result = read_identifiers_file(write(tmp_path, records))
    assert kinds(result) == ["field_too_long"]
    assert [a.idpn for a in result.accounts[Category.ELEVES]] == ["8P4BHZJQ79SUNFX3"]


# -- fuzz: whatever the bytes, a result or a clear refusal, nothing else ------------------------

SEED = HEAD + student("5A2MJSNYRDTWKP4Q") + student("8P4BHZJQ79SUNFX3", "MARTIN", "Léa") + TAIL


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(SEED.encode("utf-8"))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        where = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if how == "flip":
            data[where] = draw(st.integers(0, 255))
        elif how == "insert":
            data[where:where] = draw(
                st.sampled_from(
                    [b"<", b">", b"&", b"&amp;", b"<!DOCTYPE x>", b"<!ENTITY", b"\x00", b"\xff",
                     b'"', b"]]>", b"<![CDATA[", b"\xe2\x80\xae", b"<Eleve/>", b"&#0;"]
                )
            )  # fmt: skip
        elif how == "delete":
            del data[where : where + draw(st.integers(1, 20))]
        else:
            del data[where:]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.one_of(mutated(), st.binary(max_size=2_000)))
def test_the_reader_never_fails_otherwise_than_clearly(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "identifiants.xml"
    path.write_bytes(data)
    try:
        result = read_identifiers_file(path)
    except UnusableInput as error:
        assert str(error).strip()
        return
    for accounts in result.accounts.values():
        for account in accounts:
            assert len(account.idpn) == 16 and account.idpn.isalnum()
