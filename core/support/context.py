"""What explain reads once for an establishment, and the facts it looks things up in.

The latest identifiers file (the one given, else the one the last journaled
import read, if still readable and unchanged or said to have changed), what
matching decides on it (with the remembered links, as the wizard does), and
the small lookups the causes share: same names, fitting dates, the
decisions about an account, the identifiers stored per establishment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.directory import Directory
from core.errors import IdpronoteError
from core.journal import SessionRecord, sessions
from core.matching import Decision, MatchSettings, Reconciliation
from core.memory import DecisionMemory
from core.model import DirectoryAccount, PronoteAccount
from core.names import compact_name, dates_compatible
from core.pronote_file import FileSchema, IdentifiersFile, read_identifiers_file
from core.support.actions import Action
from core.support.explanation import Explanation, FileInfo
from core.wizard import file_digest

# -- the latest file -----------------------------------------------------------------------------


def last_import(data_dir: Path | None, uai: str) -> SessionRecord | None:
    """The establishment's last journaled import that read a file (not a link, unlink, undo)."""
    if data_dir is None:
        return None
    found = [r for r in sessions(data_dir, uai) if r.kind == "import" and r.header.get("file")]
    return found[-1] if found else None


def latest_file(
    uai: str,
    export: IdentifiersFile | None,
    record: SessionRecord | None,
    schema: FileSchema | None,
    mode: str | None = None,
) -> tuple[FileInfo, IdentifiersFile | None]:
    """The file to compare with: the one given, else the last import's if still readable."""
    if export is not None:
        return FileInfo("given", str(export.path), mode=mode or "complet"), export
    if record is None:
        return FileInfo("none"), None
    path = Path(record.header["file"])
    recorded_mode = mode or record.header.get("mode", "complet")
    try:
        read = read_identifiers_file(path, schema)
    except (IdpronoteError, OSError) as error:
        return FileInfo("unreadable", str(path), record.session, error=str(error)), None
    expected = record.header.get("file_sha256")
    changed = bool(expected) and file_digest(path) != expected
    return FileInfo("journal", str(path), record.session, changed, mode=recorded_mode), read


def same_names(p: PronoteAccount | DirectoryAccount, a: DirectoryAccount) -> bool:
    """Same surname and first name once normalised (or the two swapped)."""
    ps, pf = compact_name(p.surname), compact_name(p.first_name)
    as_, af = compact_name(a.surname), compact_name(a.first_name)
    return bool(ps) and ((ps, pf) == (as_, af) or (ps, pf) == (af, as_))


def _fits(p: PronoteAccount | DirectoryAccount, a: DirectoryAccount) -> bool:
    """Same names, and the same birth date where both have one."""
    return same_names(p, a) and dates_compatible(p.birth_date, a.birth_date)


@dataclass
class _Context:
    """What explain reads once for an establishment."""

    uai: str
    directory: Directory
    accounts: list[DirectoryAccount]
    by_login: dict[str, DirectoryAccount]
    file: FileInfo
    export: IdentifiersFile | None
    decisions: list[Decision]
    record: SessionRecord | None

    @property
    def by_idpn(self) -> dict[str, PronoteAccount]:
        return self.export.by_idpn() if self.export is not None else {}

    @property
    def in_file(self) -> set[str] | None:
        return set(self.by_idpn) if self.export is not None else None

    def account(self, login: str) -> DirectoryAccount | None:
        return self.by_login.get(login.casefold())

    def stored(self, account: DirectoryAccount) -> list[str]:
        return self.directory.form.idpns_for(account.identifiers, self.uai)

    def decision_of(self, idpn: str) -> Decision | None:
        return next((d for d in self.decisions if d.pronote.idpn == idpn), None)


def _context(
    directory: Directory,
    uai: str,
    export: IdentifiersFile | None,
    data_dir: Path | None,
    mode: str | None,
    settings: MatchSettings | None,
    schema: FileSchema | None,
) -> _Context:
    record = last_import(data_dir, uai)
    info, export = latest_file(uai, export, record, schema, mode)
    accounts = directory.accounts(uai)
    decisions: list[Decision] = []
    if export is not None:
        remembered = DecisionMemory(data_dir).remembered(uai) if data_dir is not None else {}
        reconciliation = Reconciliation(
            uai,
            accounts,
            form=directory.form,
            profiles=directory.profiles,
            mode=info.mode if info.mode in ("complet", "partiel") else "complet",
            settings=settings,
            remembered=remembered,
        )
        decisions = [d for step in reconciliation.run(export.accounts) for d in step.decisions]
    by_login = {a.login.casefold(): a for a in accounts}
    return _Context(uai, directory, accounts, by_login, info, export, decisions, record)


def _stored_per_uai(directory: Directory, account: DirectoryAccount) -> dict[str, list[str]]:
    """Identifiers stored on an account, per establishment (all its establishments)."""
    found: dict[str, list[str]] = {}
    for value in account.identifiers:
        parsed = directory.form.parse(value)
        if parsed is None:
            continue
        where, idpn = parsed
        found.setdefault(where or "*", []).append(idpn)
    return found


def _base(query: str, ctx: _Context, accounts: list[DirectoryAccount]) -> Explanation:
    """An explanation with the facts filled in; the caller sets the cause and action."""
    explanation = Explanation(query, ctx.uai, "", Action("none"), file=ctx.file)
    explanation.accounts = accounts
    explanation.stored = {a.login: _stored_per_uai(ctx.directory, a) for a in accounts}
    explanation.last_import = ctx.record
    explanation.file_ids = ctx.in_file
    return explanation


def _related(
    ctx: _Context, account: DirectoryAccount
) -> tuple[list[Decision], list[Decision], list[Decision]]:
    """The decisions about this account: recognised to it, unrecognised with it as a
    same-names candidate, unrecognised with it as another candidate."""
    key = account.login.casefold()
    strong, same, weak = [], [], []
    for d in ctx.decisions:
        if d.recognised and d.login and d.login.casefold() == key:
            strong.append(d)
        elif not d.recognised and key in {c.casefold() for c in d.candidates}:
            (same if same_names(d.pronote, account) else weak).append(d)
    return strong, same, weak


def _plausible(ctx: _Context, d: Decision) -> list[DirectoryAccount]:
    """The candidates of a decision that have the Pronote record's names, and its birth
    date where both have one (a namesake born another year is another person)."""
    found = []
    for login in d.candidates:
        candidate = ctx.account(login)
        if candidate is not None and _fits(d.pronote, candidate):
            found.append(candidate)
    if found:
        return found
    # Only other dates: homonyms, or a typo of the date; a human tells.
    return [
        c
        for login in d.candidates
        if (c := ctx.account(login)) is not None and same_names(d.pronote, c)
    ]


def _unique(decisions: Iterable[Decision]) -> list[Decision]:
    seen: dict[str, Decision] = {}
    for d in decisions:
        seen.setdefault(d.pronote.idpn, d)
    return list(seen.values())


def _left(record: SessionRecord | None, idpns: set[str]) -> list[dict[str, Any]]:
    """What the last import left unlinked, for these identifiers (rule, reason, candidates)."""
    if record is None:
        return []
    return [
        {**entry, "category": step}
        for step, entries in record.remaining.items()
        for entry in entries
        if entry.get("idpn") in idpns
    ]
