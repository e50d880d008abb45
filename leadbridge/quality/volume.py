"""What the volume and quarantine checks read: row counts and the quarantined rows.

A raw table fails its volume check when it lost `LEADBRIDGE_VOLUME_DROP_MAX` (default
0.5) or more of the rows counted in the previous successful run; the count to compare
with is run history, kept by the orchestrator. The quarantine counts say which rows the
dbt quarantine models set aside, by table and rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leadbridge.engine import Engine, as_engine
from leadbridge.settings import Settings


def volume_drop_max() -> float:
    """The share of rows a raw table may lose between successful runs before it fails."""
    return Settings.from_env().volume_drop_max


def row_count(warehouse: Engine | Path, table: str) -> int:
    """Rows of `schema.table`, 0 when the table does not exist (yet)."""
    return row_counts(warehouse, [table])[table]


def row_counts(warehouse: Engine | Path, tables: list[str]) -> dict[str, int]:
    """Rows of each `schema.table`, read in one session; 0 for a table not there (yet)."""
    counts = {}
    with as_engine(warehouse).reader() as reader:
        for table in tables:
            schema, _, name = table.partition(".")
            exists = reader.table_exists(schema, name)
            query = f'select count(*) from {schema}."{name}"'
            counts[table] = int(reader.rows(query)[0][0]) if exists else 0
    return counts


def volume_outcome(current: int, previous: int | None, max_drop: float) -> tuple[bool, float]:
    """(passed, drop share): a drop of `max_drop` or more of the previous rows fails."""
    if not previous:
        return True, 0.0
    drop = max(0.0, (previous - current) / previous)
    return drop < max_drop, drop


def quarantine_counts(warehouse: Engine | Path) -> list[dict[str, Any]]:
    """Quarantined rows by source table and rule (empty before the first build)."""
    with as_engine(warehouse).reader() as reader:
        if not reader.table_exists("quarantine", "quarantined_rows"):
            return []
        rows = reader.rows(
            "select source_table, rule, count(*), min(source_record_id) "
            "from quarantine.quarantined_rows group by 1, 2 order by 1, 2"
        )
    return [
        {"source_table": t, "rule": r, "rows": int(n), "example_record_id": e}
        for t, r, n, e in rows
    ]
