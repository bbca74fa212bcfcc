"""What the bench scripts measure alike: latencies, a child's wall time and peak
memory, and the folder they work in. Figures are printed, never asserted."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def spread(spent: list[float]) -> tuple[float, float, float]:
    """Median, 95th percentile and max of some latencies (at least one)."""
    spent = sorted(spent)
    return statistics.median(spent), spent[max(0, int(len(spent) * 0.95) - 1)], spent[-1]


def timings(run: Callable[[str], object], queries: list[str]) -> tuple[float, float, float]:
    """`run` on each query in turn, timed in ms: median, p95, max."""
    spent = []
    for query in queries:
        start = time.perf_counter()
        run(query)
        spent.append((time.perf_counter() - start) * 1000)
    return spread(spent)


def wait_measured(child: subprocess.Popen, started: float) -> tuple[float, float]:
    """Reap `child` (its returncode set): wall seconds since `started`, and the
    peak resident memory of that child alone in MiB (wait4's ru_maxrss)."""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return wall, usage.ru_maxrss / 1024


@contextmanager
def work_folder(keep: Path | None, prefix: str) -> Iterator[Path]:
    """`keep` (made if need be, left in place) or a temporary folder removed after."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)
