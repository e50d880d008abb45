"""The `spark` target's warehouse seen from the nightly job: a Spark Connect client.

dlt's filesystem destination lands each raw table as Parquet files, one folder per table
and one file per load, but cannot merge into plain Parquet (it appends instead). So each
raw table is an external Parquet table `<feed>_files.<table>` over its folder, with the
columns dlt's schema declares, and the table dbt's sources read, `<feed>.<table>`, is a
view keeping, per primary key, the rows of the latest load: what dlt's delete-insert
merge keeps on DuckDB and PostgreSQL.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from leadbridge.settings import Settings

RAW_FILES_SUFFIX = "_files"
_RELEASE_WAIT_SECONDS = 10
# dlt's column types as Spark's; JSON is text, as dlt writes it to Parquet.
_DLT_TO_SPARK = {
    "text": "string",
    "json": "string",
    "bigint": "bigint",
    "double": "double",
    "bool": "boolean",
    "timestamp": "timestamp",
    "date": "date",
    "time": "string",
    "binary": "binary",
    "wei": "decimal(38,0)",
}


def connect(environ: Mapping[str, str] | None = None) -> Any:
    """A new Spark Connect session on the Leadbridge Spark server
    (`$LEADBRIDGE_SPARK_REMOTE`); `stop()` ends it on the server."""
    from pyspark.sql import SparkSession

    remote = Settings.from_env(environ).spark["remote"]
    # A session of its own (not the process's default one, which dbt-spark configures
    # with ANSI mode off when dbt runs in the same process): the library's SQL quotes
    # identifiers "so" (leadbridge.engine.quote), as on DuckDB and PostgreSQL, which
    # Spark reads as identifiers only in ANSI mode.
    session = SparkSession.builder.remote(remote).create()
    session.conf.set("spark.sql.ansi.enabled", "true")
    session.conf.set("spark.sql.ansi.doubleQuotedIdentifiers", "true")
    return session


def disconnect(session: Any) -> None:
    """End a session `connect` opened. PySpark's `stop()` ends the session on the server
    before it waits for the releases of finished queries it sends in the background, which
    then fail, each logged as a warning ("ReleaseExecute failed … Session was closed"):
    wait for them first."""
    pending = list(getattr(session.client, "_release_futures", ()))
    concurrent.futures.wait(pending, timeout=_RELEASE_WAIT_SECONDS)
    session.stop()


def raw_folder(environ: Mapping[str, str] | None = None) -> Path:
    """Where dlt lands the raw Parquet files: `raw/` in the Spark warehouse folder."""
    from leadbridge.spark_server import warehouse_folder

    return warehouse_folder(Settings.from_env(environ)) / "raw"


def spark_type(column: Mapping[str, Any]) -> str:
    """The Spark type of a dlt schema column."""
    kind = column.get("data_type", "text")
    if kind == "decimal":
        return f"decimal({column.get('precision') or 38},{column.get('scale') or 9})"
    return _DLT_TO_SPARK[kind]


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def raw_table_statements(feed: str, folder: Path, tables: Mapping[str, Any]) -> list[str]:
    """The statements that declare `tables` (dlt schema tables of `feed`: name → table)
    over their Parquet folders under `folder`: the external table and the view dbt reads."""
    files = _quote(feed + RAW_FILES_SUFFIX)
    statements = [
        f"create database if not exists {files}",
        f"create database if not exists {_quote(feed)}",
    ]
    for name, table in sorted(tables.items()):
        columns = {c: spec for c, spec in table["columns"].items() if spec.get("data_type")}
        ddl = ", ".join(f"{_quote(c)} {spark_type(spec)}" for c, spec in columns.items())
        location = str(folder / feed / name).replace("'", "\\'")
        statements += [
            f"drop table if exists {files}.{_quote(name)}",
            f"create table {files}.{_quote(name)} ({ddl}) using parquet location '{location}'",
            f"create or replace view {_quote(feed)}.{_quote(name)} as "
            + _latest_rows(f"{files}.{_quote(name)}", list(columns), table),
        ]
    return statements


def _latest_rows(source: str, columns: list[str], table: Mapping[str, Any]) -> str:
    """The rows of `source` a delete-insert merge on the table's primary key would keep:
    all rows of the latest load of each key (every row when not merged or keyless)."""
    selected = ", ".join(_quote(c) for c in columns)
    keys = [c for c, spec in table["columns"].items() if spec.get("primary_key")]
    disposition = table.get("write_disposition")
    if disposition != "merge" or not keys:
        return f"select {selected} from {source}"
    partition = ", ".join(_quote(k) for k in keys)
    return (
        f"select {selected} from (select *, rank() over (partition by {partition} "
        "order by cast(`_dlt_load_id` as decimal(38, 9)) desc) as `_dlt_rank` "
        f"from {source}) where `_dlt_rank` = 1"
    )


def declare_raw_tables(session: Any, feed: str, folder: Path, schema: Any) -> list[str]:
    """Declare the raw tables of `feed` (its dlt `schema`) in the Spark catalog on
    `session`; the names of the views dbt reads."""
    tables = {t["name"]: t for t in schema.data_tables()}
    for name in tables:  # Spark wants the folder of an external table to exist
        (folder / feed / name).mkdir(parents=True, exist_ok=True)
    for statement in raw_table_statements(feed, folder, tables):
        session.sql(statement)
    return [f"{feed}.{name}" for name in sorted(tables)]
