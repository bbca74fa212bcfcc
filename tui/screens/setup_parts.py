"""The setup screen's words, and what it shows and writes beside the form.

`test_report` is what a test found, as the screen shows it; `save_answers`
writes config.toml (and the password file) from the form and says what it
did. The screen (setup.py) keeps its bindings, its layout and its actions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text

from core.config import Config, parse_config, read_config
from core.config_file import (
    SetupAnswers,
    read_existing,
    setup_table,
    write_config,
    write_password_file,
)
from core.i18n import language, register, t
from core.model import CATEGORIES, Category
from core.text import printable

register(
    {
        "tui.setup.title": ("Configuration de l'annuaire", "Directory set-up"),
        "tui.setup.intro": (
            "Décrivez l'annuaire, testez-le (F5), puis enregistrez (F2).",
            "Describe the directory, test it (F5), then save (F2).",
        ),
        "tui.setup.intro_none": (
            "Aucun annuaire configuré : décrivez-le, testez-le (F5), puis enregistrez (F2).",
            "No directory configured: describe it, test it (F5), then save (F2).",
        ),
        "tui.setup.kind": ("Annuaire", "Directory"),
        "tui.setup.example": ("ex. {value}", "e.g. {value}"),
        "tui.setup.kind_ldap": ("LDAP", "LDAP"),
        "tui.setup.kind_ldif": ("Export LDIF", "LDIF export"),
        "tui.setup.kind_csv": ("Fichier CSV", "CSV file"),
        "tui.setup.preset": ("Schéma", "Schema"),
        "tui.setup.url": ("Serveur (URL)", "Server (URL)"),
        "tui.setup.start_tls": ("StartTLS (avec ldap://)", "StartTLS (with ldap://)"),
        "tui.setup.ca_file": ("Certificat de l'AC", "CA certificate"),
        "tui.setup.bind_dn": ("Compte (bind DN)", "Account (bind DN)"),
        "tui.setup.password": ("Mot de passe", "Password"),
        "tui.setup.store": ("Le garder", "Keep it"),
        "tui.setup.store_env": ("variable", "variable"),
        "tui.setup.store_file": ("fichier", "file"),
        "tui.setup.store_config": ("config.toml", "config.toml"),
        "tui.setup.store_prompt": ("demander", "ask"),
        "tui.setup.store_env_name": ("Nom de la variable", "Variable name"),
        "tui.setup.store_file_path": ("Fichier mot de passe", "Password file"),
        "tui.setup.base_dn": ("Base de recherche", "Search base"),
        "tui.setup.file": ("Fichier", "File"),
        "tui.setup.target": ("Enregistrer dans", "Save to"),
        "tui.setup.test": ("Tester (F5)", "Test (F5)"),
        "tui.setup.save": ("Enregistrer (F2)", "Save (F2)"),
        "tui.setup.testing": ("Test en cours…", "Testing…"),
        "tui.setup.type_password": (
            "Tapez le mot de passe du compte pour tester la connexion.",
            "Type the account's password to test the connection.",
        ),
        "tui.setup.proposed": (
            "Profils proposés d'après l'annuaire (enregistrés avec F2) :",
            "Profiles proposed from the directory (saved with F2):",
        ),
        "tui.setup.sample": ("Compte exemple, tel que lu :", "Sample account, as read:"),
        # Paths and commands go on lines of their own, so that a narrow dialog
        # wraps the sentence and never cuts what the admin must read or copy.
        "tui.setup.saved": (
            "Configuration écrite dans :\n  {path}",
            "Configuration written to:\n  {path}",
        ),
        "tui.setup.backup": (
            "L'ancien fichier, avec ses commentaires, est gardé dans :\n  {path}",
            "The previous file, with its comments, is kept as:\n  {path}",
        ),
        "tui.setup.password_file_created": (
            "Mot de passe écrit dans {path} (0600).",
            "Password written to {path} (0600).",
        ),
        "tui.setup.password_file_kept": (
            "{path} existe déjà : laissé tel quel.",
            "{path} already exists: left as it is.",
        ),
        "tui.setup.export_env": (
            "Avant chaque lancement (et dans cron) :\n  export {name}=…",
            "Before each run (and in cron):\n  export {name}=…",
        ),
        "tui.setup.continue_title": ("Configuration enregistrée", "Configuration saved"),
        "tui.setup.continue": ("Continuer vers l'assistant", "Go on to the wizard"),
        "tui.setup.stay": ("Rester ici", "Stay here"),
        "tui.setup.not_saved": ("Rien n'a été écrit : {error}", "Nothing was written: {error}"),
        "tui.key.test": ("Tester", "Test"),
        "tui.key.save": ("Enregistrer", "Save"),
        "tui.key.back": ("Retour", "Back"),
        # issue 16: French
        "tui.setup.leave_title": ("Quitter sans enregistrer ?", "Quit without saving?"),
        "tui.setup.leave_unsaved": (
            "Ce qui a été saisi ici n'est pas enregistré (F2 enregistre).",
            "What was typed here is not saved (F2 saves it).",
        ),
        "tui.setup.leave_yes": ("Quitter", "Quit"),
    }
)

MARKS = {"ok": "✓", "info": "·", "warning": "!", "error": "✗"}


def test_report(
    result: Any, proposal: dict[Category, tuple[str, ...]], merged: dict[Category, tuple[str, ...]]
) -> Text:
    """What a test found (directory_adapters/checkup.py's findings), the profiles it
    proposes (`merged`: what F2 writes, found values, then configured ones) and the
    sample account as the wizard will read it; every value through `printable`."""
    from directory_adapters.checkup import sample_lines

    text = Text()
    for finding in result.findings:
        text.append(f"{MARKS[finding.level]} ", style=_style(finding.level))
        text.append(printable(finding.message) + "\n")
        if finding.hint:
            text.append(f"    → {printable(finding.hint)}\n", style="dim")
    survey = result.survey
    if proposal and survey is not None:
        text.append("\n" + t("tui.setup.proposed") + "\n", style="bold")
        for category in CATEGORIES:
            values = merged.get(category, ())
            counts = ", ".join(f"{v} ({survey.profiles.get(v, 0)})" for v in values)
            text.append(f"  {category.label(language()):<26}{printable(counts) or '—'}\n")
    if survey is not None and survey.sample is not None:
        text.append("\n" + t("tui.setup.sample") + "\n", style="bold")
        for name, value in sample_lines(survey.sample):
            text.append(f"  {name:<15} {printable(value)}\n")
    return text


def save_answers(answers: SetupAnswers, typed: str, target: Path) -> tuple[Config, list[str]]:
    """Write config.toml (and the password file, when chosen) from the form: the
    configuration read back, and what to tell the admin. Nothing is written if the
    file would not read back."""
    lines: list[str] = []
    data = setup_table(answers, read_existing(target))
    parse_config(data, target)  # refuse before writing anything
    ldap = answers.kind == "ldap" and bool(answers.bind_dn)
    if ldap and answers.keep_in == "file" and typed:
        path = Path(answers.password_file)
        created = write_password_file(path, typed)
        key = "tui.setup.password_file_created" if created else "tui.setup.password_file_kept"
        lines.append(t(key, path=path))
    store_here = ldap and answers.keep_in == "config" and typed
    written = write_config(target, data, password=typed if store_here else None)
    config = read_config(target)
    lines.insert(0, t("tui.setup.saved", path=target))
    if written != target:
        lines.append(t("tui.setup.backup", path=written))
    if ldap and answers.keep_in == "env":
        lines.append(t("tui.setup.export_env", name=answers.password_env))
    return config, lines


def as_field_text(value: Any) -> str:
    """A value for an input; several URLs are separated by spaces, several bases by ";"."""
    if isinstance(value, list):
        separator = " " if all("://" in str(v) for v in value) else "; "
        return separator.join(str(v) for v in value)
    return "" if value is None else str(value)


def absolute_path(value: str) -> str:
    return str(Path(value).expanduser().resolve()) if value else ""


def _style(level: str) -> str:
    return {"ok": "green", "warning": "yellow", "error": "bold red"}.get(level, "")
