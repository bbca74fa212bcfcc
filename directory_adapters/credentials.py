"""The LDAP bind password: where it may come from, and how it is kept out of sight.

CONTRACT.md: a secret comes from an environment variable, a file readable
only by its owner, or a prompt, never from the command line (where `ps` and
the shell history would show it). A password written in config.toml is
accepted too, because that is the admin's explicit choice.

The password is wrapped in `Secret` as soon as it is read, so that no
message, log line, `repr` or exception built around it can show it.
"""

from __future__ import annotations

import getpass
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from core.errors import DirectoryError
from core.i18n import register, t

__all__ = ["BindCredentials", "Secret", "bind_credentials", "needs_prompt"]

register(
    {
        "dir.credentials.source.anonymous": (
            "aucun mot de passe (connexion anonyme)",
            "no password (anonymous bind)",
        ),
        "dir.credentials.source.config": (
            "le mot de passe écrit dans config.toml",
            "the password in config.toml",
        ),
        "dir.credentials.source.environment": (
            "la variable d'environnement {variable}",
            "the environment variable {variable}",
        ),
        "dir.credentials.source.file": ("le fichier {path}", "the file {path}"),
        "dir.credentials.source.prompt": (
            "la saisie au terminal",
            "the terminal prompt",
        ),
        "dir.credentials.source.typed_setup": (
            "le mot de passe saisi dans la configuration",
            "the password typed in setup",
        ),
        "dir.credentials.source.typed": (
            "le mot de passe saisi dans idpronote",
            "the password typed in idpronote",
        ),
        "dir.credentials.empty": (
            "le mot de passe LDAP de {bind_dn} ({source}) est vide",
            "the LDAP password for {bind_dn} from {source} is empty",
        ),
        "dir.credentials.empty_hint": (
            "un mot de passe vide ferait une connexion anonyme ; indiquez le vrai mot de passe",
            "an empty password would bind anonymously; set the real password",
        ),
        "dir.credentials.env_unset": (
            "le mot de passe LDAP doit être lu dans la variable d'environnement {variable}, "
            "qui n'est pas définie",
            "the LDAP password is to be read from the environment variable {variable}, "
            "which is not set",
        ),
        "dir.credentials.env_unset_hint": (
            "faites export {variable}=... avant de lancer idpronote, ou changez "
            "[directory.ldap] password_env dans config.toml",
            "export {variable}=... before running idpronote, or change "
            "[directory.ldap] password_env in config.toml",
        ),
        "dir.credentials.file_unreadable": (
            "lecture impossible du fichier de mot de passe LDAP {path} : {error}",
            "cannot read the LDAP password file {path}: {error}",
        ),
        "dir.credentials.file_hint": (
            "vérifiez [directory.ldap] password_file dans config.toml",
            "check [directory.ldap] password_file in config.toml",
        ),
        "dir.credentials.file_too_large": (
            "le fichier de mot de passe LDAP {path} dépasse {limit} octets : ce n'est pas "
            "un fichier de mot de passe",
            "the LDAP password file {path} is larger than {limit} bytes: not a password file",
        ),
        "dir.credentials.file_not_utf8": (
            "le fichier de mot de passe LDAP {path} n'est pas du texte UTF-8",
            "the LDAP password file {path} is not UTF-8 text",
        ),
        "dir.credentials.file_not_regular": (
            "le fichier de mot de passe LDAP {path} n'est pas un fichier ordinaire",
            "the LDAP password file {path} is not a regular file",
        ),
        "dir.credentials.file_other_owner": (
            "le fichier de mot de passe LDAP {path} appartient à un autre utilisateur (uid {uid})",
            "the LDAP password file {path} belongs to another user (uid {uid})",
        ),
        "dir.credentials.file_other_owner_hint": (
            "il doit appartenir à l'utilisateur qui lance idpronote : chown $(id -un) {path}",
            "it must belong to the user running idpronote: chown $(id -un) {path}",
        ),
        "dir.credentials.file_open": (
            "le fichier de mot de passe LDAP {path} est accessible à d'autres utilisateurs "
            "(mode {mode})",
            "the LDAP password file {path} is open to other users (mode {mode})",
        ),
        "dir.credentials.no_terminal": (
            "aucun mot de passe LDAP configuré pour {bind_dn}, et pas de terminal pour le demander",
            "no LDAP password configured for {bind_dn}, and no terminal to ask for it on",
        ),
        "dir.credentials.no_terminal_hint": (
            "renseignez [directory.ldap] password_env (une variable d'environnement) ou "
            "password_file (un fichier que vous seul pouvez lire, chmod 600) dans config.toml",
            "set [directory.ldap] password_env (an environment variable) or "
            "password_file (a file only you can read, chmod 600) in config.toml",
        ),
        "dir.credentials.prompt": (
            "Mot de passe LDAP de {bind_dn} : ",
            "LDAP password for {bind_dn}: ",
        ),
        "dir.credentials.not_given": (
            "aucun mot de passe LDAP saisi pour {bind_dn}",
            "no LDAP password given for {bind_dn}",
        ),
    }
)

# `BindCredentials.source` is kept in English (what the code compares and logs);
# `where()` shows it in the interface's language.
_SOURCES = {
    "no password (anonymous bind)": "dir.credentials.source.anonymous",
    "the password in config.toml": "dir.credentials.source.config",
    "the terminal prompt": "dir.credentials.source.prompt",
    "the password typed in setup": "dir.credentials.source.typed_setup",
    "the password typed in idpronote": "dir.credentials.source.typed",
}
_SOURCE_PREFIXES = (
    ("the environment variable ", "dir.credentials.source.environment", "variable"),
    ("the file ", "dir.credentials.source.file", "path"),
)


def source_text(source: str) -> str:
    """Where a password came from (`BindCredentials.source`), in the current language."""
    key = _SOURCES.get(source)
    if key is not None:
        return t(key)
    for prefix, key, name in _SOURCE_PREFIXES:
        if source.startswith(prefix):
            return t(key, **{name: source[len(prefix) :]})
    return source


# A password file is small; anything bigger is not one (a misconfigured path).
_MAX_FILE = 4096


class Secret:
    """A password that never shows itself: only `reveal()` gives the text."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True)
class BindCredentials:
    """Who idpronote binds as, and where the password came from (for messages)."""

    bind_dn: str | None
    password: Secret | None = field(default=None, repr=False)
    source: str = "no password (anonymous bind)"

    @property
    def anonymous(self) -> bool:
        return self.bind_dn is None

    def scrub(self, text: str) -> str:
        """`text` with the password replaced, in case a library echoed it."""
        if self.password is None or not self.password.reveal():
            return text
        return text.replace(self.password.reveal(), "***")

    def where(self) -> str:
        """`source`, in the current language (for messages)."""
        return source_text(self.source)


def bind_credentials(
    settings: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> BindCredentials:
    """The credentials `[directory.ldap]` describes.

    The first source configured wins, in this order: `password_env`,
    `password_file`, `password`; with none, a prompt on the terminal, only
    when there is one (a cron job must fail, not hang). No `bind_dn` means an
    anonymous bind, and no password is asked for.
    """
    bind_dn = str(settings.get("bind_dn") or "").strip()
    if not bind_dn:
        return BindCredentials(None)
    environ = os.environ if environ is None else environ
    if settings.get("password_env"):
        password, source = _from_environment(str(settings["password_env"]), environ)
    elif settings.get("password_file"):
        password, source = _from_file(Path(str(settings["password_file"])).expanduser())
    elif settings.get("password"):
        password, source = str(settings["password"]), "the password in config.toml"
    else:
        password, source = _from_prompt(bind_dn, sys.stdin if stdin is None else stdin, prompt)
    if not password:
        # RFC 4513: a DN with an empty password is an *unauthenticated* bind,
        # which many servers accept as anonymous. Never let that happen silently.
        raise DirectoryError(
            t("dir.credentials.empty", bind_dn=bind_dn, source=source_text(source)),
            hint=t("dir.credentials.empty_hint"),
        )
    return BindCredentials(bind_dn, Secret(password), source)


def needs_prompt(settings: Mapping[str, Any]) -> bool:
    """True when `[directory.ldap]` names a bind DN but no place to read its password:
    the password must be asked for (the wizard asks in its own dialog)."""
    if not str(settings.get("bind_dn") or "").strip():
        return False
    return not any(settings.get(k) for k in ("password_env", "password_file", "password"))


def _from_environment(variable: str, environ: Mapping[str, str]) -> tuple[str, str]:
    source = f"the environment variable {variable}"
    if variable not in environ:
        raise DirectoryError(
            t("dir.credentials.env_unset", variable=variable),
            hint=t("dir.credentials.env_unset_hint", variable=variable),
        )
    return environ[variable], source


def _from_file(path: Path) -> tuple[str, str]:
    """The first line of a regular file that only its owner, the current user, can read."""
    source = f"the file {path}"
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise DirectoryError(
            t("dir.credentials.file_unreadable", path=path, error=error.strerror or error),
            hint=t("dir.credentials.file_hint"),
        ) from None
    try:
        # Checked on the open file itself, so the file checked is the file read.
        info = os.fstat(handle)
        _check_password_file(path, info)
        data = os.read(handle, _MAX_FILE + 1)
    finally:
        os.close(handle)
    if len(data) > _MAX_FILE:
        raise DirectoryError(
            t("dir.credentials.file_too_large", path=path, limit=_MAX_FILE),
            hint=t("dir.credentials.file_hint"),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DirectoryError(t("dir.credentials.file_not_utf8", path=path)) from None
    # The first line, without its line ending; spaces are part of a password.
    return text.splitlines()[0] if text else "", source


def _check_password_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise DirectoryError(t("dir.credentials.file_not_regular", path=path))
    if info.st_uid != os.geteuid():
        raise DirectoryError(
            t("dir.credentials.file_other_owner", path=path, uid=info.st_uid),
            hint=t("dir.credentials.file_other_owner_hint", path=path),
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(info.st_mode)
        raise DirectoryError(
            t("dir.credentials.file_open", path=path, mode=f"{mode:04o}"),
            hint=f"chmod 600 {path}",
        )


def _from_prompt(bind_dn: str, stdin: TextIO, prompt: Callable[[str], str]) -> tuple[str, str]:
    source = "the terminal prompt"
    try:
        interactive = stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        interactive = False
    if not interactive:
        raise DirectoryError(
            t("dir.credentials.no_terminal", bind_dn=bind_dn),
            hint=t("dir.credentials.no_terminal_hint"),
        )
    try:
        return prompt(t("dir.credentials.prompt", bind_dn=bind_dn)), source
    except (EOFError, KeyboardInterrupt):
        raise DirectoryError(t("dir.credentials.not_given", bind_dn=bind_dn)) from None
