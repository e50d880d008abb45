"""Reading a DuckDB file from a test: read-only, and closed before the test asserts."""

from __future__ import annotations

from pathlib import Path

import duckdb


def duckdb_query(path: Path, sql: str) -> list[tuple]:
    """Rows of `sql` on the DuckDB file at `path`, opened read-only."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()
