"""The timetable export (`ExportEmploiDuTemps`, FORMAT.md's first section), on our own data."""

# One element per line, as a real export has them: the line numbers are the test.
# ruff: noqa: E501

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.errors import UnusableInput
from core.model import Category
from core.pronote_file import read_identifiers_file

# Written for these tests in the form of the public XSD: namespaced, guardians
# inside their students with their whole record, classes by Ident, IdPN (the
# 2013 spelling) beside IDPN, an empty date, and the timetable around them.
TIMETABLE = """<?xml version="1.0" encoding="UTF-8"?>
<ExportEmploiDuTemps xmlns="http://www.index-education.com/exportemploidutemps" Version="1.1" UAI="0441234A">
  <AnneeScolaire DateDebut="2026-09-01" DateFin="2027-08-31" DatePremierJourSemaine1="2026-08-31"/>
  <GrilleHoraire NombrePlacesParJour="2" DureePlace="60">
    <JoursOuvres><Jour>1</Jour><Jour>2</Jour></JoursOuvres>
    <PlacesParJour>
      <Place Numero="0" LibelleHeureDebut="08:00:00" LibelleHeureFin="09:00:00"/>
    </PlacesParJour>
  </GrilleHoraire>
  <Matieres>
    <Matiere Ident="2" Code="MATHS" Libelle="MATHEMATIQUES"/>
    <Matiere Ident="3" Code="FRANC" Libelle="FRANCAIS"/>
  </Matieres>
  <Professeurs>
    <Professeur Ident="2" Nom="ARNAUD" Prenom="Thomas" DateNaissance="1975-03-02" IdPN="8P4BHZJQ79SUNFX3" IDCAS="tarnaud"/>
    <Professeur Ident="3" Nom="BLANC" Prenom="Lise" CodePostal="44000" IDPN="TQ5BHZJQ79SUNFX3"/>
  </Professeurs>
  <Classes>
    <Classe Ident="9" Nom="5A"><PartieDeClasse Ident="44"/></Classe>
    <Classe Ident="10" Nom="5B"/>
  </Classes>
  <Groupes>
    <Groupe Ident="4" Nom="5AB LATIN"><PartieDeClasse Ident="44"/></Groupe>
  </Groupes>
  <Salles>
    <Salle Ident="15511" Nom="1"/>
  </Salles>
  <Eleves>
    <Eleve Ident="1" Nom="ACCOLEE" Prenom="Mérine" DateNaissance="2014-05-12" Sexe="Feminin" IdPN="5A2MJSNYRDTWKP4Q" IDCAS="macco12">
      <Responsable Ident="14001" RespLegal="1" Nom="ACCOLEE" Prenom="KARIM" Civilite="M." Adresse1="1 rue du Moulin" CodePostal="44000" Ville="NANTES" IdPN="HUP2NFZQRYAD7EXS" IDCAS="kaccolee"/>
      <Responsable Ident="14002" RespLegal="2" Nom="BRUN" Prenom="SOPHIE" Civilite="Mme" Adresse1="1 rue du Moulin" IdPN="JDVZ8KPNXSU42WR9"/>
      <Classe Ident="10" DateEntree="2026-09-01" DateSortie="2026-11-30"/>
      <Classe Ident="9" DateEntree="2026-12-01" DateSortie="2027-08-31"/>
      <PartieDeClasse Ident="44" DateEntree="2026-12-01" DateSortie="2027-08-31"/>
    </Eleve>
    <Eleve Ident="2" Nom="ACCOLEE" Prenom="Noé" DateNaissance="" Sexe="Masculin" IDPN="QM4BZJEQWCHP98RS">
      <Responsable Ident="14001" RespLegal="1" Nom="ACCOLEE" Prenom="Karim" Civilite="M." Adresse1="1 rue du Moulin" IDPN="HUP2NFZQRYAD7EXS" IDCAS="kaccolee"/>
      <Classe Ident="10" DateEntree="2026-09-01" DateSortie="2027-08-31"/>
    </Eleve>
    <Eleve Ident="3" Nom="CARON" Prenom="Léo" DateNaissance="2013-01-10" Sexe="Masculin" IDPN="YQDSFXR89JWBUNGV">
      <Responsable Ident="14003" RespLegal="1" Nom="CARON" Prenom="PAUL" Adresse1="2 place de l'Église" IDPN="VWZCNXMPYB9T34S5"/>
    </Eleve>
  </Eleves>
  <Cours>
    <Cours Jour="1" NumeroPlaceDebut="0" NombrePlaces="1">
      <Matiere Ident="2"/>
      <Professeur Ident="2" Semaines="1048575"/>
      <Classe Ident="9" Semaines="1048575"/>
      <Salle Ident="15511" Semaines="1048575"/>
    </Cours>
    <Cours Jour="2" NumeroPlaceDebut="0" NombrePlaces="1">
      <Matiere Ident="3"/>
      <Professeur Ident="3" Semaines="1048575"/>
      <Groupe Ident="4" Semaines="1048575"/>
    </Cours>
  </Cours>
</ExportEmploiDuTemps>
"""


def write(tmp_path: Path, text: str, name: str = "edt.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def kinds(result) -> list[tuple[int, str]]:
    return [(p.line, p.kind) for p in result.problems]


def test_the_people_of_a_timetable_export(tmp_path):
    result = read_identifiers_file(write(tmp_path, TIMETABLE))
    assert (result.format, result.format_version) == ("timetable", "1.1")
    assert result.uai == "0441234A"
    assert result.counts() == {
        "enseignants": 2,
        "eleves": 3,
        "responsables": 3,
        "maitres_de_stage": 0,
        "inspecteurs": 0,
        "personnels": 0,
    }
    # Thousands of Cours, Matiere, Salle in a real file: data, not problems.
    assert result.problems == []
    assert result.ignored["Cours"] == 2
    assert set(result.ignored) >= {"Matiere", "Classe", "Groupe", "Salle"}
    teachers = {a.idpn: a for a in result.accounts[Category.ENSEIGNANTS]}
    assert teachers["8P4BHZJQ79SUNFX3"].cas_login == "tarnaud"  # IdPN, IDCAS
    assert teachers["8P4BHZJQ79SUNFX3"].birth_date == date(1975, 3, 2)
    assert teachers["TQ5BHZJQ79SUNFX3"].line == 16


def test_guardians_are_the_distinct_idents_under_the_students(tmp_path):
    result = read_identifiers_file(write(tmp_path, TIMETABLE))
    guardians = {g.file_key: g for g in result.accounts[Category.RESPONSABLES]}
    assert sorted(guardians) == ["14001", "14002", "14003"]
    karim = guardians["14001"]
    assert (karim.idpn, karim.surname, karim.first_name) == ("HUP2NFZQRYAD7EXS", "ACCOLEE", "KARIM")
    assert karim.cas_login == "kaccolee"
    assert karim.line == 30  # the first occurrence
    assert ("Civilite", "M.") in karim.other_fields
    students = {s.first_name: s for s in result.accounts[Category.ELEVES]}
    # Each occurrence is a guardian -> student link, for the guardian rule of matching.
    assert students["Mérine"].guardian_keys == ("14001", "14002")
    assert students["Noé"].guardian_keys == ("14001",)
    assert students["Léo"].guardian_keys == ("14003",)


def test_students_class_cas_login_and_empty_date(tmp_path):
    result = read_identifiers_file(write(tmp_path, TIMETABLE))
    students = {s.first_name: s for s in result.accounts[Category.ELEVES]}
    merine = students["Mérine"]
    assert merine.class_name == "5A"  # the class she is in now, not the one she left
    assert merine.cas_login == "macco12"
    assert merine.birth_date == date(2014, 5, 12)
    assert students["Noé"].class_name == "5B"
    assert students["Noé"].birth_date is None  # DateNaissance="" is no date, no problem
    assert students["Léo"].class_name is None


def test_professeur_references_inside_cours_are_not_teachers(tmp_path):
    text = TIMETABLE.replace('<Professeur Ident="3" Semaines', '<Professeur Ident="99" Semaines')
    result = read_identifiers_file(write(tmp_path, text))
    assert result.counts()["enseignants"] == 2
    assert result.problems == []


def test_two_occurrences_that_disagree_on_a_name_keep_the_first_and_say_so(tmp_path):
    text = TIMETABLE.replace(
        'Nom="ACCOLEE" Prenom="Karim" Civilite="M."', 'Nom="ACOLEE" Prenom="Karim" Civilite="M."'
    )
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(37, "guardian_disagrees")]
    assert "line 30" in result.problems[0].message
    guardians = {g.file_key: g for g in result.accounts[Category.RESPONSABLES]}
    assert guardians["14001"].surname == "ACCOLEE"


def test_two_occurrences_that_disagree_on_the_identifier_load_neither(tmp_path):
    text = TIMETABLE.replace(
        'Prenom="Karim" Civilite="M." Adresse1="1 rue du Moulin" IDPN="HUP2NFZQRYAD7EXS"',
        'Prenom="Karim" Civilite="M." Adresse1="1 rue du Moulin" IDPN="ZZZ2NFZQRYAD7EXS"',
    )
    result = read_identifiers_file(write(tmp_path, text))
    # One problem, not one per link: the links to that Ident are dropped with it.
    assert kinds(result) == [(37, "guardian_disagrees")]
    assert "neither is imported" in result.problems[0].message
    assert sorted(g.file_key for g in result.accounts[Category.RESPONSABLES]) == [
        "14002",
        "14003",
    ]
    students = {s.first_name: s for s in result.accounts[Category.ELEVES]}
    assert students["Mérine"].guardian_keys == ("14002",)
    assert students["Noé"].guardian_keys == ()


def test_a_guardian_without_identifier_is_one_problem_not_two(tmp_path):
    text = TIMETABLE.replace(' IDPN="VWZCNXMPYB9T34S5"', "")
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(41, "missing_idpn")]
    assert result.counts()["responsables"] == 2


def test_personnel_elements_are_read_if_present(tmp_path):
    text = TIMETABLE.replace(
        "  <Eleves>",
        '  <Personnels>\n    <Personnel Ident="90" Nom="FAURE" Prenom="Lise" '
        'IDPN="PE00000000000001" Fonction="CPE"/>\n  </Personnels>\n  <Eleves>',
    )
    result = read_identifiers_file(write(tmp_path, text))
    (staff,) = result.accounts[Category.PERSONNELS]
    assert (staff.surname, staff.line) == ("FAURE", 29)
    assert result.problems == []


def test_an_unknown_element_is_still_reported_once(tmp_path):
    text = TIMETABLE.replace(
        "  <Eleves>", "  <Surveillants><Surveillant Nom='X'/></Surveillants>\n  <Eleves>"
    )
    result = read_identifiers_file(write(tmp_path, text))
    assert kinds(result) == [(28, "unknown_element")]


def test_without_namespace_and_in_other_cases(tmp_path):
    text = TIMETABLE.replace(' xmlns="http://www.index-education.com/exportemploidutemps"', "")
    text = text.replace("<Eleves>", "<ELEVES>").replace("</Eleves>", "</ELEVES>")
    result = read_identifiers_file(write(tmp_path, text))
    assert result.format == "timetable"
    assert result.counts()["responsables"] == 3


def test_a_doctype_inside_a_timetable_export_is_refused(tmp_path):
    text = TIMETABLE.replace(
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE x [<!ENTITY e "e">]>\n',
    )
    with pytest.raises(UnusableInput, match="DTD"):
        read_identifiers_file(write(tmp_path, text))
