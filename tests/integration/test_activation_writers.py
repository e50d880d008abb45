"""The CRM writers against the simulator's write endpoints, without a warehouse: what
they send, how they read per-record answers, and how they stop on a refusal.

Each test writes hand-made planned writes through `SalesforceWriter` / `HubSpotWriter`
over HTTP; what the CRM then holds is read from the simulator, never from the writer.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from activation.ledger import FAILED, OK
from activation.plan import CREATE, HUBSPOT, SALESFORCE, UPDATE, PlannedWrite
from activation.writers import HubSpotWriter, MissingFields, SalesforceWriter, refusal
from ingestion.sources.api import ApiClient, ApiError
from ingestion.sources.hubspot.helpers import HubSpotLimits
from ingestion.sources.salesforce.helpers import SalesforceLimits
from simulator import SimulatedApis, SimulatorConfig
from simulator.schema import LEADBRIDGE_FIELDS

pytestmark = pytest.mark.integration

CONFIG = SimulatorConfig(
    seed=9,
    people=40,
    months=3,
    anchor=date(2026, 10, 28),
    salesforce_custom_fields=LEADBRIDGE_FIELDS,
    rep_follow_up_probability=0.0,
)


def salesforce(sim: SimulatedApis) -> SalesforceWriter:
    client = ApiClient(
        "Salesforce", sim.salesforce_instance_url, sim.token, rules=SalesforceLimits()
    )
    return SalesforceWriter(client)


def hubspot(sim: SimulatedApis) -> HubSpotWriter:
    return HubSpotWriter(
        ApiClient("HubSpot", sim.hubspot_base_url, sim.token, rules=HubSpotLimits())
    )


def write(system: str, obj: str, key: str, action: str, fields: dict, **kw) -> PlannedWrite:
    return PlannedWrite(
        key, system, obj, action, kw.pop("record_id", None), key, fields, "h", "p", None, **kw
    )


def active_rep(sim: SimulatedApis):
    gone = set(sim.world.dirt["inactive_rep"])
    return next(r for r in sim.world.reps if r.sf_id not in gone)


def sf_task(sim: SimulatedApis, key: str, owner: str | None = None) -> PlannedWrite:
    lead = sim.view.salesforce_rows("Lead", include_deleted=False)[0]["Id"]
    fields = {
        "Subject": "Follow up MQL: someone",
        "WhoId": lead,
        "OwnerId": owner or active_rep(sim).sf_id,
        "ActivityDate": "2026-10-30",
        "Status": "Not Started",
        "Priority": "Normal",
        "Leadbridge_Key__c": key,
    }
    return write(SALESFORCE, "Task", key, CREATE, fields)


def send_all(writer, writes) -> list:
    return [result for batch in writer.batches(writes) for result in batch.send(batch.writes)]


def test_salesforce_results_are_per_record_with_codes_and_no_values(fresh_sim):
    users = fresh_sim.view.salesforce_rows("User", include_deleted=False)
    inactive = next(u["Id"] for u in users if not u["IsActive"])
    good, bad = sf_task(fresh_sim, "k-good"), sf_task(fresh_sim, "k-bad", owner=inactive)
    results = send_all(salesforce(fresh_sim), [good, bad])
    assert [(r.activation_key, r.status) for r in results] == [("k-good", OK), ("k-bad", FAILED)]
    assert results[0].crm_id and results[0].crm_id.startswith("00T")
    assert results[1].answer == "INACTIVE_OWNER_OR_USER (OwnerId)"
    keys = [t.get("Leadbridge_Key__c") for t in fresh_sim.view.salesforce_rows("Task", False)]
    assert keys.count("k-good") == 1 and "k-bad" not in keys


def test_an_update_and_a_close_upsert_the_same_task(fresh_sim):
    created = send_all(salesforce(fresh_sim), [sf_task(fresh_sim, "k1")])[0]
    close = write(
        SALESFORCE, "Task", "k1", "close", {"Status": "Deferred", "Leadbridge_Key__c": "k1"}
    )
    closed = send_all(salesforce(fresh_sim), [close])[0]
    assert closed.status == OK and closed.crm_id == created.crm_id
    rows = [
        t
        for t in fresh_sim.view.salesforce_rows("Task", False)
        if t.get("Leadbridge_Key__c") == "k1"
    ]
    assert len(rows) == 1 and rows[0]["Status"] == "Deferred"


def test_an_org_without_the_fields_is_told_which_and_nothing_is_sent():
    bare = replace(CONFIG, salesforce_custom_fields={})
    with SimulatedApis.start(bare) as sim:
        with pytest.raises(MissingFields, match="Task.Leadbridge_Key__c"):
            send_all(salesforce(sim), [sf_task(sim, "k1")])
        assert sim.requests.writes() == []


def test_hubspot_makes_its_group_and_properties_once(fresh_sim):
    contact = fresh_sim.view.hubspot_rows("contacts")[0]["_id"]
    status = write(
        HUBSPOT,
        "contacts",
        "s1",
        UPDATE,
        {
            "leadbridge_stage": "mql",
            "leadbridge_mql_date": "2026-10-20",
            "leadbridge_sla_status": None,
            "leadbridge_person_key": "p1",
        },
        record_id=str(contact),
    )
    assert [r.status for r in send_all(hubspot(fresh_sim), [status])] == [OK]
    made = [r for r in fresh_sim.requests if r.method == "POST" and "/properties/" in r.path]
    assert len(made) == 5  # the group and four properties
    assert [r.status for r in send_all(hubspot(fresh_sim), [status])] == [OK]
    again = [r for r in fresh_sim.requests if r.method == "POST" and "/properties/" in r.path]
    assert again == made
    row = next(r for r in fresh_sim.view.hubspot_rows("contacts") if r["_id"] == contact)
    assert row["leadbridge_stage"] == "mql" and row.get("leadbridge_sla_status") is None


def test_a_hubspot_batch_with_a_missing_contact_fails_that_one_only(fresh_sim):
    contact = str(fresh_sim.view.hubspot_rows("contacts")[0]["_id"])
    values = {"leadbridge_stage": "mql", "leadbridge_person_key": "p"}
    present = write(HUBSPOT, "contacts", "a", UPDATE, values, record_id=contact)
    missing = write(HUBSPOT, "contacts", "b", UPDATE, values, record_id="999999999")
    results = send_all(hubspot(fresh_sim), [present, missing])
    assert [(r.activation_key, r.status) for r in results] == [("a", OK), ("b", FAILED)]
    assert results[1].answer == "OBJECT_NOT_FOUND"


def test_a_hubspot_task_is_created_once_and_linked_to_its_contact(fresh_sim):
    contact = str(fresh_sim.view.hubspot_rows("contacts")[0]["_id"])
    owner = active_rep(fresh_sim).owner_id
    fields = {
        "hs_task_subject": "Follow up MQL: x",
        "hs_task_status": "NOT_STARTED",
        "hs_timestamp": "2026-10-30T10:00:00Z",
        "hubspot_owner_id": owner,
        "leadbridge_key": "t1",
    }
    task = write(HUBSPOT, "tasks", "t1", CREATE, fields, associations=(("contacts", contact),))
    first = send_all(hubspot(fresh_sim), [task])[0]
    second = send_all(hubspot(fresh_sim), [task])[0]
    assert first.status == second.status == OK and first.crm_id == second.crm_id
    rows = [t for t in fresh_sim.view.hubspot_rows("tasks") if t.get("leadbridge_key") == "t1"]
    assert len(rows) == 1 and contact in rows[0]["_contacts"]


def test_a_hubspot_app_without_write_scopes_stops_before_any_write():
    with SimulatedApis.start(replace(CONFIG, read_only=("hubspot",))) as sim:
        contact = str(sim.view.hubspot_rows("contacts")[0]["_id"])
        status = write(
            HUBSPOT, "contacts", "s", UPDATE, {"leadbridge_stage": "mql"}, record_id=contact
        )
        with pytest.raises(ApiError) as refused:
            send_all(hubspot(sim), [status])
        assert refused.value.status == 403
        assert refusal(refused.value).endswith("HTTP 403 MISSING_SCOPES")
        assert [r for r in sim.requests.writes() if r.status < 400] == []


def test_a_batch_refused_whole_is_told_by_codes_and_names_never_by_values(fresh_sim):
    contact = str(fresh_sim.view.hubspot_rows("contacts")[0]["_id"])
    fields = {
        "hs_task_subject": "Follow up MQL: Ada Secret",
        "hs_task_status": "SOMEDAY",
        "hs_timestamp": "2026-10-30T10:00:00Z",
        "leadbridge_key": "t9",
    }
    task = write(HUBSPOT, "tasks", "t9", CREATE, fields, associations=(("contacts", contact),))
    with pytest.raises(ApiError) as refused:
        send_all(hubspot(fresh_sim), [task])
    told = refusal(refused.value)
    assert told.endswith("HTTP 400 VALIDATION_ERROR; INVALID_OPTION (hs_task_status)"), told
    assert "Ada" not in told and "SOMEDAY" not in told
