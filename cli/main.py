"""`idpronote`: one command-line frame for every command (CONTRACT.md).

The frame owns what every command shares: the common options, the language,
the configuration, where output goes, and the exit status. No traceback ever
reaches the terminal: a user error is one line on stderr and status 2; an
internal error is one line pointing at a log file that holds the details.

The grammar (commands, options, `--help`) is `cli/parser.py`; argparse's words
in the admin's language, `cli/localised_argparse.py`.

Nothing here imports Textual: `inspect`, `match` and `apply` must start fast
and run on servers where nobody looks at a screen.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from cli import words as _words  # noqa: F401  (registers the words)
from cli.context import EXIT_OK, EXIT_USAGE, Context, say
from cli.parser import build_parser, build_wizard_parser
from core import i18n
from core.config import ENV_CONFIG, Config, load_config
from core.errors import IdpronoteError
from core.i18n import t
from core.internal_log import log_internal_error
from core.private_files import usable_output
from core.pronote_file import FileSchema
from core.text import printable

__all__ = ["EXIT_OK", "EXIT_USAGE", "build_parser", "early_language", "main"]


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
