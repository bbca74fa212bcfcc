"""Directory adapters: every way idpronote can read and write ENT accounts."""

from __future__ import annotations

from pathlib import Path

from core.config import Config
from core.errors import ConfigError
from directory_adapters.base import Directory
from directory_adapters.mapping import AttributeMapping


def directory_kind(path: Path) -> str:
    return "ldif" if path.suffix.lower() == ".ldif" else "csv"


def open_directory(
    config: Config, directory_file: str | Path | None = None, *, only_uai: str | None = None
) -> Directory:
    """The directory the configuration (or `--directory-file`) names.

    `only_uai` asks for a read-only view of one establishment, which a
    dry run needs and which a large local file loads much faster; adapters
    that cannot restrict themselves ignore it.
    """
    settings = config.directory
    if directory_file is not None:
        path = Path(directory_file)
        kind = directory_kind(path)
    else:
        kind, path = settings.kind, settings.path
    if kind is None:
        raise ConfigError(
            "no directory configured: pass --directory-file PATH, or set [directory] kind "
            "in config.toml"
        )
    if path is None and kind in ("csv", "ldif"):
        raise ConfigError(f'[directory] path is required when kind = "{kind}"')
    if kind == "csv":
        from directory_adapters.local_file import CsvDirectory

        return CsvDirectory(
            path,
            columns=settings.fields,
            form=AttributeMapping.from_settings(settings).form,
            profiles=config.profiles,
            only_uai=only_uai,
        )
    raise ConfigError(
        f"directory kind {kind!r} is not available in this version yet; use a CSV "
        "directory file (--directory-file annuaire.csv)"
    )
