"""The dbt project on PostgreSQL: every node builds and every mart equals the DuckDB build.

The hand-written raw scenario (tests/fixtures/raw_scenario.py) is created in DuckDB and
copied, same columns and types, into the raw schemas of a throw-away PostgreSQL server
(tests/support/postgres.py). dbt builds it once per engine with the same `as_of`.
Skipped, with the reason, only where no PostgreSQL server can be started.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fixtures.raw_scenario import AS_OF, create_raw_scenario
from tests.support.dbt_scenario import (
    ALICE,
    CAROL,
    DAN,
    ERIN,
    NEXT_NIGHT,
    NEXT_NIGHT_CHANGES,
    between_changes_and,
    incremental_tables,
    run_dbt,
    scenario_database,
)
from tests.support.postgres import PostgresServer, copy_duckdb_schemas
from tests.support.rows import (
    MART_COLUMNS_SQL,
    WRITTEN_AT,
    columns_by_table,
    select_columns,
    sorted_rows,
    table_differences,
)
from tests.support.warehouse import duckdb_query

pytestmark = pytest.mark.integration

RAW_SCHEMAS = ["hubspot", "salesforce", "files"]


@dataclass(frozen=True)
class Builds:
    """The scenario built by dbt on both engines."""

    postgres: PostgresServer
    duckdb_path: Path
    work: Path
    postgres_output: str
    duckdb_output: str


@pytest.fixture(scope="module")
def builds(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[Builds]:
    work = tmp_path_factory.mktemp("dbt_postgres")
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    postgres_server = scenario_database(postgres_server, "dbt_postgres")
    copy_duckdb_schemas(raw, postgres_server, RAW_SCHEMAS)
    warehouse = work / "warehouse.duckdb"
    shutil.copy(raw, warehouse)

    (work / "postgres").mkdir()
    (work / "duckdb").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        for key, value in postgres_server.dbt_env().items():
            patch.setenv(key, value)
        started = time.monotonic()
        # `warehouse` is unused by the postgres target; run_dbt pins AS_OF.
        postgres_output = run_dbt(["build", "--target", "postgres"], warehouse, work / "postgres")
        postgres_seconds = time.monotonic() - started
    started = time.monotonic()
    duckdb_output = run_dbt(["build"], warehouse, work / "duckdb")
    duckdb_seconds = time.monotonic() - started
    print(f"dbt build: postgres {postgres_seconds:.1f} s, duckdb {duckdb_seconds:.1f} s")
    yield Builds(postgres_server, warehouse, work, postgres_output, duckdb_output)


def postgres_query(server: PostgresServer, sql: str) -> list[tuple]:
    connection = server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def build_summary(output: str) -> dict[str, int]:
    """dbt's closing `Done. PASS=… WARN=… ERROR=… SKIP=… NO-OP=… TOTAL=…` as numbers."""
    line = re.findall(r"Done\. (PASS=.*)", output)[-1]
    return {key: int(value) for key, value in re.findall(r"([A-Z-]+)=(\d+)", line)}


def test_every_node_builds_on_postgres(builds):
    on_postgres = build_summary(builds.postgres_output)
    assert on_postgres["PASS"] == on_postgres["TOTAL"] > 250
    assert on_postgres == build_summary(builds.duckdb_output)


def rows_without_written_at(server: PostgresServer, table: str) -> list[tuple]:
    columns = postgres_query(
        server,
        f"""select column_name from information_schema.columns
        where table_schema || '.' || table_name = '{table}' and column_name <> '{WRITTEN_AT}'
        order by ordinal_position""",
    )
    quoted = ", ".join(f'"{column}"' for (column,) in columns)
    return sorted_rows(postgres_query(server, f"select {quoted} from {table}"))


def test_every_mart_and_restricted_table_has_the_same_rows_on_postgres_and_duckdb(builds):
    pg_columns = columns_by_table(postgres_query(builds.postgres, MART_COLUMNS_SQL))
    duck_columns = columns_by_table(duckdb_query(builds.duckdb_path, MART_COLUMNS_SQL))
    assert pg_columns == duck_columns
    assert len([table for table in pg_columns if table.startswith("marts.")]) >= 15
    assert len([table for table in pg_columns if table.startswith("restricted.")]) >= 3
    differences = table_differences(
        pg_columns,
        lambda table, columns: postgres_query(builds.postgres, select_columns(table, columns)),
        lambda table, columns: duckdb_query(builds.duckdb_path, select_columns(table, columns)),
        "postgres",
    )
    assert differences == {}


def test_known_values_on_postgres(builds):
    """Exact values from the scenario, so two empty or equally broken builds cannot pass."""
    links = postgres_query(
        builds.postgres, "select link_rule, count(*) from marts.fct_identity_links group by 1"
    )
    assert dict(links) == {
        "salesforce_lead_converted": 1,
        "hubspot_salesforce_lead_id": 3,
        "hubspot_salesforce_contact_id": 1,
        "hubspot_merged_contact": 1,
        "salesforce_master_record": 1,
        "email_normalized": 1,
    }
    hashes = dict(
        postgres_query(builds.postgres, "select person_id, email_hash from marts.dim_person")
    )
    assert hashes[ALICE] == hashlib.sha256(b"alice@acme.com").hexdigest()
    sla = postgres_query(
        builds.postgres,
        """
        select person_id, cast(sla_deadline_at as varchar), business_hours_elapsed, sla_status
        from marts.fct_sla order by handoff_at""",
    )
    assert sla == [
        (ERIN, "2026-01-06 15:00:00", Decimal("2.00"), "met"),
        (ALICE, "2026-01-08 15:00:00", Decimal("3.00"), "met"),
        (CAROL, "2026-01-12 22:00:00", Decimal("1.00"), "met"),
        (DAN, "2026-01-20 20:00:00", Decimal("10.00"), "breached"),
        (ERIN, "2026-01-23 22:00:00", Decimal("1.00"), "open"),
    ]


def run_on_postgres(builds: Builds, args: list[str], as_of: str = AS_OF) -> str:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in builds.postgres.dbt_env().items():
            patch.setenv(key, value)
        return run_dbt(
            [*args, "--target", "postgres"],
            builds.duckdb_path,
            builds.work / "postgres",
            as_of=as_of,
        )


def incremental_rows(builds: Builds, tables: dict[str, str]) -> dict[str, list[tuple]]:
    return {
        model: rows_without_written_at(builds.postgres, table) for model, table in tables.items()
    }


def test_incremental_models_on_postgres_equal_a_full_refresh(builds):
    """dbt-postgres's delete+insert path for every incremental model (found in the manifest):
    a run with nothing changed leaves the same rows; the next night's late history row
    before the window, merge and removed record (NEXT_NIGHT_CHANGES) leave the rows of a
    full refresh. Last in the module: it changes the raw data the other tests compare."""
    tables = incremental_tables(builds.work / "postgres")
    assert {"fct_lead_events", "dim_person", "fct_lifecycle_stages"} <= set(tables)
    built = incremental_rows(builds, tables)
    assert all(len(rows) > 5 for rows in built.values())
    output = run_on_postgres(builds, ["run", "--select", *tables])
    assert f"Finished running {len(tables)} incremental models" in output
    assert incremental_rows(builds, tables) == built

    connection = builds.postgres.connect()
    try:
        with connection.cursor() as cursor:
            for change in NEXT_NIGHT_CHANGES:
                cursor.execute(change)
        connection.commit()
    finally:
        connection.close()
    run_on_postgres(builds, ["run", "--select", *between_changes_and(list(tables))], NEXT_NIGHT)
    incremental = incremental_rows(builds, tables)
    assert incremental != built
    run_on_postgres(builds, ["run", "--select", *tables, "--full-refresh"], NEXT_NIGHT)
    assert incremental_rows(builds, tables) == incremental
