"""Write–audit–publish: the marts BI tools read are a separate file, swapped in whole.

The nightly run writes (dlt loads, `dbt build`) and audits (Great Expectations checks on
the raw tables, dbt tests on every model) inside the working warehouse, the private
place no BI tool reads. Only when all of that has passed does `published/marts` copy
the schema `marts` into a serving file that BI tools open read-only.

Why a separate file, swapped with `os.replace`, and not a schema or a view in the
warehouse: DuckDB lets nobody open a file, not even read-only, while another process
writes it, so BI tools could not read the warehouse during a run at all. The serving
file is never written in place:
1. every table of schema `marts` is copied from the working warehouse (attached
   read-only) into a *new* file beside the serving path, `<serving>.tmp-<run id>`, with
   a `_publication` table (run id, published at, rows and a content hash per table);
2. the new file is checkpointed and closed (no WAL left beside it) and fsynced;
3. `os.replace()` renames it onto the serving path — atomic on POSIX within one file
   system — and the directory is fsynced so the rename survives a crash.
A reader that opens the path gets the old file or the new one, whole; a reader that
already has the old file open keeps reading the old inode until it closes. Readers
never hold a lock the publisher needs (it writes a different file), and the publisher
never waits for readers.

When the night fails, this asset does not run: it depends on every dbt asset of group
`marts`, so Dagster skips it when the `dbt build` step fails or is skipped (a blocking
raw check failed), and it waits for every blocking check on the marts (dbt tests, and any
Great Expectations suite on a mart) — Dagster skips it when one of them fails. The
serving file then keeps yesterday's marts untouched; the run summary says so.

The content hash of a table is order independent (a sum of row hashes, so duplicated
rows count) and includes the column names and types. Floating-point columns are
rounded to 9 decimals before hashing so that a sum computed in a different order on
another night does not change the hash when the data did not change. The hash uses
DuckDB's `hash()`: compare publications made by the same DuckDB version.

The serving file has schema `marts` (the same queries work on the warehouse and on it)
and `main._publication`, one row per table. Its freshness policy (Dagster's freshness
daemon, on by default since 1.12) turns the asset stale in the UI when no night has
published for 25 h (warn) / 26 h (fail).
"""

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from orchestration.defs.resources import Warehouse
from orchestration.defs.transform import dbt_build

PUBLISHED_KEY = dg.AssetKey(["published", "marts"])
MARTS_SCHEMA = "marts"
PUBLICATION_TABLE = "_publication"
# The nightly runs at 02:00; a day and two hours without a publication means a night
# was missed (or failed), a day and one hour is worth a warning.
FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=26), warn_window=timedelta(hours=25)
)
MART_KEYS = sorted(
    (spec.key for spec in dbt_build.specs if spec.group_name == MARTS_SCHEMA),
    key=lambda key: key.to_user_string(),
)

_FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}


@dataclass(frozen=True)
class Publication:
    """What one publication put into the serving file."""

    path: Path
    run_id: str
    published_at: datetime
    rows: dict[str, int]
    hashes: dict[str, str]

    @property
    def content_hash(self) -> str:
        """One hash over every table's name and content hash."""
        text = "\n".join(f"{table}:{self.hashes[table]}" for table in sorted(self.hashes))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def content_hash(con, schema: str, table: str, catalog: str | None = None) -> str:
    """Order-independent hash of a table's columns (names, types) and rows."""
    where_catalog = "table_catalog = ?" if catalog else "table_catalog = current_database()"
    params = [catalog] if catalog else []
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        f"where {where_catalog} and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [*params, schema, table],
    ).fetchall()
    if not columns:
        raise ValueError(f"no table {schema}.{table}")
    expressions = [
        f"round({_quote(name)}, 9)" if dtype in _FLOAT_TYPES else _quote(name)
        for name, dtype in columns
    ]
    relation = ".".join(_quote(part) for part in ([catalog] if catalog else []) + [schema, table])
    (total,) = con.execute(
        f"select coalesce(sum(hash({', '.join(expressions)})), 0) from {relation}"
    ).fetchall()[0]
    text = ";".join(f"{name} {dtype}" for name, dtype in columns) + f"|{int(total)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_leftovers(target: Path) -> None:
    """Temp files of an earlier publication that crashed before its rename."""
    for leftover in target.parent.glob(f"{target.name}.tmp-*"):
        leftover.unlink(missing_ok=True)


def publish_marts(warehouse_file: Path, target: Path, run_id: str) -> Publication:
    """Copy schema `marts` of the warehouse into a new file and swap it onto `target`."""
    import duckdb

    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    temp = target.with_name(f"{target.name}.tmp-{run_id}")
    published_at = datetime.now(UTC).replace(tzinfo=None)
    try:
        with duckdb.connect(str(temp)) as con:
            con.execute(f"attach {_sql_string(str(warehouse_file))} as working (read_only)")
            tables = [
                row[0]
                for row in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_catalog = 'working' and table_schema = ? order by 1",
                    [MARTS_SCHEMA],
                ).fetchall()
            ]
            if not tables:
                raise RuntimeError(f"{warehouse_file} has no tables in schema {MARTS_SCHEMA}")
            con.execute(f"create schema {MARTS_SCHEMA}")
            for table in tables:
                name = f"{MARTS_SCHEMA}.{_quote(table)}"
                con.execute(f"create table {name} as select * from working.{name}")
            con.execute("detach working")
            rows = {
                table: con.execute(
                    f"select count(*) from {MARTS_SCHEMA}.{_quote(table)}"
                ).fetchall()[0][0]
                for table in tables
            }
            hashes = {table: content_hash(con, MARTS_SCHEMA, table) for table in tables}
            con.execute(
                f"create table main.{PUBLICATION_TABLE} (run_id varchar not null, "
                "published_at timestamp not null, table_schema varchar not null, "
                "table_name varchar not null, row_count bigint not null, "
                "content_hash varchar not null)"
            )
            con.executemany(
                f"insert into main.{PUBLICATION_TABLE} values (?, ?, ?, ?, ?, ?)",
                [
                    (run_id, published_at, MARTS_SCHEMA, table, rows[table], hashes[table])
                    for table in tables
                ],
            )
            con.execute("checkpoint")
        _fsync(temp)
        os.replace(temp, target)
        _fsync(target.parent)
    finally:
        temp.unlink(missing_ok=True)
        Path(f"{temp}.wal").unlink(missing_ok=True)
    return Publication(target, run_id, published_at, rows, hashes)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def read_publication(path: Path) -> Publication | None:
    """The `_publication` record of a serving file, read-only; None if there is none."""
    import duckdb

    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        records = con.execute(
            f"select run_id, published_at, table_name, row_count, content_hash "
            f"from main.{PUBLICATION_TABLE} order by table_name"
        ).fetchall()
    if not records:
        return None
    return Publication(
        path=path,
        run_id=records[0][0],
        published_at=records[0][1],
        rows={r[2]: r[3] for r in records},
        hashes={r[2]: r[4] for r in records},
    )


@dg.asset(
    key=PUBLISHED_KEY,
    deps=MART_KEYS,
    group_name="publish",
    kinds={"duckdb"},
    freshness_policy=FRESHNESS,
    description="The marts as BI tools read them: a read-only DuckDB file "
    "(`data/published/leadbridge_marts.duckdb`, or `$LEADBRIDGE_PUBLISHED`), schema "
    "`marts`, replaced atomically only after every blocking check of the night passed. "
    "`_publication` records the run, the time and rows and a content hash per table.",
)
def published_marts(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Publish schema `marts` of the working warehouse to the serving file."""
    target = warehouse.published_file
    publication = publish_marts(warehouse.file, target, context.run.run_id)
    total = sum(publication.rows.values())
    context.log.info(
        f"published {len(publication.rows)} tables ({total} rows) to {target} "
        f"(content hash {publication.content_hash})"
    )
    table = "\n".join(
        ["| table | rows | content hash |", "|---|---:|---|"]
        + [
            f"| {MARTS_SCHEMA}.{name} | {publication.rows[name]} | `{publication.hashes[name]}` |"
            for name in sorted(publication.rows)
        ]
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "tables": len(publication.rows),
            "dagster/row_count": total,
            "content_hash": publication.content_hash,
            "published_at": publication.published_at.isoformat(timespec="seconds") + "Z",
            "table_rows": dg.MetadataValue.md(table),
        }
    )


PUBLISH_ASSETS = [published_marts]
