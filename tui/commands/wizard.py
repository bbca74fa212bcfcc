"""`idpronote` (the wizard) and `idpronote demo` (the wizard on a throwaway copy of sample data)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.config import Config
from core.i18n import t

if TYPE_CHECKING:
    from tui.cli import Context

DEMO = Path(__file__).resolve().parent.parent / "demo"


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


def demo(ctx: Context) -> int:
    """A fresh writable copy each time: the bundled files are never written to."""
    from tui.app import IdpronoteApp, Launch

    folder = Path(tempfile.mkdtemp(prefix="idpronote-demo-"))
    for name in ("identifiants.xml", "annuaire.csv"):
        shutil.copy(DEMO / name, folder / name)
    config = replace(Config(), language=ctx.config.language, data_dir=folder / "data")
    launch = Launch(
        config=config,
        export=folder / "identifiants.xml",
        directory_file=folder / "annuaire.csv",
        uai="0441234A",
        demo=True,
    )
    IdpronoteApp(launch).run(mouse=not ctx.args.no_mouse)
    print(t("demo.left_in", path=folder))
    return 0
