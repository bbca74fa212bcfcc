"""The directory as an LDIF export, its changes as an LDIF of modify operations.

Offline sites export their LDAP directory (`slapcat`, `ldapsearch -L`), run
idpronote on the export, and apply what it wrote later with `ldapmodify`.
So the export is only ever read, with the attribute mapping the LDAP adapter
uses; every write is appended, durably, to a separate changes file
(`<stem>.modifications.ldif` by default) that `ldapmodify -f` applies as is.
On open, that file is replayed on top of the export: a session interrupted
and resumed offline sees its own earlier writes, and replays them as
"already in effect" instead of writing them twice.

The export is untrusted input: `attr:< URL` values are never followed, change
records are reported rather than applied, the size is capped before anything
is read, and no input makes a library exception reach the caller.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import hashlib
import io
import os
import re
import stat
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from pathlib import Path
from typing import BinaryIO, NamedTuple

from core.disk import file_system, fsync_directory
from core.errors import ConfigError, DirectoryError
from core.i18n import register, t
from core.model import (
    DEFAULT_PROFILES,
    Category,
    ChangeKind,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    ProfileMapping,
)
from core.names import normalise_name
from core.text import printable
from directory_adapters.base import (
    READ_ONLY,
    WRITABLE,
    Census,
    Directory,
    SearchQuery,
    WriteCheck,
    not_found,
    plan_change,
    summarise_problems,
)
from directory_adapters.file_protocol import WriteLock
from directory_adapters.file_store import (
    DirectoryProblem,
    decide_and_write,
    holder_key,
    loaded_without_collecting,
    prefix_range,
    significant,
    unavailable,
)
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
        "dir.ldif.export": ("l'export de l'annuaire", "the directory export"),
        "dir.ldif.changes": ("le fichier des modifications", "the changes file"),
        "dir.ldif.unreadable": (
            "lecture impossible de {what} {path} : {error}",
            "cannot read {what} {path}: {error}",
        ),
        "dir.ldif.not_regular": (
            "{what} {path} n'est pas un fichier ordinaire",
            "{what} {path} is not a regular file",
        ),
        "dir.ldif.too_large": (
            "{what} {path} fait {size} octets, plus que les {limit} octets que lit idpronote",
            "{what} {path} is {size} bytes, more than the {limit} bytes idpronote reads",
        ),
        "dir.ldif.too_large_hint": (
            "n'exportez que la branche des personnes, ou faites un export par établissement",
            "export only the people branch, or split the export per establishment",
        ),
        "dir.ldif.duplicate_dn": (
            "entrée {dn!r} déjà lue ligne {first} ; celle-ci est ignorée",
            "entry {dn!r} already read on line {first}; this one is ignored",
        ),
        "dir.ldif.no_dn": (
            "un enregistrement commence par {name!r}, pas par dn:",
            "a record starts with {name!r}, not dn:",
        ),
        "dir.ldif.bad_dn": ("le dn {error} ; entrée ignorée", "the dn {error}; entry ignored"),
        "dir.ldif.change_record": (
            "un enregistrement de modification (ligne {line}) dans un export d'annuaire ; "
            "idpronote ne lit que des entrées, il n'a pas été appliqué",
            "a change record (line {line}) in a directory export; "
            "idpronote reads entries only, it was not applied",
        ),
        "dir.ldif.bad_value": ("{name} {error} ; valeur ignorée", "{name} {error}; value ignored"),
        "dir.ldif.unknown_structure": (
            "l'établissement {dn!r} n'est pas une entrée de l'export avec {attribute} ; "
            "les comptes qui y sont rattachés sont lus sans lui",
            "establishment {dn!r} is not an entry of the export with {attribute}; "
            "accounts attached to it are read without it",
        ),
        "dir.ldif.unusable_entry": (
            "entrée {dn!r} : {why} ; ignorée",
            "entry {dn!r}: {why}; ignored",
        ),
        "dir.ldif.invalid_date": (
            "date de naissance {raw!r} illisible pour {login!r} ; chargé sans date",
            "unreadable birth date {raw!r} for {login!r}; loaded without a date",
        ),
        "dir.ldif.duplicate_login": (
            "identifiant de connexion {login!r} aussi ligne {others} ; toutes les entrées "
            "de cet identifiant sont ignorées jusqu'à correction de l'export",
            "login {login!r} also on line {others}; every entry with "
            "this login is ignored until the export is fixed",
        ),
        "dir.ldif.incomplete_change": (
            "{path} se termine par un enregistrement coupé par une écriture interrompue "
            "(à partir de la ligne {line}) ; il n'a jamais été signalé comme écrit et est ignoré",
            "{path} ends with a record cut by an interrupted write "
            "(from line {line}); it was never reported as written and is left out",
        ),
        "dir.ldif.other_export": (
            "{changes} contient des modifications faites sur une autre version de {path}",
            "{changes} holds changes made on another version of {path}",
        ),
        "dir.ldif.unbound_changes": (
            "{changes} n'a pas été écrit par idpronote pour {path} (pas de ligne "
            "« # export-blake2b ») : ses modifications ne sont pas rejouées",
            "{changes} was not written by idpronote for {path} (no '# export-blake2b' "
            "line): its changes are not replayed",
        ),
        "dir.ldif.other_export_hint": (
            "appliquez-le avec ldapmodify si ce n'est pas déjà fait, puis déplacez-le : "
            "idpronote en commencera un nouveau",
            "apply it with ldapmodify if not done yet, then move it away: "
            "idpronote starts a new one",
        ),
        "dir.ldif.where": ("{path}, ligne {line}", "{path}, line {line}"),
        "dir.ldif.record_no_dn": (
            "un enregistrement ne commence pas par dn:",
            "a record does not start with dn:",
        ),
        "dir.ldif.modify_only": (
            "seuls des enregistrements changetype: modify sont attendus ici",
            "only changetype: modify records are expected here",
        ),
        "dir.ldif.bad_changes_hint": (
            "ce fichier est écrit par idpronote ; restaurez-le, ou appliquez-le avec "
            "ldapmodify et déplacez-le",
            "this file is written by idpronote; restore it, or apply it with "
            "ldapmodify and move it away",
        ),
        "dir.ldif.not_a_person": (
            "{where} : {dn!r} n'est pas une entrée de personne de {path}",
            "{where}: {dn!r} is not a person entry of {path}",
        ),
        "dir.ldif.not_a_person_hint": (
            "appliquez le fichier des modifications avec ldapmodify et déplacez-le",
            "apply the changes file with ldapmodify and move it away",
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
        "dir.ldif.kept_changing": (
            "{path} a changé sans cesse pendant l'écriture ; réessayez",
            "{path} kept changing while writing; try again",
        ),
        "dir.ldif.several_entries": (
            "l'identifiant de connexion {login!r} figure sur plusieurs entrées de {path} "
            "(lignes {lines}) ; corrigez l'export pour qu'il n'y figure qu'une fois",
            "login {login!r} is on several entries of {path} "
            "(lines {lines}); fix the export so that it appears once",
        ),
        "dir.ldif.write_failed": (
            "écriture impossible de {path} : {error} (système de fichiers {file_system}) ; "
            "rien n'a été modifié",
            "could not write {path}: {error} (file system {file_system}); nothing was changed",
        ),
        "dir.ldif.grew": (
            "{path} a dépassé {limit} octets pendant sa lecture",
            "{path} grew past {limit} bytes while being read",
        ),
        "dir.ldif.not_ldif_line": (
            "pas une ligne LDIF : {text!r} ; ignorée",
            "not an LDIF line: {text!r}; ignored",
        ),
        "dir.ldif.bad_version": (
            "{path}, ligne {line} : la version LDIF {version!r} n'est pas prise en charge "
            "(seulement la version 1)",
            "{path}, line {line}: LDIF version {version!r} is not supported (only version 1)",
        ),
        "dir.ldif.at_line": ("{path}, ligne {line} : {message}", "{path}, line {line}: {message}"),
        "dir.ldif.is_url": (
            "est une URL, qu'idpronote ne suit jamais",
            "is a URL, which idpronote never follows",
        ),
        "dir.ldif.not_base64": ("n'est pas du base64 valide", "is not valid base64"),
        "dir.ldif.not_utf8": ("n'est pas du texte UTF-8", "is not UTF-8 text"),
        "dir.ldif.expected_operation": (
            "ligne {line} : add:, delete: ou replace: attendu",
            "line {line}: expected add:, delete: or replace:",
        ),
        "dir.ldif.other_attribute": (
            "ligne {line} : une valeur de {name}, pas de {attribute}",
            "line {line}: a value of {name}, not {attribute}",
        ),
        "dir.ldif.no_end": (
            "ligne {line} : l'opération ne se termine pas par -",
            "line {line}: the operation does not end with -",
        ),
        "dir.ldif.filter.expected_paren": (
            "filtre des personnes {text!r} : '(' attendu en position {position}",
            "person filter {text!r}: expected '(' at {position}",
        ),
        "dir.ldif.filter.unbalanced": (
            "filtre des personnes {text!r} : parenthèses déséquilibrées en position {position}",
            "person filter {text!r}: unbalanced at {position}",
        ),
        "dir.ldif.filter.only_equality": (
            "filtre des personnes {text!r} : seules l'égalité et la présence sont prises en charge",
            "person filter {text!r}: only equality and presence are supported",
        ),
        "dir.ldif.filter.no_substring": (
            "filtre des personnes {text!r} : les filtres de sous-chaîne ne sont pas pris en charge",
            "person filter {text!r}: substring filters are not supported",
        ),
        "dir.ldif.filter.trailing": (
            "filtre des personnes {text!r} : texte inattendu en position {position}",
            "person filter {text!r}: unexpected text at {position}",
        ),
        "dir.ldif.line": ("ligne {line} : {message}", "line {line}: {message}"),
        "dir.ldif.url_value": (
            "{name}:< {target!r} désigne une URL, qu'idpronote ne suit jamais ; valeur ignorée",
            "{name}:< {target!r} points to a URL, which idpronote never follows; value ignored",
        ),
    }
)

__all__ = ["CHANGES_SUFFIX", "MAX_FILE_SIZE", "DirectoryProblem", "LdifDirectory"]

# An academy's export is a few hundred MB at most; past this, refuse unread.
MAX_FILE_SIZE = 512 * 1024 * 1024
CHANGES_SUFFIX = ".modifications.ldif"

# RFC 4512 attribute description: a name or an OID, then options (`sn;lang-fr`).
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]*(?:;[A-Za-z0-9-]+)*|[0-9]+(?:\.[0-9]+)*")
# RFC 2849 SAFE-STRING: a SAFE-INIT-CHAR, then SAFE-CHARs (ASCII without NUL, LF, CR).
_SAFE = re.compile(
    r"[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*"
)
_DIGEST_LINE = re.compile(rb"^# export-blake2b: ([0-9a-f]+)\r?$", re.MULTILINE)
# Every batch we append ends with a blank line: what follows the last one was cut.
_RECORD_END = re.compile(rb"\n\r?\n")
# What a record needs besides its attributes: its dn, and what marks a change record.
_RECORD_ATTRIBUTES = frozenset({"dn", "version", "changetype", "control"})
_CHANGE_MARKERS = frozenset({"changetype", "control", "-"})
_DN_ESCAPES = re.compile(r"((?:\\[0-9A-Fa-f]{2})+)|\\(.)", re.DOTALL)


class _Line(NamedTuple):
    """One logical line of an LDIF file (folding undone, comments dropped)."""

    number: int  # 1-based physical line where it starts
    name: str  # attribute description as written, "-" for a modify separator
    base: str  # the attribute without its options, lower-case: `sn;lang-fr` is `sn`
    kind: str  # ":" plain value, "::" base64, ":<" URL, "-" separator
    raw: str


class _BadValue(ValueError):
    pass


@dataclass(slots=True)
class _Entry:
    """A person or structure entry, reduced to the attributes idpronote reads."""

    dn: str
    line: int
    key: str = ""  # the DN as LDAP compares it (_dn_key)
    attributes: dict[str, Sequence[str]] = field(default_factory=dict)

    def object_classes(self) -> frozenset[str]:
        return frozenset(value.casefold() for value in self.attributes.get("objectclass", ()))


@dataclass(slots=True)
class _Plan:
    """A batch decided against memory: outcomes, the LDIF to append, the state after it."""

    outcomes: list[ChangeOutcome] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    values: dict[int, tuple[str, ...]] = field(default_factory=dict)
    holders: dict[str, set[int]] = field(default_factory=dict)
    classes: set[int] = field(default_factory=set)  # entries given the auxiliary class
    dropped: set[int] = field(default_factory=set)  # entries it is taken from (undo)


class LdifDirectory(Directory):
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

    @property
    def lock_timeout(self) -> float:
        """How long a write waits for another process (another host) writing the changes."""
        return self._write_lock.timeout

    @lock_timeout.setter
    def lock_timeout(self, seconds: float) -> None:
        self._write_lock.timeout = seconds

    # -- reading ---------------------------------------------------------------------

    @property
    def problems(self) -> list[DirectoryProblem]:
        """Entries or lines that could not be used as given (the rest still loads)."""
        return self._problems

    def reload(self) -> None:
        """Read the export and the changes file again."""
        with self._lock:
            self._load()

    def _load(self) -> None:
        loaded_without_collecting(self._load_without_collecting, lambda _: len(self._accounts))

    def _load_without_collecting(self) -> None:
        problems: list[DirectoryProblem] = []
        export_stat = self._stat(self.path, "dir.ldif.export")
        with self._open(self.path, "dir.ldif.export") as handle:
            digest = hashlib.blake2b(digest_size=20)
            persons, structures = self._read_export(handle, digest, problems)
        change_problems: list[DirectoryProblem] = []
        self._changes_digest = _NO_CHANGES
        changes_stat, complete = self._replay(persons, digest.hexdigest(), change_problems)
        self._build(persons, structures, problems)
        problems.sort(key=lambda problem: problem.line)
        self._problems = problems + change_problems
        self._seen = (_stamp(export_stat), _stamp(changes_stat))
        self._digest = digest.hexdigest()
        self._complete = complete

    def _stat(self, path: Path, what: str) -> os.stat_result:
        """`what`: the message key naming the file ("dir.ldif.export", "dir.ldif.changes")."""
        try:
            info = os.stat(path)
        except OSError as error:
            raise DirectoryError(
                t("dir.ldif.unreadable", what=t(what), path=path, error=error.strerror or error)
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise DirectoryError(t("dir.ldif.not_regular", what=t(what), path=path))
        if info.st_size > self.max_size:
            raise DirectoryError(
                t(
                    "dir.ldif.too_large",
                    what=t(what),
                    path=path,
                    size=info.st_size,
                    limit=self.max_size,
                ),
                hint=t("dir.ldif.too_large_hint"),
            )
        return info

    @contextlib.contextmanager
    def _open(self, path: Path, what: str) -> Iterator[BinaryIO]:
        try:
            handle = open(path, "rb")
        except OSError as error:
            raise DirectoryError(
                t("dir.ldif.unreadable", what=t(what), path=path, error=error.strerror or error)
            ) from None
        with handle:
            yield handle

    def _read_export(
        self, handle: BinaryIO, digest: hashlib.blake2b, problems: list[DirectoryProblem]
    ) -> tuple[list[_Entry], dict[str, str]]:
        """Person entries (in file order) and structure DN -> UAI."""
        persons: list[_Entry] = []
        structures: dict[str, str] = {}
        seen: dict[str, int] = {}
        shared: dict[str, str] = {}
        uai_attribute = self.mapping.preset.structure_uai.lower()
        reader = _LdifReader(self.path, handle, self.max_size, digest, problems, self._kept)
        for lines in reader.records():
            entry = self._entry(lines, problems, shared)
            if entry is None:
                continue
            key = entry.key
            if key in seen:
                problems.append(
                    _problem(
                        entry.line,
                        "duplicate_dn",
                        t("dir.ldif.duplicate_dn", dn=printable(entry.dn), first=seen[key]),
                    )
                )
                continue
            seen[key] = entry.line
            uai = next(iter(entry.attributes.get(uai_attribute, ())), "").strip()
            if uai:
                structures[key] = uai.upper()
            if self._is_person(entry.attributes) and self._under_base(key):
                persons.append(entry)
        return persons, structures

    def _under_base(self, key: str) -> bool:
        base = self.base_dn
        if base is None or key == base:
            return True
        cut = len(key) - len(base) - 1
        # under it: `...,<base>`, that comma not escaped (an even run of backslashes before it)
        if cut < 1 or not key.endswith(base) or key[cut] != ",":
            return False
        return (cut - len(key[:cut].rstrip("\\"))) % 2 == 0

    def _entry(
        self, lines: list[_Line], problems: list[DirectoryProblem], shared: dict[str, str]
    ) -> _Entry | None:
        """One content record, keeping only the attributes the mapping reads.

        `shared` holds one copy of each value read so far: profiles, classes,
        object classes and structure DNs repeat on every entry.
        """
        first = lines[0]
        if first.base != "dn":
            problems.append(_problem(first.number, "syntax", t("dir.ldif.no_dn", name=first.name)))
            return None
        if first.kind == ":<":
            problems.append(_url_problem(first))
            return None
        try:
            dn = _decode(first)
        except _BadValue as error:
            problems.append(_problem(first.number, "bad_value", t("dir.ldif.bad_dn", error=error)))
            return None
        # Every attribute the mapping reads is a key, () when absent: AttributeMapping.values
        # then finds it at once instead of scanning the entry for another spelling.
        entry = _Entry(dn, first.number, _dn_key(dn), dict(self._absent))
        attributes = entry.attributes
        found: list[DirectoryProblem] = []
        for line in islice(lines, 1, None):
            number, name, base, kind, raw = line  # unpacked: this loop runs a million times
            if base in _CHANGE_MARKERS:
                problems.append(
                    _problem(
                        first.number,
                        "changetype",
                        t("dir.ldif.change_record", line=number),
                    )
                )
                return None
            if kind == ":" and raw.isascii():
                value = raw  # the common case, and surely UTF-8
            elif kind == ":<":
                found.append(_url_problem(line))
                continue
            else:
                try:
                    value = _decode(line)
                except _BadValue as error:
                    found.append(
                        _problem(
                            number, "bad_value", t("dir.ldif.bad_value", name=name, error=error)
                        )
                    )
                    continue
            value = shared.setdefault(value, value)  # profiles, classes, DNs: a few, repeated
            values = attributes.get(base)
            if not values:
                attributes[base] = [value]
            else:
                values.append(value)
        problems.extend(found)
        return entry

    def _build(
        self,
        persons: list[_Entry],
        structures: dict[str, str],
        problems: list[DirectoryProblem],
    ) -> None:
        """Accounts from the person entries, numbered in search-result order."""
        login_of_dn: dict[str, str] = {}
        for entry in persons:
            login = next(iter(self.mapping.values(entry.attributes, "login")), "").strip()
            if login:
                login_of_dn[entry.key] = login
        built: list[tuple[DirectoryAccount, _Entry]] = []
        unknown_structures: set[str] = set()
        for entry in persons:
            account = self._account(entry, structures, login_of_dn, unknown_structures, problems)
            if account is not None:
                built.append((account, entry))
        self._index(self._without_duplicates(built, problems))

    def _account(
        self,
        entry: _Entry,
        structures: dict[str, str],
        login_of_dn: dict[str, str],
        unknown_structures: set[str],
        problems: list[DirectoryProblem],
    ) -> DirectoryAccount | None:
        def structure_uai(dn: str) -> str | None:
            key = _dn_key_cached(dn)
            uai = structures.get(key)
            if uai is None and key not in unknown_structures:
                unknown_structures.add(key)
                problems.append(
                    _problem(
                        entry.line,
                        "unknown_structure",
                        t(
                            "dir.ldif.unknown_structure",
                            dn=printable(dn),
                            attribute=self.mapping.preset.structure_uai,
                        ),
                    )
                )
            return uai

        account, why = self.mapping.to_account(
            entry.dn,
            entry.attributes,
            structure_uai=structure_uai,
            student_login=lambda dn: login_of_dn.get(_dn_key_cached(dn)),
        )
        if account is None:
            kind = "missing_login" if not self.mapping.values(entry.attributes, "login") else ""
            problems.append(
                _problem(
                    entry.line,
                    kind or "missing_surname",
                    t("dir.ldif.unusable_entry", dn=printable(entry.dn), why=why),
                )
            )
            return None
        raw_date = next(iter(self.mapping.values(entry.attributes, "date_naissance")), "")
        if raw_date and account.birth_date is None:
            problems.append(
                _problem(
                    entry.line,
                    "invalid_date",
                    t("dir.ldif.invalid_date", raw=printable(raw_date), login=account.login),
                )
            )
        return account

    def _without_duplicates(
        self, built: list[tuple[DirectoryAccount, _Entry]], problems: list[DirectoryProblem]
    ) -> list[tuple[DirectoryAccount, _Entry]]:
        """Never guess which of two entries with one login is right: neither is read."""
        lines_of: dict[str, list[int]] = {}
        for account, entry in built:
            lines_of.setdefault(account.login.lower(), []).append(entry.line)
        self._duplicates = {key: lines for key, lines in lines_of.items() if len(lines) > 1}
        for key, lines in self._duplicates.items():
            for line in lines:
                others = ", ".join(str(other) for other in lines if other != line)
                problems.append(
                    _problem(
                        line,
                        "duplicate_login",
                        t("dir.ldif.duplicate_login", login=printable(key), others=others),
                    )
                )
        return [pair for pair in built if pair[0].login.lower() not in self._duplicates]

    def _index(self, built: list[tuple[DirectoryAccount, _Entry]]) -> None:
        keys = [
            (normalise_name(a.surname), normalise_name(a.first_name), a.login.lower())
            for a, _ in built
        ]
        order = sorted(range(len(built)), key=keys.__getitem__)
        self._accounts = [built[k][0] for k in order]
        self._dns = [built[k][1].dn for k in order]
        classes_of: dict[frozenset[str], frozenset[str]] = {}
        self._object_classes = [
            classes_of.setdefault(classes, classes)
            for classes in (built[k][1].object_classes() for k in order)
        ]
        keys = [keys[k] for k in order]
        self._surnames = [key[0] for key in keys]
        self._logins = [key[2] for key in keys]
        self._by_login = {login: i for i, login in enumerate(self._logins)}
        self._by_uai: dict[str, list[int]] = {}
        self._holders: dict[str, set[int]] = {}
        words: list[tuple[str, int]] = []
        self._search_keys = []
        for i, (account, (surname, first_name, login)) in enumerate(
            zip(self._accounts, keys, strict=True)
        ):
            for uai in account.establishments:
                self._by_uai.setdefault(uai, []).append(i)
            own = list(dict.fromkeys([*surname.split(), *first_name.split(), login]))
            words.extend((word, i) for word in own)
            self._search_keys.append(" " + " ".join(own))
            for key in filter(None, map(self._holder_key, account.identifiers)):
                self._holders.setdefault(key, set()).add(i)
        words.sort()
        self._words = [word for word, _ in words]
        self._word_ids = [i for _, i in words]

    def _holder_key(self, value: str) -> str | None:
        return holder_key(self.form, value)

    # -- replaying the changes file ---------------------------------------------------

    def _replay(
        self, persons: list[_Entry], digest: str, problems: list[DirectoryProblem]
    ) -> tuple[os.stat_result | None, int]:
        """Apply the changes file to the entries; (its stat, the size of its complete part)."""
        if not self.changes_path.exists():
            return None, 0
        info = self._stat(self.changes_path, "dir.ldif.changes")
        with self._open(self.changes_path, "dir.ldif.changes") as handle:
            data = handle.read(self.max_size + 1)
        complete = _complete_size(data)
        if complete < len(data):
            line = data.count(b"\n", 0, complete) + 1
            problems.append(
                _problem(
                    line,
                    "incomplete_change",
                    t("dir.ldif.incomplete_change", path=self.changes_path, line=line),
                )
            )
        data = data[:complete]
        reader = _LdifReader(self.changes_path, io.BytesIO(data), self.max_size)
        records = list(reader.records())
        if not records:
            return info, 0  # a header alone: the next write starts the file again
        self._changes_digest = hashlib.blake2b(data, digest_size=20).digest()
        by_dn = {entry.key: entry for entry in persons}
        parsed = [self._replay_record(lines, by_dn) for lines in records]
        # A record names its entry by DN only. Its change is the same person's only on
        # the very export it was made against, which the digest line binds it to: on
        # another export the DN may be someone else's now. A changes file without the
        # line was not written by idpronote, and is refused rather than trusted.
        recorded = _DIGEST_LINE.search(data)
        if recorded is None:
            raise DirectoryError(
                t("dir.ldif.unbound_changes", changes=self.changes_path, path=self.path),
                hint=t("dir.ldif.other_export_hint"),
            )
        if recorded.group(1).decode() != digest:
            raise DirectoryError(
                t("dir.ldif.other_export", changes=self.changes_path, path=self.path),
                hint=t("dir.ldif.other_export_hint"),
            )
        for entry, operations in parsed:
            for operation, attribute, values in operations:
                if attribute in self._kept:
                    _modify(entry.attributes, operation, attribute, values)
        return info, complete

    def _replay_record(
        self, lines: list[_Line], by_dn: dict[str, _Entry]
    ) -> tuple[_Entry, list[tuple[str, str, list[str]]]]:
        """The entry a change record names, and its operations (checked, not applied)."""
        where = t("dir.ldif.where", path=self.changes_path, line=lines[0].number)
        try:
            if lines[0].base != "dn":
                raise _BadValue(t("dir.ldif.record_no_dn"))
            dn = _decode(lines[0])
            if len(lines) < 2 or lines[1].base != "changetype" or lines[1].raw.strip() != "modify":
                raise _BadValue(t("dir.ldif.modify_only"))
            operations = list(_operations(lines[2:]))
        except _BadValue as error:
            raise DirectoryError(
                t("dir.ldif.at_line", path=self.changes_path, line=lines[0].number, message=error),
                hint=t("dir.ldif.bad_changes_hint"),
            ) from None
        entry = by_dn.get(_dn_key(dn))
        if entry is None:
            raise DirectoryError(
                t("dir.ldif.not_a_person", where=where, dn=printable(dn), path=self.path),
                hint=t("dir.ldif.not_a_person_hint"),
            )
        return entry, operations

    # -- the Directory protocol: reading -------------------------------------------

    def describe(self) -> str:
        return t(
            "dir.ldif.describe",
            path=self.path,
            count=len(self._accounts),
            changes=self.changes_path,
        )

    def get(self, login: str) -> DirectoryAccount | None:
        i = self._by_login.get(login.strip().lower())
        return None if i is None else self._accounts[i]

    def accounts(self, uai: str, category: Category | None = None) -> list[DirectoryAccount]:
        found = [self._accounts[i] for i in self._by_uai.get(uai.strip().upper(), ())]
        if category is None:
            return found
        return [account for account in found if self.profiles.matches(account, category)]

    def holders(self, idpn: str, uai: str) -> list[DirectoryAccount]:
        """Accounts storing `idpn` for `uai` in this form, whatever their establishments."""
        key = self.form.format(uai.strip().upper(), idpn)
        return [self._accounts[i] for i in sorted(self._holders.get(key, ()))]

    def _search(self, query: SearchQuery) -> list[DirectoryAccount]:
        """Each word a prefix of a surname, first-name or login word; exact surnames first."""
        if not self._accounts:
            return []
        normalised = " ".join(normalise_name(query.text).split())
        candidates = sorted(self._candidates(significant(normalised.split()), query.text.lower()))
        lo = bisect_left(candidates, bisect_left(self._surnames, normalised))
        hi = bisect_left(candidates, bisect_right(self._surnames, normalised))
        found: list[DirectoryAccount] = []
        for i in chain(candidates[lo:hi], candidates[:lo], candidates[hi:]):
            account = self._accounts[i]
            if query.uai is not None and query.uai not in account.establishments:
                continue
            if query.category is not None and not self.profiles.matches(account, query.category):
                continue
            found.append(account)
            if len(found) >= query.limit:
                break
        return found

    def _count(self, query: SearchQuery) -> int:
        """The same search, counted in memory (the accounts are made already)."""
        return 0 if query.empty else len(self._search(query))

    def _candidates(self, words: list[str], login_prefix: str) -> set[int]:
        """Accounts with every word (narrowed from the rarest), or whose login starts the query."""
        found: set[int] = set()
        if words:
            spans = {word: self._word_spans(word) for word in words}
            rarest = min(words, key=lambda word: sum(hi - lo for lo, hi in spans[word]))
            patterns = [(" " + word, " " + word.lower()) for word in words if word != rarest]
            for lo, hi in spans[rarest]:
                for i in self._word_ids[lo:hi]:
                    key = self._search_keys[i]
                    if all(upper in key or lower in key for upper, lower in patterns):
                        found.add(i)
        lo, hi = self._prefix_range(login_prefix)
        found.update(i for i in self._word_ids[lo:hi] if self._logins[i].startswith(login_prefix))
        return found

    def _word_spans(self, word: str) -> list[tuple[int, int]]:
        # Names are upper-case in the index, logins lower-case: a word may be either.
        return [self._prefix_range(w) for w in dict.fromkeys([word, word.lower()])]

    def _prefix_range(self, prefix: str) -> tuple[int, int]:
        return prefix_range(self._words, prefix)

    # -- what setup and `config check` ask ------------------------------------------

    def identifier_field(self) -> str:
        return self.mapping.identifier_attribute

    def every_account(self) -> Iterator[DirectoryAccount]:
        return iter(list(self._accounts))

    def census(self, limit: int) -> Census:
        census = super().census(limit)
        census.problems = summarise_problems(
            self._problems,
            things="entry",
            login=self.mapping.attribute("login"),
            surname=self.mapping.attribute("nom"),
        )
        return census

    def write_check(self, account: DirectoryAccount | None) -> WriteCheck:
        """Could changes be appended to the changes file (or the file be created)?

        Asked of the file system (os.access): nothing is created or changed.
        The export itself is never written.
        """
        attribute = self.identifier_field()
        path = self.changes_path
        target = str(path)
        if os.path.lexists(path):
            if os.access(path, os.R_OK | os.W_OK):
                return WriteCheck(
                    WRITABLE,
                    attribute,
                    t("dir.ldif.check.appended", path=path),
                    target,
                )
            return WriteCheck(
                READ_ONLY,
                attribute,
                t("dir.ldif.check.changes_read_only", path=path),
                target,
            )
        folder = path.parent
        if os.access(folder, os.W_OK | os.X_OK):
            return WriteCheck(
                WRITABLE,
                attribute,
                t("dir.ldif.check.will_write", path=path),
                target,
            )
        return WriteCheck(
            READ_ONLY,
            attribute,
            t("dir.ldif.check.folder_read_only", folder=folder, name=path.name),
            target,
        )

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

    def _look(self) -> tuple[None, bool]:
        """Under the lock: has the export or the changes file moved on (read it again)?"""
        if not self._changed_on_disk():
            return None, False
        self._load()
        return None, True

    def _write_decided(self, plan: _Plan, changes: list[IdentifierChange]) -> list[ChangeOutcome]:
        """Write a plan decided under the lock.

        The lock's check looks at sizes and times; the bytes of the changes file
        are checked as it is opened. Other bytes under the same size and time
        (a writer that does not take the lock, a clock that did not move): read
        them and decide once more, still under the lock.
        """
        outcomes = self._write(plan)
        if outcomes is None:
            self._load()
            plan = self._plan(changes)
            if not plan.records:
                return plan.outcomes
            outcomes = self._write(plan)
        if outcomes is None:
            reason = t("dir.ldif.kept_changing", path=self.changes_path)
            return [unavailable(change, reason) for change in changes]
        return outcomes

    def _changed_on_disk(self) -> bool:
        return self._seen != (
            _stamp(_stat_or_none(self.path)),
            _stamp(_stat_or_none(self.changes_path)),
        )

    def _plan(self, changes: list[IdentifierChange]) -> _Plan:
        """Decide every change against memory plus the earlier changes of the batch."""
        plan = _Plan()
        for change in changes:
            i = self._by_login.get(change.login.strip().lower())
            if i is None:
                plan.outcomes.append(self._missing(change))
                continue
            values = plan.values.get(i, self._accounts[i].identifiers)
            others: list[str] = []
            if change.kind is not ChangeKind.REMOVE and change.idpn is not None:
                key = self.form.format(change.uai.strip().upper(), change.idpn)
                holders = plan.holders.get(key, self._holders.get(key, set()))
                others = [self._accounts[j].login for j in sorted(holders) if j != i]
            planned, outcome = plan_change(self.form, values, change, others)
            if planned is None:  # already in effect, or refused
                plan.outcomes.append(outcome or ChangeOutcome(change, applied=True))
                continue
            self._plan_record(plan, i, values, planned, change.drop_object_class)
            plan.outcomes.append(ChangeOutcome(change, applied=True))
        return plan

    def _plan_record(
        self,
        plan: _Plan,
        i: int,
        values: tuple[str, ...],
        planned: tuple[str, ...],
        drop_class: bool = False,
    ) -> None:
        """The modify record taking account `i` from `values` to `planned`."""
        deleted = list(dict.fromkeys(v for v in values if v not in planned))
        added = list(dict.fromkeys(v for v in planned if v not in values))
        if not deleted and not added:  # the same values in another order: nothing to say
            plan.values[i] = planned
            return
        object_class = self.mapping.object_class
        has_class = (i in plan.classes or object_class.casefold() in self._object_classes[i]) and (
            i not in plan.dropped
        )
        needs_class = bool(added and object_class and not has_class)
        if needs_class:
            plan.classes.add(i)
            plan.dropped.discard(i)
        # Undo of a write that added the class: it goes with the entry's last value.
        drops_class = bool(drop_class and object_class and has_class and not planned)
        if drops_class:
            plan.dropped.add(i)
            plan.classes.discard(i)
        plan.records.append(
            _modify_record(
                self._dns[i],
                self.mapping.identifier_attribute,
                deleted,
                added,
                object_class if needs_class else None,
                object_class if drops_class else None,
            )
        )
        before = set(filter(None, map(self._holder_key, values)))
        after = set(filter(None, map(self._holder_key, planned)))
        for key in before - after:
            self._planned_holders(plan, key).discard(i)
        for key in after - before:
            self._planned_holders(plan, key).add(i)
        plan.values[i] = planned

    def _planned_holders(self, plan: _Plan, key: str) -> set[int]:
        if key not in plan.holders:
            plan.holders[key] = set(self._holders.get(key, ()))
        return plan.holders[key]

    def _missing(self, change: IdentifierChange) -> ChangeOutcome:
        lines = self._duplicates.get(change.login.strip().lower())
        if not lines:
            return not_found(change)
        return ChangeOutcome(
            change,
            applied=False,
            failure="not_found",
            reason=t(
                "dir.ldif.several_entries",
                login=change.login,
                path=self.path,
                lines=", ".join(map(str, lines)),
            ),
        )

    def _write(self, plan: _Plan) -> list[ChangeOutcome] | None:
        """Append the plan durably (under the lock), then bring memory in line.

        None if the changes file is not what was read.
        """
        try:
            handle, created = _open_changes(self.changes_path)
        except OSError as error:
            return self._unwritten(plan, error)
        try:
            if self._moved_on(handle, created):
                return None  # another session wrote meanwhile: read it, decide again
            if plan.classes and self.before_send is not None:
                self.before_send(
                    {self._accounts[i].login: self.mapping.object_class for i in plan.classes}
                )
            start = 0 if created else self._complete
            data = (self._header() if start == 0 else "") + "".join(plan.records)
            try:
                _append_durably(handle, start, data.encode("utf-8"))
            except OSError as error:
                with contextlib.suppress(OSError):
                    os.ftruncate(handle, start)
                return self._unwritten(plan, error)
            if created:
                fsync_directory(self.changes_path.parent)
            self._complete = start + len(data.encode("utf-8"))
            self._seen = (self._seen[0], _stamp(os.fstat(handle)))
            self._changes_digest = _changes_digest(handle, self._complete)
        finally:
            os.close(handle)
        self._commit(plan)
        return plan.outcomes

    def _moved_on(self, handle: int, created: bool) -> bool:
        """Is the changes file no longer what was read (size, time, inode, then its bytes)?"""
        if self._seen[1] != (None if created else _stamp(os.fstat(handle))):
            return True
        return not created and _changes_digest(handle, self._complete) != self._changes_digest

    def _unwritten(self, plan: _Plan, error: OSError) -> list[ChangeOutcome]:
        reason = t(
            "dir.ldif.write_failed",
            path=self.changes_path,
            error=error.strerror or error,
            file_system=file_system(self.changes_path),
        )
        return [unavailable(outcome.change, reason) for outcome in plan.outcomes]

    def _commit(self, plan: _Plan) -> None:
        for i, values in plan.values.items():
            self._accounts[i] = replace(self._accounts[i], identifiers=values)
        for i in plan.classes:
            self._object_classes[i] |= {self.mapping.object_class.casefold()}
        for i in plan.dropped:
            self._object_classes[i] -= {self.mapping.object_class.casefold()}
        for key, holders in plan.holders.items():
            if holders:
                self._holders[key] = holders
            else:
                self._holders.pop(key, None)

    def _header(self) -> str:
        name = printable(self.changes_path.name)
        return (
            f"# idpronote: Pronote identifier changes for the directory exported as "
            f"{printable(self.path.name)}.\n"
            "# They are NOT in the directory yet. Apply them, once, with:\n"
            f'#   ldapmodify -x -H ldap://SERVER -D "BIND_DN" -W -f {name}\n'
            "# Each record deletes exactly the old identifier values it names and adds the\n"
            "# new one; other values of the attribute are left as they are.\n"
            f"# idpronote replays this file on top of {printable(self.path.name)}; once it\n"
            "# is applied and the directory exported again, move it away.\n"
            f"# export-blake2b: {self._digest}\n"
            "version: 1\n\n"
        )


# -- the LDIF reader ---------------------------------------------------------------------


class _LdifReader:
    """Records of an LDIF file as lists of logical lines; never follows a URL.

    Reads line by line (hashing what it reads if asked) within a size budget,
    so that a file growing under us cannot exhaust memory. Without a problem
    list, an unreadable line is an error rather than a problem.
    """

    def __init__(
        self,
        path: Path,
        source: BinaryIO,
        max_size: int,
        digest: hashlib.blake2b | None = None,
        problems: list[DirectoryProblem] | None = None,
        wanted: set[str] | None = None,
    ) -> None:
        """`wanted`: the attributes to keep (lower-case, without options); None keeps all."""
        self.path = path
        self.source = source
        self.max_size = max_size
        self.digest = digest
        self.problems = problems
        self.wanted = None if wanted is None else wanted | _RECORD_ATTRIBUTES
        # attribute description -> its base; a few dozen names make up a whole file
        self._bases: dict[str, str] = {}

    def records(self) -> Iterator[list[_Line]]:
        """Every record, version line removed, unparsable lines reported and skipped.

        One loop over the physical lines (an export has millions): folding is
        undone, comments dropped, CRLF taken as LF, and lines of attributes
        outside `wanted` dropped before any object is made for them.
        """
        budget = self.max_size
        update = self.digest.update if self.digest is not None else None
        readline = self.source.readline
        bases, wanted = self._bases, self.wanted
        record: list[_Line] = []
        pending: list[str] = []  # the pieces of the logical line being read
        start = number = 0
        first = True
        while True:
            raw = readline(budget + 1)
            budget -= len(raw)
            if budget < 0:
                raise DirectoryError(t("dir.ldif.grew", path=self.path, limit=self.max_size))
            if update is not None:
                update(raw)
            number += 1
            text = raw.decode("utf-8", "surrogateescape")
            if text[-1:] == "\n":
                text = text[:-2] if text[-2:-1] == "\r" else text[:-1]
            if pending and text[:1] == " " and raw:
                pending.append(text[1:])
                continue
            if pending and pending[0][:1] != "#":
                logical = pending[0] if len(pending) == 1 else "".join(pending)
                name, colon, rest = logical.partition(":")
                base = bases.get(name)
                if colon and base is not None and rest[:1] not in (":", "<"):
                    # the common case inline: a known attribute, a plain value
                    if wanted is None or base in wanted:
                        record.append(_Line(start, name, base, ":", rest.lstrip(" ")))
                else:
                    line = self._parse(start, logical)
                    if line is not None:
                        record.append(line)
            pending, start = [text], number
            if text and raw:
                continue
            pending = []
            if record:
                if first:
                    record, first = self._version(record), False
                if record:
                    yield record
                record = []
            if not raw:
                return

    def _parse(self, number: int, text: str) -> _Line | None:
        if text == "-":
            return _Line(number, "-", "-", "-", "")
        name, colon, rest = text.partition(":")
        base = self._bases.get(name)
        if base is None:
            if not colon or not _ATTRIBUTE.fullmatch(name):
                self._report(
                    number, "syntax", t("dir.ldif.not_ldif_line", text=printable(text[:60]))
                )
                return None
            base = self._bases[name] = name.split(";", 1)[0].lower()
        if rest[:1] == "<":  # reported whatever the attribute: the export tried it
            return _Line(number, name, base, ":<", rest[1:].strip())
        if self.wanted is not None and base not in self.wanted:
            return None
        if rest[:1] == ":":
            return _Line(number, name, base, "::", rest[1:].strip())
        return _Line(number, name, base, ":", rest.lstrip(" "))

    def _version(self, record: list[_Line]) -> list[_Line]:
        if not record or record[0].base != "version":
            return record
        if record[0].raw.strip() != "1":
            raise DirectoryError(
                t(
                    "dir.ldif.bad_version",
                    path=self.path,
                    line=record[0].number,
                    version=printable(record[0].raw),
                )
            )
        return record[1:]

    def _report(self, number: int, kind: str, message: str) -> None:
        if self.problems is None:
            raise DirectoryError(
                t("dir.ldif.at_line", path=self.path, line=number, message=message)
            )
        self.problems.append(_problem(number, kind, message))


def _decode(line: _Line) -> str:
    """The text of a value; never reads a URL."""
    if line.kind == ":<":
        raise _BadValue(t("dir.ldif.is_url"))
    if line.kind == "::":
        try:
            data = base64.b64decode(line.raw, validate=True)
        except (binascii.Error, ValueError):
            raise _BadValue(t("dir.ldif.not_base64")) from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadValue(t("dir.ldif.not_utf8")) from None
    try:
        line.raw.encode("utf-8")
    except UnicodeEncodeError:  # surrogate-escaped bytes: the line was not UTF-8
        raise _BadValue(t("dir.ldif.not_utf8")) from None
    return line.raw


def _operations(lines: list[_Line]) -> Iterator[tuple[str, str, list[str]]]:
    """(add|delete|replace, lower-case attribute, values) of a modify record's body."""
    position = 0
    while position < len(lines):
        head = lines[position]
        if head.base not in ("add", "delete", "replace") or head.kind != ":":
            raise _BadValue(t("dir.ldif.expected_operation", line=head.number))
        attribute = head.raw.strip().split(";", 1)[0].lower()
        values: list[str] = []
        position += 1
        while position < len(lines) and lines[position].kind != "-":
            line = lines[position]
            if line.base != attribute:
                raise _BadValue(
                    t(
                        "dir.ldif.other_attribute",
                        line=line.number,
                        name=line.name,
                        attribute=attribute,
                    )
                )
            values.append(_decode(line))
            position += 1
        if position >= len(lines):
            raise _BadValue(t("dir.ldif.no_end", line=head.number))
        position += 1
        yield head.base, attribute, values


def _modify(
    attributes: dict[str, Sequence[str]], operation: str, attribute: str, values: list[str]
) -> None:
    """One modify operation, in memory, with LDAP's case-insensitive value equality."""
    current = list(attributes.get(attribute, ()))
    if operation == "replace":
        current = list(values)
    elif operation == "delete":  # without values, the whole attribute
        gone = {value.casefold() for value in values}
        current = [value for value in current if values and value.casefold() not in gone]
    else:
        present = {value.casefold() for value in current}
        current += [value for value in values if value.casefold() not in present]
    attributes[attribute] = current


# -- writing -----------------------------------------------------------------------------


def _ldif_line(attribute: str, value: str) -> str:
    """`attribute: value`, or base64 (`::`) when the value is not an RFC 2849 SAFE-STRING."""
    if value == "" or (_SAFE.fullmatch(value) and not value.endswith(" ")):
        return f"{attribute}: {value}\n"
    return f"{attribute}:: {base64.b64encode(value.encode('utf-8')).decode('ascii')}\n"


def _modify_record(
    dn: str,
    attribute: str,
    deleted: list[str],
    added: list[str],
    object_class: str | None,
    dropped_class: str | None = None,
) -> str:
    """A modify record: delete exactly the old values, add the new (never a whole attribute)."""
    parts = [_ldif_line("dn", dn), "changetype: modify\n"]
    if object_class:
        parts += ["add: objectClass\n", _ldif_line("objectClass", object_class), "-\n"]
    if deleted:
        parts += [f"delete: {attribute}\n", *(_ldif_line(attribute, v) for v in deleted), "-\n"]
    if added:
        parts += [f"add: {attribute}\n", *(_ldif_line(attribute, v) for v in added), "-\n"]
    if dropped_class:
        parts += ["delete: objectClass\n", _ldif_line("objectClass", dropped_class), "-\n"]
    return "".join(parts) + "\n"


def _open_changes(path: Path) -> tuple[int, bool]:
    """A descriptor on the changes file, and whether it was just created (mode 0600)."""
    flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return os.open(path, flags), False
    try:
        os.fchmod(handle, 0o600)  # whatever the umask allowed
    except OSError:
        os.close(handle)
        raise
    return handle, True


def _append_durably(handle: int, start: int, data: bytes) -> None:
    """Write `data` at `start` (cutting any incomplete tail first) and fsync."""
    if os.fstat(handle).st_size != start:
        os.ftruncate(handle, start)
    os.lseek(handle, start, os.SEEK_SET)
    view = memoryview(data)
    while view:
        written = os.write(handle, view)
        view = view[written:]
    os.fsync(handle)


def _complete_size(data: bytes) -> int:
    """Where the last complete record of a changes file ends (each ends with a blank line)."""
    end = 0
    for match in _RECORD_END.finditer(data):
        end = match.end()
    return end


# -- small helpers -------------------------------------------------------------------------


def _parse_filter(text: str) -> tuple[Callable[[Mapping[str, list[str]]], bool], set[str]]:
    """An LDAP filter of `&`, `|`, `!`, equality and presence, as a predicate on an entry.

    Returns the predicate and the (lower-case) attributes it reads. Values
    compare case-insensitively, as objectClass does on a server.
    """
    attributes: set[str] = set()

    def parse(position: int) -> tuple[Callable[[Mapping[str, list[str]]], bool], int]:
        if not text.startswith("(", position):
            raise ConfigError(t("dir.ldif.filter.expected_paren", text=text, position=position))
        operator = text[position + 1 : position + 2]
        if operator in ("&", "|", "!"):
            parts = []
            position += 2
            while text.startswith("(", position):
                part, position = parse(position)
                parts.append(part)
            if not text.startswith(")", position) or not parts:
                raise ConfigError(t("dir.ldif.filter.unbalanced", text=text, position=position))
            if operator == "&":
                return (lambda e: all(p(e) for p in parts)), position + 1
            if operator == "|":
                return (lambda e: any(p(e) for p in parts)), position + 1
            return (lambda e: not parts[0](e)), position + 1
        close = text.find(")", position)
        attribute, equals, value = text[position + 1 : close].partition("=")
        if close < 0 or not equals or attribute[-1:] in "~<>:" or "(" in value:
            raise ConfigError(t("dir.ldif.filter.only_equality", text=text))
        name = attribute.strip().lower()
        attributes.add(name)
        if value == "*":
            return (lambda e: bool(e.get(name))), close + 1
        if "*" in value:
            raise ConfigError(t("dir.ldif.filter.no_substring", text=text))
        wanted = _unescape_dn(value).casefold()
        return (lambda e: any(v.casefold() == wanted for v in e.get(name, ()))), close + 1

    predicate, end = parse(0)
    if end != len(text):
        raise ConfigError(t("dir.ldif.filter.trailing", text=text, position=end))
    return predicate, attributes


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, start, escaped = [], 0, False
    for position, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return parts


def _unescape_dn(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return bytes.fromhex(match.group(1).replace("\\", "")).decode("utf-8", "replace")
        return match.group(2)

    return _DN_ESCAPES.sub(one, value)


def _dn_key(dn: str) -> str:
    """A DN as LDAP compares it for these: attribute types and values ignore case and spaces.

    `OU=Etab1, DC=Example` and `ou=etab1,dc=example` give one key. A string,
    not a tuple of tuples: a large export keeps one per entry while loading.
    """
    if "\\" not in dn and "+" not in dn:  # the common case, without escapes: fast
        return ",".join(
            f"{attribute.strip().lower()}={value.strip().casefold()}"
            for attribute, _, value in (rdn.partition("=") for rdn in dn.strip().split(","))
        )
    rdns = []
    for rdn in _split_unescaped(dn.strip(), ","):
        avas = []
        for ava in _split_unescaped(rdn, "+"):
            attribute, _, value = ava.partition("=")
            value = _unescape_dn(value.strip()).casefold()
            # escaped again, so that the separators of the key stay unambiguous
            value = re.sub(r"([\\,+])", r"\\\1", value)
            avas.append(f"{attribute.strip().lower()}={value}")
        rdns.append("+".join(sorted(avas)))
    return ",".join(rdns)


# Structure DNs come back on every person: a small cache spares re-splitting them.
_dn_key_cached = functools.lru_cache(maxsize=1 << 12)(_dn_key)


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _stamp(info: os.stat_result | None) -> tuple[int, int, int] | None:
    return None if info is None else (info.st_ino, info.st_size, info.st_mtime_ns)


def _problem(line: int, kind: str, message: str) -> DirectoryProblem:
    return DirectoryProblem(line, kind, t("dir.ldif.line", line=line, message=message))


def _url_problem(line: _Line) -> DirectoryProblem:
    return _problem(
        line.number,
        "url_value",
        t("dir.ldif.url_value", name=line.name, target=printable(line.raw[:80])),
    )


_NO_CHANGES = hashlib.blake2b(b"", digest_size=20).digest()


def _changes_digest(handle: int, size: int) -> bytes:
    """The hash of the complete part of the changes file (its first `size` bytes)."""
    digest = hashlib.blake2b(digest_size=20)
    position = 0
    while position < size:
        block = os.pread(handle, min(1 << 20, size - position), position)
        if not block:
            break
        digest.update(block)
        position += len(block)
    return digest.digest()
