"""Index Education's timetable export, `ExportEmploiDuTemps` (FORMAT.md, first section).

What PRONOTE and EDT send an ENT partner: the timetable, with the people in
it. Only `Professeurs` and `Eleves` hold people (and `Personnel`, which one
ENT's reader has seen); the rest is timetable data, skipped without a word:
a real file holds thousands of `Cours`, and none of them is a problem.

Guardians have no list of their own. Each student carries up to two
`Responsable` elements with the guardian's whole record; a guardian of three
children appears three times, with one `Ident`. The guardians are the
distinct `Ident`s, and each occurrence is a guardian->student link. Two
occurrences of one `Ident` that disagree are reported; when they disagree on
the identifier itself, nobody can tell which is right, so neither loads.

Element and attribute names are matched on their local names (the file's
default namespace is ignored) and, as everywhere in the reader, in any case:
`IdPN`, the 2013 spelling, is `IDPN`.
"""

from __future__ import annotations

from collections import Counter

from lxml import etree

from core.i18n import register
from core.model import Category
from core.names import normalise_name
from core.text import fold_tag
from core.xml_records import (
    FileProblem,
    Names,
    RawRecord,
    RecordFields,
    SourceLines,
    local_name,
    start_line,
)

register(
    {
        "problem.guardian_disagrees_idpn": (
            "{who} : le responsable Ident={key} figure aussi ligne {first} avec l'identifiant "
            "{theirs}, ici {ours} ; aucun des deux n'est importé, faites vérifier la base Pronote",
            "{who}: guardian Ident={key} also appears on line {first} with identifier "
            "{theirs}, here {ours}; neither is imported, have the school check its Pronote base",
        ),
        "problem.guardian_disagrees_fields": (
            "{who} : le responsable Ident={key} figure aussi ligne {first} avec un autre "
            "{field} (« {theirs} », ici « {ours} ») ; la fiche de la ligne {first} est gardée",
            "{who}: guardian Ident={key} also appears on line {first} with another {field} "
            "('{theirs}', here '{ours}'); the record of line {first} is kept",
        ),
    }
)

ROOT = fold_tag("ExportEmploiDuTemps")
# The root's children that hold the timetable, not people.
TIMETABLE_DATA = frozenset(
    fold_tag(name)
    for name in (
        "AnneeScolaire",
        "GrilleHoraire",
        "Matieres",
        "Classes",
        "Groupes",
        "Salles",
        "Cours",
    )
)
_CLASSES = fold_tag("Classes")
_CLASS = fold_tag("Classe")
_VERSION = fold_tag("Version")
_LEFT = fold_tag("DateSortie")
# What makes two occurrences of one guardian the same record.
_IDENTITY = ("idpn", "nom", "prenom", "cas_login")


def is_timetable(root: etree._Element) -> bool:
    return fold_tag(local_name(root.tag) or "") == ROOT


class TimetableWalker:
    """Walks an `ExportEmploiDuTemps` tree into raw records, as the reference walker does.

    After `walk`: `raws` (teachers, students, staff, then one record per
    distinct guardian), `header` (the UAI), `version`, `ignored` (timetable
    element name -> count, for one line of `inspect`), `unknown` and
    `unknown_line` (elements that are neither people nor timetable data),
    `problems` (guardian occurrences that disagree) and `guardian_keys`
    (every guardian `Ident` of the file, loaded or not).
    """

    def __init__(self, names: Names, lines: list[bytes] | SourceLines) -> None:
        self.names = names
        self.lines = lines
        self.raws: list[RawRecord] = []
        self.header: dict[str, str] = {}
        self.version: str | None = None
        self.ignored: Counter[str] = Counter()
        self.unknown: Counter[str] = Counter()
        self.unknown_line: dict[str, int] = {}
        self.problems: list[FileProblem] = []
        self.guardian_keys: set[str] = set()
        self._classes: dict[str, str] = {}
        self._guardians: dict[str, RawRecord] = {}
        self._conflicts: set[str] = set()

    def line_of(self, element: etree._Element) -> int:
        return start_line(self.lines, element)

    # -- the tree ---------------------------------------------------------------------

    def walk(self, root: etree._Element) -> None:
        for key, value in root.attrib.items():
            tag = fold_tag(local_name(key) or "")
            if tag == _VERSION:
                self.version = value.strip() or None
            elif (header := self.names.header_of(tag)) and value.strip():
                self.header.setdefault(header, value.strip())
        for child in root:
            if fold_tag(local_name(child.tag) or "") == _CLASSES:
                self._read_classes(child)
        for child in root:
            name = local_name(child.tag)
            if name is None:
                continue
            tag = fold_tag(name)
            if tag in TIMETABLE_DATA:
                self._ignore(child)
            elif (category := self.names.category_of(tag)) is not None:
                self._person(child, category)
            elif self.names.is_wrapper(tag):
                for element in child:
                    inner = local_name(element.tag)
                    if inner is None:
                        continue
                    category = self.names.category_of(fold_tag(inner))
                    if category is None:
                        self._unknown(inner, element)
                    else:
                        self._person(element, category)
            elif (header := self.names.header_of(tag)) and len(child) == 0:
                if child.text and child.text.strip():
                    self.header.setdefault(header, child.text.strip())
            else:
                self._unknown(name, child)
        self._finish()

    def _ignore(self, container: etree._Element) -> None:
        named = [local_name(e.tag) for e in container]
        named = [n for n in named if n]
        if named:
            self.ignored.update(named)
        else:
            self.ignored[local_name(container.tag) or "?"] += 1

    def _unknown(self, name: str, element: etree._Element) -> None:
        self.unknown[name] += 1
        self.unknown_line.setdefault(name, self.line_of(element))

    def _read_classes(self, container: etree._Element) -> None:
        for element in container:
            if fold_tag(local_name(element.tag) or "") != _CLASS:
                continue
            fields, _ = self._fields(element)
            ident, name = fields.get("ident"), fields.get("nom")
            if ident and name:
                self._classes.setdefault(ident, name)

    # -- people ---------------------------------------------------------------------------

    def _fields(self, element: etree._Element) -> tuple[dict[str, str], list[tuple[str, str]]]:
        """The element's attributes, and the text of its leaf children, by field key."""
        record = RecordFields(self.names)
        record.put_attributes(element)
        for child in element:
            name = local_name(child.tag)
            if name and len(child) == 0 and not child.attrib:
                record.put(name, child.text or "")
        return record.fields, record.other

    def _person(self, element: etree._Element, category: Category) -> None:
        if category is Category.RESPONSABLES:
            self._guardian(element)
            return
        fields, other = self._fields(element)
        raw = RawRecord(category, self.line_of(element), fields, other, [])
        if category is Category.ELEVES:
            self._student_children(element, raw)
        self.raws.append(raw)

    def _student_children(self, element: etree._Element, raw: RawRecord) -> None:
        """A student's guardians (records and links) and current class."""
        classes: list[tuple[str, int, str]] = []
        for order, child in enumerate(element):
            name = local_name(child.tag)
            if name is None:
                continue
            tag = fold_tag(name)
            if self.names.category_of(tag) is Category.RESPONSABLES:
                key = self._guardian(child)
                if key is not None:
                    raw.guardian_keys.append((key, self.line_of(child)))
            elif tag == _CLASS and child.attrib:
                fields, other = self._fields(child)
                left = next((v for n, v in other if fold_tag(n) == _LEFT), "")
                name_of = self._classes.get(fields.get("ident", ""))
                if name_of:
                    # No end date means still there; else the latest end is the current class.
                    classes.append((left or "9999", order, name_of))
        if classes and not raw.fields.get("classe"):
            raw.fields["classe"] = max(classes)[2]

    def _guardian(self, element: etree._Element) -> str | None:
        """Record one occurrence of a guardian; its `Ident` (the link key), if it has one."""
        fields, other = self._fields(element)
        line = self.line_of(element)
        key = fields.get("ident") or None
        if key is None:
            # Nothing tells this occurrence from another guardian's: a record of its own.
            self.raws.append(RawRecord(Category.RESPONSABLES, line, fields, other, []))
            return None
        self.guardian_keys.add(key)
        first = self._guardians.get(key)
        if first is None:
            self._guardians[key] = RawRecord(Category.RESPONSABLES, line, fields, other, [])
            return key
        for field_key in _IDENTITY:
            theirs, ours = first.fields.get(field_key, ""), fields.get(field_key, "")
            if _same(field_key, theirs, ours):
                continue
            who = " ".join(p for p in (fields.get("nom", ""), fields.get("prenom", "")) if p)
            params = {
                "who": who or f"Ident={key}",
                "key": key,
                "first": first.line,
                "field": field_key,
                "theirs": theirs,
                "ours": ours,
            }
            if field_key == "idpn":
                self._conflicts.add(key)
                self.problems.append(
                    FileProblem(line, "guardian_disagrees", params, "guardian_disagrees_idpn")
                )
                break
            self.problems.append(
                FileProblem(line, "guardian_disagrees", params, "guardian_disagrees_fields")
            )
            break
        return key

    def _finish(self) -> None:
        for key, raw in self._guardians.items():
            if key not in self._conflicts:
                self.raws.append(raw)
        if self._conflicts:
            for raw in self.raws:
                raw.guardian_keys = [
                    (k, line) for k, line in raw.guardian_keys if k not in self._conflicts
                ]


def _same(key: str, a: str, b: str) -> bool:
    if key in ("nom", "prenom"):
        return normalise_name(a) == normalise_name(b)
    if key == "cas_login":
        return a.casefold() == b.casefold()
    return a == b
