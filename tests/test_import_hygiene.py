"""core/ never imports Textual; headless commands never load it (they must start fast)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_and_adapters_never_import_textual_or_the_tui():
    offenders = []
    for package in ("core", "directory_adapters"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for name in imported_modules(path):
                if name.split(".")[0] in ("textual", "tui", "rich"):
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_core_does_not_import_adapters():
    # Data flows one way: the adapters know the core, the core knows no adapter.
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "core").rglob("*.py"))
        for name in imported_modules(path)
        if name.startswith("directory_adapters")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect", "{export}"],
        ["match", "{export}", "--directory-file", "{directory}", "--format", "json"],
    ],
)
def test_headless_commands_do_not_load_textual(tmp_path, argv):
    demo = ROOT / "tui" / "demo"
    argv = [
        a.format(export=demo / "identifiants.xml", directory=demo / "annuaire.csv") for a in argv
    ]
    code = (
        "import sys\n"
        "from cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('textual' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr
