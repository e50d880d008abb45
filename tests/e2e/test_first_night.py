"""The first night on a young or unused org, configured as real accounts, succeeds and
publishes: an object with no records still becomes its raw table, every check and dbt
model runs on the empty tables, and the default drop folder is created.

Two orgs of the simulator's profiles (simulator/profiles.py): `empty` (only
its users and owners) and `sparse` (only leads and contacts). Each night starts from a
fresh clone's state: credentials set, no drop folder, no `SOURCES__FILES__DROP_DIR`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from ingestion.pipelines import FEEDS
from orchestration.summary import summarize
from simulator import SimulatedApis, SimulatorConfig
from tests.e2e.support import RUN_CONFIG, isolated_home, memory_instance, run_nightly, sql

pytestmark = pytest.mark.e2e

CONFIG = SimulatorConfig(seed=5, people=60, months=3, anchor=date(2026, 10, 31))


def _declared_tables() -> dict[str, set[str]]:
    """Every raw table the connectors declare, by feed."""
    tables: dict[str, set[str]] = {}
    placeholders = {
        "hubspot": {"access_token": "t", "base_url": "http://x.invalid"},
        "salesforce": {"access_token": "t", "instance_url": "http://x.invalid"},
        "files": {"drop_dir": "x"},
    }
    for feed, spec in FEEDS.items():
        source = spec.make_source(**placeholders[feed])
        tables[feed] = {str(r.table_name) for r in source.resources.values()}
    return tables


def _night(tmp_path_factory, definitions, profile: str):
    home = tmp_path_factory.mktemp(f"{profile}_org")
    with (
        SimulatedApis.start(replace(CONFIG, profile=profile)) as sim,
        isolated_home(
            home,
            SOURCES__HUBSPOT__BASE_URL=sim.hubspot_base_url,
            SOURCES__HUBSPOT__ACCESS_TOKEN=sim.token,
            SOURCES__SALESFORCE__INSTANCE_URL=sim.salesforce_instance_url,
            SOURCES__SALESFORCE__ACCESS_TOKEN=sim.token,
        ),
        memory_instance() as instance,
    ):
        result = run_nightly(definitions, instance, {"ops": RUN_CONFIG["ops"]})
        summary = summarize(result, home / "leadbridge.duckdb", 0)
    return home, result, summary


@pytest.fixture(scope="module")
def empty_org(tmp_path_factory, definitions):
    return _night(tmp_path_factory, definitions, "empty")


@pytest.fixture(scope="module")
def sparse_org(tmp_path_factory, definitions):
    return _night(tmp_path_factory, definitions, "sparse")


@pytest.mark.parametrize("org", ["empty_org", "sparse_org"])
def test_the_first_night_of_a_young_org_succeeds_and_publishes(org, request):
    home, result, summary = request.getfixturevalue(org)
    assert result.success, summary.render()
    assert summary.failed_steps == [] and summary.checks_failed == []
    assert summary.published is not None
    assert (home / "inbox").is_dir()  # the default drop folder, created


@pytest.mark.parametrize("org", ["empty_org", "sparse_org"])
def test_every_declared_raw_table_exists_even_when_its_object_had_no_records(org, request):
    home, result, summary = request.getfixturevalue(org)
    assert result.success, summary.render()
    present = {
        (schema, table)
        for schema, table in sql(
            home, "select table_schema, table_name from information_schema.tables"
        )
    }
    declared = {(feed, table) for feed, tables in _declared_tables().items() for table in tables}
    assert declared <= present
    assert sql(home, "select count(*) from salesforce.task") == [(0,)]
    assert sql(home, "select count(*) from hubspot.form_submissions") == [(0,)]
    # with its declared columns and types, and dlt's own
    columns = dict(
        sql(
            home,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'salesforce' and table_name = 'task'",
        )
    )
    assert columns["completed_date_time"] == "TIMESTAMP WITH TIME ZONE"
    assert columns["activity_date"] == "DATE"
    assert {"_dlt_id", "_dlt_load_id"} <= set(columns)


def test_an_empty_org_publishes_empty_marts(empty_org):
    home, result, _ = empty_org
    assert result.success
    assert sql(home, "select count(*) from marts.dim_person") == [(0,)]
    assert sql(home, "select count(*) from marts.dim_owner")[0][0] > 0  # its users


def test_a_sparse_org_has_people_and_a_funnel_without_accounts_or_activities(sparse_org):
    home, result, _ = sparse_org
    assert result.success
    people = sql(home, "select count(*) from marts.dim_person")[0][0]
    assert people > 0
    assert sql(home, "select count(*) from marts.fct_funnel")[0][0] == people
    assert sql(home, "select count(*) from marts.dim_account") == [(0,)]
    assert sql(home, "select count(*) from marts.fct_sla where first_touch_at is not null") == [
        (0,)
    ]
