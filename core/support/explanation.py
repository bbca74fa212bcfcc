"""What explain returns: the `Explanation`, the file it compared with, their words and JSON.

`Explanation.lines` is the text report (the cause and the next action
first: what the person on the phone needs), `as_json` CONTRACT.md's
`explain` object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.i18n import language, register, t, word
from core.journal import SessionRecord
from core.matching import Decision, decision_json
from core.model import DirectoryAccount, PronoteAccount
from core.support.actions import Action

register(
    {
        # -- the text report ---------------------------------------------------------------
        "support.heading": ("Explication pour « {query} »", "Explanation for '{query}'"),
        "support.accounts": ("Compte(s) de l'annuaire :", "Directory account(s):"),
        "support.no_stored": ("aucun identifiant", "no identifier"),
        "support.file": ("Dernier fichier : {path} ({source})", "Latest file: {path} ({source})"),
        "support.file_given": ("fichier donné", "the file given"),
        "support.file_journal": (
            "celui de la session {session}",
            "the one of session {session}",
        ),
        "support.file_none": (
            "Dernier fichier : aucun (le journal n'en enregistre pas pour {uai})",
            "Latest file: none (the journal records none for {uai})",
        ),
        "support.file_missing": (
            "Dernier fichier : {path} (session {session}) n'est plus lisible : {error}",
            "Latest file: {path} (session {session}) can no longer be read: {error}",
        ),
        "support.file_changed": (
            "  (le fichier a changé depuis la session {session})",
            "  (the file changed since session {session})",
        ),
        "support.in_file": (
            "  {idpn} : dans le fichier, {pronote}",
            "  {idpn}: in the file, {pronote}",
        ),
        "support.not_in_file": ("  {idpn} : absent du fichier", "  {idpn}: not in the file"),
        "support.decision": (
            "Rapprochement de {pronote} : {status} ({rule}) {why}",
            "Matching of {pronote}: {status} ({rule}) {why}",
        ),
        "support.decision_candidates": ("  à examiner : {logins}", "  look at: {logins}"),
        "support.last_import": (
            "Dernier import : {session} ({outcome})",
            "Last import: {session} ({outcome})",
        ),
        "support.last_import_left": (
            "  laissé sans lien : {pronote} ({rule})",
            "  left unlinked: {pronote} ({rule})",
        ),
        "support.no_import": ("Dernier import : aucun journalisé", "Last import: none journaled"),
        "support.duplicates": ("Doublons :", "Duplicates:"),
        "support.dup.stored_twice": (
            "  {idpn} enregistré sur {accounts}",
            "  {idpn} stored on {accounts}",
        ),
        "support.dup.pronote": (
            "  {login} : plusieurs comptes Pronote ({idpns})",
            "  {login}: several Pronote accounts ({idpns})",
        ),
        "support.dup.account": (
            "  comptes en double : {accounts}",
            "  duplicate accounts: {accounts}",
        ),
        "support.cause": ("Cause : {text}", "Cause: {text}"),
        "support.next": ("Action suivante : {text}", "Next action: {text}"),
        "support.recognised": ("reconnu", "recognised"),
        "support.unrecognised": ("non reconnu", "unrecognised"),
    }
)


@dataclass(frozen=True)
class FileInfo:
    """The identifiers file explain compared with, and where it came from.

    `source`: "given" (--file), "journal" (the last import's file, still
    readable), "unreadable" (recorded but gone or unusable), "none".
    """

    source: str
    path: str | None = None
    session: str | None = None
    changed: bool = False  # the recorded file's content differs from what the session read
    error: str | None = None
    mode: str = "complet"

    def describe(self, uai: str) -> list[str]:
        if self.source == "none":
            return [t("support.file_none", uai=uai)]
        if self.source == "unreadable":
            return [
                t("support.file_missing", path=self.path, session=self.session, error=self.error)
            ]
        how = (
            t("support.file_given")
            if self.source == "given"
            else t("support.file_journal", session=self.session)
        )
        lines = [t("support.file", path=self.path, source=how)]
        if self.changed:
            lines.append(t("support.file_changed", session=self.session))
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "path": self.path,
            "session": self.session,
            "changed": self.changed,
            "error": self.error,
            "mode": self.mode,
        }


@dataclass
class Explanation:
    """Everything explain found about one person, the cause, and the next action."""

    query: str
    uai: str | None
    cause: str
    action: Action
    params: dict[str, str] = field(default_factory=dict)
    accounts: list[DirectoryAccount] = field(default_factory=list)
    # login -> uai -> identifiers stored (the directory's value form)
    stored: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    file: FileInfo = field(default_factory=lambda: FileInfo("none"))
    # identifier -> its Pronote record in the latest file (None: not in it)
    in_file: dict[str, PronoteAccount | None] = field(default_factory=dict)
    pronote: list[PronoteAccount] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    last_import: SessionRecord | None = None
    left: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    # Every identifier of the latest file (None: no file known), for link checks.
    file_ids: set[str] | None = None

    @property
    def ok(self) -> bool:
        return self.cause.startswith("ok")

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        return 2 if self.cause == "uai_needed" else 1

    def cause_text(self) -> str:
        return t(f"support.cause.{self.cause}", **self.params)

    def lines(self) -> list[str]:
        """The explanation in plain words (names as read: the caller makes them printable)."""
        out = [t("support.heading", query=self.query)]
        # What the person on the phone needs first: the cause and what to do.
        out.append(t("support.cause", text=self.cause_text()))
        out.append(t("support.next", text=self.action.describe()))
        out.append("")
        if self.accounts:
            out.append(t("support.accounts"))
            for account in self.accounts:
                out.append(f"  {account.login} — {account.display_name}{_born(account)}")
                per_uai = self.stored.get(account.login, {})
                for uai in sorted(per_uai) or [self.uai or ""]:
                    ids = per_uai.get(uai, [])
                    shown = ", ".join(ids) if ids else t("support.no_stored")
                    out.append(f"    {uai} : {shown}")
        if self.uai and self.cause not in ("not_found", "several", "uai_needed"):
            out += self.file.describe(self.uai)
            for idpn, record in self.in_file.items():
                if record is None:
                    out.append(t("support.not_in_file", idpn=idpn))
                else:
                    out.append(t("support.in_file", idpn=idpn, pronote=pronote_label(record)))
        for d in self.decisions:
            status = t("support.recognised") if d.recognised else t("support.unrecognised")
            why = d.explain()
            out.append(
                t(
                    "support.decision",
                    pronote=pronote_label(d.pronote),
                    status=status,
                    rule=word("rule", d.rule),
                    why=f"— {why}" if why else "",
                )
            )
            if d.candidates and not d.recognised:
                out.append(t("support.decision_candidates", logins=", ".join(d.candidates)))
        if self.uai and self.cause not in ("not_found", "several", "uai_needed"):
            if self.last_import is None:
                out.append(t("support.no_import"))
            else:
                out.append(
                    t(
                        "support.last_import",
                        session=self.last_import.session,
                        outcome=word("outcome", self.last_import.status),
                    )
                )
                for left in self.left:
                    name = f"{left.get('nom', '')} {left.get('prenom', '')}".strip()
                    out.append(
                        t(
                            "support.last_import_left",
                            pronote=f"{name} ({left.get('idpn')})",
                            rule=word("rule", left.get("rule")),
                        )
                    )
        if self.duplicates:
            out.append(t("support.duplicates"))
            for dup in self.duplicates:
                if dup["kind"] == "stored_twice":
                    out.append(
                        t(
                            "support.dup.stored_twice",
                            idpn=dup["idpn"],
                            accounts=", ".join(dup["accounts"]),
                        )
                    )
                elif dup["kind"] == "pronote_duplicate":
                    out.append(
                        t("support.dup.pronote", login=dup["login"], idpns=", ".join(dup["idpns"]))
                    )
                else:
                    out.append(t("support.dup.account", accounts=", ".join(dup["accounts"])))
        return out

    def as_json(self) -> dict[str, Any]:
        """CONTRACT.md's `explain` object (next_action is the words; action the typed form)."""
        return {
            "query": self.query,
            "uai": self.uai,
            "accounts": [
                {
                    "login": a.login,
                    "nom": a.surname,
                    "prenom": a.first_name,
                    "date_naissance": a.birth_date.isoformat() if a.birth_date else None,
                    "profils": list(a.profiles),
                    "uai": list(a.establishments),
                    "classes": list(a.classes),
                    "idpronote": list(a.identifiers),
                    "stored": self.stored.get(a.login, {}),
                }
                for a in self.accounts
            ],
            "file": self.file.as_json(),
            "in_file": {
                idpn: (None if p is None else pronote_json(p)) for idpn, p in self.in_file.items()
            },
            "pronote": [pronote_json(p) for p in self.pronote],
            "decisions": [explained_decision_json(d) for d in self.decisions],
            "last_import": None
            if self.last_import is None
            else {
                "session": self.last_import.session,
                "started": self.last_import.started,
                "outcome": self.last_import.status,
                "left_unlinked": self.left,
            },
            "duplicates": self.duplicates,
            "cause": self.cause,
            "explanation": self.cause_text(),
            "next_action": self.action.describe(),
            "action": self.action.as_json(),
        }


def _born(account: DirectoryAccount) -> str:
    return f", {account.birth_date.strftime('%d/%m/%Y')}" if account.birth_date else ""


def pronote_label(p: PronoteAccount) -> str:
    born = f", {p.birth_date.strftime('%d/%m/%Y')}" if p.birth_date else ""
    klass = f", {p.class_name}" if p.class_name else ""
    category = p.category.label(language()).lower()
    return f"{p.display_name} ({category}{klass}{born}, {p.idpn})"


def pronote_json(p: PronoteAccount) -> dict[str, Any]:
    return {
        "idpn": p.idpn,
        "categorie": p.category.slug,
        "nom": p.surname,
        "prenom": p.first_name,
        "date_naissance": p.birth_date.isoformat() if p.birth_date else None,
        "classe": p.class_name,
        "line": p.line,
    }


def explained_decision_json(d: Decision) -> dict[str, Any]:
    """A decision as `explain` shows it: the report's fields (core/matching's
    `decision_json`) that say who was linked and how, and the reason in words."""
    full = decision_json(d)
    return {k: full[k] for k in ("idpn", "status", "rule", "account", "candidates")} | {
        "reason": d.explain()
    }
