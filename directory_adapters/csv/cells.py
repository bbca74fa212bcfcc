"""The records and cells of a CSV file as text: where they start and end, and one cell rewritten.

A write changes one cell of the rows it must change and nothing else, byte
for byte, so it works on the file's text, not on what the csv module made
of it; `_read_back` checks each rewritten record reads as intended.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from itertools import accumulate

from core.errors import DirectoryError

_QUOTE = '"'
_LINE_END = re.compile(r"\r\n|\n|\r")
_TRAILING_LINE_END = re.compile(r"(?:\r\n|\n|\r)\Z")


_ASCII_SPACES = " \t\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip removes, "\n" aside


def _lines_named(
    text: str, start: int, delimiter: str, column: int, wanted: set[str]
) -> Iterator[int]:
    """Where the physical lines after `start` whose cell `column`, read as a line
    without quotes, is one of `wanted` (stripped, lower-cased) begin.

    Half a million lines in about 0.3 s: the cells are cut and lower-cased in C
    (one split, one join, one lower), and only the lines that match are located.
    Lone CR line ends, which str.split cannot follow, take a pattern instead.
    """
    body = text[start:]
    if "\r" in body and body.count("\r") != body.count("\r\n"):
        d = re.escape(delimiter)
        cell = re.compile(rf'(?<![^\r\n])(?:[^{d}\r\n"]*{d}){{{column}}}([^{d}\r\n"]*)')
        for match in cell.finditer(text, start):
            if match.group(1) and match.group(1).strip().lower() in wanted:
                yield match.start()
        return
    lines = body.split("\n")
    if column == 0:
        cells = [line.partition(delimiter)[0] for line in lines]
    else:
        cells = [(line.split(delimiter, column + 1) + [""] * column)[column] for line in lines]
    joined = "\n".join(cells).lower()
    keys = joined.split("\n")
    if not joined.isascii() or any(space in joined for space in _ASCII_SPACES):
        # Spaces somewhere: a login may be written with some around it.
        keys = [key.strip() for key in keys]
    hits = [i for i, key in enumerate(keys) if key in wanted]
    if hits:
        ends = list(accumulate(map(len, lines)))  # line i starts after i line ends
        for i in hits:
            yield start + (ends[i - 1] if i else 0) + i


def _line_start(text: str, at: int) -> int:
    """Where the physical line holding `at` starts (LF, CRLF or CR, as io splits lines)."""
    newline = text.rfind("\n", 0, at)
    return max(newline, text.rfind("\r", newline + 1, at)) + 1


def _line_end(text: str, at: int) -> int:
    """Just past the end of the physical line holding `at` (its line end included)."""
    newline = text.find("\n", at)
    stop = len(text) if newline == -1 else newline
    cr = text.find("\r", at, stop)
    if cr != -1:
        return cr + 2 if cr + 1 == newline else cr + 1
    return stop if newline == -1 else newline + 1


def _count_lines(text: str, start: int, end: int) -> int:
    """Line ends in text[start:end], counted as the csv reader counts lines."""
    lone_cr = text.count("\r", start, end) - text.count("\r\n", start, end)
    return text.count("\n", start, end) + lone_cr


class _RecordSpans:
    """Record boundaries as the full read's csv reader finds them, cheaply.

    Between quotes, every physical line is a record; from a line that holds
    a quote, the csv reader (same dialect as `_parse_text`) reads one record
    and says where it ends. It reads one line at a time and never ahead, so
    the cursor after a record is where the next one starts.
    """

    def __init__(self, text: str, delimiter: str) -> None:
        self.text = text
        self.delimiter = delimiter
        self.cursor = 0
        self.reader = csv.reader(
            self._lines(), delimiter=delimiter, quotechar=_QUOTE, doublequote=True
        )

    def _lines(self) -> Iterator[str]:
        text = self.text
        while self.cursor < len(text):
            end = _line_end(text, self.cursor)
            line, self.cursor = text[self.cursor : end], end
            yield line

    def _record_at(self, start: int) -> int | None:
        self.cursor = start
        try:
            next(self.reader)
        except (StopIteration, csv.Error):
            return None
        return self.cursor

    def header_end(self) -> int | None:
        return self._record_at(0)

    def cell(self, start: int, end: int, column: int) -> str:
        """Cell `column` of the record at start..end as the csv reader reads it, stripped
        and lower-cased (a login as the full read keys it); "" if the record is shorter."""
        reader = csv.reader(
            io.StringIO(self.text[start:end], newline=""),
            delimiter=self.delimiter,
            quotechar=_QUOTE,
            doublequote=True,
        )
        try:
            cells = next(reader)
        except (StopIteration, csv.Error):
            return ""
        return cells[column].strip().lower() if column < len(cells) else ""

    def quoted(self, start: int) -> list[tuple[int, int]] | None:
        """Spans of the records after `start` that hold a quote; None if the file is odd."""
        text, spans, position = self.text, [], start
        while (quote := text.find(_QUOTE, position)) != -1:
            begin = max(_line_start(text, quote), position)
            end = self._record_at(begin)
            if end is None:
                return None
            spans.append((begin, end))
            position = end
        return spans


def _detect_delimiter(header_line: str) -> str:
    """`;` or `,`, whichever the header uses more (`;` when it uses neither)."""
    semicolons, commas = header_line.count(";"), header_line.count(",")
    return "," if commas > semicolons else ";"


def _cell_spans(body: str, delimiter: str) -> list[tuple[int, int]] | None:
    """Where each raw cell of one record lies, quotes included; None if unsure."""
    spans = []
    position = 0
    while True:
        start = position
        if body.startswith(_QUOTE, position):
            scan = position + 1
            while True:
                close = body.find(_QUOTE, scan)
                if close < 0:
                    return None
                if body.startswith(_QUOTE, close + 1):
                    scan = close + 2
                    continue
                break
            position = close + 1
        end = body.find(delimiter, position)
        if end < 0:
            spans.append((start, len(body)))
            return spans
        spans.append((start, end))
        position = end + 1


def _set_cell(record: str, column: int, value: str, delimiter: str) -> str:
    """`record` (one CSV record, line ending included) with one cell replaced.

    Every other byte stays as it was: the cells around it keep their quoting.
    If the record is too odd for that, it is written again whole with the
    csv module; either way the result is read back to prove it says the same.
    """
    ending = _TRAILING_LINE_END.search(record)
    terminator = ending.group() if ending else ""
    body = record[: len(record) - len(terminator)]
    old = _read_back(record, delimiter) or []
    expected = [*old, *[""] * (column + 1 - len(old))]
    expected[column] = value

    spans = _cell_spans(body, delimiter) if old else []
    if spans is not None and len(spans) == len(old):
        quoted = column < len(spans) and body.startswith(_QUOTE, spans[column][0])
        if quoted or any(c in value for c in (delimiter, _QUOTE, "\r", "\n")):
            cell = _QUOTE + value.replace(_QUOTE, _QUOTE * 2) + _QUOTE
        else:
            cell = value
        if column < len(spans):
            start, end = spans[column]
            candidate = body[:start] + cell + body[end:] + terminator
        else:
            padding = delimiter * (column - len(spans) + (1 if spans else 0))
            candidate = body + padding + cell + terminator
        if _read_back(candidate, delimiter) == expected:
            return candidate
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=terminator).writerow(expected)
    candidate = buffer.getvalue()
    if _read_back(candidate, delimiter) != expected:  # pragma: no cover - csv round trip
        raise DirectoryError(f"cannot write the identifier cell of record {record!r}")
    return candidate


def _read_back(record: str, delimiter: str) -> list[str] | None:
    rows = list(csv.reader(io.StringIO(record, newline=""), delimiter=delimiter))
    return rows[0] if len(rows) == 1 else None
