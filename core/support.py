"""The support desk: why can't this person open Pronote from the ENT?

`explain` looks at one person the way the vendors' FAQ does: the directory
account(s), the identifiers stored on them, the latest identifiers file (given,
or the one the establishment's last journaled import read), what matching
decides for that person and what the last import left, duplicates on both
sides; it names one cause and ONE next action. `status` counts, per category,
what an establishment's directory holds against the latest file.

Precision before recall, as in matching: an action that writes is proposed
only when the evidence names one account; otherwise the action says which
accounts to compare and leaves the choice to a human. Writes go through
`core.wizard.link_account` / `unlink_account` (locked, journaled, undoable).

Like the rest of core/, nothing here imports Textual or an adapter: the
directory is any object with the `Directory` protocol.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import IdpronoteError
from core.i18n import language, register, t
from core.journal import SessionRecord, sessions
from core.matching import Decision, MatchSettings, Reconciliation
from core.memory import DecisionMemory
from core.model import (
    CATEGORIES,
    IDPN_PATTERN,
    Category,
    ChangeOutcome,
    DirectoryAccount,
    PronoteAccount,
)
from core.names import normalise_name
from core.pronote_file import FileSchema, IdentifiersFile, read_identifiers_file
from core.wizard import file_digest, link_account, unlink_account

__all__ = [
    "Action",
    "Explanation",
    "FileInfo",
    "Status",
    "apply_action",
    "explain",
    "status",
]

# The kinds of next action. Only "link" and "unlink" write.
ACTION_KINDS = ("link", "unlink", "export_again", "check_cas_release", "pick", "none")
WRITING = ("link", "unlink")
PICK_LIMIT = 10

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
        # -- actions -----------------------------------------------------------------------
        "support.action.link": (
            "Relier {login} à l'identifiant {idpn} ({uai})",
            "Link {login} to identifier {idpn} ({uai})",
        ),
        "support.action.replace": (
            "Relier {login} à l'identifiant {idpn} ({uai}), à la place de {previous}",
            "Link {login} to identifier {idpn} ({uai}), replacing {previous}",
        ),
        "support.action.unlink": (
            "Retirer l'identifiant {idpn} du compte {login} ({uai})",
            "Remove identifier {idpn} from account {login} ({uai})",
        ),
        "support.action.export_again": (
            "Demander à l'établissement de vérifier la fiche dans Pronote, puis un nouvel "
            "export des identifiants",
            "Ask the school to check the record in Pronote, then to export the identifiers again",
        ),
        "support.action.export_again_file": (
            "Demander à l'établissement l'export des identifiants Pronote, puis relancer "
            "avec --file",
            "Ask the school for the Pronote identifiers export, then run again with --file",
        ),
        "support.action.export_again_merge": (
            "Demander à l'établissement de fusionner les doublons Pronote ({idpns}), puis un "
            "nouvel export des identifiants",
            "Ask the school to merge the duplicate Pronote accounts ({idpns}), then to "
            "export the identifiers again",
        ),
        "support.action.check_cas_release": (
            "Côté CAS : vérifier que le service Pronote reçoit l'attribut idPronote "
            "({value}) pour {login} (règle de diffusion des attributs, nom exact, "
            "valeur de cet établissement)",
            "On the CAS side: check that the Pronote service receives the idPronote "
            "attribute ({value}) for {login} (attribute release rule, exact name, this "
            "establishment's value)",
        ),
        "support.action.pick": (
            "Comparer {accounts} (classes, date de naissance, responsables) et choisir à la "
            "main : aucun lien automatique (puis idpronote link COMPTE IDENTIFIANT --uai "
            "UAI)",
            "Compare {accounts} (classes, birth date, guardians) and choose by hand: no "
            "automatic link (then idpronote link ACCOUNT IDENTIFIER --uai UAI)",
        ),
        "support.action.pick_list": (
            "Choisir un compte : {accounts}",
            "Pick an account: {accounts}",
        ),
        "support.action.none": ("Rien à faire dans idpronote", "Nothing to do in idpronote"),
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
        "support.refused_pick": (
            "cette action ne s'applique pas seule : un humain doit choisir",
            "this action cannot be applied on its own: a human must choose",
        ),
        "support.no_file_for_link": (
            "aucun fichier d'identifiants connu : impossible de vérifier ce lien",
            "no identifiers file known: this link cannot be checked",
        ),
    }
)


# -- what explain returns -----------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """The one next action. `link` and `unlink` write; the others say what a human does.

    `candidates` are the directory logins to compare (pick), `idpns` the Pronote
    identifiers concerned (pick, export_again), `previous` the stale identifier a
    link replaces, `value` the attribute value CAS must release.
    """

    kind: str
    uai: str | None = None
    login: str | None = None
    idpn: str | None = None
    previous: str | None = None
    candidates: tuple[str, ...] = ()
    idpns: tuple[str, ...] = ()
    value: str | None = None
    detail: str = ""  # "file" or "merge" for export_again

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ValueError(f"unknown action {self.kind!r}")

    @property
    def writes(self) -> bool:
        return self.kind in WRITING

    def describe(self) -> str:
        """The action in plain words, in the current language."""
        if self.kind == "link" and self.previous:
            return t(
                "support.action.replace",
                login=self.login,
                idpn=self.idpn,
                uai=self.uai,
                previous=self.previous,
            )
        if self.kind == "export_again" and self.detail:
            return t(f"support.action.export_again_{self.detail}", idpns=", ".join(self.idpns))
        if self.kind == "pick":
            key = "support.action.pick" if self.idpns else "support.action.pick_list"
            return t(key, accounts=", ".join(self.candidates))
        return t(
            f"support.action.{self.kind}",
            login=self.login,
            idpn=self.idpn,
            uai=self.uai,
            value=self.value,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "uai": self.uai,
            "login": self.login,
            "idpn": self.idpn,
            "previous": self.previous,
            "candidates": list(self.candidates),
            "idpns": list(self.idpns),
            "text": self.describe(),
        }


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
                    rule=d.rule,
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
                        outcome=self.last_import.status,
                    )
                )
                for left in self.left:
                    name = f"{left.get('nom', '')} {left.get('prenom', '')}".strip()
                    out.append(
                        t(
                            "support.last_import_left",
                            pronote=f"{name} ({left.get('idpn')})",
                            rule=left.get("rule"),
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
            "decisions": [decision_json(d) for d in self.decisions],
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


def decision_json(d: Decision) -> dict[str, Any]:
    return {
        "idpn": d.pronote.idpn,
        "status": d.status,
        "rule": d.rule,
        "account": d.login,
        "candidates": list(d.candidates),
        "reason": d.explain(),
    }


# -- the latest file -----------------------------------------------------------------------------


def last_import(data_dir: Path | None, uai: str) -> SessionRecord | None:
    """The establishment's last journaled import that read a file (not a link, unlink, undo)."""
    if data_dir is None:
        return None
    found = [r for r in sessions(data_dir, uai) if r.kind == "import" and r.header.get("file")]
    return found[-1] if found else None


def latest_file(
    uai: str,
    export: IdentifiersFile | None,
    record: SessionRecord | None,
    schema: FileSchema | None,
    mode: str | None = None,
) -> tuple[FileInfo, IdentifiersFile | None]:
    """The file to compare with: the one given, else the last import's if still readable."""
    if export is not None:
        return FileInfo("given", str(export.path), mode=mode or "complet"), export
    if record is None:
        return FileInfo("none"), None
    path = Path(record.header["file"])
    recorded_mode = mode or record.header.get("mode", "complet")
    try:
        read = read_identifiers_file(path, schema)
    except (IdpronoteError, OSError) as error:
        return FileInfo("unreadable", str(path), record.session, error=str(error)), None
    expected = record.header.get("file_sha256")
    changed = bool(expected) and file_digest(path) != expected
    return FileInfo("journal", str(path), record.session, changed, mode=recorded_mode), read


# -- names ---------------------------------------------------------------------------------------


def _compact(text: str) -> str:
    return "".join(normalise_name(text).split())


def same_names(p: PronoteAccount | DirectoryAccount, a: DirectoryAccount) -> bool:
    """Same surname and first name once normalised (or the two swapped)."""
    ps, pf = _compact(p.surname), _compact(p.first_name)
    as_, af = _compact(a.surname), _compact(a.first_name)
    return bool(ps) and ((ps, pf) == (as_, af) or (ps, pf) == (af, as_))


def _dates_fit(a: Any, b: Any) -> bool:
    return a is None or b is None or a == b


def _fits(p: PronoteAccount | DirectoryAccount, a: DirectoryAccount) -> bool:
    """Same names, and the same birth date where both have one."""
    return same_names(p, a) and _dates_fit(p.birth_date, a.birth_date)


# -- explain -------------------------------------------------------------------------------------


@dataclass
class _Context:
    """What explain reads once for an establishment."""

    uai: str
    directory: Any
    accounts: list[DirectoryAccount]
    by_login: dict[str, DirectoryAccount]
    file: FileInfo
    export: IdentifiersFile | None
    decisions: list[Decision]
    record: SessionRecord | None

    @property
    def by_idpn(self) -> dict[str, PronoteAccount]:
        return self.export.by_idpn() if self.export is not None else {}

    @property
    def in_file(self) -> set[str] | None:
        return set(self.by_idpn) if self.export is not None else None

    def account(self, login: str) -> DirectoryAccount | None:
        return self.by_login.get(login.casefold())

    def stored(self, account: DirectoryAccount) -> list[str]:
        return self.directory.form.idpns_for(account.identifiers, self.uai)

    def decision_of(self, idpn: str) -> Decision | None:
        return next((d for d in self.decisions if d.pronote.idpn == idpn), None)


def explain(
    directory: Any,
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


def _context(
    directory: Any,
    uai: str,
    export: IdentifiersFile | None,
    data_dir: Path | None,
    mode: str | None,
    settings: MatchSettings | None,
    schema: FileSchema | None,
) -> _Context:
    record = last_import(data_dir, uai)
    info, export = latest_file(uai, export, record, schema, mode)
    accounts = directory.accounts(uai)
    decisions: list[Decision] = []
    if export is not None:
        remembered = DecisionMemory(data_dir).remembered(uai) if data_dir is not None else {}
        reconciliation = Reconciliation(
            uai,
            accounts,
            form=directory.form,
            profiles=directory.profiles,
            mode=info.mode if info.mode in ("complet", "partiel") else "complet",
            settings=settings,
            remembered=remembered,
        )
        decisions = [d for step in reconciliation.run(export.accounts) for d in step.decisions]
    by_login = {a.login.casefold(): a for a in accounts}
    return _Context(uai, directory, accounts, by_login, info, export, decisions, record)


def _stored_per_uai(directory: Any, account: DirectoryAccount) -> dict[str, list[str]]:
    """Identifiers stored on an account, per establishment (all its establishments)."""
    found: dict[str, list[str]] = {}
    for value in account.identifiers:
        parsed = directory.form.parse(value)
        if parsed is None:
            continue
        where, idpn = parsed
        found.setdefault(where or "*", []).append(idpn)
    return found


def _base(query: str, ctx: _Context, accounts: list[DirectoryAccount]) -> Explanation:
    """An explanation with the facts filled in; the caller sets the cause and action."""
    explanation = Explanation(query, ctx.uai, "", Action("none"), file=ctx.file)
    explanation.accounts = accounts
    explanation.stored = {a.login: _stored_per_uai(ctx.directory, a) for a in accounts}
    explanation.last_import = ctx.record
    explanation.file_ids = ctx.in_file
    return explanation


def _related(
    ctx: _Context, account: DirectoryAccount
) -> tuple[list[Decision], list[Decision], list[Decision]]:
    """The decisions about this account: recognised to it, unrecognised with it as a
    same-names candidate, unrecognised with it as another candidate."""
    key = account.login.casefold()
    strong, same, weak = [], [], []
    for d in ctx.decisions:
        if d.recognised and d.login and d.login.casefold() == key:
            strong.append(d)
        elif not d.recognised and key in {c.casefold() for c in d.candidates}:
            (same if same_names(d.pronote, account) else weak).append(d)
    return strong, same, weak


def _plausible(ctx: _Context, d: Decision) -> list[DirectoryAccount]:
    """The candidates of a decision that have the Pronote record's names, and its birth
    date where both have one (a namesake born another year is another person)."""
    found = []
    for login in d.candidates:
        candidate = ctx.account(login)
        if candidate is not None and _fits(d.pronote, candidate):
            found.append(candidate)
    if found:
        return found
    # Only other dates: homonyms, or a typo of the date; a human tells.
    return [
        c
        for login in d.candidates
        if (c := ctx.account(login)) is not None and same_names(d.pronote, c)
    ]


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


def _unique(decisions: Iterable[Decision]) -> list[Decision]:
    seen: dict[str, Decision] = {}
    for d in decisions:
        seen.setdefault(d.pronote.idpn, d)
    return list(seen.values())


def _left(record: SessionRecord | None, idpns: set[str]) -> list[dict[str, Any]]:
    """What the last import left unlinked, for these identifiers (rule, reason, candidates)."""
    if record is None:
        return []
    return [
        {**entry, "category": step}
        for step, entries in record.remaining.items()
        for entry in entries
        if entry.get("idpn") in idpns
    ]


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
        and _dates_fit(p.birth_date, holder.birth_date)
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
    duplicate = _fits(p, holder) and _dates_fit(holder.birth_date, account.birth_date)
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
        and _dates_fit(a.birth_date, account.birth_date)
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
        [h for h in holders if same_names(p, h) and _dates_fit(p.birth_date, h.birth_date)]
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


# -- applying the action -------------------------------------------------------------------------


def apply_action(
    directory: Any,
    action: Action,
    *,
    data_dir: Path | None,
    in_file: Iterable[str] | None = None,
    mode: str = "complet",
) -> ChangeOutcome:
    """Write a `link` or `unlink` action, locked and journaled like every write.

    An unlinked identifier that was remembered as a manual link to that account
    is forgotten too: otherwise the next import would put it back (`remembered`).
    `LinkRefused` (an IdpronoteError) says why a link breaks a rule; any other
    kind of action writes nothing and is refused.
    """
    if not action.writes or not (action.uai and action.login and action.idpn):
        raise IdpronoteError(t("support.refused_pick"))
    if action.kind == "link":
        if in_file is None and action.previous:
            raise IdpronoteError(t("support.no_file_for_link"))
        return link_account(
            directory,
            action.uai,
            action.login,
            action.idpn,
            data_dir=data_dir,
            in_file=in_file,
            mode=mode,
        )
    # unlink_account also forgets a remembered manual link, so the next import keeps it undone.
    return unlink_account(directory, action.uai, action.login, action.idpn, data_dir=data_dir)


# -- status --------------------------------------------------------------------------------------


@dataclass
class CategoryStatus:
    accounts: int = 0
    linked: int = 0
    unlinked: int = 0
    stored_twice: int = 0
    obsolete: int | None = None
    # Guardians only: unlinked guardians with at least one linked child.
    guardians_children_linked: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "accounts": self.accounts,
            "linked": self.linked,
            "unlinked": self.unlinked,
            "stored_twice": self.stored_twice,
            "obsolete": self.obsolete,
        }
        if self.guardians_children_linked is not None:
            data["guardians_children_linked"] = self.guardians_children_linked
        return data


@dataclass
class Status:
    """An establishment at a glance, per category, against the latest file."""

    uai: str
    categories: dict[Category, CategoryStatus]
    file: FileInfo
    last_session: SessionRecord | None
    # Identifiers stored on several accounts: idpn -> logins.
    stored_twice: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> bool:
        """Something to fix: identifiers stored twice or obsolete, guardians left out,
        a session cut in the middle of a write."""
        for c in self.categories.values():
            if c.stored_twice or c.obsolete or c.guardians_children_linked:
                return True
        return self.last_session is not None and self.last_session.unfinished

    def as_json(self) -> dict[str, Any]:
        last = self.last_session
        return {
            "uai": self.uai,
            "categories": {c.slug: s.as_json() for c, s in self.categories.items()},
            "stored_twice": self.stored_twice,
            "file": self.file.as_json(),
            "last_session": None
            if last is None
            else {
                "session": last.session,
                "started": last.started,
                "outcome": last.status,
                "mode": last.header.get("mode"),
            },
        }


def status(
    directory: Any,
    uai: str,
    *,
    export: IdentifiersFile | None = None,
    data_dir: Path | None = None,
    schema: FileSchema | None = None,
) -> Status:
    """Per category: accounts with and without an identifier for `uai`, identifiers stored
    twice, stored identifiers the latest file no longer holds, guardians left out."""
    uai = uai.upper()
    form = directory.form
    accounts = directory.accounts(uai)
    info, export = latest_file(uai, export, last_import(data_dir, uai), schema)
    in_file = {p.idpn for p in export.all_accounts()} if export is not None else None
    check_obsolete = in_file is not None and info.mode != "partiel"
    holders: dict[str, set[str]] = defaultdict(set)
    stored_of: dict[str, list[str]] = {}
    for a in accounts:
        stored_of[a.login.casefold()] = ids = form.idpns_for(a.identifiers, uai)
        for idpn in ids:
            holders[idpn].add(a.login)
    twice = {idpn: sorted(logins) for idpn, logins in holders.items() if len(logins) > 1}
    categories = {c: CategoryStatus() for c in CATEGORIES}
    # Only a category the file holds can have obsolete identifiers (core/matching.py).
    held = {c for c in CATEGORIES if export is not None and export.accounts.get(c)}
    for c in CATEGORIES:
        if check_obsolete and c in held:
            categories[c].obsolete = 0
    categories[Category.RESPONSABLES].guardians_children_linked = 0
    linked_logins = {a.login.casefold() for a in accounts if stored_of[a.login.casefold()]}
    for a in accounts:
        ids = stored_of[a.login.casefold()]
        for c in directory.profiles.categories_of(a.profiles):
            s = categories[c]
            s.accounts += 1
            if ids:
                s.linked += 1
            else:
                s.unlinked += 1
                if c is Category.RESPONSABLES and any(
                    kid.casefold() in linked_logins for kid in a.students
                ):
                    s.guardians_children_linked = (s.guardians_children_linked or 0) + 1
            s.stored_twice += sum(1 for idpn in ids if idpn in twice)
            if check_obsolete and in_file is not None and c in held:
                s.obsolete = (s.obsolete or 0) + sum(1 for idpn in ids if idpn not in in_file)
    every = sessions(data_dir, uai) if data_dir is not None else []
    return Status(uai, categories, info, every[-1] if every else None, twice)
