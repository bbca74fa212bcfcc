"""The directory as an LDIF export, its changes as an LDIF of modify operations.

Offline sites export their LDAP directory (`slapcat`, `ldapsearch -L`), run
idpronote on the export, and apply what it wrote later with `ldapmodify`.
So the export is only ever read (directory_adapters/ldif/loader.py), with
the attribute mapping the LDAP adapter uses; every write is appended,
durably, to a separate changes file (`<stem>.modifications.ldif` by
default, directory_adapters/ldif/changes.py) that `ldapmodify -f` applies as
is. Reads are answered from memory (`FileDirectory`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

from core.errors import ConfigError, DirectoryError
from core.i18n import register, t
from core.model import (
    DEFAULT_PROFILES,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    ProfileMapping,
)
from directory_adapters.base import READ_ONLY, WRITABLE, Census, WriteCheck
from directory_adapters.file_protocol import WriteLock
from directory_adapters.file_store import FileDirectory, decide_and_write, unavailable
from directory_adapters.ldif.changes import _ChangesFile
from directory_adapters.ldif.loader import _ExportReading
from directory_adapters.ldif.names import _dn_key, _parse_filter
from directory_adapters.ldif.syntax import _ATTRIBUTE
from directory_adapters.mapping import AttributeMapping

register(
    {
        "dir.ldif.describe": (
            "LDIF {path} : {count} comptes (modifications écrites dans {changes})",
            "LDIF {path}: {count} accounts (changes written to {changes})",
        ),
        "dir.ldif.changes_is_export": (
            "le fichier des modifications ne peut pas être l'export lui-même ({path})",
            "the changes file cannot be the export itself ({path})",
        ),
        "dir.ldif.bad_attribute": (
            "l'attribut d'identifiant {attribute!r} n'est pas un nom d'attribut LDAP",
            "identifier attribute {attribute!r} is not an LDAP attribute name",
        ),
        "dir.ldif.bad_object_class": (
            "la classe d'objet {object_class!r} n'est pas un nom LDAP",
            "object class {object_class!r} is not an LDAP name",
        ),
        "dir.ldif.check.appended": (
            "les modifications sont ajoutées à {path} (à appliquer ensuite avec ldapmodify)",
            "changes are appended to {path} (applied later with ldapmodify)",
        ),
        "dir.ldif.check.changes_read_only": (
            "le fichier des modifications {path} n'est pas modifiable par cet utilisateur",
            "the changes file {path} is not writable by this user",
        ),
        "dir.ldif.check.will_write": (
            "les modifications seront écrites dans {path} (à appliquer ensuite avec ldapmodify)",
            "changes will be written to {path} (applied later with ldapmodify)",
        ),
        "dir.ldif.check.folder_read_only": (
            "le dossier {folder} n'est pas modifiable par cet utilisateur : le fichier des "
            "modifications {name} ne peut pas y être créé",
            "the directory {folder} is not writable by this user: the changes file {name} "
            "cannot be created there",
        ),
    }
)

__all__ = ["CHANGES_SUFFIX", "MAX_FILE_SIZE", "LdifDirectory"]

# An academy's export is a few hundred MB at most; past this, refuse unread.
MAX_FILE_SIZE = 512 * 1024 * 1024
CHANGES_SUFFIX = ".modifications.ldif"


class LdifDirectory(_ExportReading, _ChangesFile, FileDirectory):
    """Accounts read from an LDIF export; identifier changes appended to an LDIF for ldapmodify."""

    def __init__(
        self,
        path: Path,
        *,
        mapping: AttributeMapping,
        profiles: ProfileMapping | None = None,
        changes_path: Path | None = None,
        base_dn: str | None = None,
        max_size: int = MAX_FILE_SIZE,
    ) -> None:
        """`base_dn` keeps only the persons under it, as the LDAP adapter's search base does."""
        self.path = Path(path)
        self.mapping = mapping
        self.form = mapping.form
        self.profiles = profiles if profiles is not None else ProfileMapping(dict(DEFAULT_PROFILES))
        self.changes_path = (
            Path(changes_path)
            if changes_path is not None
            else self.path.with_name(self.path.stem + CHANGES_SUFFIX)
        )
        if os.path.realpath(self.changes_path) == os.path.realpath(self.path):
            raise ConfigError(t("dir.ldif.changes_is_export", path=self.path))
        self.base_dn = _dn_key(base_dn) if base_dn else None
        self.max_size = max_size
        if not _ATTRIBUTE.fullmatch(mapping.identifier_attribute):
            raise ConfigError(t("dir.ldif.bad_attribute", attribute=mapping.identifier_attribute))
        if mapping.object_class and not _ATTRIBUTE.fullmatch(mapping.object_class):
            raise ConfigError(t("dir.ldif.bad_object_class", object_class=mapping.object_class))
        self._is_person, filter_attributes = _parse_filter(mapping.person_filter)
        self._kept = {a.lower() for a in mapping.attributes()} | filter_attributes
        self._kept |= {"objectclass", mapping.preset.structure_uai.lower()}
        self._absent: dict[str, Sequence[str]] = dict.fromkeys(self._kept, ())
        self._lock = threading.RLock()
        # Two sessions (two hosts) on one export must not interleave their appends.
        self._write_lock = WriteLock(Path(os.path.realpath(self.changes_path)))
        self._load()
        self._load()

    def reload(self) -> None:
        """Read the export and the changes file again."""
        with self._lock:
            self._load()

    # What the crash tests compare, entry by entry (in search-result order).

    @property
    def _accounts(self) -> list[DirectoryAccount]:
        return self._index.accounts

    @property
    def _dns(self) -> list[str]:
        return self._index.dns

    @property
    def _object_classes(self) -> list[frozenset[str]]:
        return self._index.object_classes

    # -- the Directory protocol ------------------------------------------------------

    def describe(self) -> str:
        return t(
            "dir.ldif.describe",
            path=self.path,
            count=len(self._accounts),
            changes=self.changes_path,
        )

    # -- what setup and `config check` ask ------------------------------------------

    def identifier_field(self) -> str:
        return self.mapping.identifier_attribute

    def census(self, limit: int) -> Census:
        return self._index.census(
            limit,
            things="entry",
            login=self.mapping.attribute("login"),
            surname=self.mapping.attribute("nom"),
        )

    def write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """Could changes be appended to the changes file (or the file be created)?

        Asked of the file system (os.access): nothing is created or changed.
        The export itself is never written.
        """
        attribute = self.identifier_field()
        path = self.changes_path
        target = str(path)
        if os.path.lexists(path):
            writable = os.access(path, os.R_OK | os.W_OK)
            key = "dir.ldif.check.appended" if writable else "dir.ldif.check.changes_read_only"
            why = t(key, path=path)
        else:
            folder = path.parent
            writable = os.access(folder, os.W_OK | os.X_OK)
            why = (
                t("dir.ldif.check.will_write", path=path)
                if writable
                else t("dir.ldif.check.folder_read_only", folder=folder, name=path.name)
            )
        return WriteCheck(WRITABLE if writable else READ_ONLY, attribute, why, target)

    # -- the Directory protocol: writing -------------------------------------------

    def apply(self, changes: Sequence[IdentifierChange]) -> list[ChangeOutcome]:
        changes = list(changes)
        if not changes:
            return []
        with self._lock:
            try:
                return decide_and_write(
                    self._write_lock,
                    stale=self._changed_on_disk,
                    reload=self._load,
                    plan=lambda: self._plan(changes),
                    outcomes=lambda plan: None if plan.records else plan.outcomes,
                    look=self._look,
                    write=lambda plan, _: self._write_decided(plan, changes),
                )
            except DirectoryError as error:
                return [unavailable(change, str(error)) for change in changes]
