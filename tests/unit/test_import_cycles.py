"""Import cycles (tests/support/import_graph.py): the repo has none beyond KNOWN_CYCLES, every
entry there is still exactly a cycle, and the checker finds cycles hidden behind deferred,
relative and submodule imports."""

from __future__ import annotations

import pytest

from tests.support.import_graph import (
    KNOWN_CYCLES,
    discover_packages,
    imports,
    module_sources,
    problems,
    strongly_connected,
)

pytestmark = pytest.mark.unit


def _cycles(modules: dict[str, str]) -> list[frozenset[str]]:
    """The cycles of in-memory modules (name -> source; a name ending in .__init__ is a package)."""
    sources = {
        name.removesuffix(".__init__"): (source, name.endswith(".__init__"))
        for name, source in modules.items()
    }
    return strongly_connected(imports(sources))


def test_the_repo_has_no_import_cycle_beyond_the_known_ones_and_each_known_one_remains():
    assert problems(imports(module_sources())) == []


def test_packages_are_discovered_and_tests_and_the_dbt_project_are_not():
    packages = discover_packages()
    assert {"ingestion", "orchestration", "benchmarks"} <= set(packages)
    assert not {"tests", "dbt_project", "data"} & set(packages)


def test_an_import_inside_a_function_closes_a_cycle():
    cycles = _cycles(
        {
            "app.__init__": "",
            "app.world": "from app.config import Config\n",
            "app.config": "def check():\n    from app.world import build\n",
        }
    )
    assert cycles == [frozenset({"app.world", "app.config"})]


def test_from_package_import_submodule_points_at_the_submodule():
    cycles = _cycles(
        {
            "app.__init__": "",
            "app.world": "def build():\n    from app import dirt, story\n",
            "app.dirt": "from app.world import World\n",
            "app.story": "X = 1\n",
        }
    )
    assert cycles == [frozenset({"app.world", "app.dirt"})]


def test_relative_and_type_checking_imports_count():
    cycles = _cycles(
        {
            "app.__init__": "",
            "app.sub.__init__": "from .a import A\n",
            "app.sub.a": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..b import B\n"
            ),
            "app.b": "import app.sub\n",
        }
    )
    assert cycles == [frozenset({"app.sub", "app.sub.a", "app.b"})]


def test_from_package_import_name_points_at_the_package_and_a_submodule_at_itself():
    package_imports_world = "from app.world import World\n"
    assert _cycles(
        {"app.__init__": package_imports_world, "app.world": "from app import VERSION\n"}
    ) == [frozenset({"app", "app.world"})]
    assert (
        _cycles(
            {
                "app.__init__": package_imports_world,
                "app.world": "from app import config\n",
                "app.config": "import json\n",
            }
        )
        == []
    )


def test_a_new_cycle_and_a_stale_or_too_wide_entry_are_reported():
    edges = imports(
        {
            "app": ("", True),
            "app.a": ("import app.b\n", False),
            "app.b": ("import app.a\n", False),
        }
    )
    cycle = frozenset({"app.a", "app.b"})
    assert problems(edges, frozenset({cycle})) == []
    [new] = problems(edges, frozenset())
    assert new.startswith("new import cycle between 2 modules: app.a, app.b")
    assert "app.a:1 imports app.b" in new and "app.b:1 imports app.a" in new
    stale = frozenset({"app.c", "app.d"})
    assert problems(edges, frozenset({cycle, stale})) == [
        "KNOWN_CYCLES lists {app.c, app.d}, no longer a cycle: remove it"
    ]
    wider = frozenset({"app.a", "app.b", "app.c"})
    assert problems(edges, frozenset({wider})) == [
        "KNOWN_CYCLES lists {app.a, app.b, app.c}, of which only {app.a, app.b} is still a "
        "cycle: narrow the entry to it"
    ]


def test_known_cycles_name_modules_that_exist():
    modules = module_sources()
    assert all(name in modules for entry in KNOWN_CYCLES for name in entry)
