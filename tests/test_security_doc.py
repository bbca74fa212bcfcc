"""docs/SECURITY.md: every test it names as the proof of a defence exists.

(That they pass is `make test`'s job; this keeps the document from pointing
at tests that were renamed or never written.)
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "SECURITY.md"
SPAN = re.compile(r"`([^`]+)`")
REFERENCE = re.compile(r"((?:[\w/]+\.py)?)(?:::(\w+))?")


def references() -> list[tuple[str, str | None]]:
    """(test file, test name or None); `::name` is in the last file named before it."""
    found: list[tuple[str, str | None]] = []
    current = None
    for span in SPAN.findall(DOC.read_text(encoding="utf-8")):
        match = REFERENCE.fullmatch(span)
        if match is None or not any(match.groups()):
            continue
        path, name = match.group(1), match.group(2)
        if path:
            current = path
        found.append((current or "(no file named before)", name))
    return found


def test_every_proof_named_in_the_threat_model_exists():
    refs = [(f, n) for f, n in references() if f.split("/")[-1].startswith("test")]
    assert len(refs) > 60
    missing = []
    for file, name in refs:
        path = ROOT / "tests" / file
        if not path.is_file():
            missing.append(file)
            continue
        if name and not re.search(rf"^(async )?def {name}\(", path.read_text(), re.M):
            missing.append(f"{file}::{name}")
    assert missing == []
