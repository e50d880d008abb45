"""Every test file carries its folder's marker, so `-m unit` (or integration, e2e) selects
exactly that folder."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

TESTS = Path(__file__).resolve().parents[1]
FOLDERS = ("unit", "integration", "e2e")


def _module_marks(path: Path) -> set[str]:
    """The `pytest.mark.<name>` names in the module's top-level `pytestmark`."""
    for node in ast.parse(path.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
            return {
                mark.attr
                for mark in ast.walk(node.value)
                if isinstance(mark, ast.Attribute)
                and isinstance(mark.value, ast.Attribute)
                and mark.value.attr == "mark"
            }
    return set()


def test_every_test_file_carries_its_folders_marker():
    unmarked = [
        str(path.relative_to(TESTS))
        for folder in FOLDERS
        for path in sorted((TESTS / folder).rglob("test_*.py"))
        if folder not in _module_marks(path)
    ]
    assert unmarked == []


def test_test_files_live_in_one_of_the_marked_folders():
    stray = [
        str(path.relative_to(TESTS))
        for path in sorted(TESTS.rglob("test_*.py"))
        if path.relative_to(TESTS).parts[0] not in FOLDERS
    ]
    assert stray == []


def test_the_markers_are_registered(pytestconfig):
    registered = {line.split(":")[0] for line in pytestconfig.getini("markers")}
    assert set(FOLDERS) <= registered
