"""The Great Expectations suites of `expectations/` and the values they are filled with.

Each `expectations/<schema>__<table>.json` is one suite for one table; its `meta` names
the asset it guards, whether a failure blocks what is downstream, the query it reads
(default the whole table) and whether it validates every row or only the changed ones.
`suite_parameters` fills the suites' `$PARAMETER`s: the time bounds and the stage codes
and source values of the lead contract, so no suite restates them.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from leadbridge.paths import DBT_PROJECT_DIR, EXPECTATIONS_DIR
from leadbridge.settings import Settings

UNIQUE = "expect_column_values_to_be_unique"
# Expectations decided row by row: their counts over slices add up to the table's.
CHUNKABLE = frozenset(
    {
        UNIQUE,  # only with slices by a hash of its column (`Suite.slice_column`)
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
    }
)
COLUMN_ARGUMENTS = ("column", "column_A", "column_B", "column_list")
CONTRACT_SEEDS = DBT_PROJECT_DIR / "seeds" / "lead_contract"
STAGE_MAPPINGS = CONTRACT_SEEDS / "lead_contract__stage_mappings.csv"
STAGES = CONTRACT_SEEDS / "lead_contract__stages.csv"
# `meta.validate`: every row (default), or only the rows not passed before
VALIDATE_MODES = ("all_rows", "changed_rows")


def _parameter_name(*parts: str) -> str:
    return "_".join(re.sub(r"[^a-z0-9]+", "_", p.lower()).strip("_") for p in parts)


def contract_values(mappings: Path = STAGE_MAPPINGS) -> dict[str, list[str]]:
    """`contract_<system>_<field>` → the source values the lead contract maps (matched
    lower-cased and trimmed, as `stage_mapping_matches` does in dbt)."""
    values: dict[str, set[str]] = {}
    with mappings.open(newline="") as handle:
        for row in csv.DictReader(handle):
            name = _parameter_name("contract", row["source_system"], row["source_field"])
            values.setdefault(name, set()).add(row["source_value"].strip().lower())
    return {name: sorted(found) for name, found in values.items()}


def suite_parameters(now: datetime | None = None, night: bool = False) -> dict[str, Any]:
    """The values of the suites' `$PARAMETER`s for a validation at `now`: the wall clock
    (allowing for the sources' clock skew), or with `night` the night the marts describe,
    exactly (they hold nothing after it)."""
    now = now or datetime.now(UTC)
    skew = 0.0 if night else Settings.from_env().clock_skew_minutes
    latest = now + timedelta(minutes=skew)
    with STAGES.open(newline="") as handle:
        stages = sorted(row["stage_code"] for row in csv.DictReader(handle))
    return {
        "now": now,
        "latest_allowed_timestamp": latest,
        # marts hold UTC `timestamp`s without a zone (dbt's tz_to_utc)
        "latest_allowed_timestamp_naive": latest.replace(tzinfo=None),
        "contract_stages": stages,
        **contract_values(),
    }


@dataclass(frozen=True)
class Suite:
    """One suite file: the table it reads and the asset it guards."""

    path: Path
    name: str
    table: str
    asset_path: tuple[str, ...]  # the asset it guards: `[schema, table]` unless `meta` says
    blocking: bool
    description: str
    definition: dict[str, Any]
    query: str
    changed_rows_only: bool = False

    @classmethod
    def load(cls, path: Path) -> Suite:
        """Read and validate a suite file; a malformed one fails loudly at load time."""
        definition = json.loads(path.read_text())
        meta = definition.get("meta") or {}
        schema, _, table = path.stem.partition("__")
        if not table or definition.get("name") != path.stem:
            raise ValueError(f"{path.name}: name must be <schema>__<table> and match the file")
        if not definition.get("expectations"):
            raise ValueError(f"{path.name}: no expectations")
        mode = meta.get("validate", "all_rows")
        if mode not in VALIDATE_MODES:
            raise ValueError(f"{path.name}: meta.validate is {mode!r}, not one of {VALIDATE_MODES}")
        suite = cls(
            path=path,
            name=path.stem,
            table=f"{schema}.{table}",
            asset_path=tuple(meta.get("asset_key") or (schema, table)),
            blocking=bool(meta.get("blocking", True)),
            description=meta.get("description", f"Great Expectations suite {path.stem}"),
            definition=definition,
            query=meta.get("query") or f"select * from {schema}.{table}",
            changed_rows_only=mode == "changed_rows",
        )
        with_mostly = [
            e["type"] for e in definition["expectations"] if "mostly" in e.get("kwargs", {})
        ]
        if suite.changed_rows_only and (not suite.columns or not suite.slice_column or with_mostly):
            raise ValueError(
                f"{path.name}: meta.validate changed_rows needs expectations decided row by "
                f"row ({', '.join(sorted(CHUNKABLE))}), on named columns, without `mostly` "
                "and with at most one unique column"
            )
        return suite

    @property
    def columns(self) -> list[str] | None:
        """The columns the expectations name, in order; None when they may need others:
        an expectation that names no column (table-level) or has a `row_condition` (an
        expression over any column)."""
        found: list[str] = []
        for expectation in self.definition["expectations"]:
            kwargs = expectation.get("kwargs") or {}
            named = [kwargs[a] for a in COLUMN_ARGUMENTS if a in kwargs]
            if not named or kwargs.get("row_condition"):
                return None
            for value in named:
                for column in value if isinstance(value, list) else [value]:
                    if column not in found:
                        found.append(column)
        return found

    @property
    def slice_column(self) -> str | None:
        """The column whose hash cuts the table into slices, or None when the suite must
        see the table whole (an expectation outside `CHUNKABLE`, or unique on two
        columns)."""
        expectations = self.definition["expectations"]
        if any(e["type"] not in CHUNKABLE for e in expectations):
            return None
        unique = {e["kwargs"]["column"] for e in expectations if e["type"] == UNIQUE}
        if len(unique) > 1:
            return None
        return unique.pop() if unique else expectations[0]["kwargs"]["column"]


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every suite of the expectations folder, in file-name order."""
    return [Suite.load(p) for p in sorted(folder.glob("*.json"))]
