"""The headless commands' words (French, English): what `inspect`, `match`, `apply`,
`batch`, `history`, `undo`, `search`, `linked`, `unlink` and `demo` print.

Registered on import into `core.i18n`'s catalogue, which keeps the domain's words
(the file's problems, the matching's reasons, the rules, the outcomes). Every
module of `cli/` that says one of these imports this one
(`tests/test_cli_words.py` checks it).
"""

from core.i18n import register

# key: (français, English). Placeholders use str.format names.
WORDS: dict[str, tuple[str, str]] = {
    # -- inspect -------------------------------------------------------------------
    "inspect.file": ("Fichier", "File"),
    "inspect.establishment": ("Établissement", "Establishment"),
    "inspect.date": ("Date de l'export", "Export date"),
    "inspect.encoding": ("Encodage", "Encoding"),
    "inspect.counts": ("Comptes par catégorie", "Accounts per category"),
    "inspect.total": ("Total", "Total"),
    "inspect.problems": ("Problèmes ({count})", "Problems ({count})"),
    "inspect.no_problem": ("Aucun problème.", "No problem."),
    "inspect.unknown": ("inconnu", "unknown"),
    # -- command line ----------------------------------------------------------------
    "cli.interrupted": ("interrompu", "interrupted"),
    "cli.written": ("écrit dans {path}", "written to {path}"),
    "cli.format_unsupported": (
        "le format {format} n'existe pas pour cette commande (possibles : {allowed})",
        "format {format} is not available for this command (allowed: {allowed})",
    ),
    # -- idpronote match ----------------------------------------------------------------
    "match.other_uai": (
        "{file} : ce fichier est celui de l'établissement {file_uai}, pas de {uai}",
        "{file}: this file is for establishment {file_uai}, not {uai}",
    ),
    "match.heading": (
        "Rapprochement automatique — établissement {uai}, mode {mode}, fichier {file}",
        "Automatic reconciliation — establishment {uai}, mode {mode}, file {file}",
    ),
    "match.col_step": ("Étape", "Step"),
    "match.col_recognised": ("reconnus", "recognised"),
    "match.col_unrecognised": ("non reconnus", "unrecognised"),
    "match.col_obsolete": ("obsolètes", "obsolete"),
    "match.by_rule": ("Reconnus, par règle :", "Recognised, by rule:"),
    "match.unrecognised_in": (
        "Non reconnus et obsolètes — {step} :",
        "Unrecognised and obsolete — {step}:",
    ),
    "match.candidates": ("à examiner : {logins}", "look at: {logins}"),
    "match.obsolete_reason": (
        "identifiant de l'établissement absent du fichier",
        "identifier of the establishment no longer in the file",
    ),
    "match.kept_absent_reason": (
        "gardé : le fichier ne contient aucun compte de cette catégorie",
        "kept: the file holds no account of this category",
    ),
    "match.nothing_written": (
        "Simulation : rien n'a été écrit ({seconds} s).",
        "Dry run: nothing was written ({seconds} s).",
    ),
    # -- search, linked, unlink ----------------------------------------------------------
    "search.count": ("{count} compte(s) pour « {query} »", "{count} account(s) for '{query}'"),
    "linked.count": (
        "{count} identifiant(s) importé(s) pour l'établissement {uai}",
        "{count} identifier(s) imported for establishment {uai}",
    ),
    "unlink.no_account": (
        "aucun compte « {login} » dans l'annuaire",
        "no account '{login}' in the directory",
    ),
    "unlink.nothing": (
        "aucun identifiant de cet établissement n'est stocké ; rien à retirer",
        "no identifier of this establishment is stored; nothing to remove",
    ),
    "unlink.confirm": (
        "Retirer l'identifiant {idpn} du compte {login} pour {uai} ?",
        "Remove identifier {idpn} from account {login} for {uai}?",
    ),
    "unlink.cancelled": ("annulé ; rien n'a été écrit", "cancelled; nothing was written"),
    "unlink.done": ("identifiant retiré", "identifier removed"),
    "cli.needs_yes": (
        "pas de terminal pour confirmer : ajoutez --yes pour le faire quand même",
        "no terminal to confirm on: add --yes to go ahead",
    ),
    "cli.uai_required": (
        "précisez l'établissement avec --uai (ex. --uai 0441234A)",
        "name the establishment with --uai (e.g. --uai 0441234A)",
    ),
    # -- apply, history, undo -----------------------------------------------------------
    "apply.heading": (
        "Import automatique — établissement {uai}, mode {mode}, session {session}",
        "Automatic import — establishment {uai}, mode {mode}, session {session}",
    ),
    "apply.dry_run": (
        "Simulation d'import (rien n'est écrit) — établissement {uai}, mode {mode}",
        "Import dry run (nothing is written) — establishment {uai}, mode {mode}",
    ),
    "apply.col_written": ("écrits", "written"),
    "apply.nothing_to_resume": (
        "aucune session interrompue à reprendre pour {uai}",
        "no interrupted session to resume for {uai}",
    ),
    "apply.not_written": ("non traitée", "not processed"),
    "apply.col_planned": ("à écrire", "to write"),
    "apply.undo_hint": (
        "Pour revenir en arrière : idpronote undo {session}",
        "To revert it: idpronote undo {session}",
    ),
    "history.count": ("{count} session(s)", "{count} session(s)"),
    "history.remaining": (
        "{count} compte(s) restent à relier dans la session {session}",
        "{count} account(s) left to link in session {session}",
    ),
    "history.written": ("{count} écrit(s)", "{count} written"),
    "history.failed": ("{count} échec(s)", "{count} failed"),
    "history.undone_by": ("annulée par {session}", "undone by {session}"),
    "history.undo_of": ("annule {session}", "undoes {session}"),
    "undo.not_an_import": (
        "la session {session} n'est pas un import ; seul un import peut être annulé",
        "session {session} is not an import; only an import can be undone",
    ),
    "undo.confirm": (
        "Annuler la session {session} ({count} écriture(s) pour {uai}) ?",
        "Undo session {session} ({count} write(s) for {uai})?",
    ),
    # -- the manual choices a resume dropped, the demo -------------------------------
    "apply.draft_note": ("  ! {note}", "  ! {note}"),
    "demo.reset_done": (
        "Copie de démonstration remise à neuf dans {path}.",
        "Demo copy reset in {path}.",
    ),
    "demo.kept_in": (
        "La copie de démonstration (et ses sessions) reste dans {path} ; relancez "
        "idpronote demo pour la retrouver, idpronote demo --reset pour repartir de zéro.",
        "The demo copy (and its sessions) stays in {path}; run idpronote demo again to "
        "find it, idpronote demo --reset to start afresh.",
    ),
    # Beside the rules' words (core/i18n.py), at most 18 characters: `match` prints it
    # at the end of an 80-column line.
    "match.obsolete": ("obsolète", "obsolete"),
    # -- idpronote batch ---------------------------------------------------------------
    "batch.one_input": (
        "donnez un dossier (idpronote batch DOSSIER) ou un manifeste (--manifest FICHIER), "
        "pas les deux",
        "give a folder (idpronote batch DIR) or a manifest (--manifest FILE), not both",
    ),
    "batch.bad_jobs": (
        "--jobs {jobs} : au moins 1 établissement à la fois",
        "--jobs {jobs}: at least 1 establishment at a time",
    ),
    "batch.nothing_to_resume": (
        "aucun lot interrompu sur {source} à reprendre",
        "no interrupted batch over {source} to resume",
    ),
    "batch.outcome.completed": ("terminé", "done"),
    "batch.outcome.left_for_human": ("à compléter", "left for a human"),
    "batch.outcome.failed": ("échec", "failed"),
    "batch.failed_line": ("échec : {reason}", "failed: {reason}"),
    "batch.progress": (
        "{outcome} : {recognised} reconnu(s), {left} pour un humain, {written} écrit(s), "
        "{refused} refusé(s), {removed} retiré(s) ; session {session} ({seconds} s)",
        "{outcome}: {recognised} recognised, {left} left for a human, {written} written, "
        "{refused} refused, {removed} removed; session {session} ({seconds} s)",
    ),
    "batch.heading": (
        "Import par lot — {count} établissement(s), mode {mode}, lot {batch}",
        "Batch import — {count} establishment(s), mode {mode}, batch {batch}",
    ),
    "batch.col_name": ("établissement", "establishment"),
    "batch.col_recognised": ("reconnus", "recogn."),
    "batch.col_left": ("humain", "human"),
    "batch.col_written": ("écrits", "written"),
    "batch.col_refused": ("refusés", "refused"),
    "batch.col_removed": ("retirés", "removed"),
    "batch.earlier": ("passe précédente", "earlier run"),
    "batch.resumed": ("session reprise", "session resumed"),
    "batch.session": ("session {session}", "session {session}"),
    "batch.more_errors": ("… et {count} de plus", "… and {count} more"),
    "batch.total": (
        "{completed} terminé(s), {left} à compléter par un humain, {failed} en échec ; "
        "{written} identifiant(s) écrit(s), {removed} retiré(s)",
        "{completed} done, {left} left for a human, {failed} failed; {written} identifier(s) "
        "written, {removed} removed",
    ),
    "batch.resume_hint": (
        "Après correction, relancez avec --resume : seuls les établissements non terminés "
        "sont repris.",
        "Once fixed, run it again with --resume: only the establishments not done are run.",
    ),
    "batch.undo_hint": (
        "Annuler l'import d'un établissement : idpronote undo SESSION",
        "To undo one establishment's import: idpronote undo SESSION",
    ),
}

register(WORDS)
