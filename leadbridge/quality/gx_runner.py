"""Run a Great Expectations suite on a warehouse table, through pandas, in slices.

GX's SQL datasource does not work on DuckDB, so the suite's columns are read read-only
into pandas and validated with the pandas datasource, on PostgreSQL too. A large table is
read in slices by a hash of the suite's unique column, so a duplicate always falls in one
slice and the row-wise expectations (`CHUNKABLE`) add up exactly; a `changed_rows` suite
reads only what its ledger has not passed. GX is imported when a suite runs: its import
is slow and loading the definitions should not pay it. What a validation allocated is
handed back to the OS when it ends (leadbridge.memory), not kept beside the dbt build.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadbridge.engine import Engine, Session, as_engine, quote
from leadbridge.inputs import RAW_SCHEMAS
from leadbridge.memory import release_memory
from leadbridge.quality.ledger import changed_rows, write_ledger
from leadbridge.quality.suites import Suite, suite_parameters
from leadbridge.settings import Settings

SAMPLE_SIZE = 10


def chunk_rows() -> int:
    """Rows per slice of a validation (`LEADBRIDGE_GX_CHUNK_ROWS`)."""
    return Settings.from_env().gx_chunk_rows


def _as_instants(frame: Any) -> Any:
    """The naive UTC timestamps Spark hands pandas as the instants they are: the raw
    tables' timestamps elsewhere (timestamptz), which the raw suites compare with a
    zoned bound."""
    for column in frame.columns:
        if str(frame[column].dtype).startswith("datetime64") and frame[column].dt.tz is None:
            frame[column] = frame[column].dt.tz_localize("UTC")
    return frame


def _slice_bucket(engine: str, column: str, slices: int) -> str:
    """SQL for the slice (0 … slices-1) of a row, by a hash of `column`; NULLs too."""
    if engine == "postgres":
        # a 32-bit hash: its absolute value cannot overflow, unlike a 64-bit one's minimum
        hashed = f"abs(hashtext(cast({quote(column)} as text))::bigint)"
    elif engine == "spark":
        return f"pmod(coalesce(hash({quote(column)}), 0), {slices})"  # a signed 32-bit hash
    else:
        hashed = f"hash({quote(column)})"
    return f"coalesce({hashed} % {slices}, 0)"


def _slice_queries(
    suite: Suite, session: Session, rows_per_slice: int, query: str | None = None
) -> tuple[list[str], int]:
    """The queries that read the suite's columns of `query` (default the suite's) slice
    by slice, and its row count."""
    query = query or suite.query
    columns = suite.columns
    selected = ", ".join(quote(c) for c in columns) if columns else "*"
    source = f"select {selected} from ({query}) as checked"
    rows = int(session.rows(f"select count(*) from ({query}) as counted")[0][0])
    slices = math.ceil(rows / rows_per_slice) if suite.slice_column else 1
    if slices <= 1:
        return [source], rows
    bucket = _slice_bucket(session.engine, suite.slice_column, slices)
    sliced = f"select {selected} from ({query}) as checked where {bucket} = "
    return [f"{sliced}{i}" for i in range(slices)], rows


def validate(
    suite: Suite,
    warehouse: Engine | Path,
    parameters: dict[str, Any] | None = None,
    rows_per_slice: int | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Run a suite on its table of `warehouse` (an engine, or a DuckDB file's path), in
    slices of about `rows_per_slice` rows (default `chunk_rows()`); (passed, metadata
    with failed counts and samples)."""
    try:
        return _validate(suite, as_engine(warehouse), parameters, rows_per_slice)
    finally:
        # the slices, GX's context and the DuckDB connection are garbage by now
        release_memory()


def _validate(
    suite: Suite,
    engine: Engine,
    parameters: dict[str, Any] | None,
    rows_per_slice: int | None,
) -> tuple[bool, dict[str, Any]]:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    definition = {k: v for k, v in suite.definition.items() if k != "meta"}
    gx_suite = context.suites.add(gx.ExpectationSuite(**definition))
    expected = len(suite.definition["expectations"])
    if len(gx_suite.expectations) != expected:
        # GX drops an unknown expectation type with only a log line.
        raise ValueError(
            f"{suite.path.name}: GX understood {len(gx_suite.expectations)} of "
            f"{expected} expectations; check their `type`"
        )
    batches = context.data_sources.add_pandas("warehouse").add_dataframe_asset(name=suite.name)
    whole = batches.add_batch_definition_whole_dataframe("all")
    values = parameters if parameters is not None else suite_parameters()

    outcomes: dict[str, _Outcome] = {}
    # Spark's Parquet tables take no DELETE and no temporary tables: no ledger there, every
    # row is validated every night (docs/warehouses.md)
    ledgered = suite.changed_rows_only and not engine.is_spark
    # a ledger is written in the validation's own transaction
    with engine.writer() if ledgered else engine.reader() as session:
        changed = changed_rows(suite, session) if ledgered else None
        queries, rows = _slice_queries(suite, session, rows_per_slice or chunk_rows(), changed)
        for query in queries:
            frame = session.frame(query)
            if session.engine == "spark" and suite.asset_path[0] in RAW_SCHEMAS:
                frame = _as_instants(frame)
            result = whole.get_batch(batch_parameters={"dataframe": frame}).validate(
                gx_suite, result_format="SUMMARY", expectation_parameters=values
            )
            del frame
            for outcome in result.results:
                config = outcome.expectation_config
                if outcome.exception_info and outcome.exception_info.get("raised_exception"):
                    raise RuntimeError(
                        f"{suite.name}: {config.type} raised "
                        f"{outcome.exception_info.get('exception_message')}"
                    )
                outcomes.setdefault(config.id, _Outcome(config)).add(outcome)
        failures = [o.failure() for o in outcomes.values() if not o.success]
        if ledgered:
            # when every row was validated, `rows` already counts the table
            table_rows = (
                rows
                if changed is None
                else int(session.rows(f"select count(*) from ({suite.query}) as counted")[0][0])
            )
            if not failures:
                write_ledger(suite, session)

    metadata = {
        "table": suite.table,
        **(
            {"rows_in_table": table_rows, "validated": "changed rows" if changed else "all rows"}
            if ledgered
            else {}
        ),
        "rows_checked": rows,
        "columns_checked": suite.columns or "all",
        "slices": len(queries),
        "expectations": expected,
        "failed_expectations": len(failures),
        "failed_rows": sum(f["failed_rows"] or 0 for f in failures),
        "failures": failures,
    }
    return not failures, metadata


@dataclass
class _Outcome:
    """One expectation's results summed over the slices of a validation."""

    config: Any
    passed: bool = True
    unexpected: int | None = None
    nonmissing: int = 0
    sample: list[str] | None = None
    observed: str | None = None

    def add(self, outcome: Any) -> None:
        """Fold in one slice's result."""
        result = outcome.result or {}
        self.passed = self.passed and bool(outcome.success)
        if result.get("unexpected_count") is not None:
            self.unexpected = (self.unexpected or 0) + int(result["unexpected_count"])
        self.nonmissing += int(result.get("element_count") or 0) - int(
            result.get("missing_count") or 0
        )
        found = [str(v) for v in (result.get("partial_unexpected_list") or [])]
        self.sample = ((self.sample or []) + found)[:SAMPLE_SIZE]
        if not outcome.success and self.observed is None:
            self.observed = str(result.get("observed_value", ""))[:200] or None

    @property
    def success(self) -> bool:
        """Whether the expectation holds on the whole table."""
        mostly = self.config.kwargs.get("mostly")
        if mostly is None or self.unexpected is None:
            return self.passed
        # `mostly` is a share of the whole table, not of each slice
        return self.nonmissing == 0 or 1 - self.unexpected / self.nonmissing >= mostly

    def failure(self) -> dict[str, Any]:
        """The failure as it appears in the check's metadata."""
        return {
            "expectation": self.config.type,
            "column": self.config.kwargs.get("column"),
            "failed_rows": self.unexpected,
            "sample": self.sample or [],
            "observed": self.observed,
        }
