"""`idpronote`: one command-line frame for every command (CONTRACT.md).

The frame owns what every command shares: the common options, the language,
the configuration, where output goes, and the exit status. No traceback ever
reaches the terminal: a user error is one line on stderr and status 2; an
internal error is one line pointing at a log file that holds the details.

Nothing here imports Textual: `inspect`, `match` and `apply` must start fast
and run on servers where nobody looks at a screen.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from cli import words as _words  # noqa: F401  (registers the words)
from cli.context import Context, Handler, say
from core import i18n
from core.config import ENV_CONFIG, Config, load_config
from core.errors import IdpronoteError
from core.i18n import register, t
from core.internal_log import log_internal_error
from core.model import SLUGS, UAI_PATTERN
from core.private_files import usable_output
from core.pronote_file import FileSchema
from core.text import printable

register(
    {
        # issue 16: French
        "cli.arg.usage": ("usage : ", "usage: "),
        "cli.arg.positionals": ("arguments", "positional arguments"),
        "cli.arg.options": ("options", "options"),
        "cli.arg.common": ("options communes", "common options"),
        "cli.arg.help": ("afficher cette aide et sortir", "show this help message and exit"),
        "cli.arg.version": ("afficher la version et sortir", "show the version and exit"),
        "cli.arg.see_help": ("idpronote --help", "idpronote --help"),
        "cli.arg.err.required": (
            "arguments obligatoires manquants : {names}",
            "the following arguments are required: {names}",
        ),
        "cli.arg.err.one_required": (
            "un des arguments {names} est obligatoire",
            "one of the arguments {names} is required",
        ),
        "cli.arg.err.unrecognized": (
            "arguments inconnus : {names}",
            "unrecognized arguments: {names}",
        ),
        "cli.arg.err.argument": ("argument {name} : {message}", "argument {name}: {message}"),
        "cli.arg.err.choice": (
            "choix invalide : {value} (au choix : {choices})",
            "invalid choice: {value} (choose from {choices})",
        ),
        "cli.arg.err.type": (
            "valeur invalide : {value} ({type} attendu)",
            "invalid {type} value: {value}",
        ),
        "cli.arg.err.one": ("une valeur attendue", "expected one argument"),
        "cli.arg.err.at_most_one": ("au plus une valeur attendue", "expected at most one argument"),
        "cli.arg.err.at_least_one": (
            "au moins une valeur attendue",
            "expected at least one argument",
        ),
        "cli.arg.err.not_allowed": (
            "interdit avec l'argument {name}",
            "not allowed with argument {name}",
        ),
        "cli.arg.err.ambiguous": (
            "option ambiguë : {option} peut désigner {matches}",
            "ambiguous option: {option} could match {matches}",
        ),
        "cli.arg.err.ignored": (
            "valeur en trop ignorée : {value}",
            "ignored explicit argument {value}",
        ),
        "cli.arg.err.unexpected": (
            "option inattendue : {option}",
            "unexpected option string: {option}",
        ),
        "cli.arg.err.invalid_uai": (
            "UAI {value} invalide : 7 chiffres et une lettre, ex. 0441234A",
            "invalid UAI {value}: 7 digits and a letter, e.g. 0441234A",
        ),
        "cli.arg.err.days": (
            "{value} n'est pas un nombre de jours (1 ou plus)",
            "{value} is not a number of days (1 or more)",
        ),
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
            "un établissement d'un coup d'œil : identifiants par catégorie, doublons, "
            "dernière session",
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
            "terminer la session interrompue ou coupée de l'établissement au lieu d'en "
            "commencer une",
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
)

EXIT_OK = 0
EXIT_USAGE = 2


class _Formatter(argparse.HelpFormatter):
    """argparse's help, with "usage:" in the admin's language."""

    def add_usage(self, usage, actions, groups, prefix=None) -> None:  # type: ignore[override]
        super().add_usage(usage, actions, groups, t("cli.arg.usage") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse in the admin's language; a usage error is one line, not a usage dump.

    argparse takes its own words from gettext's catalogue for the whole
    process; here they are set on each parser (group titles, -h) or
    translated in `error`, so nothing global changes.
    """

    def __init__(self, *args, add_help: bool = True, parents=(), **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = t("cli.arg.positionals")
        self._optionals.title = t("cli.arg.options")
        if add_help:
            self.add_argument("-h", "--help", action="help", help=t("cli.arg.help"))
        # The parents after -h, as argparse itself orders them.
        for parent in parents:
            self._add_container_actions(parent)
            self._defaults.update(parent._defaults)

    def error(self, message: str) -> NoReturn:
        say(f"idpronote: {argparse_message(message)} ({t('cli.arg.see_help')})", sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _template(english: str) -> re.Pattern[str]:
    """argparse's English template ('invalid choice: %(value)r …') as a pattern."""
    parts = re.split(r"%(?:\((\w+)\))?[sr]", english)
    pattern = ""
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern += re.escape(part)
        else:
            pattern += f"(?P<{part or 'names'}>.+?)"
    return re.compile(f"^{pattern}$", re.S)


# argparse's messages (Python 3.11 to 3.13 wordings) -> our keys, with the names they fill.
_ARGPARSE_MESSAGES = [
    (_template("argument %(argument_name)s: %(message)s"), "cli.arg.err.argument"),
    (_template("the following arguments are required: %s"), "cli.arg.err.required"),
    (_template("one of the arguments %s is required"), "cli.arg.err.one_required"),
    (_template("unrecognized arguments: %s"), "cli.arg.err.unrecognized"),
    (_template("invalid choice: %(value)r (choose from %(choices)s)"), "cli.arg.err.choice"),
    (_template("invalid %(type)s value: %(value)r"), "cli.arg.err.type"),
    (_template("expected one argument"), "cli.arg.err.one"),
    (_template("expected at most one argument"), "cli.arg.err.at_most_one"),
    (_template("expected at least one argument"), "cli.arg.err.at_least_one"),
    (_template("not allowed with argument %s"), "cli.arg.err.not_allowed"),
    (_template("ambiguous option: %(option)s could match %(matches)s"), "cli.arg.err.ambiguous"),
    (_template("ignored explicit argument %r"), "cli.arg.err.ignored"),
    (_template("unexpected option string: %s"), "cli.arg.err.unexpected"),
]


def argparse_message(message: str) -> str:
    """One of argparse's English error messages in the admin's language (others unchanged)."""
    for pattern, key in _ARGPARSE_MESSAGES:
        found = pattern.match(message)
        if found is None:
            continue
        names = found.groupdict()
        if key == "cli.arg.err.argument":
            return t(key, name=names["argument_name"], message=argparse_message(names["message"]))
        if "names" in names:
            names["name"] = names["names"]
        return t(key, **names)
    return message


def _uai(value: str) -> str:
    value = value.strip().upper()
    if not UAI_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(t("cli.arg.err.invalid_uai", value=repr(value)))
    return value


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = -1
    if days < 1:
        raise argparse.ArgumentTypeError(t("cli.arg.err.days", value=repr(value)))
    return days


def _common(
    *, directory: bool = True, uai: bool = True, mode: bool = False, reads_file: bool = False
) -> _Parser:
    common = _Parser(add_help=False)
    group = common.add_argument_group(t("cli.arg.common"))
    path = t("cli.meta.path")
    group.add_argument("--config", metavar=path, help=t("cli.help.config"))
    group.add_argument("--lang", choices=i18n.LANGUAGES, help=t("cli.help.lang"))
    group.add_argument("--format", choices=("text", "json", "csv"), help=t("cli.help.format"))
    group.add_argument("--output", metavar=path, help=t("cli.help.output"))
    if uai:
        group.add_argument("--uai", type=_uai, help=t("cli.help.uai"))
    if directory:
        group.add_argument("--directory-file", metavar=path, help=t("cli.help.directory_file"))
    if mode:
        group.add_argument(
            "--mode", choices=("complet", "partiel"), default=None, help=t("cli.help.mode")
        )
    if reads_file:
        group.add_argument("--partner-key", metavar=path, help=t("cli.help.partner_key"))
    return common


def version() -> str:
    """The installed distribution's version (the source tree's when run from a checkout)."""
    from importlib import metadata

    try:
        return metadata.version("idpronote")
    except metadata.PackageNotFoundError:
        return "source"


def _version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version", action="version", version=f"idpronote {version()}", help=t("cli.arg.version")
    )


def build_parser() -> tuple[_Parser, dict[str, Handler]]:
    from cli.commands import batch, config, directory, inspect, match, session, support, wizard

    parser = _Parser(prog="idpronote", description=t("cli.help.description"))
    _version_option(parser)
    sub = parser.add_subparsers(dest="command", metavar=t("cli.meta.command"), parser_class=_Parser)
    handlers: dict[str, Handler] = {}

    def command(name: str, help_key: str, **kwargs) -> _Parser:
        """A command whose `--help` starts with the line the command list shows."""
        return sub.add_parser(name, help=t(help_key), description=t(help_key), **kwargs)

    file_, account = t("cli.meta.file"), t("cli.meta.account")

    p = command("inspect", "cli.help.inspect", parents=[_common(directory=False, reads_file=True)])
    p.add_argument("file", metavar=file_, help=t("cli.help.export_file"))
    handlers["inspect"] = inspect.run

    p = command("match", "cli.help.match", parents=[_common(mode=True, reads_file=True)])
    p.add_argument("file", metavar=file_, help=t("cli.help.export_file"))
    handlers["match"] = match.run

    p = command("search", "cli.help.search", parents=[_common()])
    p.add_argument("query", metavar=t("cli.meta.query"), help=t("cli.help.query"))
    p.add_argument("--category", choices=SLUGS, help=t("cli.help.category"))
    p.add_argument("--limit", type=int, default=50, help=t("cli.help.limit"))
    handlers["search"] = directory.search

    command("linked", "cli.help.linked", parents=[_common()])
    handlers["linked"] = directory.linked

    p = command("unlink", "cli.help.unlink", parents=[_common()])
    p.add_argument("account", metavar=account, help=t("cli.help.login"))
    p.add_argument("--yes", action="store_true", help=t("cli.help.yes"))
    handlers["unlink"] = directory.unlink

    p = command("link", "cli.help.link", parents=[_common(mode=True, reads_file=True)])
    p.add_argument("account", metavar=account, help=t("cli.help.login"))
    p.add_argument("idpn", metavar=t("cli.meta.idpn"), help=t("cli.help.idpn"))
    p.add_argument("--file", metavar=file_, help=t("cli.help.latest_file"))
    p.add_argument("--yes", action="store_true", help=t("cli.help.yes"))
    handlers["link"] = directory.link

    export = t("cli.meta.export")
    p = command("explain", "cli.help.explain", parents=[_common(mode=True, reads_file=True)])
    p.add_argument("who", metavar=t("cli.meta.who"), help=t("cli.help.who"))
    p.add_argument("--file", metavar=export, help=t("cli.help.last_file"))
    p.add_argument("--apply", action="store_true", help=t("cli.help.explain_apply"))
    p.add_argument("--yes", action="store_true", help=t("cli.help.explain_yes"))
    handlers["explain"] = support.run_explain

    p = command("status", "cli.help.status", parents=[_common(reads_file=True)])
    p.add_argument("--file", metavar=export, help=t("cli.help.last_file"))
    handlers["status"] = support.run_status

    p = command("apply", "cli.help.apply", parents=[_common(mode=True, reads_file=True)])
    p.add_argument("file", metavar=file_, help=t("cli.help.export_file"))
    p.add_argument("--steps", metavar=t("cli.meta.list"), help=t("cli.help.steps"))
    p.add_argument("--dry-run", action="store_true", help=t("cli.help.dry_run"))
    p.add_argument("--allow-mass-removal", action="store_true", help=t("cli.help.mass_removal"))
    p.add_argument("--resume", action="store_true", help=t("cli.help.resume"))
    handlers["apply"] = session.apply

    p = command("batch", "cli.help.batch", parents=[_common(uai=False, mode=True, reads_file=True)])
    p.add_argument(
        "folder", metavar=t("cli.meta.folder"), nargs="?", help=t("cli.help.batch_folder")
    )
    p.add_argument("--manifest", metavar=file_, help=t("cli.help.manifest"))
    p.add_argument("--jobs", metavar="N", type=int, default=1, help=t("cli.help.jobs"))
    p.add_argument("--resume", action="store_true", help=t("cli.help.batch_resume"))
    p.add_argument("--allow-mass-removal", action="store_true", help=t("cli.help.mass_removal"))
    handlers["batch"] = batch.run

    session_ = t("cli.meta.session")
    p = command("history", "cli.help.history", parents=[_common(directory=False)])
    p.add_argument(
        "--purge-older-than", metavar=t("cli.meta.days"), type=_days, help=t("cli.help.purge")
    )
    p.add_argument("--yes", action="store_true", help=t("cli.help.yes"))
    p.add_argument("--acknowledge-damage", action="store_true", help=t("cli.help.acknowledge"))
    p.add_argument("session", metavar=session_, nargs="?", help=t("cli.help.history_session"))
    p.add_argument("--demo", action="store_true", help=t("cli.help.history_demo"))
    handlers["history"] = session.history

    p = command("undo", "cli.help.undo", parents=[_common(uai=False)])
    p.add_argument("session", metavar=session_, help=t("cli.help.undo_session"))
    p.add_argument("--yes", action="store_true", help=t("cli.help.yes"))
    p.add_argument("--demo", action="store_true", help=t("cli.help.undo_demo"))
    handlers["undo"] = session.undo

    p = command("demo", "cli.help.demo", parents=[_common(directory=False, uai=False)])
    p.add_argument("--no-mouse", action="store_true", help=t("cli.help.no_mouse"))
    p.add_argument("--reset", action="store_true", help=t("cli.help.demo_reset"))
    handlers["demo"] = wizard.demo

    p = command("setup", "cli.help.setup", parents=[_common(directory=False, uai=False)])
    p.add_argument("--no-mouse", action="store_true", help=t("cli.help.no_mouse"))
    handlers["setup"] = config.setup

    p = command("config", "cli.help.config_cmd")
    actions = p.add_subparsers(dest="action", metavar=t("cli.meta.action"), parser_class=_Parser)
    actions.required = True
    for name in ("check", "show"):
        actions.add_parser(
            name,
            parents=[_common(uai=False)],
            help=t(f"cli.help.config_{name}"),
            description=t(f"cli.help.config_{name}"),
        )
    handlers["config"] = config.run
    return parser, handlers


def build_wizard_parser() -> _Parser:
    """`idpronote` without a command: the wizard."""
    parser = _Parser(
        prog="idpronote",
        parents=[_common(mode=True, reads_file=True)],
        description=t("cli.help.wizard"),
    )
    parser.add_argument("--file", metavar=t("cli.meta.file"), help=t("cli.help.start_file"))
    parser.add_argument("--no-mouse", action="store_true", help=t("cli.help.no_mouse"))
    _version_option(parser)
    return parser


def early_language(argv: Sequence[str]) -> str:
    """The language of the help and of argparse's errors, known before parsing.

    `--lang` on the command line, else `language` of the configuration that
    `--config` (or the usual lookup) names, else French. A configuration that
    cannot be read here is reported later, the usual way.
    """
    for index, arg in enumerate(argv):
        value = None
        if arg == "--lang" and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        if value in i18n.LANGUAGES:
            return value
    config_path = None
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            config_path = argv[index + 1]
        elif arg.startswith("--config="):
            config_path = arg.split("=", 1)[1]
    try:
        language = load_config(config_path).language
    except Exception:  # reported when the command loads it for real
        return "fr"
    return language if language in i18n.LANGUAGES else "fr"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        i18n.set_language(early_language(argv))
        parser, handlers = build_parser()
        if argv in (["--help-commands"],):
            parser.print_help()
            return EXIT_OK
        if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
            from cli.commands import wizard

            args = build_wizard_parser().parse_args(argv)
            args.command = "wizard"
            handlers["wizard"] = wizard.run
        else:
            args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        config = _load_config(args)
        i18n.set_language(args.lang or config.language)
        if getattr(args, "output", None) and args.output != "-":
            # Before any work: `apply` must not write the directory, then fail on its report.
            usable_output(Path(args.output))
        config.file_schema = _partner_key(config, args)
        if getattr(args, "demo", False):
            # undo/history --demo: the demo copy's journals and directory file.
            from cli.commands.wizard import demo_config

            config, args.directory_file = demo_config(config)
        return handlers[args.command](Context(args, config))
    except IdpronoteError as error:
        say(f"idpronote: {_one_line(str(error))}", sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        say(f"idpronote: {t('cli.interrupted')}", sys.stderr)
        return 130
    except BrokenPipeError:
        # `idpronote inspect f | head`: the reader left, nothing to report.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except SystemExit:
        raise
    except Exception as error:
        log = log_internal_error(error)
        message = t("cli.internal_error", error=type(error).__name__, log=log)
        say(f"idpronote: {message}", sys.stderr)
        return EXIT_USAGE


def _load_config(args: argparse.Namespace) -> Config:
    """The configuration; for `setup --config NEW`, none yet: setup is what writes it."""
    named = getattr(args, "config", None) or os.environ.get(ENV_CONFIG)
    if args.command == "setup" and named and not Path(named).expanduser().exists():
        return Config()
    return load_config(getattr(args, "config", None))


def _partner_key(config: Config, args: argparse.Namespace) -> FileSchema:
    """`--partner-key` over `[file] partner_key`; a passphrase prompt where a terminal is ours.

    The wizard's terminal belongs to Textual: there, only the environment
    variable (`partner_key_password_env`) can give a passphrase.
    """
    schema = config.file_schema
    partner = schema.partner
    if getattr(args, "partner_key", None):
        partner = replace(partner, path=Path(args.partner_key).expanduser())
    if args.command not in ("wizard", "demo", "setup") and _interactive():
        import getpass

        partner = replace(partner, prompt=getpass.getpass)
    return replace(schema, partner=partner)


def _interactive() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def _one_line(text: str) -> str:
    return printable(" ".join(text.split()))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
