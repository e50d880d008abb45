"""A nightly run that reaches the nightly quota share of HubSpot's daily API limit.

Our own simulator, configured as real accounts, gives HubSpot a daily limit of 50 calls and
`LEADBRIDGE_QUOTA_SHARE` lets a night spend half of it; a first load needs more. Two nights
share one Dagster instance, in order:
1. the ingestion step stops loading HubSpot at the quota without failing, Salesforce and
   the files load, dbt and the checks run on what is there, and the summary, the run's tags
   and the materializations say where HubSpot stopped;
2. the next day the night resumes and HubSpot's tables hold everything its API shows.
"""

from __future__ import annotations

from datetime import date

import pytest

from orchestration.summary import summarize
from simulator import SimulatorConfig
from tests.e2e.support import (
    RUN_CONFIG,
    failed_steps,
    run_nightly,
    sql,
    started_steps,
)

pytestmark = pytest.mark.e2e

CONFIG = SimulatorConfig(
    seed=23, people=60, months=3, anchor=date(2026, 10, 31), hubspot_daily_limit=50
)
# 20 records a page: a first night of ~30 HubSpot calls, of which 25 may be spent
HOME_ENV = {"LEADBRIDGE_QUOTA_SHARE": "0.5", "SOURCES__HUBSPOT__PAGE_SIZE": "20"}


@pytest.fixture(scope="module")
def first_night(definitions, instance, home, sim):
    result = run_nightly(definitions, instance, RUN_CONFIG)
    return result, summarize(result, home / "leadbridge.duckdb", 0)


def _api_usage(result, feed: str) -> list[dict]:
    return [
        e.step_materialization_data.materialization.metadata["api_usage"].value
        for e in result.all_events
        if e.is_step_materialization
        and e.step_materialization_data.materialization.asset_key.path[0] == feed
    ]


def test_a_night_at_the_quota_stops_hubspot_cleanly_and_the_summary_says_where(first_night, sim):
    result, summary = first_night
    assert not {"ingest_hubspot", "ingest_salesforce", "ingest_files"} & set(failed_steps(result))
    assert {"ingest_hubspot", "ingest_salesforce", "dbt_build"} <= started_steps(result)
    assert summary.stopped_at_quota() == ["hubspot"]
    hubspot = summary.api_usage["hubspot"]
    assert hubspot["daily_limit"] == 50 and hubspot["quota_share"] == 0.5
    assert 25 <= hubspot["api_calls"] <= 31 and hubspot["stopped_resources"]
    assert summary.api_usage["salesforce"]["stopped_at_quota"] is False
    # every materialization of the feed carries the night's figures
    assert all(u == hubspot for u in _api_usage(result, "hubspot"))
    tags = summary.tags()
    assert tags["leadbridge/stopped_at_quota"] == "hubspot"
    assert tags["leadbridge/api_calls"].startswith(f"hubspot {hubspot['api_calls']}, salesforce ")
    text = summary.render()
    assert "  hubspot: " in text and "STOPPED at the quota share (50%)" in text
    assert sim.requests.statuses("hubspot").keys() == {200}  # never refused by HubSpot


def test_the_next_night_resumes_and_hubspot_holds_everything_its_api_shows(
    first_night, definitions, instance, home, sim
):
    sim.advance_days(1)
    result = run_nightly(definitions, instance, RUN_CONFIG)
    summary = summarize(result, home / "leadbridge.duckdb", 0)
    assert summary.stopped_at_quota() == []
    for table, name in (
        ("contacts", "hubspot.contacts"),
        ("email_events", "hubspot.email_events"),
        ("form_submissions", "hubspot.form_submissions"),
        ("companies", "hubspot.companies"),
    ):
        expected = len(sim.expected(name, include_deleted=table in ("contacts", "companies")))
        assert sql(home, f"select count(*) from hubspot.{table}")[0][0] == expected, table
