"""Spark for tests: a loopback cluster, the Leadbridge Spark server on it, dbt as its client.

The Hive metastore (embedded Derby) admits one JVM, so everything goes through one
Leadbridge Spark server (leadbridge/spark_server.py) started here in its own process:
the tests, dbt (dbtRunner, in this process) and the nightly job are Spark Connect
clients of it, and BI's JDBC client reads through its Thrift server. Its executors run
on a standalone master and worker started here from PySpark's distribution
(`spark_cluster`).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadbridge.settings import SPARK_MASTER, SPARK_REMOTE, SPARK_THRIFT_PORT, SPARK_WAREHOUSE
from leadbridge.spark import connect
from leadbridge.spark_server import READY, server_conf
from tests.fixtures.raw_scenario import create_raw_scenario
from tests.support.dbt_scenario import dbt_arguments
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
    # a driver answers its first REST call slowly on a loaded machine
    with urllib.request.urlopen(url, timeout=120) as answer:
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


@dataclass(frozen=True)
class SparkServer:
    """A running Leadbridge Spark server (leadbridge/spark_server.py): a Connect session
    on it, its driver's web UI and the JDBC URL of its Thrift server."""

    session: Any
    ui: str
    jdbc_url: str
    log: Path


@contextmanager
def spark_server(environ: dict[str, str], log: Path) -> Iterator[SparkServer]:
    """The Leadbridge Spark server started under `environ` (its `LEADBRIDGE_SPARK_*`
    settings), in its own process, with its driver's web UI on a free loopback port and
    one core of the cluster (so that two servers can share a test cluster); stopped
    afterwards. Its output goes to `log`."""
    spark_home, env = _distribution()
    ui_port = free_loopback_port()
    extra = {
        "spark.ui.enabled": "true",
        "spark.ui.port": str(ui_port),
        "spark.driver.host": LOOPBACK,
        "spark.driver.bindAddress": LOOPBACK,
        "spark.cores.max": "1",
    }
    command = [sys.executable, "-m", "leadbridge.spark_server"]
    for key, value in extra.items():
        command += ["--conf", f"{key}={value}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env={**env, **environ},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + _CLUSTER_START_SECONDS
        while READY not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Leadbridge Spark server did not start: see {log}")
            time.sleep(1)
        session = connect(environ)
        thrift_port = server_conf(environ)["spark.hadoop.hive.server2.thrift.port"]
        try:
            yield SparkServer(
                session,
                f"http://{LOOPBACK}:{ui_port}",
                f"jdbc:hive2://{LOOPBACK}:{thrift_port}/default",
                log,
            )
        finally:
            # before the server goes: a Connect session left open retries its release
            # against the stopped server at the interpreter's exit, for minutes
            session.stop()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    """The settings that put the `spark` target's warehouse and metastore in `folder`, its
    executors on the master at `master_url`, its Connect and Thrift services on free
    loopback ports."""
    return {
        SPARK_WAREHOUSE.name: str(folder),
        SPARK_MASTER.name: master_url,
        SPARK_REMOTE.name: f"sc://{LOOPBACK}:{free_loopback_port()}",
        SPARK_THRIFT_PORT.name: str(free_loopback_port()),
    }


def application_id(server: SparkServer) -> str:
    """The Spark application id of the server, from its driver's REST API."""
    return get_json(f"{server.ui}/api/v1/applications")[0]["id"]


def application_status(server: SparkServer, resource: str) -> Any:
    """`resource` (e.g. `executors`) of the server's application from its driver's REST API."""
    return get_json(f"{server.ui}/api/v1/applications/{application_id(server)}/{resource}")


def run_dbt_in_process(command: list[str]) -> Any:
    """Run dbt (`command` without the executable) in this process, a Connect client of the
    Spark server; the dbtRunnerResult, asserted successful."""
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
    """The scenario built by dbt on Spark: the cluster and server it ran on, dbt's
    target folder."""

    cluster: SparkCluster
    server: SparkServer
    target: Path

    @property
    def session(self) -> Any:
        """A Spark Connect session on the server."""
        return self.server.session

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
def spark_scenario_build(
    work: Path, setenv: Callable[[str, str], None], cluster: SparkCluster
) -> Iterator[SparkBuild]:
    """The hand-written raw scenario copied from DuckDB into Spark and built by dbt with
    the `spark` target, on a Spark server of its own on the loopback `cluster`,
    everything in `work`; `setenv` sets the settings dbt reads. Prints how long loading
    and building took."""
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    with ExitStack() as stack:
        for key, value in spark_env(work / "spark", cluster.master_url).items():
            setenv(key, value)
        server = stack.enter_context(spark_server(dict(os.environ), work / "server.log"))
        started = time.monotonic()
        copy_duckdb_schemas_to_spark(raw, server.session, RAW_SCHEMAS, work / "raw")
        loaded = time.monotonic()
        run_dbt_in_process(dbt_arguments(["build", "--target", "spark"], work))
        print(f"raw tables {loaded - started:.1f} s, dbt build {time.monotonic() - loaded:.1f} s")
        yield SparkBuild(cluster, server, work / "target")


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
