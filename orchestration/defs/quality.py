"""Great Expectations 1.x suites from `expectations/` as Dagster asset checks.

Each `expectations/<schema>__<table>.json` is one suite for one table; its `meta`
names the Dagster asset it guards and whether a failure blocks what is downstream.
Blocking checks on the raw tables run right after ingestion, so a failing one skips the
dbt build and bad data never reaches the marts.

GX's SQL datasource does not work on DuckDB here, so the table is read read-only into
pandas and validated with the pandas datasource. GX is imported inside the check: its
import takes several seconds that loading the definitions should not pay.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.defs.resources import Warehouse
from orchestration.paths import EXPECTATIONS_DIR

SAMPLE_SIZE = 10


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
        return cls(
            path=path,
            name=path.stem,
            table=f"{schema}.{table}",
            asset_key=dg.AssetKey(meta.get("asset_key") or [schema, table]),
            blocking=bool(meta.get("blocking", True)),
            description=meta.get("description", f"Great Expectations suite {path.stem}"),
            definition=definition,
        )


def load_suites(folder: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every suite of the expectations folder, in file-name order."""
    return [Suite.load(p) for p in sorted(folder.glob("*.json"))]


def validate(suite: Suite, warehouse_file: Path) -> tuple[bool, dict[str, Any]]:
    """Run a suite on its table; (passed, metadata with failed counts and samples)."""
    import duckdb
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        frame = con.sql(f"select * from {suite.table}").df()

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    gx_suite = context.suites.add(gx.ExpectationSuite(**suite.definition))
    expected = len(suite.definition["expectations"])
    if len(gx_suite.expectations) != expected:
        # GX drops an unknown expectation type with only a log line.
        raise ValueError(
            f"{suite.path.name}: GX understood {len(gx_suite.expectations)} of "
            f"{expected} expectations; check their `type`"
        )
    asset = context.data_sources.add_pandas("warehouse").add_dataframe_asset(name=suite.name)
    batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    result = batch.validate(gx_suite, result_format="SUMMARY")

    failures = []
    for outcome in result.results:
        if outcome.success:
            continue
        config = outcome.expectation_config
        failures.append(
            {
                "expectation": config.type,
                "column": config.kwargs.get("column"),
                "failed_rows": outcome.result.get("unexpected_count"),
                "sample": [str(v) for v in (outcome.result.get("partial_unexpected_list") or [])][
                    :SAMPLE_SIZE
                ],
                "observed": str(outcome.result.get("observed_value", ""))[:200] or None,
            }
        )
    metadata = {
        "table": suite.table,
        "rows_checked": len(frame),
        "expectations": expected,
        "failed_expectations": len(failures),
        "failed_rows": sum(f["failed_rows"] or 0 for f in failures),
        "failures": dg.MetadataValue.json(failures),
    }
    return bool(result.success), metadata


def _suite_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=suite.asset_key,
        name=f"gx_{suite.name}",
        description=suite.description,
        blocking=suite.blocking,
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        passed, metadata = validate(suite, warehouse.file)
        return dg.AssetCheckResult(
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
        )

    return _check


QUALITY_CHECKS = [_suite_check(suite) for suite in load_suites()]
