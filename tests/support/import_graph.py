"""Import cycles between the repo's own modules: `python -m tests.support.import_graph`.

Builds the graph of imports between the modules of every top-level package (a directory
with `__init__.py`, found at run time) from their source with `ast`, counting imports
anywhere in a module: inside functions and `if TYPE_CHECKING:` blocks too, since a cycle
hidden behind a deferred import is still a cycle in the design. `from x import y` points
at `x.y` when that is a module. Prints every strongly connected component of more than
one module with a cycle through it, and fails on any cycle not in KNOWN_CYCLES and on any
entry of KNOWN_CYCLES that is no longer a cycle, so the list can only shrink.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Not application packages: tests import everything; the rest holds no Python of ours.
EXCLUDED_DIRS = frozenset({"tests", "data", "dbt_project"})

# Cycles tolerated while they are being broken, each the set of modules of one strongly
# connected component; the check fails on an entry that is no longer a cycle. Empty since
# the simulator's model/builder split and the dbt project factory: never add one, break
# the cycle instead.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()


@dataclass(frozen=True)
class Import:
    """One import of a repo module by another, where it is written."""

    importer: str
    imported: str
    line: int
    where: str  # "module", "function" or "type checking" (an `if TYPE_CHECKING:` block)


def discover_packages(root: Path = REPO_ROOT) -> list[str]:
    """The top-level packages: directories holding an `__init__.py`."""
    return sorted(
        path.name
        for path in root.iterdir()
        if path.is_dir()
        and (path / "__init__.py").is_file()
        and path.name.isidentifier()
        and path.name not in EXCLUDED_DIRS
    )


def module_sources(root: Path = REPO_ROOT) -> dict[str, tuple[str, bool]]:
    """Every module of the packages: name -> (source text, whether it is a package)."""
    modules: dict[str, tuple[str, bool]] = {}
    for package in discover_packages(root):
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if not all(part.isidentifier() for part in parts):
                continue
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            modules[name] = (path.read_text(encoding="utf-8"), is_package)
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports_in(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement of a module, with where it is written (see Import.where)."""
    found: list[tuple[ast.Import | ast.ImportFrom, str]] = []

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append((node, where))
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            visit(ast.Module(body=node.body, type_ignores=[]), "type checking")
            visit(ast.Module(body=node.orelse, type_ignores=[]), where)
            return
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            where = "function" if where == "module" else where
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(tree, "module")
    return found


def _known(name: str, modules: dict[str, tuple[str, bool]]) -> str | None:
    """The module `name` refers to: itself, or its longest prefix that is a module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def imports(modules: dict[str, tuple[str, bool]]) -> list[Import]:
    """The imports between the given modules (name -> (source, is_package))."""
    edges: dict[Import, None] = {}  # ordered, without duplicates
    for importer, (source, is_package) in sorted(modules.items()):
        tree = ast.parse(source, filename=importer)
        package = importer if is_package else importer.rpartition(".")[0]
        for node, where in _imports_in(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base_parts = package.split(".")
                    base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                    base = ".".join(part for part in [*base_parts, node.module or ""] if part)
                else:
                    base = node.module or ""
                for alias in node.names:
                    submodule = f"{base}.{alias.name}" if base else alias.name
                    targets.append(submodule if submodule in modules else base)
            for target in targets:
                imported = _known(target, modules)
                if imported is not None and imported != importer:
                    edges[Import(importer, imported, node.lineno, where)] = None
    return list(edges)


def strongly_connected(edges: list[Import]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.imported)
        graph.setdefault(edge.imported, set())
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[frozenset[str]] = []

    def connect(node: str) -> None:
        index[node] = lowlink[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                connect(successor)
                lowlink[node] = min(lowlink[node], lowlink[successor])
            elif successor in on_stack:
                lowlink[node] = min(lowlink[node], index[successor])
        if lowlink[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(components, key=sorted)


def cycle_path(component: frozenset[str], edges: list[Import]) -> list[Import]:
    """A shortest cycle through the component's first module, as the imports that make it."""
    start = min(component)
    first: dict[tuple[str, str], Import] = {}
    for edge in edges:
        if edge.importer in component and edge.imported in component:
            first.setdefault((edge.importer, edge.imported), edge)
    came_from: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for (importer, imported), edge in sorted(first.items()):
            if importer != node:
                continue
            if imported == start:
                path = [edge]
                while path[0].importer != start:
                    path.insert(0, came_from[path[0].importer])
                return path
            if imported not in came_from:
                came_from[imported] = edge
                queue.append(imported)
    raise ValueError(f"no cycle through {start}")  # a component always has one


_WHERE = {"module": "", "function": " (in a function)", "type checking": " (if TYPE_CHECKING)"}


def _line(edge: Import) -> str:
    return f"    {edge.importer}:{edge.line} imports {edge.imported}{_WHERE[edge.where]}"


def describe(component: frozenset[str], edges: list[Import]) -> str:
    """The component's modules, one cycle through them and every import inside it."""
    inside = [e for e in edges if e.importer in component and e.imported in component]
    return "\n".join(
        [
            f"cycle between {len(component)} modules: {', '.join(sorted(component))}",
            "  a cycle:",
            *(_line(edge) for edge in cycle_path(component, edges)),
            "  every import inside it:",
            *(_line(edge) for edge in inside),
        ]
    )


def problems(edges: list[Import], known: frozenset[frozenset[str]] = KNOWN_CYCLES) -> list[str]:
    """New cycles, and KNOWN_CYCLES entries that are no longer (exactly) a cycle.

    A cycle inside a known one (part of a known cycle was broken) asks for the entry to be
    narrowed to it; a cycle anywhere else is new and fails.
    """
    found = strongly_connected(edges)
    messages = []
    for component in found:
        if component in known:
            continue
        wider = [entry for entry in known if component < entry]
        if wider:
            messages.append(
                f"KNOWN_CYCLES lists {_names(min(wider, key=len))}, of which only "
                f"{_names(component)} is still a cycle: narrow the entry to it"
            )
        else:
            messages.append(f"new import {describe(component, edges)}")
    for entry in sorted(known, key=sorted):
        if not any(component <= entry for component in found):
            messages.append(f"KNOWN_CYCLES lists {_names(entry)}, no longer a cycle: remove it")
    return messages


def _names(modules: frozenset[str]) -> str:
    return "{" + ", ".join(sorted(modules)) + "}"


def main(argv: list[str]) -> int:
    """Exit 1 on a problem; `-v` describes the known cycles too."""
    edges = imports(module_sources())
    for component in strongly_connected(edges):
        if component in KNOWN_CYCLES:
            print(
                f"known import {describe(component, edges)}"
                if "-v" in argv
                else f"known import cycle (KNOWN_CYCLES): {_names(component)}"
            )
    messages = problems(edges)
    for message in messages:
        print(message, file=sys.stderr)
    return 1 if messages else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
