"""The erasure plan read from the sources YAML, and scrubbing on an in-memory DuckDB."""

from __future__ import annotations

import duckdb
import jinja2
import pytest

from leadbridge.engine import DUCKDB, Session
from leadbridge.erasure import (
    ErasureError,
    Identifiers,
    NoRecordMatched,
    email_hash,
    erasure_plan,
    parse_record,
    pseudonymous_email,
    reapply,
    record_request,
    resolve,
    scrub,
    unmatched,
)
from leadbridge.paths import DBT_PROJECT_DIR

MACROS = DBT_PROJECT_DIR / "macros"

pytestmark = pytest.mark.unit


def _source(schema: str, table: str, columns: dict, link: dict | None = None) -> dict:
    return {
        "source_name": schema,
        "name": table,
        "meta": {"person_link": link} if link else {},
        "columns": {name: {"name": name, "meta": meta} for name, meta in columns.items()},
    }


MANIFEST = {
    "sources": {
        "s.crm.lead": _source(
            "crm",
            "lead",
            {
                "id": {},
                "email": {"pii": "clear", "erase_as": "email"},
                "last_name": {"pii": "clear"},
                "phone": {"pii": "clear", "erase_as": "null"},
                "status": {},
            },
            {"id": "salesforce_lead", "email": "email", "contact_id": "salesforce_contact"},
        ),
        "s.crm.task": _source(
            "crm",
            "task",
            {"id": {}, "subject": {"pii": "clear"}},
            {"who_id": "salesforce_person"},
        ),
        "s.crm.history": _source(
            "crm",
            "history",
            {"new_value": {"pii": "clear", "erase_when": "field = 'Email'"}},
            {"lead_id": "salesforce_lead"},
        ),
        "s.crm.form": _source(
            "crm",
            "form",
            {
                "email": {"pii": "clear", "erase_as": "email"},
                "body": {"pii": "clear", "erase_as": "json"},
            },
            {"email": "email"},
        ),
        "s.crm.account": _source("crm", "account", {"name": {}}),
    }
}


def test_the_plan_lists_only_tables_with_clear_pii_and_their_links() -> None:
    plan = erasure_plan(MANIFEST)
    assert [t.relation for t in plan] == ['crm."form"', 'crm."history"', 'crm."lead"', 'crm."task"']
    lead = plan[2]
    assert [(c.name, c.erase_as) for c in lead.columns] == [
        ("email", "email"),
        ("last_name", "text"),
        ("phone", "null"),
    ]
    assert plan[1].columns[0].erase_when == "field = 'Email'"


def test_clear_pii_without_a_person_link_is_refused_naming_the_table() -> None:
    manifest = {"sources": {"x": _source("crm", "notes", {"body": {"pii": "clear"}})}}
    with pytest.raises(ErasureError, match=r"crm\.notes has clear PII but no person_link"):
        erasure_plan(manifest)


def test_an_unknown_link_kind_or_replacement_is_refused() -> None:
    manifest = {
        "sources": {
            "x": _source("crm", "t", {"a": {"pii": "clear", "erase_as": "blank"}}, {"i": "fax"})
        }
    }
    with pytest.raises(ErasureError, match="erase_as 'blank'") as error:
        erasure_plan(manifest)
    assert "person_link i: 'fax'" in str(error.value)


def test_record_references_are_checked() -> None:
    assert parse_record("salesforce_lead: 00Q1") == ("salesforce_lead", "00Q1")
    for bad in ("00Q1", "salesforce_opportunity:006", "hubspot_contact:"):
        with pytest.raises(ErasureError, match="expected <kind>:<id>"):
            parse_record(bad)


def test_addresses_are_matched_normalized() -> None:
    assert email_hash("  Jane.Doe@Example.COM ") == email_hash("jane.doe@example.com")
    # as SQL's trim: spaces only, so the hash equals the one `_email_match` computes
    assert email_hash("jane@example.com\t") != email_hash("jane@example.com")
    assert len(email_hash("a@b.c")) == 64


@pytest.mark.parametrize(
    "address", [" Jane.Doe@Example.COM ", "jane@example.com", "JÖRG@Bäcker.de", "a+b@c.io"]
)
def test_python_hashes_an_address_as_dbts_email_hash_macro_does(address: str) -> None:
    # the macros as dbt renders them on DuckDB: email_hash = sha256_hex(normalize_email(x))
    macros = jinja2.Environment(extensions=["jinja2.ext.do"])
    strings = macros.from_string((MACROS / "strings.sql").read_text()).module
    pii = macros.from_string((MACROS / "pii.sql").read_text()).module
    sql = str(pii.duckdb__sha256_hex(strings.normalize_email("$1")))
    (hashed,) = duckdb.connect().execute(f"select {sql}", [address]).fetchone()
    assert email_hash(address) == hashed


@pytest.fixture()
def crm() -> Session:
    connection = duckdb.connect()
    connection.execute("create schema crm")
    connection.execute(
        "create table crm.lead as select * from (values "
        "('L1', ' Jane@Example.com', 'Doe', '555-1', 'MQL', null), "
        "('L2', 'jane@example.com', 'Doe', null, 'SQL', 'C9'), "
        "('L3', 'bob@example.com', 'Roe', '555-3', 'MQL', null)) "
        "t(id, email, last_name, phone, status, contact_id)"
    )
    connection.execute(
        "create table crm.task as select * from (values "
        "('T1', 'L1', 'call Jane about pricing'), ('T2', 'C9', 'Jane signed'), "
        "('T3', 'L3', 'call Bob')) t(id, who_id, subject)"
    )
    connection.execute(
        "create table crm.history as select * from (values "
        "('L1', 'Email', 'jane@example.com'), ('L1', 'Status', 'MQL'), "
        "('L3', 'Email', 'bob@example.com')) t(lead_id, field, new_value)"
    )
    connection.execute(
        "create table crm.form as select * from (values "
        "('jane@example.com', '[{\"name\": \"Jane\"}]'), ('bob@example.com', '[]')) "
        "t(email, body)"
    )
    return Session(DUCKDB, connection)


def test_a_person_is_widened_from_one_address_to_every_linked_record(crm) -> None:
    who = resolve(crm, erasure_plan(MANIFEST), emails=["JANE@example.com"])
    assert who.ids["salesforce_lead"] == {"L1", "L2"}
    assert who.ids["salesforce_contact"] == {"C9"}  # found on lead L2
    assert who.email_hashes == {email_hash("jane@example.com")}


def test_scrub_pseudonymizes_only_the_persons_pii_and_is_idempotent(crm) -> None:
    plan = erasure_plan(MANIFEST)
    who = resolve(crm, plan, emails=["jane@example.com"])
    changed = scrub(crm, plan, who, "r" * 32)
    assert changed == {"crm.form": 1, "crm.history": 1, "crm.lead": 2, "crm.task": 2}  # rows
    # the row still counts as Jane's for its body after its address was replaced
    assert crm.rows("select email, body from crm.form order by 2") == [
        ("bob@example.com", "[]"),
        (pseudonymous_email("r" * 32), "{}"),
    ]
    pseudonym = pseudonymous_email("r" * 32)
    assert crm.rows("select id, email, last_name, phone, status from crm.lead order by id") == [
        ("L1", pseudonym, "erased", None, "MQL"),
        ("L2", pseudonym, "erased", None, "SQL"),
        ("L3", "bob@example.com", "Roe", "555-3", "MQL"),
    ]
    assert crm.rows("select subject from crm.task order by id") == [
        ("erased",),
        ("erased",),
        ("call Bob",),
    ]
    # only the Email field's values are personal in the history table
    assert crm.rows("select field, new_value from crm.history order by 1, 2") == [
        ("Email", "bob@example.com"),
        ("Email", "erased"),
        ("Status", "MQL"),
    ]
    assert set(scrub(crm, plan, who, "r" * 32).values()) == {0}


def test_a_recorded_request_keeps_only_hashes_and_is_reapplied_to_new_rows(crm) -> None:
    plan = erasure_plan(MANIFEST)
    who = resolve(crm, plan, records=["salesforce_lead:L1"])
    request_id = record_request(crm, who, reason="ticket 7")
    scrub(crm, plan, who, request_id)
    stored = crm.rows("select kind, value from privacy.erased_identifiers order by 1, 2")
    assert ("email_sha256", email_hash("jane@example.com")) in stored
    assert not any("jane" in value for _, value in stored)

    # the source sends Jane again: a new task and her lead, changed
    crm.execute("insert into crm.task values ('T4', 'L1', 'Jane called back')")
    crm.execute("update crm.lead set email = 'Jane@example.com', last_name = 'Doe' where id = 'L1'")
    assert reapply(crm, plan, ["crm"]) == {"crm.lead": 1, "crm.task": 1}
    assert crm.rows("select count(*) from crm.task where subject like '%Jane%'") == [(0,)]
    assert crm.rows("select count(*) from crm.lead where email ilike '%jane%'") == [(0,)]


def test_a_request_without_an_address_or_record_is_refused(crm) -> None:
    with pytest.raises(ErasureError, match="needs an email address or a source record"):
        resolve(crm, erasure_plan(MANIFEST), emails=["  "])
    assert Identifiers().is_empty()


def test_each_requested_address_or_record_that_no_raw_row_carries_is_named(crm) -> None:
    plan = erasure_plan(MANIFEST)
    assert unmatched(
        crm,
        plan,
        emails=[" JANE@example.com", "jane@exmaple.com"],
        records=["salesforce_contact:C9", "salesforce_lead:L9"],
    ) == ["email jane@exmaple.com", "salesforce_lead:L9"]
    assert unmatched(crm, plan, emails=["bob@example.com"], records=["salesforce_lead:L2"]) == []
    assert str(NoRecordMatched(["email a@b.c", "salesforce_lead:L9"])) == (
        "no record matched email a@b.c; no record matched salesforce_lead:L9"
    )


def test_an_address_erased_before_is_unmatched_and_names_its_request(crm) -> None:
    plan = erasure_plan(MANIFEST)
    who = resolve(crm, plan, emails=["jane@example.com"])
    request_id = record_request(crm, who)
    scrub(crm, plan, who, request_id)
    assert unmatched(crm, plan, emails=["Jane@Example.com"]) == [
        f"email Jane@Example.com (erased by request {request_id})"
    ]


def test_a_row_listing_several_people_is_scrubbed_for_each_but_never_joins_them() -> None:
    manifest = {
        "sources": {
            "s.hs.tasks": _source(
                "hs",
                "tasks",
                {"id": {}, "subject": {"pii": "clear"}},
                {"contact_ids": "hubspot_contact_list"},
            ),
            "s.hs.contacts": _source(
                "hs",
                "contacts",
                {"email": {"pii": "clear", "erase_as": "email"}},
                {"id": "hubspot_contact", "email": "email"},
            ),
        }
    }
    connection = duckdb.connect()
    connection.execute("create schema hs")
    connection.execute(
        "create table hs.contacts as select * from (values "
        "('101', 'ann@example.com'), ('1011', 'ben@example.com'), ('102', 'cy@example.com')) "
        "t(id, email)"
    )
    connection.execute(
        "create table hs.tasks as select * from (values "
        "('T1', '101;102', 'call Ann and Cy'), ('T2', '102', 'call Cy'), "
        "('T3', '1011', 'call Ben'), ('T4', null, 'no one')) t(id, contact_ids, subject)"
    )
    sql = Session(DUCKDB, connection)
    plan = erasure_plan(manifest)
    who = resolve(sql, plan, emails=["ann@example.com"])
    assert who.ids["hubspot_contact"] == {"101"}  # Cy, on the same task, is not Ann
    assert scrub(sql, plan, who, "r" * 32)["hs.tasks"] == 1
    assert sql.rows("select id, subject from hs.tasks order by id") == [
        ("T1", "erased"),
        ("T2", "call Cy"),
        ("T3", "call Ben"),  # 1011 is not 101
        ("T4", "no one"),
    ]
