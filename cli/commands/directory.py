"""`idpronote search`, `linked` and `unlink`: the directory as the wizard sees it.

They work on every adapter (LDAP, LDIF, CSV) through the `Directory`
protocol, with the same search the wizard's dialog runs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from cli import words as _words  # noqa: F401  (registers the words)
from core.errors import UnusableInput
from core.i18n import register, t
from core.model import DIRECTORY_FIELDS, Category, DirectoryAccount
from core.report import csv_text
from core.text import json_dumps, printable
from core.wizard import unlink_account

if TYPE_CHECKING:
    from cli.context import Context
    from directory_adapters.base import Directory

register(
    {
        "link.confirm": (
            "Relier {login} à l'identifiant {idpn} pour {uai} ?",
            "Link {login} to identifier {idpn} for {uai}?",
        ),
        "link.done": (
            "identifiant écrit (lien manuel, retenu)",
            "identifier written (manual link, remembered)",
        ),
        "link.bad_idpn": (
            "{idpn} n'est pas un identifiant Pronote (16 lettres et chiffres)",
            "{idpn} is not a Pronote identifier (16 letters and digits)",
        ),
    }
)


def _open(ctx: Context) -> Directory:
    from directory_adapters import open_directory

    return open_directory(ctx.config, ctx.args.directory_file)


def account_json(account: DirectoryAccount) -> dict[str, Any]:
    """One result of CONTRACT.md's `search` JSON."""
    return {
        "login": account.login,
        "nom": account.surname,
        "prenom": account.first_name,
        "date_naissance": account.birth_date.isoformat() if account.birth_date else None,
        "profils": list(account.profiles),
        "uai": list(account.establishments),
        "classes": list(account.classes),
        "idpronote": list(account.identifiers),
    }


# -- search -----------------------------------------------------------------------------------


def search(ctx: Context) -> int:
    fmt = ctx.require_format("text", "json", "csv")
    category = Category.from_slug(ctx.args.category) if ctx.args.category else None
    with _open(ctx) as directory:
        results = directory.search(
            ctx.args.query, uai=ctx.uai, category=category, limit=ctx.args.limit
        )
    if fmt == "json":
        ctx.emit(
            json_dumps({"query": ctx.args.query, "results": [account_json(a) for a in results]})
        )
    elif fmt == "csv":
        rows = [
            [
                a.login,
                a.surname,
                a.first_name,
                a.birth_date.isoformat() if a.birth_date else "",
                "|".join(a.profiles),
                "|".join(a.establishments),
                "|".join(a.classes),
                "|".join(a.identifiers),
            ]
            for a in results
        ]
        # CONTRACT.md's columns, but the guardians' children: a search lists accounts.
        columns = [f for f in DIRECTORY_FIELDS if f != "eleves"]
        ctx.emit(csv_text(columns, rows))
    else:
        lines = [t("search.count", count=len(results), query=printable(ctx.args.query))]
        for a in results:
            born = a.birth_date.strftime("%d/%m/%Y") if a.birth_date else "—"
            name = printable(a.display_name)[:32]
            where = printable(",".join(a.establishments))[:17]
            lines.append(f"  {printable(a.login)[:20]:<20} {name:<32} {born:<10} {where}")
        ctx.emit("\n".join(lines))
    return 0


# -- linked -----------------------------------------------------------------------------------


def linked(ctx: Context) -> int:
    fmt = ctx.require_format("text", "json", "csv")
    uai = _required_uai(ctx)
    with _open(ctx) as directory:
        rows = sorted(
            directory.linked(uai),
            key=lambda r: (r.account.surname, r.account.first_name, r.account.login),
        )
    if fmt == "json":
        accounts = [
            {
                "login": r.account.login,
                "nom": r.account.surname,
                "prenom": r.account.first_name,
                "idpn": r.idpn,
            }
            for r in rows
        ]
        ctx.emit(json_dumps({"uai": uai, "accounts": accounts}))
    elif fmt == "csv":
        ctx.emit(
            csv_text(
                ["login", "nom", "prenom", "idpn"],
                [[r.account.login, r.account.surname, r.account.first_name, r.idpn] for r in rows],
            )
        )
    else:
        lines = [t("linked.count", count=len(rows), uai=uai)]
        for r in rows:
            name = printable(r.account.display_name)[:34]
            lines.append(f"  {r.idpn}  {name:<34} {printable(r.account.login)[:24]}")
        ctx.emit("\n".join(lines))
    return 0


# -- unlink -----------------------------------------------------------------------------------


def unlink(ctx: Context) -> int:
    fmt = ctx.require_format("text", "json")
    uai = _required_uai(ctx)
    login = ctx.args.account
    with _open(ctx) as directory:
        account = directory.get(login)
        if account is None:
            raise UnusableInput(t("unlink.no_account", login=printable(login)))
        stored = directory.form.idpns_for(account.identifiers, uai)
        if not stored:
            return _unlink_report(ctx, fmt, account.login, uai, None, True, t("unlink.nothing"))
        idpn = stored[0]
        if not ctx.args.yes and not _confirm(
            t("unlink.confirm", idpn=idpn, login=printable(account.login), uai=uai)
        ):
            return _unlink_report(ctx, fmt, account.login, uai, idpn, False, t("unlink.cancelled"))
        outcome = unlink_account(directory, uai, account.login, idpn, data_dir=ctx.config.data_dir)
    reason = t("unlink.done") if outcome.applied else (outcome.reason or "")
    _unlink_report(ctx, fmt, account.login, uai, idpn, outcome.applied, reason)
    return 0 if outcome.applied else 1


def link(ctx: Context) -> int:
    """A human's choice (homonyms explain could not tell apart): one manual link, checked
    like the wizard's, journaled, remembered for the next import."""
    from core.model import IDPN_PATTERN
    from core.wizard import LinkRefused, link_account

    fmt = ctx.require_format("text", "json")
    uai = _required_uai(ctx)
    idpn = ctx.args.idpn.strip().upper()
    if not IDPN_PATTERN.fullmatch(idpn):
        raise UnusableInput(t("link.bad_idpn", idpn=printable(ctx.args.idpn)))
    in_file = None
    if ctx.args.file:
        from core.pronote_file import read_identifiers_file

        export = read_identifiers_file(ctx.args.file, ctx.config.file_schema)
        in_file = {a.idpn for a in export.all_accounts()}
    with _open(ctx) as directory:
        account = directory.get(ctx.args.account)
        if account is None:
            raise UnusableInput(t("unlink.no_account", login=printable(ctx.args.account)))
        if not ctx.args.yes and not _confirm(
            t("link.confirm", idpn=idpn, login=printable(account.login), uai=uai)
        ):
            return _unlink_report(ctx, fmt, account.login, uai, idpn, False, t("unlink.cancelled"))
        try:
            outcome = link_account(
                directory, uai, account.login, idpn, data_dir=ctx.config.data_dir,
                in_file=in_file, mode=ctx.args.mode or "complet",
            )  # fmt: skip
        except LinkRefused as refused:
            _unlink_report(ctx, fmt, account.login, uai, idpn, False, str(refused))
            return 1
    reason = t("link.done") if outcome.applied else (outcome.reason or "")
    _unlink_report(ctx, fmt, account.login, uai, idpn, outcome.applied, reason)
    return 0 if outcome.applied else 1


def _unlink_report(
    ctx: Context, fmt: str, login: str, uai: str, idpn: str | None, applied: bool, reason: str
) -> int:
    if fmt == "json":
        ctx.emit(
            json_dumps(
                {"account": login, "uai": uai, "idpn": idpn, "applied": applied, "reason": reason}
            )
        )
    else:
        ctx.emit(f"{printable(login)} ({uai}) : {printable(reason)}")
    return 0


def _confirm(question: str) -> bool:
    """Ask on the terminal; without one, refuse (scripts pass --yes)."""
    if not sys.stdin.isatty():
        raise UnusableInput(t("cli.needs_yes"))
    sys.stderr.write(printable(question) + " [o/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("o", "oui", "y", "yes")


def _required_uai(ctx: Context) -> str:
    if not ctx.uai:
        raise UnusableInput(t("cli.uai_required"))
    return ctx.uai
