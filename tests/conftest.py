"""Shared fixtures: the dbt manifest Dagster needs, and isolated warehouse folders."""

from __future__ import annotations

import os
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


@pytest.fixture
def isolated_home(tmp_path, monkeypatch) -> Path:
    """A temp folder for the warehouse, dlt state and file drops; no real credentials."""
    for key in list(os.environ):
        if key.startswith(("SOURCES__", "DESTINATION__")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "leadbridge.duckdb"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return tmp_path
