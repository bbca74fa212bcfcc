"""The wizard's screens on a lycée: Validate to the next step, and `/` per keystroke.

    .venv/bin/python bench/wizard_ui.py [--students 3500] [--others 30000] [--size 80x24]
                                        [--word martin] [--keep DIR]

Generates a lycée with `bench/datagen.py` (about 10,000 Pronote accounts for
3,500 students) and a CSV directory around it (`--others` accounts of other
establishments), then drives the real Textual app headless (`run_test`, the
terminal size given) as an admin would: Enter on the start screen, then for
each step `v` and Enter on the confirmation. It prints, per step:

- how long `v` takes to show the confirmation (the plan and its lines);
- the time from that Enter (Validate) to the next step's screen mounted
  with its first rows in its tables (the write, the journal, matching the next
  step, the new screen), wall and CPU; the largest step is marked.

On the step with the largest table it then opens that table's filter with
`/` and types `--word` one key at a time; each keystroke is timed from the
key posted to its first rows in the table and painted (the filter, the
refill, the repaint), wall and CPU, median and max, with the row counts the
filter went through; then how long the rest of the rows took to stream in
(the app takes keys meanwhile).

Figures are printed, never asserted: the machine is shared, so the CPU time
of the process is printed beside the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual import events  # noqa: E402

from bench.common import work_folder  # noqa: E402
from bench.datagen import generate  # noqa: E402
from core.config import Config  # noqa: E402
from tui.app import IdpronoteApp, Launch  # noqa: E402
from tui.screens.confirm import ConfirmDialog  # noqa: E402
from tui.screens.end import EndScreen  # noqa: E402
from tui.screens.step import StepScreen  # noqa: E402
from tui.widgets.tables import RowTable, fold  # noqa: E402

UAI = "0441234A"


async def until(pilot, ready, timeout: float = 600.0) -> None:
    """Let the app run until `ready()` holds (never a fixed sleep)."""
    deadline = time.perf_counter() + timeout
    while not ready():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen never came")
        await pilot.pause(0.005)


def shown(screen) -> bool:
    """A step screen mounted, its tables holding their first rows."""
    if not isinstance(screen, StepScreen) or not screen.is_mounted:
        return False
    tables = list(screen.query(RowTable))
    return bool(tables) and all(t.row_count or not t.shown for t in tables)


def cpu() -> float:
    """This process's CPU time: the figure a loaded, shared machine distorts least."""
    return time.process_time()


def started_up(app: IdpronoteApp) -> bool:
    """The start screen, done reading the file and the directory."""
    return bool(app.screen.query("#go")) and not any(w.is_running for w in app.workers)


def sizes(screen: StepScreen) -> dict[str, int]:
    return {t.id or "?": t.total for t in screen.query(RowTable)}


def the_app(folder: Path, data: str, directory_file: str) -> IdpronoteApp:
    """The real app on the lycée of `folder`, writing into `directory_file`."""
    config = replace(Config(), data_dir=folder / data)
    return IdpronoteApp(
        Launch(
            config=config,
            export=folder / "identifiants.xml",
            directory_file=folder / directory_file,
            uai=UAI,
        )
    )


def terminal(args: argparse.Namespace) -> tuple[int, int]:
    width, height = (int(n) for n in args.size.split("x"))
    return width, height


async def first_step(pilot, app: IdpronoteApp) -> float:
    """From the start screen, read, to step 1 shown: the seconds Enter took."""
    await until(pilot, lambda: started_up(app))
    started = time.perf_counter()
    await pilot.press("enter")
    await until(pilot, lambda: shown(app.screen))
    return time.perf_counter() - started


async def validate(pilot, app: IdpronoteApp) -> tuple[float, float, float]:
    """`v` then Enter on the confirmation: the seconds to the confirmation, from
    that Enter to the next step (or the end) shown, and the CPU seconds of the latter."""
    screen = app.screen
    t0 = time.perf_counter()
    await pilot.press("v")
    await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
    t1, c1 = time.perf_counter(), cpu()
    await pilot.press("enter")
    await until(
        pilot,
        lambda: (
            app.screen is not screen and (shown(app.screen) or isinstance(app.screen, EndScreen))
        ),
    )
    return t1 - t0, time.perf_counter() - t1, cpu() - c1


async def drive(args: argparse.Namespace, folder: Path) -> None:
    app = the_app(folder, "data", "annuaire.csv")
    steps: list[tuple[str, dict[str, int], float, float]] = []
    biggest: tuple[int, str, int] | None = None  # rows, table, step index
    async with app.run_test(size=terminal(args)) as pilot:
        print(f"start screen -> step 1 shown: {await first_step(pilot, app):.2f} s")
        while isinstance(app.screen, StepScreen):
            screen = app.screen
            label = screen.category.slug
            counts = sizes(screen)
            rows = sum(counts.values())
            for table, count in counts.items():
                if biggest is None or count > biggest[0]:
                    biggest = (count, table, screen.session.index)
            confirmation, validated, used = await validate(pilot, app)
            steps.append((label, counts, confirmation, validated))
            print(
                f"step {label:<17} {rows:>6} rows {counts}: confirmation {confirmation:5.2f} s, "
                f"Validate -> next step shown {validated:5.2f} s (CPU {used:5.2f} s)"
            )
        largest = max(steps, key=lambda s: sum(s[1].values()))
        print(
            f"largest step: {largest[0]} ({sum(largest[1].values())} rows), "
            f"Validate -> next step shown {largest[3]:.2f} s"
        )
    if biggest is not None:
        # On a fresh copy, up to the step with the largest table, to filter it.
        args.filter_on = biggest[2]
        args.table = biggest[1]
        await filter_bench(args, folder)


async def filter_bench(args: argparse.Namespace, folder: Path) -> None:
    """Type `--word` into the filter of the largest table, one key at a time."""
    app = the_app(folder, "data2", "annuaire-copy.csv")
    async with app.run_test(size=terminal(args)) as pilot:
        await first_step(pilot, app)
        while app.screen.session.index < args.filter_on:
            await validate(pilot, app)
        screen = app.screen
        table = screen.query_one(f"#{args.table}", RowTable)
        table.focus()
        await pilot.pause()
        await pilot.press("slash")
        await pilot.pause()
        spent, used, counts, streamed = [], [], [], []
        typed = ""
        for key in args.word:
            typed += key
            t0, c0 = time.perf_counter(), cpu()
            app.post_message(events.Key(key, key))
            # The key handled (the filter ran, the first rows are in), then painted:
            # what the admin sees. The rest of the rows stream in after, between keys.
            while table.words != fold(typed).split():
                await asyncio.sleep(0)
            app.screen._on_timer_update()
            spent.append((time.perf_counter() - t0) * 1000)
            used.append((cpu() - c0) * 1000)
            counts.append(len(table.shown))
            t1 = time.perf_counter()
            await until(pilot, table.filled)
            streamed.append((time.perf_counter() - t1) * 1000)
            await pilot.pause()
        rest = max(streamed)
        t0 = time.perf_counter()
        app.post_message(events.Key("escape", None))
        while table.words:
            await asyncio.sleep(0)
        app.screen._on_timer_update()
        cleared = (time.perf_counter() - t0) * 1000
        t1 = time.perf_counter()
        await until(pilot, table.filled)
        refilled = (time.perf_counter() - t1) * 1000
        print(
            f"filter on {screen.category.slug}/{args.table} ({table.total} rows), "
            f"typing {args.word!r}: per keystroke median {statistics.median(spent):.0f} ms, "
            f"max {max(spent):.0f} ms ({', '.join(f'{s:.0f}' for s in spent)} ms; CPU median "
            f"{statistics.median(used):.0f} ms, max {max(used):.0f} ms; "
            f"rows {' -> '.join(str(c) for c in counts)}); the rest of the rows streamed in "
            f"at most {rest:.0f} ms more, keys still taken meanwhile; Esc: the first rows "
            f"of all {table.total} in {cleared:.0f} ms, the rest streamed in {refilled:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3500)
    parser.add_argument("--others", type=int, default=30000)
    parser.add_argument("--size", default="80x24")
    parser.add_argument("--word", default="martin")
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it")
    args = parser.parse_args()
    args.filter_on = None
    args.table = None
    with work_folder(args.keep, "idpronote-wizard-ui-") as folder:
        started = time.perf_counter()
        result = generate(
            folder, students=args.students, name="Lycée Jules Verne", other_accounts=args.others
        )
        # The filter run works on a fresh copy: the first run wrote to the directory.
        (folder / "annuaire-copy.csv").write_bytes((folder / "annuaire.csv").read_bytes())
        total = sum(result.counts.values())
        print(
            f"generated {total} Pronote accounts {result.counts}, "
            f"{result.local_accounts + result.other_accounts} directory rows "
            f"in {time.perf_counter() - started:.1f} s; terminal {args.size}"
        )
        asyncio.run(drive(args, folder))


if __name__ == "__main__":
    main()
