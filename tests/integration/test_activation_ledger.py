"""The activation ledger on DuckDB and PostgreSQL: created when missing, pending before a
send and the CRM's answers after, the current state per key (activation/ledger.py)."""

from __future__ import annotations

import pytest

from activation import ledger
from activation.ledger import CREATE, FAILED, OK, PENDING, UPDATE, WriteResult
from activation.plan import PlannedWrite, payload_hash
from leadbridge.engine import Engine
from tests.support.dbt_scenario import scenario_database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["duckdb", "postgres"])
def engine(request, tmp_path) -> Engine:
    if request.param == "duckdb":
        return Engine("duckdb", tmp_path / "warehouse.duckdb")
    server = scenario_database(request.getfixturevalue("postgres_server"), "activation_ledger")
    return Engine("postgres", tmp_path / "local.duckdb", server.engine_settings())


def write(key: str, system: str = "salesforce", action: str = CREATE) -> PlannedWrite:
    fields = {"Leadbridge_Stage__c": "mql", "Leadbridge_Key__c": key}
    return PlannedWrite(
        activation_key=key,
        system=system,
        object="Lead",
        action=action,
        record_id="00Q1" if action == UPDATE else None,
        external_id=key,
        fields=fields,
        payload_hash=payload_hash(fields),
        person_id="p1",
        person_record="salesforce_lead:00Q1",
        shared_values={"stage": "mql"},
    )


def statuses(engine: Engine) -> list[tuple]:
    with engine.reader() as sql:
        return sql.rows(
            f"select activation_key, system, status, crm_id, crm_answer from {ledger.LEDGER} "
            "order by activation_key, recorded_at, status"
        )


def test_pending_then_answers_give_the_current_state(engine):
    items = [write("k1"), write("k2"), write("k3")]
    ledger.record_pending(engine, items, "night-1")
    assert [row[2] for row in statuses(engine)].count(PENDING) == 3
    answers = [
        WriteResult("k1", "salesforce", OK, "00Q1", "200"),
        WriteResult("k2", "salesforce", FAILED, None, "400 INVALID_FIELD"),
    ]
    assert ledger.record_results(engine, answers) == 2
    with engine.reader() as sql:
        state = ledger.written(sql)
    # k2 failed and k3 is still pending (a crash): neither counts as written
    assert list(state) == [("salesforce", "Lead", "k1")]
    assert state[("salesforce", "Lead", "k1")].crm_id == "00Q1"
    assert state[("salesforce", "Lead", "k1")].shared_values == {"stage": "mql"}
    assert state[("salesforce", "Lead", "k1")].payload_hash == items[0].payload_hash
    rows = {(row[0], row[2]) for row in statuses(engine)}
    assert {("k1", OK), ("k2", FAILED), ("k3", PENDING)} <= rows
    assert ("k2", "salesforce", FAILED, None, "400 INVALID_FIELD") in statuses(engine)


def test_a_result_without_a_pending_write_is_refused(engine):
    ledger.record_pending(engine, [write("k1")], "night-1")
    with pytest.raises(ValueError, match="no pending write of hubspot key k1"):
        ledger.record_results(engine, [WriteResult("k1", "hubspot", OK, "1")])


def test_the_ledger_keeps_field_names_never_values(engine):
    ledger.record_pending(engine, [write("k1")], "night-1")
    with engine.reader() as sql:
        ((fields,),) = sql.rows(f"select payload_fields from {ledger.LEDGER}")
    assert fields == "Leadbridge_Key__c,Leadbridge_Stage__c"
