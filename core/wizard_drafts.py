"""The admin's decisions in a step: manual links, rejections, obsolete identifiers
kept. Each is journaled as a draft before it takes effect, and replayed when the
session is resumed. Many at once too (the ★ proposals, the fuzzy links), each
as if made by hand, and what the search dialog asks before a link. A part of
`ImportSession` (core/wizard.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.i18n import number, t
from core.journal import (
    SessionRecord,
)
from core.model import Category, DirectoryAccount, PronoteAccount
from core.wizard_state import NOT_PROPOSED, LinkRefused, StepState


class Decisions:
    """The journaled manual choices of `ImportSession`, and their replay on resume."""

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
