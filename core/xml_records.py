"""What every form of the identifiers file is read into: one raw record per person.

The reference form (core/pronote_file.py) and the timetable export
(core/timetable_export.py) walk different trees but hand the same records
to the checks that follow: fields by key, the fields nobody interprets,
and a student's links to their guardians.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from lxml import etree

from core.i18n import t
from core.model import Category


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


@dataclass
class RawRecord:
    """One person as the file gives them, before any check."""

    category: Category
    line: int
    fields: dict[str, str]
    other: list[tuple[str, str]]
    # For a student: (guardian file key, line of the link).
    guardian_keys: list[tuple[str, int]]


def local_name(tag: object) -> str | None:
    """An element's or attribute's name without its namespace; None for comments and PIs."""
    if not isinstance(tag, str):  # comments, entities, processing instructions
        return None
    return tag.rsplit("}", 1)[-1]


def start_line(lines: list[bytes], element: etree._Element) -> int:
    """The line where the element's start tag begins.

    libxml2 numbers an element by the line where its start tag *ends*; with
    attributes over several lines, the admin would look one line too far.
    Byte lines are enough to find a start tag: tag names are ASCII in every
    encoding the reader accepts but UTF-16/32, where the search just fails.
    """
    end = element.sourceline or 1
    if not lines:
        return end
    needle = b"<" + (element.prefix + ":" if element.prefix else "").encode()
    needle += (local_name(element.tag) or "").encode()
    for number in range(min(end, len(lines)), max(0, end - 20), -1):
        if needle in lines[number - 1]:
            return number
    return end
