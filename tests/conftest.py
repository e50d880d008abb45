"""Shared fixtures: the dbt manifest Dagster needs, the simulator a test module's
`CONFIG` describes, and a throw-away PostgreSQL server."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

from leadbridge.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR
from simulator import SimulatedApis


def ensure_manifest() -> Path:
    """`dbt parse` once if the manifest is missing (make test parses before pytest)."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        subprocess.run(
            [
                str(DBT_EXECUTABLE),
                "parse",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--quiet",
            ],
            check=True,
        )
    return manifest


@pytest.fixture(scope="session")
def definitions():
    """The assembled Dagster definitions."""
    ensure_manifest()
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def sim(request):
    """The simulator serving the test module's `CONFIG`, shared by the module's tests."""
    with SimulatedApis.start(request.module.CONFIG) as running:
        yield running


@pytest.fixture(scope="module")
def http(request):
    """An HTTP session carrying the bearer token of the test module's `CONFIG`, for
    requests straight to the simulator."""
    import requests

    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {request.module.CONFIG.token}"
        yield session


@pytest.fixture
def fresh_sim(request):
    """A simulator serving the test module's `CONFIG` to one test only (for tests that
    move its clock or spend its quota)."""
    with SimulatedApis.start(request.module.CONFIG) as running:
        yield running


@pytest.fixture
def no_source_credentials(monkeypatch):
    """No `SOURCES__*` credentials in the environment: the connections come from the test."""
    for key in [k for k in os.environ if k.startswith("SOURCES__")]:
        monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def postgres_server():
    """A throw-away PostgreSQL server on loopback (tests/support/postgres.py), installed
    with apt-get where missing; tests using it are skipped with the reason where no
    server can be started."""
    from tests.support.postgres import PostgresUnavailable, postgres_server

    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(postgres_server())
        except PostgresUnavailable as error:
            pytest.skip(f"PostgreSQL cannot be started here: {error}")
        yield server


@pytest.fixture(scope="session")
def scenario_marts(tmp_path_factory: pytest.TempPathFactory):
    """The hand-written scenario's warehouse, its dbt models built once per test session
    (no dbt tests: test_dbt_scenario runs them), and what its manifest keeps unpublished."""
    from leadbridge.publication import Unpublished
    from tests.fixtures.raw_scenario import create_raw_scenario
    from tests.support.dashboard import MODELS_ONLY
    from tests.support.dbt_scenario import run_dbt

    work = tmp_path_factory.mktemp("scenario_marts")
    warehouse = work / "warehouse.duckdb"
    create_raw_scenario(warehouse)
    run_dbt(["build", *MODELS_ONLY], warehouse, work)
    return warehouse, Unpublished.from_manifest(work / "target" / "manifest.json")


@pytest.fixture
def published(scenario_marts, tmp_path, monkeypatch) -> Path:
    """The scenario's marts published to a serving file the dashboard is pointed at."""
    from leadbridge.publication import publish_marts

    warehouse, hidden = scenario_marts
    target = tmp_path / "published" / "leadbridge_marts.duckdb"
    publish_marts(warehouse, target, "night-1", hidden)
    monkeypatch.setenv("LEADBRIDGE_PUBLISHED", str(target))
    monkeypatch.setenv("LEADBRIDGE_TARGET", "duckdb")
    return target
