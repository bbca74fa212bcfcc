"""The one-establishment view of a CSV directory file, read as the full read reads it.

`match` and `explain` on one establishment need its accounts and the holders
of its identifiers only: the records that mention its UAI are picked from the
text before parsing (about 20x faster on a regional file), exactly as the
csv reader of the full read splits records (docs/SECURITY.md, "two readings
of one CSV").
"""

from __future__ import annotations

import csv
from array import array
from bisect import bisect_right
from typing import Protocol

from core.errors import DirectoryError
from core.identifier_form import IdentifierForm
from directory_adapters.csv.cells import (
    _LINE_END,
    _count_lines,
    _detect_delimiter,
    _line_end,
    _line_start,
    _lines_named,
    _RecordSpans,
)


class CsvReader(Protocol):
    """What the view reads of the file's reader (directory_adapters/csv/reader.py), named
    here so that the view does not import the module that calls it."""

    form: IdentifierForm
    delimiter: str | None

    def resolve_columns(self, header: list[str], delimiter: str) -> dict[str, int | None]: ...


def only_rows_of(reader: CsvReader, text: str, uai: str) -> tuple[str, array | None]:
    """The header and the records that mention `uai`, as the full read splits them.

    A regional file holds a million rows; matching needs one establishment's
    accounts and the holders of its identifiers, whose values carry the UAI
    in the `{uai}${idpn}` form. Picking those records by a substring search
    before parsing makes loading ~20x faster. The records are those the
    csv reader of the full read sees: a line inside a multi-line quoted
    cell is part of its record, never a row of its own (a phantom
    account). Lines without a quote are records as they are; the csv
    reader itself walks every line that holds one. Skipped (full load)
    when the value form has no UAI in it. The line map it gives keeps every
    message's line number the file's own.
    """
    if not reader.form.per_establishment:
        return text, None
    first_line = _LINE_END.split(text, maxsplit=1)[0]
    records = _RecordSpans(text, reader.delimiter or _detect_delimiter(first_line))
    header_end = records.header_end()
    quoted = None if header_end is None else records.quoted(header_end)
    if quoted is None:
        return text, None  # the full read says what is wrong with the file
    starts = [a for a, _b in quoted]
    spans: set[tuple[int, int]] = set()
    for needle in {uai, uai.lower(), uai[:-1] + uai[-1].lower()}:
        at = text.find(needle, header_end)
        while at != -1:
            k = bisect_right(starts, at) - 1
            if k >= 0 and at < quoted[k][1]:
                span = quoted[k]  # inside a record that spans lines: all of it
            else:
                span = (_line_start(text, at), _line_end(text, at))
            spans.add(span)
            at = text.find(needle, span[1])
    spans |= _namesakes(reader, text, header_end, records, quoted, spans)
    ordered = sorted(spans)
    line_map = array("q", range(1, _count_lines(text, 0, header_end) + 2))
    del line_map[-1]
    line, position = 1, 0
    for a, b in ordered:
        line += _count_lines(text, position, a)
        position = a
        line_map.extend(range(line, line + max(_count_lines(text, a, b), 1)))
    chunks = [text[a:b] for a, b in ordered]
    last = "" if not chunks or chunks[-1].endswith(("\n", "\r")) else "\n"
    return text[:header_end] + "".join(chunks) + last, line_map


def _namesakes(
    reader: CsvReader,
    text: str,
    header_end: int,
    records: _RecordSpans,
    quoted: list[tuple[int, int]],
    chosen: set[tuple[int, int]],
) -> set[tuple[int, int]]:
    """The other records whose login is one of the chosen records' logins.

    The full read withholds every row of a login written twice (it never
    guesses which is right), wherever the other row is: another school's
    line, or a line no UAI is on. The view must see those rows too, or it
    would take for an account what the full read refuses. One pass over
    the file's login column (the quoted records through the csv reader,
    the other lines by a pattern: no quote on them, so no surprise).
    """
    try:
        header = next(csv.reader([text[:header_end]], delimiter=records.delimiter))
        column = reader.resolve_columns(header, records.delimiter)["login"]
    except (StopIteration, csv.Error, DirectoryError):
        return set()  # the full read says what is wrong with the header
    if column is None:
        return set()
    wanted = {records.cell(a, b, column) for a, b in chosen} - {""}
    if not wanted:
        return set()
    found = {
        span for span in quoted if span not in chosen and records.cell(*span, column) in wanted
    }
    starts = [a for a, _b in quoted]
    for at in _lines_named(text, header_end, records.delimiter, column, wanted):
        k = bisect_right(starts, at) - 1
        if k >= 0 and at < quoted[k][1]:
            continue  # within a quoted record: seen above, as the csv reader reads it
        found.add((at, _line_end(text, at)))
    return found - chosen
