"""Spark for tests: the scenario built by dbt on the loopback cluster, and BI's client.

The cluster and the Leadbridge Spark server come from `leadbridge.spark_local`; dbt runs
in this process as a Spark Connect client of the server (`run_dbt_in_process`), and BI's
JDBC client (`beeline`) reads through the server's Thrift server.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadbridge.spark_local import (
    SparkServer,
    copy_duckdb_schemas_to_spark,
    distribution,
    get_json,
)
from tests.fixtures.raw_scenario import create_raw_scenario
from tests.support.dbt_scenario import dbt_arguments
from tests.support.rows import columns_by_table

RAW_SCHEMAS = ["hubspot", "salesforce", "files"]
BUILT_SCHEMAS = ["marts", "restricted"]


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


def spark_columns(session: Any, schemas: Sequence[str] = BUILT_SCHEMAS) -> dict[str, list[str]]:
    """`schema.table` → its columns to compare in order, for the tables of `schemas` on
    the Connect `session` (as `columns_by_table` gives them)."""
    return columns_by_table(
        (f"{schema}.{table.name}", column)
        for schema in schemas
        for table in session.catalog.listTables(schema)
        for column in session.table(f"{schema}.{table.name}").columns
    )


def spark_rows(session: Any, table: str, columns: list[str]) -> list[tuple]:
    """`columns` of `table`; timestamps as UTC instants (Arrow keeps the session's time
    zone, where collect() would use this process's)."""
    frame = session.table(table).select(*columns)
    return [tuple(row.values()) for row in frame.toArrow().to_pylist()]


def drop_databases(session: Any) -> None:
    """Every database but `default` dropped with its tables: an empty warehouse again
    (external tables' files stay where they are)."""
    for database in session.catalog.listDatabases():
        if database.name != "default":
            session.sql(f"drop database `{database.name}` cascade")


@dataclass(frozen=True)
class ScenarioOnSpark:
    """What dbt's build of the scenario on Spark left: the status of every node it ran,
    the nodes (id → resource type) and unit tests of its manifest, and the built tables'
    columns and rows, read before the Spark server's warehouse was handed on."""

    results: dict[str, str]
    nodes: dict[str, str]
    unit_tests: set[str]
    columns: dict[str, list[str]]
    rows: dict[str, list[tuple]]


def build_scenario_on_spark(session: Any, work: Path) -> ScenarioOnSpark:
    """The hand-written raw scenario copied from DuckDB into the Spark server `session`
    is on and built there by dbt with the `spark` target (dbt reads the server's address
    from this process's environment), everything in `work`; what it built, captured.
    Seeds, models and unit tests: the data tests are left to the demo night on the same
    server, so that one test session runs them once. Prints how long loading and
    building took."""
    raw = work / "raw.duckdb"
    create_raw_scenario(raw)
    started = time.monotonic()
    copy_duckdb_schemas_to_spark(raw, session, RAW_SCHEMAS, work / "raw")
    loaded = time.monotonic()
    run_dbt_in_process(
        dbt_arguments(["build", "--target", "spark", "--exclude", "test_type:data"], work)
    )
    print(f"raw tables {loaded - started:.1f} s, dbt build {time.monotonic() - loaded:.1f} s")
    target = work / "target"
    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())
    columns = spark_columns(session)
    return ScenarioOnSpark(
        results={result["unique_id"]: result["status"] for result in results},
        nodes={key: node["resource_type"] for key, node in manifest["nodes"].items()},
        unit_tests=set(manifest["unit_tests"]),
        columns=columns,
        rows={table: spark_rows(session, table, cols) for table, cols in columns.items()},
    )


def beeline(url: str, user: str, statement: str) -> list[list[str]]:
    """The rows `statement` returns through the JDBC client of Spark's distribution
    (Hive's beeline), connected to `url` as `user`; values as beeline prints them."""
    spark_home, env = distribution()
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
