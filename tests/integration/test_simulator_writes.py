"""The simulator's write endpoints over real HTTP: Salesforce sObject Collections upsert
and update, HubSpot property groups, properties, contact updates and tasks; their errors,
limits and request log; and the simulated reps who complete Leadbridge's follow-ups."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
import requests

from simulator import SimulatedApis, SimulatorConfig
from simulator.formats import parse_instant
from simulator.reps import plus_business_hours
from simulator.schema import LEADBRIDGE_FIELDS
from tests.support.hubspot_tasks import TASK_TO_CONTACT, create_task_key_property, hs

pytestmark = pytest.mark.integration
CONFIG = SimulatorConfig(
    seed=11,
    people=60,
    months=1,
    anchor=date(2026, 10, 28),
    salesforce_custom_fields=LEADBRIDGE_FIELDS,
    rep_follow_up_probability=1.0,
)
DATA = "/services/data/v61.0"
KEY = "Leadbridge_Key__c"


# -- helpers ----------------------------------------------------------------------------
def upsert(
    sim, http, sobject: str, records: list[dict], all_or_none: bool = False, key: str = KEY
) -> requests.Response:
    body = {
        "allOrNone": all_or_none,
        "records": [{"attributes": {"type": sobject}, **r} for r in records],
    }
    return http.patch(
        f"{sim.salesforce_instance_url}{DATA}/composite/sobjects/{sobject}/{key}",
        json=body,
        timeout=10,
    )


def soql(sim, http, query: str, endpoint: str = "query") -> list[dict]:
    answer = http.get(
        f"{sim.salesforce_instance_url}{DATA}/{endpoint}", params={"q": query}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["records"]


def a_lead(sim, http) -> str:
    return soql(sim, http, "SELECT Id FROM Lead WHERE IsConverted = false LIMIT 1")[0]["Id"]


def a_rep(sim) -> str:
    """An active sales rep's User id."""
    gone = set(sim.world.dirt["inactive_rep"])
    return next(r.sf_id for r in sim.world.reps if r.sf_id not in gone)


def follow_up(sim, http, key: str, **fields) -> dict:
    return {
        KEY: key,
        "Subject": "Follow up MQL",
        "WhoId": a_lead(sim, http),
        "OwnerId": a_rep(sim),
        "ActivityDate": "2026-10-30",
        **fields,
    }


def tasks_with_key(sim, http, key: str, fields: str = "Id, Status") -> list[dict]:
    return soql(sim, http, f"SELECT {fields} FROM Task WHERE {KEY} = '{key}'")


def errors(result: dict) -> set[str]:
    return {e["statusCode"] for e in result.get("errors", [])}


def a_contact(sim, http) -> str:
    return hs(sim, http, "GET", "/crm/v3/objects/contacts", params={"limit": 1}).json()["results"][
        0
    ]["id"]


def an_owner(sim) -> str:
    gone = set(sim.world.dirt["inactive_rep"])
    return next(r.owner_id for r in sim.world.reps if r.sf_id not in gone)


def hs_task(key: str, owner: str, contact: str | None = None, **props) -> dict:
    item: dict = {
        "properties": {
            "hs_timestamp": "2026-10-30T10:00:00Z",
            "hs_task_subject": "Follow up MQL",
            "leadbridge_key": key,
            "hubspot_owner_id": owner,
            **props,
        }
    }
    if contact is not None:
        item["associations"] = [{"to": {"id": contact}, "types": [TASK_TO_CONTACT]}]
    return item


def all_tasks(sim, http) -> list[dict]:
    return hs(
        sim,
        http,
        "GET",
        "/crm/v3/objects/tasks",
        params={
            "limit": 100,
            "associations": "contacts",
            "properties": "leadbridge_key,hs_task_status,hs_task_completion_date",
        },
    ).json()["results"]


# -- Salesforce ---------------------------------------------------------------------------
def test_an_upserted_task_is_a_record_of_the_org_read_back_at_the_simulated_now(fresh_sim, http):
    created = upsert(fresh_sim, http, "Task", [follow_up(fresh_sim, http, "k-read")])
    assert created.status_code == 200
    [result] = created.json()
    assert result["success"] and result["created"] and result["id"].startswith("00T")
    fields = f"Id, Status, Priority, IsClosed, OwnerId, SystemModstamp, {KEY}"
    [task] = tasks_with_key(fresh_sim, http, "k-read", fields)
    assert task["Id"] == result["id"]
    assert (task["Status"], task["Priority"], task["IsClosed"]) == ("Not Started", "Normal", False)
    assert parse_instant(task["SystemModstamp"]) == fresh_sim.as_of
    every = soql(fresh_sim, http, f"SELECT Id FROM Task WHERE {KEY} = 'k-read'", "queryAll")
    assert [t["Id"] for t in every] == [result["id"]]


def test_an_upserted_task_is_in_a_bulk_query_job(fresh_sim, http):
    [result] = upsert(fresh_sim, http, "Task", [follow_up(fresh_sim, http, "k-bulk")]).json()
    jobs = f"{fresh_sim.salesforce_instance_url}{DATA}/jobs/query"
    job = http.post(
        jobs,
        json={"operation": "query", "query": f"SELECT Id, {KEY} FROM Task WHERE {KEY} = 'k-bulk'"},
        timeout=10,
    ).json()
    while http.get(f"{jobs}/{job['id']}", timeout=10).json()["state"] != "JobComplete":
        pass
    csv = http.get(f"{jobs}/{job['id']}/results", timeout=10).text
    assert csv.splitlines()[1:] == [f'"{result["id"]}","k-bulk"']


def test_upserting_the_same_key_twice_updates_the_one_record(fresh_sim, http):
    first = upsert(fresh_sim, http, "Task", [follow_up(fresh_sim, http, "k-twice")]).json()[0]
    second = upsert(
        fresh_sim, http, "Task", [follow_up(fresh_sim, http, "K-TWICE", Priority="High")]
    ).json()[0]
    assert first["created"] is True and second["created"] is False
    assert second["id"] == first["id"]
    [task] = tasks_with_key(fresh_sim, http, "K-TWICE", "Id, Priority")  # as last written
    assert task["Priority"] == "High"


def test_an_unknown_field_fails_the_whole_request_with_invalid_field(fresh_sim, http):
    answer = upsert(
        fresh_sim,
        http,
        "Task",
        [follow_up(fresh_sim, http, "k-ok"), follow_up(fresh_sim, http, "k-bad", Mood__c="x")],
    )
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "INVALID_FIELD"
    assert tasks_with_key(fresh_sim, http, "k-ok") == []


def test_a_queue_may_own_a_lead_but_not_a_task(fresh_sim, http):
    queue = fresh_sim.world.queues[0]
    [task] = upsert(
        fresh_sim, http, "Task", [follow_up(fresh_sim, http, "k-queue", OwnerId=queue)]
    ).json()
    assert not task["success"] and errors(task) == {"FIELD_INTEGRITY_EXCEPTION"}
    assert task["errors"][0]["fields"] == ["OwnerId"]
    [lead] = upsert(
        fresh_sim,
        http,
        "Lead",
        [{KEY: "p-queue", "LastName": "Queued", "Company": "Acme", "OwnerId": queue}],
    ).json()
    assert lead["success"] and lead["created"]


def test_references_picklists_and_system_fields_are_checked_per_record(fresh_sim, http):
    fresh_sim.advance_days(CONFIG.horizon_days)  # past the day a rep leaves
    [inactive] = soql(fresh_sim, http, "SELECT Id FROM User WHERE IsActive = false")
    answer = upsert(
        fresh_sim,
        http,
        "Task",
        [
            follow_up(fresh_sim, http, "k-inactive", OwnerId=inactive["Id"]),
            follow_up(fresh_sim, http, "k-user", WhoId=a_rep(fresh_sim)),
            follow_up(fresh_sim, http, "k-gone", WhoId="00Q8d0000099999AAA"),
            follow_up(fresh_sim, http, "k-status", Status="Done"),
            follow_up(fresh_sim, http, "k-closed", IsClosed=True),
            follow_up(fresh_sim, http, "k-fine"),
        ],
    ).json()
    assert [errors(r) for r in answer] == [
        {"INACTIVE_OWNER_OR_USER"},
        {"FIELD_INTEGRITY_EXCEPTION"},
        {"INVALID_CROSS_REFERENCE_KEY"},
        {"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
        {"INVALID_FIELD_FOR_INSERT_UPDATE"},
        set(),
    ]
    assert len(soql(fresh_sim, http, f"SELECT Id FROM Task WHERE {KEY} != null")) == 1


def test_required_fields_and_a_repeated_key_fail_their_records(fresh_sim, http):
    answer = upsert(
        fresh_sim,
        http,
        "Lead",
        [
            {KEY: "p-1", "LastName": "Nobody"},  # no Company
            {KEY: "p-2", "LastName": "Twice", "Company": "A"},
            {KEY: "P-2", "LastName": "Twice", "Company": "B"},
            {"LastName": "Keyless", "Company": "C"},
        ],
    ).json()
    assert [errors(r) for r in answer] == [
        {"REQUIRED_FIELD_MISSING"},
        {"DUPLICATE_VALUE"},
        {"DUPLICATE_VALUE"},
        {"MISSING_ARGUMENT"},
    ]
    assert soql(fresh_sim, http, f"SELECT Id FROM Lead WHERE {KEY} != null") == []


def test_all_or_none_rolls_back_every_record_or_keeps_the_valid_ones(fresh_sim, http):
    records = [
        follow_up(fresh_sim, http, "k-valid"),
        follow_up(fresh_sim, http, "k-invalid", Priority="Urgent"),
    ]
    rolled = upsert(fresh_sim, http, "Task", records, all_or_none=True).json()
    assert [errors(r) for r in rolled] == [
        {"ALL_OR_NONE_OPERATION_ROLLED_BACK"},
        {"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"},
    ]
    assert tasks_with_key(fresh_sim, http, "k-valid") == []
    partial = upsert(fresh_sim, http, "Task", records, all_or_none=False).json()
    assert [r["success"] for r in partial] == [True, False]
    assert [t["Id"] for t in tasks_with_key(fresh_sim, http, "k-valid")] == [partial[0]["id"]]


def test_more_than_200_records_are_refused_whole(fresh_sim, http):
    records = [follow_up(fresh_sim, http, f"k-{i}") for i in range(201)]
    answer = upsert(fresh_sim, http, "Task", records)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert soql(fresh_sim, http, f"SELECT Id FROM Task WHERE {KEY} != null") == []
    assert all(r["success"] for r in upsert(fresh_sim, http, "Task", records[:200]).json())


def test_an_org_without_the_custom_fields_refuses_them():
    bare = replace(CONFIG, salesforce_custom_fields={"Lead": {KEY: "external_id"}})
    with SimulatedApis.start(bare) as sim, requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {sim.token}"
        described = http.get(
            f"{sim.salesforce_instance_url}{DATA}/sobjects/Lead/describe", timeout=10
        ).json()
        assert [f["name"] for f in described["fields"] if f["custom"]] == [KEY]
        stage = upsert(
            sim,
            http,
            "Lead",
            [{KEY: "p", "LastName": "L", "Company": "C", "Leadbridge_Stage__c": "MQL"}],
        )
        assert stage.status_code == 400 and stage.json()[0]["errorCode"] == "INVALID_FIELD"
        task = upsert(sim, http, "Task", [{KEY: "k", "Subject": "x"}])
        assert task.status_code == 404 and task.json()[0]["errorCode"] == "NOT_FOUND"


def test_update_by_id_sets_custom_fields_on_existing_leads(fresh_sim, http):
    lead = a_lead(fresh_sim, http)
    answer = http.patch(
        f"{fresh_sim.salesforce_instance_url}{DATA}/composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "Lead"},
                    "id": lead,
                    "Leadbridge_Stage__c": "MQL",
                    "Leadbridge_MQL_Date__c": "2026-10-20",
                },
                {
                    "attributes": {"type": "Lead"},
                    "id": "00Q8d0000099999AAA",
                    "Leadbridge_Stage__c": "MQL",
                },
            ],
        },
        timeout=10,
    ).json()
    assert [(r["success"], errors(r)) for r in answer] == [
        (True, set()),
        (False, {"INVALID_CROSS_REFERENCE_KEY"}),
    ]
    [row] = soql(
        fresh_sim,
        http,
        "SELECT Leadbridge_Stage__c, Leadbridge_MQL_Date__c, "
        f"SystemModstamp FROM Lead WHERE Id = '{lead}'",
    )
    assert (row["Leadbridge_Stage__c"], row["Leadbridge_MQL_Date__c"]) == ("MQL", "2026-10-20")
    assert parse_instant(row["SystemModstamp"]) == fresh_sim.as_of


def test_a_read_only_integration_user_gets_insufficient_access_per_record():
    with (
        SimulatedApis.start(replace(CONFIG, read_only=("salesforce",))) as sim,
        requests.Session() as http,
    ):
        http.headers["Authorization"] = f"Bearer {sim.token}"
        answer = upsert(sim, http, "Task", [follow_up(sim, http, "k-ro")]).json()
        assert errors(answer[0]) == {"INSUFFICIENT_ACCESS_OR_READONLY"}
        assert tasks_with_key(sim, http, "k-ro") == []


def test_writes_count_against_the_daily_limits_and_are_in_the_request_log(fresh_sim, http):
    record = follow_up(fresh_sim, http, "k-log")
    hs(fresh_sim, http, "GET", "/crm/v3/owners")
    assert fresh_sim.requests.writes() == []  # reads only so far
    day = fresh_sim.as_of.date()
    before = fresh_sim.limits.used("salesforce", day), fresh_sim.limits.used("hubspot", day)
    answer = upsert(fresh_sim, http, "Task", [record])
    hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/properties/contacts/groups",
        json={"name": "leadbridge", "label": "Leadbridge"},
    )
    assert answer.headers["Sforce-Limit-Info"] == (
        f"api-usage={before[0] + 1}/{CONFIG.salesforce_daily_limit}"
    )
    assert fresh_sim.limits.used("hubspot", day) == before[1] + 1
    assert [(r.method, r.path, r.status) for r in fresh_sim.requests.writes()] == [
        ("PATCH", f"/salesforce{DATA}/composite/sobjects/Task/{KEY}", 200),
        ("POST", "/hubspot/crm/v3/properties/contacts/groups", 201),
    ]


def test_a_write_past_the_daily_limit_is_refused_and_not_applied():
    with (
        SimulatedApis.start(replace(CONFIG, salesforce_daily_limit=2)) as sim,
        requests.Session() as http,
    ):
        http.headers["Authorization"] = f"Bearer {sim.token}"
        record = follow_up(sim, http, "k-limit")  # the day's first call
        assert upsert(sim, http, "Task", [record]).status_code == 200
        refused = upsert(sim, http, "Task", [dict(record, Priority="High")])
        assert refused.status_code == 403
        assert refused.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        sim.advance_days(1)
        [task] = tasks_with_key(sim, http, "k-limit", "Priority")
        assert task["Priority"] == "Normal"


# -- HubSpot ---------------------------------------------------------------------------
def test_a_property_group_is_created_once_then_409(fresh_sim, http):
    group = {"name": "leadbridge", "label": "Leadbridge", "displayOrder": 5}
    first = hs(fresh_sim, http, "POST", "/crm/v3/properties/contacts/groups", json=group)
    second = hs(fresh_sim, http, "POST", "/crm/v3/properties/contacts/groups", json=group)
    assert (first.status_code, second.status_code) == (201, 409)
    assert second.json()["category"] == "OBJECT_ALREADY_EXISTS"
    read = hs(fresh_sim, http, "GET", "/crm/v3/properties/contacts/groups/leadbridge")
    assert read.json()["label"] == "Leadbridge"


def test_a_unique_property_is_created_listed_and_refused_a_second_time(fresh_sim, http):
    hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/properties/contacts/groups",
        json={"name": "leadbridge", "label": "Leadbridge"},
    )
    spec = {
        "name": "leadbridge_person_key",
        "label": "Leadbridge person key",
        "type": "string",
        "fieldType": "text",
        "groupName": "leadbridge",
        "hasUniqueValue": True,
    }
    assert hs(fresh_sim, http, "POST", "/crm/v3/properties/contacts", json=spec).status_code == 201
    assert hs(fresh_sim, http, "POST", "/crm/v3/properties/contacts", json=spec).status_code == 409
    read = hs(fresh_sim, http, "GET", "/crm/v3/properties/contacts/leadbridge_person_key")
    assert read.json()["hasUniqueValue"] is True and read.json()["groupName"] == "leadbridge"
    listed = hs(fresh_sim, http, "GET", "/crm/v3/properties/contacts").json()["results"]
    assert "leadbridge_person_key" in {p["name"] for p in listed}


def test_contact_batch_update_refuses_unknown_properties_then_writes_them(fresh_sim, http):
    contact = a_contact(fresh_sim, http)
    update = {"inputs": [{"id": contact, "properties": {"leadbridge_stage": "MQL"}}]}
    refused = hs(fresh_sim, http, "POST", "/crm/v3/objects/contacts/batch/update", json=update)
    assert refused.status_code == 400 and refused.json()["category"] == "VALIDATION_ERROR"
    assert refused.json()["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/properties/contacts",
        json={
            "name": "leadbridge_stage",
            "label": "Stage",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
    )
    written = hs(fresh_sim, http, "POST", "/crm/v3/objects/contacts/batch/update", json=update)
    assert written.status_code == 200
    read = hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/objects/contacts/batch/read",
        json={"inputs": [{"id": contact}], "properties": ["leadbridge_stage"]},
    ).json()
    assert read["results"][0]["properties"]["leadbridge_stage"] == "MQL"


def test_a_batch_with_a_missing_contact_is_a_207_that_writes_the_others(fresh_sim, http):
    hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/properties/contacts",
        json={
            "name": "leadbridge_stage",
            "label": "Stage",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
        },
    )
    contact = a_contact(fresh_sim, http)
    answer = hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/objects/contacts/batch/update",
        json={
            "inputs": [
                {"id": contact, "properties": {"leadbridge_stage": "SQL"}},
                {"id": "999999999", "properties": {"leadbridge_stage": "SQL"}},
            ]
        },
    )
    assert answer.status_code == 207
    body = answer.json()
    assert [r["id"] for r in body["results"]] == [contact]
    assert body["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    assert body["errors"][0]["context"]["ids"] == ["999999999"]


def test_task_batch_upsert_by_a_unique_property_is_idempotent(fresh_sim, http):
    create_task_key_property(fresh_sim, http)
    batch = {
        "inputs": [
            {
                "id": "t-1",
                "idProperty": "leadbridge_key",
                "properties": hs_task("t-1", an_owner(fresh_sim))["properties"],
            }
        ]
    }
    first = hs(fresh_sim, http, "POST", "/crm/v3/objects/tasks/batch/upsert", json=batch)
    second = hs(fresh_sim, http, "POST", "/crm/v3/objects/tasks/batch/upsert", json=batch)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["results"][0]["new"] is True
    assert second.json()["results"][0]["new"] is False
    assert second.json()["results"][0]["id"] == first.json()["results"][0]["id"]
    keys = [t["properties"]["leadbridge_key"] for t in all_tasks(fresh_sim, http)]
    assert keys == ["t-1"]


def test_task_batch_create_associates_the_contact_and_validates(fresh_sim, http):
    create_task_key_property(fresh_sim, http)
    owner, contact = an_owner(fresh_sim), a_contact(fresh_sim, http)
    bad = hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/objects/tasks/batch/create",
        json={
            "inputs": [
                hs_task("t-bad", owner, contact, hs_task_status="DONE"),
                {"properties": {"hs_task_subject": "no due date"}},
            ]
        },
    )
    assert bad.status_code == 400
    assert {e["code"] for e in bad.json()["errors"]} == {"INVALID_OPTION", "REQUIRED_PROPERTY"}
    made = hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/objects/tasks/batch/create",
        json={"inputs": [hs_task("t-2", owner, contact)]},
    )
    assert made.status_code == 200
    [task] = all_tasks(fresh_sim, http)
    assert task["properties"]["hs_task_status"] == "NOT_STARTED"
    assert task["associations"]["contacts"]["results"] == [
        {"id": contact, "type": "task_to_contact"}
    ]
    again = hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/objects/tasks/batch/create",
        json={"inputs": [hs_task("t-2", owner, contact)]},
    )
    assert again.status_code == 409


def test_a_token_without_write_scopes_gets_403_missing_scopes():
    with (
        SimulatedApis.start(replace(CONFIG, read_only=("hubspot",))) as sim,
        requests.Session() as http,
    ):
        http.headers["Authorization"] = f"Bearer {sim.token}"
        answer = hs(
            sim,
            http,
            "POST",
            "/crm/v3/properties/contacts/groups",
            json={"name": "leadbridge", "label": "Leadbridge"},
        )
        assert answer.status_code == 403 and answer.json()["category"] == "MISSING_SCOPES"
        scopes = answer.json()["errors"][0]["context"]["requiredGranularScopes"]
        assert scopes == ["crm.schemas.contacts.write"]
        update = hs(sim, http, "POST", "/crm/v3/objects/contacts/batch/update", json={"inputs": []})
        assert update.json()["errors"][0]["context"]["requiredGranularScopes"] == [
            "crm.objects.contacts.write"
        ]
        assert (
            hs(sim, http, "GET", "/crm/v3/properties/contacts/groups/leadbridge").status_code == 404
        )


# -- simulated reps ---------------------------------------------------------------------
def test_the_rep_completes_a_salesforce_follow_up_within_business_hours(fresh_sim, http):
    created_at = fresh_sim.as_of
    upsert(fresh_sim, http, "Task", [follow_up(fresh_sim, http, "k-rep")])
    fresh_sim.advance_days(4)
    [task] = tasks_with_key(
        fresh_sim, http, "k-rep", "Status, IsClosed, CompletedDateTime, SystemModstamp"
    )
    assert (task["Status"], task["IsClosed"]) == ("Completed", True)
    done = parse_instant(task["CompletedDateTime"])
    low, high = CONFIG.rep_follow_up_hours
    assert plus_business_hours(created_at, low) <= done <= plus_business_hours(created_at, high)
    assert parse_instant(task["SystemModstamp"]) == done  # the next night's run reads it


def test_no_rep_reaction_at_probability_zero_or_on_a_task_closed_first(http):
    with SimulatedApis.start(replace(CONFIG, rep_follow_up_probability=0.0)) as sim:
        upsert(sim, http, "Task", [follow_up(sim, http, "k-never")])
        sim.advance_days(7)
        assert tasks_with_key(sim, http, "k-never")[0]["Status"] == "Not Started"
    with SimulatedApis.start(CONFIG) as sim:
        upsert(sim, http, "Task", [follow_up(sim, http, "k-cancel")])
        upsert(sim, http, "Task", [follow_up(sim, http, "k-cancel", Status="Deferred")])
        sim.advance_days(7)
        assert tasks_with_key(sim, http, "k-cancel")[0]["Status"] == "Deferred"


def test_the_rep_completes_a_hubspot_follow_up_once_the_clock_gets_there(fresh_sim, http):
    create_task_key_property(fresh_sim, http)
    hs(
        fresh_sim,
        http,
        "POST",
        "/crm/v3/objects/tasks/batch/create",
        json={"inputs": [hs_task("t-rep", an_owner(fresh_sim), a_contact(fresh_sim, http))]},
    )
    [before] = all_tasks(fresh_sim, http)
    assert before["properties"]["hs_task_status"] == "NOT_STARTED"
    fresh_sim.advance_days(4)
    [after] = all_tasks(fresh_sim, http)
    assert after["properties"]["hs_task_status"] == "COMPLETED"
    done = parse_instant(after["properties"]["hs_task_completion_date"])
    assert parse_instant(after["updatedAt"]) == done > parse_instant(before["updatedAt"])
