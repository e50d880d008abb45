"""Shared fixtures: the dbt manifest Dagster needs and a
throw-away PostgreSQL server."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def ensure_manifest() -> Path:
    """`dbt parse` once if the manifest is missing (make test parses before pytest)."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        dbt = Path(sys.executable).with_name("dbt")
        subprocess.run(
            [
                str(dbt),
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
