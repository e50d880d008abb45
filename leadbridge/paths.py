"""Where Leadbridge's files live, resolved from the repository root."""

from __future__ import annotations

import sys
from pathlib import Path

from leadbridge.settings import WAREHOUSE, Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"
# Where `dbt parse` writes the manifest (dagster-dbt's `DbtProject` reads the same file).
DBT_MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
DEFAULT_WAREHOUSE = REPO_ROOT / str(WAREHOUSE.default)
PUBLISHED_NAME = "leadbridge_marts.duckdb"
# The dbt of this environment: dagster-dbt would search PATH (and prefer dbt Fusion).
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


def warehouse_path(configured: str | None = None) -> Path:
    """The warehouse file: the configured path, else `$LEADBRIDGE_WAREHOUSE`, else data/."""
    raw = configured or Settings.from_env().warehouse or str(DEFAULT_WAREHOUSE)
    return Path(raw).expanduser().resolve()


def published_path(warehouse_file: Path, configured: str | None = None) -> Path:
    """The serving file BI tools read: configured, else `$LEADBRIDGE_PUBLISHED`, else
    `published/leadbridge_marts.duckdb` beside the warehouse (so a temp warehouse
    publishes into its own temp folder, never into the repository's `data/`)."""
    raw = configured or Settings.from_env().published
    if raw:
        return Path(raw).expanduser().resolve()
    return warehouse_file.parent / "published" / PUBLISHED_NAME


def reports_path(warehouse_file: Path) -> Path:
    """Where the weekly alignment reports go: `reports/` beside the warehouse (data/)."""
    return warehouse_file.parent / "reports"
