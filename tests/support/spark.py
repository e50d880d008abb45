"""Spark for tests: a loopback cluster, the `spark` dbt target's session on it, dbt in it.

dbt-spark's `session` method starts Spark's driver inside the process that runs dbt, and
the Hive metastore it keeps (embedded Derby) admits one process at a time. So the tests
run dbt in their own process (dbtRunner) on one session made from the profile's own
`spark` output: the JVM starts once, the raw tables loaded here are the ones dbt reads,
and the marts dbt builds are read back through the same session. Its executors run on a
standalone master and worker started here from PySpark's distribution (`spark_cluster`).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadbridge.settings import SPARK_MASTER, SPARK_WAREHOUSE
from tests.fixtures.raw_scenario import create_raw_scenario
from tests.support.dbt_scenario import dbt_arguments, profile_output
from tests.support.postgres import free_loopback_port
from tests.support.rows import columns_by_table
from tests.support.warehouse import duckdb_tables

LOOPBACK = "127.0.0.1"
RAW_SCHEMAS = ["hubspot", "salesforce", "files"]
BUILT_SCHEMAS = ["marts", "restricted"]
# Master and worker are JVMs: on a busy machine each may take a while to start.
_CLUSTER_START_SECONDS = 180
_STOP_SECONDS = 30

# DuckDB column types (docs/raw_tables.md) as Spark types; dlt's JSON is text on Spark.
_DUCKDB_TO_SPARK = {
    "VARCHAR": "string",
    "JSON": "string",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP": "timestamp",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
    "DATE": "date",
}


class SparkUnavailable(RuntimeError):
    """Spark cannot be started here (no Java); the message says why."""


def _require_java() -> None:
    if shutil.which("java") is None:
        raise SparkUnavailable(
            "no `java` on PATH: Spark needs a JRE (as root: .ci/install-package java "
            "default-jre-headless)"
        )


def get_json(url: str) -> Any:
    """The JSON a Spark web UI answers at `url` (its REST status)."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.load(answer)


@dataclass(frozen=True)
class SparkCluster:
    """A running standalone master and its one worker, on loopback."""

    master_url: str
    master_ui: str
    worker_ui: str
    logs: Path

    def master_status(self) -> dict:
        """The master's status: its workers and applications."""
        return get_json(f"{self.master_ui}/json/")

    def worker_status(self) -> dict:
        """The worker's status: the executors it runs."""
        return get_json(f"{self.worker_ui}/json/")


def _distribution() -> tuple[Path, dict[str, str]]:
    """PySpark's Spark distribution (its `bin/` scripts and jars) and the environment its
    scripts run in, on loopback."""
    _require_java()
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    return spark_home, {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": LOOPBACK}


@contextmanager
def spark_cluster(folder: Path) -> Iterator[SparkCluster]:
    """A standalone master and one worker (all the machine's cores, 2 GB for executors)
    on 127.0.0.1, free ports, started from PySpark's distribution; both stopped
    afterwards. Their logs and the worker's executor folders stay in `folder`; a start
    that fails says where."""
    spark_home, env = _distribution()
    folder.mkdir(parents=True, exist_ok=True)
    master_port, master_ui_port, worker_port, worker_ui_port = (
        free_loopback_port() for _ in range(4)
    )
    master_url = f"spark://{LOOPBACK}:{master_port}"
    cluster = SparkCluster(
        master_url,
        f"http://{LOOPBACK}:{master_ui_port}",
        f"http://{LOOPBACK}:{worker_ui_port}",
        folder,
    )
    deploy = "org.apache.spark.deploy"
    with ExitStack() as stack:
        master = stack.enter_context(
            _daemon(
                [
                    f"{deploy}.master.Master",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(master_port),
                    "--webui-port",
                    str(master_ui_port),
                ],
                spark_home,
                env,
                folder / "master.log",
            )
        )
        _wait_for(lambda: cluster.master_status()["status"] == "ALIVE", [master], cluster)
        worker = stack.enter_context(
            _daemon(
                [
                    f"{deploy}.worker.Worker",
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(worker_port),
                    "--webui-port",
                    str(worker_ui_port),
                    "--memory",
                    "2g",
                    "--work-dir",
                    str(folder / "work"),
                    master_url,
                ],
                spark_home,
                env,
                folder / "worker.log",
            )
        )
        _wait_for(
            lambda: [w["state"] for w in cluster.master_status()["workers"]] == ["ALIVE"],
            [master, worker],
            cluster,
        )
        yield cluster


@contextmanager
def _daemon(
    arguments: list[str], spark_home: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen]:
    """`bin/spark-class ARGUMENTS` running with its output in `log`; stopped afterwards."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(spark_home / "bin" / "spark-class"), *arguments],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(ready, processes: list[subprocess.Popen], cluster: SparkCluster) -> None:
    """Poll `ready()` until true; a daemon that exits or a timeout raises, naming the logs."""
    deadline = time.monotonic() + _CLUSTER_START_SECONDS
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError(f"a Spark daemon exited while starting: see {cluster.logs}")
        try:
            if ready():
                return
        except OSError:
            pass  # not listening yet
        time.sleep(1)
    raise RuntimeError(
        f"the Spark cluster was not ready within {_CLUSTER_START_SECONDS} s: see {cluster.logs}"
    )


def spark_parameters(environ: dict[str, str]) -> dict[str, str]:
    """The Spark settings of the `spark` output of dbt_project/profiles.yml rendered under
    `environ`, with those dbt-spark adds (its credentials' `server_side_parameters`)."""
    from dbt.adapters.spark.connections import SparkCredentials

    rendered = profile_output("spark", environ)
    rendered.pop("threads", None)
    return SparkCredentials.from_dict(rendered).server_side_parameters


@contextmanager
def spark_session(environ: dict[str, str], observed: bool = False) -> Iterator[Any]:
    """The SparkSession dbt's `spark` target makes under `environ` (dbt-spark's session
    method builds it the same way, and then finds this one running); stopped afterwards.
    `observed`: with the driver's web UI on a free loopback port, for its REST status
    (`application_status`; the profile switches it off), and a port for `thrift_server`."""
    _require_java()
    from pyspark.sql import SparkSession

    parameters = spark_parameters(environ)
    if observed:
        parameters |= {
            "spark.ui.enabled": "true",
            "spark.ui.port": str(free_loopback_port()),
            "spark.driver.host": LOOPBACK,
            "spark.driver.bindAddress": LOOPBACK,
            # read when the Thrift server starts (`thrift_server`), but only from the
            # configuration the session's Hive client was created with
            "spark.hadoop.hive.server2.thrift.port": str(free_loopback_port()),
            "spark.hadoop.hive.server2.thrift.bind.host": LOOPBACK,
        }
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in parameters.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    # dbt-spark asks for the session at every statement, and Spark warns each time that
    # it exists already
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def copy_duckdb_schemas_to_spark(
    duckdb_path: str | Path, session: Any, schemas: Sequence[str], folder: Path
) -> None:
    """Copy every table of `schemas` from a DuckDB file into Spark databases of the same
    names, same columns, types as `_DUCKDB_TO_SPARK` maps them: each table is written to
    a Parquet file under `folder` and declared as an external Spark table over it, as the
    raw tables dlt lands as Parquet are to be."""
    import duckdb

    source = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        source.execute("set TimeZone = 'UTC'")
        tables = duckdb_tables(source, list(schemas))
        for schema in schemas:
            session.sql(f"create database if not exists `{schema}`")
        for (schema, table), table_columns in tables.items():
            location = folder / schema / table
            location.mkdir(parents=True)
            # JSON as text: Spark reads Parquet's JSON annotation as bytes
            select = ", ".join(
                f'cast("{name}" as varchar) as "{name}"' if kind == "JSON" else f'"{name}"'
                for name, kind in table_columns
            )
            source.execute(
                f'copy (select {select} from "{schema}"."{table}") '
                f"to '{location / 'part-0.parquet'}' (format parquet)"
            )
            ddl = ", ".join(f"`{name}` {_DUCKDB_TO_SPARK[kind]}" for name, kind in table_columns)
            session.sql(
                f"create table `{schema}`.`{table}` ({ddl}) using parquet location '{location}'"
            )
    finally:
        source.close()


def spark_env(folder: Path, master_url: str) -> dict[str, str]:
    """The settings that put the `spark` target's warehouse and metastore in `folder` and
    its executors on the master at `master_url`."""
    return {SPARK_WAREHOUSE.name: str(folder), SPARK_MASTER.name: master_url}


def application_status(session: Any, resource: str) -> Any:
    """`resource` (e.g. `executors`) of the session's application from its driver's REST
    API (a session started `observed`)."""
    context = session.sparkContext
    return get_json(f"{context.uiWebUrl}/api/v1/applications/{context.applicationId}/{resource}")


def run_dbt_in_process(command: list[str]) -> Any:
    """Run dbt (`command` without the executable) in this process, on the SparkSession
    running here; the dbtRunnerResult, asserted successful."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(command)
    assert result.success, f"dbt {command[0]} failed: {result.exception or _failures(result)}"
    return result


def _failures(result: Any) -> str:
    """The nodes a dbt result failed on, with their messages."""
    failed = [
        f"{r.node.unique_id}: {r.status}: {r.message}"
        for r in getattr(result.result, "results", [])
        if str(r.status) not in ("success", "pass")
    ]
    return json.dumps(failed, indent=1)[:8000]


@dataclass(frozen=True)
class SparkBuild:
    """The scenario built by dbt on Spark: the cluster and session it ran on, dbt's
    target folder."""

    cluster: SparkCluster
    session: Any
    target: Path

    def results(self) -> dict[str, str]:
        """unique_id → status of every node the build ran."""
        results = json.loads((self.target / "run_results.json").read_text())["results"]
        return {result["unique_id"]: result["status"] for result in results}

    def rows(self, table: str, columns: list[str]) -> list[tuple]:
        """`columns` of `table`; timestamps as UTC instants (Arrow keeps the session's
        time zone, where collect() would use this process's)."""
        frame = self.session.table(table).select(*columns)
        return [tuple(row.values()) for row in frame.toArrow().to_pylist()]

    def columns(self) -> dict[str, list[str]]:
        """`schema.table` → its columns to compare in order, for the built schemas (as
        `columns_by_table` gives them)."""
        return columns_by_table(
            (f"{schema}.{table.name}", column)
            for schema in BUILT_SCHEMAS
            for table in self.session.catalog.listTables(schema)
            for column in self.session.table(f"{schema}.{table.name}").columns
        )


@contextmanager
def spark_scenario_build(work: Path, setenv: Callable[[str, str], None]) -> Iterator[SparkBuild]:
    """The hand-written raw scenario copied from DuckDB into Spark and built by dbt with
    the `spark` target, on a loopback cluster (`spark_cluster`), everything in `work`;
    `setenv` sets the settings dbt reads. Prints how long loading and building took."""
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    with ExitStack() as stack:
        cluster = stack.enter_context(spark_cluster(work / "cluster"))
        for key, value in spark_env(work / "spark", cluster.master_url).items():
            setenv(key, value)
        session = stack.enter_context(spark_session(dict(os.environ), observed=True))
        started = time.monotonic()
        copy_duckdb_schemas_to_spark(raw, session, RAW_SCHEMAS, work / "raw")
        loaded = time.monotonic()
        run_dbt_in_process(dbt_arguments(["build", "--target", "spark"], work))
        print(f"raw tables {loaded - started:.1f} s, dbt build {time.monotonic() - loaded:.1f} s")
        yield SparkBuild(cluster, session, work / "target")


@contextmanager
def thrift_server(session: Any) -> Iterator[str]:
    """The Spark Thrift Server (HiveServer2's protocol, what BI tools connect to) on the
    loopback port of a session started `observed`, serving `session`'s catalog; its JDBC
    URL; stopped afterwards. It runs inside the driver: the embedded metastore admits one
    process at a time."""
    port = session.sparkContext.getConf().get("spark.hadoop.hive.server2.thrift.port")
    server = session._jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
    running = server.startWithContext(session._jsparkSession.sqlContext())
    try:
        yield f"jdbc:hive2://{LOOPBACK}:{port}/default"
    finally:
        running.stop()


def beeline(url: str, user: str, statement: str) -> list[list[str]]:
    """The rows `statement` returns through the JDBC client of Spark's distribution
    (Hive's beeline), connected to `url` as `user`; values as beeline prints them."""
    spark_home, env = _distribution()
    result = subprocess.run(
        [
            str(spark_home / "bin" / "beeline"),
            *("-u", url, "-n", user, "--silent=true", "--showHeader=false"),
            *("--outputformat=tsv2", "-e", statement),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    # beeline prints its prompt before the first row even when silent; it quotes with NUL
    rows = re.sub(r"^\d+: jdbc:hive2://\S+> ", "", result.stdout)
    return list(csv.reader(rows.splitlines(), delimiter="\t", quotechar="\x00"))
