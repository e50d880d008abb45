"""Great Expectations suites, raw volumes and the quarantine as Dagster asset checks.

One check `gx_<suite>` per suite of `expectations/` (leadbridge.quality) on the asset its
`meta` names; blocking ones on the raw tables run right after ingestion, so a failure
skips the dbt build. A raw suite is not run again while what it depends on is unchanged
since a run in which it passed; a mart suite's time bounds are the night the marts
describe. `volume_<schema>__<table>` compares a raw table's rows with the previous
successful run's count (one step per feed); `quarantine_summary` never fails and counts
the quarantined rows (docs/decisions/006-quality-checks.md).
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

# Dagster 1.13 has no public API for a check's earlier evaluations (the instance gives the
# latest one only): the event log storage's history is read in `_passed_evaluations` only.
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from leadbridge.inputs import RAW_SCHEMAS
from leadbridge.quality.gx_runner import validate
from leadbridge.quality.ledger import suite_inputs
from leadbridge.quality.suites import Suite, load_suites, suite_parameters
from leadbridge.quality.volume import (
    quarantine_counts,
    row_counts,
    volume_drop_max,
    volume_outcome,
)
from leadbridge.settings import VOLUME_DROP_MAX
from orchestration.defs.ingest import INGEST_ASSETS
from orchestration.defs.resources import Warehouse
from orchestration.defs.transform import NightConfig, night_of
from orchestration.summary import QUARANTINE_CHECK

QUARANTINE_KEY = dg.AssetKey(["quarantine", "quarantined_rows"])


def _suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    asset_key = dg.AssetKey(list(suite.asset_path))

    @dg.asset_check(
        asset=asset_key,
        name=f"gx_{suite.name}",
        description=suite.description,
        blocking=suite.blocking,
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        severity = dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN
        inputs = None
        if suite.asset_path[0] in RAW_SCHEMAS:
            inputs = suite_inputs(suite, warehouse.engine)
            key = dg.AssetCheckKey(asset_key, f"gx_{suite.name}")
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
        night = None if suite.asset_path[0] in RAW_SCHEMAS else run_night(context.run)
        parameters = suite_parameters(night, night=True) if night else suite_parameters()
        passed, metadata = validate(suite, warehouse.engine, parameters=parameters)
        metadata["failures"] = dg.MetadataValue.json(metadata["failures"])
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


def _passed_evaluations(
    instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, limit: int
) -> Iterator[tuple[str, Any]]:
    """(run id, evaluation) of the latest evaluations of a check that passed, newest first."""
    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=limit, status={AssetCheckExecutionRecordStatus.SUCCEEDED}
    )
    for record in records:
        if record.event is not None:
            yield record.run_id, record.event.dagster_event.event_specific_data


def passed_before_on(
    instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, inputs: str
) -> str | None:
    """The run of a recent evaluation of this check that passed on exactly `inputs`."""
    for run_id, evaluation in _passed_evaluations(instance, check_key, limit=5):
        recorded = (evaluation.metadata or {}).get("inputs")
        if evaluation.passed and recorded is not None and recorded.value == inputs:
            return run_id
    return None


def previous_successful_count(
    instance: dg.DagsterInstance, check_key: dg.AssetCheckKey
) -> int | None:
    """`row_count` of this check's latest passed evaluation in a run that succeeded."""
    for run_id, evaluation in _passed_evaluations(instance, check_key, limit=20):
        run = instance.get_run_by_id(run_id)
        if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
            continue
        value = (evaluation.metadata or {}).get("row_count")
        if value is not None:
            return int(value.value)
    return None


def volume_check_name(asset_key: dg.AssetKey) -> str:
    """`volume_<schema>__<table>`: the volume check of a raw table."""
    return f"volume_{'__'.join(asset_key.path)}"


def _volume_checks(feed: str, asset_keys: list[dg.AssetKey]) -> dg.AssetChecksDefinition:
    """The volume checks of one feed's raw tables, in one step that counts them all on
    one connection (opening the warehouse costs more than counting a table)."""
    specs = [
        dg.AssetCheckSpec(
            volume_check_name(key),
            asset=key,
            description=f"`{'.'.join(key.path)}` keeps its volume: a drop of "
            f"{VOLUME_DROP_MAX.name} (default {VOLUME_DROP_MAX.value(None):.0%}) or more of "
            "the rows counted in the previous successful run fails.",
            blocking=True,
        )
        for key in asset_keys
    ]

    @dg.multi_asset_check(specs=specs, name=f"volume_{feed}", can_subset=True)
    def _checks(
        context: dg.AssetCheckExecutionContext, warehouse: Warehouse
    ) -> Iterator[dg.AssetCheckResult]:
        selected = sorted(context.selected_asset_check_keys, key=lambda k: k.to_user_string())
        counts = row_counts(warehouse.engine, [".".join(k.asset_key.path) for k in selected])
        max_drop = volume_drop_max()
        for key in selected:
            table = ".".join(key.asset_key.path)
            current = counts[table]
            previous = previous_successful_count(context.instance, key)
            passed, drop = volume_outcome(current, previous, max_drop)
            yield dg.AssetCheckResult(
                asset_key=key.asset_key,
                check_name=key.name,
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

    return _checks


@dg.asset_check(
    asset=QUARANTINE_KEY,
    name=QUARANTINE_CHECK,
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


def _raw_asset_keys() -> dict[str, list[dg.AssetKey]]:
    """Each feed's raw tables (the feed's name is its schema)."""
    keys = sorted(
        (k for assets in INGEST_ASSETS for k in assets.keys if k.path[0] in RAW_SCHEMAS),
        key=lambda k: k.to_user_string(),
    )
    return {feed: [k for k in keys if k.path[0] == feed] for feed in RAW_SCHEMAS}


QUALITY_CHECKS = [
    *(_suite_check(suite) for suite in load_suites()),
    *(_volume_checks(feed, keys) for feed, keys in _raw_asset_keys().items() if keys),
    quarantine_summary,
]
