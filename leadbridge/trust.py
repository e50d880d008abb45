"""The trust record a publication carries beside the marts, for the dashboard's Data trust
page: the night's checks and their verdicts, when each source table was last loaded
(as `dbt source freshness` defines it), and the quarantined rows by table and rule.

The orchestrator knows the checks; the freshness and quarantine are read here from the
working warehouse. No personal data: rules and record ids, never offending values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from leadbridge.engine import Engine, Session, as_engine, quote
from leadbridge.quality.volume import quarantine_counts
from leadbridge.settings import DUCKDB

CHECKS_TABLE = "_publication_checks"
SOURCES_TABLE = "_publication_sources"
QUARANTINE_TABLE = "_publication_quarantine"
# table → (column, type) in order; `text` is spelled per engine
TRUST_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    CHECKS_TABLE: (
        ("asset", "text"),
        ("check_name", "text"),
        ("status", "text"),
        ("blocking", "boolean"),
        ("run_id", "text"),
        ("evaluated_at", "timestamp"),
    ),
    SOURCES_TABLE: (
        ("source_table", "text"),
        ("last_loaded_at", "timestamp"),
        ("warn_after_hours", "double precision"),
        ("error_after_hours", "double precision"),
    ),
    QUARANTINE_TABLE: (
        ("source_table", "text"),
        ("rule", "text"),
        ("row_count", "bigint"),
        ("example_record_id", "text"),
    ),
}
# a check's status: the latest verdict, or that it has none
PASSED, FAILED, WARNED, NOT_RUN = "passed", "failed", "failed (warning)", "not run"
_PERIODS = {"minute": "minutes", "hour": "hours", "day": "days"}


@dataclass(frozen=True)
class CheckOutcome:
    """The latest verdict of one check on the marts' way to publication."""

    asset: str
    check_name: str
    status: str
    blocking: bool
    run_id: str | None = None
    evaluated_at: datetime | None = None


@dataclass(frozen=True)
class TrustRecord:
    """What is written beside one publication."""

    checks: Sequence[CheckOutcome] = ()
    sources: Sequence[tuple] = ()
    quarantine: Sequence[tuple] = ()


def _delta(threshold: dict | None) -> timedelta | None:
    if not threshold or not threshold.get("count") or not threshold.get("period"):
        return None
    return timedelta(**{_PERIODS[threshold["period"]]: threshold["count"]})


def source_freshness(manifest_path: Path) -> dict[tuple[str, str], dict]:
    """(source, table) → its dbt `freshness` (`warn`/`error` timedeltas, either may be
    None) and `loaded_at_field`, for every source table that declares an `error_after`."""
    if not Path(manifest_path).exists():
        return {}
    manifest = json.loads(Path(manifest_path).read_text())
    out = {}
    for node in manifest.get("sources", {}).values():
        freshness = node.get("freshness") or (node.get("config") or {}).get("freshness") or {}
        error = _delta(freshness.get("error_after"))
        if error is None:
            continue
        loaded_at = node.get("loaded_at_field") or (node.get("config") or {}).get("loaded_at_field")
        out[(node["source_name"], node["name"])] = {
            "warn": _delta(freshness.get("warn_after")),
            "error": error,
            "loaded_at_field": loaded_at,
            "relation": (node["schema"], node.get("identifier") or node["name"]),
        }
    return out


def _hours(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds() / 3600


def _naive_utc(value) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def source_loads(warehouse: Engine | Path, manifest_path: Path) -> list[tuple]:
    """(source.table, last loaded at, warn after h, error after h) per source table with a
    freshness rule; a table not loaded yet has no time."""
    rows = []
    with as_engine(warehouse).reader() as reader:
        for (source, table), rule in sorted(source_freshness(manifest_path).items()):
            schema, name = rule["relation"]
            loaded = None
            if rule["loaded_at_field"] and reader.table_exists(schema, name):
                loaded = reader.rows(
                    f"select max({rule['loaded_at_field']}) from {quote(schema)}.{quote(name)}"
                )[0][0]
            rows.append(
                (
                    f"{source}.{table}",
                    _naive_utc(loaded),
                    _hours(rule["warn"]),
                    _hours(rule["error"]),
                )
            )
    return rows


def trust_record(
    warehouse: Engine | Path, manifest_path: Path, checks: Sequence[CheckOutcome] = ()
) -> TrustRecord:
    """The record of the marts about to be published from `warehouse`."""
    quarantine = [
        (c["source_table"], c["rule"], c["rows"], c["example_record_id"])
        for c in quarantine_counts(warehouse)
    ]
    return TrustRecord(checks, source_loads(warehouse, manifest_path), quarantine)


def write_trust(session: Session, schema: str, record: TrustRecord) -> list[str]:
    """Create the trust tables in `schema` of the publication being built; their names."""
    text = "varchar" if session.engine == DUCKDB else "text"
    values = {
        CHECKS_TABLE: [
            (c.asset, c.check_name, c.status, c.blocking, c.run_id, c.evaluated_at)
            for c in record.checks
        ],
        SOURCES_TABLE: list(record.sources),
        QUARANTINE_TABLE: list(record.quarantine),
    }
    for table, columns in TRUST_TABLES.items():
        name = f"{quote(schema)}.{table}"
        definition = ", ".join(f"{c} {text if t == 'text' else t}" for c, t in columns)
        session.execute(f"create table {name} ({definition})")
        marks = ", ".join("?" for _ in columns)
        for row in values[table]:
            session.execute(f"insert into {name} values ({marks})", row)
    return list(TRUST_TABLES)
