"""Rows of one query on two engines, in a form that compares equal when the data is equal."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime


def normalise(value: object) -> object:
    """One value as both engines' drivers should agree on it.

    Only two things are normalised. Floats are rounded to 9 significant digits: double
    precision arithmetic may differ in the last bits between engines (summation order),
    which is not a difference in the result. Timestamps with a time zone become naive UTC:
    psycopg2 returns them in the session's time zone, DuckDB's driver in its own; the
    marts declare `timestamp` (naive UTC) throughout, so this only guards the comparison
    itself. Decimals, integers, text, booleans and dates are compared exactly.
    """
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        return round(value, 8 - int(math.floor(math.log10(abs(value)))))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def sorted_rows(rows: list[tuple]) -> list[tuple]:
    """The rows normalised (`normalise`) and sorted, None first."""

    def key(row: tuple) -> tuple:
        # None sorts first; values of one column share a type, so they compare.
        return tuple((value is not None, value if value is not None else 0) for value in row)

    return sorted((tuple(normalise(value) for value in row) for row in rows), key=key)


# The marts and the restricted tables built from them: every engine must build them as
# DuckDB does.
MART_COLUMNS_SQL = """
    select table_schema || '.' || table_name, column_name from information_schema.columns
    where table_schema in ('marts', 'restricted')
    order by table_schema, table_name, ordinal_position"""


# When a build wrote the row (the incremental models' bookkeeping): never the same twice.
WRITTEN_AT = "built_at"


def columns_by_table(rows: Iterable[tuple]) -> dict[str, list[str]]:
    """`(table, column)` rows as table → its columns to compare, in order (not
    `WRITTEN_AT`)."""
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        if column != WRITTEN_AT:
            columns.setdefault(table, []).append(column)
    return columns


def select_columns(table: str, columns: list[str]) -> str:
    """`select "c1", "c2", … from table`, identifiers quoted as DuckDB and PostgreSQL do."""
    quoted = ", ".join('"' + column.replace('"', '""') + '"' for column in columns)
    return f"select {quoted} from {table}"


def table_differences(
    tables: dict[str, list[str]],
    rows_on: Callable[[str, list[str]], list[tuple]],
    duckdb_rows: Callable[[str, list[str]], list[tuple]],
    engine: str,
) -> dict[str, dict[str, list[tuple]]]:
    """The tables (name → columns) whose rows on `engine` differ from DuckDB's, with up to
    three rows only one side has; each table must have rows on DuckDB."""
    differences = {}
    for table, columns in tables.items():
        on_engine = sorted_rows(rows_on(table, columns))
        on_duckdb = sorted_rows(duckdb_rows(table, columns))
        assert on_duckdb, f"{table} is empty on DuckDB"
        if on_engine != on_duckdb:
            differences[table] = {
                f"{engine} only": [row for row in on_engine if row not in on_duckdb][:3],
                "duckdb only": [row for row in on_duckdb if row not in on_engine][:3],
            }
    return differences
