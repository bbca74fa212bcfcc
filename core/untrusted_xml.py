"""The identifiers file's bytes, before any record is read: untrusted, bounded, DTD-free.

A regular file under a size limit; the encoding it really uses (refusing one
that lies about its bytes); no DTD or entity declaration in any encoding the
parser could read (refused from the bytes, before libxml2 sees them: it would
load an external subset while parsing); a bound on the markup before the tree
is built; then lxml with no DTD, no entity, no network.
"""

from __future__ import annotations

import codecs
import re
import stat
from pathlib import Path

from lxml import etree

from core.errors import UnusableInput
from core.i18n import register, t
from core.xml_records import FileProblem

register(
    {
        "file.too_much_markup": (
            "{path} : {count} balises et attributs, plus que les {limit} que permet "
            "[file] max_size_mb = {mb} ; aucun export Pronote n'en compte autant : refusé "
            "avant lecture (si c'est vraiment le fichier d'un très grand établissement, "
            "augmentez max_size_mb)",
            "{path}: {count} tags and attributes, more than the {limit} that [file] "
            "max_size_mb = {mb} allows; no Pronote export holds that many: refused before "
            "reading (if it really is the file of a very large establishment, raise "
            "max_size_mb)",
        ),
    }
)

NODES_PER_MB = 20_000
"""Elements and attributes allowed per MB of `[file] max_size_mb` (see check_markup)."""


_DECLARATION = re.compile(rb"^\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_BOMS = (
    (codecs.BOM_UTF8, "UTF-8"),
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_SINGLE_BYTE = {"iso8859-1", "iso8859-15", "cp1252"}


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def read_bytes(path: Path, limit_mb: float) -> bytes:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UnusableInput(t("file.not_found", path=path)) from None
    except OSError as error:
        raise UnusableInput(t("file.unreadable", path=path, error=error.strerror)) from None
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or a device (/dev/zero) would block or never end.
        raise UnusableInput(t("file.not_regular", path=path))
    limit = int(limit_mb * 1024 * 1024)
    if info.st_size > limit:
        raise UnusableInput(
            t("file.too_large", path=path, size=round(info.st_size / 2**20), limit=limit_mb)
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise UnusableInput(t("file.unreadable", path=path, error=error.strerror)) from None
    if len(data) > limit:  # grew while we looked
        raise UnusableInput(
            t("file.too_large", path=path, size=round(len(data) / 2**20), limit=limit_mb)
        )
    if not data.strip():
        raise UnusableInput(t("file.empty", path=path))
    return data


def check_encoding(path: Path, data: bytes, problems: list[FileProblem]) -> str:
    """The encoding the file really uses, refusing any that lies about its bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            bom_encoding = name
            break
    else:
        bom_encoding = None
    match = _DECLARATION.match(data) if bom_encoding in (None, "UTF-8") else None
    declared = match.group(1).decode("ascii") if match else None
    if declared is None:
        encoding = bom_encoding or "UTF-8"
        try:
            data.decode("utf-8-sig" if encoding == "UTF-8" else encoding)
        except UnicodeDecodeError as error:
            if encoding == "UTF-8":
                raise UnusableInput(
                    t("file.not_utf8", path=path, line=_line_of(data, error.start))
                ) from None
            raise UnusableInput(
                t(
                    "file.bad_encoding",
                    path=path,
                    line=_line_of(data, error.start),
                    encoding=encoding,
                )
            ) from None
        return encoding
    try:
        codec = codecs.lookup(declared).name
    except LookupError:
        raise UnusableInput(t("file.unknown_encoding", path=path, encoding=declared)) from None
    try:
        data.decode(codec)
    except UnicodeDecodeError as error:
        raise UnusableInput(
            t("file.bad_encoding", path=path, line=_line_of(data, error.start), encoding=declared)
        ) from None
    if codec in _SINGLE_BYTE and not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            problems.append(FileProblem(1, "encoding_mismatch", {"declared": declared}))
    return declared


# A markup declaration: the doctype, and what only a DTD holds. libxml2 loads an
# external subset or parameter entity while it parses the doctype, before any
# check after parsing could refuse it: the bytes are looked at first.
_MARKUP_DECLARATION = r"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)"
_DECLARATION_BYTES = re.compile(_MARKUP_DECLARATION.encode(), re.IGNORECASE)
_DECLARATION_TEXT = re.compile(_MARKUP_DECLARATION, re.IGNORECASE)
# Codecs that write every ASCII character as its own byte, and no other byte as one:
# the byte search already sees their declarations.
_ASCII_SUPERSETS = {"utf-8", "iso8859-1", "iso8859-15", "cp1252", "ascii"}
# libxml2 recognises EBCDIC from "<?xm" in the first four bytes, then reads the
# declaration for the code page.
_EBCDIC_START = b"\x4c\x6f\xa7\x94"


def _markup_declaration_line(data: bytes) -> int | None:
    """The line of a DTD or entity declaration in the document, in any encoding
    the parser could read it in; None when there is none.

    The same bytes are searched as the parser could decode them: as they are
    (UTF-8 with or without BOM, ISO-8859-1/15, Windows-1252, any ASCII
    superset), without their NUL bytes (UTF-16 and UTF-32, either byte order,
    BOM or not: ASCII characters keep one byte each), decoded with the codec
    the declaration names if it is another (UTF-7, ...), and as EBCDIC when
    the document starts like EBCDIC. A false alarm (the words in a comment)
    only refuses a file; a miss would let the parser read what the file names.
    """
    found = _DECLARATION_BYTES.search(data)
    if found:
        return _line_of(data, found.start())
    if b"\0" in data:
        narrow = data.replace(b"\0", b"")
        found = _DECLARATION_BYTES.search(narrow)
        if found:
            return _line_of(narrow, found.start())
    codecs_to_try = []
    head = data[:1024].replace(b"\0", b"")
    for bom, _ in _BOMS:
        head = head.removeprefix(bom.replace(b"\0", b""))
    declared = _DECLARATION.match(head)
    if declared:
        codecs_to_try.append(declared.group(1).decode("ascii"))
    if data.startswith(_EBCDIC_START):
        codecs_to_try += ["cp037", "cp500", "cp1140", "cp273", "cp1026"]
    for name in codecs_to_try:
        try:
            codec = codecs.lookup(name).name
        except LookupError:
            continue  # unknown here: _check_encoding refuses the file before parsing
        if codec in _ASCII_SUPERSETS:
            continue
        text = data.decode(codec, errors="replace")
        found = _DECLARATION_TEXT.search(text)
        if found:
            return text.count("\n", 0, found.start()) + 1
    return None


def _refuse_declarations(path: Path, data: bytes) -> None:
    """No DTD reaches the parser: a file that declares one is refused unparsed."""
    line = _markup_declaration_line(data)
    if line is not None:
        raise UnusableInput(t("file.dtd", path=path, line=line))


def check_markup(path: Path, data: bytes, limit_mb: float, encoding: str) -> None:
    """A bound on what the tree will cost, before it is built.

    Parsed, each element or attribute costs 120-250 bytes of memory and its
    share of the walk; 49 MB of `<a/>` is 12.8 million elements (1.7 GB and
    90 s before this check). `[file] max_size_mb` therefore also bounds the
    markup: `NODES_PER_MB` elements and attributes per MB of the limit
    (1,000,000 at the default 50 MB; a real export of a large lycée holds a
    few hundred thousand). Counting `<` and `=` bytes is an upper bound in
    every ASCII superset and in UTF-16/32 (the character's byte is there), and
    costs a few milliseconds; in another codec (UTF-7 may write `<` as
    `+ADw-`), the characters of the decoded text are counted.
    """
    limit = int(limit_mb * NODES_PER_MB)
    codec = codecs.lookup(encoding).name
    if codec in _ASCII_SUPERSETS or codec.startswith(("utf-16", "utf-32")):
        count = data.count(b"<") + data.count(b"=")
    else:
        text = data.decode(codec, errors="replace")
        count = text.count("<") + text.count("=")
    if count > limit:
        raise UnusableInput(
            t("file.too_much_markup", path=path, count=count, limit=limit, mb=f"{limit_mb:g}")
        )


def parse(path: Path, data: bytes) -> etree._ElementTree:
    _refuse_declarations(path, data)
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno or 1
        declared = re.search(rb"<!\s*(DOCTYPE|ENTITY)", data, re.I)
        if declared and "entit" in str(error).lower():
            line = _line_of(data, declared.start())
            raise UnusableInput(t("file.dtd", path=path, line=line)) from None
        raise UnusableInput(t("file.not_xml", path=path, line=line, error=error.msg)) from None
    tree = root.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        found = re.search(rb"<!DOCTYPE", data, re.I)
        line = _line_of(data, found.start()) if found else 1
        raise UnusableInput(t("file.dtd", path=path, line=line))
    return tree
