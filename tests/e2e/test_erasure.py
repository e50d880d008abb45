"""Erasure end to end: a person's data leaves raw tables, history, marts and the published
file, and stays out when the source sends their record again.

1. A clean night on the simulated sources.
2. The source is about to re-send one HubSpot contact (the simulator's `touch`): that
   person is the one who asks to be erased, by email — the case where an erasure is
   easiest to undo by accident.
3. The erasure (orchestration.erase: scrub under the run lock, then the
   `erasure_rebuild` job): no column of any table of the warehouse, nor of the published
   file, nor any file under the data folder holds their address, phone or name any more;
   the person is still counted (pseudonymized, not deleted); the request keeps only
   hashes and ids.
4. The next night loads the touched contact again — and it arrives pseudonymized.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from leadbridge.engine import Engine
from leadbridge.erasure import email_hash, pseudonymous_email
from leadbridge.paths import DBT_PROJECT_DIR
from orchestration.erase import erase, main
from simulator import SimulatorConfig
from tests.e2e.support import failed_checks, run_nightly, sql

pytestmark = pytest.mark.e2e

CONFIG = SimulatorConfig(seed=31, people=60, months=3, anchor=date(2026, 10, 31))
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
AS_OF = "2026-11-01 02:00:00"
HOME_ENV = {"LEADBRIDGE_AS_OF": AS_OF}


TABLES = {
    "hubspot_contact": "hubspot.contacts",
    "salesforce_lead": "salesforce.lead",
    "salesforce_contact": "salesforce.contact",
}
NIGHT = {"ops": {"dbt_build": {"config": {"as_of": AS_OF}}}}


@pytest.fixture(scope="module")
def first_night(definitions, instance, home):
    result = run_nightly(definitions, instance, NIGHT)
    assert result.success, failed_checks(result)
    return result


@pytest.fixture(scope="module")
def person(first_night, home, sim) -> dict:
    """The person whose HubSpot contact the source will send again, and their data."""
    sim.faults.touch("contacts")
    as_of = sim.view.as_of
    touched = [
        row for row in sim.view.hubspot_rows("contacts") if row.get("lastmodifieddate") == as_of
    ]
    assert len(touched) == 1, "the simulator should re-send exactly one contact"
    contact_id = str(touched[0]["_id"])
    email, first, last, phone = sql(
        home,
        f"select email, firstname, lastname, phone from hubspot.contacts where id = '{contact_id}'",
    )[0]
    assert email and "@" in email
    (person_id,) = sql(
        home,
        "select person_id from intermediate.int_identity__record_persons "
        f"where node_key = 'hubspot_contact:{contact_id}'",
    )[0]
    records = sql(
        home,
        "select record_type, record_id from intermediate.int_identity__record_persons "
        f"where person_id = '{person_id}' and record_type is not null",
    )
    return {
        "contact_id": contact_id,
        "email": email,
        "names": (first, last),
        "phone": phone,
        "person_id": person_id,
        "records": sorted(records),
    }


def _text_columns(con) -> list[tuple[str, str, str]]:
    return con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type in ('VARCHAR', 'JSON') and table_catalog = current_database() "
        "order by all"
    ).fetchall()


def _tables_holding(path: Path, needle: str) -> list[str]:
    """Every `schema.table.column` of a DuckDB file with a value containing `needle`."""
    found = []
    with duckdb.connect(str(path), read_only=True) as con:
        for schema, table, column in _text_columns(con):
            (hits,) = con.execute(
                f'select count(*) from "{schema}"."{table}" '
                f'where contains(lower(cast("{column}" as varchar)), ?)',
                [needle.lower()],
            ).fetchone()
            if hits:
                found.append(f"{schema}.{table}.{column}")
    return found


def _files_holding(folder: Path, needle: bytes) -> list[str]:
    return [
        str(path.relative_to(folder))
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "dagster_home" not in path.parts and needle in path.read_bytes()
    ]


@pytest.fixture(scope="module")
def erased(person, home, instance):
    """The person's data before, the erasure's own figures, and the rebuild run."""
    before = {
        "people": sql(home, "select count(*) from marts.dim_person")[0][0],
        "holding_email": _tables_holding(home / "leadbridge.duckdb", person["email"]),
    }
    engine = Engine.resolve(home / "leadbridge.duckdb", "duckdb")
    done = erase(
        engine, MANIFEST, emails=[person["email"].upper()], reason="ticket 7", instance=instance
    )
    return {
        "before": before,
        "request_id": done.request_id,
        "changed": done.changed,
        "result": done.rebuild,
    }


def test_the_persons_data_was_in_raw_tables_and_marts_before(erased, person):
    holding = erased["before"]["holding_email"]
    assert "hubspot.contacts.email" in holding
    assert any(place.startswith("restricted.") for place in holding)


def test_the_erasure_widens_to_every_record_of_the_person(erased, person, home):
    assert erased["result"].success, failed_checks(erased["result"])
    assert len(person["records"]) >= 2, "pick a person with records in both systems"
    pseudonym = pseudonymous_email(erased["request_id"])
    for record_type, table in TABLES.items():
        records = [rid for kind, rid in person["records"] if kind == record_type]
        # every record of the person had a clear address or name: one row changed each
        assert erased["changed"].get(table, 0) == len(records), table
        for record_id in records:
            rows = sql(home, f"select email from {table} where id = '{record_id}'")
            assert rows in ([(pseudonym,)], [(None,)]), (table, record_id, rows)


def test_no_table_of_the_warehouse_or_published_file_holds_their_data(erased, person, home):
    published = home / "published" / "leadbridge_marts.duckdb"
    for needle in [person["email"], person["phone"]]:
        if not needle:
            continue
        assert _tables_holding(home / "leadbridge.duckdb", needle) == []
        assert _tables_holding(published, needle) == []
    contact = f"id = '{person['contact_id']}'"
    names = sql(home, f"select firstname, lastname from hubspot.contacts where {contact}")
    assert names == [("erased", "erased")]
    (full_name,) = sql(
        home,
        "select full_name from restricted.person_contacts "
        f"where person_id = '{person['person_id']}'",
    )[0]
    first, last = person["names"]
    assert first not in (full_name or "") and last not in (full_name or "")


def test_no_file_under_the_data_folder_holds_their_address(erased, person, home):
    # the warehouse file was rewritten: no old block still holds the replaced values
    assert _files_holding(home, person["email"].encode()) == []


def test_the_person_is_pseudonymized_not_deleted(erased, person, home):
    assert sql(home, "select count(*) from marts.dim_person")[0][0] == erased["before"]["people"]
    (email_hash_in_mart,) = sql(
        home, f"select email_hash from marts.dim_person where person_id = '{person['person_id']}'"
    )[0]
    assert email_hash_in_mart == email_hash(pseudonymous_email(erased["request_id"]))


def test_the_request_keeps_hashes_and_ids_not_the_address(erased, person, home):
    assert sql(home, "select reason, identifiers > 0 from privacy.erasure_requests") == [
        ("ticket 7", True)
    ]
    stored = sql(home, "select kind, value from privacy.erased_identifiers")
    assert ("email_sha256", email_hash(person["email"])) in stored
    assert ("hubspot_contact", person["contact_id"]) in stored
    assert not any(person["email"].lower() in value.lower() for _, value in stored)


def test_the_rebuild_republished_the_marts(erased, home):
    (run_id,) = {
        row[0]
        for row in duckdb.connect(
            str(home / "published" / "leadbridge_marts.duckdb"), read_only=True
        )
        .execute("select run_id from _publication")
        .fetchall()
    }
    assert run_id == erased["result"].run_id


@pytest.fixture(scope="module")
def next_night(erased, definitions, instance, home, sim):
    """The source sends the touched contact again, unchanged: the real email included."""
    result = run_nightly(definitions, instance, NIGHT)
    sim.faults.clear()
    return result


def test_the_next_load_brings_the_record_back_pseudonymized(next_night, erased, person, home):
    assert next_night.success, failed_checks(next_night)
    (load_id, email) = sql(
        home,
        f"select _dlt_load_id, email from hubspot.contacts where id = '{person['contact_id']}'",
    )[0]
    loads = [row[0] for row in sql(home, "select load_id from hubspot._dlt_loads order by 1")]
    assert load_id == loads[-1], "the touched contact was loaded again in the last night"
    assert email == pseudonymous_email(erased["request_id"])
    assert _tables_holding(home / "leadbridge.duckdb", person["email"]) == []
    assert _files_holding(home, person["email"].encode()) == []


def test_the_command_refuses_a_request_naming_nobody(home, capsys):
    with pytest.raises(SystemExit) as exit_code:
        main([])
    assert exit_code.value.code == 2
    assert "give --email or --record" in capsys.readouterr().err
    assert main(["--record", "salesforce_opportunity:006"]) == 2
    assert "expected <kind>:<id>" in capsys.readouterr().err
