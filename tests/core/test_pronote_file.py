"""The identifiers file reader: each rule of FORMAT.md and each problem kind, by line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.errors import UnusableInput
from core.model import Category
from core.pronote_file import FileSchema, read_identifiers_file

REFERENCE = """<?xml version="1.0" encoding="UTF-8"?>
<IdentifiantsPronote Version="1" DateHeure="2026-09-01T08:30:00"
                     UAI="0441234A" NomEtablissement="Collège Marie Curie">
  <Professeurs>
    <Professeur Ident="12" IDPN="8P4BHZJQ79SUNFX3" Nom="ARNAUD" Prenom="Thomas"
                DateNaissance="02/03/1975"/>
  </Professeurs>
  <Eleves>
    <Eleve Ident="345" IDPN="5A2MJSNYRDTWKP4Q" Nom="ACCOLEE" Prenom="Mérine"
           DateNaissance="2011-05-12" Classe="5A" IdentifiantCAS="macco12">
      <Responsable Ident="901"/>
    </Eleve>
  </Eleves>
  <Responsables>
    <Responsable Ident="901" IDPN="HUP2NFZQRYAD7EXS" Nom="ACCOLEE" Prenom="Karim"
                 CodePostal="44000"/>
  </Responsables>
  <MaitresDeStage>
    <MaitreDeStage Ident="70" IDPN="MS00000000000001" Nom="LEROY" Prenom="Anne"
                   Entreprise="Garage Leroy"/>
  </MaitresDeStage>
  <InspecteursPedagogiques>
    <InspecteurPedagogique Ident="80" IDPN="IP00000000000001" Nom="NOEL" Prenom="Paul"
                           Discipline="Mathématiques"/>
  </InspecteursPedagogiques>
  <Personnels>
    <Personnel Ident="90" IDPN="PE00000000000001" Nom="FAURE" Prenom="Lise"
               Fonction="CPE"/>
  </Personnels>
</IdentifiantsPronote>
"""


def write(tmp_path: Path, text: str | bytes, name: str = "export.xml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def kinds(result) -> list[tuple[int, str]]:
    return [(p.line, p.kind) for p in result.problems]


def test_reference_form_reads_everything(tmp_path):
    result = read_identifiers_file(write(tmp_path, REFERENCE))
    assert result.uai == "0441234A"
    assert result.establishment_name == "Collège Marie Curie"
    assert result.export_date == "2026-09-01T08:30:00"
    assert result.encoding == "UTF-8"
    assert result.counts() == {
        "enseignants": 1,
        "eleves": 1,
        "responsables": 1,
        "maitres_de_stage": 1,
        "inspecteurs": 1,
        "personnels": 1,
    }
    assert result.problems == []
    (teacher,) = result.accounts[Category.ENSEIGNANTS]
    assert teacher.birth_date == date(1975, 3, 2)
    assert teacher.line == 5
    (student,) = result.accounts[Category.ELEVES]
    assert student.surname == "ACCOLEE"
    assert student.first_name == "Mérine"
    assert student.birth_date == date(2011, 5, 12)
    assert student.class_name == "5A"
    assert student.cas_login == "macco12"
    assert student.guardian_keys == ("901",)
    (guardian,) = result.accounts[Category.RESPONSABLES]
    assert guardian.birth_date is None  # normal for guardians: no problem reported
    assert ("CodePostal", "44000") in guardian.other_fields
    (supervisor,) = result.accounts[Category.MAITRES_DE_STAGE]
    assert ("Entreprise", "Garage Leroy") in supervisor.other_fields


def test_child_elements_lower_case_tags_and_no_wrappers(tmp_path):
    text = """<?xml version="1.0" encoding="UTF-8"?>
<identifiantspronote uai="0441234a">
  <eleve>
    <ident>1</ident>
    <idpn>5A2MJSNYRDTWKP4Q</idpn>
    <NOM>DUPONT</NOM>
    <prénom>Jean</prénom>
    <datenaissance>12/05/2011</datenaissance>
    <responsable><ident>2</ident></responsable>
  </eleve>
  <RESPONSABLE IDENT="2" idpn="HUP2NFZQRYAD7EXS" nom="DUPONT" prenom="Marie"/>
  <maitre_de_stage ident="3" idpn="MS00000000000001" nom="X" prenom="Y"/>
</identifiantspronote>
"""
    result = read_identifiers_file(write(tmp_path, text))
    assert result.uai == "0441234A"
    (student,) = result.accounts[Category.ELEVES]
    assert (student.surname, student.first_name) == ("DUPONT", "Jean")
    assert student.birth_date == date(2011, 5, 12)
    assert student.guardian_keys == ("2",)
    assert student.line == 3
    assert len(result.accounts[Category.RESPONSABLES]) == 1
    assert len(result.accounts[Category.MAITRES_DE_STAGE]) == 1
    assert result.problems == []


@pytest.mark.parametrize("declared", ["ISO-8859-1", "Windows-1252", "iso-8859-15"])
def test_declared_single_byte_encodings(tmp_path, declared):
    text = REFERENCE.replace('encoding="UTF-8"', f'encoding="{declared}"')
    path = write(tmp_path, text.encode("cp1252" if "1252" in declared else "latin-1"))
    result = read_identifiers_file(path)
    assert result.encoding == declared
    assert result.accounts[Category.ELEVES][0].first_name == "Mérine"
    assert result.establishment_name == "Collège Marie Curie"
    assert result.problems == []


def test_windows_1252_only_letters(tmp_path):
    text = REFERENCE.replace('encoding="UTF-8"', 'encoding="windows-1252"').replace(
        'Prenom="Karim"', 'Prenom="Œdipe"'
    )
    result = read_identifiers_file(write(tmp_path, text.encode("cp1252")))
    assert result.accounts[Category.RESPONSABLES][0].first_name == "Œdipe"


def test_utf8_content_declared_latin1_is_reported_not_refused(tmp_path):
    text = REFERENCE.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    result = read_identifiers_file(write(tmp_path, text.encode("utf-8")))
    assert (1, "encoding_mismatch") in kinds(result)
    assert result.accounts[Category.ELEVES][0].first_name == "MÃ©rine"


def test_no_declaration_and_not_utf8_is_refused_with_line(tmp_path):
    text = REFERENCE.replace('<?xml version="1.0" encoding="UTF-8"?>\n', "")
    with pytest.raises(UnusableInput, match=r"line 2: invalid UTF-8"):
        read_identifiers_file(write(tmp_path, text.encode("latin-1")))


def test_declared_utf8_with_latin1_bytes_is_refused(tmp_path):
    with pytest.raises(UnusableInput, match=r"line 3: .*declared encoding UTF-8"):
        read_identifiers_file(write(tmp_path, REFERENCE.encode("latin-1")))


def test_unknown_declared_encoding(tmp_path):
    text = REFERENCE.replace('encoding="UTF-8"', 'encoding="KLINGON-8"')
    with pytest.raises(UnusableInput, match="KLINGON-8"):
        read_identifiers_file(write(tmp_path, text))


def test_utf8_bom_accepted(tmp_path):
    result = read_identifiers_file(write(tmp_path, b"\xef\xbb\xbf" + REFERENCE.encode()))
    assert result.counts()["eleves"] == 1


def test_both_date_forms_and_unparseable_date(tmp_path):
    text = REFERENCE.replace('DateNaissance="02/03/1975"', 'DateNaissance="1975-03-02"').replace(
        'DateNaissance="2011-05-12"', 'DateNaissance="31/02/2011"'
    )
    result = read_identifiers_file(write(tmp_path, text))
    assert result.accounts[Category.ENSEIGNANTS][0].birth_date == date(1975, 3, 2)
    student = result.accounts[Category.ELEVES][0]
    assert student.birth_date is None
    assert kinds(result) == [(9, "invalid_date")]
    assert "31/02/2011" in result.problems[0].message


def test_missing_and_malformed_idpn_skip_the_record_only(tmp_path):
    text = REFERENCE.replace('IDPN="8P4BHZJQ79SUNFX3" ', "").replace(
        'IDPN="5A2MJSNYRDTWKP4Q"', 'IDPN="5a2mjsnyrdtwkp4"'
    )
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(5, "missing_idpn"), (9, "invalid_idpn")]
    assert result.counts()["enseignants"] == 0
    assert result.counts()["eleves"] == 0
    assert result.counts()["responsables"] == 1
    assert "ARNAUD" in result.problems[0].message


def test_duplicate_idpn_same_person_keeps_first(tmp_path):
    text = REFERENCE.replace(
        "  </Professeurs>",
        '    <Professeur Ident="13" IDPN="8P4BHZJQ79SUNFX3" Nom="Arnaud" Prenom="THOMAS"\n'
        '                DateNaissance="1975-03-02"/>\n  </Professeurs>',
    )
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(7, "duplicate_idpn")]
    assert "5" in result.problems[0].message
    assert result.counts()["enseignants"] == 1


def test_duplicate_idpn_different_people_loads_neither(tmp_path):
    text = REFERENCE.replace('IDPN="PE00000000000001"', 'IDPN="8P4BHZJQ79SUNFX3"')
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(5, "duplicate_idpn"), (27, "duplicate_idpn")]
    assert result.counts()["enseignants"] == 0
    assert result.counts()["personnels"] == 0
    assert "FAURE" in result.problems[0].message


def test_guardian_link_pointing_nowhere(tmp_path):
    text = REFERENCE.replace('<Responsable Ident="901"/>', '<Responsable Ident="999"/>')
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(11, "unknown_guardian")]
    assert result.accounts[Category.ELEVES][0].guardian_keys == ()
    assert result.counts()["responsables"] == 1


def test_unknown_element_is_reported_once_with_count(tmp_path):
    text = REFERENCE.replace(
        "  <Personnels>", "  <Salle Nom='B12'/>\n  <Salle Nom='B13'/>\n  <Personnels>"
    )
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(26, "unknown_element")]
    assert "2" in result.problems[0].message


def test_configured_element_and_attribute_names(tmp_path):
    text = """<?xml version="1.0"?>
<Export UAI="0441234A">
  <Apprenants>
    <Apprenant Cle="1" IdentPronote="5A2MJSNYRDTWKP4Q" Nom="DUPONT" Prenom="Jean"/>
  </Apprenants>
</Export>
"""
    with pytest.raises(UnusableInput, match=r"declare them under \[file.elements\]"):
        read_identifiers_file(write(tmp_path, text))

    from core.pronote_file import DEFAULT_ELEMENTS, DEFAULT_FIELDS

    elements = dict(DEFAULT_ELEMENTS)
    elements[Category.ELEVES] += ("Apprenant",)
    fields = dict(DEFAULT_FIELDS)
    fields["idpn"] += ("IdentPronote",)
    fields["ident"] += ("Cle",)
    schema = FileSchema(elements=elements, fields=fields)
    result = read_identifiers_file(write(tmp_path, text), schema)
    assert result.counts()["eleves"] == 1
    assert result.accounts[Category.ELEVES][0].file_key == "1"
    assert result.problems == []


def test_file_without_any_account_is_unusable(tmp_path):
    with pytest.raises(UnusableInput, match=r"no account|aucun compte"):
        read_identifiers_file(write(tmp_path, "<?xml version='1.0'?><Rien/>"))


def test_missing_uai_is_a_problem(tmp_path):
    text = REFERENCE.replace('UAI="0441234A" ', "")
    result = read_identifiers_file(write(tmp_path, text))
    assert result.uai is None
    assert (1, "missing_uai") in kinds(result)


def test_control_characters_in_names_are_reported(tmp_path):
    # XML 1.0 forbids C0 controls even as references; C1 (CSI) and bidi pass.
    text = REFERENCE.replace('Nom="FAURE"', 'Nom="FAURE&#x9b;31m&#x202e;"')
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(27, "control_characters")]
    assert result.accounts[Category.PERSONNELS][0].surname == "FAURE\x9b31m\u202e"


def test_c0_control_characters_are_not_xml(tmp_path):
    text = REFERENCE.replace('Nom="FAURE"', 'Nom="FAURE&#x1b;[31m"')
    with pytest.raises(UnusableInput, match=r"line 27"):
        read_identifiers_file(write(tmp_path, text))


def test_overlong_name_skips_record(tmp_path):
    text = REFERENCE.replace('Nom="FAURE"', f'Nom="{"A" * 10_000}"')
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(27, "field_too_long")]
    assert result.counts()["personnels"] == 0


def test_encrypted_partner_export_is_explained(tmp_path):
    text = (
        "<?xml version='1.0'?>"
        "<EXPORT_INDEX_EDUCATION UAI='0441234A'><CLE/></EXPORT_INDEX_EDUCATION>"
    )
    with pytest.raises(UnusableInput, match="EXPORT_INDEX_EDUCATION"):
        read_identifiers_file(write(tmp_path, text))


def test_namespaced_elements_are_read(tmp_path):
    text = """<?xml version="1.0"?>
<p:IdentifiantsPronote xmlns:p="urn:x" UAI="0441234A">
  <p:Eleve IDPN="5A2MJSNYRDTWKP4Q" Nom="DUPONT" Prenom="Jean"/>
</p:IdentifiantsPronote>"""
    assert read_identifiers_file(write(tmp_path, text)).counts()["eleves"] == 1
