"""Reading the Pronote identifiers file (FORMAT.md): tolerant of form, hard on hostility.

The file comes from another system and is untrusted. It is read whole (it is
a few MB) under a size limit; a file that declares a DTD or an entity at all
is refused from its bytes, in every encoding the parser could read them in,
before the parser sees it (libxml2 would load an external subset while
parsing); the parser itself still loads no DTD, expands no entity and opens
no network connection. Within a sane file the reader is tolerant: element and attribute
names in any case, fields as attributes or child elements, plural wrappers or
not, both date forms. Bad records are reported with their line and skipped;
the good ones still load.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from core.envelope import EnvelopeInfo, PartnerKey, is_envelope, open_envelope
from core.errors import UnusableInput
from core.i18n import register, t
from core.model import CATEGORIES, UAI_PATTERN, Category, PronoteAccount
from core.pronote_accounts import accounts_from
from core.text import fold_tag, printable
from core.timetable_export import TimetableWalker, is_timetable
from core.untrusted_xml import check_encoding, check_markup, parse, read_bytes
from core.xml_records import FileProblem, RecordFields, SourceLines, start_line
from core.xml_records import RawRecord as _Raw
from core.xml_records import local_name as _local

register(
    {
        "problem.invalid_uai": (
            "code d'établissement « {value} » invalide (7 chiffres et une lettre attendus) ; "
            "le fichier est lu sans établissement, match et apply le refusent : demandez un "
            "nouvel export",
            "invalid establishment code '{value}' (7 digits and a letter expected); the file "
            "is read without an establishment, match and apply refuse it: ask for a new export",
        ),
        "problem.invalid_uai_envelope": (
            "code d'établissement de l'enveloppe « {value} » invalide (7 chiffres et une "
            "lettre attendus) ; il n'est pas utilisé",
            "invalid establishment code '{value}' in the envelope (7 digits and a letter "
            "expected); it is not used",
        ),
    }
)

DEFAULT_MAX_SIZE_MB = 50

DEFAULT_ELEMENTS: dict[Category, tuple[str, ...]] = {
    Category.ENSEIGNANTS: ("Professeur", "Enseignant"),
    Category.ELEVES: ("Eleve",),
    Category.RESPONSABLES: ("Responsable", "ResponsableLegal"),
    Category.MAITRES_DE_STAGE: ("MaitreDeStage", "MaitreStage"),
    Category.INSPECTEURS: ("InspecteurPedagogique", "Inspecteur"),
    Category.PERSONNELS: ("Personnel",),
}
DEFAULT_WRAPPERS: tuple[str, ...] = (
    "Professeurs",
    "Enseignants",
    "Eleves",
    "Responsables",
    "ResponsablesLegaux",
    "MaitresDeStage",
    "MaitresStage",
    "InspecteursPedagogiques",
    "Inspecteurs",
    "Personnels",
)
# Field -> the names it may come under (attribute or child element).
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "ident": ("Ident", "Id"),
    "idpn": ("IDPN", "IdentifiantPronote", "IdPronote"),
    "nom": ("Nom", "NomDeFamille"),
    "prenom": ("Prenom",),
    "date_naissance": ("DateNaissance", "DateDeNaissance", "Naissance"),
    "classe": ("Classe",),
    # IDCAS in the timetable export: the same evidence (FORMAT.md).
    "cas_login": ("IdentifiantCAS", "IDCAS", "LoginCAS", "IdentifiantENT"),
}
HEADER_FIELDS: dict[str, tuple[str, ...]] = {
    "uai": ("UAI", "RNE", "CodeUAI"),
    "etablissement": ("NomEtablissement", "Etablissement"),
    "date": ("DateHeure", "DateExport", "Date"),
}


@dataclass(frozen=True)
class FileSchema:
    """The names the reader looks for; `[file]` in config.toml extends them."""

    elements: dict[Category, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_ELEMENTS)
    )
    wrappers: tuple[str, ...] = DEFAULT_WRAPPERS
    fields: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    max_size_mb: float = DEFAULT_MAX_SIZE_MB
    # The key that opens an EXPORT_INDEX_EDUCATION envelope ([file] partner_key...).
    partner: PartnerKey = field(default_factory=PartnerKey)

    def __post_init__(self) -> None:
        by_tag: dict[str, Category] = {}
        for category, names in self.elements.items():
            for name in names:
                by_tag[fold_tag(name)] = category
        wrappers = {fold_tag(w) for w in self.wrappers}
        # A plural wrapper is optional and may be named after any element name.
        wrappers |= {tag + "s" for tag in by_tag}
        by_field: dict[str, str] = {}
        for key, names in self.fields.items():
            for name in names:
                by_field[fold_tag(name)] = key
        header = {fold_tag(n): key for key, names in HEADER_FIELDS.items() for n in names}
        object.__setattr__(self, "_by_tag", by_tag)
        object.__setattr__(self, "_wrappers", frozenset(wrappers))
        object.__setattr__(self, "_by_field", by_field)
        object.__setattr__(self, "_header", header)

    def category_of(self, tag: str) -> Category | None:
        return self._by_tag.get(tag)  # type: ignore[attr-defined]

    def is_wrapper(self, tag: str) -> bool:
        return tag in self._wrappers  # type: ignore[attr-defined]

    def field_of(self, tag: str) -> str | None:
        return self._by_field.get(tag)  # type: ignore[attr-defined]

    def header_of(self, tag: str) -> str | None:
        return self._header.get(tag)  # type: ignore[attr-defined]


@dataclass
class IdentifiersFile:
    """What the file holds: the establishment, the accounts per category, the problems."""

    path: Path
    uai: str | None
    establishment_name: str | None
    export_date: str | None
    encoding: str
    accounts: dict[Category, tuple[PronoteAccount, ...]]
    problems: list[FileProblem]
    # "reference" or "timetable" (an ExportEmploiDuTemps), and its Version.
    format: str = "reference"
    format_version: str | None = None
    # Set when the file was an EXPORT_INDEX_EDUCATION envelope.
    envelope: EnvelopeInfo | None = None
    # Timetable elements skipped (name -> count): data, not problems.
    ignored: dict[str, int] = field(default_factory=dict)
    # SHA-256 of the bytes read from disk (the envelope itself, for an envelope).
    sha256: str | None = None

    def counts(self) -> dict[str, int]:
        return {c.slug: len(self.accounts.get(c, ())) for c in CATEGORIES}

    def all_accounts(self) -> Iterable[PronoteAccount]:
        for category in CATEGORIES:
            yield from self.accounts.get(category, ())

    def by_idpn(self) -> dict[str, PronoteAccount]:
        return {a.idpn: a for a in self.all_accounts()}


# -- the records ---------------------------------------------------------------


class _Walker:
    def __init__(self, schema: FileSchema, lines: SourceLines | list[bytes] | None = None) -> None:
        self.schema = schema
        self.lines = lines or []
        self.raws: list[_Raw] = []
        self.header: dict[str, str] = {}
        self.unknown: Counter[str] = Counter()
        self.unknown_line: dict[str, int] = {}

    def walk(self, root: etree._Element) -> None:
        for key, value in root.attrib.items():
            header = self.schema.header_of(fold_tag(_local(key) or ""))
            if header and value.strip():
                self.header.setdefault(header, value.strip())
        self._children(root)

    def _children(self, element: etree._Element) -> None:
        for child in element:
            name = _local(child.tag)
            if name is None:
                continue
            tag = fold_tag(name)
            category = self.schema.category_of(tag)
            if category is not None:
                self.raws.append(self._record(child, category))
            elif self.schema.is_wrapper(tag):
                self._children(child)
            elif (header := self.schema.header_of(tag)) and len(child) == 0:
                if child.text and child.text.strip():
                    self.header.setdefault(header, child.text.strip())
            else:
                self.unknown[name] += 1
                self.unknown_line.setdefault(name, self.line_of(child))
                # Persons inside an unknown container still load.
                self._children(child)

    def _record(self, element: etree._Element, category: Category) -> _Raw:
        record = RecordFields(self.schema)
        guardians: list[tuple[str, int]] = []
        record.put_attributes(element)
        for child in element.iter():
            if child is element:
                continue
            name = _local(child.tag)
            if name is None:
                continue
            if self.schema.category_of(fold_tag(name)) is Category.RESPONSABLES:
                if category is Category.ELEVES:
                    key = self._link_key(child)
                    if key:
                        guardians.append((key, self.line_of(child)))
                continue
            parent = child.getparent()
            in_link = parent is not None and parent is not element and self._inside_link(child)
            if in_link or len(child):
                continue
            record.put(name, child.text or "")
        return _Raw(category, self.line_of(element), record.fields, record.other, guardians)

    def line_of(self, element: etree._Element) -> int:
        return start_line(self.lines, element)

    def _inside_link(self, element: etree._Element) -> bool:
        parent = element.getparent()
        while parent is not None:
            name = _local(parent.tag)
            if name and self.schema.category_of(fold_tag(name)) is Category.RESPONSABLES:
                return True
            parent = parent.getparent()
        return False

    def _link_key(self, link: etree._Element) -> str | None:
        for name, value in link.attrib.items():
            if self.schema.field_of(fold_tag(_local(name) or "")) == "ident":
                return value.strip() or None
        for child in link:
            name = _local(child.tag)
            if name and self.schema.field_of(fold_tag(name)) == "ident":
                return (child.text or "").strip() or None
        if len(link) == 0 and link.text and link.text.strip():
            return link.text.strip()
        return None


def _valid_uai(value: str | None, where: str, problems: list[FileProblem]) -> str | None:
    """The code upper-cased if it has the UAI form; else None and an `invalid_uai` problem."""
    if not value:
        return None
    code = value.strip().upper()
    if UAI_PATTERN.fullmatch(code):
        return code
    shown = printable(value[:40] + ("…" if len(value) > 40 else ""))
    key = "invalid_uai_envelope" if where == "envelope" else "invalid_uai"
    problems.append(FileProblem(1, "invalid_uai", {"value": shown}, message_key=key))
    return None


def read_identifiers_file(
    path: str | os.PathLike[str], schema: FileSchema | None = None
) -> IdentifiersFile:
    """Read and check the identifiers file; raise `UnusableInput` only if nothing can be used.

    An `EXPORT_INDEX_EDUCATION` envelope is opened with `schema.partner` and
    its content read by `_read_document`, the very path a plain file takes:
    the decrypted bytes get every check a plain file gets, in memory only.
    """
    schema = schema or FileSchema()
    path = Path(path)
    data = read_bytes(path, schema.max_size_mb)
    with _without_cyclic_collection():
        return _read_document(path, data, schema, hashlib.sha256(data).hexdigest())


@contextlib.contextmanager
def _without_cyclic_collection() -> Iterator[None]:
    """Hundreds of thousands of small objects, all kept: the cyclic collector would
    only scan them again and again (half the reading time of a large file)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _read_document(
    path: Path,
    data: bytes,
    schema: FileSchema,
    sha256: str,
    envelope: EnvelopeInfo | None = None,
) -> IdentifiersFile:
    """The bytes of a plain file, or of an envelope's decrypted content: every check, once."""
    problems: list[FileProblem] = []
    encoding = check_encoding(path, data, problems)
    check_markup(path, data, schema.max_size_mb, encoding)
    tree = parse(path, data)
    root = tree.getroot()
    if is_envelope(root):
        if envelope is not None:
            raise UnusableInput(t("envelope.nested", path=path))
        limit = int(schema.max_size_mb * 1024 * 1024)
        content, info = open_envelope(path, root, schema.partner, limit)
        return _read_document(path, content, schema, sha256, info)
    # Byte lines are enough to find a start tag: tag names are ASCII in every
    # encoding this reader accepts but UTF-16/32, where the search just fails.
    # Past lxml's line 65,535, lines come from byte offsets (SourceLines).
    lines = SourceLines(data, encoding)
    lines.root = root
    walker: _Walker | TimetableWalker
    present: set[str] | None = None
    if is_timetable(root):
        walker = TimetableWalker(schema, lines)
        walker.walk(root)
        problems += walker.problems
        present = walker.guardian_keys
        form, version, ignored = "timetable", walker.version, dict(walker.ignored)
    else:
        walker = _Walker(schema, lines)
        root_category = schema.category_of(fold_tag(_local(root.tag) or ""))
        if root_category is not None:  # a file of a single person, odd but legal XML
            walker.raws.append(walker._record(root, root_category))
        else:
            walker.walk(root)
        form, version, ignored = "reference", None, {}
    # The raw records hold what is needed: free the tree (the largest thing in
    # memory) before the accounts are made.
    lines.root = lines.big = None
    del tree, root
    for name, count in walker.unknown.items():
        problems.append(
            FileProblem(
                walker.unknown_line[name], "unknown_element", {"name": name, "count": count}
            )
        )
    accounts = accounts_from(walker.raws, problems, present)
    if not walker.raws:
        raise UnusableInput(t("file.no_accounts", path=path))
    header = dict(walker.header)
    # The establishment code names directories and lock files: an invalid one
    # (`../../x`) is a problem, and the file then names no establishment.
    header_uai = _valid_uai(header.pop("uai", None), "", problems)
    if header_uai:
        header["uai"] = header_uai
    if envelope is not None:
        envelope_uai = _valid_uai(envelope.uai, "envelope", problems)
        for key, value in (
            ("uai", envelope_uai),
            ("etablissement", envelope.establishment),
            ("date", envelope.date),
        ):
            if value:
                header.setdefault(key, value)
        if envelope_uai and header["uai"] != envelope_uai:
            problems.append(
                FileProblem(1, "uai_mismatch", {"uai": header["uai"], "envelope": envelope_uai})
            )
    uai = header.get("uai")
    if uai is None and not any(p.kind == "invalid_uai" for p in problems):
        problems.append(FileProblem(1, "missing_uai"))
    by_category: dict[Category, list[PronoteAccount]] = {c: [] for c in CATEGORIES}
    for account in accounts:
        by_category[account.category].append(account)
    problems.sort(key=lambda p: (p.line, p.kind))
    return IdentifiersFile(
        path=path,
        uai=uai,
        establishment_name=header.get("etablissement"),
        export_date=header.get("date"),
        encoding=encoding,
        accounts={c: tuple(v) for c, v in by_category.items()},
        problems=problems,
        format=form,
        format_version=version,
        envelope=envelope,
        ignored=ignored,
        sha256=sha256,
    )
