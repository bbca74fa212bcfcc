"""What sealing and checking the journal costs: a 10,000-change step, written and read back.

    .venv/bin/python bench/journal.py [--changes 10000] [--sessions 50]

Writes one session the way the wizard does (header, intent with the step's
to-do list, outcome, step, end; each line sealed, chained, synced), then
reads it back with every line verified, then lists `--sessions` such
journals as `history` does. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.journal import Journal, read_session, sessions
from core.model import ChangeKind, ChangeOutcome, IdentifierChange

UAI = "0441234A"


def write_session(data_dir: Path, changes: list[IdentifierChange]) -> tuple[Journal, float]:
    started = time.perf_counter()
    journal = Journal.create(data_dir, uai=UAI, kind="import", header={"mode": "complet"})
    left = [{"idpn": c.idpn, "nom": "NOM", "prenom": "Prénom", "rule": "ambiguous",
             "reason": "ambiguous", "candidates": []} for c in changes[:500]]  # fmt: skip
    batch = journal.intent("eleves", changes, {}, remaining=left)
    journal.outcome(batch, "eleves", [ChangeOutcome(c, applied=True) for c in changes])
    journal.step_done("eleves", {"written": len(changes), "remaining": left})
    journal.end("completed")
    return journal, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--sessions", type=int, default=50)
    args = parser.parse_args()
    changes = [
        IdentifierChange(f"eleve{n:06d}", UAI, ChangeKind.ADD, f"A{n:015d}", None)
        for n in range(args.changes)
    ]
    folder = Path(tempfile.mkdtemp(prefix="idpronote-journal-bench-"))
    try:
        journal, took = write_session(folder, changes)
        size = journal.path.stat().st_size
        print(f"write one session of {args.changes} changes: {took * 1000:.0f} ms "
              f"({size / 1e6:.1f} MB, 5 lines, each sealed and synced)")  # fmt: skip
        started = time.perf_counter()
        record = read_session(journal.path)
        took = time.perf_counter() - started
        assert not record.damaged
        print(f"read it back, every line verified: {took * 1000:.0f} ms")
        for _ in range(args.sessions - 1):
            write_session(folder, changes[:1000])
        started = time.perf_counter()
        found = sessions(folder, UAI)
        took = time.perf_counter() - started
        print(f"list {len(found)} sessions as history does: {took * 1000:.0f} ms")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
