"""`idpronote apply`, `history` and `undo`: the wizard core, headless, for scripts and cron."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from cli import words as _words  # noqa: F401  (registers the words)
from cli.commands.directory import _confirm
from cli.commands.match import as_json, establishment, kept_absent_lines
from core.automatic import run_automatic
from core.errors import UnusableInput
from core.i18n import language, register, t, word
from core.journal import (
    acknowledge_damage,
    find_session,
    purge,
    purge_candidates,
    sessions,
)
from core.model import CATEGORIES, Category
from core.pronote_file import read_identifiers_file
from core.report import REMAINING_HEADER, csv_text, session_removals
from core.text import json_dumps, printable
from core.wizard import undo_session
from core.wizard_open import NothingToResume, open_session

register(
    {
        "purge.confirm": (
            "Supprimer les journaux de {count} session(s) terminée(s) il y a plus de {days} "
            "jours ? Elles ne pourront plus être annulées.",
            "Delete the journals of {count} session(s) ended more than {days} days ago? They "
            "can no longer be undone.",
        ),
        "purge.done": (
            "{count} journal(aux) de plus de {days} jours supprimé(s).",
            "{count} journal(s) older than {days} days deleted.",
        ),
        "purge.kept": (
            "  gardé : {session} ({uai}) a été coupé en pleine écriture ; reprenez-le "
            "(idpronote apply --resume) ou annulez-le d'abord",
            "  kept: {session} ({uai}) was cut in the middle of a write; resume it "
            "(idpronote apply --resume) or undo it first",
        ),
        "apply.col_removed": ("retirés", "removed"),
        "apply.writes_in": (
            "Identifiants retirés, gardés ou remplacés — {step} :",
            "Identifiers removed, kept or replaced — {step}:",
        ),
        "apply.removed": ("retiré", "removed"),
        "apply.not_removed": ("non retiré (échec)", "not removed (failed)"),
        "apply.planned_removal": ("à retirer", "to remove"),
        "apply.kept": ("gardé", "kept"),
        "apply.replaced": ("→ {idpn}", "→ {idpn}"),
        "history.removals": (
            "{count} identifiant(s) retiré(s) ou remplacé(s) par la session {session}",
            "{count} identifier(s) removed or replaced by session {session}",
        ),
        "history.removed": ("retiré", "removed"),
        "history.replaced": ("remplacé par {idpn}", "replaced by {idpn}"),
        "apply.resumed": (
            "Étapes déjà validées avant l'interruption (hors de ce rapport) : {steps}",
            "Steps validated before the interruption (not in this report): {steps}",
        ),
        "purge.not_with_session": (
            "--purge-older-than s'applique à toutes les sessions, pas à une seule",
            "--purge-older-than applies to every session, not to one",
        ),
        "history.damaged": (
            "journal endommagé : ligne(s) {lines} invérifiable(s)",
            "journal damaged: line(s) {lines} do not verify",
        ),
        "history.acknowledged": ("pris en compte", "acknowledged"),
        "history.legacy": (
            "journal au format 1 (sans sommes de contrôle) : non vérifiable",
            "format-1 journal (no checksums): not verifiable",
        ),
        "history.torn": (
            "dernière ligne coupée par un arrêt brutal ({count} octets, jamais prise en compte)",
            "last line cut by a crash ({count} bytes, never acted on)",
        ),
        "history.pending": ("{count} en suspens", "{count} pending"),
        "history.ack_needs_session": (
            "--acknowledge-damage s'applique à une session : idpronote history SESSION "
            "--acknowledge-damage",
            "--acknowledge-damage applies to one session: idpronote history SESSION "
            "--acknowledge-damage",
        ),
        "history.ack_not_damaged": (
            "le journal de la session {session} n'est pas endommagé ; rien à prendre en compte",
            "the journal of session {session} is not damaged; nothing to acknowledge",
        ),
        "history.ack_confirm": (
            "Prendre acte que le journal endommagé de la session {session} ({uai}) a été "
            "vérifié ? Les imports de {uai} pourront reprendre ; elle ne pourra pas être annulée.",
            "Acknowledge that the damaged journal of session {session} ({uai}) was checked? "
            "Imports of {uai} may go on again; it cannot be undone.",
        ),
        "history.ack_done": (
            "Pris en compte ({path}) : les imports de {uai} peuvent reprendre.",
            "Acknowledged ({path}): imports of {uai} may go on.",
        ),
        "undo.report": (
            "{restored} valeur(s) restaurée(s), {unchanged} déjà comme avant, {failed} non "
            "restaurée(s) (session {session})",
            "{restored} value(s) restored, {unchanged} already as before, {failed} not "
            "restored (session {session})",
        ),
        "undo.legacy": (
            "note : journal au format 1 (sans sommes de contrôle), non vérifiable",
            "note: format-1 journal (no checksums), not verifiable",
        ),
    }
)

if TYPE_CHECKING:
    from cli.context import Context


def _steps(value: str | None) -> list[Category]:
    if not value:
        return list(CATEGORIES)
    chosen = []
    for slug in value.replace(" ", "").split(","):
        try:
            chosen.append(Category.from_slug(slug))
        except ValueError as error:
            raise UnusableInput(str(error)) from None
    return chosen


def apply(ctx: Context) -> int:
    """Validate the chosen steps with only the automatic decisions."""
    from directory_adapters import open_directory

    fmt = ctx.require_format("text", "json", "csv")
    mode = ctx.args.mode or "complet"
    chosen = _steps(ctx.args.steps)
    export = read_identifiers_file(ctx.args.file, ctx.config.file_schema)
    uai = establishment(ctx, export)
    dry = ctx.args.dry_run
    # The wizard's start screen opens its sessions the same way, with the same guards;
    # a new one is started by run_automatic, once the mass-removal guard has passed.
    with open_directory(ctx.config, ctx.args.directory_file) as directory:
        try:
            session = open_session(
                directory,
                export,
                uai=uai,
                mode=mode,
                data_dir=None if dry else ctx.config.data_dir,
                settings=ctx.config.matching,
                resume=bool(ctx.args.resume),
                start=False,
            )
        except NothingToResume:
            raise UnusableInput(t("apply.nothing_to_resume", uai=uai)) from None
        record = session.resumed_from
        mode = session.mode
        with session:
            run = run_automatic(
                session,
                chosen,
                dry=dry,
                resumed=bool(ctx.args.resume),
                allow_mass_removal=ctx.args.allow_mass_removal,
            )
    steps, writes, failures, planned, guard = (
        run.steps, run.writes, run.failures, run.planned, run.guard
    )  # fmt: skip
    report = as_json(str(ctx.args.file), uai, mode, steps, writes, session.session)
    earlier = list(record.steps_done) if ctx.args.resume and record is not None else []
    if earlier:
        # The steps validated before the interruption are not re-matched here: say so,
        # rather than let the summary pass for the whole session's.
        report["resumed"] = {"steps_done_before": earlier}
    draft = session.draft_summary() if ctx.args.resume else None
    if draft:
        # The interrupted step's manual choices, replayed (and validated with it).
        report.setdefault("resumed", {})["draft"] = {
            "restored": session.draft_restored,
            "dropped": session.draft_notes,
        }
    if fmt == "json":
        ctx.emit(json_dumps(report))
    elif fmt == "csv":
        from cli.commands.match import as_csv

        ctx.emit(as_csv(steps, writes))
    else:
        text = _apply_text(session, steps, writes, planned, failures, dry)
        if dry and guard:
            text += "\n" + "\n".join(f"! {line}" for line in guard)
        if earlier:
            text += "\n" + t("apply.resumed", steps=", ".join(earlier))
        if draft:
            text += "\n" + "\n".join(
                [draft, *(t("apply.draft_note", note=n) for n in session.draft_notes)]
            )
        ctx.emit(text)
    unrecognised = report["summary"]["unrecognised"]
    return 1 if unrecognised or failures else 0


def _apply_text(session, steps, writes, planned, failures, dry) -> str:
    """The steps with what each wrote (for a dry run, the changes planned), then every
    identifier removed, kept or replaced."""
    lang = language()
    lines = [
        t("apply.dry_run" if dry else "apply.heading", uai=session.uai, mode=session.mode,
          session=session.session or "—")
    ]  # fmt: skip
    lines.append("")
    lines.append(
        f"  {t('match.col_step'):<28}{t('match.col_recognised'):>11}"
        f"{t('apply.col_planned' if dry else 'apply.col_written'):>10}"
        f"{t('match.col_unrecognised'):>14}{t('apply.col_removed'):>10}"
    )
    for step, done in zip(steps, writes, strict=True):
        state = session.states[step.category]
        label = f"{step.category.step}. {step.category.label(lang)}"
        counts = done.counts(step)
        if dry:
            mark = ""
            stored = planned.get(step.category, 0)
        else:
            mark = "" if state.validated else f" ({t('apply.not_written')})"
            stored = counts["written"]
        lines.append(
            f"  {label:<28}{len(step.recognised):>11}{stored:>10}{len(step.unrecognised):>14}"
            f"{counts['removed']:>10}{mark}"
        )
    lines.extend(kept_absent_lines(steps))
    for step, done in zip(steps, writes, strict=True):
        replaced = [
            (d, done.previous[d.pronote.idpn])
            for d in step.decisions
            if d.pronote.idpn in done.written and d.pronote.idpn in done.previous
        ]
        if not done.obsolete and not replaced:
            continue
        lines.append("")
        lines.append(t("apply.writes_in", step=step.category.label(lang)))
        for entry in done.obsolete:
            o = entry.link
            if entry.written:
                what = t("apply.removed")
            elif entry.action == "remove":
                what = t("apply.planned_removal") if dry else t("apply.not_removed")
            else:
                what = t("apply.kept")
            who = printable(o.account.display_name)[:20]
            lines.append(f"  {who:<20} {printable(o.account.login)[:18]:<18} {o.idpn}  {what}")
        for d, old in replaced:
            who = printable(d.pronote.display_name)[:20]
            lines.append(
                f"  {who:<20} {printable(d.login or '')[:18]:<18} {old}  "
                + t("apply.replaced", idpn=d.pronote.idpn)
            )
    for outcome in failures:
        change = outcome.change
        lines.append(f"  ! {printable(change.login)} {change.idpn or change.previous}: "
                     f"{printable(outcome.reason or outcome.failure or '')}")  # fmt: skip
    if not dry and session.session:
        lines.append("")
        lines.append(t("apply.undo_hint", session=session.session))
    return "\n".join(lines)


def history(ctx: Context) -> int:
    if ctx.args.purge_older_than:
        if ctx.args.session:
            raise UnusableInput(t("purge.not_with_session"))
        return purge_journals(ctx)
    if ctx.args.acknowledge_damage:
        return acknowledge(ctx)
    if ctx.args.session:
        return remaining(ctx)
    fmt = ctx.require_format("text", "json", "csv")
    records = sessions(ctx.config.data_dir, ctx.uai)
    undone = {r.header.get("undo_of"): r.session for r in records if r.kind == "undo"}
    rows = [
        {
            "session": r.session,
            "uai": r.uai,
            "kind": r.kind,
            "mode": r.header.get("mode"),
            "started": r.started,
            "operator": (r.header.get("operator") or {}).get("user"),
            "outcome": r.status,
            "steps": r.steps_done,
            **r.counts(),
            # Per step, every run of the session (before and after a resume).
            "step_counts": r.step_counts(),
            "undo_of": r.header.get("undo_of"),
            "undone_by": undone.get(r.session),
            "format": 1 if r.legacy else 2,
            "damaged_lines": r.damaged,
            "damage_acknowledged": r.acknowledged,
            "incomplete_last_line": r.torn,
        }
        for r in records
    ]
    if fmt == "json":
        ctx.emit(json_dumps({"sessions": rows}))
    elif fmt == "csv":
        keys = ["session", "uai", "kind", "mode", "started", "operator", "outcome", "written",
                "failed", "pending", "undo_of", "undone_by"]  # fmt: skip
        ctx.emit(csv_text(keys, [[row[k] or "" for k in keys] for row in rows]))
    else:
        lines = [t("history.count", count=len(rows))]
        for row in rows:
            extra = ""
            if row["undone_by"]:
                extra = " " + t("history.undone_by", session=row["undone_by"])
            elif row["undo_of"]:
                extra = " " + t("history.undo_of", session=row["undo_of"])
            if row["pending"]:
                extra += ", " + t("history.pending", count=row["pending"])
            lines.append(
                f"  {row['session']}  {row['uai']}  {word('outcome', row['outcome']):<12} "
                f"{t('history.written', count=row['written'])}, "
                f"{t('history.failed', count=row['failed'])}{extra}"
            )
            lines += [f"      {note}" for note in _notes(row)]
        ctx.emit("\n".join(lines))
    return 0


def _notes(row: dict) -> list[str]:
    """What a history line must say about its journal: damaged, old format, cut line."""
    notes = []
    if row["damaged_lines"]:
        note = t("history.damaged", lines=_lines(row["damaged_lines"]))
        if row["damage_acknowledged"]:
            note += f" ({t('history.acknowledged')})"
        notes.append(note)
    if row["format"] == 1:
        notes.append(t("history.legacy"))
    if row["incomplete_last_line"]:
        notes.append(t("history.torn", count=row["incomplete_last_line"]))
    return notes


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:10]))
    return shown + (" …" if len(numbers) > 10 else "")


def acknowledge(ctx: Context) -> int:
    """An admin checked the directory after a journal was damaged: imports may go on."""
    if not ctx.args.session:
        raise UnusableInput(t("history.ack_needs_session"))
    record = find_session(ctx.config.data_dir, ctx.args.session)
    if not record.damaged:
        raise UnusableInput(t("history.ack_not_damaged", session=record.session))
    if not ctx.args.yes and not _confirm(
        t("history.ack_confirm", session=record.session, uai=record.uai)
    ):
        ctx.emit(t("unlink.cancelled"))
        return 0
    path = acknowledge_damage(record)
    ctx.emit(t("history.ack_done", path=path, uai=record.uai))
    return 0


def purge_journals(ctx: Context) -> int:
    """Retention: journals hold names and identifiers of minors; keep them no longer than needed."""
    fmt = ctx.require_format("text", "json")
    days = ctx.args.purge_older_than
    expired, kept = purge_candidates(ctx.config.data_dir, timedelta(days=days))
    if (
        expired
        and not ctx.args.yes
        and not _confirm(t("purge.confirm", count=len(expired), days=days))
    ):
        ctx.emit(t("unlink.cancelled"))
        return 0
    deleted = purge(expired)
    if fmt == "json":
        ctx.emit(
            json_dumps(
                {"purged": deleted, "kept_unfinished": [r.session for r in kept], "days": days}
            )
        )
        return 0
    lines = [t("purge.done", count=len(deleted), days=days)]
    for record in kept:
        lines.append(t("purge.kept", session=record.session, uai=record.uai))
    ctx.emit("\n".join(lines))
    return 0


def undo(ctx: Context) -> int:
    from directory_adapters import open_directory

    fmt = ctx.require_format("text", "json")
    record = find_session(ctx.config.data_dir, ctx.args.session)
    record.require_intact()  # never on the word of a line that does not verify
    if record.kind != "import":
        raise UnusableInput(t("undo.not_an_import", session=record.session))
    count = len(record.writes())
    if not ctx.args.yes and not _confirm(
        t("undo.confirm", session=record.session, count=count, uai=record.uai)
    ):
        ctx.emit(t("unlink.cancelled"))
        return 0
    with open_directory(ctx.config, ctx.args.directory_file) as directory:
        outcomes = undo_session(directory, record, data_dir=ctx.config.data_dir)
    # "Restored" only for what was written back; a value already as before is not.
    restored = [o for o in outcomes if o.wrote]
    unchanged = [o for o in outcomes if o.applied and not o.wrote]
    failed = [o for o in outcomes if not o.applied]
    if fmt == "json":
        ctx.emit(json_dumps({
            "session": record.session,
            "restored": len(restored),
            "already_as_before": len(unchanged),
            "failed": [{"account": o.change.login, "reason": o.reason} for o in failed],
            "format": 1 if record.legacy else 2,
        }))  # fmt: skip
    else:
        lines = [
            t("undo.report", restored=len(restored), unchanged=len(unchanged),
              failed=len(failed), session=record.session)
        ]  # fmt: skip
        lines += [f"  ! {printable(o.change.login)}: {printable(o.reason or '')}" for o in failed]
        if record.legacy:
            lines.append(t("undo.legacy"))
        ctx.emit("\n".join(lines))
    return 1 if failed else 0


def remaining(ctx: Context) -> int:
    """One session: the accounts left unlinked (the list to send back to the school), and
    every identifier it removed or replaced (text and JSON; the CSV is the school's list)."""
    fmt = ctx.require_format("text", "json", "csv")
    record = find_session(ctx.config.data_dir, ctx.args.session)
    removals = session_removals(record)
    rows = []
    for slug, accounts in record.remaining.items():
        category = Category.from_slug(slug)
        for a in accounts:
            rows.append([
                category.step, slug, a["idpn"], a["nom"], a["prenom"],
                a.get("date_naissance") or "", a.get("classe") or "", a["rule"],
                a.get("explanation") or t("why." + a["reason"]),
                " ".join(a.get("candidates", [])),
            ])  # fmt: skip
    if fmt == "json":
        ctx.emit(json_dumps({"session": record.session, "uai": record.uai,
                             "remaining": [dict(zip(REMAINING_HEADER, r, strict=True))
                                           for r in rows],
                             "removed": removals}))  # fmt: skip
    elif fmt == "csv":
        ctx.emit(csv_text(REMAINING_HEADER, rows))
    else:
        lines = [t("history.remaining", count=len(rows), session=record.session)]
        if record.damaged:
            lines.append("  " + t("history.damaged", lines=_lines(record.damaged)))
        for r in rows:
            lines.append(f"  {r[2]}  {printable(r[3] + ' ' + r[4])[:30]:<30} {r[7]}")
        lines.append(t("history.removals", count=len(removals), session=record.session))
        for x in removals:
            what = (
                t("history.removed")
                if x["action"] == "remove"
                else t("history.replaced", idpn=x["by"])
            )
            lines.append(f"  {x['idpn']}  {printable(x['account'])[:30]:<30} {what}")
        ctx.emit("\n".join(lines))
    return 0
