"""Run the real nightly Dagster job (or its warehouse part) and time its stages.

Stage times come from the run's own event log (STEP_START to STEP_SUCCESS/FAILURE) and,
inside each ingestion step, from dlt's trace of the feed's `pipeline.run`: `ingest_<feed>`
gives extract, normalize and load, `dbt_build` the dbt build, `activation__*` the CRM
write-back's plan and apply, every other step (the asset checks) the checks,
`published__marts` the publication. Dagster's overhead is the run's wall time less dlt's
runs and those steps (benchmarks/README.md, "How the figures are taken").
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import dagster as dg

from benchmarks.memory import RssSampler
from orchestration.event_log import event_log_storage
from orchestration.summary import API_USAGE

FEED_NAMES = ("hubspot", "salesforce", "files")
# The stages made of whole Dagster steps: the report's name → step_kind's.
STEP_STAGES = {"dbt build": "dbt", "checks": "checks", "activation": "activation"}
STEP_STAGES["publish"] = "publish"
WAREHOUSE_JOB = "bench_warehouse"
# Settings of the caller's shell that would change what a benchmark's night does.
CLEARED_PREFIXES = ("SOURCES__", "DESTINATION__", "LEADBRIDGE_")


@dataclass
class StepTime:
    """One Dagster step: epoch start and end, success."""

    key: str
    start: float
    end: float
    success: bool

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass
class NightlyRun:
    """What one run of the job took, step by step."""

    job: str
    success: bool
    start: float
    end: float
    steps: list[StepTime]
    dlt: dict[str, dict[str, Any]] = field(default_factory=dict)  # feed → trace facts
    failed_steps: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks_evaluated: int = 0
    checks_failed: list[str] = field(default_factory=list)  # failed asset checks' names
    published_rows: int | None = None
    dbt: dict[str, Any] | None = None
    api_usage: dict[str, dict[str, Any]] = field(default_factory=dict)  # the product's count
    api: dict[str, dict[str, int]] = field(default_factory=dict)  # the simulator's count

    @property
    def wall(self) -> float:
        return self.end - self.start

    def seconds(self, kind: str) -> float:
        return sum(s.seconds for s in self.steps if step_kind(s.key) == kind)

    def window(self, kind: str) -> tuple[float, float] | None:
        chosen = [s for s in self.steps if step_kind(s.key) == kind]
        if not chosen:
            return None
        return min(s.start for s in chosen), max(s.end for s in chosen)

    @property
    def dlt_seconds(self) -> float:
        return sum(t["run_s"] for t in self.dlt.values())

    @property
    def dagster_overhead(self) -> float:
        """Wall time outside dlt's runs and the steps of the stages."""
        work = self.dlt_seconds + sum(self.seconds(k) for k in STEP_STAGES.values())
        return self.wall - work

    @property
    def step_overhead(self) -> float:
        return self.wall - sum(s.seconds for s in self.steps)


def step_kind(key: str) -> str:
    """The stage a step key belongs to."""
    if key.startswith("ingest_"):
        return "ingest"
    if key == "dbt_build":
        return "dbt"
    if key.startswith("published"):
        return "publish"
    if key.startswith("activation"):
        return "activation"
    return "checks"


def warehouse_only_defs() -> dg.Definitions:
    """The nightly definitions plus a job without ingestion (raw tables made directly).

    Everything but the dlt assets, and the asset checks of the raw tables, so the same
    Great Expectations and volume checks run as in the nightly job.
    """
    from orchestration.definitions import defs
    from orchestration.defs.ingest import INGEST_ASSETS

    raw_keys = [key for assets in INGEST_ASSETS for key in assets.keys]
    raw = dg.AssetSelection.assets(*raw_keys)
    job = dg.define_asset_job(
        WAREHOUSE_JOB,
        selection=(dg.AssetSelection.all() - raw) | dg.AssetSelection.checks_for_assets(*raw_keys),
        executor_def=dg.in_process_executor,
    )
    return dg.Definitions(
        assets=defs.assets,
        asset_checks=defs.asset_checks,
        jobs=[job],
        resources=defs.resources,
    )


def bench_instance(home: Path) -> dg.DagsterInstance:
    """A Dagster instance in `home` with the event log of orchestration/dagster.yaml, as
    `make run` and the daemon use it; `dispose()` it after the nights."""
    home.mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.local_temp(
        tempdir=str(home),
        overrides={"telemetry": {"enabled": False}, "event_log_storage": event_log_storage(home)},
    )


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` as the process environment for one night (the product reads its settings
    from the environment when a run starts); the caller's own restored after."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(CLEARED_PREFIXES):
            del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_job(
    defs: dg.Definitions,
    job: str,
    instance: dg.DagsterInstance,
    as_of: str,
    pipelines_dir: Path,
) -> NightlyRun:
    """Execute `job` in process and collect its step times and dlt traces."""
    run_config: dict[str, Any] = {
        "ops": {"dbt_build": {"config": {"as_of": as_of}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    started = time.time()
    result = defs.resolve_job_def(job).execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False
    )
    ended = time.time()
    run = NightlyRun(job, result.success, started, ended, _step_times(instance, result.run_id))
    for event in result.all_events:
        if event.is_step_failure:
            run.failed_steps.append(event.step_key or "?")
            error = getattr(event.event_specific_data, "error", None)
            if error is not None:
                run.errors.append(f"{event.step_key}: {error.message.strip()[:400]}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            run.checks_evaluated += 1
            if not evaluation.passed:
                run.checks_failed.append(evaluation.check_name)
        elif event.is_step_materialization:
            mat = event.step_materialization_data.materialization
            usage = getattr(mat.metadata.get(API_USAGE), "value", None)
            if usage is not None:
                run.api_usage[mat.asset_key.path[0]] = (
                    json.loads(usage) if isinstance(usage, str) else usage
                )
            if mat.asset_key.path == ["published", "marts"]:
                value = mat.metadata.get("dagster/row_count")
                run.published_rows = int(value.value) if value is not None else None
    run.dbt = dbt_breakdown(result.run_id)
    for feed in FEED_NAMES:
        if any(s.key == f"ingest_{feed}" for s in run.steps):
            run.dlt[feed] = dlt_trace(feed, pipelines_dir)
    return run


def _step_times(instance: dg.DagsterInstance, run_id: str) -> list[StepTime]:
    starts: dict[str, float] = {}
    steps: list[StepTime] = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not event.step_key:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            start = starts.get(event.step_key, entry.timestamp)
            success = event.event_type_value == "STEP_SUCCESS"
            steps.append(StepTime(event.step_key, start, entry.timestamp, success))
    return steps


def dlt_trace(feed: str, pipelines_dir: Path) -> dict[str, Any]:
    """Step times and row counts of the feed's last `pipeline.run` (dlt's saved trace)."""
    import dlt

    pipeline = dlt.attach(pipeline_name=f"leadbridge_{feed}", pipelines_dir=str(pipelines_dir))
    return trace_facts(pipeline.last_trace)


def trace_facts(trace: Any) -> dict[str, Any]:
    """Epoch start/end of extract, normalize, load and the whole run; rows normalized."""
    facts: dict[str, Any] = {"rows": 0, "tables": {}}
    if trace is None:
        return facts | {"run_s": 0.0}

    def epoch(moment: datetime) -> float:
        return moment.timestamp()

    for step in trace.steps:
        if step.finished_at is None:
            continue
        name = "run" if step.step == "run" else step.step
        facts[name] = (epoch(step.started_at), epoch(step.finished_at))
    info = trace.last_normalize_info
    counts = {
        t: n for t, n in (info.row_counts if info else {}).items() if not t.startswith("_dlt")
    }
    facts["tables"] = dict(sorted(counts.items()))
    facts["rows"] = sum(counts.values())
    run_span = facts.get("run") or (epoch(trace.started_at), epoch(trace.finished_at))
    facts["run_s"] = run_span[1] - run_span[0]
    return facts


def set_environment(warehouse: Path, drop_dir: Path, sim: Any | None) -> None:
    """Point the product at this scale's warehouse and (real-account mode) simulator.

    The simulator is started by the benchmark, not by the `sources` resource, so that
    it can be advanced between runs; the connectors get its URLs as if they were real
    accounts (the same code path as the demo, see simulator.demo).
    """
    os.environ["LEADBRIDGE_WAREHOUSE"] = str(warehouse)
    os.environ["SOURCES__FILES__DROP_DIR"] = str(drop_dir)
    os.environ.setdefault("LEADBRIDGE_DLT_PROGRESS", "off")
    if sim is not None:
        os.environ["SOURCES__HUBSPOT__ACCESS_TOKEN"] = sim.token
        os.environ["SOURCES__HUBSPOT__BASE_URL"] = sim.hubspot_base_url
        os.environ["SOURCES__SALESFORCE__ACCESS_TOKEN"] = sim.token
        os.environ["SOURCES__SALESFORCE__INSTANCE_URL"] = sim.salesforce_instance_url


def run_summary(run: NightlyRun) -> dict[str, Any]:
    """One run's figures for a benchmark's JSON."""
    return {
        "success": run.success,
        "wall_s": run.wall,
        "dagster_overhead_s": run.dagster_overhead,
        "step_overhead_s": run.step_overhead,
        "dbt_s": run.seconds("dbt"),
        "checks_s": run.seconds("checks"),
        "activation_s": run.seconds("activation"),
        "publish_s": run.seconds("publish"),
        "dlt": {
            f: {k: v for k, v in t.items() if k != "tables"} | {"tables": t["tables"]}
            for f, t in run.dlt.items()
        },
        "dbt": run.dbt,
        "api": run.api,
        "api_usage": run.api_usage,
        "failed_steps": run.failed_steps,
        "errors": run.errors,
        "checks_evaluated": run.checks_evaluated,
        "checks_failed": run.checks_failed,
        "slowest_steps": sorted(
            ({"step": s.key, "s": round(s.seconds, 2)} for s in run.steps),
            key=lambda s: -s["s"],
        )[:8],
    }


def stage_rows(run: NightlyRun, sampler: RssSampler) -> list[dict[str, Any]]:
    """Stage records (seconds, rows, peak MiB) of one run, ready for the report."""
    out: list[dict[str, Any]] = []
    raw_rows = sum(t["rows"] for t in run.dlt.values())
    for stage in ("extract", "normalize", "load"):
        spans = [t[stage] for t in run.dlt.values() if stage in t]
        if not spans:
            continue
        seconds = sum(b - a for a, b in spans)
        peak = max(sampler.peak_mib(a, b) for a, b in spans)
        out.append({"stage": stage, "seconds": seconds, "rows": raw_rows, "peak_mib": peak})
    for stage, kind in STEP_STAGES.items():
        window = run.window(kind)
        if window is None:
            continue
        rows = run.published_rows if kind == "publish" else None
        out.append(
            {
                "stage": stage,
                "seconds": run.seconds(kind),
                "rows": rows,
                "peak_mib": sampler.peak_mib(*window),
                "peak_split_mib": sampler.peak_split_mib(*window),  # [nightly process, dbt]
            }
        )
    out.append(
        {
            "stage": "dagster overhead",
            "seconds": run.dagster_overhead,
            "rows": None,
            "peak_mib": None,
        }
    )
    out.append(
        {
            "stage": "nightly run (total)",
            "seconds": run.wall,
            "rows": raw_rows or None,
            "peak_mib": sampler.peak_mib(run.start, run.end),
            "peak_split_mib": sampler.peak_split_mib(run.start, run.end),
        }
    )
    return out


def dbt_breakdown(run_id: str) -> dict[str, Any] | None:
    """dbt's own timing of one build (run_results.json of the run's target folder).

    Sums of node execution times (dbt runs 2 threads, so sums exceed wall time):
    per resource type, and for the models and seeds the five core marts depend on
    (what the baseline computes), which is the fairer comparison with the baseline.
    """

    from benchmarks.baseline import CORE_MARTS
    from leadbridge.paths import DBT_PROJECT_DIR

    folders = sorted((DBT_PROJECT_DIR / "target").glob(f"dbt_build-{run_id[:7]}-*"))
    if not folders:
        return None
    folder = folders[-1]
    results = json.loads((folder / "run_results.json").read_text())
    nodes = json.loads((folder / "manifest.json").read_text())["nodes"]
    lineage = {
        u for u, n in nodes.items() if n["resource_type"] == "model" and n["name"] in CORE_MARTS
    }
    pending = list(lineage)
    while pending:
        for parent in nodes[pending.pop()]["depends_on"].get("nodes", []):
            if (
                parent in nodes
                and parent not in lineage
                and nodes[parent]["resource_type"] in ("model", "seed")
            ):
                lineage.add(parent)
                pending.append(parent)
    by_type: dict[str, float] = {}
    core = 0.0
    slowest = []
    for result in results["results"]:
        uid = result["unique_id"]
        kind = uid.split(".")[0]
        by_type[kind] = by_type.get(kind, 0.0) + result["execution_time"]
        if uid in lineage:
            core += result["execution_time"]
        slowest.append((result["execution_time"], uid))
    slowest.sort(reverse=True)
    return {
        "dbt_elapsed_s": results.get("elapsed_time"),
        "node_seconds_by_type": {k: round(v, 2) for k, v in by_type.items()},
        "core_marts_lineage_node_seconds": round(core, 2),
        "core_marts_lineage_nodes": len(lineage),
        "slowest_nodes": [{"node": u, "s": round(t, 2)} for t, u in slowest[:10]],
    }
