"""`idpronote` (the wizard) and `idpronote demo` (the wizard on a kept copy of sample data)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from cli import words as _words  # noqa: F401  (registers the words)
from core.config import Config
from core.i18n import t
from core.private_files import check_private_dir, private_dir, replace_file

if TYPE_CHECKING:
    from cli.context import Context

# The bundled demo files are the TUI package's data (tui/demo/, a sibling package): found by
# path so that `--demo` of undo/history does not import the TUI.
DEMO = Path(__file__).resolve().parents[2] / "tui" / "demo"


def run(ctx: Context) -> int:
    from tui.app import IdpronoteApp, Launch

    args = ctx.args
    launch = Launch(
        config=ctx.config,
        export=Path(args.file) if args.file else None,
        directory_file=Path(args.directory_file) if args.directory_file else None,
        uai=args.uai,
        mode=args.mode,
    )
    IdpronoteApp(launch).run(mouse=not args.no_mouse)
    return 0


DEMO_FILES = ("identifiants.xml", "annuaire.csv")


def demo_place(config: Config) -> Path:
    """The demo's one persistent copy: `<data_dir>/demo/` (its own journals in `data/`).

    One copy, not a fresh one per run: a relaunched demo can resume (F5) the
    session it interrupted, and `idpronote undo SESSION --demo` finds its journal.
    """
    return Path(config.data_dir) / "demo"


def demo_config(config: Config) -> tuple[Config, Path]:
    """The configuration the demo runs with, and its directory file (`--demo` of undo,
    history): the copy's own data directory, the user's language."""
    folder = demo_place(config)
    return replace(Config(), language=config.language, data_dir=folder / "data"), (
        folder / "annuaire.csv"
    )


def prepare_demo(config: Config, *, reset: bool = False) -> Path:
    """The demo copy, made from the bundled files when absent (or asked): the bundled
    files are never written to."""
    # Refused with its path if it is a link or another user's (never followed, never removed).
    folder = private_dir(private_dir(Path(config.data_dir), link_ok=True) / "demo")
    complete = all((folder / name).is_file() for name in DEMO_FILES)
    if reset or not complete:
        data = folder / "data"
        if check_private_dir(data):
            # Its journals speak of the copy being replaced: they go with it.
            shutil.rmtree(data)
        for name in DEMO_FILES:
            replace_file(folder / name, (DEMO / name).read_bytes())
    return folder


def demo(ctx: Context) -> int:
    """The wizard on the demo copy (`--reset`: a fresh one first)."""
    from tui.app import IdpronoteApp, Launch

    reset = bool(getattr(ctx.args, "reset", False))
    folder = prepare_demo(ctx.config, reset=reset)
    if reset:
        print(t("demo.reset_done", path=folder))
    config, directory_file = demo_config(ctx.config)
    launch = Launch(
        config=config,
        export=folder / "identifiants.xml",
        directory_file=directory_file,
        uai="0441234A",
        demo=True,
    )
    IdpronoteApp(launch).run(mouse=not ctx.args.no_mouse)
    print(t("demo.kept_in", path=folder))
    return 0
