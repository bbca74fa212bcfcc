"""LDIF as text (RFC 2849): logical lines, records, values, modify operations.

The reader never follows an `attr:< URL` value, reads within a size budget
(a file growing under us cannot exhaust memory), and drops the attributes
nobody asked for before any object is made for them. The writer's side is
`ldif_line` and `modify_record`: a value that is not a SAFE-STRING goes out
in base64.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from core.errors import DirectoryError
from core.i18n import register, t
from core.text import printable
from directory_adapters.file_store import DirectoryProblem

register(
    {
        "dir.ldif.grew": (
            "{path} a dépassé {limit} octets pendant sa lecture",
            "{path} grew past {limit} bytes while being read",
        ),
        "dir.ldif.not_ldif_line": (
            "pas une ligne LDIF : {text!r} ; ignorée",
            "not an LDIF line: {text!r}; ignored",
        ),
        "dir.ldif.bad_version": (
            "{path}, ligne {line} : la version LDIF {version!r} n'est pas prise en charge "
            "(seulement la version 1)",
            "{path}, line {line}: LDIF version {version!r} is not supported (only version 1)",
        ),
        "dir.ldif.at_line": ("{path}, ligne {line} : {message}", "{path}, line {line}: {message}"),
        "dir.ldif.is_url": (
            "est une URL, qu'idpronote ne suit jamais",
            "is a URL, which idpronote never follows",
        ),
        "dir.ldif.not_base64": ("n'est pas du base64 valide", "is not valid base64"),
        "dir.ldif.not_utf8": ("n'est pas du texte UTF-8", "is not UTF-8 text"),
        "dir.ldif.expected_operation": (
            "ligne {line} : add:, delete: ou replace: attendu",
            "line {line}: expected add:, delete: or replace:",
        ),
        "dir.ldif.other_attribute": (
            "ligne {line} : une valeur de {name}, pas de {attribute}",
            "line {line}: a value of {name}, not {attribute}",
        ),
        "dir.ldif.no_end": (
            "ligne {line} : l'opération ne se termine pas par -",
            "line {line}: the operation does not end with -",
        ),
        "dir.ldif.line": ("ligne {line} : {message}", "line {line}: {message}"),
        "dir.ldif.url_value": (
            "{name}:< {target!r} désigne une URL, qu'idpronote ne suit jamais ; valeur ignorée",
            "{name}:< {target!r} points to a URL, which idpronote never follows; value ignored",
        ),
    }
)

# RFC 4512 attribute description: a name or an OID, then options (`sn;lang-fr`).
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?:;[A-Za-z0-9-]+)*|[0-9]+(?:\.[0-9]+)*")
# RFC 2849 SAFE-STRING: a SAFE-INIT-CHAR, then SAFE-CHARs (ASCII without NUL, LF, CR).
_SAFE = re.compile(
    r"[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*"
)
# What a record needs besides its attributes: its dn, and what marks a change record.
_RECORD_ATTRIBUTES = frozenset({"dn", "version", "changetype", "control"})
_CHANGE_MARKERS = frozenset({"changetype", "control", "-"})


class _Line(NamedTuple):
    """One logical line of an LDIF file (folding undone, comments dropped)."""

    number: int  # 1-based physical line where it starts
    name: str  # attribute description as written, "-" for a modify separator
    base: str  # the attribute without its options, lower-case: `sn;lang-fr` is `sn`
    kind: str  # ":" plain value, "::" base64, ":<" URL, "-" separator
    raw: str


class _BadValue(ValueError):
    pass


class _LdifReader:
    """Records of an LDIF file as lists of logical lines; never follows a URL.

    Reads line by line (hashing what it reads if asked) within a size budget,
    so that a file growing under us cannot exhaust memory. Without a problem
    list, an unreadable line is an error rather than a problem.
    """

    def __init__(
        self,
        path: Path,
        source: BinaryIO,
        max_size: int,
        digest: hashlib.blake2b | None = None,
        problems: list[DirectoryProblem] | None = None,
        wanted: set[str] | None = None,
    ) -> None:
        """`wanted`: the attributes to keep (lower-case, without options); None keeps all."""
        self.path = path
        self.source = source
        self.max_size = max_size
        self.digest = digest
        self.problems = problems
        self.wanted = None if wanted is None else wanted | _RECORD_ATTRIBUTES
        # attribute description -> its base; a few dozen names make up a whole file
        self._bases: dict[str, str] = {}

    def records(self) -> Iterator[list[_Line]]:
        """Every record, version line removed, unparsable lines reported and skipped.

        One loop over the physical lines (an export has millions): folding is
        undone, comments dropped, CRLF taken as LF, and lines of attributes
        outside `wanted` dropped before any object is made for them.
        """
        budget = self.max_size
        update = self.digest.update if self.digest is not None else None
        readline = self.source.readline
        bases, wanted = self._bases, self.wanted
        record: list[_Line] = []
        pending: list[str] = []  # the pieces of the logical line being read
        start = number = 0
        first = True
        while True:
            raw = readline(budget + 1)
            budget -= len(raw)
            if budget < 0:
                raise DirectoryError(t("dir.ldif.grew", path=self.path, limit=self.max_size))
            if update is not None:
                update(raw)
            number += 1
            text = raw.decode("utf-8", "surrogateescape")
            if text[-1:] == "\n":
                text = text[:-2] if text[-2:-1] == "\r" else text[:-1]
            if pending and text[:1] == " " and raw:
                pending.append(text[1:])
                continue
            if pending and pending[0][:1] != "#":
                logical = pending[0] if len(pending) == 1 else "".join(pending)
                name, colon, rest = logical.partition(":")
                base = bases.get(name)
                if colon and base is not None and rest[:1] not in (":", "<"):
                    # the common case inline: a known attribute, a plain value
                    if wanted is None or base in wanted:
                        record.append(_Line(start, name, base, ":", rest.lstrip(" ")))
                else:
                    line = self._parse(start, logical)
                    if line is not None:
                        record.append(line)
            pending, start = [text], number
            if text and raw:
                continue
            pending = []
            if record:
                if first:
                    record, first = self._version(record), False
                if record:
                    yield record
                record = []
            if not raw:
                return

    def _parse(self, number: int, text: str) -> _Line | None:
        if text == "-":
            return _Line(number, "-", "-", "-", "")
        name, colon, rest = text.partition(":")
        base = self._bases.get(name)
        if base is None:
            if not colon or not _ATTRIBUTE.fullmatch(name):
                self._report(
                    number, "syntax", t("dir.ldif.not_ldif_line", text=printable(text[:60]))
                )
                return None
            base = self._bases[name] = name.split(";", 1)[0].lower()
        if rest[:1] == "<":  # reported whatever the attribute: the export tried it
            return _Line(number, name, base, ":<", rest[1:].strip())
        if self.wanted is not None and base not in self.wanted:
            return None
        if rest[:1] == ":":
            return _Line(number, name, base, "::", rest[1:].strip())
        return _Line(number, name, base, ":", rest.lstrip(" "))

    def _version(self, record: list[_Line]) -> list[_Line]:
        if not record or record[0].base != "version":
            return record
        if record[0].raw.strip() != "1":
            raise DirectoryError(
                t(
                    "dir.ldif.bad_version",
                    path=self.path,
                    line=record[0].number,
                    version=printable(record[0].raw),
                )
            )
        return record[1:]

    def _report(self, number: int, kind: str, message: str) -> None:
        if self.problems is None:
            raise DirectoryError(
                t("dir.ldif.at_line", path=self.path, line=number, message=message)
            )
        self.problems.append(_problem(number, kind, message))


def _decode(line: _Line) -> str:
    """The text of a value; never reads a URL."""
    if line.kind == ":<":
        raise _BadValue(t("dir.ldif.is_url"))
    if line.kind == "::":
        try:
            data = base64.b64decode(line.raw, validate=True)
        except (binascii.Error, ValueError):
            raise _BadValue(t("dir.ldif.not_base64")) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadValue(t("dir.ldif.not_utf8")) from None
    try:
        line.raw.encode("utf-8")
    except UnicodeEncodeError:  # surrogate-escaped bytes: the line was not UTF-8
        raise _BadValue(t("dir.ldif.not_utf8")) from None
    return line.raw


def _operations(lines: list[_Line]) -> Iterator[tuple[str, str, list[str]]]:
    """(add|delete|replace, lower-case attribute, values) of a modify record's body."""
    position = 0
    while position < len(lines):
        head = lines[position]
        if head.base not in ("add", "delete", "replace") or head.kind != ":":
            raise _BadValue(t("dir.ldif.expected_operation", line=head.number))
        attribute = head.raw.strip().split(";", 1)[0].lower()
        values: list[str] = []
        position += 1
        while position < len(lines) and lines[position].kind != "-":
            line = lines[position]
            if line.base != attribute:
                raise _BadValue(
                    t(
                        "dir.ldif.other_attribute",
                        line=line.number,
                        name=line.name,
                        attribute=attribute,
                    )
                )
            values.append(_decode(line))
            position += 1
        if position >= len(lines):
            raise _BadValue(t("dir.ldif.no_end", line=head.number))
        position += 1
        yield head.base, attribute, values


def _modify(
    attributes: dict[str, Sequence[str]], operation: str, attribute: str, values: list[str]
) -> None:
    """One modify operation, in memory, with LDAP's case-insensitive value equality."""
    current = list(attributes.get(attribute, ()))
    if operation == "replace":
        current = list(values)
    elif operation == "delete":  # without values, the whole attribute
        gone = {value.casefold() for value in values}
        current = [value for value in current if values and value.casefold() not in gone]
    else:
        present = {value.casefold() for value in current}
        current += [value for value in values if value.casefold() not in present]
    attributes[attribute] = current


def _ldif_line(attribute: str, value: str) -> str:
    """`attribute: value`, or base64 (`::`) when the value is not an RFC 2849 SAFE-STRING."""
    if value == "" or (_SAFE.fullmatch(value) and not value.endswith(" ")):
        return f"{attribute}: {value}\n"
    return f"{attribute}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}\n"


def _modify_record(
    dn: str,
    attribute: str,
    deleted: list[str],
    added: list[str],
    object_class: str | None,
    dropped_class: str | None = None,
) -> str:
    """A modify record: delete exactly the old values, add the new (never a whole attribute)."""
    parts = [_ldif_line("dn", dn), "changetype: modify\n"]
    if object_class:
        parts += ["add: objectClass\n", _ldif_line("objectClass", object_class), "-\n"]
    if deleted:
        parts += [f"delete: {attribute}\n", *(_ldif_line(attribute, v) for v in deleted), "-\n"]
    if added:
        parts += [f"add: {attribute}\n", *(_ldif_line(attribute, v) for v in added), "-\n"]
    if dropped_class:
        parts += ["delete: objectClass\n", _ldif_line("objectClass", dropped_class), "-\n"]
    return "".join(parts) + "\n"


def _problem(line: int, kind: str, message: str) -> DirectoryProblem:
    return DirectoryProblem(line, kind, t("dir.ldif.line", line=line, message=message))


def _url_problem(line: _Line) -> DirectoryProblem:
    return _problem(
        line.number,
        "url_value",
        t("dir.ldif.url_value", name=line.name, target=printable(line.raw[:80])),
    )
