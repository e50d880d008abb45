"""Great Expectations 1.x suites from `expectations/` as Dagster asset checks.

Each `expectations/<schema>__<table>.json` is one suite for one table; its `meta`
names the Dagster asset it guards and whether a failure blocks what is downstream.
Blocking checks on the raw tables run right after ingestion, so a failing one skips the
dbt build and bad data never reaches the marts.

GX's SQL datasource does not work on DuckDB here, so the table is read read-only into
pandas and validated with the pandas datasource, on PostgreSQL too (through the engine
of leadbridge/engine.py): one code path, and the same suites, on both engines. GX is
imported inside the check: its import takes several seconds that loading the
definitions should not pay.

Only the columns the expectations name are read, and a table of more than
`LEADBRIDGE_GX_CHUNK_ROWS` rows (default 1,000,000) is validated in slices, so that a
check's memory follows the slice, not the table (17M events at 1M people). The slices
are buckets of a hash of the suite's unique column: a duplicated value always falls in
one slice, so `expect_column_values_to_be_unique` still sees every duplicate, and the
row-wise expectations (`CHUNKABLE`) add up exactly. A suite with any other kind of
expectation, or unique on two columns, is read in one piece.

A suite whose `meta.validate` is `changed_rows` (the incremental `fct_lead_events`)
validates only the rows it has not passed before, and every row sharing a unique value
with one of them. A *ledger* in the warehouse (`quality.gx__<suite>`, one 64-bit digest
of the checked columns per row) holds the rows of the last validation that passed;
rows whose digest is beyond the ledger (`except all`: an exact copy of a passed row
counts) are new or changed. Their expectations are decided row by row, so the rows that
passed before pass again; the unique one sees each new value beside the rows already
holding it. The ledger is rewritten in the same transaction when the validation passes
(a failure leaves it, so failing rows are checked again next time), and is ignored when
the suite or the lead contract changed since (`quality.gx_ledgers`). Such a suite may
hold only `CHUNKABLE` expectations without `mostly`: a share of the whole table is not
decided by its new rows.

A raw table's suite is not run again when nothing it depends on changed since a run in
which it passed: the content of the tables its query reads (dlt's load ids left out),
the suite file and the lead contract (`suite_inputs`, recorded as the evaluation's
`inputs` metadata). The result then says `unchanged_since_run`. The clock-based bounds
(`latest_allowed_timestamp`) only widen as time passes, so the earlier pass still holds.
The mart suites need no such rule: they run only after a build (leadbridge/inputs.py).
Their time bounds are the night the marts describe (`as_of`), not the wall clock.

A suite's `meta.query` may replace `select * from <table>` with a query over several
tables (cross-system referential integrity: an opportunity's account and person must
exist). It runs on DuckDB and on PostgreSQL alike, so it is written in their common SQL
(`double precision`, not `double`). Suites use GX suite parameters filled at validation
time (`PARAMETERS`):
`latest_allowed_timestamp` (now plus `LEADBRIDGE_CLOCK_SKEW_MINUTES`, default 60; a
`_naive` twin for the marts' zone-less UTC timestamps), `contract_stages` (the canonical
stage codes) and `contract_<system>_<field>`: every source value the contract maps,
lower-cased and trimmed as dbt matches them. Stage lists are defined once, in the contract.

Two more kinds of checks live here:

- `volume_<schema>__<table>` on every raw table: the row count against the count the
  same check recorded in the previous *successful* run (read from the Dagster instance:
  it is run history, survives a rebuilt warehouse — when a full reload of a shrunken
  source would show — and needs no table of its own). A drop of
  `LEADBRIDGE_VOLUME_DROP_MAX` (default 0.5) or more of the rows fails, blocking.
- `quarantine_summary` on `quarantine/quarantined_rows`: never fails; its metadata
  counts the rows the dbt quarantine models set aside (tolerated rule breaks) by table
  and rule, for the run summary.
"""

import csv
import json
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from leadbridge.content import row_hash
from leadbridge.engine import Engine, Session, as_engine, quote
from leadbridge.inputs import RAW_SCHEMAS, files_digest, tables_digest, tables_read_by
from leadbridge.paths import DBT_PROJECT_DIR, EXPECTATIONS_DIR
from orchestration.defs.resources import Warehouse
from orchestration.defs.transform import NightConfig, night_of

SAMPLE_SIZE = 10
CHUNK_ROWS_ENV = "LEADBRIDGE_GX_CHUNK_ROWS"
DEFAULT_CHUNK_ROWS = 1_000_000
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
CLOCK_SKEW_ENV = "LEADBRIDGE_CLOCK_SKEW_MINUTES"
DEFAULT_CLOCK_SKEW_MINUTES = 60
VOLUME_DROP_ENV = "LEADBRIDGE_VOLUME_DROP_MAX"
DEFAULT_VOLUME_DROP_MAX = 0.5
CONTRACT_SEEDS = DBT_PROJECT_DIR / "seeds" / "lead_contract"
STAGE_MAPPINGS = CONTRACT_SEEDS / "lead_contract__stage_mappings.csv"
STAGES = CONTRACT_SEEDS / "lead_contract__stages.csv"
QUARANTINE_KEY = dg.AssetKey(["quarantine", "quarantined_rows"])
# `meta.validate`: every row (default), or only the rows not passed before
VALIDATE_MODES = ("all_rows", "changed_rows")
LEDGER_SCHEMA = "quality"
LEDGERS = f"{LEDGER_SCHEMA}.gx_ledgers"


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
    skew = 0.0 if night else float(os.environ.get(CLOCK_SKEW_ENV, DEFAULT_CLOCK_SKEW_MINUTES))
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
    asset_key: dg.AssetKey
    blocking: bool
    description: str
    definition: dict[str, Any]
    query: str
    changed_rows_only: bool = False

    @classmethod
    def load(cls, path: Path) -> "Suite":
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
            asset_key=dg.AssetKey(meta.get("asset_key") or [schema, table]),
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


def chunk_rows() -> int:
    """Rows per slice of a validation (`LEADBRIDGE_GX_CHUNK_ROWS`)."""
    value = os.environ.get(CHUNK_ROWS_ENV, str(DEFAULT_CHUNK_ROWS))
    try:
        rows = int(value)
    except ValueError:
        rows = 0
    if rows < 1:
        raise ValueError(f"{CHUNK_ROWS_ENV} must be a positive number of rows, not {value!r}")
    return rows


def _slice_bucket(engine: str, column: str, slices: int) -> str:
    """SQL for the slice (0 … slices-1) of a row, by a hash of `column`; NULLs too."""
    if engine == "postgres":
        # a 32-bit hash: its absolute value cannot overflow, unlike a 64-bit one's minimum
        hashed = f"abs(hashtext(cast({quote(column)} as text))::bigint)"
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


def _row_digest(engine: str, columns: list[str]) -> str:
    """SQL for a 64-bit digest of a row's `columns`, NULLs included."""
    return row_hash(engine, [quote(c) for c in columns])


def _ledger_name(suite: Suite) -> str:
    """The ledger's table, in schema `LEDGER_SCHEMA`."""
    return f"gx__{suite.name}"


def _ledger_table(suite: Suite) -> str:
    return f"{LEDGER_SCHEMA}.{quote(_ledger_name(suite))}"


def ledger_inputs(suite: Suite) -> str:
    """What a suite's verdict on a row depends on besides the row: the suite file and the
    lead contract it reads its value sets from."""
    contract = files_digest([STAGE_MAPPINGS, STAGES], CONTRACT_SEEDS)
    return files_digest([suite.path], suite.path.parent) + contract


def _changed_rows(suite: Suite, session: Session) -> str | None:
    """A query of the rows to validate when the suite's ledger stands (None: every row):
    rows beyond the ledger and the rows that share their unique value. Materialized in a
    temporary table, since the slices read it several times."""
    if not session.table_exists(LEDGER_SCHEMA, "gx_ledgers"):
        return None
    recorded = session.rows(f"select inputs from {LEDGERS} where suite = ?", [suite.name])
    if recorded != [(ledger_inputs(suite),)] or not session.table_exists(
        LEDGER_SCHEMA, _ledger_name(suite)
    ):
        return None
    selected = ", ".join(quote(c) for c in suite.columns or [])
    key = quote(suite.slice_column or "")
    digest = _row_digest(session.engine, suite.columns or [])
    # three scans of the table rather than one materialized copy of its columns: only the
    # new digests and their keys are held, so memory follows the change, not the table
    session.execute(
        f"""create temporary table changed_rows as
        with new_digests as materialized (
            select {digest} as row_digest from ({suite.query}) as source
            except all
            select row_digest from {_ledger_table(suite)}
        ),
        new_keys as (
            select {key} from ({suite.query}) as source
            where {digest} in (select row_digest from new_digests)
        )
        select {selected} from ({suite.query}) as source
        where {digest} in (select row_digest from new_digests)
            or {key} in (select {key} from new_keys)"""
    )
    return "select * from changed_rows"


def _write_ledger(suite: Suite, session: Session) -> None:
    """Record every row of the suite's table as passed, replacing the ledger."""
    ledger = _ledger_table(suite)
    digest = _row_digest(session.engine, suite.columns or [])
    session.execute(f"create schema if not exists {LEDGER_SCHEMA}")
    session.execute(f"drop table if exists {ledger}")
    session.execute(
        f"create table {ledger} as select {digest} as row_digest from ({suite.query}) as source"
    )
    session.execute(f"create table if not exists {LEDGERS} (suite varchar, inputs varchar)")
    session.execute(f"delete from {LEDGERS} where suite = ?", [suite.name])
    session.execute(f"insert into {LEDGERS} values (?, ?)", [suite.name, ledger_inputs(suite)])


def validate(
    suite: Suite,
    warehouse: Engine | Path,
    parameters: dict[str, Any] | None = None,
    rows_per_slice: int | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Run a suite on its table of `warehouse` (an engine, or a DuckDB file's path), in
    slices of about `rows_per_slice` rows (default `chunk_rows()`); (passed, metadata
    with failed counts and samples)."""
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
    engine = as_engine(warehouse)
    # a ledger is written in the validation's own transaction
    with engine.writer() if suite.changed_rows_only else engine.reader() as session:
        changed = _changed_rows(suite, session) if suite.changed_rows_only else None
        queries, rows = _slice_queries(suite, session, rows_per_slice or chunk_rows(), changed)
        for query in queries:
            frame = session.frame(query)
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
        if suite.changed_rows_only:
            # when every row was validated, `rows` already counts the table
            table_rows = (
                rows
                if changed is None
                else int(session.rows(f"select count(*) from ({suite.query}) as counted")[0][0])
            )
            if not failures:
                _write_ledger(suite, session)

    metadata = {
        "table": suite.table,
        **(
            {"rows_in_table": table_rows, "validated": "changed rows" if changed else "all rows"}
            if suite.changed_rows_only
            else {}
        ),
        "rows_checked": rows,
        "columns_checked": suite.columns or "all",
        "slices": len(queries),
        "expectations": expected,
        "failed_expectations": len(failures),
        "failed_rows": sum(f["failed_rows"] or 0 for f in failures),
        "failures": dg.MetadataValue.json(failures),
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


def _suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=suite.asset_key,
        name=f"gx_{suite.name}",
        description=suite.description,
        blocking=suite.blocking,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        severity = dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN
        inputs = None
        if suite.asset_key.path[0] in RAW_SCHEMAS:
            inputs = suite_inputs(suite, warehouse.engine)
            key = dg.AssetCheckKey(suite.asset_key, f"gx_{suite.name}")
            since = passed_before_on(context.instance, key, inputs)
            if since:
                context.log.info(f"{suite.table} unchanged since run {since}, which passed it")
                return dg.AssetCheckResult(
                    passed=True,
                    severity=severity,
                    metadata={
                        "table": suite.table,
                        "unchanged_since_run": since,
                        "inputs": inputs,
                        "expectations": len(suite.definition["expectations"]),
                        "failed_rows": 0,
                    },
                )
        night = None if suite.asset_key.path[0] in RAW_SCHEMAS else run_night(context.run)
        parameters = suite_parameters(night, night=True) if night else None
        passed, metadata = validate(suite, warehouse.engine, parameters=parameters)
        if night:
            metadata["not_after"] = night.isoformat()
        if inputs:
            metadata["inputs"] = inputs
        return dg.AssetCheckResult(passed=passed, severity=severity, metadata=metadata)

    return _check


def run_night(run: Any) -> datetime | None:
    """The night a run's marts describe (dbt_build's `as_of`, else a scheduled run's
    tick), in UTC; None for a run that describes the moment it runs."""
    config = run.run_config.get("ops", {}).get("dbt_build", {}).get("config", {})
    as_of = night_of(NightConfig(**config), run.tags)
    return datetime.fromisoformat(as_of).replace(tzinfo=UTC) if as_of else None


def suite_inputs(suite: Suite, warehouse: Engine | Path) -> str:
    """Fingerprint of what a raw suite's verdict depends on: the content of the tables its
    query reads, the suite and the lead contract it reads its value sets from. The
    clock-based bounds only widen as time passes, so a pass stands while this holds."""
    with as_engine(warehouse).reader() as reader:
        tables = tables_digest(reader, tables_read_by(suite.query))
    return ledger_inputs(suite) + tables


def passed_before_on(
    instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, inputs: str
) -> str | None:
    """The run of a recent evaluation of this check that passed on exactly `inputs`."""
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=5, status={AssetCheckExecutionRecordStatus.SUCCEEDED}
    )
    for record in records:
        if record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        recorded = (evaluation.metadata or {}).get("inputs")
        if evaluation.passed and recorded is not None and recorded.value == inputs:
            return record.run_id
    return None


def volume_drop_max() -> float:
    """The share of rows a raw table may lose between successful runs before it fails."""
    return float(os.environ.get(VOLUME_DROP_ENV, DEFAULT_VOLUME_DROP_MAX))


def row_count(warehouse: Engine | Path, table: str) -> int:
    """Rows of `schema.table`, 0 when the table does not exist (yet)."""
    schema, _, name = table.partition(".")
    with as_engine(warehouse).reader() as reader:
        if not reader.table_exists(schema, name):
            return 0
        return int(reader.rows(f'select count(*) from {schema}."{name}"')[0][0])


def previous_successful_count(
    instance: dg.DagsterInstance, check_key: dg.AssetCheckKey
) -> int | None:
    """`row_count` of this check's latest passed evaluation in a run that succeeded."""
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )

    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=20, status={AssetCheckExecutionRecordStatus.SUCCEEDED}
    )
    for record in records:
        run = instance.get_run_by_id(record.run_id)
        if run is None or run.status != dg.DagsterRunStatus.SUCCESS or record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        value = (evaluation.metadata or {}).get("row_count")
        if value is not None:
            return int(value.value)
    return None


def volume_outcome(current: int, previous: int | None, max_drop: float) -> tuple[bool, float]:
    """(passed, drop share): a drop of `max_drop` or more of the previous rows fails."""
    if not previous:
        return True, 0.0
    drop = max(0.0, (previous - current) / previous)
    return drop < max_drop, drop


def _volume_check(asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    table = ".".join(asset_key.path)

    @dg.asset_check(
        asset=asset_key,
        name=f"volume_{'__'.join(asset_key.path)}",
        description=f"`{table}` keeps its volume: a drop of {VOLUME_DROP_ENV} "
        f"(default {DEFAULT_VOLUME_DROP_MAX:.0%}) or more of the rows counted in the "
        "previous successful run fails.",
        blocking=True,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        current = row_count(warehouse.engine, table)
        key = dg.AssetCheckKey(asset_key, f"volume_{'__'.join(asset_key.path)}")
        previous = previous_successful_count(context.instance, key)
        max_drop = volume_drop_max()
        passed, drop = volume_outcome(current, previous, max_drop)
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "table": table,
                "row_count": current,
                "previous_row_count": previous if previous is not None else -1,
                "drop_share": round(drop, 4),
                "drop_max": max_drop,
                "failed_rows": (previous or 0) - current if not passed else 0,
            },
        )

    return _check


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


@dg.asset_check(
    asset=QUARANTINE_KEY,
    name="quarantine_summary",
    description="Counts the source rows set aside in schema `quarantine` (rules the lead "
    "contract tolerates), by table and rule. Never fails: quarantined rows are expected, "
    "silently dropped ones are not.",
    blocking=False,
)
def quarantine_summary(warehouse: Warehouse) -> dg.AssetCheckResult:
    """Quarantine counts as check metadata, for the run summary."""
    counts = quarantine_counts(warehouse.engine)
    return dg.AssetCheckResult(
        passed=True,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarantined_rows": sum(c["rows"] for c in counts),
            "quarantine": dg.MetadataValue.json(counts),
        },
    )


def _raw_asset_keys() -> list[dg.AssetKey]:
    from orchestration.defs.ingest import INGEST_ASSETS

    return sorted(
        (k for assets in INGEST_ASSETS for k in assets.keys if k.path[0] in RAW_SCHEMAS),
        key=lambda k: k.to_user_string(),
    )


QUALITY_CHECKS = [
    *(_suite_check(suite) for suite in load_suites()),
    *(_volume_check(key) for key in _raw_asset_keys()),
    quarantine_summary,
]
