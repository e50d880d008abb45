"""The activation's settings, guards and summary, without a warehouse (activation/)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from activation.ledger import SKIPPED
from activation.plan import (
    Plan,
    PlannedWrite,
    Skipped,
    guard,
    payload_hash,
    raw_columns,
    task_fields,
)
from leadbridge.settings import BY_NAME, Settings

pytestmark = pytest.mark.unit


def test_the_defaults_plan_only_with_the_documented_guards():
    settings = Settings.from_env({})
    assert settings.activation_modes == {"salesforce": "plan", "hubspot": "plan"}
    assert settings.followup_sla_share == 0.5
    assert settings.activate_queue_owner is None
    assert (settings.activate_max_changes, settings.activate_max_share) == (500, 0.2)


@pytest.mark.parametrize("value", ["APPLY", " apply ", "plan", ""])
def test_a_mode_is_plan_or_apply_in_any_case(value):
    mode = Settings.from_env({"LEADBRIDGE_ACTIVATE_HUBSPOT": value}).activation_modes["hubspot"]
    assert mode == (value.strip().lower() or "plan")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LEADBRIDGE_ACTIVATE_SALESFORCE", "write", r"'write'; valid values: plan, apply"),
        ("LEADBRIDGE_ACTIVATE_HUBSPOT", "on", r"'on'; valid values: plan, apply"),
        ("LEADBRIDGE_FOLLOWUP_SLA_SHARE", "0", r"'0'; give the share of its SLA hours"),
        ("LEADBRIDGE_FOLLOWUP_SLA_SHARE", "1.5", r"greater than 0 and at most 1"),
        ("LEADBRIDGE_ACTIVATE_MAX_SHARE", "20%", r"'20%'.*greater than 0"),
        ("LEADBRIDGE_ACTIVATE_MAX_CHANGES", "0", r"must be a positive whole number, not '0'"),
        ("LEADBRIDGE_ACTIVATE_MAX_CHANGES", "lots", r"positive whole number, not 'lots'"),
        ("LEADBRIDGE_ACTIVATE_QUEUE_OWNER", "00G000000000001", r"not a Salesforce user id"),
        ("LEADBRIDGE_ACTIVATE_QUEUE_OWNER", "005-bad", r"not a Salesforce user id"),
    ],
)
def test_an_invalid_activation_setting_names_itself(name, value, message):
    settings = Settings.from_env({name: value})
    with pytest.raises(ValueError, match=f"{name}.*{message}"):
        settings[BY_NAME[name]]
    assert len(settings.problems()) == 1


def test_a_queue_owner_is_a_user_id_of_15_or_18_characters():
    for owner in ("005000000000001", "005000000000000001"):
        assert (
            Settings.from_env({"LEADBRIDGE_ACTIVATE_QUEUE_OWNER": owner}).activate_queue_owner
            == owner
        )


@pytest.mark.parametrize(
    ("writes", "rewrites", "existing", "refused"),
    [
        (500, 0, 0, None),  # at the limit
        (501, 0, 0, "LEADBRIDGE_ACTIVATE_MAX_CHANGES=500"),
        (30, 0, 0, None),  # a first night has nothing to compare with
        (30, 20, 100, None),  # exactly the share
        (30, 21, 100, "LEADBRIDGE_ACTIVATE_MAX_SHARE=0.2"),
    ],
)
def test_the_guards_refuse_more_writes_or_a_larger_share_than_allowed(
    writes, rewrites, existing, refused
):
    reason = guard(writes, rewrites, existing, 500, 0.2)
    assert (reason is None) == (refused is None)
    if refused:
        assert refused in reason


TASK = {
    "activation_key": "k1",
    "target_system": "salesforce",
    "subject": "Follow up MQL: Ann One",
    "who_record_id": "00Q1",
    "due_date": date(2026, 1, 23),
    "due_at": datetime(2026, 1, 23, 22, 0),
    "sla_status": "breached",
    "description": "MQL by mql_score_threshold",
}


def test_a_salesforce_task_carries_its_key_owner_and_priority():
    fields = task_fields(TASK, "005A")
    assert fields == {
        "Subject": "Follow up MQL: Ann One",
        "WhoId": "00Q1",
        "OwnerId": "005A",
        "ActivityDate": "2026-01-23",
        "Status": "Not Started",
        "Priority": "High",
        "Description": "MQL by mql_score_threshold",
        "Leadbridge_Key__c": "k1",
    }


def test_a_hubspot_task_is_due_at_the_deadline_in_utc():
    fields = task_fields({**TASK, "target_system": "hubspot", "sla_status": "open"}, "9001")
    assert fields["hs_timestamp"] == "2026-01-23T22:00:00Z"
    assert (fields["hs_task_status"], fields["hubspot_owner_id"]) == ("NOT_STARTED", "9001")
    assert fields["leadbridge_key"] == "k1"


def test_raw_columns_are_named_as_the_connector_or_dlt_loads_them():
    assert raw_columns("salesforce", "stage") == ("leadbridge_stage__c", "leadbridge_stage_c")
    assert raw_columns("salesforce", "mql_date")[0] == "leadbridge_mql_date__c"
    assert raw_columns("hubspot", "sla_status") == ("leadbridge_sla_status",)


def test_the_summary_counts_and_samples_without_subjects_or_names():
    fields = task_fields(TASK, "005A")
    item = PlannedWrite(
        "k1",
        "salesforce",
        "Task",
        "create",
        None,
        "k1",
        fields,
        payload_hash(fields),
        "p1",
        "salesforce_lead:00Q1",
    )
    held = Skipped("k2", "hubspot", "tasks", "create", "erased person")
    summary = Plan(items=(item,), skipped=(held,), modes={"salesforce": "plan"}).summary()
    assert summary.counts == {"salesforce create": 1}
    assert summary.skipped == {"erased person": 1}
    for text in (summary.text(), summary.text(markdown=True)):
        assert "k1" in text and "erased person" in text
        assert "Ann One" not in text and "Follow up" not in text and "MQL by" not in text


def test_a_refused_plan_records_nothing():
    fields = {"Leadbridge_Key__c": "k1"}
    item = PlannedWrite(
        "k1",
        "salesforce",
        "Lead",
        "update",
        "00Q1",
        "k1",
        fields,
        payload_hash(fields),
        "p1",
        "salesforce_lead:00Q1",
    )
    held = Skipped("k2", "hubspot", "tasks", "create", "erased person")
    # writes are recorded as they are sent; a plan records only what it holds back
    assert [e.status for e in Plan(items=(item,), skipped=(held,)).holds()] == [SKIPPED]
    assert Plan(items=(item,), skipped=(held,), aborted="too many").holds() == []
