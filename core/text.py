"""Text that leaves the program: to a terminal, a JSON report, a spreadsheet.

Names come from an untrusted file. An escape sequence in a surname must not
repaint the admin's terminal, a right-to-left override must not disguise a
name, and a cell starting with `=` must not run as a formula in a spreadsheet.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from typing import Any

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or
# hide text (bidi embeddings/overrides/isolates, zero-width joiners, BOM...).
_FORMAT = "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb"
_UNSAFE_WITH_NEWLINES = re.compile("[\x00-\x1f\x7f-\x9f" + _FORMAT + "]")
# Keeping the lines of a report: LF, tab, and CR only as half of a CRLF line end
# (a CSV's); a lone CR would return the cursor and let a line overwrite another.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + _FORMAT + "]|\r(?!\n)")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """`text` with every control or reordering character shown escaped (`\\x1b`).

    The one escaping of everything a terminal shows: each field of a report,
    and, as a last guard, the whole text every command writes to stdout,
    stderr or `--output` (`keep_newlines`: the report's own line ends stay).
    Escaping twice changes nothing: the output holds no unsafe character.
    """
    pattern = _UNSAFE if keep_newlines else _UNSAFE_WITH_NEWLINES
    return pattern.sub(_escape, str(text))


def has_unsafe_characters(text: str) -> bool:
    return _UNSAFE_WITH_NEWLINES.search(text) is not None


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_dumps(data: Any, *, indent: int | None = 2) -> str:
    """JSON that keeps accents readable but escapes every unsafe character.

    `ensure_ascii=False` would let C1 controls and bidi overrides through raw;
    they are escaped as `\\uXXXX`, which any JSON reader turns back into the
    original string.
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _UNSAFE.sub(_json_escape, text)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def spreadsheet_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula (OWASP)."""
    text = "" if value is None else str(value)
    text = printable(text)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


@functools.lru_cache(maxsize=4096)
def fold_tag(name: str) -> str:
    """Comparison key of an XML element or attribute name: case, accents, `_`/`-` ignored.

    Cached: a file repeats a few dozen names hundreds of thousands of times.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold().replace("_", "").replace("-", "")
