"""config.toml: found in CONTRACT.md's order, read with tomllib, checked key by key.

Every message names the file, the line, the key and what is allowed: an admin
fixing a configuration on a school server should not need to read this code.
Secrets are never read from here unless the admin chose to store one.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from core.config_permissions import check_config_permissions
from core.envelope import PartnerKey
from core.errors import ConfigError
from core.i18n import LANGUAGES, t
from core.identifier_form import IdentifierForm, InvalidForm
from core.matching import MatchSettings
from core.model import DEFAULT_PROFILES, DIRECTORY_FIELDS, SLUGS, Category, ProfileMapping
from core.pronote_file import (
    DEFAULT_ELEMENTS,
    DEFAULT_FIELDS,
    DEFAULT_MAX_SIZE_MB,
    DEFAULT_WRAPPERS,
    FileSchema,
)

APP_NAME = "idpronote"
ENV_CONFIG = "IDPRONOTE_CONFIG"
SYSTEM_CONFIG = Path("/etc/idpronote/config.toml")

DIRECTORY_KINDS = ("ldap", "csv", "ldif")
# tmux's prefix, and keys legacy terminals send as Enter, Backspace or nothing at all.
FORBIDDEN_KEYS = ("ctrl+b", "ctrl+m", "ctrl+h", "ctrl+enter")
# The presets of directory_adapters/mapping.py, named here for the checks (core imports no
# adapter); tests/core/test_config.py fails if the two lists part.
PRESETS = ("ent", "inetorgperson", "esco")
LDAP_KEYS = {
    "url": (str, list),
    "start_tls": (bool,),
    "ca_file": (str,),
    "bind_dn": (str,),
    "password_env": (str,),
    "password_file": (str,),
    "password": (str,),
    "base_dn": (str, list),
    "timeout": (int, float),
    "receive_timeout": (int, float),
    "page_size": (int,),
    "size_limit": (int,),
    "time_limit": (int,),
    "write_url": (str,),
    "lock_base": (str,),
    "lock_lease": (int, float),
}


def config_candidates(explicit: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where the configuration is looked for, first match wins (CONTRACT.md)."""
    if explicit:
        return [Path(explicit)]
    if os.environ.get(ENV_CONFIG):
        return [Path(os.environ[ENV_CONFIG])]
    return [
        Path.cwd() / "config.toml",
        Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml",
        SYSTEM_CONFIG,
    ]


@dataclass
class DirectoryConfig:
    kind: str | None = None
    path: Path | None = None
    preset: str = "ent"
    ldap: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    # None: as the preset says (directory_adapters/mapping.py resolves them).
    identifier_attribute: str | None = None
    value_form: str | None = None
    object_class: str | None = None


@dataclass
class Config:
    source: Path | None = None
    language: str = "fr"
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    directory: DirectoryConfig = field(default_factory=DirectoryConfig)
    profiles: ProfileMapping = field(default_factory=lambda: ProfileMapping(dict(DEFAULT_PROFILES)))
    file_schema: FileSchema = field(default_factory=FileSchema)
    matching: MatchSettings = field(default_factory=MatchSettings)
    # Binding id -> keys ("step.validate" = "v,f5"): the TUI's keymap.
    keys: dict[str, str] = field(default_factory=dict)


class _Checker:
    """Reads one parsed TOML document, with the file's text at hand for line numbers."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, table: str, key: str | None) -> int | None:
        header = re.compile(r"^\s*\[\s*" + re.escape(table) + r"\s*\]\s*(#.*)?$") if table else None
        in_table = table == ""
        key_re = re.compile(r"^\s*\"?" + re.escape(key or "") + r"\"?\s*=")
        for number, line in enumerate(self.lines, start=1):
            if re.match(r"^\s*\[", line):
                if header is not None and header.match(line):
                    if key is None:
                        return number
                    in_table = True
                    continue
                in_table = False
                continue
            if in_table and key is not None and key_re.match(line):
                return number
        return None

    def fail(self, table: str, key: str | None, message: str) -> ConfigError:
        dotted = ".".join(p for p in (table, key) if p)
        line = self.line_of(table, key)
        where = t("config.where_line", path=self.path, line=line) if line else str(self.path)
        return ConfigError(t("config.invalid", where=where, key=dotted, message=message))

    def table(self, data: dict[str, Any], table: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                raise self.fail(
                    table, key, t("config.unknown_key", allowed=", ".join(sorted(allowed)))
                )

    def one_of(self, data: dict[str, Any], table: str, key: str, values: Sequence[str]) -> str:
        """The text at `key`, which must be one of `values`."""
        value = self.typed(data, table, key, (str,))
        if value not in values:
            raise self.fail(table, key, t("config.one_of", values=", ".join(values)))
        return value

    def typed(self, data: dict[str, Any], table: str, key: str, types: tuple[type, ...]) -> Any:
        value = data[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = t("config.or").join(
                dict.fromkeys(
                    t(
                        {
                            str: "config.type.str",
                            bool: "config.type.bool",
                            int: "config.type.number",
                            float: "config.type.number",
                            list: "config.type.list",
                            dict: "config.type.table",
                        }[kind]
                    )
                    for kind in types
                )
            )
            raise self.fail(table, key, t("config.must_be", names=names, value=repr(value)))
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise self.fail(table, key, t("config.must_be_strings"))
        return value

    def strings(self, data: dict[str, Any], table: str, key: str) -> tuple[str, ...]:
        value = self.typed(data, table, key, (str, list))
        return (value,) if isinstance(value, str) else tuple(value)


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """The effective configuration: the first file found, or the defaults if none."""
    # A path the admin named (--config, $IDPRONOTE_CONFIG) must exist; the
    # usual places are only looked at.
    named = bool(explicit or os.environ.get(ENV_CONFIG))
    for candidate in config_candidates(explicit):
        if candidate.is_file():
            return read_config(candidate)
        if named:
            raise ConfigError(t("config.not_found", path=candidate))
    return Config()


def read_config(path: Path) -> Config:
    try:
        # Mode and owner are those of the file read (fstat), not of a path looked at before.
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(t("config.unreadable", path=path, error=error)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(t("config.not_toml", path=path, error=error)) from None
    # Who may edit or read it, before anything in it is used (core/config_permissions.py).
    check_config_permissions(path, info, data)
    return parse_config(data, path, text)


def parse_config(data: dict[str, Any], path: Path, text: str = "") -> Config:
    check = _Checker(path, text)
    check.table(
        data, "", {"language", "data_dir", "directory", "profiles", "file", "matching", "keys"}
    )
    config = Config(source=path)
    if "language" in data:
        config.language = check.one_of(data, "", "language", LANGUAGES)
    if "data_dir" in data:
        config.data_dir = _relative(path, check.typed(data, "", "data_dir", (str,)))
    if "directory" in data:
        config.directory = _directory(check, check.typed(data, "", "directory", (dict,)), path)
    if "profiles" in data:
        config.profiles = _profiles(check, check.typed(data, "", "profiles", (dict,)))
    if "file" in data:
        config.file_schema = _file_schema(check, check.typed(data, "", "file", (dict,)), path)
    if "matching" in data:
        config.matching = _matching(check, check.typed(data, "", "matching", (dict,)))
    if "keys" in data:
        keys = check.typed(data, "", "keys", (dict,))
        for binding in keys:
            text = check.typed(keys, "keys", binding, (str,))
            if not text.strip() or any(k.strip() in FORBIDDEN_KEYS for k in text.split(",")):
                raise check.fail("keys", binding, t("config.keys", keys=", ".join(FORBIDDEN_KEYS)))
        config.keys = {binding: value.replace(" ", "") for binding, value in keys.items()}
    return config


def _relative(config_path: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else config_path.parent / path


def _directory(check: _Checker, data: dict[str, Any], path: Path) -> DirectoryConfig:
    check.table(data, "directory", {"kind", "path", "preset", "ldap", "fields", "identifier"})
    result = DirectoryConfig()
    if "kind" in data:
        result.kind = check.one_of(data, "directory", "kind", DIRECTORY_KINDS)
    if data.get("path"):
        result.path = _relative(path, check.typed(data, "directory", "path", (str,)))
    if result.kind in ("csv", "ldif") and result.path is None:
        raise check.fail("directory", "path", t("config.path_required", kind=result.kind))
    if "preset" in data:
        result.preset = check.one_of(data, "directory", "preset", PRESETS)
    if "ldap" in data:
        ldap = check.typed(data, "directory", "ldap", (dict,))
        check.table(ldap, "directory.ldap", set(LDAP_KEYS))
        for key, types in LDAP_KEYS.items():
            if key in ldap:
                check.typed(ldap, "directory.ldap", key, types)
        result.ldap = dict(ldap)
    if "fields" in data:
        fields = check.typed(data, "directory", "fields", (dict,))
        check.table(fields, "directory.fields", set(DIRECTORY_FIELDS))
        for key in fields:
            value = check.typed(fields, "directory.fields", key, (str,))
            if not value.strip():
                raise check.fail("directory.fields", key, t("config.not_empty"))
        result.fields = dict(fields)
    if "identifier" in data:
        ident = check.typed(data, "directory", "identifier", (dict,))
        check.table(ident, "directory.identifier", {"attribute", "value", "object_class"})
        if "attribute" in ident:
            result.identifier_attribute = check.typed(
                ident, "directory.identifier", "attribute", (str,)
            )
        if "value" in ident:
            value = check.typed(ident, "directory.identifier", "value", (str,))
            try:
                IdentifierForm(value)
            except InvalidForm as error:
                raise check.fail("directory.identifier", "value", str(error)) from None
            result.value_form = value
        if "object_class" in ident:
            # "" says explicitly: never add an object class.
            result.object_class = check.typed(ident, "directory.identifier", "object_class", (str,))
    return result


_MATCHING_RANGES = {
    "fuzzy_threshold": (70, 100),
    "fuzzy_margin": (0, 50),
    "candidates": (1, 50),
}


def _matching(check: _Checker, data: dict[str, Any]) -> MatchSettings:
    check.table(data, "matching", set(_MATCHING_RANGES))
    values: dict[str, Any] = {}
    for key, (low, high) in _MATCHING_RANGES.items():
        if key in data:
            value = check.typed(
                data, "matching", key, (int,) if key == "candidates" else (int, float)
            )
            if not low <= value <= high:
                raise check.fail("matching", key, t("config.between", low=low, high=high))
            values[key] = value
    return MatchSettings(**values)


def _profiles(check: _Checker, data: dict[str, Any]) -> ProfileMapping:
    check.table(data, "profiles", set(SLUGS))
    mapping = dict(DEFAULT_PROFILES)
    for slug in data:
        mapping[Category.from_slug(slug)] = check.strings(data, "profiles", slug)
    return ProfileMapping(mapping)


def _file_schema(check: _Checker, data: dict[str, Any], path: Path) -> FileSchema:
    check.table(
        data,
        "file",
        {
            "max_size_mb",
            "elements",
            "wrappers",
            "fields",
            "partner_key",
            "partner_name",
            "partner_key_password_env",
        },
    )
    max_size = DEFAULT_MAX_SIZE_MB
    if "max_size_mb" in data:
        max_size = check.typed(data, "file", "max_size_mb", (int, float))
        if not 0 < max_size <= 1024:
            raise check.fail("file", "max_size_mb", t("config.between", low=1, high=1024))
    elements = dict(DEFAULT_ELEMENTS)
    if "elements" in data:
        table = check.typed(data, "file", "elements", (dict,))
        check.table(table, "file.elements", set(SLUGS))
        for slug in table:
            # Site names are added to the defaults: a site declares what differs.
            category = Category.from_slug(slug)
            elements[category] = elements[category] + check.strings(table, "file.elements", slug)
    wrappers = DEFAULT_WRAPPERS
    if "wrappers" in data:
        wrappers = wrappers + check.strings(data, "file", "wrappers")
    fields = dict(DEFAULT_FIELDS)
    if "fields" in data:
        table = check.typed(data, "file", "fields", (dict,))
        check.table(table, "file.fields", set(DEFAULT_FIELDS))
        for key in table:
            fields[key] = fields[key] + check.strings(table, "file.fields", key)
    return FileSchema(
        elements=elements,
        wrappers=wrappers,
        fields=fields,
        max_size_mb=max_size,
        partner=_partner_key(check, data, path),
    )


def _partner_key(check: _Checker, data: dict[str, Any], path: Path) -> PartnerKey:
    """`[file] partner_key`, `partner_name`, `partner_key_password_env`: the envelope's key."""
    values = {}
    for key in ("partner_key", "partner_name", "partner_key_password_env"):
        if key in data:
            values[key] = check.typed(data, "file", key, (str,)).strip()
    variable = values.get("partner_key_password_env", "")
    if variable and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
        raise check.fail("file", "partner_key_password_env", t("config.env_name"))
    key = values.get("partner_key")
    return PartnerKey(
        path=_relative(path, key) if key else None,
        name=values.get("partner_name", ""),
        password_env=variable,
    )
