"""argparse in the admin's language, and a usage error as one line (CONTRACT.md).

argparse takes its own words ("usage:", "positional arguments", its error
messages) from gettext's catalogue for the whole process; here they are set on
each parser (group titles, -h) or translated in `Parser.error`, so nothing
global changes and another argparse in the process is left alone.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import NoReturn

from cli.context import EXIT_USAGE, say
from core.i18n import register, t

# argparse's own words, and the two the common options' types say.
register(
    {
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
    }
)


class Formatter(argparse.HelpFormatter):
    """argparse's help, with "usage:" in the admin's language."""

    def add_usage(self, usage, actions, groups, prefix=None) -> None:  # type: ignore[override]
        super().add_usage(usage, actions, groups, t("cli.arg.usage") if prefix is None else prefix)


class Parser(argparse.ArgumentParser):
    """argparse in the admin's language; a usage error is one line, not a usage dump."""

    def __init__(self, *args, add_help: bool = True, parents=(), **kwargs) -> None:
        kwargs.setdefault("formatter_class", Formatter)
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
