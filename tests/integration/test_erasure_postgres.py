"""The erasure on PostgreSQL: the same rows pseudonymized as on DuckDB, nothing left in
clear, and the request re-applied to a row a later load brings.

The raw scenario (tests/fixtures/raw_scenario.py) is loaded into a throw-away server and
into a DuckDB file; Alice (alice@acme.com: a HubSpot contact, a Salesforce lead, email
events, form submissions) is erased on both. The raw tables alone resolve her records
here (no dbt build), which is also what the command does on a warehouse never built.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from leadbridge.engine import Engine
from leadbridge.erasure import erase_raw, erasure_plan, purge_replaced_values, reapply
from leadbridge.paths import DBT_PROJECT_DIR
from tests.fixtures.raw_scenario import create_raw_scenario
from tests.support.dbt_scenario import scenario_database
from tests.support.postgres import copy_duckdb_schemas

pytestmark = pytest.mark.integration

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
RAW_SCHEMAS = ["hubspot", "salesforce", "files"]
ADDRESS = "alice@acme.com"


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("erasure_postgres")


@pytest.fixture(scope="module")
def engines(work, postgres_server):
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    server = scenario_database(postgres_server, "erasure_scenario")
    copy_duckdb_schemas(raw, server, RAW_SCHEMAS)
    shutil.copy(raw, work / "warehouse.duckdb")
    settings = server.engine_settings()
    return {
        "postgres": Engine("postgres", work / "local.duckdb", settings),
        "duckdb": Engine("duckdb", work / "warehouse.duckdb"),
    }


@pytest.fixture(scope="module")
def erased(engines):
    out = {}
    for name, engine in engines.items():
        request_id, changed, identifiers = erase_raw(
            engine, MANIFEST, emails=[ADDRESS.upper()], reason="scenario"
        )
        purge_replaced_values(engine, changed)
        out[name] = {"request_id": request_id, "changed": changed, "identifiers": identifiers}
    return out


def _clear_hits(engine: Engine, needle: str) -> list[str]:
    """`schema.table.column` of every raw text value containing `needle`."""
    hits = []
    with engine.reader() as reader:
        columns = reader.rows(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('hubspot', 'salesforce', 'files') "
            "and data_type in ('text', 'character varying', 'VARCHAR', 'JSON', 'json', 'jsonb')"
        )
        for schema, table, column in columns:
            (count,) = reader.rows(
                f'select count(*) from "{schema}"."{table}" '
                f'where lower(cast("{column}" as text)) like ?',
                [f"%{needle}%"],
            )[0]
            if count:
                hits.append(f"{schema}.{table}.{column}")
    return hits


def test_alice_was_in_clear_in_several_raw_tables(engines, work):
    # the untouched copy: the scenario must give the erasure something to find
    assert _clear_hits(Engine("duckdb", work / "raw.duckdb"), ADDRESS) == [
        "hubspot.contacts.email",
        "hubspot.email_events.recipient",
        "hubspot.form_submissions.email",
        "hubspot.form_submissions.values",
        "salesforce.contact.email",
        "salesforce.lead.email",
    ]


def test_postgres_pseudonymizes_the_same_rows_as_duckdb(erased):
    assert erased["postgres"]["changed"] == erased["duckdb"]["changed"]
    # her HubSpot contact, lead, the contact it converted to, and her address's hash
    assert erased["postgres"]["identifiers"] == erased["duckdb"]["identifiers"] == 4
    changed = {table: n for table, n in erased["postgres"]["changed"].items() if n}
    assert changed == {
        "hubspot.contacts": 1,
        "hubspot.email_events": 1,
        "hubspot.form_submissions": 2,
        "salesforce.contact": 1,
        "salesforce.lead": 1,
        "salesforce.task": 1,  # found through the lead: no address on a task
    }


@pytest.mark.parametrize("name", ["postgres", "duckdb"])
def test_no_raw_value_holds_her_address_any_more(erased, engines, name):
    assert _clear_hits(engines[name], ADDRESS) == []


def test_the_request_is_recorded_without_the_address_on_postgres(erased, engines):
    with engines["postgres"].reader() as reader:
        stored = reader.rows("select kind, value from privacy.erased_identifiers")
    assert {kind for kind, _ in stored} >= {"email_sha256", "hubspot_contact", "salesforce_lead"}
    assert not any(ADDRESS in value for _, value in stored)


def test_a_row_loaded_later_is_pseudonymized_again_on_postgres(erased, engines):
    engine = engines["postgres"]
    plan = erasure_plan(MANIFEST)
    with engine.writer() as sql:
        assert reapply(sql, plan, RAW_SCHEMAS) == {}  # nothing new: nothing changes
        sql.execute(
            "insert into hubspot.email_events (id, type, recipient) "
            "values ('later-1', 'OPEN', ' Alice@ACME.com ')"
        )
        assert reapply(sql, plan, RAW_SCHEMAS) == {"hubspot.email_events": 1}
    assert _clear_hits(engine, ADDRESS) == []


def test_the_duckdb_file_keeps_no_old_value_in_its_free_blocks(erased, engines):
    data = engines["duckdb"].file.read_bytes()
    assert ADDRESS.encode() not in data
    with duckdb.connect(str(engines["duckdb"].file), read_only=True) as con:
        assert con.execute("select count(*) from privacy.erasure_requests").fetchone() == (1,)
