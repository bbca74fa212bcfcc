"""The command line's grammar: every command, its options and its `--help` (CONTRACT.md).

`build_parser` gives the parser of `idpronote COMMAND …` and the handler of
each command; `build_wizard_parser` that of `idpronote` alone (the wizard).
Every help text is a key of `cli/help_words.py`, looked up when the parser is
built, so `--lang en` (known before parsing: `cli.main.early_language`) gives
an English `--help`.
"""

from __future__ import annotations

import argparse

from cli import help_words as _help_words  # noqa: F401  (registers the words)
from cli.context import Handler
from cli.localised_argparse import Parser
from core import i18n
from core.i18n import t
from core.model import SLUGS, UAI_PATTERN


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
) -> Parser:
    common = Parser(add_help=False)
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


def build_parser() -> tuple[Parser, dict[str, Handler]]:
    from cli.commands import batch, config, directory, inspect, match, session, support, wizard

    parser = Parser(prog="idpronote", description=t("cli.help.description"))
    _version_option(parser)
    sub = parser.add_subparsers(dest="command", metavar=t("cli.meta.command"), parser_class=Parser)
    handlers: dict[str, Handler] = {}

    def command(name: str, help_key: str, **kwargs) -> Parser:
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
    actions = p.add_subparsers(dest="action", metavar=t("cli.meta.action"), parser_class=Parser)
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


def build_wizard_parser() -> Parser:
    """`idpronote` without a command: the wizard."""
    parser = Parser(
        prog="idpronote",
        parents=[_common(mode=True, reads_file=True)],
        description=t("cli.help.wizard"),
    )
    parser.add_argument("--file", metavar=t("cli.meta.file"), help=t("cli.help.start_file"))
    parser.add_argument("--no-mouse", action="store_true", help=t("cli.help.no_mouse"))
    _version_option(parser)
    return parser
