"""The `spark` target on a real standalone cluster on loopback, against DuckDB.

One cluster (a master and one worker, `leadbridge.spark_local`) and one Leadbridge Spark
server on it serve the whole module, in two acts on the same server:
1. the hand-written raw scenario is copied into Spark and built by dbt (`dbt build
   --target spark`: every seed, model and unit test); what it built is captured;
2. the warehouse is emptied and one demo night of the `nightly` job runs with
   `LEADBRIDGE_TARGET=spark`: dlt lands Parquet, the server declares it, dbt and the
   checks are its Connect clients, the publication re-points the `published` views, and
   BI reads them through the server's Thrift server. The night's build runs every data
   test of the project, so act 1 leaves them out.
Both acts' marts are compared with DuckDB's row for row. The night always follows the
scenario (its fixture asks for it), so the two never share a warehouse. Skipped, with the
reason, where Spark cannot start (no Java). Times are printed (`-s` shows them).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from pathlib import Path

import duckdb
import pytest

from leadbridge.paths import DBT_PROJECT_DIR
from leadbridge.publication import PUBLICATION_TABLE, unpublished
from tests.e2e.support import (
    RUN_CONFIG,
    isolated_home,
    memory_instance,
    run_nightly,
)
from tests.support.rows import (
    MART_COLUMNS_SQL,
    columns_by_table,
    select_columns,
    table_differences,
)
from tests.support.spark import (
    application_id,
    application_status,
    beeline,
    build_scenario_on_spark,
    drop_databases,
    spark_columns,
    spark_rows,
)
from tests.support.warehouse import duckdb_query

pytestmark = pytest.mark.e2e

CONNECT_LOGGER = "pyspark.sql.connect.logging"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from leadbridge.spark_local import SparkUnavailable, spark_cluster

    with contextlib.ExitStack() as stack:
        try:
            running = stack.enter_context(spark_cluster(tmp_path_factory.mktemp("spark_cluster")))
        except SparkUnavailable as error:
            pytest.skip(f"Spark cannot start here: {error}")
        yield running


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    """The one Spark server of the module, and the settings that point at it."""
    from leadbridge.spark_local import spark_env, spark_server

    folder = tmp_path_factory.mktemp("spark_server")
    env = {**spark_env(folder / "warehouse", cluster.master_url), "LEADBRIDGE_TARGET": "spark"}
    with spark_server(env, folder / "server.log") as running:
        yield running, env


@pytest.fixture(scope="module")
def scenario(server, tmp_path_factory):
    """Act 1: the scenario built by dbt on the server, captured."""
    running, env = server
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        return build_scenario_on_spark(running.session, tmp_path_factory.mktemp("dbt_spark"))


@pytest.fixture(scope="module")
def duckdb_home(duckdb_reference_night) -> Path:
    """The same demo night on DuckDB (one per test session: the PostgreSQL night is
    compared with it too)."""
    assert duckdb_reference_night.report.success, duckdb_reference_night.report.summary
    return duckdb_reference_night.home


@pytest.fixture(scope="module")
def connect_log():
    """What PySpark's Connect client logs in this process while the module runs (it
    writes warnings to the night's log; whether its logger is on depends on who
    configured logging last, so it is switched on here)."""
    logger = logging.getLogger(CONNECT_LOGGER)
    records: list[logging.LogRecord] = []
    handler = _Collect(records)
    disabled, logger.disabled = logger.disabled, False
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.disabled = disabled


class _Collect(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]):
        super().__init__(logging.WARNING)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def night(definitions, server, scenario, connect_log, tmp_path_factory):
    """Act 2, after act 1 (`scenario`): the demo night on the emptied server."""
    running, env = server
    drop_databases(running.session)
    home = tmp_path_factory.mktemp("spark_night")
    with isolated_home(home, **env), memory_instance() as instance:
        started = time.monotonic()
        result = run_nightly(definitions, instance, RUN_CONFIG)
        print(f"\nnightly run on Spark: {time.monotonic() - started:.1f} s")
    return result


def _failures(result) -> list[str]:
    return [
        f"{event.step_key}: {event.event_specific_data.error.message[:2000]}"
        for event in result.all_events
        if event.event_type_value == "STEP_FAILURE"
    ]


def _night_results(night) -> dict[str, str]:
    """unique_id → status of every node the night's `dbt build` ran (its run_results.json
    in the target folder dagster-dbt gave the run)."""
    [results] = (DBT_PROJECT_DIR / "target").glob(
        f"dbt_build-{night.run_id[:7]}-*/run_results.json"
    )
    return {r["unique_id"]: r["status"] for r in json.loads(results.read_text())["results"]}


def test_every_node_of_the_project_builds_on_spark(scenario, night):
    """Every seed, model and unit test of the project ran and passed in the scenario's
    build, and every data test in the night's (the scenario's build leaves them to it)."""
    kinds = {"seed", "model", "snapshot"}
    built = {key for key, kind in scenario.nodes.items() if kind in kinds}
    data_tests = {key for key, kind in scenario.nodes.items() if kind == "test"}
    # the on-run-start hook runs too (it creates the access roles, on PostgreSQL only)
    results = {
        key: status for key, status in scenario.results.items() if not key.startswith("operation.")
    }
    assert set(results) == built | scenario.unit_tests
    assert len(results) > 100
    assert set(results.values()) <= {"success", "pass"}
    tested = {k: s for k, s in _night_results(night).items() if k.startswith("test.")}
    assert set(tested) == data_tests
    assert len(tested) > 150
    assert set(tested.values()) == {"pass"}


def test_the_scenarios_marts_equal_duckdbs_row_for_row(scenario, scenario_marts):
    duckdb_path, _ = scenario_marts
    assert scenario.columns == columns_by_table(duckdb_query(duckdb_path, MART_COLUMNS_SQL))
    assert len([table for table in scenario.columns if table.startswith("marts.")]) >= 15
    assert len([table for table in scenario.columns if table.startswith("restricted.")]) >= 3
    differences = table_differences(
        scenario.columns,
        lambda table, _columns: scenario.rows[table],
        lambda table, columns: duckdb_query(duckdb_path, select_columns(table, columns)),
        "spark",
    )
    assert differences == {}


def test_the_nightly_job_succeeds_on_spark_with_every_check_evaluated(night):
    assert night.success, _failures(night)
    evaluations = [
        event.event_specific_data
        for event in night.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert len(evaluations) > 50
    assert [e.check_name for e in evaluations if not e.passed] == []


def test_the_night_ends_its_spark_sessions_without_failed_releases(night, connect_log):
    """Each step's Connect session lets its background releases finish before it ends
    (leadbridge.spark.disconnect), so the night's log has no "ReleaseExecute failed"."""
    assert night.success, _failures(night)
    failed = [r.getMessage()[:300] for r in connect_log if "ReleaseExecute" in r.getMessage()]
    assert failed == []


def test_the_nights_marts_equal_duckdbs_row_for_row(night, server, duckdb_home):
    session = server[0].session
    columns = spark_columns(session)
    with duckdb.connect(str(duckdb_home / "leadbridge.duckdb"), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        assert columns == columns_by_table(con.execute(MART_COLUMNS_SQL).fetchall())
        differences = table_differences(
            columns,
            lambda table, cols: spark_rows(session, table, cols),
            lambda table, cols: con.execute(select_columns(table, cols)).fetchall(),
            "spark",
        )
    assert differences == {}


def test_an_object_with_no_records_is_still_a_raw_table_on_spark(night, server, duckdb_home):
    """HubSpot's tasks have no records on a first night (only the write-back makes them):
    on Spark too the night declares the raw table over its empty folder, with the columns
    it has on DuckDB, and builds on it."""
    assert night.success, _failures(night)
    session = server[0].session
    with duckdb.connect(str(duckdb_home / "leadbridge.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from hubspot.tasks").fetchall() == [(0,)]
        on_duckdb = con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'hubspot' and table_name = 'tasks'"
        ).fetchall()
    assert session.table("hubspot.tasks").count() == 0
    assert len(on_duckdb) > 5
    assert sorted(session.table("hubspot.tasks").columns) == sorted(c for (c,) in on_duckdb)


def test_bi_reads_the_published_views_through_the_thrift_server(night, server):
    """Hive's JDBC client (beeline, from Spark's distribution) as `bi_reader` reads the
    night's publication: the views of every published mart, the run that published
    them, and the rows a Connect session reads from the mart."""
    running, _ = server
    session = running.session
    published = {t.name for t in session.catalog.listTables("published")}
    marts = {t.name for t in session.catalog.listTables("marts")}
    assert published == {t for t in marts if unpublished().keeps("marts", t)} | {PUBLICATION_TABLE}
    through_thrift = beeline(
        running.jdbc_url,
        "bi_reader",
        "select r.run_id, d.person_id, d.mql_entries from published.dim_person d "
        f"cross join (select distinct run_id from published.{PUBLICATION_TABLE}) r",
    )
    in_session = session.sql("select person_id, mql_entries from marts.dim_person").collect()
    assert len(in_session) >= 20
    assert {row[0] for row in through_thrift} == {night.run_id}
    assert sorted(row[1:] for row in through_thrift) == sorted(
        [row.person_id, str(row.mql_entries)] for row in in_session
    )


def test_the_work_ran_on_the_clusters_worker(night, server, cluster):
    """Spark's own status, not the configuration: the master has one live worker and the
    Spark server's application; the worker runs the application's executors; those
    executors (not the driver) ran the tasks of both acts."""
    running, _ = server
    application = application_id(running)
    master = cluster.master_status()
    assert [worker["state"] for worker in master["workers"]] == ["ALIVE"]
    assert application in [app["id"] for app in master["activeapps"]]
    on_worker = {
        str(executor["id"])
        for executor in cluster.worker_status()["executors"]
        if executor["appid"] == application
    }
    assert on_worker
    tasks = {e["id"]: e["totalTasks"] for e in application_status(running, "executors")}
    assert tasks.pop("driver") == 0
    assert set(tasks) == on_worker
    assert sum(tasks.values()) > 0
