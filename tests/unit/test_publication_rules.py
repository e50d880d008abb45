"""Publishing for BI, without I/O: wiring, freshness, paths and the summary's verdict."""

from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from leadbridge.paths import published_path
from leadbridge.settings import PUBLISHED as PUBLISHED_FILE
from orchestration.defs.resources import Warehouse
from orchestration.summary import RunSummary

pytestmark = pytest.mark.unit

PUBLISHED = dg.AssetKey(["published", "marts"])


def _upstream_steps(defs):
    from dagster._core.execution.api import create_execution_plan

    plan = create_execution_plan(defs.resolve_job_def("nightly"))
    step = next(s for s in plan.steps if s.key == "published__marts")
    return {key for inp in step.step_inputs for key in inp.dependency_keys}


def test_publishing_waits_for_the_dbt_build_and_depends_on_every_mart(definitions):
    from orchestration.defs.publish import MART_KEYS, RESTRICTED_KEYS

    graph = definitions.resolve_asset_graph()

    def group(name: str) -> set[dg.AssetKey]:
        return {k for k in graph.materializable_asset_keys if graph.get(k).group_name == name}

    assert group("marts") == set(MART_KEYS) and group("restricted") == set(RESTRICTED_KEYS)
    assert RESTRICTED_KEYS  # the restricted contacts are published too (on PostgreSQL)
    assert set(graph.get(PUBLISHED).parent_keys) == group("marts") | group("restricted")
    assert graph.get(PUBLISHED).group_name == "publish"
    assert "dbt_build" in _upstream_steps(definitions)


def test_publishing_also_waits_for_a_blocking_check_on_a_mart_in_its_own_step(definitions):
    @dg.asset_check(asset=dg.AssetKey(["marts", "dim_person"]), blocking=True)
    def extra_mart_check() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    merged = dg.Definitions.merge(definitions, dg.Definitions(asset_checks=[extra_mart_check]))
    assert "marts__dim_person_extra_mart_check" in _upstream_steps(merged)


def test_the_published_marts_must_be_fresh_within_a_day_and_two_hours(definitions):
    spec = definitions.resolve_assets_def(PUBLISHED).get_asset_spec(PUBLISHED)
    policy = spec.freshness_policy
    assert policy.fail_window.to_timedelta() == timedelta(hours=26)
    assert policy.warn_window.to_timedelta() == timedelta(hours=25)


def test_the_serving_file_sits_beside_the_warehouse_unless_configured(monkeypatch, tmp_path):
    monkeypatch.delenv(PUBLISHED_FILE.name, raising=False)
    warehouse = tmp_path / "w" / "leadbridge.duckdb"
    assert published_path(warehouse) == tmp_path / "w" / "published" / "leadbridge_marts.duckdb"
    assert Warehouse(path=str(warehouse)).published_file == published_path(warehouse)
    monkeypatch.setenv(PUBLISHED_FILE.name, str(tmp_path / "bi" / "marts.duckdb"))
    assert Warehouse(path=str(warehouse)).published_file == tmp_path / "bi" / "marts.duckdb"
    assert (
        Warehouse(path=str(warehouse), published_path=str(tmp_path / "x.duckdb")).published_file
        == tmp_path / "x.duckdb"
    )


def _summary(**kwargs):
    return RunSummary(
        success=False,
        duration_seconds=1.0,
        warehouse=Path("/w/leadbridge.duckdb"),
        published_file=Path("/w/published/leadbridge_marts.duckdb"),
        **kwargs,
    )


def test_the_summary_says_where_the_marts_were_published():
    summary = _summary(published={"tables": 15, "dagster/row_count": 1234, "content_hash": "ab"})
    assert summary.publication_lines() == [
        "Published: /w/published/leadbridge_marts.duckdb (15 tables, 1234 rows, content hash "
        "ab); BI tools read it read-only"
    ]
    assert "NOT published" not in summary.render()


def test_the_summary_says_a_failed_night_left_yesterdays_marts_in_place():
    previous = {"run_id": "r-1", "published_at": datetime(2026, 11, 26, 1, 12, 30)}
    assert _summary(previous_publication=previous).publication_lines() == [
        "NOT published: yesterday's marts at /w/published/leadbridge_marts.duckdb stay in "
        "place (published 2026-11-26 01:12 UTC by run r-1)"
    ]
    assert _summary().publication_lines() == [
        "NOT published: nothing has been published yet at "
        "/w/published/leadbridge_marts.duckdb; BI tools have no marts until a night passes "
        "every blocking check"
    ]
