"""status: an establishment's directory at a glance, per category, against the latest file."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.directory import Directory
from core.journal import SessionRecord, sessions
from core.model import CATEGORIES, Category
from core.pronote_file import FileSchema, IdentifiersFile
from core.support.context import last_import, latest_file
from core.support.explanation import FileInfo


@dataclass
class CategoryStatus:
    accounts: int = 0
    linked: int = 0
    unlinked: int = 0
    stored_twice: int = 0
    obsolete: int | None = None
    # Guardians only: unlinked guardians with at least one linked child.
    guardians_children_linked: int | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "accounts": self.accounts,
            "linked": self.linked,
            "unlinked": self.unlinked,
            "stored_twice": self.stored_twice,
            "obsolete": self.obsolete,
        }
        if self.guardians_children_linked is not None:
            data["guardians_children_linked"] = self.guardians_children_linked
        return data


@dataclass
class Status:
    """An establishment at a glance, per category, against the latest file."""

    uai: str
    categories: dict[Category, CategoryStatus]
    file: FileInfo
    last_session: SessionRecord | None
    # Identifiers stored on several accounts: idpn -> logins.
    stored_twice: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> bool:
        """Something to fix: identifiers stored twice or obsolete, guardians left out,
        a session cut in the middle of a write."""
        for c in self.categories.values():
            if c.stored_twice or c.obsolete or c.guardians_children_linked:
                return True
        return self.last_session is not None and self.last_session.unfinished

    def as_json(self) -> dict[str, Any]:
        last = self.last_session
        return {
            "uai": self.uai,
            "categories": {c.slug: s.as_json() for c, s in self.categories.items()},
            "stored_twice": self.stored_twice,
            "file": self.file.as_json(),
            "last_session": None
            if last is None
            else {
                "session": last.session,
                "started": last.started,
                "outcome": last.status,
                "mode": last.header.get("mode"),
            },
        }


def status(
    directory: Directory,
    uai: str,
    *,
    export: IdentifiersFile | None = None,
    data_dir: Path | None = None,
    schema: FileSchema | None = None,
) -> Status:
    """Per category: accounts with and without an identifier for `uai`, identifiers stored
    twice, stored identifiers the latest file no longer holds, guardians left out."""
    uai = uai.upper()
    form = directory.form
    accounts = directory.accounts(uai)
    info, export = latest_file(uai, export, last_import(data_dir, uai), schema)
    in_file = {p.idpn for p in export.all_accounts()} if export is not None else None
    check_obsolete = in_file is not None and info.mode != "partiel"
    holders: dict[str, set[str]] = defaultdict(set)
    stored_of: dict[str, list[str]] = {}
    for a in accounts:
        stored_of[a.login.casefold()] = ids = form.idpns_for(a.identifiers, uai)
        for idpn in ids:
            holders[idpn].add(a.login)
    twice = {idpn: sorted(logins) for idpn, logins in holders.items() if len(logins) > 1}
    categories = {c: CategoryStatus() for c in CATEGORIES}
    # Only a category the file holds can have obsolete identifiers (core/matching/reconciliation).
    held = {c for c in CATEGORIES if export is not None and export.accounts.get(c)}
    for c in CATEGORIES:
        if check_obsolete and c in held:
            categories[c].obsolete = 0
    categories[Category.RESPONSABLES].guardians_children_linked = 0
    linked_logins = {a.login.casefold() for a in accounts if stored_of[a.login.casefold()]}
    for a in accounts:
        ids = stored_of[a.login.casefold()]
        for c in directory.profiles.categories_of(a.profiles):
            s = categories[c]
            s.accounts += 1
            if ids:
                s.linked += 1
            else:
                s.unlinked += 1
                if c is Category.RESPONSABLES and any(
                    kid.casefold() in linked_logins for kid in a.students
                ):
                    s.guardians_children_linked = (s.guardians_children_linked or 0) + 1
            s.stored_twice += sum(1 for idpn in ids if idpn in twice)
            if check_obsolete and in_file is not None and c in held:
                s.obsolete = (s.obsolete or 0) + sum(1 for idpn in ids if idpn not in in_file)
    every = sessions(data_dir, uai) if data_dir is not None else []
    return Status(uai, categories, info, every[-1] if every else None, twice)
