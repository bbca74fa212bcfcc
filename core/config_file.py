"""Writing config.toml: what `idpronote setup` decided, merged into what the file says.

The file is checked with the same code that reads it before anything is
written, replaced atomically, created `0600` (it may hold a password if the
admin asked for that), and an existing file is kept beside it as
`config.toml.bak`, because TOML writers drop comments.

A password goes into config.toml only if the admin chose so; otherwise the
file names where it will be read (an environment variable, or a password
file this module creates `0600`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

from core.config import APP_NAME, ENV_CONFIG, Config, parse_config
from core.errors import ConfigError
from core.i18n import t
from core.model import Category
from core.private_files import UnsafePath, read_own_file, replace_file

__all__ = [
    "PASSWORD_STORES",
    "SetupAnswers",
    "default_target",
    "setup_table",
    "write_config",
    "write_password_file",
]

# Where the bind password will come from: an environment variable, a file
# readable only by its owner, config.toml itself (only when asked), or
# nowhere (an anonymous bind, or a prompt at every run).
PASSWORD_STORES = ("env", "file", "config", "prompt")
DEFAULT_PASSWORD_ENV = "IDPRONOTE_LDAP_PASSWORD"  # noqa: S105 - a variable name
# [directory.ldap] keys setup keeps as the file had them (issue 18: replication, lock).
KEPT_LDAP_KEYS = ("write_url", "lock_base", "lock_lease")

HEADER = (
    "# idpronote configuration, written by `idpronote setup` on {date}.\n"
    "# Every key is documented in the config.toml shipped with idpronote.\n"
    "{backup}\n"
)


@dataclass
class SetupAnswers:
    """What the setup screen asked. Paths are kept as typed."""

    kind: str = "ldap"  # "ldap", "ldif" or "csv"
    preset: str = "ent"
    path: str = ""  # for "ldif" and "csv"
    url: str = ""
    start_tls: bool = False
    ca_file: str = ""
    bind_dn: str = ""
    base_dn: str = ""
    keep_in: str = "env"  # where the bind password is kept: PASSWORD_STORES
    password_env: str = DEFAULT_PASSWORD_ENV
    password_file: str = ""
    profiles: dict[Category, tuple[str, ...]] = field(default_factory=dict)
    language: str | None = None
    # [directory.ldap] keys the setup screen does not ask, kept as they were
    # (KEPT_LDAP_KEYS: the provider, the directory's lock).
    kept: dict[str, Any] = field(default_factory=dict)


def default_target(config: Config, explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where setup writes unless told otherwise.

    The file the admin named, else the one in effect (so the next run reads
    what setup wrote), else the user's configuration directory.
    """
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    if config.source is not None:
        return config.source
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def setup_table(answers: SetupAnswers, existing: Mapping[str, Any] | None = None) -> dict:
    """The TOML document: the existing one, with what setup owns replaced.

    Setup owns `[directory]` (kind, path, preset, `[directory.ldap]`) and the
    profile lists it was given; `[matching]`, `[keys]`, `[file]`, field
    overrides and the rest are kept as they were.
    """
    data: dict[str, Any] = {k: v for k, v in (existing or {}).items()}
    if answers.language:
        data["language"] = answers.language
    directory = dict(data.get("directory") or {})
    before = directory.get("ldap") if isinstance(directory.get("ldap"), dict) else {}
    # What the screen does not ask is kept from the file: the provider, the lock.
    answers = replace(answers, kept={**{k: before[k] for k in KEPT_LDAP_KEYS if k in before},
                                     **answers.kept})  # fmt: skip
    for key in ("kind", "path", "preset", "ldap"):
        directory.pop(key, None)
    directory["kind"] = answers.kind
    directory["preset"] = answers.preset
    if answers.kind in ("csv", "ldif"):
        if not answers.path.strip():
            raise ConfigError(t("config.needs_directory_file"))
        directory["path"] = answers.path.strip()
    else:
        directory["ldap"] = _ldap_table(answers)
    # Keep the table order readable: kind, path, preset, then the rest.
    ordered = {k: directory[k] for k in ("kind", "path", "preset") if k in directory}
    ordered.update({k: v for k, v in directory.items() if k not in ordered})
    data["directory"] = ordered
    if answers.profiles:
        profiles = dict(data.get("profiles") or {})
        for category, values in answers.profiles.items():
            if values:
                profiles[category.slug] = list(values)
        data["profiles"] = profiles
    return data


def _ldap_table(answers: SetupAnswers) -> dict[str, Any]:
    if not answers.url.strip():
        raise ConfigError(t("config.needs_url"))
    if not answers.base_dn.strip():
        raise ConfigError(t("config.needs_base"))
    urls = answers.url.split()
    ldap: dict[str, Any] = {"url": urls[0] if len(urls) == 1 else urls}
    if answers.start_tls:
        ldap["start_tls"] = True
    if answers.ca_file.strip():
        ldap["ca_file"] = answers.ca_file.strip()
    if answers.bind_dn.strip():
        ldap["bind_dn"] = answers.bind_dn.strip()
        store = answers.keep_in
        if store not in PASSWORD_STORES:
            raise ConfigError(t("config.password_store", stores=", ".join(PASSWORD_STORES)))
        if store == "env":
            name = answers.password_env.strip() or DEFAULT_PASSWORD_ENV
            if not name.replace("_", "").isalnum():
                raise ConfigError(t("config.not_env_name", name=repr(name)))
            ldap["password_env"] = name
        elif store == "file":
            if not answers.password_file.strip():
                raise ConfigError(t("config.needs_password_file"))
            ldap["password_file"] = answers.password_file.strip()
        # "config": write_config puts the password in; "prompt": nothing here.
    bases = [b.strip() for b in answers.base_dn.split(";") if b.strip()]
    ldap["base_dn"] = bases[0] if len(bases) == 1 else bases
    for key in KEPT_LDAP_KEYS:
        if answers.kept.get(key) not in (None, ""):
            ldap[key] = answers.kept[key]
    return ldap


def read_existing(path: Path) -> dict[str, Any]:
    """The document at `path`, or {} when there is none; a broken one is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(t("config.unreadable", path=path, error=error)) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(t("config.not_toml", path=path, error=error)) from None


def write_config(path: Path, data: Mapping[str, Any], *, password: str | None = None) -> Path:
    """Check `data` as config.toml, then write it at `path` (0600); returns the backup path.

    `password`, when given, goes into `[directory.ldap] password`: only when the
    admin chose to store it there.
    """
    document = {k: v for k, v in data.items()}
    if password is not None:
        directory = dict(document.get("directory") or {})
        ldap = dict(directory.get("ldap") or {})
        for key in ("password_env", "password_file"):
            ldap.pop(key, None)
        ldap["password"] = password
        directory["ldap"] = ldap
        document["directory"] = directory
    body = tomli_w.dumps(document)
    parse_config(tomllib.loads(body), path, body)  # the reader's own checks, before writing
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    backup = path.with_name(path.name + ".bak")
    # Never through a link, never another user's file: the config, its backup
    # (it may hold a password too) and the temporary file (O_EXCL, a random
    # name) all go through private_files (docs/SECURITY.md).
    try:
        previous = read_own_file(path)
        had_one = previous is not None
        if previous is not None:
            replace_file(backup, previous)
        note = (
            f"# The previous file, with its comments, is {backup.name} beside this one.\n"
            if had_one
            else ""
        )
        text = HEADER.format(date=datetime.now().strftime("%Y-%m-%d %H:%M"), backup=note) + body
        replace_file(path, text.encode("utf-8"))
    except UnsafePath as error:
        raise ConfigError(str(error)) from None
    return backup if had_one else path


def write_password_file(path: Path, password: str) -> bool:
    """Create the password file `0600`; an existing one is left alone (returns False)."""
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(password + "\n")
    return True
