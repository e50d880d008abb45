"""The nightly job on Spark (`LEADBRIDGE_TARGET=spark`) against the same job on DuckDB.

One small demo night runs on each engine (module-scoped, each with its own Dagster
instance and home). The Spark night runs on a Leadbridge Spark server of its own
(leadbridge/spark_server.py) on the session's loopback cluster (`spark_cluster`): dlt
lands Parquet files, the server declares them, dbt and the checks are its Connect
clients, the publication re-points the `published` views, and BI reads them through
the server's Thrift server. Skipped, with the reason, where Spark cannot start.
Both run times are printed (`-s` shows them).
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from leadbridge.publication import PUBLICATION_TABLE, unpublished
from tests.e2e.support import RUN_CONFIG, isolated_home, memory_instance, run_nightly
from tests.support.rows import columns_by_table, select_columns, table_differences
from tests.support.spark import beeline, spark_env, spark_server

pytestmark = pytest.mark.e2e

BUILT = ("marts", "restricted")


def _timed_night(definitions, home: Path, **env: str):
    with isolated_home(home, **env), memory_instance() as instance:
        started = time.monotonic()
        result = run_nightly(definitions, instance, RUN_CONFIG)
        return result, time.monotonic() - started


@pytest.fixture(scope="module")
def duckdb_home(definitions, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("duckdb_night_for_spark")
    published = home / "bi" / "leadbridge_marts.duckdb"
    result, seconds = _timed_night(
        definitions, home, LEADBRIDGE_TARGET="duckdb", LEADBRIDGE_PUBLISHED=str(published)
    )
    print(f"\nnightly run on DuckDB: {seconds:.1f} s")
    assert result.success
    return home


@pytest.fixture(scope="module")
def spark_night(definitions, spark_cluster, tmp_path_factory):
    """The night on Spark: its result and the server it ran on (still running)."""
    home = tmp_path_factory.mktemp("spark_night")
    env = {**spark_env(home / "spark", spark_cluster.master_url), "LEADBRIDGE_TARGET": "spark"}
    with spark_server(env, home / "server.log") as server:
        result, seconds = _timed_night(definitions, home, **env)
        print(f"\nnightly run on Spark: {seconds:.1f} s")
        yield result, server


def _failures(result) -> list[str]:
    return [
        f"{event.step_key}: {event.event_specific_data.error.message[:2000]}"
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    ]


def test_the_nightly_job_succeeds_on_spark_with_every_check_evaluated(spark_night):
    result, _ = spark_night
    assert result.success, _failures(result)
    evaluations = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert len(evaluations) > 50
    assert [e.check_name for e in evaluations if not e.passed] == []


def test_every_mart_equals_duckdbs_row_for_row(spark_night, duckdb_home):
    _, server = spark_night
    spark = server.session
    columns = columns_by_table(
        (f"{schema}.{table.name}", column)
        for schema in BUILT
        for table in spark.catalog.listTables(schema)
        for column in spark.table(f"{schema}.{table.name}").columns
    )
    with duckdb.connect(str(duckdb_home / "leadbridge.duckdb"), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        on_duckdb = columns_by_table(
            con.execute(
                "select table_schema || '.' || table_name, column_name "
                "from information_schema.columns where table_schema in ('marts', 'restricted') "
                "order by table_schema, table_name, ordinal_position"
            ).fetchall()
        )
        assert columns == on_duckdb
        differences = table_differences(
            columns,
            lambda table, cols: [
                tuple(row.values())
                for row in spark.table(table).select(*cols).toArrow().to_pylist()
            ],
            lambda table, cols: con.execute(select_columns(table, cols)).fetchall(),
            "spark",
        )
    assert differences == {}


def test_bi_reads_the_published_views_through_the_thrift_server(spark_night):
    result, server = spark_night
    spark = server.session
    published = {t.name for t in spark.catalog.listTables("published")}
    expected = {t for t in (x.name for x in spark.catalog.listTables("marts"))}
    assert published == {t for t in expected if unpublished().keeps("marts", t)} | {
        PUBLICATION_TABLE
    }
    record = beeline(
        server.jdbc_url,
        "bi_reader",
        f"select distinct run_id from published.{PUBLICATION_TABLE}",
    )
    assert record == [[result.run_id]]
    rows = beeline(server.jdbc_url, "bi_reader", "select count(*) from published.dim_person")
    assert int(rows[0][0]) == spark.table("marts.dim_person").count() > 0
