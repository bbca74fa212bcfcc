"""Every message a module says is registered by a module it imports (issue 19).

The words live beside the code that says them (`cli/words.py`, the screens'
own tables, the adapters'), and reach `core.i18n`'s catalogue only when their
module is imported. A key whose table the speaker does not import would print
as the bare key in a process that happens not to load that table: this test
reads every module's `t("…")` calls and follows its imports, statically.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from tests.test_import_hygiene import ROOT, module_name

PACKAGES = ("core", "cli", "tui", "directory_adapters")


def modules() -> dict[str, Path]:
    return {
        module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = modules()

# Known, with the reason; anything else unregistered fails.
EXCEPTIONS = {
    # A binding's description written at import time is the bare key when the app is not
    # loaded yet; `tui.localise.localise` turns the key into words when it is shown.
    ("tui.localise", "tui.key.help"),
    ("tui.screens.setup", "tui.key.quit"),
    # Registered by core/journal_format.py, which journal_lines.py does not import (every
    # path that writes a journal loads both today): to move into core/i18n.py or import.
    ("core.journal_lines", "journal.write_failed"),
}


def _dict_keys(node: ast.AST, assigned: dict[str, ast.AST]) -> set[str]:
    if isinstance(node, ast.Name) and node.id in assigned:
        node = assigned[node.id]
    if not isinstance(node, ast.Dict):
        return set()
    return {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}


@cache
def defined(module: str) -> frozenset[str]:
    """The keys a module puts in the catalogue: `register({...})`, `register(NAME)`, or
    `CATALOGUE = {...}` (core/i18n.py itself)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    assigned: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = node.value
    keys = set(_dict_keys(assigned["CATALOGUE"], assigned)) if "CATALOGUE" in assigned else set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) == "register" and node.args:
            keys |= _dict_keys(node.args[0], assigned)
    return frozenset(keys)


def _called(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def said(module: str) -> dict[str, int]:
    """The literal keys a module passes to `t()` (or `i18n.t()`), with a line of each."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    keys: dict[str, int] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and _called(node) == "t"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            keys.setdefault(node.args[0].value, node.lineno)
    return keys


_TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def imported(path: Path) -> set[str]:
    """Every module an import names, wherever it sits but under `if TYPE_CHECKING:` (never
    run); `from a import b` names `a` and `a.b`. The project writes absolute imports only."""
    names = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for block in ast.walk(tree):
        if isinstance(block, ast.If) and ast.unparse(block.test) in _TYPE_CHECKING:
            block.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: a relative import"
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@cache
def direct_imports(module: str) -> frozenset[str]:
    """The project's modules an import of `module` loads: each one named, and the packages
    above it (importing `a.b.c` runs `a` and `a.b` first)."""
    found = set()
    for name in imported(MODULES[module]):
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        while name:
            if name in MODULES:
                found.add(name)
            name = name.rpartition(".")[0]
    return frozenset(found - {module})


def loaded_with(module: str) -> set[str]:
    seen = {module}
    work = [module]
    parent = module.rpartition(".")[0]
    while parent:
        if parent in MODULES:
            seen.add(parent)
            work.append(parent)
        parent = parent.rpartition(".")[0]
    while work:
        for target in direct_imports(work.pop()):
            if target not in seen:
                seen.add(target)
                work.append(target)
    return seen


def unregistered(module: str) -> list[str]:
    known: set[str] = set()
    for loaded in loaded_with(module):
        known |= defined(loaded)
    return [
        f"{module}:{line} says {key!r}"
        for key, line in said(module).items()
        if key not in known and (module, key) not in EXCEPTIONS
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_key_a_module_says_is_registered_by_what_it_imports(package):
    offenders = [
        problem
        for module in MODULES
        if module.split(".")[0] == package
        for problem in unregistered(module)
    ]
    assert offenders == []


def test_the_check_sees_a_key_whose_table_is_not_imported(tmp_path, monkeypatch):
    # The promise above rests on this: a module that says a CLI word without importing
    # cli/words.py is caught, and importing it is enough.
    speaker = ROOT / "cli" / "commands" / "inspect.py"
    without = speaker.read_text(encoding="utf-8").replace(
        "from cli import words as _words  # noqa: F401  (registers the words)\n", ""
    )
    assert "from cli import words" not in without
    planted = tmp_path / "inspect.py"
    planted.write_text(without, encoding="utf-8")
    monkeypatch.setitem(MODULES, "cli.commands.inspect", planted)
    direct_imports.cache_clear()
    try:
        missing = unregistered("cli.commands.inspect")
    finally:
        monkeypatch.undo()
        direct_imports.cache_clear()
    assert any("'inspect.no_problem'" in line for line in missing), missing
    assert unregistered("cli.commands.inspect") == []


def test_the_cli_words_are_no_longer_in_core():
    # core/i18n.py keeps the domain's words; what only a command says lives in cli/.
    core_keys = defined("core.i18n")
    cli_keys = defined("cli.words")
    assert cli_keys and not core_keys & cli_keys
