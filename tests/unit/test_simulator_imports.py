"""The simulator's modules import one another in one direction only (no cycles), and the
connectors never import the simulator."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import simulator

pytestmark = pytest.mark.unit

PACKAGE = Path(simulator.__file__).parent
INGESTION = PACKAGE.parent / "ingestion"


def _module(path: Path) -> str:
    return "simulator" if path.stem == "__init__" else f"simulator.{path.stem}"


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The simulator modules `path` imports anywhere (top level, functions, TYPE_CHECKING)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:  # `from simulator import soql` imports the submodule
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return (found & modules) - {_module(path)}


def _cycles() -> list[list[str]]:
    paths = sorted(PACKAGE.glob("*.py"))
    modules = {_module(path) for path in paths}
    graph = {_module(path): _imports(path, modules) for path in paths}
    cycles = []
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, route = stack.pop()
            for target in sorted(graph[node]):
                if target == start:
                    cycles.append(route)
                elif target not in route and target > start:  # report each cycle once
                    stack.append((target, [*route, target]))
    return cycles


def test_no_simulator_module_imports_a_module_that_imports_it_back():
    assert _cycles() == []


def test_the_world_model_imports_none_of_its_writers():
    modules = {_module(path) for path in PACKAGE.glob("*.py")}
    writers = {"simulator.world", "simulator.story", "simulator.dirt", "simulator.profiles"}
    assert _imports(PACKAGE / "model.py", modules) & writers == set()


def test_the_connectors_never_import_the_simulator():
    importing = []
    for path in sorted(INGESTION.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(name == "simulator" or name.startswith("simulator.") for name in names):
                importing.append(str(path.relative_to(INGESTION.parent)))
    assert importing == []
