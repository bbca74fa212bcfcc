"""What the adapters share beyond the port: counted messages for the rows or
entries an adapter skipped, and the re-export of the port itself, which lives in
core/directory.py (core names it without importing an adapter).
"""

from __future__ import annotations

from collections.abc import Iterable

# The port, re-exported whole: its names are listed once, in core/directory.py.
from core.directory import *  # noqa: F403
from core.directory import __all__ as _PORT
from core.i18n import register, t

__all__ = [*_PORT, "counted", "skipped", "summarise_problems"]


register(
    {
        "dir.base.row.skipped.one": (
            "{count} ligne sans {without} a été ignorée",
            "{count} row without {without} was skipped",
        ),
        "dir.base.row.skipped.many": (
            "{count} lignes sans {without} ont été ignorées",
            "{count} rows without {without} were skipped",
        ),
        "dir.base.entry.skipped.one": (
            "{count} entrée sans {without} a été ignorée",
            "{count} entry without {without} was skipped",
        ),
        "dir.base.entry.skipped.many": (
            "{count} entrées sans {without} ont été ignorées",
            "{count} entries without {without} were skipped",
        ),
        "dir.base.row.duplicate.one": (
            "{count} ligne avec un identifiant de connexion utilisé plusieurs fois a été "
            "ignorée (par ex. {example})",
            "{count} row with a login used more than once was skipped (e.g. {example})",
        ),
        "dir.base.row.duplicate.many": (
            "{count} lignes avec un identifiant de connexion utilisé plusieurs fois ont été "
            "ignorées (par ex. {example})",
            "{count} rows with a login used more than once were skipped (e.g. {example})",
        ),
        "dir.base.entry.duplicate.one": (
            "{count} entrée avec un identifiant de connexion utilisé plusieurs fois a été "
            "ignorée (par ex. {example})",
            "{count} entry with a login used more than once was skipped (e.g. {example})",
        ),
        "dir.base.entry.duplicate.many": (
            "{count} entrées avec un identifiant de connexion utilisé plusieurs fois ont été "
            "ignorées (par ex. {example})",
            "{count} entries with a login used more than once were skipped (e.g. {example})",
        ),
        "dir.base.invalid_date.one": (
            "{count} date de naissance illisible, lue comme absente (par ex. {example})",
            "{count} birth date could not be read, read as no date (e.g. {example})",
        ),
        "dir.base.invalid_date.many": (
            "{count} dates de naissance illisibles, lues comme absentes (par ex. {example})",
            "{count} birth dates could not be read, read as no date (e.g. {example})",
        ),
        "dir.base.other.one": (
            "{count} problème {kind} (par ex. {example})",
            "{count} problem {kind} (e.g. {example})",
        ),
        "dir.base.other.many": (
            "{count} problèmes {kind} (par ex. {example})",
            "{count} problems {kind} (e.g. {example})",
        ),
    }
)


def counted(key: str, count: int, **params: object) -> str:
    """The message `key` + ".one" or ".many" as `count` is 1 or not, with `count`."""
    return t(f"{key}.{'one' if count == 1 else 'many'}", count=count, **params)


def skipped(count: int, things: str, without: str) -> str:
    """`12 entries without uid were skipped` (`things`: "row" or "entry")."""
    return counted(f"dir.base.{things}.skipped", count, without=without)


def summarise_problems(
    problems: Iterable[object], *, things: str, login: str, surname: str
) -> list[str]:
    """One counted line per kind of problem (objects with `kind` and `message`), in the
    order the kinds first appear; `things` names what was read ("row" or "entry")."""
    by_kind: dict[str, list[str]] = {}
    for problem in problems:
        kind = str(getattr(problem, "kind", "") or "problem")
        by_kind.setdefault(kind, []).append(str(getattr(problem, "message", "")))
    lines = []
    for kind, messages in by_kind.items():
        count, example = len(messages), messages[0]
        if kind == "missing_login":
            lines.append(skipped(count, things, login))
        elif kind == "missing_surname":
            lines.append(skipped(count, things, surname))
        elif kind == "duplicate_login":
            lines.append(counted(f"dir.base.{things}.duplicate", count, example=example))
        elif kind == "invalid_date":
            lines.append(counted("dir.base.invalid_date", count, example=example))
        else:
            lines.append(counted("dir.base.other", count, kind=kind, example=example))
    return lines
