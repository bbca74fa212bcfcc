"""Every write of a step, for the reports: identifiers stored, replaced, removed or kept.

A report that does not say what was deleted cannot be audited or explained
to a school. For each step this says, account by account, whether the
identifier is stored now and which earlier identifier of the establishment
its write replaced; and, obsolete identifier by obsolete identifier, whether
it was removed (`action` "remove", `written` once it is gone from the
directory) or kept. `match` reports what `apply` would do; `apply` what the
directory holds afterwards, read from the session's own view of it (the
values read at the start, updated by every confirmed write).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from core.journal import SessionRecord
from core.matching import ObsoleteLink, Reconciliation, StepMatch
from core.model import ChangeKind
from core.text import spreadsheet_cell
from core.wizard import ImportSession, StepState

__all__ = [
    "COUNTS",
    "REMAINING_HEADER",
    "ObsoleteEntry",
    "StepWrites",
    "csv_text",
    "planned_writes",
    "session_removals",
    "session_writes",
]


# The list sent back to the school: the accounts a session left unlinked, one row each
# (`idpronote remaining --format csv`, the end screen's export, the JSON keys of `remaining`).
REMAINING_HEADER = [
    "etape", "categorie", "idpn", "nom", "prenom", "date_naissance", "classe", "regle",
    "raison", "candidats",
]  # fmt: skip


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    """A CSV a spreadsheet opens safely: `;`-separated, CRLF, every cell through
    `core.text.spreadsheet_cell` (no formula, no control character)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([spreadsheet_cell(v) for v in row])
    return out.getvalue()


# What `counts` of a step and the report's summary add up.
COUNTS = ("recognised", "unrecognised", "obsolete", "written", "replaced", "removed", "kept")


@dataclass(frozen=True, slots=True)
class ObsoleteEntry:
    """One obsolete identifier and what became of it."""

    link: ObsoleteLink
    action: str  # "remove" or "keep"
    written: bool  # removed from the directory

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.link.account.login,
            "idpn": self.link.idpn,
            "action": self.action,
            "written": self.written,
        }


@dataclass
class StepWrites:
    """What one step wrote (or would write)."""

    written: set[str] = field(default_factory=set)  # identifiers stored on their account now
    previous: dict[str, str] = field(default_factory=dict)  # identifier -> the one it replaces
    obsolete: list[ObsoleteEntry] = field(default_factory=list)

    def counts(self, step: StepMatch) -> dict[str, int]:
        return {
            "recognised": len(step.recognised),
            "unrecognised": len(step.unrecognised),
            "obsolete": len(self.obsolete),
            "written": len(self.written),
            "replaced": sum(1 for idpn in self.written if idpn in self.previous),
            "removed": sum(1 for o in self.obsolete if o.written),
            "kept": sum(1 for o in self.obsolete if o.action == "keep"),
        }


def planned_writes(step: StepMatch, reconciliation: Reconciliation) -> StepWrites:
    """What `apply` would write for this step: nothing written yet."""
    previous = {}
    for d in step.recognised:
        account = reconciliation.by_login(d.login)
        if account is None:
            continue
        others = [s for s in reconciliation.stored_for(account) if s != d.pronote.idpn]
        if others:
            previous[d.pronote.idpn] = others[0]
    return StepWrites(
        previous=previous,
        obsolete=[ObsoleteEntry(o, "remove", False) for o in step.obsolete],
    )


def session_writes(session: ImportSession, state: StepState, *, processed: bool) -> StepWrites:
    """What a step of an import wrote; `processed` False: a step left alone (all kept).

    A step validated is read from its outcomes and the directory as the session
    now knows it; a step not validated but processed (a dry run) from its plan.
    """
    form = session.directory.form
    previous = {}
    for idpn, login in state.links().items():
        account = session.reconciliation.by_login(login)
        if account is None:
            continue
        others = [s for s in form.idpns_for(account.identifiers, session.uai) if s != idpn]
        if others:
            previous[idpn] = others[0]
    if state.validated:
        changes = [o.change for o in state.outcomes or ()]
    elif processed:
        changes = session.plan(state).changes
    else:
        changes = []
    removing = {(c.login.casefold(), c.previous) for c in changes if c.kind is ChangeKind.REMOVE}
    obsolete = []
    for link in state.match.obsolete:
        login = link.account.login
        if (login.casefold(), link.idpn) not in removing:
            obsolete.append(ObsoleteEntry(link, "keep", False))
            continue
        gone = state.validated and link.idpn not in session.stored_now(login)
        obsolete.append(ObsoleteEntry(link, "remove", gone))
    written = session.written(state) if state.validated else set()
    return StepWrites(written, previous, obsolete)


def session_removals(record: SessionRecord) -> list[dict[str, Any]]:
    """Every identifier a journaled session took off an account: removed, or replaced."""
    found = []
    for batch in sorted(record.outcomes):
        step = record.outcomes[batch].get("step")
        for o in record.outcomes[batch]["outcomes"]:
            if not o.get("wrote") or not o.get("previous"):
                continue
            kind = o.get("kind")
            if kind not in (ChangeKind.REMOVE.value, ChangeKind.REPLACE.value):
                continue
            found.append(
                {
                    "step": step,
                    "account": o["login"],
                    "idpn": o["previous"],
                    "action": "remove" if kind == ChangeKind.REMOVE.value else "replace",
                    "by": o.get("idpn"),
                }
            )
    return found
