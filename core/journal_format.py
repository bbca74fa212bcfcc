"""What a journal line holds, shared by the writing side (core/journal.py) and the
reading side (core/journal_sessions.py): the format version, the errors, who is
writing and when, and how a change is written down and read back.
"""

from __future__ import annotations

import getpass
import os
import secrets
import socket
from datetime import datetime
from typing import Any

from core.errors import IdpronoteError
from core.i18n import register
from core.model import DIRECTORY_FAILURES, ChangeKind, ChangeOutcome, IdentifierChange

FORMAT_VERSION = 2  # 1: no checksums (before issue 21)

# The failures a resume tries again: the directory's own (DIRECTORY_FAILURES),
# and "error", which format-1 journals gave a server that went away.
RETRIED = DIRECTORY_FAILURES | {"error"}

register(
    {
        "journal.write_failed": (
            "le journal {path} n'a pas pu être écrit ({error}) sur le système de fichiers "
            "{file_system} : l'import s'arrête avant toute nouvelle écriture dans l'annuaire ; "
            "libérez de la place, puis reprenez-le (idpronote apply --resume, ou F5)",
            "the journal {path} could not be written ({error}) on the file system "
            "{file_system}: the import stops before writing anything more to the directory; "
            "make room there, then resume it (idpronote apply --resume, or F5)",
        ),
        "journal.damaged": (
            "le journal de la session {session} ({uai}) est endommagé : ligne(s) {lines} de "
            "{path} invérifiable(s) ; on ne peut plus s'y fier. Vérifiez l'annuaire "
            "(idpronote status --uai {uai}), puis prenez-en acte : "
            "idpronote history {session} --acknowledge-damage",
            "the journal of session {session} ({uai}) is damaged: line(s) {lines} of {path} "
            "do not verify; it can no longer be trusted. Check the directory (idpronote "
            "status --uai {uai}), then acknowledge it: "
            "idpronote history {session} --acknowledge-damage",
        ),
        "journal.undo_damaged": (
            "annulation refusée : le journal de la session {session} est endommagé "
            "(ligne(s) {lines} de {path} invérifiable(s)) ; rien n'a été modifié",
            "undo refused: the journal of session {session} is damaged (line(s) {lines} "
            "of {path} do not verify); nothing was changed",
        ),
    }
)


class LockHeld(IdpronoteError):
    """Another session is importing this establishment."""


class JournalDamaged(IdpronoteError):
    """A journal line does not verify: nothing is done on its word."""


class SessionBlocked(IdpronoteError):
    """A cut or damaged session must be dealt with before a new import starts."""


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def new_session_id() -> str:
    return datetime.now().strftime("%Y-%m-%dT%H-%M-%S") + "-" + secrets.token_hex(2)


def operator(identity: str | None = None) -> dict[str, str | None]:
    """Who is writing: the system user, the host, and the directory identity used."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return {"user": user, "host": socket.gethostname(), "directory_identity": identity}


def change_json(change: IdentifierChange) -> dict[str, Any]:
    found = {
        "login": change.login,
        "uai": change.uai,
        "kind": change.kind.value,
        "idpn": change.idpn,
        "previous": change.previous,
    }
    if change.drop_object_class:
        found["drop_object_class"] = True
    return found


def change_from_json(data: dict[str, Any]) -> IdentifierChange:
    return IdentifierChange(
        login=data["login"],
        uai=data["uai"],
        kind=ChangeKind(data["kind"]),
        idpn=data.get("idpn"),
        previous=data.get("previous"),
        drop_object_class=bool(data.get("drop_object_class")),
    )


def change_key(data: dict[str, Any]) -> tuple[str, str, str, str | None, str | None]:
    """One change as journaled, whatever batch (or retry) it was written in."""
    return (
        str(data["login"]).casefold(),
        str(data["uai"]).upper(),
        str(data["kind"]),
        data.get("idpn"),
        data.get("previous"),
    )


def outcome_json(outcome: ChangeOutcome) -> dict[str, Any]:
    return {
        **change_json(outcome.change),
        "applied": outcome.applied,
        "wrote": outcome.wrote,
        "failure": outcome.failure,
        "reason": outcome.reason,
    }


# -- writing ---------------------------------------------------------------------------------
