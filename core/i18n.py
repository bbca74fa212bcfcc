"""French by default, English on request: one catalogue for the CLI and the TUI.

Messages are looked up by key when they are shown, not when they are made, so
a problem found while reading the file renders in whatever language the
report is printed in.

This module holds the domain's words (the file's problems, the rules and
outcomes, the configuration's checks, what the wizard, journal and batch say)
and those both interfaces say. Other words live beside the code that says
them and are added with `register()` when their module is imported: the
matching's reasons (`core/matching/reasons.py`), the commands' (`cli/words.py`),
the screens', the adapters'.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("fr", "en")
_language = "fr"

# key: (français, English). Placeholders use str.format names.
CATALOGUE: dict[str, tuple[str, str]] = {
    # -- problems found in the identifiers file --------------------------------
    "problem.missing_idpn": (
        "{who} : aucun identifiant Pronote (IDPN) ; compte ignoré",
        "{who}: no Pronote identifier (IDPN); record skipped",
    ),
    "problem.invalid_idpn": (
        "{who} : identifiant Pronote « {idpn} » invalide (16 lettres majuscules "
        "ou chiffres attendus) ; compte ignoré",
        "{who}: invalid Pronote identifier '{idpn}' (16 upper-case letters or digits "
        "expected); record skipped",
    ),
    "problem.duplicate_idpn_same": (
        "{who} : identifiant {idpn} déjà vu ligne {first} pour la même personne ; doublon ignoré",
        "{who}: identifier {idpn} already seen on line {first} for the same person; "
        "duplicate skipped",
    ),
    "problem.duplicate_idpn_conflict": (
        "{who} : identifiant {idpn} porté aussi par {others} ; aucun des deux n'est "
        "importé, faites vérifier la base Pronote",
        "{who}: identifier {idpn} also carried by {others}; neither is imported, "
        "have the school check its Pronote base",
    ),
    "problem.unknown_guardian": (
        "{who} : responsable Ident={key} introuvable dans le fichier ; lien ignoré",
        "{who}: guardian Ident={key} not found in the file; link ignored",
    ),
    "problem.invalid_date": (
        "{who} : date de naissance « {value} » illisible (jj/mm/aaaa ou aaaa-mm-jj) ; "
        "importé sans date",
        "{who}: unreadable birth date '{value}' (dd/mm/yyyy or yyyy-mm-dd); loaded without a date",
    ),
    "problem.unknown_element": (
        "élément <{name}> inconnu ignoré ({count} fois) ; s'il contient des comptes, "
        "déclarez son nom dans [file.elements] de config.toml",
        "unknown element <{name}> ignored ({count} times); if it holds accounts, "
        "declare its name under [file.elements] in config.toml",
    ),
    "problem.missing_name": (
        "{who} : ni nom ni prénom ; seul un identifiant CAS ou un lien existant "
        "pourra le reconnaître",
        "{who}: neither surname nor first name; only a CAS login or an existing "
        "link can recognise it",
    ),
    "problem.field_too_long": (
        "{who} : champ {field} de {length} caractères (maximum {limit}) ; compte ignoré",
        "{who}: field {field} is {length} characters long (maximum {limit}); record skipped",
    ),
    "problem.control_characters": (
        "{who} : caractères de contrôle dans {field} (affichés échappés)",
        "{who}: control characters in {field} (shown escaped)",
    ),
    "problem.duplicate_ident": (
        "{who} : Ident={key} déjà utilisé ligne {first} ; les liens élève→responsable "
        "vers cet Ident sont ambigus et ignorés",
        "{who}: Ident={key} already used on line {first}; student→guardian links to "
        "this Ident are ambiguous and ignored",
    ),
    "problem.encoding_mismatch": (
        "le fichier se déclare {declared} mais son contenu est de l'UTF-8 : les noms "
        "accentués sont mal encodés (réparés pour la comparaison)",
        "the file declares {declared} but its content is UTF-8: accented names are "
        "mis-encoded (repaired for comparison)",
    ),
    "problem.missing_uai": (
        "le fichier n'indique pas d'UAI d'établissement ; précisez --uai",
        "the file names no establishment UAI; pass --uai",
    ),
    "problem.uai_mismatch": (
        "le contenu est celui de l'établissement {uai}, l'enveloppe chiffrée dit {envelope} ; "
        "vérifiez que c'est le bon fichier",
        "the content is establishment {uai}'s, the encrypted envelope says {envelope}; "
        "check that this is the right file",
    ),
    # -- unusable files (exit 2) -------------------------------------------------
    "file.not_found": ("{path} : fichier introuvable", "{path}: no such file"),
    "file.not_regular": (
        "{path} : ce n'est pas un fichier ordinaire",
        "{path}: not a regular file",
    ),
    "file.unreadable": ("{path} : lecture impossible ({error})", "{path}: cannot read ({error})"),
    "file.too_large": (
        "{path} : {size} Mo dépasse la limite de {limit} Mo (file.max_size_mb dans "
        "config.toml) ; un fichier d'identifiants Pronote fait quelques Mo",
        "{path}: {size} MB exceeds the {limit} MB limit (file.max_size_mb in "
        "config.toml); a Pronote identifiers file is a few MB",
    ),
    "file.empty": ("{path} : fichier vide", "{path}: empty file"),
    "file.not_xml": (
        "{path}, ligne {line} : XML illisible ({error}) ; réexportez le fichier depuis Pronote",
        "{path}, line {line}: not readable XML ({error}); export the file again from Pronote",
    ),
    "file.dtd": (
        "{path}, ligne {line} : le fichier déclare une DTD ou des entités ; un export "
        "Pronote n'en contient pas, fichier refusé",
        "{path}, line {line}: the file declares a DTD or entities; a Pronote export has "
        "none, file refused",
    ),
    "file.not_utf8": (
        "{path}, ligne {line} : octets invalides en UTF-8 et aucun encodage déclaré ; "
        'ajoutez la déclaration (<?xml version="1.0" encoding="ISO-8859-1"?>) ou '
        "réexportez en UTF-8",
        "{path}, line {line}: invalid UTF-8 bytes and no declared encoding; add the "
        'declaration (<?xml version="1.0" encoding="ISO-8859-1"?>) or export '
        "again as UTF-8",
    ),
    "file.bad_encoding": (
        "{path}, ligne {line} : octets invalides pour l'encodage déclaré {encoding} ; "
        "la déclaration ne correspond pas au contenu",
        "{path}, line {line}: bytes invalid in the declared encoding {encoding}; "
        "the declaration does not match the content",
    ),
    "file.unknown_encoding": (
        "{path} : encodage déclaré « {encoding} » inconnu",
        "{path}: unknown declared encoding '{encoding}'",
    ),
    "file.no_accounts": (
        "{path} : aucun compte reconnu ; si les éléments portent d'autres noms, "
        "déclarez-les dans [file.elements] de config.toml",
        "{path}: no account found; if the elements have other names, declare them "
        "under [file.elements] in config.toml",
    ),
    # -- said by both interfaces (the CLI's other words are in cli/words.py) -----------
    "inspect.line": ("ligne {line}", "line {line}"),
    # -- command line ----------------------------------------------------------------
    "cli.internal_error": (
        "erreur interne : {error} ; détails dans {log}",
        "internal error: {error}; details in {log}",
    ),
    # -- a file without a valid establishment, identifiers kept (match, batch, the TUI) -
    "match.no_uai": (
        "{file} : le fichier ne dit pas son établissement ; précisez --uai",
        "{file}: the file does not name its establishment; pass --uai",
    ),
    "match.invalid_uai": (
        "{file} : son code d'établissement est invalide ({value}) ; rien n'est fait, "
        "demandez un nouvel export à l'établissement",
        "{file}: its establishment code is invalid ({value}); nothing is done, ask the "
        "school for a new export",
    ),
    "match.kept_absent": (
        "{category} : {count} identifiant(s) stocké(s) gardé(s) : le fichier ne contient "
        "aucun compte de cette catégorie, il ne peut pas dire lesquels sont obsolètes",
        "{category}: {count} stored identifier(s) kept: the file holds no account of this "
        "category, so it cannot tell which are obsolete",
    ),
    # -- the wizard, the journal, remembered decisions ----------------------------------
    "wizard.ended": (
        "cette session d'import est terminée",
        "this import session has ended",
    ),
    "wizard.not_in_step": (
        "l'identifiant {idpn} n'appartient pas à l'étape en cours",
        "identifier {idpn} is not in the current step",
    ),
    "wizard.no_account": (
        "aucun compte « {login} » dans l'annuaire",
        "no account '{login}' in the directory",
    ),
    "wizard.stored_elsewhere": (
        "l'identifiant {idpn} est déjà stocké sur {accounts} : retirez-le d'abord",
        "identifier {idpn} is already stored on {accounts}: remove it there first",
    ),
    "wizard.taken_in_step": (
        "le compte {login} est déjà relié à {idpn} dans cette étape",
        "account {login} is already linked to {idpn} in this step",
    ),
    "wizard.account_holds": (
        "le compte {login} porte déjà un autre identifiant de l'établissement ({stored})",
        "account {login} already holds another identifier of the establishment ({stored})",
    ),
    "wizard.resume_other_file": (
        "la session {session} a été commencée avec un autre fichier d'identifiants ; "
        "reprenez-la avec le même fichier",
        "session {session} was started with another identifiers file; resume it with the same file",
    ),
    "journal.no_session": (
        "aucune session « {session} » dans l'historique (idpronote history)",
        "no session '{session}' in the history (idpronote history)",
    ),
    "journal.locked": (
        "l'établissement {uai} est en cours d'import par {user} sur {host} (processus {pid}) "
        "depuis {since} ; attendez la fin de cet import",
        "establishment {uai} is being imported by {user} on {host} (process {pid}) since "
        "{since}; wait until that import ends",
    ),
    "memory.unreadable": (
        "{path} : décisions mémorisées illisibles ({error})",
        "{path}: remembered decisions cannot be read ({error})",
    ),
    # -- apply (core/automatic.py) -------------------------------------------------------
    "apply.cut_session": (
        "la session {session} de {uai} a été coupée pendant une écriture : terminez-la avec "
        "--resume (ou dans l'assistant, F5) avant d'en commencer une autre",
        "session {session} of {uai} was cut while writing: finish it with --resume (or in "
        "the wizard, F5) before starting another",
    ),
    # issue 16: nothing lost
    "wizard.draft_dropped": (
        "choix de l'étape {step} abandonné à la reprise : {what} — {reason}",
        "choice of step {step} dropped on resume: {what} — {reason}",
    ),
    "wizard.draft_link": ("lien manuel de {idpn} vers {login}", "manual link of {idpn} to {login}"),
    "wizard.draft_clear": ("lien de {idpn} effacé ou refusé", "link of {idpn} cleared or rejected"),
    "wizard.draft_restore": (
        "lien automatique de {idpn} rétabli",
        "automatic link of {idpn} restored",
    ),
    "wizard.draft_keep": ("{idpn} gardé sur {login}", "{idpn} kept on {login}"),
    "wizard.draft_remove": ("{idpn} à retirer de {login}", "{idpn} to be removed from {login}"),
    "wizard.draft_not_obsolete": (
        "{login} ne porte plus {idpn} comme identifiant obsolète",
        "{login} no longer holds {idpn} as an obsolete identifier",
    ),
    "wizard.draft_restored": (
        "Reprise : {count} choix manuel(s) de l'étape repris du journal, {dropped} abandonné(s).",
        "Resumed: {count} manual choice(s) of the step brought back from the journal, "
        "{dropped} dropped.",
    ),
    "wizard.not_sent": (
        "non envoyé : l'annuaire a fait défaut plus tôt dans l'étape ({reason})",
        "not sent: the directory failed earlier in the step ({reason})",
    ),
    # issue 18: LDAP lock
    "lock.lease_lapsed": (
        "le verrou {where} n'a pas pu être renouvelé à temps ({why}) : une "
        "autre session a pu le prendre ; rien de plus n'est écrit, reprenez la session "
        "(idpronote apply --resume) quand l'annuaire répond",
        "lock {where} could not be renewed in time ({why}): another "
        "session may have taken it; nothing more is written, resume the session (idpronote "
        "apply --resume) once the directory answers",
    ),
    "lock.schema_hint": (
        "créez-le et donnez au compte d'idpronote le droit d'y écrire "
        "(directory_adapters/schema/README.md, « Le verrou dans l'annuaire »), "
        "ou videz [directory.ldap] lock_base",
        "create it and let idpronote's account write there (directory_adapters/schema/"
        'README.md, "The directory\'s lock"), or empty [directory.ldap] lock_base',
    ),
    # issue 16: French
    "config.needs_directory_file": (
        "il faut un fichier d'annuaire pour un annuaire CSV ou LDIF",
        "a directory file is needed for a CSV or LDIF directory",
    ),
    "config.needs_url": (
        "il faut l'URL du serveur LDAP, ex. ldaps://ldap.example.org",
        "the LDAP server's URL is needed, e.g. ldaps://ldap.example.org",
    ),
    "config.needs_base": (
        "il faut la base de recherche, ex. ou=people,dc=example,dc=org",
        "the search base is needed, e.g. ou=people,dc=example,dc=org",
    ),
    "config.password_store": (
        "le mot de passe se garde dans : {stores}",
        "password store must be one of {stores}",
    ),
    "config.not_env_name": (
        "{name} n'est pas un nom de variable d'environnement",
        "{name} is not an environment variable name",
    ),
    "config.needs_password_file": (
        "il faut le chemin du fichier du mot de passe",
        "the password file's path is needed",
    ),
    "config.unreadable": (
        "{path} : lecture de la configuration impossible ({error})",
        "{path}: cannot read the configuration ({error})",
    ),
    "config.not_toml": (
        "{path} : TOML invalide ({error}) ; corrigez-le ou choisissez un autre fichier",
        "{path}: not valid TOML ({error}); fix it or choose another file",
    ),
    "config.not_found": (
        "{path} : fichier de configuration introuvable",
        "{path}: configuration file not found",
    ),
    "config.where_line": ("{path}, ligne {line}", "{path}, line {line}"),
    "config.invalid": ("{where} : {key} : {message}", "{where}: {key}: {message}"),
    "config.unknown_key": (
        "clé inconnue ; possibles ici : {allowed}",
        "unknown key; allowed here: {allowed}",
    ),
    "config.must_be": ("doit être {names}, pas {value}", "must be {names}, not {value}"),
    "config.or": (" ou ", " or "),
    "config.type.str": ("un texte", "a string"),
    "config.type.bool": ("true/false", "true/false"),
    "config.type.number": ("un nombre", "a number"),
    "config.type.list": ("une liste de textes", "a list of strings"),
    "config.type.table": ("une table", "a table"),
    "config.must_be_strings": ("doit être une liste de textes", "must be a list of strings"),
    "config.one_of": ("doit être l'un de : {values}", "must be one of {values}"),
    "config.keys": (
        "doit nommer des touches, et aucune de {keys}",
        "must name keys, and none of {keys}",
    ),
    "config.path_required": (
        'obligatoire quand kind = "{kind}"',
        'is required when kind = "{kind}"',
    ),
    "config.not_empty": ("ne doit pas être vide", "must not be empty"),
    "config.between": ("doit être entre {low} et {high}", "must be between {low} and {high}"),
    "config.env_name": (
        "doit être le nom d'une variable d'environnement",
        "must be the name of an environment variable",
    ),
    # The matching's rules, as words (the JSON and CSV keep the codes; the reasons are in
    # core/matching/reasons.py); at most 18 characters: `match` prints them at the end of
    # an 80-column line.
    "rule.already_linked": ("déjà relié", "already linked"),
    "rule.cas_login": ("identifiant CAS", "CAS login"),
    "rule.remembered": ("choix mémorisé", "remembered"),
    "rule.exact": ("noms et date", "names and date"),
    "rule.exact_name": ("noms identiques", "same names"),
    "rule.guardian_children": ("par ses enfants", "by the children"),
    "rule.fuzzy": ("noms proches", "close names"),
    "rule.guardian_name": ("par son nom", "by name"),
    "rule.manual": ("relié à la main", "linked by hand"),
    "rule.conflict": ("conflit", "conflict"),
    "rule.duplicate_in_file": ("doublon (fichier)", "duplicate in file"),
    "rule.account_taken": ("compte déjà pris", "account taken"),
    "rule.ambiguous": ("homonymes", "homonyms"),
    "rule.date_differs": ("date différente", "birth date differs"),
    "rule.lost_letters": ("nom illisible", "unreadable name"),
    "rule.uncertain": ("incertain", "uncertain"),
    "rule.no_candidate": ("aucun candidat", "no candidate"),
    "rule.rejected": ("refusé", "rejected"),
    # How a session ended, as a word (the JSON keeps the codes).
    "outcome.completed": ("terminée", "finished"),
    "outcome.interrupted": ("interrompue", "interrupted"),
    "outcome.cut": ("coupée", "cut off"),
    "outcome.partial": ("en partie écrite", "partly written"),
    "outcome.failed": ("échouée", "failed"),
    "outcome.undone": ("annulée", "undone"),
    "outcome.damaged": ("journal abîmé", "damaged journal"),
    # issue 18: batch
    "batch.no_folder": (
        "{path} n'est pas un dossier : donnez le dossier des fichiers d'identifiants",
        "{path} is not a folder: give the folder of the identifiers files",
    ),
    "batch.empty_folder": (
        "aucun fichier .xml dans {path} : un fichier d'identifiants par établissement attendu",
        "no .xml file in {path}: one identifiers file per establishment expected",
    ),
    "batch.no_manifest": ("manifeste {path} introuvable", "manifest {path} not found"),
    "batch.manifest_unreadable": (
        "manifeste {path} illisible ({error}) ; UTF-8 attendu",
        "manifest {path} cannot be read ({error}); UTF-8 expected",
    ),
    "batch.manifest_line": (
        "{path}, ligne {line} : « UAI;FICHIER » attendu",
        "{path}, line {line}: 'UAI;FILE' expected",
    ),
    "batch.manifest_bad_uai": (
        "{path}, ligne {line} : {value} n'est pas un code d'établissement (7 chiffres et une "
        "lettre, par ex. 0441234A) ; rien n'est fait",
        "{path}, line {line}: {value} is not an establishment code (7 digits and a letter, "
        "e.g. 0441234A); nothing is done",
    ),
    "batch.manifest_twice": (
        "{path}, ligne {line} : {uai} est déjà à la ligne {first} ; un fichier par établissement",
        "{path}, line {line}: {uai} is already on line {first}; one file per establishment",
    ),
    "batch.manifest_empty": (
        "le manifeste {path} ne nomme aucun établissement",
        "the manifest {path} names no establishment",
    ),
    "batch.twice": (
        "{file} : {uai} a déjà son fichier dans ce lot ({other}) ; un fichier par établissement",
        "{file}: {uai} already has its file in this batch ({other}); one file per establishment",
    ),
    "batch.other_uai": (
        "{file} : le fichier est celui de l'établissement {file_uai}, pas de {uai} ; rien "
        "n'est fait pour lui, vérifiez le fichier",
        "{file}: the file is establishment {file_uai}'s, not {uai}'s; nothing is done for it, "
        "check the file",
    ),
}


def register(entries: dict[str, tuple[str, str]]) -> None:
    """Add a module's own messages (the TUI's screens keep theirs beside their code)."""
    clash = [k for k, v in entries.items() if k in CATALOGUE and CATALOGUE[k] != v]
    if clash:
        raise ValueError(f"message keys defined twice: {', '.join(sorted(clash))}")
    CATALOGUE.update(entries)


def set_language(lang: str) -> None:
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    _language = lang


def language() -> str:
    return _language


def word(kind: str, code: str | None) -> str:
    """A code shown to a person (`rule`, `outcome`…) as a word; an unknown code as it is."""
    if not code:
        return ""
    key = f"{kind}.{code}"
    return t(key) if key in CATALOGUE else code


def t(key: str, /, **params: Any) -> str:
    """The message `key` in the current language, filled with `params`."""
    try:
        texts = CATALOGUE[key]
    except KeyError:
        return key
    text = texts[1] if _language == "en" else texts[0]
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def number(n: int) -> str:
    """A count as the language writes it: 2 838 in French (no-break space), 2,838 in English."""
    text = f"{n:,}"
    return text if _language == "en" else text.replace(",", "\u00a0")
