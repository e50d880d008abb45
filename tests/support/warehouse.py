"""Reading a DuckDB file from a test: read-only, and closed before the test asserts."""

from __future__ import annotations

from pathlib import Path

import duckdb


def duckdb_query(path: Path, sql: str) -> list[tuple]:
    """Rows of `sql` on the DuckDB file at `path`, opened read-only."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


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
