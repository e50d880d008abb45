"""Closing the loop on the read side: the night reads back the follow-up tasks Leadbridge
creates, and such a task is a sales touch only once a rep completed it, at its completion.

The real connectors run against the simulator with the write-back's custom fields; the
tasks are created over HTTP through the simulator's write endpoints, as the writer will.
Expected values come from the simulator's answers, never from the loaded rows.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
import requests

from ingestion.pipelines import FEEDS, make_pipeline
from ingestion.sources.hubspot import hubspot_source
from ingestion.sources.hubspot.settings import TASKS
from ingestion.sources.records import normalize
from ingestion.sources.salesforce import salesforce_source
from leadbridge.quality.gx_runner import validate
from leadbridge.quality.suites import load_suites, suite_parameters
from simulator import SimulatedApis, SimulatorConfig
from simulator.formats import parse_instant
from simulator.schema import LEADBRIDGE_FIELDS
from tests.support.dbt_scenario import ERIN, run_dbt
from tests.support.hubspot_tasks import TASK_TO_CONTACT, create_task_key_property, hs_ok
from tests.support.warehouse import duckdb_query

pytestmark = pytest.mark.integration

CONFIG = SimulatorConfig(
    seed=5,
    people=60,
    months=1,
    anchor=date(2026, 10, 28),
    salesforce_custom_fields=LEADBRIDGE_FIELDS,
    rep_follow_up_probability=1.0,
)
FAST = {"request_backoff_factor": 0.01}
DATA = "/services/data/v61.0"


def load(feed: str, sim: SimulatedApis, home: Path, resources: tuple[str, ...]) -> None:
    """Run the named resources of one feed into home/w.duckdb."""
    if feed == "hubspot":
        source = hubspot_source(base_url=sim.hubspot_base_url, access_token=sim.token, **FAST)
    else:
        source = salesforce_source(
            instance_url=sim.salesforce_instance_url, access_token=sim.token, **FAST
        )
    pipeline = make_pipeline(feed, home / "w.duckdb", home / "pipelines")
    pipeline.run(
        source.with_resources(*resources), loader_file_format=FEEDS[feed].loader_file_format
    )


def an_active_rep(sim: SimulatedApis):
    gone = set(sim.world.dirt["inactive_rep"])
    return next(r for r in sim.world.reps if r.sf_id not in gone)


def create_follow_ups(sim: SimulatedApis, http: requests.Session) -> tuple[str, str]:
    """One HubSpot and one Salesforce follow-up task, written as the writer writes them;
    the HubSpot contact and the Salesforce lead they are about."""
    create_task_key_property(sim, http)
    rep = an_active_rep(sim)
    contact = hs_ok(sim, http, "GET", "/crm/v3/objects/contacts", params={"limit": 1})["results"][0]
    task = {
        "properties": {
            "hs_timestamp": "2026-10-29T18:00:00Z",
            "hs_task_subject": "Follow up MQL: a person",
            "hs_task_type": "TODO",
            "leadbridge_key": "lb-hs-1",
            "hubspot_owner_id": rep.owner_id,
        },
        "associations": [{"to": {"id": contact["id"]}, "types": [TASK_TO_CONTACT]}],
    }
    hs_ok(sim, http, "POST", "/crm/v3/objects/tasks/batch/create", json={"inputs": [task]})
    query = "SELECT Id FROM Lead WHERE IsConverted = false LIMIT 1"
    lead = http.get(
        f"{sim.salesforce_instance_url}{DATA}/query", params={"q": query}, timeout=10
    ).json()["records"][0]["Id"]
    upsert = http.patch(
        f"{sim.salesforce_instance_url}{DATA}/composite/sobjects/Task/Leadbridge_Key__c",
        json={
            "allOrNone": True,
            "records": [
                {
                    "attributes": {"type": "Task"},
                    "Leadbridge_Key__c": "lb-sf-1",
                    "Subject": "Follow up MQL: a person",
                    "WhoId": lead,
                    "OwnerId": rep.sf_id,
                    "ActivityDate": "2026-10-29",
                    "Priority": "High",
                }
            ],
        },
        timeout=10,
    )
    assert upsert.status_code == 200 and upsert.json()[0]["success"], upsert.text
    return contact["id"], lead


def hubspot_task(sim: SimulatedApis, http: requests.Session) -> dict:
    """The follow-up as HubSpot's list API serves it now."""
    params = {"limit": 100, "properties": "leadbridge_key,hs_task_status,hs_task_completion_date"}
    [task] = hs_ok(sim, http, "GET", "/crm/v3/objects/tasks", params=params)["results"]
    return task


def salesforce_task(sim: SimulatedApis, http: requests.Session) -> dict:
    """The follow-up as Salesforce's query API serves it now."""
    query = (
        "SELECT Id, Status, IsClosed, CompletedDateTime FROM Task"
        " WHERE Leadbridge_Key__c = 'lb-sf-1'"
    )
    answer = http.get(f"{sim.salesforce_instance_url}{DATA}/query", params={"q": query}, timeout=10)
    [task] = answer.json()["records"]
    return task


def test_an_empty_portal_lands_an_empty_tasks_table_with_its_declared_columns(tmp_path):
    with SimulatedApis.start(SimulatorConfig(profile="empty", people=50)) as sim:
        load("hubspot", sim, tmp_path, ("tasks",))
    columns = duckdb_query(
        tmp_path / "w.duckdb",
        "select column_name from information_schema.columns"
        " where table_schema = 'hubspot' and table_name = 'tasks'",
    )
    declared = {normalize(f) for f in (*TASKS.fields, *TASKS.extra_columns)}
    assert declared <= {c for (c,) in columns}
    assert "leadbridge_key" in declared and "contact_ids" in declared
    assert duckdb_query(tmp_path / "w.duckdb", "select count(*) from hubspot.tasks") == [(0,)]


def test_follow_ups_are_read_back_with_key_status_and_contact_open_then_completed(
    fresh_sim, http, tmp_path
):
    contact, lead = create_follow_ups(fresh_sim, http)
    hs_rows = """select id, leadbridge_key, hs_task_status, hs_task_completion_date,
        contact_ids, hs_task_subject is not null from hubspot.tasks"""
    sf_rows = """select id, who_id, status, is_closed, priority, completed_date_time
        from salesforce.task where leadbridge_key__c = 'lb-sf-1'"""

    def night() -> None:
        load("hubspot", fresh_sim, tmp_path, ("tasks",))
        load("salesforce", fresh_sim, tmp_path, ("task",))

    night()
    hs_open, sf_open = hubspot_task(fresh_sim, http), salesforce_task(fresh_sim, http)
    assert hs_open["properties"]["hs_task_status"] == "NOT_STARTED"
    assert duckdb_query(tmp_path / "w.duckdb", hs_rows) == [
        (hs_open["id"], "lb-hs-1", "NOT_STARTED", None, contact, True)
    ]
    assert duckdb_query(tmp_path / "w.duckdb", sf_rows) == [
        (sf_open["Id"], lead, sf_open["Status"], False, "High", None)
    ]

    fresh_sim.advance_days(4)  # the rep completed both within business hours
    night()
    hs_done, sf_done = hubspot_task(fresh_sim, http), salesforce_task(fresh_sim, http)
    assert hs_done["properties"]["hs_task_status"] == "COMPLETED" and sf_done["IsClosed"]
    completed = parse_instant(hs_done["properties"]["hs_task_completion_date"])
    assert duckdb_query(tmp_path / "w.duckdb", hs_rows) == [
        (hs_done["id"], "lb-hs-1", "COMPLETED", completed, contact, True)
    ]
    assert duckdb_query(tmp_path / "w.duckdb", sf_rows) == [
        (
            sf_done["Id"],
            lead,
            sf_done["Status"],
            True,
            "High",
            parse_instant(sf_done["CompletedDateTime"]),
        )
    ]


def test_scenario_a_leadbridge_follow_up_is_no_touch_until_completed(scenario_marts, tmp_path):
    """Erin's second hand-off has Leadbridge's HubSpot follow-up open at AS_OF: no touch, no
    scheduled touch, no event; her rep's HubSpot call is an event without its subject. Once
    the rep completed the follow-up (a later night), it is the hand-off's touch, at its
    completion."""
    warehouse, _ = scenario_marts
    copy = tmp_path / "readback.duckdb"
    shutil.copy(warehouse, copy)
    events = """select source_record_id, event_type, occurred_at, event_detail
        from marts.fct_lead_events where source_system = 'hubspot' and source_table = 'tasks'
        order by occurred_at, event_type"""
    handoffs = f"""select handoff_at, first_touch_at, first_touch_record_id, sla_status
        from marts.fct_sla where person_id = '{ERIN}' order by handoff_at"""
    queue = f"""select next_scheduled_touch_at from marts.mart_handoff_queue
        where person_id = '{ERIN}'"""
    follow_up = "select hs_task_status from hubspot.tasks where leadbridge_key is not null"
    assert duckdb_query(copy, follow_up) == [("NOT_STARTED",)]
    assert duckdb_query(copy, events) == [("7001", "task_call", datetime(2026, 1, 6, 16), None)]
    assert duckdb_query(copy, handoffs)[1][1:] == (None, None, "open")
    assert duckdb_query(copy, queue) == [(None,)]

    done = datetime(2026, 1, 23, 16, 30)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            "update hubspot.tasks set hs_task_status = 'COMPLETED',"
            " hs_task_completion_date = ?, hs_lastmodifieddate = ? where id = '7002'",
            [f"{done}+00", f"{done}+00"],
        )
    build = ["build", "--select", "stg_hubspot__tasks+", "--exclude-resource-type", "unit_test"]
    run_dbt(build, copy, tmp_path, as_of="2026-01-23 18:00:00")
    # the rep's completion: the event, and the SAL it made of the hand-off
    assert duckdb_query(copy, events)[1:] == [
        ("7002", "lifecycle_stage_entered", done, "sal_on_first_sales_touch: task_todo"),
        ("7002", "task_todo", done, None),
    ]
    assert duckdb_query(copy, handoffs)[1][1:] == (done, "7002", "met")
    assert duckdb_query(copy, queue) == []


def test_the_tasks_suite_fails_a_second_task_for_one_leadbridge_key(tmp_path):
    """The write-back promises one task per key; the rep's own tasks have none."""
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            """create schema hubspot;
            create table hubspot.tasks as select * from (values
              ('1', 'lb-1', timestamptz '2026-10-01 10:00:00+00'),
              ('2', null, timestamptz '2026-10-01 10:00:00+00'),
              ('3', null, timestamptz '2026-10-01 10:00:00+00'),
              ('4', 'lb-2', timestamptz '2026-10-01 10:00:00+00')
            ) t(id, leadbridge_key, hs_createdate);
            alter table hubspot.tasks add column hs_lastmodifieddate timestamptz;
            update hubspot.tasks set hs_lastmodifieddate = hs_createdate"""
        )
    suite = next(s for s in load_suites() if s.name == "hubspot__tasks")
    assert validate(suite, warehouse, suite_parameters(datetime.now(UTC)))[0]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into hubspot.tasks values ('5', 'lb-1', now(), now())")
    passed, metadata = validate(suite, warehouse, suite_parameters(datetime.now(UTC)))
    assert not passed
    [failure] = metadata["failures"]
    assert (failure["expectation"], failure["column"], failure["failed_rows"]) == (
        "expect_column_values_to_be_unique",
        "leadbridge_key",
        2,
    )
