"""The assembled Dagster definitions: graph snapshot, lineage, schedule, groups.

The snapshot makes any rename of an asset or a check a visible diff. To accept an
intended change: LEADBRIDGE_UPDATE_SNAPSHOTS=1 pytest tests/unit/test_definitions.py
"""

import os
from pathlib import Path

import dagster as dg
import pytest

pytestmark = pytest.mark.unit

SNAPSHOT = Path(__file__).with_name("definitions.snapshot.txt")


def _graph(defs):
    return defs.resolve_asset_graph()


def test_asset_keys_and_checks_match_the_snapshot(definitions):
    graph = _graph(definitions)
    assets = sorted(k.to_user_string() for k in graph.get_all_asset_keys())
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    text = "\n".join(["# assets", *assets, "# checks", *checks]) + "\n"
    if os.environ.get("LEADBRIDGE_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()


def test_every_dbt_source_is_produced_by_a_dlt_asset(definitions):
    graph = _graph(definitions)
    materializable = set(graph.materializable_asset_keys)
    dangling = sorted(
        key.to_user_string() for key in graph.get_all_asset_keys() if key not in materializable
    )
    assert dangling == []
    staging_parents = {
        parent
        for key in materializable
        if key.path[-1].startswith("stg_")
        for parent in graph.get(key).parent_keys
    }
    raw = {key for key in materializable if graph.get(key).group_name == "ingestion"}
    assert staging_parents and staging_parents <= raw


def test_every_raw_asset_carries_the_freshness_its_dbt_source_declares(definitions):
    """The thresholds live in the sources YAML; each raw asset gets them as its policy."""
    import yaml

    from leadbridge.paths import DBT_PROJECT_DIR

    declared = {}
    for yml in (DBT_PROJECT_DIR / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(yml.read_text())["sources"]:
            freshness = source["freshness"]
            for table in source["tables"]:
                declared[(source["name"], table["name"])] = (
                    freshness["warn_after"]["count"],
                    freshness["error_after"]["count"],
                )
    graph = _graph(definitions)
    raw = [
        key for key in graph.materializable_asset_keys if graph.get(key).group_name == "ingestion"
    ]
    assert len(raw) == len(declared) == 22
    for key in raw:
        policy = graph.get(key).freshness_policy
        assert policy is not None, key
        warn, fail = declared[tuple(key.path)]
        hours = (policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta())
        assert [h.total_seconds() / 3600 for h in hours] == [warn, fail], key


def test_groups_are_ingestion_staging_intermediate_marts_restricted_and_contract(definitions):
    graph = _graph(definitions)
    groups = {graph.get(key).group_name for key in graph.materializable_asset_keys}
    assert {"ingestion", "staging", "marts", "restricted"} <= groups
    assert groups <= {
        "ingestion",
        "staging",
        "intermediate",
        "marts",
        "restricted",
        "lead_contract",
        "publish",
        "activation",
    }


def test_the_nightly_schedule_runs_the_nightly_job_at_two_in_berlin(definitions):
    schedule = definitions.resolve_schedule_def("nightly_at_two")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Europe/Berlin"
    assert schedule.job_name == "nightly"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_nightly_job_runs_in_one_process(definitions):
    job = definitions.resolve_job_def("nightly")
    assert job.executor_def.name == "in_process"


def test_raw_table_checks_block_downstream(definitions):
    graph = _graph(definitions)
    gx_checks = [k for k in graph.asset_check_keys if k.name.startswith("gx_")]
    assert gx_checks
    for key in gx_checks:
        assert graph.get_check_spec(key).blocking, key


def test_the_dbt_build_waits_for_every_blocking_raw_check(definitions):
    """Checks on the marts run after the build; those on raw tables must gate it."""
    from dagster._core.execution.api import create_execution_plan

    plan = create_execution_plan(definitions.resolve_job_def("nightly"))
    steps = {step.key: step for step in plan.steps}
    upstream = {key for inp in steps["dbt_build"].step_inputs for key in inp.dependency_keys}
    raw_feeds = ("hubspot__", "files__", "salesforce__")
    raw_gx_steps = {key for key in steps if "_gx_" in key and key.startswith(raw_feeds)}
    assert raw_gx_steps and raw_gx_steps <= upstream


def test_a_scheduled_night_pins_the_marts_now_to_its_tick():
    from orchestration.defs.transform import NightConfig, night_of

    tick = {"dagster/scheduled_execution_time": "2026-11-28T02:00:00+01:00"}
    assert night_of(NightConfig(), tick) == "2026-11-28 01:00:00"
    assert night_of(NightConfig(as_of="2026-11-01 02:00:00"), tick) == "2026-11-01 02:00:00"
    assert night_of(NightConfig(), {}) is None
