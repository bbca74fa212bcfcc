"""`idpronote explain` and `idpronote status`: the support desk, headless.

`explain WHO` says why a person cannot open Pronote from the ENT and the one
next action; `--apply` writes that action (after a question, or `--yes`)
through the same journaled core functions as the wizard, then explains again.
`status --uai U` is the establishment at a glance, for monitoring.
Exit status: 0 nothing wrong, 1 something to fix, 2 bad usage or input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cli import words as _words  # noqa: F401  (registers the words)
from cli.commands.directory import _confirm, _required_uai
from core.errors import IdpronoteError, UnusableInput
from core.i18n import language, register, t, word
from core.model import CATEGORIES
from core.pronote_file import IdentifiersFile, read_identifiers_file
from core.support import Explanation, apply_action, explain, status
from core.text import json_dumps, printable

if TYPE_CHECKING:
    from cli.context import Context

register(
    {
        "explain.confirm": ("{action} ?", "{action}?"),
        "explain.applied": (
            "Fait : {action} (session {session})",
            "Done: {action} (session {session})",
        ),
        "explain.not_applied": ("Non appliqué : {reason}", "Not applied: {reason}"),
        "explain.cancelled": ("annulé ; rien n'a été écrit", "cancelled; nothing was written"),
        "explain.after": ("Après :", "Afterwards:"),
        "explain.yes_without_apply": (
            "--yes ne va qu'avec --apply",
            "--yes only goes with --apply",
        ),
        "status.heading": ("État de {uai}", "Status of {uai}"),
        "status.col_category": ("Catégorie", "Category"),
        "status.col_accounts": ("comptes", "accounts"),
        "status.col_linked": ("reliés", "linked"),
        "status.col_unlinked": ("sans id", "no id"),
        "status.col_twice": ("en double", "twice"),
        "status.col_obsolete": ("obsolètes", "obsolete"),
        "status.guardians": (
            "Responsables sans identifiant dont un enfant est relié : {count}",
            "Guardians without an identifier with a linked child: {count}",
        ),
        "status.twice": ("Identifiant {idpn} sur {accounts}", "Identifier {idpn} on {accounts}"),
        "status.last_session": (
            "Dernière session : {session} ({outcome}, {mode})",
            "Last session: {session} ({outcome}, {mode})",
        ),
        "status.no_session": ("Dernière session : aucune", "Last session: none"),
        "status.no_obsolete": (
            "(obsolètes : « - » sans fichier complet connu)",
            "(obsolete: '-' without a known complete file)",
        ),
    }
)


def _export(ctx: Context) -> IdentifiersFile | None:
    if not ctx.args.file:
        return None
    return read_identifiers_file(ctx.args.file, ctx.config.file_schema)


def _same_establishment(ctx: Context, export: IdentifiersFile | None, uai: str | None) -> None:
    if export is not None and uai and export.uai and export.uai.upper() != uai:
        raise UnusableInput(
            t("match.other_uai", file=printable(ctx.args.file), file_uai=export.uai, uai=uai)
        )


def _lines(explanation: Explanation) -> list[str]:
    return [printable(line) for line in explanation.lines()]


# -- explain ------------------------------------------------------------------------------------


def run_explain(ctx: Context) -> int:
    fmt = ctx.require_format("text", "json")
    if ctx.args.yes and not ctx.args.apply:
        raise UnusableInput(t("explain.yes_without_apply"))
    export = _export(ctx)
    _same_establishment(ctx, export, ctx.uai)
    kwargs: dict[str, Any] = {
        "uai": ctx.uai,
        "export": export,
        "data_dir": ctx.config.data_dir,
        "mode": ctx.args.mode,
        "settings": ctx.config.matching,
        "schema": ctx.config.file_schema,
    }
    # Read-only, with an establishment: a large local file loads only its lines
    # (a 1,000,000-row regional CSV: seconds instead of half a minute).
    scoped = ctx.uai if not ctx.args.apply else None
    with _read(ctx, scoped) as directory:
        found = explain(directory, ctx.args.who, **kwargs)
        applied: dict[str, Any] | None = None
        after: Explanation | None = None
        if ctx.args.apply:
            applied = _apply(ctx, directory, found)
            if applied["applied"]:
                after = explain(directory, ctx.args.who, **kwargs)
    code = found.exit_code if after is None else after.exit_code
    if fmt == "json":
        data = found.as_json()
        if applied is not None:
            data["applied"] = applied
            data["after"] = None if after is None else after.as_json()
        ctx.emit(json_dumps(data))
        return code
    lines = _lines(found)
    if applied is not None:
        lines.append("")
        if applied["applied"]:
            lines.append(
                printable(
                    t(
                        "explain.applied",
                        action=found.action.describe(),
                        session=applied["session"] or "—",
                    )
                )
            )
        else:
            lines.append(printable(t("explain.not_applied", reason=applied["reason"])))
        if after is not None:
            lines += ["", t("explain.after")]
            lines.append(printable(t("support.cause", text=after.cause_text())))
            lines.append(printable(t("support.next", text=after.action.describe())))
    ctx.emit("\n".join(lines))
    return code


def _read(ctx: Context, uai: str | None) -> Any:
    """The directory; with `uai`, a read-only view of that establishment where the adapter
    can make one (the CSV file), the whole directory otherwise."""
    from directory_adapters import open_directory

    return open_directory(ctx.config, ctx.args.directory_file, only_uai=uai)


def _apply(ctx: Context, directory: Any, found: Explanation) -> dict[str, Any]:
    action = found.action
    result: dict[str, Any] = {
        "action": action.kind,
        "applied": False,
        "reason": None,
        "session": None,
    }
    if not action.writes:
        result["reason"] = t("support.refused_pick")
        return result
    if not ctx.args.yes and not _confirm(t("explain.confirm", action=printable(action.describe()))):
        result["reason"] = t("explain.cancelled")
        return result
    from core.journal import sessions

    before = {r.session for r in sessions(ctx.config.data_dir, action.uai)}
    try:
        outcome = apply_action(
            directory,
            action,
            data_dir=ctx.config.data_dir,
            in_file=found.file_ids,
            mode=found.file.mode,
        )
    except IdpronoteError as error:
        result["reason"] = str(error)
        return result
    new = [r.session for r in sessions(ctx.config.data_dir, action.uai) if r.session not in before]
    result.update(applied=outcome.applied, reason=outcome.reason, session=new[-1] if new else None)
    return result


def _fit(line: str, width: int = 80) -> str:
    """A line of the table's width: a long path loses its beginning, not its file name."""
    if len(line) <= width:
        return line
    head, _, tail = line.partition(": ")
    head = head if len(head) < width // 2 else head[: width // 2]
    room = width - len(head) - 3
    return f"{head}: …{tail[-room:]}" if room > 0 else line[: width - 1] + "…"


# -- status -------------------------------------------------------------------------------------


def run_status(ctx: Context) -> int:
    fmt = ctx.require_format("text", "json")
    uai = _required_uai(ctx)
    export = _export(ctx)
    _same_establishment(ctx, export, uai)
    with _read(ctx, uai) as directory:
        found = status(
            directory,
            uai,
            export=export,
            data_dir=ctx.config.data_dir,
            schema=ctx.config.file_schema,
        )
    code = 1 if found.problems else 0
    if fmt == "json":
        ctx.emit(json_dumps(found.as_json()))
        return code
    lines = [t("status.heading", uai=uai)]
    lines += [_fit(printable(line)) for line in found.file.describe(uai)]
    head = [t(f"status.col_{k}") for k in ("accounts", "linked", "unlinked", "twice", "obsolete")]
    lines.append(f"  {t('status.col_category'):<24}" + "".join(f"{h:>10}" for h in head))
    for category in CATEGORIES:
        s = found.categories[category]
        cells = [
            s.accounts,
            s.linked,
            s.unlinked,
            s.stored_twice,
            "-" if s.obsolete is None else s.obsolete,
        ]
        label = category.label(language())[:24]
        lines.append(f"  {label:<24}" + "".join(f"{c!s:>10}" for c in cells))
    guardians = found.categories[CATEGORIES[2]].guardians_children_linked or 0
    lines.append(t("status.guardians", count=guardians))
    for idpn, logins in sorted(found.stored_twice.items()):
        lines.append(printable(t("status.twice", idpn=idpn, accounts=", ".join(logins))))
    if all(s.obsolete is None for s in found.categories.values()):
        lines.append(t("status.no_obsolete"))
    last = found.last_session
    if last is None:
        lines.append(t("status.no_session"))
    else:
        lines.append(
            printable(
                t(
                    "status.last_session",
                    session=last.session,
                    outcome=word("outcome", last.status),
                    mode=last.header.get("mode") or last.kind,
                )
            )
        )
    ctx.emit("\n".join(lines))
    return code
