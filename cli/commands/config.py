"""`idpronote config check`, `idpronote config show` and `idpronote setup`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.config import ENV_CONFIG, LDAP_KEYS, Config, _Checker
from core.errors import IdpronoteError
from core.i18n import register, t
from core.model import CATEGORIES

if TYPE_CHECKING:
    from cli.context import Context

register(
    {
        "config.title": ("Configuration : {path}", "Configuration: {path}"),
        "config.none": (
            "aucun fichier trouvé (cherché : {places}) : valeurs par défaut",
            "no file found (looked in: {places}): defaults",
        ),
        "config.from.default": ("par défaut", "default"),
        "config.from.line": ("{file}, ligne {line}", "{file}, line {line}"),
        "config.from.file": ("{file}", "{file}"),
        "config.from.preset": ("préréglage {preset}", "preset {preset}"),
        "config.from.cli": ("ligne de commande", "command line"),
        "config.secret_set": ("*** (défini)", "*** (set)"),
        "config.env_set": ("défini dans l'environnement", "set in the environment"),
        "config.env_unset": ("NON défini dans l'environnement", "NOT set in the environment"),
        "config.check.title": ("Vérification de la configuration", "Configuration check"),
        "config.check.ok": ("Tout est prêt.", "Everything is ready."),
        "config.check.warnings": (
            "Utilisable, avec des points à vérifier.",
            "Usable, with points to look at.",
        ),
        "config.check.errors": (
            "Pas utilisable en l'état : corrigez les erreurs ci-dessus.",
            "Not usable as it is: fix the errors above.",
        ),
        "config.check.sample": ("Compte exemple, tel que lu :", "Sample account, as read:"),
    }
)

MARKS = {"ok": "ok", "info": "--", "warning": "!!", "error": "XX"}


def run(ctx: Context) -> int:
    return check(ctx) if ctx.args.action == "check" else show(ctx)


# -- config show ---------------------------------------------------------------------------------


def settings(config: Config, args: Any = None) -> list[dict[str, Any]]:
    """Every effective value with where it came from; secrets masked."""
    from directory_adapters.mapping import PRESETS, AttributeMapping

    lines: list[str] = []
    if config.source is not None:
        try:
            lines = config.source.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
    checker = _Checker(config.source or Path("config.toml"), "\n".join(lines))
    name = config.source.name if config.source else ""

    def origin(table: str, key: str) -> str:
        if config.source is None:
            return t("config.from.default")
        line = checker.line_of(table, key)
        return t("config.from.line", file=name, line=line) if line else t("config.from.default")

    rows: list[dict[str, Any]] = []

    def row(key: str, value: Any, source: str) -> None:
        rows.append({"key": key, "value": value, "from": source})

    cli_lang = getattr(args, "lang", None) if args is not None else None
    row(
        "language",
        cli_lang or config.language,
        t("config.from.cli") if cli_lang else origin("", "language"),
    )
    row("data_dir", str(config.data_dir), origin("", "data_dir"))

    directory = config.directory
    cli_file = getattr(args, "directory_file", None) if args is not None else None
    if cli_file:
        row("directory.file", str(cli_file), t("config.from.cli"))
    row("directory.kind", directory.kind, origin("directory", "kind"))
    if directory.path is not None:
        row("directory.path", str(directory.path), origin("directory", "path"))
    row("directory.preset", directory.preset, origin("directory", "preset"))
    for key in LDAP_KEYS:
        if key not in directory.ldap:
            continue
        value = directory.ldap[key]
        if key == "password":
            value = t("config.secret_set")
        elif key == "password_env":
            state = "config.env_set" if os.environ.get(str(value)) else "config.env_unset"
            value = f"{value} ({t(state)})"
        row(f"directory.ldap.{key}", value, origin("directory.ldap", key))

    try:
        mapping = AttributeMapping.from_settings(directory)
    except IdpronoteError:  # shown as far as it goes; config check says why
        mapping = None
    if mapping is not None:
        preset = PRESETS[directory.preset]
        for field, attribute in mapping.fields.items():
            if directory.fields.get(field):
                source = origin("directory.fields", field)
            else:
                source = t("config.from.preset", preset=preset.name)
            row(f"directory.fields.{field}", attribute or None, source)
        for key, value, overridden in (
            ("attribute", mapping.identifier_attribute, directory.identifier_attribute),
            ("value", mapping.form.template, directory.value_form),
            ("object_class", mapping.object_class, directory.object_class),
        ):
            source = (
                origin("directory.identifier", key)
                if overridden is not None
                else t("config.from.preset", preset=preset.name)
            )
            row(f"directory.identifier.{key}", value, source)

    for category in CATEGORIES:
        values = list(config.profiles.profiles_of(category))
        row(f"profiles.{category.slug}", values, origin("profiles", category.slug))
    for key in ("fuzzy_threshold", "fuzzy_margin", "candidates"):
        row(f"matching.{key}", getattr(config.matching, key), origin("matching", key))
    row("file.max_size_mb", config.file_schema.max_size_mb, origin("file", "max_size_mb"))
    partner = config.file_schema.partner
    # The key's path, never its content; the passphrase variable, never its value.
    row("file.partner_key", str(partner.path) if partner.path else None,
        origin("file", "partner_key"))  # fmt: skip
    row("file.partner_name", partner.name or None, origin("file", "partner_name"))
    variable = partner.password_env
    if variable:
        state = "config.env_set" if os.environ.get(variable) else "config.env_unset"
        variable = f"{variable} ({t(state)})"
    row("file.partner_key_password_env", variable or None,
        origin("file", "partner_key_password_env"))  # fmt: skip
    for binding, keys in sorted(config.keys.items()):
        row(f"keys.{binding}", keys, origin("keys", binding))
    return rows


def show(ctx: Context) -> int:
    fmt = ctx.require_format("text", "json")
    config = ctx.config
    rows = settings(config, ctx.args)
    source = str(config.source) if config.source else None
    if fmt == "json":
        ctx.emit(json.dumps({"config": source, "settings": rows}, ensure_ascii=False, indent=2))
        return 0
    from core.config import config_candidates

    if source:
        out = [t("config.title", path=source)]
    else:
        places = ", ".join(str(p) for p in config_candidates(getattr(ctx.args, "config", None)))
        out = [t("config.none", places=places)]
    width = max(len(r["key"]) for r in rows)
    for r in rows:
        value = r["value"]
        shown = "—" if value is None else json.dumps(value, ensure_ascii=False)
        if isinstance(value, str) and (value.startswith("***") or " (" in value):
            shown = value
        out.append(f"  {r['key']:<{width}} = {shown}    # {r['from']}")
    ctx.emit("\n".join(out))
    return 0


# -- config check --------------------------------------------------------------------------------


def check(ctx: Context) -> int:
    from directory_adapters.checkup import checkup, sample_lines

    fmt = ctx.require_format("text", "json")
    result = checkup(ctx.config, directory_file=getattr(ctx.args, "directory_file", None))
    status = 0 if result.ok else 1
    if fmt == "json":
        survey = result.survey
        document: dict[str, Any] = {
            "config": str(ctx.config.source) if ctx.config.source else None,
            "directory": result.description,
            "ok": result.ok,
            "usable": result.usable,
            "findings": [f.as_json() for f in result.findings],
        }
        if survey is not None:
            from cli.commands.directory import account_json

            document["survey"] = {
                "total": survey.total,
                "capped": survey.capped,
                "profiles": dict(survey.profiles),
                "establishments": dict(survey.establishments),
                "sample": account_json(survey.sample) if survey.sample else None,
                "write": {
                    "status": survey.write.status,
                    "attribute": survey.write.attribute,
                    "detail": survey.write.detail,
                },
            }
        ctx.emit(json.dumps(document, ensure_ascii=False, indent=2))
        return status
    out = [t("config.check.title")]
    for finding in result.findings:
        out.append(f"  [{MARKS[finding.level]}] {finding.message}")
        if finding.hint:
            out.append(f"       → {finding.hint}")
    if result.survey is not None and result.survey.sample is not None:
        out.append(t("config.check.sample"))
        for field, value in sample_lines(result.survey.sample):
            out.append(f"       {field:<15} {value}")
    if result.ok:
        out.append(t("config.check.ok"))
    elif result.usable:
        out.append(t("config.check.warnings"))
    else:
        out.append(t("config.check.errors"))
    ctx.emit("\n".join(_printable(line) for line in out))
    return status


def _printable(line: str) -> str:
    from core.text import printable

    return printable(line)


# -- setup ---------------------------------------------------------------------------------------


def setup(ctx: Context) -> int:
    """The setup screen, then (if the admin goes on) the wizard with what it wrote."""
    from tui.app import IdpronoteApp, Launch

    target = ctx.args.config or os.environ.get(ENV_CONFIG)
    launch = Launch(config=ctx.config, setup=True, setup_target=Path(target) if target else None)
    IdpronoteApp(launch).run(mouse=not ctx.args.no_mouse)
    return 0
