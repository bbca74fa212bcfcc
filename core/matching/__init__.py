"""Automatic reconciliation: one decision per Pronote account, and why.

Precision before recall. A Pronote account is recognised only on evidence
that cannot point at someone else: an identifier already stored, the CAS
login the file carries, a link the admin made before, or names and birth
date that are unique on both sides. Anything weaker is shown to the admin
as candidates, never written. Every decision carries its rule and a reason
the wizard and the reports show.

Rules, strongest first (CONTRACT.md names them in the report):

- ``already_linked``: the directory already stores this identifier for this
  establishment, on one account, and that account is the person (below).
- ``cas_login``: the file's IdentifiantCAS is a directory login of the
  category whose names agree (disagreeing names are a ``conflict``).
- ``remembered``: a manual link made in an earlier import, to an account
  that is still the person it was then.
- ``exact``: same surname, first name and birth date, unique on both sides;
  ``exact_name`` when one side has no birth date (never for guardians).
- ``guardian_children``: a guardian of the same names linked in the
  directory to one of the children the students' step recognised.
- ``fuzzy``: one name field equal, the other close (a typo, accents, a
  compound or swapped name, a married name through the children), dates
  equal where both have one, unique with a clear margin.
- ``guardian_name`` (partial mode only): a guardian none of whose children
  is in the file (they signed in already), whose names are those of exactly
  one guardian account of the establishment, with no close rival on either
  side; the account holds no identifier of the establishment, and its
  children are students of the establishment who hold one.

Stored state is evidence only when the person agrees. An identifier already
stored, a CAS login and a remembered link all name an account that someone
or something wrote earlier, possibly by mistake (a past wrong import, a login
given to someone else). Each is taken only if the account is the person:
names that agree as `names_agree` says (typos, accents, compound names yes;
another person no), and no other account of the category that fits clearly
better (same names exactly and a compatible birth date, where the named
account has neither). Otherwise the record is a ``conflict`` for a human,
with the account named and the best candidates.

Never automatic: ``ambiguous`` (several candidates fit as well),
``duplicate_in_file`` (two Pronote accounts for one directory account),
``conflict`` (the identifier is stored on two accounts, or on the account of
another person, or the CAS login's or a remembered link's account is another
person, or another account fits better), ``account_taken`` (the account
holds another identifier of the establishment that the file still uses, or
any in partial mode),
``date_differs`` (names agree, birth dates do not), ``lost_letters`` (a name
with unreadable letters), ``uncertain`` and ``no_candidate``.

Scale: directory accounts of other establishments are never looked at;
the rest is dictionary lookups on normalised keys (birth date, compact
names), and the only n x m scoring, the candidates of unrecognised accounts,
runs vectorised in rapidfuzz.

The package, by concern: `decisions` (what a decision is, its JSON),
`people` (names and dates prepared and compared, candidate ranking),
`reconciliation` (one establishment, six steps), `step` (one step: its
indexes, the order of the rules, `exact` and `fuzzy`), `evidence` (stored
identifiers, CAS logins, remembered links), `guardians` (through the
children, and on names alone), `bounds` (what one step may spend).
"""

from core.matching.bounds import BLOCK_LIMIT, RIVAL_BUDGET, RIVAL_LIMIT
from core.matching.decisions import (
    Decision,
    MatchSettings,
    ObsoleteLink,
    StepMatch,
    decision_json,
    summary,
)
from core.matching.people import candidate_scores
from core.matching.reconciliation import MODES, Reconciliation, children_of
from core.matching.step import _Step

__all__ = [
    "BLOCK_LIMIT",
    "MODES",
    "RIVAL_BUDGET",
    "RIVAL_LIMIT",
    "Decision",
    "MatchSettings",
    "ObsoleteLink",
    "Reconciliation",
    "StepMatch",
    "_Step",
    "candidate_scores",
    "children_of",
    "decision_json",
    "summary",
]
