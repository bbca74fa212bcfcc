"""Untrusted names never reach a terminal raw nor run as spreadsheet formulas."""

from __future__ import annotations

import json

from core.text import fold_tag, json_dumps, printable, spreadsheet_cell


def test_printable_escapes_escape_sequences_and_bidi():
    assert printable("DUPONT\x1b[2J") == "DUPONT\\x1b[2J"
    assert printable("abc\u202edef") == "abc\\u202edef"
    assert printable("C1\x9bx") == "C1\\x9bx"
    assert printable("Mérine Œdipe") == "Mérine Œdipe"
    assert printable("a\nb") == "a\\x0ab"
    assert printable("a\nb", keep_newlines=True) == "a\nb"


def test_json_keeps_accents_and_escapes_controls_reversibly():
    data = {"nom": "Mérine\u202e\x9b\x1b"}
    text = json_dumps(data)
    assert "Mérine" in text
    assert "\u202e" not in text and "\x9b" not in text and "\x1b" not in text
    assert json.loads(text) == data


def test_spreadsheet_cells_never_start_a_formula():
    assert spreadsheet_cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    for start in "+-@":
        assert spreadsheet_cell(start + "1").startswith("'")
    assert spreadsheet_cell("DUPONT") == "DUPONT"
    assert spreadsheet_cell(None) == ""


def test_fold_tag():
    assert fold_tag("MaîtreDeStage") == fold_tag("maitre_de_stage") == "maitredestage"
