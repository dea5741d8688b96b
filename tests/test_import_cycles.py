"""No import cycles among the project's own modules (issue 12, item 6).

The walk is static (``ast``), so it needs no optional engine installed and sees every import:
module level, inside functions (a lazy import still closes a loop; it only hides it until the
function runs) and inside ``try`` blocks. Imports under ``if TYPE_CHECKING:`` never run and are
left out. An edge goes to the module an import names: ``from a.b import c`` reaches ``a.b.c``
when that is a module, else ``a.b``. Parent packages' ``__init__`` modules are not counted as
imported, since re-exporting a submodule from its package is not a cycle of design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("libra_guard", "serving", "components", "pipelines")


def _module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from (i for child in node.orelse for i in _imports_in(child))
            continue
        yield from _imports_in(node)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _imports(node)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
    yield base
    yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports."""
    modules = _module_files()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in _imports(tree):
            names = list(_targets(node, module, path.name == "__init__.py"))
            submodules = [name for name in names[1:] if name in modules]
            if isinstance(node, ast.ImportFrom) and submodules:
                edges.update(submodules)
                if len(submodules) < len(names) - 1 and names[0] in modules:
                    edges.add(names[0])
            else:
                edges.update(name for name in names if name in modules)
        edges.discard(module)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_walk_sees_lazy_imports_and_skips_type_checking_ones() -> None:
    source = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import b\n"
        "def f():\n    from c import d\n"
        "try:\n    import e.f\nexcept ImportError:\n    pass\n"
    )
    seen = [name for node in _imports(source) for name in _targets(node, "a", False)]
    assert seen == ["typing", "typing.TYPE_CHECKING", "c", "c.d", "e.f"]


def test_the_cycle_finder_reports_each_loop_once() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": set()}
    assert cycles(graph) == [["a", "b", "c"], ["d", "e"]]


def test_the_graph_covers_the_project() -> None:
    graph = import_graph()
    assert {"libra_guard.cli.main", "serving.app", "pipelines.local_run"} <= set(graph)
    assert "libra_guard.data.synth.lexicon" in graph["libra_guard.data.synth.generator"]


def test_project_imports_have_no_cycles() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles (each line one loop; make the dependency point one way):\n" + (
        "\n".join(" <-> ".join(component) for component in found)
    )
