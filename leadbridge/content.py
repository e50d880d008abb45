"""Order-independent content hashes of warehouse tables, one per engine.

A table's hash covers its column names and types and its rows as a multiset (a sum of
row hashes, so a duplicated row counts). Floating-point columns are rounded to 9
decimals first, so a sum computed in another order on another night does not change the
hash when the data did not. DuckDB hashes with `hash()`, PostgreSQL with the first 64
bits of the md5 of the row's text, Spark with `xxhash64()` (summed as a decimal, which
cannot overflow): compare hashes made by the same engine (and DuckDB version). Used by
the publication's `_publication` record and by the inputs fingerprint
(leadbridge/inputs.py), which leaves dlt's bookkeeping columns out (`exclude`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from leadbridge.engine import DUCKDB, POSTGRES, SPARK, Session, quote

_FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}
_PG_FLOAT_TYPES = {"double precision", "real"}
_SPARK_FLOAT_TYPES = {"double", "float"}


def content_hash(
    con, schema: str, table: str, catalog: str | None = None, exclude: Collection[str] = ()
) -> str:
    """Order-independent hash of a DuckDB table's columns (names, types) and rows, the
    columns `exclude` left out."""
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
    columns = [(name, dtype) for name, dtype in columns if name not in exclude]
    expressions = [
        f"round({quote(name)}, 9)" if dtype in _FLOAT_TYPES else quote(name)
        for name, dtype in columns
    ]
    relation = ".".join(quote(part) for part in ([catalog] if catalog else []) + [schema, table])
    (total,) = con.execute(
        f"select coalesce(sum({row_hash(DUCKDB, expressions)}), 0) from {relation}"
    ).fetchall()[0]
    return _digest(columns, total)


def postgres_content_hash(cursor, schema: str, table: str, exclude: Collection[str] = ()) -> str:
    """Order-independent hash of a PostgreSQL table's columns (names, types) and rows,
    the columns `exclude` left out."""
    cursor.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        (schema, table),
    )
    columns = cursor.fetchall()
    if not columns:
        raise ValueError(f"no table {schema}.{table}")
    columns = [(name, dtype) for name, dtype in columns if name not in exclude]
    expressions = [
        f"round({quote(name)}::numeric, 9)" if dtype in _PG_FLOAT_TYPES else quote(name)
        for name, dtype in columns
    ]
    cursor.execute(
        f"select coalesce(sum({row_hash(POSTGRES, expressions)}), 0) "
        f"from {quote(schema)}.{quote(table)}"
    )
    total = cursor.fetchone()[0]
    return _digest(columns, total)


def spark_content_hash(
    session: Session, schema: str, table: str, exclude: Collection[str] = ()
) -> str:
    """Order-independent hash of a Spark table's (or view's) columns (names, types) and
    rows, the columns `exclude` left out; `session` on the Spark server."""
    spark = session.connection
    if not spark.catalog.tableExists(table, schema):
        raise ValueError(f"no table {schema}.{table}")
    fields = spark.table(f"`{schema}`.`{table}`").schema.fields
    columns = [(f.name, f.dataType.simpleString()) for f in fields if f.name not in exclude]
    expressions = [
        f"round({quote(name)}, 9)" if dtype in _SPARK_FLOAT_TYPES else quote(name)
        for name, dtype in columns
    ]
    (total,) = session.rows(
        f"select coalesce(sum(cast({row_hash(SPARK, expressions)} as decimal(38, 0))), 0) "
        f"from {quote(schema)}.{quote(table)}"
    )[0]
    return _digest(columns, total)


def row_hash(engine: str, expressions: list[str]) -> str:
    """SQL for a 64-bit hash of one row's `expressions` that tells NULL from any value."""
    if engine == SPARK:
        # xxhash64 skips NULLs: each value's null flag goes in beside it
        flagged = [f"{e}, {e} is null" for e in expressions]
        return f"xxhash64({', '.join(flagged)})"
    if engine == POSTGRES:
        # row(...)::text tells NULL from '' and needs no separator that data could contain
        return f"('x' || left(md5(row({', '.join(expressions)})::text), 16))::bit(64)::bigint"
    return f"hash({', '.join(expressions)})"


def _digest(columns: list[tuple[str, str]], total: int) -> str:
    """The table's hash: its column names and types, and the sum of its row hashes."""
    text = ";".join(f"{name} {dtype}" for name, dtype in columns) + f"|{int(total)}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
