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

__all__ = ["BindCredentials", "Secret", "bind_credentials", "needs_prompt"]

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
            f"the LDAP password for {bind_dn} from {source} is empty",
            hint="an empty password would bind anonymously; set the real password",
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
            f"the LDAP password is to be read from the environment variable {variable}, "
            "which is not set",
            hint=f"export {variable}=... before running idpronote, or change "
            "[directory.ldap] password_env in config.toml",
        )
    return environ[variable], source


def _from_file(path: Path) -> tuple[str, str]:
    """The first line of a regular file that only its owner, the current user, can read."""
    source = f"the file {path}"
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise DirectoryError(
            f"cannot read the LDAP password file {path}: {error.strerror or error}",
            hint="check [directory.ldap] password_file in config.toml",
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
            f"the LDAP password file {path} is larger than {_MAX_FILE} bytes: not a password file",
            hint="check [directory.ldap] password_file in config.toml",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DirectoryError(f"the LDAP password file {path} is not UTF-8 text") from None
    # The first line, without its line ending; spaces are part of a password.
    return text.splitlines()[0] if text else "", source


def _check_password_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise DirectoryError(f"the LDAP password file {path} is not a regular file")
    if info.st_uid != os.geteuid():
        raise DirectoryError(
            f"the LDAP password file {path} belongs to another user (uid {info.st_uid})",
            hint=f"it must belong to the user running idpronote: chown $(id -un) {path}",
        )
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = stat.S_IMODE(info.st_mode)
        raise DirectoryError(
            f"the LDAP password file {path} is open to other users (mode {mode:04o})",
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
            f"no LDAP password configured for {bind_dn}, and no terminal to ask for it on",
            hint="set [directory.ldap] password_env (an environment variable) or "
            "password_file (a file only you can read, chmod 600) in config.toml",
        )
    try:
        return prompt(f"LDAP password for {bind_dn}: "), source
    except (EOFError, KeyboardInterrupt):
        raise DirectoryError(f"no LDAP password given for {bind_dn}") from None
