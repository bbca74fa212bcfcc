"""The six-step import session: what the wizard shows, what Validate writes.

An `ImportSession` holds the establishment, the mode, the identifiers file
and the directory, and walks the six categories in their fixed order. For
the current step it keeps the matching decisions, the admin's manual links,
the automatic links they rejected and, in complete mode, the obsolete
identifiers they chose to keep. `validate()` computes the step's change set,
journals it, writes it, journals the outcome, remembers the manual links and
moves on; `interrupt()` ends the session, keeping what earlier steps wrote.

The TUI and the headless `apply` drive this class; neither holds logic of
its own. Nothing here imports Textual or an adapter: the directory is any
object with the `Directory` protocol.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import IdpronoteError
from core.i18n import t
from core.journal import EstablishmentLock, Journal, SessionRecord, new_session_id, operator
from core.matching import Decision, MatchSettings, Reconciliation, StepMatch, children_of
from core.memory import DecisionMemory
from core.model import (
    CATEGORIES,
    Category,
    ChangeKind,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
)
from core.pronote_file import IdentifiersFile

__all__ = [
    "ImportSession",
    "LinkRefused",
    "Plan",
    "StepState",
    "link_account",
    "undo_session",
    "unlink_account",
]


class LinkRefused(IdpronoteError):
    """A manual link that would break a rule (the message says which)."""


@dataclass
class Plan:
    """What validating the current step would write, and what it cannot."""

    changes: list[IdentifierChange] = field(default_factory=list)
    # (idpn or login, reason) for links that will not be written.
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def of_kind(self, kind: ChangeKind) -> list[IdentifierChange]:
        return [c for c in self.changes if c.kind is kind]


@dataclass
class StepState:
    """One step as the admin shapes it before validating."""

    category: Category
    match: StepMatch
    manual: dict[str, str] = field(default_factory=dict)  # idpn -> login
    rejected: set[str] = field(default_factory=set)  # idpns whose automatic link is refused
    kept: set[tuple[str, str]] = field(default_factory=set)  # obsolete (login, idpn) to keep
    outcomes: list[ChangeOutcome] | None = None  # once validated
    skipped: bool = False

    @property
    def validated(self) -> bool:
        return self.outcomes is not None

    # idpn -> decision, built on first use for the match it was built from: a step of
    # 10,000 accounts asked once per account scanned 10,000 decisions each time.
    _index: dict[str, Decision] | None = field(default=None, repr=False, compare=False)
    _indexed_for: StepMatch | None = field(default=None, repr=False, compare=False)

    def decision(self, idpn: str) -> Decision:
        if self._index is None or self._indexed_for is not self.match:
            index: dict[str, Decision] = {}
            for d in self.match.decisions:
                index.setdefault(d.pronote.idpn, d)
            self._index, self._indexed_for = index, self.match
        try:
            return self._index[idpn]
        except KeyError:
            raise KeyError(idpn) from None

    def link_of(self, idpn: str) -> str | None:
        """The account this Pronote account will be written to, if any."""
        if idpn in self.manual:
            return self.manual[idpn]
        if idpn in self.rejected:
            return None
        decision = self.decision(idpn)
        return decision.login if decision.recognised else None

    def links(self) -> dict[str, str]:
        found = {}
        for d in self.match.decisions:
            login = self.link_of(d.pronote.idpn)
            if login:
                found[d.pronote.idpn] = login
        return found

    def source(self, idpn: str) -> str | None:
        if idpn in self.manual:
            return "manual"
        return "auto" if self.link_of(idpn) else None


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ImportSession:
    """One import of one establishment, six steps in order."""

    def __init__(
        self,
        directory: Any,
        export: IdentifiersFile,
        *,
        uai: str,
        mode: str,
        data_dir: Path | None,
        settings: MatchSettings | None = None,
        steps: Sequence[Category] = CATEGORIES,
    ) -> None:
        self.directory = directory
        self.export = export
        self.uai = uai.upper()
        self.mode = mode
        self.data_dir = data_dir
        self.memory = DecisionMemory(data_dir) if data_dir else None
        remembered = self.memory.links(self.uai) if self.memory else {}
        self.reconciliation = Reconciliation.from_directory(
            directory, self.uai, mode=mode, settings=settings, remembered=remembered
        )
        self.steps = list(steps)
        self.index = 0
        self.states: dict[Category, StepState] = {}
        self.in_file = {p.idpn for p in export.all_accounts()}
        self.journal: Journal | None = None
        self.lock: EstablishmentLock | None = None
        self.ended: str | None = None
        # What each account stores, as read at the start and updated by our writes.
        self._values: dict[str, tuple[str, ...]] = {
            a.login.casefold(): a.identifiers for a in self.reconciliation.accounts
        }

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def session(self) -> str | None:
        return self.journal.session if self.journal else None

    def start(self) -> ImportSession:
        """Take the establishment's lock and open the journal (not for dry runs)."""
        if self.data_dir is None:
            return self
        self.lock = EstablishmentLock(self.data_dir, self.uai)
        session = new_session_id()
        self.lock.acquire(session)
        try:
            self.journal = Journal.create(
                self.data_dir,
                uai=self.uai,
                kind="import",
                session=session,
                header=self._header(),
            )
        except BaseException:
            self.lock.release()
            raise
        return self

    def _header(self) -> dict[str, Any]:
        path = Path(self.export.path)
        # The digest of the bytes read (the envelope itself, for an envelope), not of
        # what the file holds now; the decrypted content is never written anywhere.
        digest = self.export.sha256 or (file_digest(path) if path.is_file() else None)
        envelope = self.export.envelope
        return {
            "mode": self.mode,
            "file": str(path),
            "file_sha256": digest,
            "file_format": self.export.format,
            "envelope": None
            if envelope is None
            else {"sha256": digest, "partner": envelope.partner, "date": envelope.date},
            "directory": self.directory.describe(),
            "operator": operator(getattr(self.directory, "identity", None)),
        }

    def close(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def __enter__(self) -> ImportSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the current step ------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.ended is not None

    @property
    def category(self) -> Category:
        return self.steps[self.index]

    @property
    def current(self) -> StepState:
        return self.state(self.category)

    def state(self, category: Category) -> StepState:
        """A step's state, matched when first asked for (guardians after students)."""
        found = self.states.get(category)
        if found is None:
            children = {}
            if category is Category.RESPONSABLES:
                # Guardians are recognised through the students' links as the
                # admin left them (automatic and manual).
                students = self.export.accounts.get(Category.ELEVES, ())
                by_idpn = self.state(Category.ELEVES).links() if students else {}
                logins = {
                    s.file_key: by_idpn[s.idpn]
                    for s in students
                    if s.file_key and s.idpn in by_idpn
                }
                children = children_of(students, logins)
            match = self.reconciliation.step(
                category,
                self.export.accounts.get(category, ()),
                in_file=self.in_file,
                children=children,
            )
            found = self.states[category] = StepState(category, match)
        return found

    def _require_open(self) -> None:
        if self.finished:
            raise IdpronoteError(t("wizard.ended"))

    # -- the admin's decisions -----------------------------------------------------------------

    def link(self, idpn: str, login: str) -> DirectoryAccount:
        """Link a Pronote account of the current step to a directory account by hand."""
        self._require_open()
        state = self.current
        try:
            state.decision(idpn)
        except KeyError:
            raise LinkRefused(t("wizard.not_in_step", idpn=idpn)) from None
        account = self.directory.get(login)
        if account is None:
            raise LinkRefused(t("wizard.no_account", login=login))
        key = account.login.casefold()
        others = [
            h.login for h in self.directory.holders(idpn, self.uai) if h.login.casefold() != key
        ]
        if others:
            raise LinkRefused(
                t("wizard.stored_elsewhere", idpn=idpn, accounts=", ".join(sorted(others)))
            )
        for other, target in state.links().items():
            if other != idpn and target.casefold() == key:
                raise LinkRefused(t("wizard.taken_in_step", login=account.login, idpn=other))
        stored = [
            s for s in self.directory.form.idpns_for(self._stored(account), self.uai) if s != idpn
        ]
        if stored and (self.mode == "partiel" or any(s in self.in_file for s in stored)):
            raise LinkRefused(
                t("wizard.account_holds", login=account.login, stored=", ".join(stored))
            )
        state.manual[idpn] = account.login
        state.rejected.discard(idpn)
        return account

    def clear(self, idpn: str) -> None:
        """Undo a manual link, or refuse the automatic one: the account stays unlinked."""
        self._require_open()
        state = self.current
        state.manual.pop(idpn, None)
        decision = state.decision(idpn)
        if decision.recognised:
            state.rejected.add(idpn)

    def restore(self, idpn: str) -> None:
        """Take back a rejection: the automatic link applies again."""
        self._require_open()
        self.current.rejected.discard(idpn)

    def keep_obsolete(self, login: str, idpn: str, keep: bool = True) -> None:
        self._require_open()
        if keep:
            self.current.kept.add((login, idpn))
        else:
            self.current.kept.discard((login, idpn))

    # -- what Validate writes ---------------------------------------------------------------------

    def _stored(self, account: DirectoryAccount) -> tuple[str, ...]:
        return self._values.get(account.login.casefold(), account.identifiers)

    def _account(self, login: str) -> DirectoryAccount | None:
        return self.reconciliation.by_login(login) or self.directory.get(login)

    def plan(self, state: StepState | None = None) -> Plan:
        """The change set of a step: adds, replacements and (complete mode) removals."""
        state = state or self.current
        plan = Plan()
        form = self.directory.form
        targets: set[str] = set()
        for idpn, login in state.links().items():
            account = self._account(login)
            if account is None:
                plan.skipped.append((idpn, t("wizard.no_account", login=login)))
                continue
            targets.add(account.login.casefold())
            stored = form.idpns_for(self._stored(account), self.uai)
            if idpn in stored:
                continue  # already written: nothing to do
            if not stored:
                plan.changes.append(
                    IdentifierChange(account.login, self.uai, ChangeKind.ADD, idpn, None)
                )
            elif self.mode == "complet":
                plan.changes.append(
                    IdentifierChange(account.login, self.uai, ChangeKind.REPLACE, idpn, stored[0])
                )
            else:
                plan.skipped.append(
                    (idpn, t("wizard.account_holds", login=account.login, stored=stored[0]))
                )
        if self.mode == "complet":
            for obsolete in state.match.obsolete:
                login = obsolete.account.login
                if (login, obsolete.idpn) in state.kept or login.casefold() in targets:
                    continue
                plan.changes.append(
                    IdentifierChange(login, self.uai, ChangeKind.REMOVE, None, obsolete.idpn)
                )
        return plan

    def mass_removal(self, category: Category) -> tuple[int, int] | None:
        """(removals, stored) when validating `category` would remove more than half of
        the identifiers its accounts store for the establishment; else None.

        A collège loses about a quarter of its students a year: half of them
        gone at once is a wrong or truncated file, not a new school year.
        """
        if self.mode != "complet":
            return None
        removals = len(self.plan(self.state(category)).of_kind(ChangeKind.REMOVE))
        stored = sum(
            len(self.reconciliation.stored_for(a))
            for a in self.reconciliation.candidates_of(category)
        )
        if removals and removals * 2 > stored:
            return removals, stored
        return None

    def validate(self) -> list[ChangeOutcome]:
        """Write the current step, journaled before and after, then move on."""
        self._require_open()
        state = self.current
        plan = self.plan(state)
        outcomes = self._write(state.category, plan.changes, state.manual)
        state.outcomes = outcomes
        self._remember(state.manual)
        self._step_done(state.category, outcomes, self._left(state))
        self._advance()
        return outcomes

    def _remember(self, manual: dict[str, str]) -> None:
        """Manual links that are stored now are recognised by the next import."""
        if self.memory is not None:
            stored = {i: login for i, login in manual.items() if self._stored_idpn(login) == i}
            self.memory.remember(self.uai, stored, self.session)

    @staticmethod
    def _left(state: StepState) -> list[dict[str, Any]]:
        """The step's accounts left without a link: the school's to-do list."""
        left = []
        for d in state.match.decisions:
            if state.link_of(d.pronote.idpn):
                continue
            p = d.pronote
            left.append({
                "idpn": p.idpn, "nom": p.surname, "prenom": p.first_name,
                "date_naissance": p.birth_date.isoformat() if p.birth_date else None,
                "classe": p.class_name, "rule": d.rule, "reason": d.why or d.rule,
                "candidates": list(d.candidates),
            })  # fmt: skip
        return left

    def _step_done(
        self, category: Category, outcomes: list[ChangeOutcome], left: list[dict[str, Any]]
    ) -> None:
        if self.journal is not None:
            self.journal.step_done(
                category.slug,
                {
                    "written": sum(1 for o in outcomes if o.wrote),
                    "failed": sum(1 for o in outcomes if not o.applied),
                    "unrecognised": len(left),
                    "remaining": left,
                },
            )

    def skip(self) -> None:
        """Move on without writing this step (headless `--steps`)."""
        self._require_open()
        self.current.skipped = True
        if self.journal is not None:
            self.journal.step_done(self.category.slug, {"skipped": 1})
        self._advance()

    def _write(
        self,
        category: Category,
        changes: list[IdentifierChange],
        manual: dict[str, str] | None = None,
    ) -> list[ChangeOutcome]:
        if not changes:
            return []
        batch = self.journal.intent(category.slug, changes, manual) if self.journal else 0
        # If apply raises (DirectoryError), what reached the server is unknown:
        # the intent stays without an outcome, and resuming replays it safely.
        outcomes = self.directory.apply(changes)
        if self.journal is not None:
            self.journal.outcome(batch, category.slug, outcomes)
        self._learn(outcomes)
        return outcomes

    def _learn(self, outcomes: Iterable[ChangeOutcome]) -> None:
        form = self.directory.form
        for outcome in outcomes:
            if outcome.wrote:
                change = outcome.change
                key = change.login.casefold()
                account = self._account(change.login)
                current = self._values.get(key, account.identifiers if account else ())
                self._values[key] = form.apply(current, change)

    def _stored_idpn(self, login: str) -> str | None:
        account = self._account(login)
        if account is None:
            return None
        stored = self.directory.form.idpns_for(self._stored(account), self.uai)
        return stored[0] if stored else None

    def _advance(self) -> None:
        if self.index + 1 < len(self.steps):
            self.index += 1
        else:
            self._end("completed")

    def interrupt(self) -> None:
        """Stop here: earlier validated steps stay written, later ones are not touched."""
        if not self.finished:
            self._end("interrupted")

    def _end(self, outcome: str) -> None:
        self.ended = outcome
        if self.journal is not None:
            self.journal.end(outcome)
        self.close()

    # -- reports -----------------------------------------------------------------------------

    def written(self, state: StepState) -> set[str]:
        """Identifiers of this step that are stored on their linked account now."""
        found = set()
        for idpn, login in state.links().items():
            if self._stored_idpn(login) == idpn:
                found.add(idpn)
        return found

    def remaining(self) -> list[tuple[Category, Decision]]:
        """Accounts left without a link, over the steps seen so far."""
        return [
            (category, d)
            for category, state in self.states.items()
            for d in state.match.decisions
            if not state.link_of(d.pronote.idpn)
        ]

    # -- resume ---------------------------------------------------------------------------------

    @classmethod
    def resume(
        cls,
        directory: Any,
        record: SessionRecord,
        export: IdentifiersFile,
        *,
        data_dir: Path,
        settings: MatchSettings | None = None,
    ) -> ImportSession:
        """Continue a cut or interrupted session: replay what may be half-written, go on.

        Replaying is idempotent: a change already in effect is reported
        applied without being written again.
        """
        expected = record.header.get("file_sha256")
        if expected and Path(export.path).is_file() and file_digest(Path(export.path)) != expected:
            raise IdpronoteError(t("wizard.resume_other_file", session=record.session))
        session = cls(
            directory,
            export,
            uai=record.uai,
            mode=record.header.get("mode", "complet"),
            data_dir=data_dir,
            settings=settings,
        )
        session.lock = EstablishmentLock(data_dir, record.uai)
        session.lock.acquire(record.session)
        session.journal = Journal.reopen(record)
        if record.ended is not None:
            session.journal.resumed()  # an interrupted session goes on
        try:
            done = set(record.steps_done)
            for batch, step, changes, manual in record.pending():
                outcomes = directory.apply(changes)
                session.journal.outcome(batch, step, outcomes)
                session._learn(outcomes)
                session._remember(manual)
                if step not in done:
                    # The batch was the step's whole write set: replayed, it is done.
                    session._step_done(Category.from_slug(step), outcomes, [])
                    done.add(step)
            retry = [
                IdentifierChange(
                    o["login"], o["uai"], ChangeKind(o["kind"]), o["idpn"], o["previous"]
                )
                for batch in sorted(record.outcomes)
                for o in record.outcomes[batch]["outcomes"]
                if o.get("failure") in ("unconfirmed", "error")
            ]
            if retry:
                step = record.outcomes[max(record.outcomes)]["step"]
                session._write(Category.from_slug(step), retry)
        except BaseException:
            session.close()
            raise
        session.index = next(
            (i for i, c in enumerate(session.steps) if c.slug not in done), len(session.steps)
        )
        for category in session.steps[: session.index]:
            session.state(category).outcomes = []
        if session.index >= len(session.steps):
            session._end("completed")
        return session


def undo_session(directory: Any, record: SessionRecord, *, data_dir: Path) -> list[ChangeOutcome]:
    """Restore what a session found before it wrote; journaled as a session of its own."""
    changes = []
    for o in reversed(record.written()):
        kind = ChangeKind(o["kind"])
        previous, idpn = o.get("previous"), o.get("idpn")
        if kind is ChangeKind.REMOVE:
            changes.append(IdentifierChange(o["login"], o["uai"], ChangeKind.ADD, previous, None))
        elif previous is None:
            changes.append(IdentifierChange(o["login"], o["uai"], ChangeKind.REMOVE, None, idpn))
        else:
            changes.append(
                IdentifierChange(o["login"], o["uai"], ChangeKind.REPLACE, previous, idpn)
            )
    lock = EstablishmentLock(data_dir, record.uai)
    session = new_session_id()
    with lock.held(session):
        journal = Journal.create(
            data_dir,
            uai=record.uai,
            kind="undo",
            session=session,
            header={
                "undo_of": record.session,
                "directory": directory.describe(),
                "operator": operator(getattr(directory, "identity", None)),
            },
        )
        outcomes: list[ChangeOutcome] = []
        if changes:
            batch = journal.intent("undo", changes)
            outcomes = directory.apply(changes)
            journal.outcome(batch, "undo", outcomes)
        journal.end("completed" if all(o.applied for o in outcomes) else "partial")
    return outcomes


def unlink_account(
    directory: Any, uai: str, login: str, idpn: str, *, data_dir: Path | None
) -> ChangeOutcome:
    """Remove one account's identifier for an establishment, journaled as a session.

    Like every write, it takes the establishment's lock and can be undone.
    A manual link remembered for that identifier and account is forgotten
    too: otherwise the next import would put back, as `remembered`, the very
    link an admin just removed.
    """
    change = IdentifierChange(login, uai.upper(), ChangeKind.REMOVE, None, idpn)
    if data_dir is None:
        (outcome,) = directory.apply([change])
        return outcome
    session = new_session_id()
    with EstablishmentLock(data_dir, uai.upper()).held(session):
        journal = Journal.create(
            data_dir,
            uai=uai.upper(),
            kind="import",
            session=session,
            header={
                "mode": "unlink",
                "directory": directory.describe(),
                "operator": operator(getattr(directory, "identity", None)),
            },
        )
        batch = journal.intent("unlink", [change])
        (outcome,) = directory.apply([change])
        journal.outcome(batch, "unlink", [outcome])
        journal.end("completed" if outcome.applied else "failed")
        if outcome.applied:
            memory = DecisionMemory(data_dir)
            remembered = memory.links(uai).get(idpn)
            if remembered is not None and remembered.casefold() == login.casefold():
                memory.forget(uai, idpn)
    return outcome


def link_account(
    directory: Any,
    uai: str,
    login: str,
    idpn: str,
    *,
    data_dir: Path | None,
    in_file: Iterable[str] | None = None,
    mode: str = "complet",
) -> ChangeOutcome:
    """Store one identifier on one account by hand, journaled as a session of its own.

    The checks of a manual link in the wizard apply (LinkRefused says which
    failed): the account exists, no other account holds the identifier for the
    establishment, and the account holds no other identifier of the
    establishment that the latest file (`in_file`) still uses; in partial mode,
    or when no file is known, it may hold none at all. Like `unlink_account`,
    it takes the establishment's lock and can be undone; the link is remembered
    as a manual one, so the next import recognises it (rule `remembered`).
    """
    uai = uai.upper()
    account = directory.get(login)
    if account is None:
        raise LinkRefused(t("wizard.no_account", login=login))
    key = account.login.casefold()
    others = [h.login for h in directory.holders(idpn, uai) if h.login.casefold() != key]
    if others:
        raise LinkRefused(
            t("wizard.stored_elsewhere", idpn=idpn, accounts=", ".join(sorted(others)))
        )
    held = directory.form.idpns_for(account.identifiers, uai)
    stored = [s for s in held if s != idpn]
    known = None if in_file is None else set(in_file)
    if stored and (mode == "partiel" or known is None or any(s in known for s in stored)):
        raise LinkRefused(t("wizard.account_holds", login=account.login, stored=", ".join(stored)))
    # A replacement only of a stale value; an identifier already there is an ADD in effect.
    kind = ChangeKind.REPLACE if stored else ChangeKind.ADD
    previous = stored[0] if stored else None
    change = IdentifierChange(account.login, uai, kind, idpn, previous)
    if data_dir is None:
        (outcome,) = directory.apply([change])
        return outcome
    session = new_session_id()
    with EstablishmentLock(data_dir, uai).held(session):
        journal = Journal.create(
            data_dir,
            uai=uai,
            kind="import",
            session=session,
            header={
                "mode": "link",
                "directory": directory.describe(),
                "operator": operator(getattr(directory, "identity", None)),
            },
        )
        batch = journal.intent("link", [change], {idpn: account.login})
        (outcome,) = directory.apply([change])
        journal.outcome(batch, "link", [outcome])
        journal.end("completed" if outcome.applied else "failed")
    if outcome.applied:
        DecisionMemory(data_dir).remember(uai, {idpn: account.login}, session)
    return outcome
