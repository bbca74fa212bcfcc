"""Directory adapters: every way idpronote can read and write ENT accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.config import Config
from core.errors import ConfigError
from core.i18n import register, t
from directory_adapters.base import Directory
from directory_adapters.mapping import AttributeMapping

register(
    {
        "dir.open.no_directory": (
            "aucun annuaire configuré : passez --directory-file CHEMIN, ou renseignez "
            "[directory] kind dans config.toml",
            "no directory configured: pass --directory-file PATH, or set [directory] kind "
            "in config.toml",
        ),
        "dir.open.path_required": (
            '[directory] path est obligatoire quand kind = "{kind}"',
            '[directory] path is required when kind = "{kind}"',
        ),
        "dir.open.kind_not_yet": (
            "le type d'annuaire {kind!r} n'est pas encore disponible dans cette version ; "
            "utilisez un fichier annuaire CSV (--directory-file annuaire.csv)",
            "directory kind {kind!r} is not available in this version yet; use a CSV "
            "directory file (--directory-file annuaire.csv)",
        ),
    }
)


def directory_kind(path: Path) -> str:
    return "ldif" if path.suffix.lower() == ".ldif" else "csv"


def open_directory(
    config: Config,
    directory_file: str | Path | None = None,
    *,
    only_uai: str | None = None,
    credentials: Any = None,
) -> Directory:
    """The directory the configuration (or `--directory-file`) names.

    `only_uai` asks for a read-only view of one establishment, which a
    dry run needs and which a large local file loads much faster; adapters
    that cannot restrict themselves ignore it. `credentials`
    (`BindCredentials`) is a password the admin typed in the interface,
    used instead of `[directory.ldap]`'s sources.
    """
    settings = config.directory
    if directory_file is not None:
        path = Path(directory_file)
        kind = directory_kind(path)
    else:
        kind, path = settings.kind, settings.path
    if kind is None:
        raise ConfigError(t("dir.open.no_directory"))
    if path is None and kind in ("csv", "ldif"):
        raise ConfigError(t("dir.open.path_required", kind=kind))
    if kind == "csv":
        from directory_adapters.csv import CsvDirectory

        return CsvDirectory(
            path,
            columns=settings.fields,
            form=AttributeMapping.from_settings(settings).form,
            profiles=config.profiles,
            only_uai=only_uai,
        )
    if kind == "ldap":
        from directory_adapters.ldap import LdapDirectory

        return LdapDirectory(
            _beside_config(config, settings.ldap),
            AttributeMapping.from_settings(settings),
            config.profiles,
            credentials=credentials,
        )
    if kind == "ldif":
        from directory_adapters.ldif import LdifDirectory

        return LdifDirectory(
            path, mapping=AttributeMapping.from_settings(settings), profiles=config.profiles
        )
    raise ConfigError(t("dir.open.kind_not_yet", kind=kind))


def _beside_config(config: Config, ldap: dict) -> dict:
    """`[directory.ldap]` with its file paths relative to config.toml, as every path there."""
    if config.source is None:
        return ldap
    resolved = dict(ldap)
    for key in ("ca_file", "password_file"):
        if resolved.get(key):
            path = Path(str(resolved[key])).expanduser()
            if not path.is_absolute():
                resolved[key] = str(config.source.parent / path)
    return resolved
