"""truth.json: for every record of the file, the account a perfect matcher finds."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bench.generator.cases import _Establishment
from bench.generator.people import CATEGORIES, LABELS


def _write_truth(path: Path, school: _Establishment, seed: int, name: str) -> dict[str, int]:
    lines: dict[str, int] = {}
    text = school.identifiers_path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        # The first occurrence: a guardian of the timetable form recurs under each child.
        if m := re.search(r' (?:IDPN|IdPN)="([A-Z0-9]{16})"', line):
            lines.setdefault(m.group(1), number)
    records = {}
    in_file = [r for slug in CATEGORIES for h in school.humans[slug] for r in h.records]
    for record in sorted(in_file, key=lambda r: lines[r.idpn]):
        account = record.human.account
        records[record.idpn] = {
            "category": record.human.category,
            "login": account.login if account else None,
            "labels": record.labels,
            "line": lines[record.idpn],
        }
    directory_only = {
        h.account.login: {"category": h.category, "labels": h.labels, "idpronote": h.account.ids}
        for h in school.departed
        if h.account is not None
    }
    obsolete = sorted(
        login for login, entry in directory_only.items() if "stale_identifier" in entry["labels"]
    )
    counts = {label: 0 for label in LABELS}
    for entry in records.values():
        for label in entry["labels"]:
            counts[label] = counts.get(label, 0) + 1
    for entry in directory_only.values():
        for label in entry["labels"]:
            if label in ("departed",):
                counts[label] += 1
    head = {
        "uai": school.uai,
        "etablissement": name,
        "seed": seed,
        "students": school.students,
        "label_counts": counts,
        "obsolete": obsolete,
    }
    parts = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in head.items()]
    for key, table in (("records", records), ("directory_only", directory_only)):
        inner = ",\n".join(
            f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in table.items()
        )
        parts.append(f'  "{key}": {{\n{inner}\n  }}' if inner else f'  "{key}": {{}}')
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")
    return counts
