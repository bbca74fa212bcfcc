"""Writing journals by hand in tests, as idpronote seals them (core/journal_lines.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.journal_lines import seal


def records_of(path: Path) -> list[dict[str, Any]]:
    """The records of a journal, without their seals."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        record.pop("sum", None)
        record.pop("prev", None)
        found.append(record)
    return found


def write_sealed(path: Path, records: list[dict[str, Any]]) -> None:
    """A journal holding `records`, each line sealed and chained as idpronote writes them."""
    data, last = b"", None
    for record in records:
        line, last = seal(record, last)
        data += line
    path.write_bytes(data)
