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
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from core import i18n
from core.config import Config, load_config
from core.errors import IdpronoteError
from core.i18n import t
from core.model import SLUGS, UAI_PATTERN
from core.private_files import open_private, private_dir, replace_file, usable_output
from core.pronote_file import FileSchema
from core.text import printable

EXIT_OK = 0
EXIT_USAGE = 2


class UsageError(IdpronoteError):
    """Bad usage: exit 2 with the reason."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not a usage dump."""

    def error(self, message: str) -> NoReturn:
        say(f"idpronote: {message} (idpronote --help)", sys.stderr)
        raise SystemExit(EXIT_USAGE)


@dataclass
class Context:
    """What a command gets: its arguments and the effective configuration."""

    args: argparse.Namespace
    config: Config

    @property
    def format(self) -> str:
        return self.args.format or "text"

    def require_format(self, *allowed: str) -> str:
        if self.format not in allowed:
            raise UsageError(
                t("cli.format_unsupported", format=self.format, allowed=", ".join(allowed))
            )
        return self.format

    @property
    def uai(self) -> str | None:
        return self.args.uai

    def emit(self, text: str) -> None:
        """Write the command's result to --output (created 0600) or stdout.

        Whatever the command put in it, no control, escape or bidi character
        reaches a terminal (or a file someone will `cat`): `printable` is
        applied to the whole text, the one escaping every output goes through.
        """
        if not text.endswith("\n"):
            text += "\n"
        if self.args.output and self.args.output != "-":
            write_private(Path(self.args.output), text)
            say(t("cli.written", path=self.args.output), sys.stderr)
        else:
            say(text, sys.stdout, end="")


def say(text: str, stream, *, end: str = "\n") -> None:
    """Every text idpronote writes to a terminal, escaped (`core.text.printable`)."""
    stream.write(printable(text, keep_newlines=True) + end)


def write_private(path: Path, text: str) -> None:
    """Reports hold personal data: readable by their owner only.

    Written beside the target (a temporary file `O_EXCL`, then a rename):
    never through a symbolic link, never into a file someone else owns.
    """
    replace_file(path, printable(text, keep_newlines=True).encode("utf-8"))


Handler = Callable[[Context], int]


def _uai(value: str) -> str:
    value = value.strip().upper()
    if not UAI_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"invalid UAI {value!r}: 7 digits and a letter, e.g. 0441234A"
        )
    return value


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        days = -1
    if days < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of days (1 or more)")
    return days


def _common(
    *, directory: bool = True, uai: bool = True, mode: bool = False, reads_file: bool = False
) -> _Parser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("--config", metavar="PATH", help="configuration file (see README)")
    group.add_argument("--lang", choices=i18n.LANGUAGES, help="language of the output")
    group.add_argument(
        "--format", choices=("text", "json", "csv"), help="output format (default: text)"
    )
    group.add_argument("--output", metavar="PATH", help="write the result here (mode 0600)")
    if uai:
        group.add_argument("--uai", type=_uai, help="establishment code, e.g. 0441234A")
    if directory:
        group.add_argument(
            "--directory-file",
            metavar="PATH",
            help="use this CSV or LDIF directory file instead of the configured directory",
        )
    if mode:
        group.add_argument("--mode", choices=("complet", "partiel"), default=None)
    if reads_file:
        group.add_argument(
            "--partner-key",
            metavar="PATH",
            help="the RSA private key that opens an encrypted EXPORT_INDEX_EDUCATION file "
            "(overrides [file] partner_key)",
        )
    return common


def version() -> str:
    """The installed distribution's version (the source tree's when run from a checkout)."""
    from importlib import metadata

    try:
        return metadata.version("idpronote")
    except metadata.PackageNotFoundError:
        return "source"


def _version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"idpronote {version()}")


def build_parser() -> tuple[_Parser, dict[str, Handler]]:
    from tui.commands import batch, config, directory, inspect, match, session, support, wizard

    parser = _Parser(
        prog="idpronote",
        description="Import Pronote identifiers into an ENT directory.",
    )
    _version_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    handlers: dict[str, Handler] = {}

    p = sub.add_parser(
        "inspect",
        parents=[_common(directory=False, reads_file=True)],
        help="read an identifiers file: counts per category and every problem",
    )
    p.add_argument("file", metavar="FILE", help="the identifiers file exported from Pronote")
    handlers["inspect"] = inspect.run

    p = sub.add_parser(
        "match",
        parents=[_common(mode=True, reads_file=True)],
        help="dry run: the automatic reconciliation of every step, nothing written",
    )
    p.add_argument("file", metavar="FILE", help="the identifiers file exported from Pronote")
    handlers["match"] = match.run

    p = sub.add_parser(
        "search", parents=[_common()], help="search the directory as the wizard's dialog does"
    )
    p.add_argument("query", metavar="QUERY", help="name(s) or login, each word a prefix")
    p.add_argument("--category", choices=SLUGS, help="only the profiles of this category")
    p.add_argument("--limit", type=int, default=50, help="at most this many results (50)")
    handlers["search"] = directory.search

    p = sub.add_parser(
        "linked", parents=[_common()], help="the identifiers already imported for an establishment"
    )
    handlers["linked"] = directory.linked

    p = sub.add_parser(
        "unlink", parents=[_common()], help="remove an account's identifier for an establishment"
    )
    p.add_argument("account", metavar="ACCOUNT", help="the directory login")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    handlers["unlink"] = directory.unlink

    p = sub.add_parser(
        "link",
        parents=[_common(mode=True, reads_file=True)],
        help="link an account to an identifier by hand (a human's choice), journaled",
    )
    p.add_argument("account", metavar="ACCOUNT", help="the directory login")
    p.add_argument("idpn", metavar="IDPN", help="the Pronote identifier (16 characters)")
    p.add_argument("--file", metavar="FILE", help="the latest identifiers file, for the checks")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    handlers["link"] = directory.link

    p = sub.add_parser(
        "explain",
        parents=[_common(mode=True, reads_file=True)],
        help="why a person cannot open Pronote from the ENT, and the one next action",
    )
    p.add_argument("who", metavar="WHO", help="a login, a Pronote identifier or a name")
    p.add_argument(
        "--file",
        metavar="EXPORT",
        help="the latest identifiers file (default: the "
        "file of the establishment's last journaled import)",
    )
    p.add_argument("--apply", action="store_true", help="write the proposed link or unlink")
    p.add_argument("--yes", action="store_true", help="with --apply: do not ask for confirmation")
    handlers["explain"] = support.run_explain

    p = sub.add_parser(
        "status",
        parents=[_common(reads_file=True)],
        help="an establishment at a glance: identifiers per category, duplicates, last session",
    )
    p.add_argument(
        "--file",
        metavar="EXPORT",
        help="the latest identifiers file (default: the "
        "file of the establishment's last journaled import)",
    )
    handlers["status"] = support.run_status

    p = sub.add_parser(
        "apply",
        parents=[_common(mode=True, reads_file=True)],
        help="headless import of what is recognised automatically, step by step",
    )
    p.add_argument("file", metavar="FILE", help="the identifiers file exported from Pronote")
    p.add_argument("--steps", metavar="LIST", help="only these steps, e.g. eleves,responsables")
    p.add_argument("--dry-run", action="store_true", help="write nothing")
    p.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="complete mode: remove even more than half of a category's stored identifiers",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="finish the establishment's interrupted or cut session instead of a new one",
    )
    handlers["apply"] = session.apply

    p = sub.add_parser(
        "batch",
        parents=[_common(uai=False, mode=True, reads_file=True)],
        help="apply for every establishment's file of a folder (or a manifest), one report",
    )
    p.add_argument(
        "folder", metavar="DIR", nargs="?", help="a folder of identifiers files (*.xml), one "
        "per establishment",
    )  # fmt: skip
    p.add_argument("--manifest", metavar="FILE", help="UAI;FILE lines instead of a folder")
    p.add_argument("--jobs", type=int, default=1, help="establishments at a time (1)")
    p.add_argument(
        "--resume", action="store_true", help="carry on the interrupted batch over this input"
    )
    p.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="complete mode: remove even more than half of a category's stored identifiers",
    )
    handlers["batch"] = batch.run

    p = sub.add_parser("history", parents=[_common(directory=False)], help="what each import wrote")
    p.add_argument(
        "--purge-older-than",
        metavar="DAYS",
        type=_days,
        help="delete the journals of sessions ended more than DAYS days ago (retention)",
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument(
        "--acknowledge-damage",
        action="store_true",
        help="with SESSION: note that its damaged journal was checked, so imports may go on",
    )
    p.add_argument(
        "session",
        metavar="SESSION",
        nargs="?",
        help="one session: its accounts left unlinked (--format csv: the list for the school)",
    )
    p.add_argument("--demo", action="store_true", help="the sessions of idpronote demo")
    handlers["history"] = session.history

    p = sub.add_parser(
        "undo", parents=[_common(uai=False)], help="revert what one import session wrote"
    )
    p.add_argument("session", metavar="SESSION", help="the session id (idpronote history)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--demo", action="store_true", help="a session of idpronote demo (its copy)")
    handlers["undo"] = session.undo

    p = sub.add_parser(
        "demo",
        parents=[_common(directory=False, uai=False)],
        help="the wizard on bundled demo data, in a copy kept under the data directory "
        "(no server, no configuration)",
    )
    p.add_argument("--no-mouse", action="store_true", help="ignore the mouse")
    p.add_argument("--reset", action="store_true", help="start from a fresh copy of the demo data")
    handlers["demo"] = wizard.demo

    p = sub.add_parser(
        "setup",
        parents=[_common(directory=False, uai=False)],
        help="describe and test the directory, then write config.toml (--config: where)",
    )
    p.add_argument("--no-mouse", action="store_true", help="ignore the mouse")
    handlers["setup"] = config.setup

    p = sub.add_parser("config", help="check or show the configuration")
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    actions.add_parser(
        "check",
        parents=[_common(uai=False)],
        help="connect, count accounts per profile, read a sample, check write access",
    )
    actions.add_parser(
        "show",
        parents=[_common(uai=False)],
        help="the effective configuration, where each value comes from, secrets masked",
    )
    handlers["config"] = config.run
    return parser, handlers


def build_wizard_parser() -> _Parser:
    """`idpronote` without a command: the wizard."""
    parser = _Parser(
        prog="idpronote",
        parents=[_common(mode=True, reads_file=True)],
        description="The import wizard. Commands: idpronote --help-commands",
    )
    parser.add_argument("--file", metavar="FILE", help="the identifiers file to start with")
    parser.add_argument("--no-mouse", action="store_true", help="ignore the mouse")
    _version_option(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser, handlers = build_parser()
        if argv in (["--help-commands"],):
            parser.print_help()
            return EXIT_OK
        if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
            from tui.commands import wizard

            args = build_wizard_parser().parse_args(argv)
            args.command = "wizard"
            handlers["wizard"] = wizard.run
        else:
            args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        config = load_config(getattr(args, "config", None))
        i18n.set_language(args.lang or config.language)
        if getattr(args, "output", None) and args.output != "-":
            # Before any work: `apply` must not write the directory, then fail on its report.
            usable_output(Path(args.output))
        config.file_schema = _partner_key(config, args)
        if getattr(args, "demo", False):
            # undo/history --demo: the demo copy's journals and directory file.
            from tui.commands.wizard import demo_config

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


def log_internal_error(error: BaseException) -> Path | str:
    """Keep the traceback for the developers, out of the admin's terminal."""
    import platformdirs

    try:
        directory = private_dir(Path(platformdirs.user_log_dir("idpronote")))
        path = directory / "errors.log"
        # Never through a link, never another user's file (private_files.py).
        fd = open_private(path, os.O_WRONLY | os.O_APPEND, create=True)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now().isoformat(timespec='seconds')}\n")
            handle.write("".join(traceback.format_exception(error)))
        return path
    except (OSError, IdpronoteError):
        return "stderr"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
