"""The restatement ledger on PostgreSQL: the scenario built and published twice, a late
history row between; the night's restatements are in `published.mart_restatements`,
readable by the BI role, and kept in the working database's `restatements` schema."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from leadbridge.engine import Session
from leadbridge.publication import Unpublished, publish_postgres
from leadbridge.restatements import (
    FUNNEL,
    LATE_HISTORY,
    LEDGER,
    LEDGER_SCHEMA,
    Place,
    _person_days,
)
from leadbridge.settings import POSTGRES
from tests.fixtures.raw_scenario import create_raw_scenario
from tests.support.dashboard import MODELS_ONLY
from tests.support.dbt_scenario import run_dbt, scenario_database
from tests.support.postgres import PostgresServer, copy_duckdb_schemas
from tests.support.restatements import (
    AS_OF,
    LATE_ROW,
    LEDGER_SELECT,
    assert_recorded,
    ledger_rows,
    marts_frames,
    moved,
)

pytestmark = pytest.mark.integration

RAW_SCHEMAS = ("hubspot", "salesforce", "files")


def _rows(server: PostgresServer, statement: str, admin: bool = False) -> list[tuple]:
    connection = server.admin_connect() if admin else server.connect()
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def _frames(server: PostgresServer):
    connection = server.connect()

    def read(table: str) -> pd.DataFrame:
        with connection.cursor() as cursor:
            cursor.execute(f"select * from published.{table}")
            columns = [column.name for column in cursor.description]
            return pd.DataFrame.from_records(cursor.fetchall(), columns=columns, coerce_float=True)

    try:
        return marts_frames(read)
    finally:
        connection.close()


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer):
    """Night one published, a late history row loaded, night two published; the server,
    night one's KPI frames and night two's publication."""
    work: Path = tmp_path_factory.mktemp("restatements_postgres")
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    server = scenario_database(postgres_server, "restatements_postgres")
    copy_duckdb_schemas(raw, server, RAW_SCHEMAS)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in server.dbt_env().items():
            patch.setenv(key, value)
        build = ["build", "--target", "postgres", *MODELS_ONLY]
        run_dbt(build, raw, work, as_of=AS_OF)
        hidden = Unpublished.from_manifest(work / "target" / "manifest.json")
        publish_postgres(server.engine_settings(), "night-1", hidden)
        before = _frames(server)
        _rows(server, LATE_ROW.format(f"'{time.time():.6f}'"))
        run_dbt(build, raw, work, as_of=AS_OF)
        publication = publish_postgres(server.engine_settings(), "night-2", hidden)["marts"]
    return server, before, publication


def test_a_late_history_row_is_restated_in_the_published_schema_as_late_history(nights):
    server, before, publication = nights
    expected = moved(before, _frames(server))
    assert expected
    rows = _rows(server, LEDGER_SELECT.format(schema="published", run_id="night-2"))
    recorded = ledger_rows(rows)
    assert_recorded(recorded, expected)
    assert {cause for *_, cause in recorded.values()} == {LATE_HISTORY}
    assert publication.rows[LEDGER] == len(recorded) == len(publication.restatements)


def test_the_bi_role_reads_the_ledger_and_the_working_database_keeps_it(nights):
    server, _, publication = nights
    kept = _rows(server, f"select count(*) from {LEDGER_SCHEMA}.{LEDGER}")
    assert kept == [(publication.rows[LEDGER],)]
    as_reader = f"set role bi_reader; select count(*) from published.{LEDGER}"
    assert _rows(server, as_reader, admin=True) == kept


def test_a_comparison_that_fails_in_sql_still_publishes_in_the_same_transaction(
    nights, monkeypatch
):
    import leadbridge.restatements as restatements

    server, _, _ = nights

    def broken(session, *args, **kwargs):
        session.execute("select * from a_table_this_org_lacks")  # aborts the statement

    monkeypatch.setattr(restatements, "_attributed", broken)
    with monkeypatch.context() as patch:
        for key, value in server.dbt_env().items():
            patch.setenv(key, value)
        publication = publish_postgres(server.engine_settings(), "night-3", None)["marts"]
    assert publication.restatements is None and "a_table_this_org_lacks" in (
        publication.restatement_error or ""
    )
    assert _rows(server, "select distinct run_id from published._publication") == [("night-3",)]
    assert _rows(server, f"select count(*) from published.{LEDGER}")[0][0] >= 1


def test_the_funnel_days_of_named_people_are_read_with_one_list_parameter(nights):
    server = nights[0]
    people = [row[0] for row in _rows(server, f"select person_id from published.{FUNNEL}")]
    columns = _rows(
        server,
        "select column_name from information_schema.columns where table_schema = 'published' "
        f"and table_name = '{FUNNEL}' and column_name like '%%\\_at'",
    )
    stamps = ", ".join(column for (column,) in columns)
    row = _rows(server, f"select {stamps} from published.{FUNNEL} where person_id = '{people[0]}'")
    expected = {value.date() for value in row[0] if value is not None}
    assert expected
    connection = server.connect()
    try:
        session = Session(POSTGRES, connection)
        assert _person_days(session, (Place("published"),), {people[0]}) == expected
        every = _person_days(session, (Place("published"),), set(people))
    finally:
        connection.close()
    assert expected < every
