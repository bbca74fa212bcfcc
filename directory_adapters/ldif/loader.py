"""Reading an LDIF export: its person and structure entries, read as accounts.

The export is untrusted input: `attr:< URL` values are never followed,
change records are reported rather than applied, the size is capped before
anything is read, and no input makes a library exception reach the caller.
An entry that cannot be used is a `DirectoryProblem` (its line, what to fix);
two entries of one login are both withheld. The changes file is replayed on
top (directory_adapters/ldif/changes.py) before the accounts are made.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from core.errors import DirectoryError
from core.i18n import register, t
from core.model import DirectoryAccount, ProfileMapping
from core.names import normalise_name
from core.text import printable
from directory_adapters.file_index import AccountIndex, category_bits
from directory_adapters.file_store import (
    DirectoryProblem,
    duplicate_logins,
    loaded_without_collecting,
)
from directory_adapters.ldif.names import _dn_key, _dn_key_cached
from directory_adapters.ldif.syntax import (
    _CHANGE_MARKERS,
    _BadValue,
    _decode,
    _LdifReader,
    _Line,
    _problem,
    _url_problem,
)
from directory_adapters.mapping import AttributeMapping

register(
    {
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
    }
)


@dataclass(slots=True)
class _Entry:
    """A person or structure entry, reduced to the attributes idpronote reads."""

    dn: str
    line: int
    key: str = ""  # the DN as LDAP compares it (_dn_key)
    attributes: dict[str, Sequence[str]] = field(default_factory=dict)

    def object_classes(self) -> frozenset[str]:
        return frozenset(value.casefold() for value in self.attributes.get("objectclass", ()))


# The digest of a changes file with nothing in it yet.
_NO_CHANGES = hashlib.blake2b(b"", digest_size=20).digest()


class LdifIndex(AccountIndex):
    """The export's accounts (made whole: an export is read once), their DNs and
    object classes, in search-result order."""

    __slots__ = ("accounts", "dns", "object_classes")

    def __len__(self) -> int:
        return len(self.accounts)

    def account(self, i: int) -> DirectoryAccount:
        return self.accounts[i]

    def establishments(self, i: int) -> tuple[str, ...]:
        return self.accounts[i].establishments

    def profiles(self, i: int) -> tuple[str, ...]:
        return self.accounts[i].profiles

    def born(self, i: int) -> bool:
        return self.accounts[i].birth_date is not None


class _ExportReading:
    """Loading, for `LdifDirectory`: from what it was made with (`path`, `changes_path`,
    `mapping`, `profiles`, `base_dn`, `max_size`, the attributes `_kept`, `_absent`,
    `_is_person`), it sets `_index` and what the writes check the files against
    (`_seen`, `_digest`, `_complete`, `_changes_digest`)."""

    path: Path
    changes_path: Path
    mapping: AttributeMapping
    profiles: ProfileMapping
    base_dn: str | None
    max_size: int
    _kept: set[str]
    _absent: dict[str, Sequence[str]]
    _is_person: Callable[[Mapping[str, Sequence[str]]], bool]
    _index: LdifIndex

    def _load(self) -> None:
        loaded_without_collecting(self._load_without_collecting, lambda _: len(self._index))

    def _load_without_collecting(self) -> None:
        problems: list[DirectoryProblem] = []
        export_stat = self._stat(self.path, "dir.ldif.export")
        with self._open(self.path, "dir.ldif.export") as handle:
            digest = hashlib.blake2b(digest_size=20)
            persons, structures = self._read_export(handle, digest, problems)
        change_problems: list[DirectoryProblem] = []
        self._changes_digest = _NO_CHANGES
        changes_stat, complete = self._replay(persons, digest.hexdigest(), change_problems)
        index = self._build(persons, structures, problems)
        problems.sort(key=lambda problem: problem.line)
        index.problems = problems + change_problems
        self._index = index
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
    ) -> LdifIndex:
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
        kept, duplicates = self._without_duplicates(built, problems)
        index = self._indexed(kept)
        index.duplicates = duplicates
        return index

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
    ) -> tuple[list[tuple[DirectoryAccount, _Entry]], dict[str, list[int]]]:
        """Never guess which of two entries with one login is right: neither is read."""
        lines_of: dict[str, list[int]] = {}
        for account, entry in built:
            lines_of.setdefault(account.login.lower(), []).append(entry.line)
        duplicates, twice = duplicate_logins(
            lines_of,
            lambda line, login, others: _problem(
                line,
                "duplicate_login",
                t("dir.ldif.duplicate_login", login=printable(login), others=others),
            ),
        )
        problems.extend(twice)
        kept = [pair for pair in built if pair[0].login.lower() not in duplicates]
        return kept, duplicates

    def _indexed(self, built: list[tuple[DirectoryAccount, _Entry]]) -> LdifIndex:
        keys = [
            (normalise_name(a.surname), normalise_name(a.first_name), a.login.lower())
            for a, _ in built
        ]
        order = sorted(range(len(built)), key=keys.__getitem__)
        index = LdifIndex()
        index.accounts = [built[k][0] for k in order]
        index.dns = [built[k][1].dn for k in order]
        classes_of: dict[frozenset[str], frozenset[str]] = {}
        index.object_classes = [
            classes_of.setdefault(classes, classes)
            for classes in (built[k][1].object_classes() for k in order)
        ]
        keys = [keys[k] for k in order]
        bits_of: dict[tuple[str, ...], int] = {}
        bits = bytearray(len(index.accounts))
        index.holders = {}
        for i, account in enumerate(index.accounts):
            found = bits_of.get(account.profiles)
            if found is None:
                found = bits_of[account.profiles] = category_bits(
                    self.profiles.categories_of(account.profiles)
                )
            bits[i] = found
            for key in filter(None, map(self._holder_key, account.identifiers)):
                index.holders.setdefault(key, set()).add(i)
        index.index_names(keys, (a.establishments for a in index.accounts), bits, {})
        return index


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _stamp(info: os.stat_result | None) -> tuple[int, int, int] | None:
    return None if info is None else (info.st_ino, info.st_size, info.st_mtime_ns)
