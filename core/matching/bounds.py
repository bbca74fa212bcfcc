"""What matching may spend on one step (docs/SECURITY.md, "bounded work").

Each bound withholds, never decides: past it, a record goes to a human.
"""

from __future__ import annotations

from core.i18n import register

# Bounded work (docs/SECURITY.md): a Pronote account is compared with at most this
# many directory accounts (its block: same birth date, same surname or surname
# part, same names). Past it, only evidence that names one account (a stored
# identifier, the CAS login, a remembered link) or a guardian's children can
# recognise it; otherwise it goes to a human. A real establishment's blocks hold
# a few accounts; 200,000 records of one name against 2,000 homonyms took 80 s
# and 6.7 GB, records x homonyms.
BLOCK_LIMIT = 64
# Partial mode's guardians on names alone look for rivals among close first names:
# at most this many people per guardian, and this many per step (a real step
# compares a few hundred thousand; past it, the rest goes to a human).
RIVAL_LIMIT = 5_000
RIVAL_BUDGET = 5_000_000
# Rows of the candidate-scoring matrix computed at once (memory: rows x accounts).
SCORE_ROWS = 256
# At most this many candidate scores per step (a few seconds of rapidfuzz on 2 cores;
# a real step needs under 5 million: a thousand unrecognised x 5,000 accounts).
SCORE_CELLS = 50_000_000

register(
    {
        "why.too_many_homonyms": (
            "plus de {limit} comptes de l'annuaire à comparer (mêmes noms, même nom de "
            "famille ou même date de naissance) : jamais de lien automatique, choisissez à la "
            "main",
            "more than {limit} directory accounts to compare with (same names, surname or "
            "birth date): never linked automatically, choose by hand",
        ),
    }
)
