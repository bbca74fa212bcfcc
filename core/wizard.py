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

The session is split by concern; this module is the one most code imports and
re-exports the rest: core/wizard_state.py (StepState, Plan, errors),
core/wizard_drafts.py (the journaled manual choices), core/wizard_validate.py
(validate, interrupt), core/wizard_writes.py (journaled writes, undo, link and
unlink of single accounts).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.directory import Directory
from core.errors import DirectoryError, IdpronoteError
from core.i18n import t
from core.journal import (
    Journal,
    JournalDamaged,
    SessionBlocked,
    SessionRecord,
    blocking_session,
    change_from_json,
    change_key,
    new_session_id,
    operator,
    read_session,
    refuse_if_blocked,
)
from core.lease import EstablishmentHold
from core.matching import Decision, MatchSettings, Reconciliation, children_of
from core.memory import DecisionMemory
from core.model import (
    CATEGORIES,
    SLUGS,
    WRITTEN_BEFORE_THE_CUT,
    Category,
    ChangeKind,
    ChangeOutcome,
    DirectoryAccount,
    IdentifierChange,
    PronoteAccount,
)
from core.pronote_file import IdentifiersFile
from core.wizard_drafts import Decisions
from core.wizard_state import (
    NOT_PROPOSED,
    LinkRefused,
    Plan,
    SessionCut,
    StepState,
    file_digest,
)
from core.wizard_validate import Validation
from core.wizard_writes import (
    _apply,
    _backup_before_next_write,
    _claim,
    _send,
    link_account,
    undo_session,
    unlink_account,
)

__all__ = [
    "ImportSession",
    "LinkRefused",
    "Plan",
    "SessionCut",
    "StepState",
    "file_digest",
    "link_account",
    "undo_session",
    "unlink_account",
]


class ImportSession(Decisions, Validation):
    """One import of one establishment, six steps in order."""

    def __init__(
        self,
        directory: Directory,
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
        remembered = self.memory.remembered(self.uai) if self.memory else {}
        self.reconciliation = Reconciliation.from_directory(
            directory, self.uai, mode=mode, settings=settings, remembered=remembered
        )
        self.steps = list(steps)
        self.index = 0
        self.states: dict[Category, StepState] = {}
        self.in_file = {p.idpn for p in export.all_accounts()}
        self.journal: Journal | None = None
        # This machine's lock on the establishment, and the directory's lease if it holds one.
        self.lock: EstablishmentHold | None = None
        self.ended: str | None = None
        # What a resume made of the current step's draft: choices replayed, and one
        # line per choice dropped because it no longer makes sense.
        self.draft_restored = 0
        self.draft_notes: list[str] = []
        # The interrupted session this one resumes (`resume`), None for a new one.
        self.resumed_from: SessionRecord | None = None
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
        session = new_session_id()
        self.lock = EstablishmentHold(self.directory, self.data_dir, self.uai).acquire(session)
        try:
            # Under the lock: a cut or damaged session of the establishment comes first.
            refuse_if_blocked(self.data_dir, self.uai)
            _backup_before_next_write(self.directory, True)
            self.journal = Journal.create(
                self.data_dir,
                uai=self.uai,
                kind="import",
                session=session,
                header=self._header(),
            )
            self.lock.journal_takeover(self.journal)
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

    # -- many decisions at once (issue 16: big steps) ------------------------------------------

    def proposals(self) -> list[tuple[str, str]]:
        """(idpn, login): the step's unrecognised accounts whose search proposes one account.

        The search dialog marks ★ the candidates matching listed; these are the
        records that list exactly one, still unlinked. Left out, for the admin
        to look at one by one: conflicts (an identifier stored on someone else
        already), an account proposed to two records of the step (twins,
        duplicates: linking one would be a guess), and an account the step
        links already. What `link` would refuse is refused by `decide_many`.
        """
        state = self.current
        taken = {login.casefold() for login in state.links().values()}
        proposed: dict[str, list[str]] = {}
        for d in state.match.unrecognised:
            if len(d.candidates) == 1 and d.rule not in NOT_PROPOSED:
                proposed.setdefault(d.candidates[0].casefold(), []).append(d.pronote.idpn)
        # The other records that name the account at all (in a longer list) count too.
        named: dict[str, int] = {}
        for d in state.match.unrecognised:
            for login in {c.casefold() for c in d.candidates}:
                named[login] = named.get(login, 0) + 1
        found = []
        for d in state.match.unrecognised:
            idpn = d.pronote.idpn
            if len(d.candidates) != 1 or d.rule in NOT_PROPOSED or state.link_of(idpn):
                continue
            key = d.candidates[0].casefold()
            if key in taken or named.get(key, 0) > 1:
                continue
            found.append((idpn, d.candidates[0]))
        return found

    def fuzzy_links(self) -> list[str]:
        """The idpns recognised by the `fuzzy` rule whose automatic link still applies."""
        state = self.current
        return [
            d.pronote.idpn
            for d in state.match.recognised
            if d.rule == "fuzzy"
            and d.pronote.idpn not in state.manual
            and d.pronote.idpn not in state.rejected
        ]

    def decide_many(
        self, links: Sequence[tuple[str, str]] = (), rejects: Sequence[str] = ()
    ) -> list[tuple[str, str]]:
        """Links and rejections in bulk, each through `link` and `clear` as if made one by
        one (same checks, same journal); returns (idpn, why) of the links refused."""
        refused = []
        for idpn, login in links:
            try:
                self.link(idpn, login)
            except LinkRefused as error:
                refused.append((idpn, str(error)))
        for idpn in rejects:
            self.clear(idpn)
        return refused

    def link_check(self, idpn: str) -> Any:
        """For the search dialog, before Enter: a function telling, for a directory
        account, why linking `idpn` to it would be refused or would replace a value.

        "taken": another record of the step links to it; "holds": it stores
        another identifier of the establishment that `link` refuses to
        replace; "replaces": it stores an identifier the file no longer holds
        (complete mode), which the link replaces; None: nothing in the way.
        """
        state = self.current
        taken = {login.casefold(): other for other, login in state.links().items() if other != idpn}
        form = self.directory.form

        def check(account: DirectoryAccount) -> str | None:
            if account.login.casefold() in taken:
                return "taken"
            stored = [s for s in form.idpns_for(self._stored(account), self.uai) if s != idpn]
            if not stored:
                return None
            if self.mode == "partiel" or any(s in self.in_file for s in stored):
                return "holds"
            return "replaces"

        return check

    def children_in_file(self, guardian: PronoteAccount) -> list[tuple[PronoteAccount, str | None]]:
        """A guardian's children as the file has them, each with the account the
        students' step links it to (None: not linked)."""
        if not guardian.file_key:
            return []
        students = [
            s
            for s in self.export.accounts.get(Category.ELEVES, ())
            if guardian.file_key in s.guardian_keys
        ]
        if not students:
            return []
        state = self.states.get(Category.ELEVES)
        return [(s, state.link_of(s.idpn) if state is not None else None) for s in students]

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

    # -- reports -----------------------------------------------------------------------------

    def step_counts(self) -> dict[str, dict[str, int]]:
        """Per step slug: written, refused, left unlinked, counted from the journal, so
        the steps validated before a resume count as much as those after it (a dry
        run, with no journal, counts what it holds)."""
        if self.journal is not None and self.journal.path.exists():
            record = read_session(self.journal.path)
            counts = record.step_counts()
            none = {"written": 0, "failed": 0, "left": 0}
            return {step: counts.get(step, dict(none)) for step in record.steps_done}
        found = {}
        for category, state in self.states.items():
            if state.validated:
                outcomes = state.outcomes or []
                found[category.slug] = {
                    "written": sum(1 for o in outcomes if o.wrote),
                    "failed": sum(1 for o in outcomes if not o.applied),
                    "left": sum(
                        1 for d in state.match.decisions if not state.link_of(d.pronote.idpn)
                    ),
                }
        return found

    def written(self, state: StepState) -> set[str]:
        """Identifiers of this step that are stored on their linked account now."""
        found = set()
        for idpn, login in state.links().items():
            if self._stored_idpn(login) == idpn:
                found.add(idpn)
        return found

    def stored_now(self, login: str) -> tuple[str, ...]:
        """The establishment's identifiers on an account, as read and then written here."""
        account = self._account(login)
        if account is None:
            return ()
        return tuple(self.directory.form.idpns_for(self._stored(account), self.uai))

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
        directory: Directory,
        record: SessionRecord,
        export: IdentifiersFile,
        *,
        data_dir: Path,
        settings: MatchSettings | None = None,
    ) -> ImportSession:
        """Continue a cut or interrupted session: settle what may be half-written, go on.

        First the batches journaled as intended with no outcome are sent
        again, then the changes whose last outcome was a failure of the
        directory itself. Replaying is idempotent: a change already in effect
        is reported applied without being written again, and counts as
        written by this session (it intended it, and the directory shows it).
        """
        if record.damaged:
            raise JournalDamaged(record.damage_message())
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
        session.resumed_from = record
        session.lock = EstablishmentHold(directory, data_dir, record.uai)
        session.lock.acquire(record.session)
        try:
            other = blocking_session(data_dir, record.uai)
            if other is not None and other.damaged:
                raise SessionBlocked(other.damage_message())
            session.journal = Journal.reopen(record)
            session.journal.resumed(dropped=record.torn)
            session.lock.journal_takeover(session.journal)
            # A file keeps the backup taken before this session's first write.
            _backup_before_next_write(directory, not record.written())
            done = list(record.steps_done)
            replayed: dict[str, list[ChangeOutcome]] = {}
            for batch, step, changes, manual in record.pending():
                outcomes = session._replay(step, changes, manual, batch=batch)
                replayed.setdefault(step, []).extend(outcomes)
                if step not in done and step in SLUGS:
                    # The batch was the step's whole write set: replayed, it is done.
                    session._step_done(
                        Category.from_slug(step), outcomes, record.remaining.get(step, [])
                    )
                    done.append(step)
            session._settle(read_session(record.path), done, replayed)
        except BaseException:
            session.close()
            raise
        session.index = next(
            (i for i, c in enumerate(session.steps) if c.slug not in done), len(session.steps)
        )
        for category in session.steps[: session.index]:
            # What this resume wrote of a step shows in its report; earlier writes do not.
            session.state(category).outcomes = replayed.get(category.slug, [])
        if session.index >= len(session.steps):
            session._end("completed")
        session._replay_draft(record)
        return session

    def _settle(
        self, record: SessionRecord, done: list[str], replayed: dict[str, list[ChangeOutcome]]
    ) -> None:
        """Try again, step by step, the changes whose last outcome was the directory failing."""
        by_step: dict[str, list[dict[str, Any]]] = {}
        for step, outcome in record.unsettled():
            by_step.setdefault(step, []).append(outcome)
        manual: dict[str, dict[str, str]] = {}
        for intent in record.intents.values():
            manual.setdefault(intent["step"], {}).update(intent.get("manual", {}))
        order = {slug: i for i, slug in enumerate(SLUGS)}
        for step in sorted(by_step, key=lambda s: order.get(s, len(order))):
            failed = by_step[step]
            # Sent but never confirmed: if it is there now, this session put it there.
            claimable = {change_key(o) for o in failed if o.get("failure") == "unconfirmed"}
            changes = [change_from_json(o) for o in failed]
            outcomes = self._replay(step, changes, manual.get(step, {}), claimable=claimable)
            replayed.setdefault(step, []).extend(outcomes)
            if step not in done and step in SLUGS:
                self._step_done(Category.from_slug(step), outcomes, record.remaining.get(step, []))
                done.append(step)

    def _replay(
        self,
        step: str,
        changes: list[IdentifierChange],
        manual: dict[str, str],
        *,
        batch: int | None = None,
        claimable: set[tuple] | None = None,
    ) -> list[ChangeOutcome]:
        """Send again what the journal says this session meant to write.

        `batch`: an intent without outcome, whose outcome this completes;
        otherwise a new batch of retries, of which `claimable` (change keys)
        count as written by this session when found already in effect.
        """
        try:
            if batch is None:
                outcomes = _send(self.journal, self.directory, step, changes, manual, retry=True,
                                 claimable=claimable or set(), hold=self.lock)  # fmt: skip
            else:
                if self.lock is not None:
                    self.lock.check()
                outcomes = _claim(_apply(self.directory, changes, self.journal, batch), None)
                if self.journal is not None:
                    self.journal.outcome(batch, step, outcomes)
        except DirectoryError as error:
            self._cut_unknown(step, error)
        self._learn(outcomes)
        self._remember(manual)
        if any(o.reason == WRITTEN_BEFORE_THE_CUT for o in outcomes):
            _backup_before_next_write(self.directory, False)  # the backup was taken then
        self._stop_if_cut(step, outcomes)
        return outcomes
