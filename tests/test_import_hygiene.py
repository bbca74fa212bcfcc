"""The layers import one way (core knows no adapter, neither knows an interface); headless
commands never load Textual (they must start fast)."""

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


# The layers (docs/ARCHITECTURE.md): what each may never import, wherever the import sits
# (in a function or under `if TYPE_CHECKING:` too). Data flows one way: the adapters know
# the core, the core knows no adapter; neither knows an interface, nor Textual or Rich.
FORBIDDEN = {
    "core": ("directory_adapters", "tui", "cli", "textual", "rich"),
    "directory_adapters": ("tui", "cli", "textual", "rich"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[layer]
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


# -- the two interfaces apart (issue 19) ---------------------------------------------------------

# The only places the headless commands may load the TUI: the functions that launch it.
CLI_LAUNCHERS = {
    "cli/commands/wizard.py": {"run", "demo"},
    "cli/commands/config.py": {"setup"},
}


def imports_with_place(path: Path) -> list[tuple[str, str | None, int]]:
    """Every module an import names (`from a import b` names `a.b`, and `a` unless b is a
    module of package a), with the innermost function it sits in (None: module level,
    `if TYPE_CHECKING` included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = module_name(path)
    found: list[tuple[str, str | None, int]] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Import):
                found.extend((alias.name, function, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    package = module.split(".")
                    if path.name != "__init__.py":
                        package = package[:-1]
                    package = package[: len(package) - (child.level - 1)]
                    base = ".".join([*package, base] if base else package)
                # `from package import submodule` imports the submodule (as import-linter
                # counts it): the package's __init__ only when a name is not a module of it.
                if not all(is_module(f"{base}.{a.name}") for a in child.names):
                    found.append((base, function, child.lineno))
                found.extend((f"{base}.{a.name}", function, child.lineno) for a in child.names)
            visit(child, function)

    visit(tree, None)
    return found


def is_module(name: str) -> bool:
    where = ROOT.joinpath(*name.split("."))
    return where.with_suffix(".py").is_file() or (where / "__init__.py").is_file()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, wherever the import sits."""
    modules = {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported, _, _ in imports_with_place(path):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def test_the_cycle_finder_finds_loops_and_only_loops():
    graph = {
        "a": {"b"},
        "b": {"c"},
        "c": {"a", "d"},
        "d": {"e"},
        "e": {"d"},
        "f": {"a"},
        "g": set(),
    }
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_the_graph_sees_imports_hidden_in_functions():
    # The checks below rest on this: an import inside a function still counts, with its place.
    imports = imports_with_place(ROOT / "cli" / "commands" / "wizard.py")
    assert {f for m, f, _ in imports if m == "tui.app"} == {"run", "demo"}
    assert "cli.commands.wizard" in import_graph("cli")["cli.main"]
    assert "tui.screens.end" in import_graph("tui")["tui.screens.step"]


def test_no_tui_module_imports_the_cli():
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / "tui").rglob("*.py"))
        for name, _, line in imports_with_place(path)
        if name.split(".")[0] == "cli"
        # `python -m tui` is `idpronote`: its entry point runs the CLI's frame and nothing else.
        and path != ROOT / "tui" / "__main__.py"
    ]
    assert offenders == []


def test_the_cli_loads_the_tui_only_to_launch_the_wizard_or_setup():
    offenders = []
    for path in sorted((ROOT / "cli").rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        for name, function, line in imports_with_place(path):
            if name.split(".")[0] not in ("tui", "textual", "rich"):
                continue
            if function is None or function not in CLI_LAUNCHERS.get(where, set()):
                offenders.append(f"{where}:{line} imports {name} in {function or 'the module'}")
    assert offenders == []


def test_the_tui_has_no_import_loop_but_two_screens_opening_each_other():
    found = cycles(import_graph("tui"))
    allowed = [c for c in found if len(c) == 2 and all(m.startswith("tui.screens.") for m in c)]
    assert found == allowed, found
    assert len(allowed) <= 1, found


@pytest.mark.parametrize("package", ["core", "directory_adapters", "cli", "bench"])
def test_no_other_package_has_an_import_loop(package):
    assert cycles(import_graph(package)) == []
