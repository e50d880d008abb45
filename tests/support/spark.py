"""Spark for tests: the session of the `spark` dbt target, the raw scenario in it, dbt in it.

dbt-spark's `session` method starts Spark inside the process that runs dbt, and the
Hive metastore it keeps (embedded Derby) admits one process at a time. So the tests run
dbt in their own process (dbtRunner) on one session made from the profile's own `spark`
output: the JVM starts once, the raw tables loaded here are the ones dbt reads, and the
marts dbt builds are read back through the same session.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from leadbridge.settings import SPARK_WAREHOUSE
from tests.support.dbt_scenario import profile_output

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


def spark_parameters(environ: dict[str, str]) -> dict[str, str]:
    """The Spark settings of the `spark` output of dbt_project/profiles.yml rendered under
    `environ`, with those dbt-spark adds (its credentials' `server_side_parameters`)."""
    from dbt.adapters.spark.connections import SparkCredentials

    rendered = profile_output("spark", environ)
    rendered.pop("threads", None)
    return SparkCredentials.from_dict(rendered).server_side_parameters


@contextmanager
def spark_session(environ: dict[str, str]) -> Iterator[Any]:
    """The SparkSession dbt's `spark` target makes under `environ` (dbt-spark's session
    method builds it the same way, and then finds this one running); stopped afterwards."""
    if shutil.which("java") is None:
        raise SparkUnavailable(
            "no `java` on PATH: Spark needs a JRE (as root: .ci/install-package java "
            "default-jre-headless)"
        )
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_parameters(environ).items():
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
        columns = source.execute(
            """
            select table_schema, table_name, column_name, data_type
            from information_schema.columns
            where table_schema in (select unnest(?::varchar[]))
            order by table_schema, table_name, ordinal_position""",
            [list(schemas)],
        ).fetchall()
        tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, data_type in columns:
            tables.setdefault((schema, table), []).append((column, data_type))
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


def spark_env(folder: Path) -> dict[str, str]:
    """The settings that put the `spark` target's warehouse and metastore in `folder`."""
    return {SPARK_WAREHOUSE.name: str(folder)}


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
