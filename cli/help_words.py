"""What `idpronote --help` and each command's `--help` say (French, English).

The command list, each option's help and the placeholders (FICHIER, CHEMIN…);
`cli/parser.py` builds the parsers from them. argparse's own words are in
`cli/localised_argparse.py`, what the commands print in `cli/words.py`.
"""

from core.i18n import register

# key: (français, English).
HELP: dict[str, tuple[str, str]] = {
    "cli.meta.path": ("CHEMIN", "PATH"),
    "cli.meta.file": ("FICHIER", "FILE"),
    "cli.meta.folder": ("DOSSIER", "DIR"),
    "cli.meta.export": ("EXPORT", "EXPORT"),
    "cli.meta.command": ("COMMANDE", "COMMAND"),
    "cli.meta.action": ("ACTION", "ACTION"),
    "cli.meta.query": ("RECHERCHE", "QUERY"),
    "cli.meta.account": ("COMPTE", "ACCOUNT"),
    "cli.meta.who": ("QUI", "WHO"),
    "cli.meta.list": ("LISTE", "LIST"),
    "cli.meta.days": ("JOURS", "DAYS"),
    "cli.meta.session": ("SESSION", "SESSION"),
    "cli.meta.idpn": ("IDPN", "IDPN"),
    "cli.help.config": (
        "fichier de configuration (voir le README)",
        "configuration file (see README)",
    ),
    "cli.help.lang": ("langue des messages (fr ou en)", "language of the output (fr or en)"),
    "cli.help.format": (
        "format de sortie (par défaut : text)",
        "output format (default: text)",
    ),
    "cli.help.output": (
        "écrire le résultat dans ce fichier (mode 0600)",
        "write the result here (mode 0600)",
    ),
    "cli.help.uai": (
        "code de l'établissement, ex. 0441234A",
        "establishment code, e.g. 0441234A",
    ),
    "cli.help.directory_file": (
        "utiliser ce fichier d'annuaire CSV ou LDIF au lieu de l'annuaire configuré",
        "use this CSV or LDIF directory file instead of the configured directory",
    ),
    "cli.help.mode": (
        "complet (tout le monde ; les identifiants absents sont obsolètes) ou partiel",
        "complet (everyone; identifiers not in the file are obsolete) or partiel",
    ),
    "cli.help.partner_key": (
        "la clé privée RSA qui ouvre un fichier EXPORT_INDEX_EDUCATION chiffré "
        "(remplace [file] partner_key)",
        "the RSA private key that opens an encrypted EXPORT_INDEX_EDUCATION file "
        "(overrides [file] partner_key)",
    ),
    "cli.help.description": (
        "Importer les identifiants Pronote dans un annuaire d'ENT.",
        "Import Pronote identifiers into an ENT directory.",
    ),
    "cli.help.wizard": (
        "L'assistant d'import. Les commandes : idpronote --help-commands",
        "The import wizard. Commands: idpronote --help-commands",
    ),
    "cli.help.export_file": (
        "le fichier d'identifiants exporté de Pronote",
        "the identifiers file exported from Pronote",
    ),
    "cli.help.start_file": (
        "le fichier d'identifiants pour commencer",
        "the identifiers file to start with",
    ),
    "cli.help.no_mouse": ("ignorer la souris", "ignore the mouse"),
    "cli.help.yes": ("ne pas demander de confirmation", "do not ask for confirmation"),
    "cli.help.login": ("le login dans l'annuaire", "the directory login"),
    "cli.help.inspect": (
        "lire un fichier d'identifiants : comptes par catégorie et chaque problème",
        "read an identifiers file: counts per category and every problem",
    ),
    "cli.help.match": (
        "simulation : le rapprochement automatique de chaque étape, rien n'est écrit",
        "dry run: the automatic reconciliation of every step, nothing written",
    ),
    "cli.help.search": (
        "chercher dans l'annuaire comme la fenêtre de recherche de l'assistant",
        "search the directory as the wizard's dialog does",
    ),
    "cli.help.query": (
        "nom(s) ou login, chaque mot est un début de mot",
        "name(s) or login, each word a prefix",
    ),
    "cli.help.category": (
        "seulement les profils de cette catégorie",
        "only the profiles of this category",
    ),
    "cli.help.limit": ("au plus ce nombre de résultats (50)", "at most this many results (50)"),
    "cli.help.linked": (
        "les identifiants déjà importés pour un établissement",
        "the identifiers already imported for an establishment",
    ),
    "cli.help.unlink": (
        "retirer l'identifiant d'un compte pour un établissement",
        "remove an account's identifier for an establishment",
    ),
    "cli.help.link": (
        "relier à la main un compte à un identifiant (le choix d'un humain), journalisé",
        "link an account to an identifier by hand (a human's choice), journaled",
    ),
    "cli.help.idpn": (
        "l'identifiant Pronote (16 caractères)",
        "the Pronote identifier (16 characters)",
    ),
    "cli.help.latest_file": (
        "le dernier fichier d'identifiants, pour les vérifications",
        "the latest identifiers file, for the checks",
    ),
    "cli.help.explain": (
        "pourquoi une personne ne peut pas ouvrir Pronote depuis l'ENT, et l'action à faire",
        "why a person cannot open Pronote from the ENT, and the one next action",
    ),
    "cli.help.who": (
        "un login, un identifiant Pronote ou un nom",
        "a login, a Pronote identifier or a name",
    ),
    "cli.help.last_file": (
        "le dernier fichier d'identifiants (par défaut : celui du dernier import "
        "journalisé de l'établissement)",
        "the latest identifiers file (default: the file of the establishment's last "
        "journaled import)",
    ),
    "cli.help.explain_apply": (
        "écrire le lien ou le retrait proposé",
        "write the proposed link or unlink",
    ),
    "cli.help.explain_yes": (
        "avec --apply : ne pas demander de confirmation",
        "with --apply: do not ask for confirmation",
    ),
    "cli.help.status": (
        "un établissement d'un coup d'œil : identifiants par catégorie, doublons, dernière session",
        "an establishment at a glance: identifiers per category, duplicates, last session",
    ),
    "cli.help.apply": (
        "import sans écran de ce qui est reconnu automatiquement, étape par étape",
        "headless import of what is recognised automatically, step by step",
    ),
    "cli.help.steps": (
        "seulement ces étapes, ex. eleves,responsables",
        "only these steps, e.g. eleves,responsables",
    ),
    "cli.help.dry_run": ("ne rien écrire", "write nothing"),
    "cli.help.mass_removal": (
        "mode complet : retirer même plus de la moitié des identifiants d'une catégorie",
        "complete mode: remove even more than half of a category's stored identifiers",
    ),
    "cli.help.resume": (
        "terminer la session interrompue ou coupée de l'établissement au lieu d'en commencer une",
        "finish the establishment's interrupted or cut session instead of a new one",
    ),
    "cli.help.batch": (
        "apply pour le fichier de chaque établissement d'un dossier (ou d'un manifeste), "
        "un seul rapport",
        "apply for every establishment's file of a folder (or a manifest), one report",
    ),
    "cli.help.batch_folder": (
        "un dossier de fichiers d'identifiants (*.xml), un par établissement",
        "a folder of identifiers files (*.xml), one per establishment",
    ),
    "cli.help.manifest": (
        "des lignes UAI;FICHIER au lieu d'un dossier",
        "UAI;FILE lines instead of a folder",
    ),
    "cli.help.jobs": ("établissements traités à la fois (1)", "establishments at a time (1)"),
    "cli.help.batch_resume": (
        "reprendre le lot interrompu sur ces mêmes fichiers",
        "carry on the interrupted batch over this input",
    ),
    "cli.help.history": ("ce que chaque import a écrit", "what each import wrote"),
    "cli.help.purge": (
        "supprimer les journaux des sessions finies depuis plus de JOURS jours (rétention)",
        "delete the journals of sessions ended more than DAYS days ago (retention)",
    ),
    "cli.help.acknowledge": (
        "avec SESSION : noter que son journal abîmé a été vérifié, les imports reprennent",
        "with SESSION: note that its damaged journal was checked, so imports may go on",
    ),
    "cli.help.history_session": (
        "une session : ses comptes laissés sans lien (--format csv : la liste pour "
        "l'établissement)",
        "one session: its accounts left unlinked (--format csv: the list for the school)",
    ),
    "cli.help.undo": (
        "annuler ce qu'une session d'import a écrit",
        "revert what one import session wrote",
    ),
    "cli.help.undo_session": (
        "l'identifiant de la session (idpronote history)",
        "the session id (idpronote history)",
    ),
    "cli.help.demo": (
        "l'assistant sur des données d'exemple, dans une copie gardée dans le dossier "
        "des données (ni serveur, ni configuration)",
        "the wizard on bundled demo data, in a copy kept under the data directory "
        "(no server, no configuration)",
    ),
    "cli.help.demo_reset": (
        "repartir d'une copie neuve des données d'exemple",
        "start from a fresh copy of the demo data",
    ),
    "cli.help.history_demo": (
        "les sessions d'idpronote demo",
        "the sessions of idpronote demo",
    ),
    "cli.help.undo_demo": (
        "une session d'idpronote demo (sa copie)",
        "a session of idpronote demo (its copy)",
    ),
    "cli.help.setup": (
        "décrire et tester l'annuaire, puis écrire config.toml (là où --config le dit)",
        "describe and test the directory, then write config.toml (--config: where)",
    ),
    "cli.help.config_cmd": (
        "vérifier ou montrer la configuration",
        "check or show the configuration",
    ),
    "cli.help.config_check": (
        "se connecter, compter les comptes par profil, lire un exemple, vérifier le "
        "droit d'écriture",
        "connect, count accounts per profile, read a sample, check write access",
    ),
    "cli.help.config_show": (
        "la configuration en vigueur, d'où vient chaque valeur, secrets masqués",
        "the effective configuration, where each value comes from, secrets masked",
    ),
}

register(HELP)
