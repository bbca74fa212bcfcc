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
core/wizard_drafts.py (the journaled manual choices, one or many at once),
core/wizard_validate.py (validate, interrupt), core/wizard_resume.py (resume),
core/wizard_writes.py (journaled writes, undo, link and unlink of single
accounts); core/wizard_open.py opens a session.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.directory import Directory
from core.errors import IdpronoteError
from core.i18n import t
from core.journal import (
    Journal,
    SessionRecord,
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
    Category,
    ChangeKind,
    DirectoryAccount,
    IdentifierChange,
)
from core.pronote_file import IdentifiersFile
from core.wizard_drafts import Decisions
from core.wizard_resume import Resumption
from core.wizard_state import (
    LinkRefused,
    Plan,
    SessionCut,
    StepState,
    file_digest,
)
from core.wizard_validate import Validation
from core.wizard_writes import (
    _backup_before_next_write,
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


class ImportSession(Decisions, Validation, Resumption):
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
