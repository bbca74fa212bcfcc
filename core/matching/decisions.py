"""What matching decides: one `Decision` per Pronote account, a `StepMatch` per category.

These are the values the wizard, the reports and `explain` read; the rules
that produce them are in `step`, `evidence` and `guardians`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from core.i18n import t
from core.matching import reasons as _reasons  # noqa: F401  (registers the words)
from core.model import Category, DirectoryAccount, PronoteAccount


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """The thresholds of `[matching]` in config.toml."""

    # The differing name field must score at least this (rapidfuzz ratio, 0..100).
    fuzzy_threshold: float = 80.0
    # ... and beat the second-best candidate by this much.
    fuzzy_margin: float = 10.0
    # How many candidates an unrecognised account lists.
    candidates: int = 5


@dataclass(frozen=True, slots=True)
class Decision:
    """What matching decided for one Pronote account."""

    pronote: PronoteAccount
    recognised: bool
    rule: str
    login: str | None = None
    score: int | None = None
    candidates: tuple[str, ...] = ()
    # The reason, as an i18n key under "why." and its parameters.
    why: str = ""
    params: tuple[tuple[str, str], ...] = ()

    @property
    def status(self) -> str:
        return "recognised" if self.recognised else "unrecognised"

    def explain(self) -> str:
        return t("why." + (self.why or self.rule), **dict(self.params))


@dataclass(frozen=True, slots=True)
class ObsoleteLink:
    """An identifier stored for the establishment that the file no longer holds."""

    account: DirectoryAccount
    idpn: str


@dataclass
class StepMatch:
    """The decisions of one step (one category)."""

    category: Category
    decisions: list[Decision]
    obsolete: list[ObsoleteLink] = field(default_factory=list)
    # Complete mode, a category the file holds none of: the identifiers stored for
    # it are kept, never proposed as obsolete (a file that cannot carry guardians
    # says nothing about them). What would have been proposed, for the reports.
    kept_absent: list[ObsoleteLink] = field(default_factory=list)

    @property
    def recognised(self) -> list[Decision]:
        return [d for d in self.decisions if d.recognised]

    @property
    def unrecognised(self) -> list[Decision]:
        return [d for d in self.decisions if not d.recognised]


def summary(steps: Iterable[StepMatch]) -> dict[str, int]:
    steps = list(steps)
    return {
        "recognised": sum(len(s.recognised) for s in steps),
        "unrecognised": sum(len(s.unrecognised) for s in steps),
        "obsolete": sum(len(s.obsolete) for s in steps),
    }


def decision_json(decision: Decision, written: bool = False) -> dict[str, Any]:
    """One account of CONTRACT.md's report."""
    p = decision.pronote
    return {
        "idpn": p.idpn,
        "nom": p.surname,
        "prenom": p.first_name,
        "date_naissance": p.birth_date.isoformat() if p.birth_date else None,
        "status": decision.status,
        "rule": decision.rule,
        "account": decision.login,
        "score": decision.score,
        "candidates": list(decision.candidates),
        "written": written,
    }
