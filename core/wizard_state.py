"""The state of the import wizard: one step's decisions (`StepState`), the change
set Validate writes (`Plan`), the errors a session raises, and its messages.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import DirectoryError, IdpronoteError
from core.i18n import register
from core.matching import Decision, StepMatch
from core.model import (
    Category,
    ChangeKind,
    ChangeOutcome,
    IdentifierChange,
)

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
