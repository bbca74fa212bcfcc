"""explain: why can't this person open Pronote from the ENT?

The person is found by login, Pronote identifier or name; then
`_explain_account` (or `_explain_record`, for an identifier no account
stores) walks the situations from the most certain to the least and
names the first cause that holds (`causes`).
"""

from __future__ import annotations

from pathlib import Path

from core.directory import Directory
from core.i18n import t
from core.matching import MatchSettings
from core.model import IDPN_PATTERN, Category, DirectoryAccount, PronoteAccount
from core.pronote_file import FileSchema, IdentifiersFile
from core.support.actions import Action
from core.support.causes import (
    STORED_CONFLICTS,
    _namesake_accounts,
    _on_duplicate,
    _pronote_duplicate,
    _proposed_link,
    _stored_conflict,
    _stored_twice,
)
from core.support.context import (
    _base,
    _Context,
    _context,
    _fits,
    _left,
    _plausible,
    _related,
    _stored_per_uai,
    _unique,
)
from core.support.explanation import Explanation, pronote_label

PICK_LIMIT = 10


def explain(
    directory: Directory,
    who: str,
    *,
    uai: str | None = None,
    export: IdentifiersFile | None = None,
    data_dir: Path | None = None,
    mode: str | None = None,
    settings: MatchSettings | None = None,
    schema: FileSchema | None = None,
) -> Explanation:
    """Why can't WHO (a login, a Pronote identifier or a name) open Pronote from the ENT?"""
    query = who.strip()
    uai = (uai or (export.uai if export is not None else None) or "").upper() or None
    account: DirectoryAccount | None = None
    record: PronoteAccount | None = None
    if IDPN_PATTERN.fullmatch(query):
        if uai is None:
            return Explanation(
                query, None, "uai_needed", Action("none"), {"login": query, "establishments": "?"}
            )
        holders = directory.holders(query, uai)
        if holders:
            account = sorted(holders, key=lambda a: a.login)[0]
        else:
            ctx = _context(directory, uai, export, data_dir, mode, settings, schema)
            record = ctx.by_idpn.get(query)
            if record is None:
                return Explanation(query, uai, "not_found", Action("none"), {"query": query})
            return _explain_record(query, ctx, record)
    if account is None:
        account = directory.get(query)
    if account is None:
        found = directory.search(query, uai=uai, limit=PICK_LIMIT + 1)
        if not found:
            return Explanation(query, uai, "not_found", Action("none"), {"query": query})
        if len(found) > 1:
            logins = tuple(a.login for a in found[:PICK_LIMIT])
            return Explanation(
                query,
                uai,
                "several",
                Action("pick", uai=uai, candidates=logins),
                {"query": query, "count": str(len(found))},
                accounts=list(found[:PICK_LIMIT]),
            )
        account = found[0]
    if uai is None:
        if len(account.establishments) != 1:
            establishments = ", ".join(account.establishments) or "—"
            return Explanation(
                query,
                None,
                "uai_needed",
                Action("none"),
                {"login": account.login, "establishments": establishments},
                accounts=[account],
                stored={account.login: _stored_per_uai(directory, account)},
            )
        uai = account.establishments[0].upper()
    ctx = _context(directory, uai, export, data_dir, mode, settings, schema)
    return _explain_account(query, ctx, account)


def _explain_account(query: str, ctx: _Context, account: DirectoryAccount) -> Explanation:
    uai = ctx.uai
    e = _base(query, ctx, [account])
    login = account.login
    if uai not in {u.upper() for u in account.establishments} and not ctx.stored(account):
        e.cause = "other_establishment"
        e.params = {
            "login": login,
            "uai": uai,
            "establishments": ", ".join(account.establishments) or "—",
        }
        return e
    stored = ctx.stored(account)
    by_idpn = ctx.by_idpn
    known = ctx.export is not None
    for idpn in stored:
        e.in_file[idpn] = by_idpn.get(idpn) if known else None
    if not known:
        e.in_file = {}
    strong, same, weak = _related(ctx, account)
    e.decisions = _unique([*strong, *same, *weak])
    e.pronote = [d.pronote for d in e.decisions]
    e.left = _left(ctx.record, {d.pronote.idpn for d in e.decisions} | set(stored))
    # Two Pronote accounts for this person: records with its names that only it fits.
    # Records that only this account fits by name (the dates may differ: a typo) ...
    only_me = [d for d in same if [a.login for a in _plausible(ctx, d)] == [login]]
    # ... and, dates fitting too, the same person: two of them are a duplicate in Pronote.
    twins = [d for d in only_me if _fits(d.pronote, account)]
    recognised_same = [d for d in strong if _fits(d.pronote, account)]
    pronote_dups = _unique([*recognised_same, *twins])
    if stored:
        idpn = stored[0]
        holders = ctx.directory.holders(idpn, uai)
        others = sorted(h.login for h in holders if h.login.casefold() != login.casefold())
        if others:
            return _stored_twice(
                e, ctx, account, idpn, [account, *[h for h in holders if h.login in others]]
            )
        p = by_idpn.get(idpn) if known else None
        extra = [d for d in pronote_dups if d.pronote.idpn != idpn]
        if p is not None and extra and _fits(p, account):
            return _pronote_duplicate(e, account, [p, *[d.pronote for d in extra]])
        if p is not None and not _fits(p, account):
            # Someone else's identifier? Only if a record of this person is left unlinked.
            own = [
                d
                for d in same
                if [a.login for a in _plausible(ctx, d)] == [login] and _fits(d.pronote, account)
            ]
            if own:
                e.cause = "wrong_identifier"
                e.params = {
                    "login": login,
                    "idpn": idpn,
                    "pronote": pronote_label(p),
                    "own": pronote_label(own[0].pronote),
                }
                e.action = Action("unlink", uai=uai, login=login, idpn=idpn)
                return e
        d = ctx.decision_of(idpn) if p is not None else None
        if p is not None and d is not None and d.rule == "conflict" and d.why in STORED_CONFLICTS:
            return _stored_conflict(e, account, p, d)
        if p is not None or not known or ctx.file.mode == "partiel":
            value = ctx.directory.form.format(uai, idpn)
            e.action = Action("check_cas_release", uai=uai, login=login, idpn=idpn, value=value)
            if p is not None:
                e.cause = "ok"
                e.params = {"login": login, "idpn": idpn, "uai": uai, "pronote": pronote_label(p)}
            else:
                e.cause = "ok_partial" if known else "ok_unchecked"
                e.params = {"login": login, "idpn": idpn, "uai": uai}
            return e
        # Stored, but the latest (complete) file no longer holds it: last year's base?
        fresh = [d for d in strong if d.pronote.idpn != idpn] or [
            d for d in only_me if d.pronote.idpn != idpn
        ]
        if len(fresh) == 1:
            new = fresh[0].pronote
            e.cause = "stale"
            e.params = {"login": login, "old": idpn, "new": new.idpn, "pronote": pronote_label(new)}
            e.action = Action("link", uai=uai, login=login, idpn=new.idpn, previous=idpn)
            return e
        if len(fresh) > 1:
            return _pronote_duplicate(e, account, [d.pronote for d in fresh])
        e.cause = "not_in_file"
        e.params = {
            "login": login,
            "name": account.display_name,
            "stored_line": t("support.stored_line", login=login, idpn=idpn),
        }
        e.action = Action("export_again", uai=uai, login=login, idpns=(idpn,))
        return e
    # Nothing stored for the establishment.
    if not known:
        e.cause = "no_identifier"
        e.params = {"login": login, "uai": uai}
        e.action = Action("export_again", uai=uai, login=login, detail="file")
        e.duplicates = _namesake_accounts(ctx, account)
        return e
    if len(pronote_dups) > 1:
        return _pronote_duplicate(e, account, [d.pronote for d in pronote_dups])
    if strong:
        d = strong[0]
        return _proposed_link(e, ctx, account, d.pronote, "not_imported", d)
    ambiguous = [d for d in same if len(_plausible(ctx, d)) > 1]
    if ambiguous:
        logins = tuple(sorted({a.login for d in ambiguous for a in _plausible(ctx, d)}))
        idpns = tuple(d.pronote.idpn for d in ambiguous)
        e.cause = "ambiguous"
        e.params = {
            "pronote": ", ".join(pronote_label(d.pronote) for d in ambiguous),
            "accounts": ", ".join(logins),
        }
        e.action = Action("pick", uai=uai, candidates=logins, idpns=idpns)
        e.duplicates = [{"kind": "duplicate_accounts", "accounts": list(logins)}]
        return e
    if only_me:
        d = only_me[0]
        cause = (
            "guardian_unrecognised"
            if d.pronote.category is Category.RESPONSABLES
            else "unrecognised"
        )
        return _proposed_link(e, ctx, account, d.pronote, cause, d)
    # The person's record may have been linked to a duplicate account of theirs.
    found = _on_duplicate(e, ctx, account)
    if found is not None:
        return found
    if weak:
        e.cause = "uncertain"
        e.params = {
            "login": login,
            "uai": uai,
            "pronote": ", ".join(pronote_label(d.pronote) for d in weak),
        }
        logins = tuple(sorted({c for d in weak for c in d.candidates}))
        e.action = Action(
            "pick", uai=uai, candidates=logins, idpns=tuple(d.pronote.idpn for d in weak)
        )
        return e
    e.cause = "not_in_file"
    e.params = {"login": login, "name": account.display_name, "stored_line": ""}
    e.action = Action("export_again", uai=uai, login=login)
    return e


def _explain_record(query: str, ctx: _Context, p: PronoteAccount) -> Explanation:
    """A Pronote identifier that no account stores: whose is it, per matching?"""
    d = ctx.decision_of(p.idpn)
    plausible = _plausible(ctx, d) if d is not None and not d.recognised else []
    if d is not None and d.recognised and d.login:
        account = ctx.account(d.login)
        if account is not None:
            return _explain_account(query, ctx, account)
    if len(plausible) == 1:
        return _explain_account(query, ctx, plausible[0])
    e = _base(query, ctx, plausible)
    e.in_file[p.idpn] = p
    e.pronote = [p]
    e.decisions = [d] if d is not None else []
    e.left = _left(ctx.record, {p.idpn})
    if plausible:
        logins = tuple(a.login for a in plausible)
        e.cause = "ambiguous"
        e.params = {"pronote": pronote_label(p), "accounts": ", ".join(logins)}
        e.action = Action("pick", uai=ctx.uai, candidates=logins, idpns=(p.idpn,))
        return e
    e.cause = "not_in_directory"
    e.params = {"pronote": pronote_label(p), "uai": ctx.uai}
    if d is not None and d.candidates:
        e.action = Action("pick", uai=ctx.uai, candidates=d.candidates, idpns=(p.idpn,))
    return e
