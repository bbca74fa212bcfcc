"""The support desk: why can't this person open Pronote from the ENT?

`explain` looks at one person the way the vendors' FAQ does: the directory
account(s), the identifiers stored on them, the latest identifiers file (given,
or the one the establishment's last journaled import read), what matching
decides for that person and what the last import left, duplicates on both
sides; it names one cause and ONE next action. `status` counts, per category,
what an establishment's directory holds against the latest file.

Precision before recall, as in matching: an action that writes is proposed
only when the evidence names one account; otherwise the action says which
accounts to compare and leaves the choice to a human. Writes go through
`core.wizard.link_account` / `unlink_account` (locked, journaled, undoable).

Like the rest of core/, nothing here imports Textual or an adapter: the
directory is any object with the `Directory` protocol.

The package, by concern: `diagnosis` (explain: finding the person, walking
the situations), `causes` (each situation's cause and next action),
`context` (what explain reads once: the latest file, matching's decisions,
the shared lookups), `explanation` (what explain returns, its text and
JSON), `actions` (the next action, and applying it), `overview` (status).
"""

from core.support.actions import ACTION_KINDS, WRITING, Action, apply_action
from core.support.causes import STORED_CONFLICTS
from core.support.context import last_import, latest_file, same_names
from core.support.diagnosis import PICK_LIMIT, explain
from core.support.explanation import (
    Explanation,
    FileInfo,
    explained_decision_json,
    pronote_json,
    pronote_label,
)
from core.support.overview import CategoryStatus, Status, status

__all__ = [
    "ACTION_KINDS",
    "PICK_LIMIT",
    "STORED_CONFLICTS",
    "WRITING",
    "Action",
    "CategoryStatus",
    "Explanation",
    "FileInfo",
    "Status",
    "apply_action",
    "explain",
    "explained_decision_json",
    "last_import",
    "latest_file",
    "pronote_json",
    "pronote_label",
    "same_names",
    "status",
]
