"""Validate and its consequences: write the current step journaled, stop when the
directory fails (the session is then cut, resumable), remember the manual links,
move on, interrupt. A part of `ImportSession` (core/wizard.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any, NoReturn

from core.errors import DirectoryError, IdpronoteError
from core.i18n import language, t
from core.model import (
    CATEGORIES,
    DIRECTORY_FAILURES,
    SLUGS,
    Category,
    ChangeOutcome,
    IdentifierChange,
)
from core.wizard_state import Progress, SessionCut, StepState
from core.wizard_writes import _send


class Validation:
    """Validate, skip and interrupt of `ImportSession`."""

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
