"""`idpronote inspect FILE`: what the identifiers file holds and what is wrong with it."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from cli import words as _words  # noqa: F401  (registers the words)
from core.errors import UnusableInput
from core.i18n import language, register, t
from core.model import CATEGORIES
from core.pronote_file import IdentifiersFile, read_identifiers_file
from core.text import json_dumps, printable, spreadsheet_cell

if TYPE_CHECKING:
    from cli.context import Context

register(
    {
        "inspect.format": ("Format", "Format"),
        "inspect.format.reference": ("forme de référence", "reference form"),
        "inspect.format.timetable": (
            "export emploi du temps {version}",
            "timetable export {version}",
        ),
        "inspect.format.in_envelope": (
            "{form}, dans une enveloppe chiffrée EXPORT_INDEX_EDUCATION",
            "{form}, in an encrypted EXPORT_INDEX_EDUCATION envelope",
        ),
        "inspect.envelope": ("Enveloppe", "Envelope"),
        "inspect.software": ("Logiciel", "Software"),
        "inspect.partners": ("Partenaires", "Partners"),
        "inspect.opened_for": (
            "{partners} (ouverte pour {partner})",
            "{partners} (opened for {partner})",
        ),
        "inspect.ignored": (
            "Données d'emploi du temps ignorées : {count} éléments ({names})",
            "Timetable data ignored: {count} elements ({names})",
        ),
    }
)


def run(ctx: Context) -> int:
    fmt = ctx.require_format("text", "json", "csv")
    result = read_identifiers_file(ctx.args.file, ctx.config.file_schema)
    if ctx.uai and result.uai and ctx.uai != result.uai:
        raise UnusableInput(
            f"{ctx.args.file}: this file is for establishment {result.uai}, not {ctx.uai}"
        )
    if fmt == "json":
        ctx.emit(json_dumps(as_json(result, ctx.uai)))
    elif fmt == "csv":
        ctx.emit(as_csv(result))
    else:
        ctx.emit(as_text(result, ctx.uai))
    return 1 if result.problems else 0


def as_json(result: IdentifiersFile, uai: str | None = None) -> dict[str, Any]:
    """Exactly the shape CONTRACT.md shows."""
    return {
        "uai": result.uai or uai,
        "etablissement": result.establishment_name,
        "date": result.export_date,
        "encoding": result.encoding,
        "counts": result.counts(),
        "format": result.format,
        **({"envelope": result.envelope.as_json()} if result.envelope else {}),
        "problems": [
            {"line": p.line, "kind": p.kind, "message": p.message} for p in result.problems
        ],
    }


def as_csv(result: IdentifiersFile) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["line", "kind", "message"])
    for p in result.problems:
        writer.writerow([p.line, p.kind, spreadsheet_cell(p.message)])
    return out.getvalue()


def as_text(result: IdentifiersFile, uai: str | None = None) -> str:
    lines = []
    labels = {
        "file": t("inspect.file"),
        "format": t("inspect.format"),
        "est": t("inspect.establishment"),
        "date": t("inspect.date"),
        "enc": t("inspect.encoding"),
        "envelope": t("inspect.envelope"),
        "software": t("inspect.software"),
        "partners": t("inspect.partners"),
    }
    width = max(len(v) for v in labels.values())
    unknown = t("inspect.unknown")
    establishment = result.uai or uai or unknown
    if result.establishment_name:
        establishment += f" — {result.establishment_name}"
    rows = [
        ("file", str(result.path)),
        ("format", format_name(result)),
        ("est", establishment),
        ("date", result.export_date or unknown),
        ("enc", result.encoding),
    ]
    envelope = result.envelope
    if envelope is not None:
        where = " — ".join(p for p in (envelope.uai, envelope.establishment) if p)
        rows += [
            ("envelope", ", ".join(p for p in (envelope.date, where) if p) or unknown),
            ("software", envelope.software or unknown),
            (
                "partners",
                t(
                    "inspect.opened_for",
                    partners=", ".join(envelope.partners),
                    partner=envelope.partner,
                ),
            ),
        ]
    for key, value in rows:
        lines.append(f"{labels[key]:<{width}} : {printable(value)}")
    lines.append("")
    lines.append(t("inspect.counts"))
    counts = result.counts()
    for category in CATEGORIES:
        lines.append(f"  {category.label(language()):<26} {counts[category.slug]:>7}")
    lines.append(f"  {t('inspect.total'):<26} {sum(counts.values()):>7}")
    lines.append("")
    if result.ignored:
        # One line, whatever the size of the timetable: it holds no problem.
        names = sorted(result.ignored, key=lambda n: -result.ignored[n])
        shown = ", ".join(names[:3]) + ("…" if len(names) > 3 else "")
        lines.append(t("inspect.ignored", count=sum(result.ignored.values()), names=shown))
        lines.append("")
    if not result.problems:
        lines.append(t("inspect.no_problem"))
    else:
        lines.append(t("inspect.problems", count=len(result.problems)))
        for p in result.problems:
            where = t("inspect.line", line=p.line)
            lines.append(f"  {where:<12} {p.kind:<20} {printable(p.message)}")
    return "\n".join(lines)


def format_name(result: IdentifiersFile) -> str:
    """`timetable export 1.1`, `reference form`, and whether it came in an envelope."""
    if result.format == "timetable":
        name = t("inspect.format.timetable", version=result.format_version or "").strip()
    else:
        name = t("inspect.format.reference")
    if result.envelope is not None:
        name = t("inspect.format.in_envelope", form=name)
    return name
