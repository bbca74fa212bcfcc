"""`idpronote match FILE`: the automatic reconciliation of every step, nothing written."""

from __future__ import annotations

import csv
import io
import textwrap
import time
from typing import TYPE_CHECKING, Any

from cli import words as _words  # noqa: F401  (registers the words)
from core.errors import UnusableInput
from core.i18n import language, t, word
from core.matching import Reconciliation, StepMatch, decision_json
from core.memory import DecisionMemory
from core.pronote_file import IdentifiersFile, read_identifiers_file
from core.report import COUNTS, StepWrites, planned_writes
from core.text import json_dumps, printable, spreadsheet_cell

if TYPE_CHECKING:
    from cli.context import Context


def establishment(ctx: Context, result: IdentifiersFile) -> str:
    """The UAI to work on: --uai, else the file's; they must agree.

    A file whose header names an invalid code (`../../x`) is refused even
    with --uai: it says nothing reliable about its establishment.
    """
    for problem in result.problems:
        if problem.kind == "invalid_uai":
            raise UnusableInput(
                t("match.invalid_uai", file=ctx.args.file, value=problem.params["value"])
            )
    if ctx.uai and result.uai and ctx.uai != result.uai:
        raise UnusableInput(
            t("match.other_uai", file=ctx.args.file, file_uai=result.uai, uai=ctx.uai)
        )
    uai = ctx.uai or result.uai
    if not uai:
        raise UnusableInput(t("match.no_uai", file=ctx.args.file))
    return uai


def run(ctx: Context) -> int:
    from directory_adapters import open_directory

    fmt = ctx.require_format("text", "json", "csv")
    mode = ctx.args.mode or "complet"
    started = time.perf_counter()
    result = read_identifiers_file(ctx.args.file, ctx.config.file_schema)
    uai = establishment(ctx, result)
    # The links a human made earlier count here as they do in the wizard and in
    # `explain`: without them `match` would call ambiguous what the wizard links.
    remembered = DecisionMemory(ctx.config.data_dir).remembered(uai)
    with open_directory(ctx.config, ctx.args.directory_file, only_uai=uai) as directory:
        reconciliation = Reconciliation.from_directory(
            directory, uai, mode=mode, settings=ctx.config.matching, remembered=remembered
        )
        steps = reconciliation.run(result.accounts)
    writes = [planned_writes(step, reconciliation) for step in steps]
    report = as_json(str(ctx.args.file), uai, mode, steps, writes)
    if fmt == "json":
        ctx.emit(json_dumps(report))
    elif fmt == "csv":
        ctx.emit(as_csv(steps, writes))
    else:
        ctx.emit(as_text(result, uai, mode, steps, time.perf_counter() - started))
    return 1 if report["summary"]["unrecognised"] else 0


def as_json(
    file: str,
    uai: str,
    mode: str,
    steps: list[StepMatch],
    writes: list[StepWrites],
    session: str | None = None,
) -> dict[str, Any]:
    """CONTRACT.md's report of `match` and `apply`, each write in it.

    Per account: `written` once its identifier is stored, `previous` the
    identifier of the establishment its write replaces (or replaced). Per
    obsolete identifier: `action` remove or keep, `written` once removed.
    `counts` per step and `summary` add them up.
    """
    report_steps = []
    totals = dict.fromkeys(COUNTS, 0)
    for step, done in zip(steps, writes, strict=True):
        counts = done.counts(step)
        for key, value in counts.items():
            totals[key] += value
        report_steps.append(
            {
                "category": step.category.slug,
                "accounts": [
                    decision_json(d, d.pronote.idpn in done.written)
                    | {"previous": done.previous.get(d.pronote.idpn)}
                    for d in step.decisions
                ],
                "obsolete": [o.as_json() for o in done.obsolete],
                # Complete mode, a category the file holds none of: kept, and why.
                **(
                    {
                        "kept_absent": [
                            {"account": o.account.login, "idpn": o.idpn, "action": "keep"}
                            for o in step.kept_absent
                        ]
                    }
                    if step.kept_absent
                    else {}
                ),
                "counts": counts,
            }
        )
    return {
        "uai": uai,
        "mode": mode,
        "file": file,
        "session": session,
        "steps": report_steps,
        "summary": totals,
    }


CSV_HEADER = (
    "etape",
    "categorie",
    "idpn",
    "nom",
    "prenom",
    "date_naissance",
    "statut",
    "regle",
    "compte",
    "score",
    "candidats",
    "raison",
    "ecrit",
    "precedent",
)


def as_csv(steps: list[StepMatch], writes: list[StepWrites]) -> str:
    """One row per account and per obsolete identifier, with what was written (`ecrit`)
    and the identifier a write replaces (`precedent`); safe to open in a spreadsheet
    (no cell runs as a formula)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for step, done in zip(steps, writes, strict=True):
        for d in step.decisions:
            p = d.pronote
            row = (
                step.category.step,
                step.category.slug,
                p.idpn,
                p.surname,
                p.first_name,
                p.birth_date.isoformat() if p.birth_date else "",
                d.status,
                d.rule,
                d.login or "",
                "" if d.score is None else d.score,
                " ".join(d.candidates),
                d.explain(),
                _flag(p.idpn in done.written),
                done.previous.get(p.idpn, ""),
            )
            writer.writerow([spreadsheet_cell(str(v)) for v in row])
        # Links the file no longer names: removed (or to remove), or kept as they are.
        gone, kept = t("match.obsolete_reason"), t("match.kept_absent_reason")
        unnamed = [(e.link, "obsolete", e.action, gone, e.written) for e in done.obsolete]
        unnamed += [(o, "kept", "absent_from_file", kept, False) for o in step.kept_absent]
        for o, status, rule, why, written in unnamed:
            row = (
                step.category.step,
                step.category.slug,
                o.idpn,
                o.account.surname,
                o.account.first_name,
                "",
                status,
                rule,
                o.account.login,
                "",
                "",
                why,
                _flag(written),
                "",
            )
            writer.writerow([spreadsheet_cell(str(v)) for v in row])
    return out.getvalue()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def as_text(
    result: IdentifiersFile, uai: str, mode: str, steps: list[StepMatch], seconds: float
) -> str:
    lang = language()
    lines = [t("match.heading", uai=uai, mode=mode, file=printable(str(result.path)))]
    lines.append("")
    lines.append(
        f"  {t('match.col_step'):<28}{t('match.col_recognised'):>12}"
        f"{t('match.col_unrecognised'):>14}{t('match.col_obsolete'):>10}"
    )
    for step in steps:
        label = f"{step.category.step}. {step.category.label(lang)}"
        lines.append(
            f"  {label:<28}{len(step.recognised):>12}{len(step.unrecognised):>14}"
            f"{len(step.obsolete):>10}"
        )
    totals = {
        "recognised": sum(len(s.recognised) for s in steps),
        "unrecognised": sum(len(s.unrecognised) for s in steps),
        "obsolete": sum(len(s.obsolete) for s in steps),
    }
    lines.append(
        f"  {t('inspect.total'):<28}{totals['recognised']:>12}{totals['unrecognised']:>14}"
        f"{totals['obsolete']:>10}"
    )
    lines.extend(kept_absent_lines(steps))
    rules: dict[str, int] = {}
    for step in steps:
        for d in step.recognised:
            rules[d.rule] = rules.get(d.rule, 0) + 1
    if rules:
        lines.append("")
        lines.append(t("match.by_rule"))
        for rule, count in sorted(rules.items(), key=lambda x: -x[1]):
            lines.append(f"  {word('rule', rule):<28}{count:>6}")
            lines.extend(_wrap(t("why." + rule), 6))
    for step in steps:
        if not step.unrecognised and not step.obsolete:
            continue
        lines.append("")
        lines.append(t("match.unrecognised_in", step=step.category.label(lang)))
        for d in step.unrecognised:
            p = d.pronote
            who = printable(f"{p.surname} {p.first_name}")[:30]
            born = p.birth_date.strftime("%d/%m/%Y") if p.birth_date else "—"
            lines.append(f"  {who:<30} {born:<10} {p.idpn}  {word('rule', d.rule)}")
            detail = d.explain()
            if d.candidates:
                detail += " — " + t("match.candidates", logins=", ".join(d.candidates[:3]))
            lines.extend(_wrap(printable(detail), 6))
        for o in step.obsolete:
            who = printable(o.account.display_name)[:30]
            lines.append(f"  {who:<30} {o.account.login:<20} {o.idpn}  {t('match.obsolete')}")
    lines.append("")
    lines.append(t("match.nothing_written", seconds=f"{seconds:.1f}"))
    return "\n".join(lines)


def kept_absent_lines(steps: list[StepMatch]) -> list[str]:
    """Why a category's stored identifiers are all kept: the file holds none of them."""
    lines = []
    for step in steps:
        if step.kept_absent:
            text = t(
                "match.kept_absent",
                category=step.category.label(language()),
                count=len(step.kept_absent),
            )
            lines.extend(_wrap(text, 2))
    return lines


def _wrap(text: str, indent: int, width: int = 80) -> list[str]:
    """Reports are read on 80-column terminals."""
    pad = " " * indent
    return textwrap.wrap(text, width=width, initial_indent=pad, subsequent_indent=pad) or [pad]
