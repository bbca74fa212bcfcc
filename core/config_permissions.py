"""Who may change or read config.toml: refused as ssh refuses its own files.

Whoever can edit the configuration decides which server receives the bind
password, with which CA, as which account, and which file or data directory
idpronote writes to (running as root, a `path` pointed at `/etc/passwd`).
Whoever can read it reads a password stored in it. So, for every command,
before the configuration is used:

- a file that **sets where idpronote connects, authenticates or writes** (the
  keys in `TRUSTED_KEYS`: the server, the CA, the bind account, the password
  or its file, the directory file, the data directory) is refused when
  someone other than its owner can write it (world-writable; group-writable
  unless the group is the owner's private group, as Debian's OpenSSH
  allows), when its owner is neither this user nor root, or when its folder
  lets others replace it (writable by others and not sticky);
- a file that **holds a password** (`[directory.ldap] password`) is refused
  when anyone but its owner may read it (any group or other bit): `chmod 600`.

A configuration without any of those keys (the repository's documented
`config.toml`: presets, profiles, thresholds, keys) is read whatever its
mode: it can change how accounts are matched, never where a secret goes.
`password_file` names where the secret is, not the secret: the file it names
must itself be 0600 (directory_adapters/credentials.py).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.i18n import register, t

__all__ = ["TRUSTED_KEYS", "check_config_permissions"]

register(
    {
        "config.writable_by_others": (
            "{path} peut être modifié par d'autres utilisateurs que son propriétaire (mode "
            "{mode}) et dit où idpronote se connecte ou écrit ({keys}) : refusé, comme ssh le "
            "fait. Corrigez : chmod go-w {path}",
            "{path} can be changed by users other than its owner (mode {mode}) and says where "
            "idpronote connects or writes ({keys}): refused, as ssh does. Fix: chmod go-w {path}",
        ),
        "config.foreign_owner": (
            "{path} appartient à {owner} et dit où idpronote se connecte ou écrit ({keys}) : "
            "refusé, comme ssh le fait. Corrigez : chown {user} {path}, ou utilisez votre "
            "propre configuration (--config)",
            "{path} belongs to {owner} and says where idpronote connects or writes ({keys}): "
            "refused, as ssh does. Fix: chown {user} {path}, or use a configuration of your "
            "own (--config)",
        ),
        "config.open_directory": (
            "{path} est dans {directory}, où d'autres utilisateurs peuvent le remplacer (mode "
            "{mode}), et dit où idpronote se connecte ou écrit ({keys}) : refusé. Corrigez : "
            "chmod go-w {directory}, ou déplacez le fichier",
            "{path} is in {directory}, where other users can replace it (mode {mode}), and says "
            "where idpronote connects or writes ({keys}): refused. Fix: chmod go-w {directory}, "
            "or move the file",
        ),
        "config.readable_secret": (
            "{path} contient le mot de passe LDAP et d'autres utilisateurs peuvent le lire "
            "(mode {mode}) : refusé, comme ssh le fait. Corrigez : chmod 600 {path}",
            "{path} holds the LDAP password and other users can read it (mode {mode}): "
            "refused, as ssh does. Fix: chmod 600 {path}",
        ),
    }
)

# (table, key): what decides where the password goes, who we are, what we write.
TRUSTED_KEYS: tuple[tuple[str, str], ...] = (
    ("directory.ldap", "url"),
    ("directory.ldap", "write_url"),
    ("directory.ldap", "ca_file"),
    ("directory.ldap", "bind_dn"),
    ("directory.ldap", "password"),
    ("directory.ldap", "password_env"),
    ("directory.ldap", "password_file"),
    ("directory", "path"),
    ("", "data_dir"),
)


def _table(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    current: Any = data
    for part in dotted.split(".") if dotted else ():
        current = current.get(part) if isinstance(current, dict) else None
    return current if isinstance(current, dict) else {}


def trusted_keys_in(data: dict[str, Any]) -> list[str]:
    return [
        ".".join(p for p in (table, key) if p)
        for table, key in TRUSTED_KEYS
        if key in _table(data, table)
    ]


def _name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return str(uid)


def private_group(gid: int, uid: int) -> bool:
    """The group is its owner's own: nobody else has it, as primary or supplementary.

    (Debian's OpenSSH `secure_permissions`: a group-writable file is safe when
    its group has exactly one member, the file's owner.)
    """
    try:
        import grp
        import pwd

        group = grp.getgrgid(gid)
        owner = pwd.getpwuid(uid).pw_name
        primary = [p for p in pwd.getpwall() if p.pw_gid == gid]
    except (KeyError, ImportError):
        return False
    if any(p.pw_uid != uid for p in primary):
        return False
    if any(member != owner for member in group.gr_mem):
        return False
    return bool(primary) or group.gr_mem == [owner]


def _writable_by_others(info: os.stat_result) -> bool:
    if info.st_mode & stat.S_IWOTH:
        return True
    return bool(info.st_mode & stat.S_IWGRP) and not private_group(info.st_gid, info.st_uid)


def check_config_permissions(path: Path, info: os.stat_result, data: dict[str, Any]) -> None:
    """Raise ConfigError (the path, why, the fix) if `path` cannot be trusted with `data`."""
    mode = f"{stat.S_IMODE(info.st_mode):04o}"
    keys = trusted_keys_in(data)
    if keys:
        shown = ", ".join(keys)
        if info.st_uid not in (0, os.geteuid()):
            raise ConfigError(
                t(
                    "config.foreign_owner",
                    path=path,
                    owner=_name(info.st_uid),
                    user=_name(os.geteuid()),
                    keys=shown,
                )
            )
        if _writable_by_others(info):
            raise ConfigError(t("config.writable_by_others", path=path, mode=mode, keys=shown))
        directory = path.resolve().parent
        try:
            folder = os.stat(directory)
        except OSError:
            folder = None
        if folder is not None and _writable_by_others(folder) and not folder.st_mode & stat.S_ISVTX:
            raise ConfigError(
                t(
                    "config.open_directory",
                    path=path,
                    directory=directory,
                    mode=f"{stat.S_IMODE(folder.st_mode):04o}",
                    keys=shown,
                )
            )
    if "password" in _table(data, "directory.ldap") and info.st_mode & (
        stat.S_IRWXG | stat.S_IRWXO
    ):
        raise ConfigError(t("config.readable_secret", path=path, mode=mode))
