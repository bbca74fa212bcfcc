"""Is this configuration usable? The checks of `idpronote config check` and of setup.

Each check gives a finding an admin can act on: what was found, and what to
do. Nothing here writes: the write check deletes a value no entry holds,
which any server refuses with a code that tells whether idpronote may write.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.config import Config
from core.errors import IdpronoteError
from core.i18n import language, register, t
from core.model import CATEGORIES, Category, DirectoryAccount
from directory_adapters.base import Directory

__all__ = ["Checkup", "Finding", "checkup", "sample_lines"]

ERROR, WARNING, INFO, OK = "error", "warning", "info", "ok"

register(
    {
        "check.config_file": ("configuration lue dans {path}", "configuration read from {path}"),
        "check.config_to_write": (
            "configuration pas encore écrite (F2 : dans {path})",
            "configuration not written yet (F2: to {path})",
        ),
        "check.unencrypted": (
            "connexion non chiffrée : le mot de passe et les données passent en clair",
            "unencrypted connection: the password and the data travel in clear",
        ),
        "check.unencrypted_hint": (
            "utilisez ldaps:// ou StartTLS (start_tls = true), avec ca_file",
            "use ldaps:// or StartTLS (start_tls = true), with ca_file",
        ),
        "check.no_config_file": (
            "aucun fichier de configuration trouvé : valeurs par défaut",
            "no configuration file found: defaults in use",
        ),
        "check.no_directory": (
            "aucun annuaire configuré",
            "no directory configured",
        ),
        "check.no_directory_hint": (
            "lancez idpronote setup, ou renseignez [directory] dans config.toml",
            "run idpronote setup, or fill in [directory] in config.toml",
        ),
        "check.password_in_open_file": (
            "{path} contient le mot de passe LDAP et d'autres utilisateurs peuvent le lire "
            "(mode {mode})",
            "{path} holds the LDAP password and other users can read it (mode {mode})",
        ),
        "check.password_in_file": (
            "le mot de passe LDAP est stocké dans {path} (choix de l'administrateur)",
            "the LDAP password is stored in {path} (the admin's choice)",
        ),
        "check.connected": ("annuaire : {description}", "directory: {description}"),
        "check.unusable": ("annuaire inutilisable : {error}", "directory unusable: {error}"),
        "check.empty": (
            "aucun compte lu dans l'annuaire",
            "no account read from the directory",
        ),
        "check.empty_hint": (
            "vérifiez la base de recherche et le préréglage (preset)",
            "check the search base and the preset",
        ),
        "check.total": ("{total} comptes lus", "{total} accounts read"),
        "check.capped": (
            "au moins {total} comptes : une limite du serveur a arrêté le comptage",
            "at least {total} accounts: a server limit stopped the count",
        ),
        "check.category": (
            "{category} : {count} compte(s) ({values})",
            "{category}: {count} account(s) ({values})",
        ),
        "check.category_missing": (
            "{category} : aucun compte avec les profils {values}",
            "{category}: no account with the profiles {values}",
        ),
        "check.category_missing_hint": (
            "corrigez [profiles] {slug} dans config.toml (profils trouvés : {found})",
            "fix [profiles] {slug} in config.toml (profiles found: {found})",
        ),
        "check.unmapped": (
            "profils présents mais rattachés à aucune catégorie : {values}",
            "profiles found but mapped to no category: {values}",
        ),
        "check.sample": ("exemple de compte lu : {login}", "sample account read: {login}"),
        "check.sample_no_date": (
            "le compte exemple {login} n'a pas de date de naissance",
            "the sample account {login} has no birth date",
        ),
        "check.sample_no_date_hint": (
            "sans date, peu de comptes sont reconnus : vérifiez [directory.fields] date_naissance",
            "without dates few accounts are recognised: check [directory.fields] date_naissance",
        ),
        "check.sample_no_uai": (
            "le compte exemple {login} n'est rattaché à aucun établissement",
            "the sample account {login} belongs to no establishment",
        ),
        "check.sample_no_uai_hint": (
            "vérifiez [directory.fields] uai",
            "check [directory.fields] uai",
        ),
        "check.write.writable": (
            "écriture possible dans {attribute}",
            "{attribute} can be written",
        ),
        "check.write.read_only": (
            "pas de droit d'écriture sur {attribute} : {detail}",
            "no write access to {attribute}: {detail}",
        ),
        "check.write.read_only_hint": (
            "demandez le droit d'écriture sur {attribute} et objectClass pour le compte de "
            "connexion (directory_adapters/schema/README.md)",
            "ask for write access to {attribute} and objectClass for the bind account "
            "(directory_adapters/schema/README.md)",
        ),
        "check.write.unknown_attribute": (
            "le serveur ne connaît pas l'attribut {attribute}",
            "the server does not know the attribute {attribute}",
        ),
        "check.write.unknown_attribute_hint": (
            "chargez le schéma idPronote (directory_adapters/schema/README.md) ou changez "
            "[directory.identifier] attribute",
            "load the idPronote schema (directory_adapters/schema/README.md) or change "
            "[directory.identifier] attribute",
        ),
        "check.write.not_checked": (
            "droit d'écriture non vérifié : {detail}",
            "write access not checked: {detail}",
        ),
        "check.write.failed": (
            "vérification de l'écriture impossible : {detail}",
            "write check failed: {detail}",
        ),
        "check.data_dir": (
            "journaux dans {path}",
            "journals in {path}",
        ),
        "check.data_dir_unusable": (
            "impossible d'écrire les journaux dans {path} ({error})",
            "cannot write journals in {path} ({error})",
        ),
        "check.data_dir_hint": (
            "changez data_dir dans config.toml",
            "change data_dir in config.toml",
        ),
        "check.none": ("aucun", "none"),
        "check.lock": (
            "verrou dans l'annuaire : une entrée par établissement sous {base} (bail de {lease} s)",
            "the directory's lock: one entry per establishment under {base} ({lease} s lease)",
        ),
        "check.lock_off": (
            "pas de verrou dans l'annuaire ([directory.ldap] lock_base vide) : seul le verrou "
            "local tient deux imports d'un établissement à l'écart, sur cette machine seulement",
            "no lock in the directory ([directory.ldap] lock_base empty): only the local lock "
            "keeps two imports of an establishment apart, on this machine only",
        ),
        "check.lock_off_hint": (
            "si plusieurs machines importent, renseignez lock_base (directory_adapters/schema/"
            "README.md)",
            "if several machines import, set lock_base (directory_adapters/schema/README.md)",
        ),
        "check.lock_missing": (
            "le conteneur des verrous {base} est introuvable ({error})",
            "the locks' container {base} cannot be found ({error})",
        ),
        "check.provider": (
            "écritures vers le fournisseur {provider} ; lectures vers {urls}, puis le fournisseur",
            "writes go to the provider {provider}; reads to {urls}, then the provider",
        ),
    }
)


@dataclass(frozen=True)
class Finding:
    level: str  # "error", "warning", "info" or "ok"
    topic: str  # config, directory, profiles, sample, write, data_dir
    message: str
    hint: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "topic": self.topic,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class Checkup:
    findings: list[Finding] = field(default_factory=list)
    survey: Any = None  # directory_adapters.survey.Survey when the directory answered
    description: str | None = None

    @property
    def ok(self) -> bool:
        return not any(f.level in (ERROR, WARNING) for f in self.findings)

    @property
    def usable(self) -> bool:
        return not any(f.level == ERROR for f in self.findings)

    def add(self, level: str, topic: str, message: str, hint: str | None = None) -> None:
        self.findings.append(Finding(level, topic, message, hint))


def checkup(
    config: Config,
    *,
    directory: Directory | None = None,
    directory_file: str | os.PathLike[str] | None = None,
    write_check: bool = True,
) -> Checkup:
    """Every check, in the order an admin fixes things: file, connection, content, rights."""
    from directory_adapters import open_directory
    from directory_adapters.survey import survey

    result = Checkup()
    _check_file(config, result)
    if directory is None and directory_file is None and config.directory.kind is None:
        result.add(ERROR, "directory", t("check.no_directory"), t("check.no_directory_hint"))
        _check_data_dir(config, result)
        return result
    opened_here = directory is None
    try:
        if directory is None:
            directory = open_directory(config, directory_file)
        result.description = directory.describe()
        result.add(OK, "directory", t("check.connected", description=result.description))
        settings = getattr(directory, "settings", None)
        if settings is not None and not getattr(settings, "encrypted", True):
            local = all("127.0.0.1" in u or "localhost" in u or u.startswith("ldapi:")
                        for u in settings.urls)  # fmt: skip
            result.add(
                INFO if local else WARNING,
                "directory",
                t("check.unencrypted"),
                t("check.unencrypted_hint"),
            )
        if settings is not None:
            _check_replication_and_lock(directory, settings, result)
        found = survey(directory, write_check=write_check)
    except IdpronoteError as error:
        result.add(ERROR, "directory", t("check.unusable", error=error.message), error.hint)
        _check_data_dir(config, result)
        return result
    finally:
        if opened_here and directory is not None:
            directory.close()
    result.survey = found
    _check_content(config, found, result)
    _check_write(found, result)
    _check_data_dir(config, result)
    return result


def _check_replication_and_lock(directory: Any, settings: Any, result: Checkup) -> None:
    """Where writes go (a provider), and whether the directory holds the lock (issue 18)."""
    if getattr(settings, "write_url", None):
        urls = " | ".join(settings.urls)
        result.add(OK, "directory", t("check.provider", provider=settings.write_url, urls=urls))
    base = getattr(settings, "lock_base", "")
    if not base:
        result.add(INFO, "lock", t("check.lock_off"), t("check.lock_off_hint"))
        return
    missing = directory.lock_container_missing()
    if missing is None:
        result.add(OK, "lock", t("check.lock", base=base, lease=f"{settings.lock_lease:g}"))
    else:
        result.add(ERROR, "lock", t("check.lock_missing", base=base, error=missing),
                   t("lock.schema_hint"))  # fmt: skip


def _check_file(config: Config, result: Checkup) -> None:
    if config.source is None:
        result.add(INFO, "config", t("check.no_config_file"))
        return
    if not config.source.exists():  # setup testing what it is about to write
        result.add(INFO, "config", t("check.config_to_write", path=config.source))
        return
    result.add(OK, "config", t("check.config_file", path=config.source))
    if config.directory.ldap.get("password"):
        try:
            mode = stat.S_IMODE(config.source.stat().st_mode)
        except OSError:
            return
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            result.add(
                ERROR,
                "config",
                t("check.password_in_open_file", path=config.source, mode=f"{mode:04o}"),
                f"chmod 600 {config.source}",
            )
        else:
            result.add(INFO, "config", t("check.password_in_file", path=config.source))


def _check_content(config: Config, found: Any, result: Checkup) -> None:
    if found.total == 0:
        result.add(ERROR, "directory", t("check.empty"), t("check.empty_hint"))
        return
    key = "check.capped" if found.capped else "check.total"
    result.add(INFO if found.capped else OK, "directory", t(key, total=found.total))
    by_value = {value.casefold(): count for value, count in found.profiles.items()}
    mapped: set[str] = set()
    listing = ", ".join(
        f"{value} ({count})" for value, count in sorted(found.profiles.items(), key=_biggest)[:8]
    )
    for category in CATEGORIES:
        values = config.profiles.profiles_of(category)
        mapped |= {v.casefold() for v in values}
        count = sum(by_value.get(v.casefold(), 0) for v in values)
        shown = ", ".join(values) or t("check.none")
        if count:
            result.add(
                OK,
                "profiles",
                t("check.category", category=category.label(language()), count=count, values=shown),
            )
            continue
        # Few schools have inspectors or internship supervisors in the ENT.
        level = (
            WARNING
            if category in (Category.ENSEIGNANTS, Category.ELEVES, Category.RESPONSABLES)
            else INFO
        )
        result.add(
            level,
            "profiles",
            t("check.category_missing", category=category.label(language()), values=shown),
            t(
                "check.category_missing_hint",
                slug=category.slug,
                found=listing or t("check.none"),
            ),
        )
    unmapped = [
        f"{value} ({count})"
        for value, count in sorted(found.profiles.items(), key=_biggest)
        if value.casefold() not in mapped
    ]
    if unmapped:
        result.add(INFO, "profiles", t("check.unmapped", values=", ".join(unmapped[:10])))
    sample: DirectoryAccount | None = found.sample
    if sample is None:
        return
    result.add(OK, "sample", t("check.sample", login=sample.login))
    if sample.birth_date is None:
        result.add(
            WARNING,
            "sample",
            t("check.sample_no_date", login=sample.login),
            t("check.sample_no_date_hint"),
        )
    if not sample.establishments:
        result.add(
            WARNING,
            "sample",
            t("check.sample_no_uai", login=sample.login),
            t("check.sample_no_uai_hint"),
        )


def _biggest(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _check_write(found: Any, result: Checkup) -> None:
    write = found.write
    status = write.status
    params = {"attribute": write.attribute, "detail": write.detail}
    if status == "writable":
        result.add(OK, "write", t("check.write.writable", **params))
    elif status == "read_only":
        result.add(
            ERROR,
            "write",
            t("check.write.read_only", **params),
            t("check.write.read_only_hint", **params),
        )
    elif status == "unknown_attribute":
        result.add(
            ERROR,
            "write",
            t("check.write.unknown_attribute", **params),
            t("check.write.unknown_attribute_hint", **params),
        )
    elif status == "not_checked":
        result.add(INFO, "write", t("check.write.not_checked", **params))
    else:
        result.add(ERROR, "write", t("check.write.failed", **params))


def _check_data_dir(config: Config, result: Checkup) -> None:
    """Journals must be writable before an import starts, not after its first step."""
    path = Path(config.data_dir)
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
        result.add(OK, "data_dir", t("check.data_dir", path=path))
        return
    error = "not a directory" if probe.exists() and not probe.is_dir() else "permission denied"
    result.add(
        ERROR,
        "data_dir",
        t("check.data_dir_unusable", path=path, error=error),
        t("check.data_dir_hint"),
    )


def sample_lines(account: DirectoryAccount) -> list[tuple[str, str]]:
    """The sample account, field by field, as the wizard will see it."""
    born = account.birth_date.strftime("%d/%m/%Y") if account.birth_date else "—"
    return [
        ("login", account.login),
        ("nom", account.surname),
        ("prenom", account.first_name),
        ("date_naissance", born),
        ("profil", ", ".join(account.profiles) or "—"),
        ("uai", ", ".join(account.establishments) or "—"),
        ("classes", ", ".join(account.classes) or "—"),
        ("eleves", ", ".join(account.students) or "—"),
        ("idpronote", ", ".join(account.identifiers) or "—"),
    ]
