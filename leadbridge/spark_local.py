"""A standalone Spark cluster and the Leadbridge Spark server on loopback.

Started from PySpark's own distribution (`bin/spark-class`, its jars) and the machine's
JRE, nothing downloaded: the master and one worker, and `python -m leadbridge.spark_server`
as their application, each in its own process, all stopped afterwards. What the tests and
the Spark benchmark run on, and a way to try the `spark` target on one machine. Also the
copy of DuckDB tables into Spark as Parquet tables they start from.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadbridge.settings import SPARK_MASTER, SPARK_REMOTE, SPARK_THRIFT_PORT, SPARK_WAREHOUSE
from leadbridge.spark import connect, disconnect
from leadbridge.spark_server import READY, server_conf

LOOPBACK = "127.0.0.1"
# Master, worker and driver are JVMs: on a busy machine each may take a while to start.
_START_SECONDS = 180
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


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server about to bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


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


def distribution() -> tuple[Path, dict[str, str]]:
    """PySpark's Spark distribution (its `bin/` scripts and jars) and the environment its
    scripts run in, on loopback."""
    _require_java()
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    return spark_home, {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": LOOPBACK}


@contextmanager
def spark_cluster(folder: Path, memory: str = "2g") -> Iterator[SparkCluster]:
    """A standalone master and one worker (all the machine's cores, `memory` for executors)
    on 127.0.0.1, free ports, started from PySpark's distribution; both stopped
    afterwards. Their logs and the worker's executor folders stay in `folder`; a start
    that fails says where."""
    spark_home, env = distribution()
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
                    memory,
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
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process has not ended after a while."""
    process.terminate()
    try:
        process.wait(_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_for(ready, processes: list[subprocess.Popen], cluster: SparkCluster) -> None:
    """Poll `ready()` until true; a daemon that exits or a timeout raises, naming the logs."""
    deadline = time.monotonic() + _START_SECONDS
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
        f"the Spark cluster was not ready within {_START_SECONDS} s: see {cluster.logs}"
    )


@dataclass(frozen=True)
class SparkServer:
    """A running Leadbridge Spark server (leadbridge/spark_server.py): a Connect session
    on it, its driver's web UI and the JDBC URL of its Thrift server."""

    session: Any
    ui: str
    jdbc_url: str
    log: Path


# PySpark marks a process that has opened a Connect session, and every process it
# starts, as a Connect client through these variables: a server started from such a
# process (a benchmark's second scale, a test after dbt ran in it) would look for a
# remote to connect to instead of becoming one.
CONNECT_CLIENT_VARIABLES = ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` for the server's process: without PySpark's Connect-client marks."""
    return {k: v for k, v in environ.items() if k not in CONNECT_CLIENT_VARIABLES}


@contextmanager
def spark_server(
    environ: Mapping[str, str], log: Path, conf: Mapping[str, str] | None = None
) -> Iterator[SparkServer]:
    """The Leadbridge Spark server started under `environ` (its `LEADBRIDGE_SPARK_*`
    settings), in its own process, with its driver's web UI on a free loopback port and
    `conf` on top (e.g. `spark.executor.memory`); stopped afterwards. Its output goes to
    `log`."""
    _, env = distribution()
    ui_port = free_loopback_port()
    extra = {
        "spark.ui.enabled": "true",
        "spark.ui.port": str(ui_port),
        "spark.driver.host": LOOPBACK,
        "spark.driver.bindAddress": LOOPBACK,
        **(conf or {}),
    }
    command = [sys.executable, "-m", "leadbridge.spark_server"]
    for key, value in extra.items():
        command += ["--conf", f"{key}={value}"]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env=server_environment({**env, **environ}),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + _START_SECONDS
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
            disconnect(session)
    finally:
        _stop(process)


def duckdb_tables(con, schemas: list[str]) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(schema, table) → its (column, DuckDB type) in order, for the tables of `schemas`
    on the open DuckDB connection `con`: what a copy into another engine declares."""
    rows = con.execute(
        """
        select table_schema, table_name, column_name, data_type
        from information_schema.columns
        where table_schema in (select unnest(?::varchar[]))
        order by table_schema, table_name, ordinal_position""",
        [list(schemas)],
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault((schema, table), []).append((column, data_type))
    return tables


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
