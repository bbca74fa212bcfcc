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

import contextlib
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from core.errors import DirectoryError, IdpronoteError
from core.i18n import language, number, register, t
from core.journal import (
    Journal,
    JournalDamaged,
    SessionBlocked,
    SessionRecord,
    blocking_session,
    change_from_json,
    change_json,
    change_key,
    new_session_id,
    operator,
    read_session,
    refuse_if_blocked,
)
from core.lease import EstablishmentHold
from core.matching import Decision, MatchSettings, Reconciliation, StepMatch, children_of
from core.memory import DecisionMemory
from core.model import (
    ALREADY_IN_EFFECT,
    CATEGORIES,
    DIRECTORY_FAILURES,
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

__all__ = [
    "ImportSession",
    "LinkRefused",
    "Plan",
    "SessionCut",
    "StepState",
    "link_account",
    "undo_session",
    "unlink_account",
]

register(
    {
        "wizard.cut": (
            "l'annuaire a fait défaut pendant l'étape {step} ({reason}) ; sur {total} "
            "changement(s) : {written} écrit(s), {unsure} envoyé(s) sans confirmation, "
            "{unsent} non envoyé(s) ; la session {session} est coupée : quand l'annuaire "
            "répond de nouveau, reprenez-la avec idpronote apply {file} --resume (ou F5 "
            "dans l'assistant), qui vérifie et termine l'étape",
            "the directory failed during step {step} ({reason}); of {total} change(s): "
            "{written} written, {unsure} sent without confirmation, {unsent} not sent; "
            "session {session} is cut: once the directory works again, resume it with "
            "idpronote apply {file} --resume (or F5 in the wizard), which checks and "
            "finishes the step",
        ),
        "wizard.cut_unknown": (
            "l'annuaire a échoué pendant l'étape {step} ({reason}) ; la session {session} "
            "est coupée, ce qui a pu être écrit est au journal : quand l'annuaire répond "
            "de nouveau, reprenez-la avec idpronote apply {file} --resume (ou F5 dans "
            "l'assistant)",
            "the directory failed during step {step} ({reason}); session {session} is "
            "cut, and what may have been written is in its journal: once the directory "
            "works again, resume it with idpronote apply {file} --resume (or F5 in the "
            "wizard)",
        ),
    }
)


# Reasons whose single candidate is never proposed in bulk: a conflict names an
# identifier stored on someone already, the others an account the step cannot take.
NOT_PROPOSED = frozenset({"conflict", "duplicate_in_file", "account_taken"})
# progress(done, total): changes written so far of the step's write set.
Progress = Callable[[int, int], None]


class LinkRefused(IdpronoteError):
    """A manual link that would break a rule (the message says which)."""


class SessionCut(DirectoryError):
    """The directory failed in the middle of a step: the session stops, resumable."""


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

    @property
    def pending(self) -> int:
        """The admin's choices not yet validated: manual links, rejections, kept obsoletes."""
        if self.validated:
            return 0
        return len(self.manual) + len(self.rejected) + len(self.kept)


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

    # -- the admin's decisions -----------------------------------------------------------------

    def link(self, idpn: str, login: str) -> DirectoryAccount:
        """Link a Pronote account of the current step to a directory account by hand.

        Journaled (a draft of the step) before it takes effect: a crash, an
        interrupt or a closed terminal does not lose it; nothing is written
        to the directory before Validate.
        """
        self._require_open()
        state = self.current
        account = self._linkable(state, idpn, login)
        self._draft("link", idpn=idpn, login=account.login)
        state.manual[idpn] = account.login
        state.rejected.discard(idpn)
        return account

    def _linkable(self, state: StepState, idpn: str, login: str) -> DirectoryAccount:
        """The account `login`, if linking `idpn` to it by hand breaks no rule."""
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
        return account

    def clear(self, idpn: str) -> None:
        """Undo a manual link, or refuse the automatic one: the account stays unlinked."""
        self._require_open()
        state = self.current
        decision = state.decision(idpn)
        if idpn in state.manual or (decision.recognised and idpn not in state.rejected):
            self._draft("clear", idpn=idpn)
        state.manual.pop(idpn, None)
        if decision.recognised:
            state.rejected.add(idpn)

    def restore(self, idpn: str) -> None:
        """Take back a rejection: the automatic link applies again."""
        self._require_open()
        if idpn in self.current.rejected:
            self._draft("restore", idpn=idpn)
        self.current.rejected.discard(idpn)

    def keep_obsolete(self, login: str, idpn: str, keep: bool = True) -> None:
        self._require_open()
        state = self.current
        if ((login, idpn) in state.kept) != keep:
            self._draft("keep", login=login, idpn=idpn, keep=keep)
        if keep:
            state.kept.add((login, idpn))
        else:
            state.kept.discard((login, idpn))

    def _draft(self, action: str, **fields: Any) -> None:
        """Journal a choice (durably) before it takes effect; a dry run keeps none."""
        if self.journal is not None:
            self.journal.draft(self.category.slug, action, **fields)

    def _replay_draft(self, record: SessionRecord) -> None:
        """Put back the current step's choices journaled before the interruption.

        A choice that no longer makes sense (the account is gone, the
        identifier is stored elsewhere now, the obsolete identifier is no
        longer there) is dropped, and `draft_notes` says which and why.
        """
        if self.finished:
            return
        state = self.current
        step = self._step_label(state.category.slug)
        obsolete = {(o.account.login, o.idpn) for o in state.match.obsolete}
        for entry in record.draft(state.category.slug):
            action, idpn = entry.get("action"), str(entry.get("idpn"))
            login = str(entry.get("login") or "")
            try:
                if action == "link":
                    account = self._linkable(state, idpn, login)
                    state.manual[idpn] = account.login
                    state.rejected.discard(idpn)
                elif action in ("clear", "restore"):
                    try:
                        decision = state.decision(idpn)
                    except KeyError:
                        raise LinkRefused(t("wizard.not_in_step", idpn=idpn)) from None
                    if action == "clear":
                        state.manual.pop(idpn, None)
                        if decision.recognised:
                            state.rejected.add(idpn)
                    else:
                        state.rejected.discard(idpn)
                elif action == "keep":
                    if (login, idpn) not in obsolete:
                        raise LinkRefused(t("wizard.draft_not_obsolete", login=login, idpn=idpn))
                    if entry.get("keep"):
                        state.kept.add((login, idpn))
                    else:
                        state.kept.discard((login, idpn))
                else:
                    continue  # a kind of choice this version does not know: nothing to replay
            except LinkRefused as error:
                self.draft_notes.append(
                    t("wizard.draft_dropped", step=step, what=self._choice_words(entry),
                      reason=str(error))
                )  # fmt: skip
                continue
            self.draft_restored += 1

    @staticmethod
    def _choice_words(entry: dict[str, Any]) -> str:
        action = entry.get("action")
        key = {"link": "wizard.draft_link", "clear": "wizard.draft_clear",
               "restore": "wizard.draft_restore"}.get(str(action))  # fmt: skip
        if key is None:
            key = "wizard.draft_keep" if entry.get("keep") else "wizard.draft_remove"
        return t(key, idpn=entry.get("idpn"), login=entry.get("login") or "")

    def draft_summary(self) -> str | None:
        """What a resume brought back of the current step's draft, in one line."""
        if not self.draft_restored and not self.draft_notes:
            return None
        return t(
            "wizard.draft_restored",
            count=number(self.draft_restored),
            dropped=number(len(self.draft_notes)),
        )

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

    def validate(self, progress: Progress | None = None) -> list[ChangeOutcome]:
        """Write the current step, journaled before and after, then move on.

        `progress(done, total)` is called as the changes are written (in parts
        of a few hundred, from the calling thread); it cannot stop the write.
        """
        self._require_open()
        state = self.current
        plan = self.plan(state)
        left = self._left(state)
        try:
            outcomes = self._write(state.category, plan.changes, state.manual, left, progress)
        except IdpronoteError:
            # A journal that cannot be written, a directory gone: nothing more is sent.
            self.ended = self.ended or "cut"
            self.close()
            raise
        state.outcomes = outcomes
        self._remember(state.manual)
        self._step_done(state.category, outcomes, left)
        self._advance()
        return outcomes

    def _remember(self, manual: dict[str, str]) -> None:
        """Manual links that are stored now are recognised by the next import."""
        if self.memory is not None:
            stored = {i: login for i, login in manual.items() if self._stored_idpn(login) == i}
            accounts = {login: a for login in stored.values() if (a := self._account(login))}
            self.memory.remember(self.uai, stored, self.session, accounts)

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
                "explanation": d.explain(), "candidates": list(d.candidates),
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
        remaining: list[dict[str, Any]] | None = None,
        progress: Progress | None = None,
    ) -> list[ChangeOutcome]:
        if not changes:
            return []
        try:
            outcomes = _send(
                self.journal, self.directory, category.slug, changes, manual,
                remaining=remaining, progress=progress, hold=self.lock,
            )  # fmt: skip
        except DirectoryError as error:
            # What reached the directory is unknown: the intent stays without an
            # outcome, and resuming replays it safely.
            self._cut_unknown(category.slug, error)
        self._learn(outcomes)
        self._stop_if_cut(category.slug, outcomes)
        return outcomes

    def _stop_if_cut(self, step: str, outcomes: list[ChangeOutcome]) -> None:
        """A failure of the directory itself (not of one entry) ends the step, cuts the session."""
        broken = [o for o in outcomes if o.failure in DIRECTORY_FAILURES]
        if not broken:
            return
        # The last one says it most plainly (usually "not attempted: <why>").
        reason = broken[-1].reason or broken[-1].failure or ""
        self._end_cut(step, reason)
        raise SessionCut(
            t(
                "wizard.cut",
                step=self._step_label(step),
                reason=reason,
                total=len(outcomes),
                written=sum(1 for o in outcomes if o.applied),
                unsure=sum(1 for o in outcomes if o.failure == "unconfirmed"),
                unsent=sum(1 for o in outcomes if o.failure == "unavailable"),
                session=self.session or "—",
                file=self.export.path,
            )
        )

    def _cut_unknown(self, step: str, error: IdpronoteError) -> NoReturn:
        self._end_cut(step, str(error))
        raise SessionCut(
            t(
                "wizard.cut_unknown",
                step=self._step_label(step),
                reason=str(error),
                session=self.session or "—",
                file=self.export.path,
            ),
        ) from None

    def _end_cut(self, step: str, reason: str) -> None:
        self.ended = "cut"
        if self.journal is not None:
            # Best effort: a journal that cannot take this line is cut all the same.
            with contextlib.suppress(IdpronoteError):
                self.journal.end("cut", step=step, reason=reason)
        self.close()

    @staticmethod
    def _step_label(step: str) -> str:
        if step in SLUGS:
            category = Category.from_slug(step)
            return f"{category.step}/{len(CATEGORIES)} ({category.label(language())})"
        return step

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
        directory: Any,
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


# -- writing, journaled -------------------------------------------------------------------------


def _backup_before_next_write(directory: Any, wanted: bool) -> None:
    """Tell a file directory whether the session's next write must keep a backup first."""
    hook = getattr(directory, "backup_before_next_write", None)
    if hook is not None:
        hook(wanted)


def _apply(
    directory: Any,
    changes: Sequence[IdentifierChange],
    journal: Journal | None,
    batch: int,
    progress: Progress | None = None,
) -> list[ChangeOutcome]:
    """`directory.apply`, journaling (durably, before they are sent) the object
    classes it adds, which undo takes away again."""
    if journal is None:
        return _apply_in_parts(directory, changes, progress)
    directory.before_send = lambda added: journal.classes(batch, dict(added))
    try:
        return _apply_in_parts(directory, changes, progress)
    finally:
        directory.before_send = None


# With a progress callback, a step's changes are sent in parts (still one journaled
# batch): about PROGRESS_PARTS of them, none smaller than PROGRESS_PART_MIN changes,
# so a small step is one write and a big one is not 2,838 file rewrites.
PROGRESS_PARTS = 10
PROGRESS_PART_MIN = 500


def _apply_in_parts(
    directory: Any, changes: Sequence[IdentifierChange], progress: Progress | None
) -> list[ChangeOutcome]:
    if progress is None:
        return directory.apply(changes)
    changes = list(changes)
    total = len(changes)
    size = max(PROGRESS_PART_MIN, -(-total // PROGRESS_PARTS))
    outcomes: list[ChangeOutcome] = []
    _tell(progress, 0, total)
    for start in range(0, total, size):
        part = directory.apply(changes[start : start + size])
        outcomes.extend(part)
        _tell(progress, len(outcomes), total)
        broken = [o for o in part if o.failure in DIRECTORY_FAILURES]
        if broken:
            # The directory itself failed: nothing more is sent (as an adapter does
            # within one write), the rest is reported not sent.
            reason = t("wizard.not_sent", reason=broken[-1].reason or broken[-1].failure)
            outcomes += [
                ChangeOutcome(c, applied=False, failure="unavailable", reason=reason)
                for c in changes[start + size :]
            ]
            break
    return outcomes


def _tell(progress: Progress, done: int, total: int) -> None:
    # Showing progress must never break a write half-way.
    with contextlib.suppress(Exception):
        progress(done, total)


def _send(
    journal: Journal | None,
    directory: Any,
    step: str,
    changes: Sequence[IdentifierChange],
    manual: dict[str, str] | None = None,
    *,
    remaining: list[dict[str, Any]] | None = None,
    retry: bool = False,
    claimable: set[tuple] | None = None,
    progress: Progress | None = None,
    hold: EstablishmentHold | None = None,
) -> list[ChangeOutcome]:
    """Intent (durable), the write, then the outcome: the one way a batch is written.

    `hold`: the establishment's locks; if the directory's lease may have lapsed, nothing
    is journaled nor sent (LeaseLost), and the session stays resumable."""
    if hold is not None:
        hold.check()
    batch = (
        journal.intent(step, changes, manual, remaining=remaining, retry=retry)
        if journal is not None
        else 0
    )
    outcomes = _apply(directory, changes, journal, batch, progress)
    if claimable:
        outcomes = _claim(outcomes, claimable)
    if journal is not None:
        journal.outcome(batch, step, outcomes)
    return outcomes


def _claim(outcomes: list[ChangeOutcome], which: set[tuple] | None) -> list[ChangeOutcome]:
    """Outcomes "already in effect" of changes this session sent before (all, or `which`)
    become "written by this session before it was cut"."""
    return [
        replace(o, reason=WRITTEN_BEFORE_THE_CUT)
        if o.applied
        and o.reason == ALREADY_IN_EFFECT
        and (which is None or change_key(change_json(o.change)) in which)
        else o
        for o in outcomes
    ]


def undo_session(directory: Any, record: SessionRecord, *, data_dir: Path) -> list[ChangeOutcome]:
    """Restore what a session found before it wrote; journaled as a session of its own.

    Every change the session wrote, or may have written (intended with no
    outcome, sent and never confirmed), is reverted only where the account
    still holds what the session wrote: the adapter refuses ("changed") a
    value someone changed since, and reports "already in effect" where the
    previous value is there already (a write that never landed). An
    auxiliary object class the session added goes with the last value.
    Nothing is done on the word of a journal line that does not verify.
    """
    record.require_intact()
    changes = []
    for o, _certain in reversed(record.writes()):
        kind = ChangeKind(o["kind"])
        previous, idpn = o.get("previous"), o.get("idpn")
        if kind is ChangeKind.REMOVE:
            changes.append(IdentifierChange(o["login"], o["uai"], ChangeKind.ADD, previous, None))
        elif previous is None:
            added_class = str(o["login"]).casefold() in record.classes
            changes.append(
                IdentifierChange(o["login"], o["uai"], ChangeKind.REMOVE, None, idpn, added_class)
            )
        else:
            changes.append(
                IdentifierChange(o["login"], o["uai"], ChangeKind.REPLACE, previous, idpn)
            )
    lock = EstablishmentHold(directory, data_dir, record.uai)
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
        lock.journal_takeover(journal)
        _backup_before_next_write(directory, True)
        outcomes: list[ChangeOutcome] = []
        if changes:
            outcomes = _send(journal, directory, "undo", changes, hold=lock)
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
    # Read (and checked: a planted memory file is refused) before anything is written.
    memory = DecisionMemory(data_dir)
    remembered = memory.links(uai).get(idpn)
    session = new_session_id()
    with EstablishmentHold(directory, data_dir, uai.upper()).held(session) as lock:
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
        lock.journal_takeover(journal)
        _backup_before_next_write(directory, True)
        (outcome,) = _send(journal, directory, "unlink", [change], hold=lock)
        journal.end("completed" if outcome.applied else "failed")
        if outcome.applied:
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
    memory = DecisionMemory(data_dir)
    memory.links(uai)  # a planted memory file is refused before anything is written
    session = new_session_id()
    with EstablishmentHold(directory, data_dir, uai).held(session) as lock:
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
        lock.journal_takeover(journal)
        _backup_before_next_write(directory, True)
        (outcome,) = _send(journal, directory, "link", [change], {idpn: account.login}, hold=lock)
        journal.end("completed" if outcome.applied else "failed")
    if outcome.applied:
        memory.remember(uai, {idpn: account.login}, session, {account.login: account})
    return outcome
