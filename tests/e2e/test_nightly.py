"""The nightly job end to end: demo sources → dlt → GX → dbt build, in a temp folder.

Three runs share one warehouse (module-scoped, in order): the first loads everything,
the second finds no change, the third meets corrupted raw data and must not build.
"""

from __future__ import annotations

import duckdb
import pytest

from ingestion.simulator import SimulatedApis, SimulatorConfig
from ingestion.sources.salesforce import OBJECTS
from orchestration.summary import summarize

DEMO = {"demo_people": 80, "demo_months": 3, "demo_seed": 11}
RUN_CONFIG = {"resources": {"sources": {"config": DEMO}}}
MARTS = {
    "dim_account",
    "dim_campaign",
    "dim_lead_contract",
    "dim_owner",
    "dim_person",
    "fct_attribution",
    "fct_funnel",
    "fct_lead_events",
    "fct_lifecycle_stages",
    "fct_sla",
    "mart_handoff_queue",
    "mart_kpis_daily",
    "mart_sync_health",
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("nightly")
    (path / "dagster_home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADBRIDGE_WAREHOUSE", str(path / "leadbridge.duckdb"))
        patch.setenv("DAGSTER_HOME", str(path / "dagster_home"))
        patch.setenv("LEADBRIDGE_DLT_PROGRESS", "off")
        yield path


@pytest.fixture(scope="module")
def world():
    """What the demo APIs expose, from the simulator itself (not from the warehouse)."""
    from datetime import date

    config = SimulatorConfig(
        seed=DEMO["demo_seed"],
        people=DEMO["demo_people"],
        months=DEMO["demo_months"],
        anchor=date(2026, 10, 31),
    )
    return SimulatedApis(config)


def _run(definitions):
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        return definitions.resolve_job_def("nightly").execute_in_process(
            run_config=RUN_CONFIG, instance=instance, raise_on_error=False
        )


def _sql(home, sql):
    with duckdb.connect(str(home / "leadbridge.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


@pytest.fixture(scope="module")
def first_run(definitions, home):
    result = _run(definitions)
    return result, summarize(result, home / "leadbridge.duckdb", 0)


def test_the_first_night_loads_every_source_record_and_builds_every_mart(first_run, home, world):
    result, summary = first_run
    assert result.success, summary.render()
    assert summary.failed_steps == [] and summary.checks_failed == []

    expected = {
        f"salesforce.{t.name}": len(world.expected(f"salesforce.{o}", include_deleted=True))
        for o, t in OBJECTS.items()
    }
    expected["hubspot.contacts"] = len(world.expected("hubspot.contacts", include_deleted=True))
    expected["hubspot.form_submissions"] = len(world.expected("hubspot.form_submissions"))
    expected["hubspot.email_events"] = len(world.expected("hubspot.email_events"))
    loaded = {t: _sql(home, f"select count(*) from {t}")[0][0] for t in expected}
    assert loaded == expected
    assert {t: summary.rows_loaded[t] for t in expected} == expected

    marts = {
        r[0]
        for r in _sql(
            home, "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    }
    assert marts >= MARTS
    assert len([m for m in summary.models_built if m.startswith("marts/")]) >= len(MARTS)


def test_the_marts_reconcile_with_the_raw_data(first_run, home):
    people = _sql(home, "select count(*) from marts.dim_person")[0][0]
    assert _sql(home, "select count(*) from marts.fct_funnel")[0][0] == people
    # every raw form submission is one event on the unified timeline
    submissions = _sql(home, "select count(*) from hubspot.form_submissions")[0][0]
    assert (
        _sql(
            home, "select count(*) from marts.fct_lead_events where event_type = 'form_submission'"
        )[0][0]
        == submissions
    )
    # a campaign run in both systems under one name is one campaign
    names = _sql(home, "select count(distinct lower(trim(name))) from (select hs_name as name "
                       "from hubspot.campaigns union all select name from salesforce.campaign)")
    assert _sql(home, "select count(*) from marts.dim_campaign") == names
        # every event row names its source record, once
    assert (
        _sql(
            home,
            "select count(*) from marts.fct_lead_events "
            "where source_system is null or source_record_id is null",
        )[0][0]
        == 0
    )
    assert (
        _sql(home, "select count(*) - count(distinct event_id) from marts.fct_lead_events")[0][0]
        == 0
    )


def test_a_second_night_without_changes_loads_nothing_new_and_changes_no_mart(
    first_run, definitions, home
):
    before = _sql(
        home, "select count(*), sum(hash(person_id, current_stage)) from marts.dim_person"
    )
    result = _run(definitions)
    summary = summarize(result, home / "leadbridge.duckdb", 0)
    assert result.success, summary.render()
    # lead history is re-read over its look-back window and merged, not added
    assert {
        t: n for t, n in summary.rows_loaded.items() if n and t != "salesforce.lead_history"
    } == {}
    assert (
        _sql(home, "select count(*), sum(hash(person_id, current_stage)) from marts.dim_person")
        == before
    )


def test_corrupt_raw_data_stops_the_build_and_leaves_the_marts_alone(first_run, definitions, home):
    before = _sql(
        home, "select count(*), sum(hash(person_id, current_stage)) from marts.dim_person"
    )
    with duckdb.connect(str(home / "leadbridge.duckdb")) as con:
        con.execute("insert into salesforce.lead select * from salesforce.lead limit 1")
    result = _run(definitions)
    summary = summarize(result, home / "leadbridge.duckdb", 0)
    assert not result.success
    assert [name for name, _ in summary.checks_failed] == ["salesforce/lead:gx_salesforce__lead"]
    failure = dict(summary.checks_failed)["salesforce/lead:gx_salesforce__lead"]
    assert failure["failed_rows"] == 2  # the duplicated id, both copies
    started = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert "ingest_salesforce" in started and "dbt_build" not in started
    assert (
        _sql(home, "select count(*), sum(hash(person_id, current_stage)) from marts.dim_person")
        == before
    )
