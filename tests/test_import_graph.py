"""No import cycle among epochlog's modules, nor among its subpackages, counting the imports a module runs
when it is imported.

Imports inside functions (optional heavy dependencies, loaded lazily) and under `if TYPE_CHECKING:` are
left out: they do not run at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import epochlog

PACKAGE = Path(epochlog.__file__).parent


def _module_name(path: Path) -> str:
    parts = ("epochlog", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements run at import time: at module level, also inside try/if/with, not in defs."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        statement = pending.pop()
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            found.append(statement)
        elif isinstance(statement, ast.If):
            if not _is_type_checking(statement.test):
                pending += statement.body
            pending += statement.orelse
        elif isinstance(statement, ast.Try):
            pending += statement.body + statement.orelse + statement.finalbody
            pending += [item for handler in statement.handlers for item in handler.body]
        elif isinstance(statement, ast.With):
            pending += statement.body
    return found


def _targets(statement: ast.Import | ast.ImportFrom, module: str, is_package: bool,
             modules: set[str]) -> set[str]:
    """The epochlog modules `statement` imports (for `from x import y`, `x.y` if that is a module, else `x`)."""
    if isinstance(statement, ast.Import):
        names = [alias.name for alias in statement.names]
    else:
        if statement.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[:len(base) - statement.level + 1]
            prefix = ".".join(base + ([statement.module] if statement.module else []))
        else:
            prefix = statement.module or ""
        names = [f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in modules else prefix
                 for alias in statement.names]
    found = {name for name in names if name in modules}
    # importing a.b.c runs the package a.b first, unless it is one `module` is already part of
    return found | {parent for name in found for parent in _parents(name)
                    if parent in modules and not (module + ".").startswith(parent + ".")}


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph() -> dict[str, set[str]]:
    """Each epochlog module -> the epochlog modules it imports at import time."""
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for statement in _module_level_imports(tree):
            edges |= _targets(statement, module, is_package, modules)
        graph[module] = edges - {module}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """`graph` with each module taken as its subpackage of epochlog (`epochlog.query.aggregate.match` as
    `epochlog.query`); top-level modules stay themselves."""
    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    packages: dict[str, set[str]] = {}
    for module, targets in graph.items():
        packages.setdefault(unit(module), set()).update(unit(target) for target in targets)
    return {package: targets - {package} for package, targets in packages.items()}


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert "epochlog.query.parse" in graph["epochlog.query"]
    assert "epochlog.errors" in graph["epochlog.query.parse"]


def test_find_cycle_reports_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_epochlog() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_between_epochlogs_subpackages() -> None:
    """store/ uses query/ to compile and evaluate filters; query/ must not need store/ back."""
    cycle = find_cycle(package_graph(import_graph()))
    assert cycle is None, "import cycle between subpackages: " + " -> ".join(cycle or [])
