"""The causes explain names, and the one next action each leads to.

Each builder fills an `Explanation` for one situation (an identifier
stored twice or on someone else's account, a duplicate on either side, a
link the import did not make) and chooses the action: a write only when
the evidence names one account, otherwise the accounts for a human to
compare.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.i18n import register, t
from core.matching import Decision
from core.model import DirectoryAccount, PronoteAccount
from core.names import dates_compatible
from core.support.actions import Action
from core.support.context import _Context, _fits, _stored_per_uai, _unique, same_names
from core.support.explanation import Explanation, pronote_label

register(
    {
        # -- causes ----------------------------------------------------------------------
        "support.cause.ok": (
            "{login} porte l'identifiant {idpn} pour {uai}, et le dernier fichier le donne "
            "bien à {pronote}. Rien n'est à corriger dans l'annuaire.",
            "{login} stores identifier {idpn} for {uai}, and the latest file gives it to "
            "{pronote}. Nothing needs fixing in the directory.",
        ),
        "support.cause.ok_unchecked": (
            "{login} porte l'identifiant {idpn} pour {uai}, seul compte à le porter. Aucun "
            "fichier d'identifiants n'est connu pour vérifier qu'il est toujours valable.",
            "{login} stores identifier {idpn} for {uai}, the only account to store it. No "
            "identifiers file is known to check that it is still valid.",
        ),
        "support.cause.ok_partial": (
            "{login} porte l'identifiant {idpn} pour {uai}, seul compte à le porter ; le "
            "dernier fichier est partiel (seulement les nouveaux) et ne le contient pas, "
            "c'est normal.",
            "{login} stores identifier {idpn} for {uai}, the only account to store it; the "
            "latest file is partial (newcomers only) and does not hold it, as expected.",
        ),
        "support.cause.stored_twice": (
            "L'identifiant {idpn} est enregistré sur plusieurs comptes : {accounts}. "
            "{pronote_line}",
            "Identifier {idpn} is stored on several accounts: {accounts}. {pronote_line}",
        ),
        "support.cause.stale": (
            "{login} porte l'identifiant {old}, d'une ancienne base Pronote : le dernier "
            "fichier ne le contient plus et donne {new} à {pronote}.",
            "{login} stores identifier {old}, from an old Pronote base: the latest file no "
            "longer holds it and gives {new} to {pronote}.",
        ),
        "support.cause.not_in_file": (
            "{stored_line}Le dernier fichier ne contient aucun compte Pronote pour "
            "{name} ({login}).",
            "{stored_line}The latest file holds no Pronote account for {name} ({login}).",
        ),
        "support.cause.not_imported": (
            "{login} n'a pas d'identifiant pour {uai}. Le fichier a {pronote}, reconnu "
            "automatiquement ({why}), mais l'identifiant n'a pas été écrit (import pas fait, "
            "interrompu, ou étape non validée).",
            "{login} has no identifier for {uai}. The file has {pronote}, recognised "
            "automatically ({why}), but the identifier was not written (no import, an "
            "interrupted one, or the step not validated).",
        ),
        "support.cause.unrecognised": (
            "{login} n'a pas d'identifiant pour {uai}. L'import n'a pas reconnu {pronote} : "
            "{why}. Seul ce compte a les mêmes nom et prénom.",
            "{login} has no identifier for {uai}. The import did not recognise {pronote}: "
            "{why}. Only this account has the same names.",
        ),
        "support.cause.guardian_unrecognised": (
            "{login} (responsable) n'a pas d'identifiant pour {uai}. L'import n'a pas reconnu "
            "{pronote} : {why}. Seul ce compte a les mêmes nom et prénom.",
            "{login} (guardian) has no identifier for {uai}. The import did not recognise "
            "{pronote}: {why}. Only this account has the same names.",
        ),
        "support.cause.stored_on_duplicate": (
            "{login} n'a pas d'identifiant pour {uai} : l'identifiant {idpn} de {pronote} est "
            "enregistré sur {holder}, un compte en double (mêmes nom et prénom, date de "
            "naissance compatible).",
            "{login} has no identifier for {uai}: identifier {idpn} of {pronote} is stored "
            "on {holder}, a duplicate account (same names, a birth date that fits).",
        ),
        "support.cause.wrong_identifier": (
            "{login} porte l'identifiant {idpn}, qui est celui de {pronote} (une autre "
            "personne : fuite de données) ; sa propre fiche, {own}, reste sans lien.",
            "{login} stores identifier {idpn}, which belongs to {pronote} (another person: "
            "a data leak); their own record, {own}, is left unlinked.",
        ),
        "support.cause.stored_on_other": (
            "{login} n'a pas d'identifiant pour {uai} : l'identifiant {idpn} de {pronote} est "
            "enregistré sur {holder}, le compte d'une autre personne (fuite de données).",
            "{login} has no identifier for {uai}: identifier {idpn} of {pronote} is stored "
            "on {holder}, another person's account (a data leak).",
        ),
        "support.cause.stored_on_another_person": (
            "{login} ({name}) porte l'identifiant {idpn}, que le dernier fichier donne à "
            "{pronote} : il est enregistré sur le compte d'une autre personne (les noms ne "
            "concordent pas). L'import ne le confirme pas et ne le retire pas seul ; "
            "retirez-le, puis reliez le bon compte.",
            "{login} ({name}) stores identifier {idpn}, which the latest file gives to "
            "{pronote}: it is stored on the account of another person (the names do not "
            "agree). The import neither confirms nor removes it on its own; remove it, then "
            "link the right account.",
        ),
        "support.cause.stored_better_fit": (
            "{login} ({name}) porte l'identifiant {idpn} de {pronote}, mais {better} "
            "correspond mieux (mêmes nom, prénom et date). L'import ne choisit pas seul.",
            "{login} ({name}) stores identifier {idpn} of {pronote}, but {better} fits "
            "better (same names and date). The import does not choose on its own.",
        ),
        "support.cause.pronote_duplicate": (
            "La base Pronote a {count} comptes pour {name} ({login}) : {pronote}. Un seul "
            "peut être relié ; avec l'autre, la connexion échoue.",
            "The Pronote base has {count} accounts for {name} ({login}): {pronote}. Only one "
            "can be linked; with the other one, signing in fails.",
        ),
        "support.cause.ambiguous": (
            "Homonymes : {pronote} ressemble autant à {accounts}. L'import n'a pas choisi, "
            "et ne le fera pas seul.",
            "Homonyms: {pronote} fit {accounts} equally well. The import did not choose, "
            "and will not on its own.",
        ),
        "support.cause.uncertain": (
            "{login} n'a pas d'identifiant pour {uai}. Fiches Pronote proches mais pas "
            "certaines : {pronote}.",
            "{login} has no identifier for {uai}. Close but uncertain Pronote records: {pronote}.",
        ),
        "support.cause.no_identifier": (
            "{login} n'a pas d'identifiant pour {uai}.",
            "{login} has no identifier for {uai}.",
        ),
        "support.cause.not_in_directory": (
            "{pronote} n'a aucun compte dans l'annuaire pour {uai}.",
            "{pronote} has no account in the directory for {uai}.",
        ),
        "support.cause.other_establishment": (
            "{login} n'est pas rattaché à {uai} (établissements : {establishments}).",
            "{login} does not belong to {uai} (establishments: {establishments}).",
        ),
        "support.cause.not_found": (
            "Aucun compte ni identifiant ne correspond à « {query} ».",
            "No account or identifier matches '{query}'.",
        ),
        "support.cause.several": (
            "{count} comptes correspondent à « {query} » : précisez (login ou identifiant).",
            "{count} accounts match '{query}': be more precise (login or identifier).",
        ),
        "support.cause.uai_needed": (
            "{login} est rattaché à plusieurs établissements ({establishments}) : précisez --uai.",
            "{login} belongs to several establishments ({establishments}): give --uai.",
        ),
        "support.stored_line": (
            "{login} porte {idpn}, absent du dernier fichier. ",
            "{login} stores {idpn}, which the latest file no longer holds. ",
        ),
        "support.pronote_line": (
            "Le fichier le donne à {pronote}.",
            "The file gives it to {pronote}.",
        ),
        "support.pronote_absent": (
            "Le dernier fichier ne le contient pas.",
            "The latest file does not hold it.",
        ),
        "support.pronote_unknown": ("Aucun fichier pour le vérifier.", "No file to check it."),
    }
)


def _proposed_link(
    e: Explanation,
    ctx: _Context,
    account: DirectoryAccount,
    p: PronoteAccount,
    cause: str,
    d: Decision,
) -> Explanation:
    """One record names this account alone: link it, unless its identifier sits elsewhere."""
    uai = ctx.uai
    e.in_file[p.idpn] = p
    holders = [
        h
        for h in ctx.directory.holders(p.idpn, uai)
        if h.login.casefold() != account.login.casefold()
    ]
    holder = holders[0] if holders else None
    if (
        holder is not None
        and d.rule == "conflict"
        and d.why == "stored_better_fit"
        and dates_compatible(p.birth_date, holder.birth_date)
    ):
        # The holder is plausible too (a homonym born another day is not: below, it
        # is another person's account): which one is the person is a human's call.
        if holder.login not in {a.login for a in e.accounts}:
            e.accounts.append(holder)
            e.stored[holder.login] = _stored_per_uai(ctx.directory, holder)
        return _stored_conflict(e, holder, p, d)
    if holders:
        return _held_elsewhere(e, ctx, account, p, holders[0])
    e.cause = cause
    e.params = {"login": account.login, "uai": uai, "pronote": pronote_label(p), "why": d.explain()}
    e.action = Action("link", uai=uai, login=account.login, idpn=p.idpn)
    return e


def _held_elsewhere(
    e: Explanation,
    ctx: _Context,
    account: DirectoryAccount,
    p: PronoteAccount,
    holder: DirectoryAccount,
) -> Explanation:
    duplicate = _fits(p, holder) and dates_compatible(holder.birth_date, account.birth_date)
    e.cause = "stored_on_duplicate" if duplicate else "stored_on_other"
    e.params = {
        "login": account.login,
        "uai": e.uai or "",
        "idpn": p.idpn,
        "pronote": pronote_label(p),
        "holder": holder.login,
    }
    e.action = Action("unlink", uai=e.uai, login=holder.login, idpn=p.idpn)
    if duplicate:
        e.duplicates.append(
            {
                "kind": "duplicate_accounts",
                "accounts": [account.login, holder.login],
                "idpn": p.idpn,
            }
        )
    if holder.login not in {a.login for a in e.accounts}:
        e.accounts.append(holder)
        e.stored[holder.login] = _stored_per_uai(ctx.directory, holder)
    return e


def _on_duplicate(e: Explanation, ctx: _Context, account: DirectoryAccount) -> Explanation | None:
    """The file has ONE record with this account's names, linked to another account of
    the same names and birth date: the identifier sits on a duplicate account."""
    records = [d for d in ctx.decisions if _fits(d.pronote, account)]
    if len(records) != 1:
        return None  # several records fit: homonyms, for a human to tell apart
    d = records[0]
    p = d.pronote
    holders = [
        h
        for h in ctx.directory.holders(p.idpn, ctx.uai)
        if h.login.casefold() != account.login.casefold()
    ]
    if len(holders) != 1:
        return None
    holder = holders[0]
    e.decisions = _unique([*e.decisions, d])
    e.pronote = [x.pronote for x in e.decisions]
    e.in_file[p.idpn] = p
    return _held_elsewhere(e, ctx, account, p, holder)


# Matching's reasons for not confirming an identifier an account already stores.
STORED_CONFLICTS = ("stored_on_another_person", "stored_better_fit")


def _stored_conflict(
    e: Explanation, account: DirectoryAccount, p: PronoteAccount, d: Decision
) -> Explanation:
    """The account stores the identifier of a record that matching does not confirm.

    Names that disagree: the account of another person, a leak to stop (unlink,
    then the import links the right one). Names that agree while another
    account fits better: which one is the person is a human's call.
    """
    login, idpn = account.login, p.idpn
    e.in_file[idpn] = p
    e.decisions = _unique([d, *e.decisions])
    e.pronote = [x.pronote for x in e.decisions]
    e.cause = d.why
    others = [c for c in d.candidates if c.casefold() != login.casefold()]
    e.params = {
        "login": login,
        "name": account.display_name,
        "idpn": idpn,
        "pronote": pronote_label(p),
        "better": ", ".join(others) or "—",
    }
    if d.why == "stored_on_another_person":
        e.action = Action("unlink", uai=e.uai, login=login, idpn=idpn)
    else:
        e.action = Action("pick", uai=e.uai, candidates=d.candidates, idpns=(idpn,))
    return e


def _namesake_accounts(ctx: _Context, account: DirectoryAccount) -> list[dict[str, Any]]:
    """Other accounts of the establishment with the same names and a fitting date (no file:
    reported, never acted on)."""
    logins = [
        a.login
        for a in ctx.accounts
        if a.login.casefold() != account.login.casefold()
        and same_names(a, account)
        and dates_compatible(a.birth_date, account.birth_date)
    ]
    if not logins:
        return []
    return [{"kind": "duplicate_accounts", "accounts": [account.login, *sorted(logins)]}]


def _stored_twice(
    e: Explanation,
    ctx: _Context,
    account: DirectoryAccount,
    idpn: str,
    holders: list[DirectoryAccount],
) -> Explanation:
    """One identifier on several accounts: remove it from those that are not its person."""
    uai = ctx.uai
    logins = sorted(h.login for h in holders)
    for h in holders:
        if h.login not in {a.login for a in e.accounts}:
            e.accounts.append(h)
            e.stored[h.login] = _stored_per_uai(ctx.directory, h)
    e.duplicates.append({"kind": "stored_twice", "idpn": idpn, "accounts": logins})
    p = ctx.by_idpn.get(idpn) if ctx.export is not None else None
    if ctx.export is None:
        line = t("support.pronote_unknown")
    elif p is None:
        line = t("support.pronote_absent")
    else:
        line = t("support.pronote_line", pronote=pronote_label(p))
    e.cause = "stored_twice"
    e.params = {"idpn": idpn, "accounts": ", ".join(logins), "pronote_line": line}
    right = (
        [h for h in holders if same_names(p, h) and dates_compatible(p.birth_date, h.birth_date)]
        if p is not None
        else []
    )
    if len(right) == 1:
        wrong = sorted(h.login for h in holders if h.login != right[0].login)
        e.action = Action("unlink", uai=uai, login=wrong[0], idpn=idpn)
    else:
        e.action = Action("pick", uai=uai, candidates=tuple(logins), idpns=(idpn,))
    return e


def _pronote_duplicate(
    e: Explanation, account: DirectoryAccount, records: Sequence[PronoteAccount]
) -> Explanation:
    idpns = tuple(p.idpn for p in records)
    e.cause = "pronote_duplicate"
    e.params = {
        "count": str(len(records)),
        "name": account.display_name,
        "login": account.login,
        "pronote": ", ".join(pronote_label(p) for p in records),
    }
    e.duplicates.append({"kind": "pronote_duplicate", "login": account.login, "idpns": list(idpns)})
    for p in records:
        e.in_file.setdefault(p.idpn, p)
    e.action = Action("export_again", uai=e.uai, login=account.login, idpns=idpns, detail="merge")
    return e
