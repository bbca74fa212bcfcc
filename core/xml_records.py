"""What every form of the identifiers file is read into: one raw record per person.

The reference form (core/pronote_file.py) and the timetable export
(core/timetable_export.py) walk different trees but hand the same records
to the checks that follow: fields by key, the fields nobody interprets,
and a student's links to their guardians.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from lxml import etree

from core.i18n import t
from core.model import Category
from core.text import fold_tag


@dataclass(frozen=True, slots=True)
class FileProblem:
    """Something wrong in the file, at a line, in words the admin can act on."""

    line: int
    kind: str
    params: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    message_key: str | None = None

    @property
    def message(self) -> str:
        return t(f"problem.{self.message_key or self.kind}", **self.params)


class Names(Protocol):
    """The element and field names a reader looks for (`FileSchema` in core/pronote_file.py)."""

    def category_of(self, tag: str) -> Category | None: ...
    def is_wrapper(self, tag: str) -> bool: ...
    def field_of(self, tag: str) -> str | None: ...
    def header_of(self, tag: str) -> str | None: ...


@dataclass(slots=True)
class RawRecord:
    """One person as the file gives them, before any check."""

    category: Category
    line: int
    fields: dict[str, str]
    other: list[tuple[str, str]]
    # For a student: (guardian file key, line of the link).
    guardian_keys: list[tuple[str, int]]


class RecordFields:
    """A record's fields as both forms read them: by field key, the first value that is
    not empty wins; a name that is no field is kept, with its value, in `other`."""

    __slots__ = ("field_of", "fields", "other")

    def __init__(self, names: Names) -> None:
        self.field_of = names.field_of
        self.fields: dict[str, str] = {}
        self.other: list[tuple[str, str]] = []

    def put(self, name: str, value: str) -> None:
        key = self.field_of(fold_tag(name))
        value = value.strip()
        if key is None:
            self.other.append((name, value))
        elif not self.fields.get(key):
            self.fields[key] = value

    def put_attributes(self, element: etree._Element) -> None:
        """The element's attributes, by their names without a namespace."""
        for name, value in element.attrib.items():
            local = local_name(name)
            if local:
                self.put(local, value)


def local_name(tag: object) -> str | None:
    """An element's or attribute's name without its namespace; None for comments and PIs."""
    if not isinstance(tag, str):  # comments, entities, processing instructions
        return None
    return tag.rsplit("}", 1)[-1]


# libxml2 keeps an element's line in 16 bits: from here on, lxml's sourceline is
# 65535 or a guess taken from a neighbouring text node, never to be trusted.
LXML_LINE_LIMIT = 65535
# Markup in document order: comments, CDATA and processing instructions (the XML
# declaration) are skipped; a `<` followed by a name is a start tag. A raw `<`
# cannot occur anywhere else in well-formed XML.
_MARKUP = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<(?=[^\s/!?>])", re.S)


class SourceLines:
    """The file's lines, found from byte offsets rather than kept as a list of copies.

    `lines[n]` is line n + 1 as bytes (what `start_line` searches for a
    start tag). `true_line(element)` gives the line of any element, past
    lxml's 65,535 too: the n-th start tag of the text is the n-th element
    of `root.iter()` (comments and processing instructions are not in the
    tree), and its line is the number of line ends before its `<`. It is
    worked out once, the first time an element past the limit asks.
    """

    def __init__(self, data: bytes, encoding: str = "UTF-8") -> None:
        self.data = data
        self.encoding = encoding
        self.root: etree._Element | None = None
        self._ends: Any = None  # offsets of b"\n", a numpy array
        self.big: dict[etree._Element, int] | None = None

    def _newlines(self) -> Any:
        if self._ends is None:
            import numpy as np

            self._ends = np.flatnonzero(np.frombuffer(self.data, dtype=np.uint8) == 10)
        return self._ends

    def __len__(self) -> int:
        return len(self._newlines()) + 1

    def __getitem__(self, index: int) -> bytes:
        ends = self._newlines()
        if index < 0 or index > len(ends):
            raise IndexError(index)
        start = 0 if index == 0 else int(ends[index - 1]) + 1
        stop = int(ends[index]) if index < len(ends) else len(self.data)
        return self.data[start:stop]

    def __bool__(self) -> bool:
        return True

    def true_line(self, element: etree._Element) -> int | None:
        if self.big is None:
            self.big = self._count() if self.root is not None else {}
        return self.big.get(element)

    def _count(self) -> dict[etree._Element, int]:
        import numpy as np

        wide = self.encoding.upper().replace("-", "").startswith(("UTF16", "UTF32"))
        text = self.data.decode(self.encoding) if wide else self.data.decode("latin-1")
        # latin-1 keeps one character per byte, so offsets in `text` are byte offsets.
        starts = np.fromiter(
            (m.start() for m in _MARKUP.finditer(text) if m.end() == m.start() + 1),
            dtype=np.int64,
        )
        if wide:
            ends = np.fromiter((m.start() for m in re.finditer("\n", text)), dtype=np.int64)
        else:
            ends = self._newlines()
        lines = np.searchsorted(ends, starts) + 1
        found: dict[etree._Element, int] = {}
        count = 0
        for count, element in enumerate(self.root.iter(), start=1):
            if (element.sourceline or LXML_LINE_LIMIT) >= LXML_LINE_LIMIT and count <= len(lines):
                found[element] = int(lines[count - 1])
        if count != len(lines):
            return {}  # the text and the tree disagree: never a wrong line, lxml's then
        return found


def start_line(lines: list[bytes] | SourceLines, element: etree._Element) -> int:
    """The line where the element's start tag begins.

    libxml2 numbers an element by the line where its start tag *ends*; with
    attributes over several lines, the admin would look one line too far.
    Byte lines are enough to find a start tag: tag names are ASCII in every
    encoding the reader accepts but UTF-16/32, where the search just fails.
    Past line 65,535, libxml2 cannot say: the line comes from the byte
    offsets (`SourceLines.true_line`).
    """
    end = element.sourceline or 1
    if end >= LXML_LINE_LIMIT and isinstance(lines, SourceLines):
        found = lines.true_line(element)
        if found is not None:
            return found
    if not lines:
        return end
    needle = b"<" + (element.prefix + ":" if element.prefix else "").encode()
    needle += (local_name(element.tag) or "").encode()
    for number in range(min(end, len(lines)), max(0, end - 20), -1):
        if needle in lines[number - 1]:
            return number
    return end
