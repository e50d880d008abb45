"""The human summary that closes a nightly run: what loaded, what built, what failed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXAMPLE_QUERY = (
    "select current_stage, count(*) as people from marts.dim_person group by 1 order by 2 desc"
)


@dataclass
class RunSummary:
    """Counts gathered from one run's events."""

    success: bool
    duration_seconds: float
    warehouse: Path
    rows_loaded: dict[str, int] = field(default_factory=dict)
    models_built: list[str] = field(default_factory=list)
    checks_passed: list[str] = field(default_factory=list)
    checks_failed: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failed_steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def render(self) -> str:
        """Plain text for a terminal or a log."""
        lines = [
            f"Leadbridge nightly run {'SUCCEEDED' if self.success else 'FAILED'} "
            f"in {self.duration_seconds:.1f} s",
            "",
            f"Rows loaded ({sum(self.rows_loaded.values())} in {len(self.rows_loaded)} tables):",
        ]
        by_feed: dict[str, list[str]] = defaultdict(list)
        for table, rows in sorted(self.rows_loaded.items()):
            feed, _, name = table.partition(".")
            by_feed[feed].append(f"{name} {rows}")
        lines += [f"  {feed}: {', '.join(items)}" for feed, items in by_feed.items()]
        lines += [
            f"dbt models built: {len(self.models_built)}",
            f"checks: {len(self.checks_passed)} passed, {len(self.checks_failed)} failed",
        ]
        for name, metadata in self.checks_failed:
            detail = metadata.get("failed_rows")
            lines.append(f"  FAILED {name}" + (f" ({detail} rows)" if detail is not None else ""))
        if self.failed_steps:
            lines.append(f"failed steps: {', '.join(self.failed_steps)}")
            lines += [f"  {error}" for error in self.errors]
        lines += [
            "",
            f"Warehouse: {self.warehouse} (marts in schema `marts`)",
            "Try:",
            f'  duckdb -readonly {self.warehouse} "{EXAMPLE_QUERY}"',
        ]
        return "\n".join(lines)


def summarize(result: Any, warehouse: Path, duration_seconds: float) -> RunSummary:
    """Build the summary from an `ExecuteInProcessResult` (or any run's event list)."""
    summary = RunSummary(result.success, duration_seconds, warehouse)
    for event in result.all_events:
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            key = materialization.asset_key.path
            metadata = materialization.metadata
            if "rows_loaded" in metadata or (len(key) == 2 and "dataset_name" in metadata):
                rows = metadata.get("rows_loaded")
                summary.rows_loaded[".".join(key)] = int(rows.value) if rows else 0
            else:
                summary.models_built.append("/".join(key))
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if evaluation.passed:
                summary.checks_passed.append(name)
            else:
                meta = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
                summary.checks_failed.append((name, meta))
        elif event.is_step_failure:
            summary.failed_steps.append(event.step_key or "?")
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                summary.errors.append(f"{event.step_key}: {error.message.strip()[:500]}")
    return summary
