"""The dbt project on Spark: every node builds on a loopback cluster, and every mart
equals the DuckDB build.

The hand-written raw scenario (tests/fixtures/raw_scenario.py) is created in DuckDB and
copied, same columns and types, into Spark tables of the raw databases; dbt builds it
with the `spark` target as of the same night as the DuckDB build of `scenario_marts`,
its driver in this process and its executors on a standalone master and worker started
on 127.0.0.1 (the `spark_build` fixture, tests/support/spark.py). Skipped, with the
reason, only where Spark cannot start (no Java).
"""

from __future__ import annotations

import json

import pytest

from tests.support.rows import (
    MART_COLUMNS_SQL,
    columns_by_table,
    select_columns,
    table_differences,
)
from tests.support.spark import application_id, application_status, beeline
from tests.support.warehouse import duckdb_query

pytestmark = pytest.mark.integration


def test_the_build_ran_its_tasks_on_the_clusters_worker(spark_build):
    """Spark's own status, not the configuration: the master has one live worker and the
    Spark server's application; the worker runs the application's executors; those
    executors (not the driver) ran the tasks."""
    application = application_id(spark_build.server)
    master = spark_build.cluster.master_status()
    assert [worker["state"] for worker in master["workers"]] == ["ALIVE"]
    assert application in [app["id"] for app in master["activeapps"]]
    on_worker = {
        str(executor["id"])
        for executor in spark_build.cluster.worker_status()["executors"]
        if executor["appid"] == application
    }
    assert on_worker
    executors = application_status(spark_build.server, "executors")
    tasks = {executor["id"]: executor["totalTasks"] for executor in executors}
    assert tasks.pop("driver") == 0
    assert set(tasks) == on_worker
    assert sum(tasks.values()) > 0


def test_a_bi_client_reads_a_mart_through_the_thrift_server(spark_build):
    """Hive's JDBC client (beeline, from Spark's distribution) connected to the Spark
    Thrift Server the Spark server runs on loopback gets the rows a Connect session reads
    from the mart."""
    statement = "select person_id, mql_entries from marts.dim_person"
    through_thrift = beeline(spark_build.server.jdbc_url, "bi_reader", statement)
    in_session = spark_build.session.sql(statement).collect()
    assert len(in_session) >= 5
    assert sorted(through_thrift) == sorted(
        [row.person_id, str(row.mql_entries)] for row in in_session
    )


def test_every_node_builds_on_spark(spark_build):
    """Every seed, model, data test and unit test of the project ran and passed."""
    manifest = json.loads((spark_build.target / "manifest.json").read_text())
    kinds = {"seed", "model", "test", "snapshot"}
    nodes = {key for key, node in manifest["nodes"].items() if node["resource_type"] in kinds}
    # the on-run-start hook runs too (it creates the access roles, on PostgreSQL only)
    results = {
        key: status
        for key, status in spark_build.results().items()
        if not key.startswith("operation.")
    }
    assert set(results) == nodes | set(manifest["unit_tests"])
    assert len(results) > 250
    assert set(results.values()) <= {"success", "pass"}


def test_every_mart_and_restricted_table_has_the_same_rows_on_spark_and_duckdb(
    spark_build, scenario_marts
):
    duckdb_path, _ = scenario_marts
    spark_columns = spark_build.columns()
    assert spark_columns == columns_by_table(duckdb_query(duckdb_path, MART_COLUMNS_SQL))
    assert len([table for table in spark_columns if table.startswith("marts.")]) >= 15
    assert len([table for table in spark_columns if table.startswith("restricted.")]) >= 3
    differences = table_differences(
        spark_columns,
        spark_build.rows,
        lambda table, columns: duckdb_query(duckdb_path, select_columns(table, columns)),
        "spark",
    )
    assert differences == {}
