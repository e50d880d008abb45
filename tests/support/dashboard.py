"""Helpers for the dashboard's tests: the app under AppTest, a metric by its label, and
SQL against a published file."""

from __future__ import annotations

from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

from leadbridge.paths import REPO_ROOT

APP = REPO_ROOT / "dashboard" / "app.py"
# dbt models only: the data and unit tests run in test_dbt_scenario
MODELS_ONLY = ["--exclude-resource-type", "test", "unit_test"]


def sql(path: Path, statement: str) -> list[tuple]:
    """The rows of `statement` on the published file at `path`, opened read-only."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(statement).fetchall()


def app(page: str | None = None) -> AppTest:
    """The dashboard run once, on `page` (a script of dashboard.navigation) or the default
    page; fails on any exception the page raised."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    """The value of the one metric labelled `label`."""
    values = [m.value for m in at.metric if m.label == label]
    assert len(values) == 1, [m.label for m in at.metric]
    return values[0]
