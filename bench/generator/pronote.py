"""The identifiers file: FORMAT.md's reference form and PRONOTE's timetable export."""

from __future__ import annotations

import random
from pathlib import Path

from lxml import etree

from bench.generator.cases import _Establishment
from bench.generator.names import _iso, _key
from bench.generator.people import CATEGORIES, ELEMENTS, _Record


def _write_identifiers(path: Path, school: _Establishment, name: str, stamp: str) -> None:
    root = etree.Element("IdentifiantsPronote")
    for key, value in (
        ("Version", "1"),
        ("DateHeure", stamp),
        ("UAI", school.uai),
        ("NomEtablissement", name),
    ):
        root.set(key, value)
    for slug in CATEGORIES:
        wrapper_tag, tag = ELEMENTS[slug]
        wrapper = etree.SubElement(root, wrapper_tag)
        for record in _sorted_records(school, slug):
            element = etree.SubElement(wrapper, tag)
            element.set("Ident", record.ident)
            element.set("IDPN", record.idpn)
            element.set("Nom", record.nom)
            element.set("Prenom", record.prenom)
            if record.birth_text:
                element.set("DateNaissance", record.birth_text)
            if record.human.class_name:
                element.set("Classe", record.human.class_name)
            if record.cas_login:
                element.set("IdentifiantCAS", record.cas_login)
            for key, value in record.human.extra.items():
                element.set(key, value)
            for guardian in record.guardians:
                etree.SubElement(element, "Responsable").set("Ident", guardian.ident)
    _write_xml(path, root)


TIMETABLE_NAMESPACE = "http://www.index-education.com/exportemploidutemps"
SUBJECTS = (
    ("FRANC", "FRANCAIS"), ("MATHS", "MATHEMATIQUES"), ("HIGEO", "HISTOIRE & GEOGRAPH."),
    ("AGL1", "ANGLAIS LV1"), ("ESP2", "ESPAGNOL LV2"), ("ALL2", "ALLEMAND LV2"),
    ("SVT", "SCIENCES VIE & TERRE"), ("PH-CH", "PHYSIQUE-CHIMIE"), ("TECHN", "TECHNOLOGIE"),
    ("A-PLA", "ARTS PLASTIQUES"), ("EDMUS", "EDUCATION MUSICALE"), ("EPS", "ED.PHYSIQUE & SPORT."),
    ("LATIN", "LATIN"), ("EDCIV", "EDUCATION CIVIQUE"), ("VICLA", "VIE DE CLASSE"),
)  # fmt: skip
STREETS = ("rue du Moulin", "avenue de la Gare", "place de l'Église", "rue des Écoles",
           "chemin des Vignes", "boulevard Victor Hugo", "impasse des Lilas")  # fmt: skip


def _write_timetable(path: Path, school: _Establishment, seed: int) -> None:
    """The same people as `_write_identifiers`, as PRONOTE's ExportEmploiDuTemps puts them.

    Guardians inside their students (full record at each occurrence, first
    names in capitals), `IdPN` or `IDPN`, ISO dates or `DateNaissance=""`,
    classes by `Ident`, `IDCAS`, and the timetable around them: subjects,
    rooms, groups and a few `Cours` per student that name teachers by `Ident`.
    """
    rng = random.Random(f"datagen-timetable-{seed}")
    ns = TIMETABLE_NAMESPACE

    def add(parent: etree._Element, tag: str, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ns}}}{tag}")
        for key, value in attributes.items():
            element.set(key, value)
        return element

    def idpn_attribute() -> str:
        return "IdPN" if rng.random() < 0.5 else "IDPN"

    year = school.year
    root = etree.Element(f"{{{ns}}}ExportEmploiDuTemps", nsmap={None: ns})
    root.set("Version", "1.1")
    root.set("UAI", school.uai)
    add(root, "AnneeScolaire", DateDebut=f"{year}-09-01", DateFin=f"{year + 1}-08-31",
        DatePremierJourSemaine1=f"{year}-08-31")  # fmt: skip
    grid = add(root, "GrilleHoraire", NombrePlacesParJour="20", DureePlace="30")
    days = add(grid, "JoursOuvres")
    for day in range(1, 6):
        add(days, "Jour").text = str(day)
    places = add(grid, "PlacesParJour")
    for number in range(20):
        start, end = 8 * 60 + 30 * number, 8 * 60 + 30 * (number + 1)
        add(places, "Place", Numero=str(number),
            LibelleHeureDebut=f"{start // 60:02d}:{start % 60:02d}:00",
            LibelleHeureFin=f"{end // 60:02d}:{end % 60:02d}:00")  # fmt: skip
    subjects = add(root, "Matieres")
    for number, (code, label) in enumerate(SUBJECTS, 2):
        add(subjects, "Matiere", Ident=str(number), Code=code, Libelle=label)
    teachers = add(root, "Professeurs")
    teacher_idents = []
    for record in _sorted_records(school, "enseignants"):
        element = add(teachers, "Professeur", Ident=record.ident, Nom=record.nom,
                      Prenom=record.prenom)  # fmt: skip
        element.set("CodePostal", rng.choice(school.postal_codes))
        birth = record.human.birth if record.birth_text else None
        if birth is not None or rng.random() < 0.5:
            element.set("DateNaissance", _iso(birth) if birth else "")
        element.set(idpn_attribute(), record.idpn)
        if record.cas_login:
            element.set("IDCAS", record.cas_login)
        teacher_idents.append(record.ident)
    class_idents = {name: str(number) for number, name in enumerate(school.classes, 2)}
    classes = add(root, "Classes")
    part = 100
    for name, ident in class_idents.items():
        classe = add(classes, "Classe", Ident=ident, Nom=name)
        for _ in range(rng.randint(1, 3)):
            part += 1
            add(classe, "PartieDeClasse", Ident=str(part))
    groups = add(root, "Groupes")
    for number, name in enumerate(school.classes, 2):
        groupe = add(groups, "Groupe", Ident=str(number), Nom=f"{name} LV2")
        add(groupe, "PartieDeClasse", Ident=str(100 + number))
    rooms = add(root, "Salles")
    room_idents = [str(15500 + n) for n in range(max(8, len(school.classes) + 4))]
    for number, ident in enumerate(room_idents, 1):
        add(rooms, "Salle", Ident=ident, Nom=str(number))
    staff = _sorted_records(school, "personnels")
    if staff:  # not in the XSD; one ENT's reader has seen it
        personnels = add(root, "Personnels")
        for record in staff:
            element = add(personnels, "Personnel", Ident=record.ident, Nom=record.nom,
                          Prenom=record.prenom)  # fmt: skip
            if record.birth_text:
                element.set("DateNaissance", _iso(record.human.birth))
            element.set(idpn_attribute(), record.idpn)
            if record.cas_login:
                element.set("IDCAS", record.cas_login)
            for key, value in record.human.extra.items():
                element.set(key, value)
    students = add(root, "Eleves")
    term_start, term_end = f"{year}-09-01", f"{year + 1}-08-31"
    for record in _sorted_records(school, "eleves"):
        human = record.human
        element = add(students, "Eleve", Ident=record.ident, Nom=record.nom, Prenom=record.prenom)
        element.set("DateNaissance", _iso(human.birth) if record.birth_text else "")
        element.set("Sexe", "Feminin" if human.sex == "F" else "Masculin")
        element.set(idpn_attribute(), record.idpn)
        if record.cas_login:
            element.set("IDCAS", record.cas_login)
        for rank, guardian in enumerate(record.guardians, 1):
            g = guardian.human
            child = add(element, "Responsable", Ident=guardian.ident, RespLegal=str(rank),
                        Nom=guardian.nom, Prenom=guardian.prenom.upper(),
                        Civilite="Mme" if g.sex == "F" else "M.")  # fmt: skip
            number = int(guardian.ident)
            child.set("Adresse1", f"{1 + number % 97} {STREETS[number % len(STREETS)]}")
            if "CodePostal" in g.extra:
                child.set("CodePostal", g.extra["CodePostal"])
            child.set("Ville", "NANTES")
            child.set(idpn_attribute(), guardian.idpn)
            if guardian.cas_login:
                child.set("IDCAS", guardian.cas_login)
        if human.class_name:
            if rng.random() < 0.03:  # changed class during the year
                before = rng.choice([c for c in school.classes if c != human.class_name] or
                                    [human.class_name])  # fmt: skip
                add(element, "Classe", Ident=class_idents[before], DateEntree=term_start,
                    DateSortie=f"{year}-11-30")  # fmt: skip
                add(element, "Classe", Ident=class_idents[human.class_name],
                    DateEntree=f"{year}-12-01", DateSortie=term_end)  # fmt: skip
            else:
                add(element, "Classe", Ident=class_idents[human.class_name],
                    DateEntree=term_start, DateSortie=term_end)  # fmt: skip
    lessons = add(root, "Cours")
    for _ in range(3 * school.students):
        lesson = add(lessons, "Cours", Jour=str(rng.randint(1, 5)),
                     NumeroPlaceDebut=str(rng.randrange(18)), NombrePlaces="2")  # fmt: skip
        add(lesson, "Matiere", Ident=str(rng.randrange(2, 2 + len(SUBJECTS))))
        if teacher_idents:
            add(lesson, "Professeur", Ident=rng.choice(teacher_idents), Semaines="1048575")
        add(lesson, "Classe", Ident=rng.choice(list(class_idents.values())), Semaines="1048575")
        add(lesson, "Salle", Ident=rng.choice(room_idents), Semaines="1048575")
    _write_xml(path, root)


def _write_xml(path: Path, root: etree._Element) -> None:
    """One element per line, so that line numbers mean something."""
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False, pretty_print=True)
    path.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n' + body)


def _sorted_records(school: _Establishment, slug: str) -> list[_Record]:
    records = [r for h in school.humans[slug] for r in h.records]
    records.sort(key=lambda r: (*_key(r.human.surname, r.human.first_name), int(r.ident)))
    return records
