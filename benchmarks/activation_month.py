"""A simulated month with the CRM write-back on and off: SLA compliance and time to first touch.

Two identical worlds (same seed, the write-back's Salesforce fields created), each served
on 127.0.0.1, each with its own warehouse and Dagster instance; ON applies both systems,
OFF keeps the defaults (plan only). Both run the real `nightly` job on the same nights: one
at the anchor, then one per simulated day. The figures are read from each world's
published marts for the hand-offs of the month's days (benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_PEOPLE = 300
DEFAULT_DAYS = 30
DEFAULT_SEED = 42
RESULTS_DIR = Path(__file__).parent / "results"
# The first night writes every record's shared status: the guard's limit is raised for
# it, as docs/activation.md asks of a first apply.
FIRST_NIGHT_MAX_CHANGES = "100000"
APPLY = {
    "LEADBRIDGE_ACTIVATE_SALESFORCE": "apply",
    "LEADBRIDGE_ACTIVATE_HUBSPOT": "apply",
    "LEADBRIDGE_ACTIVATE_MAX_CHANGES": FIRST_NIGHT_MAX_CHANGES,
}


def month_days(anchor: date, days: int) -> tuple[date, date]:
    """The first and last UTC day of the simulated month: the days after the anchor that
    the nights revealed (the anchor day itself is history the first night loaded)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    return anchor + timedelta(days=1), anchor + timedelta(days=days)


def compliance(met: int, breached: int) -> float | None:
    """SLA compliance as the KPI mart defines it: met / (met + breached); open excluded."""
    return met / (met + breached) if met + breached else None


def night_stamp(as_of: datetime) -> str:
    """The simulated clock as the `as_of` of dbt and `LEADBRIDGE_AS_OF` (UTC)."""
    return as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class World:
    """One side of the comparison: its simulator, folders, settings and nights."""

    name: str
    sim: Any
    work: Path
    settings: dict[str, str]
    instance: Any = None
    nights: list[dict[str, Any]] = field(default_factory=list)

    @property
    def warehouse(self) -> Path:
        return self.work / "leadbridge.duckdb"

    @property
    def published(self) -> Path:
        from leadbridge.paths import PUBLISHED_NAME

        return self.work / "published" / PUBLISHED_NAME


def make_world(name: str, config: Any, work: Path, apply: bool) -> World:
    """A world served on 127.0.0.1 with its own warehouse folder."""
    from benchmarks.world import _unique_slugs
    from simulator import SimulatedApis, build_world

    with _unique_slugs():
        built = build_world(config)
    sim = SimulatedApis(config, world=built)
    sim.serve()
    (work / "inbox").mkdir(parents=True, exist_ok=True)
    world = World(name, sim, work, {})
    world.settings = {
        "LEADBRIDGE_WAREHOUSE": str(world.warehouse),
        "LEADBRIDGE_PUBLISHED": str(world.published),
        "LEADBRIDGE_DLT_PROGRESS": "off",
        "SOURCES__HUBSPOT__BASE_URL": sim.hubspot_base_url,
        "SOURCES__HUBSPOT__ACCESS_TOKEN": sim.token,
        "SOURCES__SALESFORCE__INSTANCE_URL": sim.salesforce_instance_url,
        "SOURCES__SALESFORCE__ACCESS_TOKEN": sim.token,
        "SOURCES__FILES__DROP_DIR": str(work / "inbox"),
    }
    if apply:
        world.settings |= APPLY | {"LEADBRIDGE_ACTIVATE_QUEUE_OWNER": queue_owner(built)}
    return world


def queue_owner(world: Any) -> str:
    """A sales rep who stays active all month, for the tasks of queue-owned hand-offs."""
    gone = set(world.dirt.get("inactive_rep", []))
    return next(rep.sf_id for rep in world.reps if rep.sales and rep.sf_id not in gone)


def run_night(world: World, definitions: Any, as_of: str) -> dict[str, Any]:
    """One nightly run of `world` as of `as_of`: seconds, success, what apply wrote."""
    from benchmarks.nightly import environment

    run_config = {
        "ops": {"dbt_build": {"config": {"as_of": as_of}}},
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    started = time.time()
    with environment(world.settings | {"LEADBRIDGE_AS_OF": as_of}):
        result = definitions.resolve_job_def("nightly").execute_in_process(
            run_config=run_config, instance=world.instance, raise_on_error=False
        )
    night: dict[str, Any] = {
        "as_of": as_of,
        "seconds": round(time.time() - started, 1),
        "success": result.success,
        "failed_steps": sorted(e.step_key or "?" for e in result.all_events if e.is_step_failure),
    }
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        path = materialization.asset_key.path
        values = {k: v.value for k, v in materialization.metadata.items()}
        if path == ["activation", "plan"]:
            night["planned"] = values.get("writes")
            night["plan_refused"] = values.get("refused") or None
        elif path == ["activation", "apply"]:
            night["applied"] = values.get("applied")
            night["written"] = values.get("written")
            night["failed"] = values.get("failed")
            night["unsent"] = values.get("unsent")
            night["apply_refused"] = values.get("refused") or None
    world.nights.append(night)
    return night


def read(path: Path, query: str, params: list[Any] | None = None) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def sla_figures(published: Path, first: date, last: date) -> dict[str, Any]:
    """The month's hand-offs in `marts.fct_sla` and what `marts.mart_kpis_daily` shows
    for the same days (hand-offs are counted on their UTC day, as the KPI mart does)."""
    window = [first, last]
    (handoffs, met, breached, open_, touched, median_hours) = read(
        published,
        """
        select count(*),
            count(*) filter (where sla_status = 'met'),
            count(*) filter (where sla_status = 'breached'),
            count(*) filter (where sla_status = 'open'),
            count(business_hours_to_first_touch),
            median(business_hours_to_first_touch)
        from marts.fct_sla
        where cast(handoff_at as date) between ? and ?
        """,
        window,
    )[0]
    (kpi_handoffs, kpi_met, kpi_breached, kpi_open) = read(
        published,
        """
        select sum(sla_handoffs), sum(sla_met), sum(sla_breached), sum(sla_open)
        from marts.mart_kpis_daily where kpi_date between ? and ?
        """,
        window,
    )[0]
    return {
        "handoffs": handoffs,
        "met": met,
        "breached": breached,
        "open": open_,
        "touched": touched,
        "sla_compliance": compliance(met, breached),
        "median_business_hours_to_first_touch": (
            float(median_hours) if median_hours is not None else None
        ),
        "kpi_mart": {
            "sla_handoffs": int(kpi_handoffs or 0),
            "sla_met": int(kpi_met or 0),
            "sla_breached": int(kpi_breached or 0),
            "sla_open": int(kpi_open or 0),
            "sla_compliance": compliance(int(kpi_met or 0), int(kpi_breached or 0)),
        },
    }


def task_figures(world: World, first: date, last: date) -> dict[str, Any]:
    """Follow-up tasks: created and closed per the ledger, completed per the CRMs, and
    the month's hand-offs whose first touch was one of them."""
    from activation.plan import KEY_FIELDS, TASK_OBJECTS

    objects = list(TASK_OBJECTS.values())
    marks = ", ".join("?" for _ in objects)
    counts = dict(
        read(
            world.warehouse,
            f"""
            select case
                    when action = 'create' then 'created'
                    when reason is null then 'closed_by_leadbridge'
                    else 'closed_in_crm'
                end, count(distinct activation_key)
            from activation.ledger
            where status = 'ok' and object in ({marks}) and action in ('create', 'close')
            group by 1
            """,
            objects,
        )
        if _has_ledger(world.warehouse)
        else []
    )
    sim = world.sim
    completed: set[str] = set()
    for system, rows, status in (
        ("salesforce", sim.view.salesforce_rows("Task", include_deleted=False), "Status"),
        ("hubspot", sim.view.hubspot_rows("tasks"), "hs_task_status"),
    ):
        for row in rows:
            key = row.get(KEY_FIELDS[system])
            if key and str(row.get(status) or "").lower() == "completed":
                completed.add(key)
    crm_ids = (
        {r[0] for r in read(world.warehouse, "select crm_id from activation.ledger_state")}
        if _has_ledger(world.warehouse)
        else set()
    )
    first_touches = [
        r[0]
        for r in read(
            world.published,
            "select first_touch_record_id from marts.fct_sla "
            "where cast(handoff_at as date) between ? and ? and first_touch_record_id is not null",
            [first, last],
        )
    ]
    return {
        "tasks_created": counts.get("created", 0),
        "tasks_completed_by_reps": len(completed),
        "tasks_closed_by_leadbridge": counts.get("closed_by_leadbridge", 0),
        "tasks_closed_in_crm_recorded": counts.get("closed_in_crm", 0),
        "handoffs_first_touched_by_a_task": sum(1 for r in first_touches if r in crm_ids),
    }


def _has_ledger(warehouse: Path) -> bool:
    return bool(
        read(
            warehouse,
            "select 1 from information_schema.tables "
            "where table_schema = 'activation' and table_name = 'ledger'",
        )
    )


ROWS = (
    ("hand-offs in the month", "handoffs"),
    ("met", "met"),
    ("breached", "breached"),
    ("open at the end", "open"),
    ("SLA compliance (fct_sla)", "sla_compliance"),
    ("SLA compliance (mart_kpis_daily)", "kpi_sla_compliance"),
    ("hand-offs (mart_kpis_daily)", "kpi_handoffs"),
    ("touched", "touched"),
    ("median business h to first touch", "median_business_hours_to_first_touch"),
    ("follow-up tasks created", "tasks_created"),
    ("completed by reps", "tasks_completed_by_reps"),
    ("closed by Leadbridge (Deferred)", "tasks_closed_by_leadbridge"),
    ("first touch was a follow-up task", "handoffs_first_touched_by_a_task"),
    ("CRM writes applied (all nights)", "writes_applied"),
    ("nightly run s (median)", "median_night_s"),
)


def flat(side: dict[str, Any]) -> dict[str, Any]:
    """One side's figures as the table's rows read them."""
    return {
        **side["sla"],
        **side["tasks"],
        "kpi_sla_compliance": side["sla"]["kpi_mart"]["sla_compliance"],
        "kpi_handoffs": side["sla"]["kpi_mart"]["sla_handoffs"],
        "writes_applied": side["writes_applied"],
        "median_night_s": side["median_night_s"],
    }


def table(on: dict[str, Any], off: dict[str, Any]) -> str:
    """ON vs OFF as a Markdown table (RESULTS.md takes it as printed)."""

    def cell(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:.1%}" if value <= 1 and not value.is_integer() else f"{value:.1f}"
        return str(value)

    left, right = flat(on), flat(off)
    lines = ["| | automation ON | automation OFF |", "|---|---:|---:|"]
    for label, key in ROWS:
        lines.append(f"| {label} | {cell(left.get(key))} | {cell(right.get(key))} |")
    return "\n".join(lines)


def side_result(world: World, first: date, last: date) -> dict[str, Any]:
    seconds = sorted(n["seconds"] for n in world.nights)
    return {
        "settings": {
            k: v for k, v in world.settings.items() if k.startswith("LEADBRIDGE_ACTIVATE")
        },
        "sla": sla_figures(world.published, first, last),
        "tasks": task_figures(world, first, last),
        "writes_applied": sum(int(n.get("written") or 0) for n in world.nights),
        "median_night_s": seconds[len(seconds) // 2] if seconds else None,
        "nights": world.nights,
    }


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_world(name: str, config: Any, work: Path, days: int) -> dict[str, Any]:
    """One world's month in this process: its nights, then its figures (a child process
    per world, so the two worlds share the machine's cores and never an environment)."""
    import dagster as dg

    from benchmarks.nightly import environment

    world = make_world(name, config, work, apply=name == "on")
    first, last = month_days(config.anchor, days)
    with environment(world.settings):
        from orchestration.definitions import defs

        world.instance = dg.DagsterInstance.ephemeral()
        try:
            for n in range(days + 1):
                if n:
                    world.sim.advance_days(1)
                night = run_night(world, defs, night_stamp(world.sim.as_of))
                state = "ok" if night["success"] else f"FAILED {night['failed_steps']}"
                refused = night.get("plan_refused") or night.get("apply_refused")
                print(
                    f"[{name}] night {n}/{days} as of {night['as_of']}: {night['seconds']:.0f} s "
                    f"{state}, {night.get('written') or 0} writes applied"
                    + (f" (refused: {refused})" if refused else ""),
                    flush=True,
                )
            return side_result(world, first, last)
        finally:
            world.sim.stop()
            world.instance.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.activation_month")
    parser.add_argument("--people", type=int, default=DEFAULT_PEOPLE)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--work-dir", type=Path, default=Path("data/bench/activation_month"))
    args = parser.parse_args(argv)

    import multiprocessing
    import shutil
    from concurrent.futures import ProcessPoolExecutor

    from benchmarks.world import ANCHOR, MONTHS
    from simulator import SimulatorConfig
    from simulator.schema import LEADBRIDGE_FIELDS

    config = SimulatorConfig(
        seed=args.seed,
        people=args.people,
        months=MONTHS,
        anchor=ANCHOR,
        horizon_days=max(args.days, SimulatorConfig.horizon_days),
        salesforce_custom_fields=LEADBRIDGE_FIELDS,
    )
    first, last = month_days(config.anchor, args.days)
    print(
        f"{args.people} people, seed {args.seed}: a night at the anchor {config.anchor}, then "
        f"{args.days} days ({first} to {last}); worlds ON and OFF side by side",
        flush=True,
    )
    started = time.time()
    shutil.rmtree(args.work_dir, ignore_errors=True)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {
            name: pool.submit(run_world, name, config, args.work_dir.resolve() / name, args.days)
            for name in ("on", "off")
        }
        on, off = futures["on"].result(), futures["off"].result()
    print()
    print(table(on, off))
    result = {
        "benchmark": "activation_month",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "command": "python -m benchmarks.activation_month "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "world": {
            "people": args.people,
            "seed": args.seed,
            "months": MONTHS,
            "anchor": str(config.anchor),
            "rep_follow_up_probability": config.rep_follow_up_probability,
            "rep_follow_up_hours": list(config.rep_follow_up_hours),
        },
        "month": {"first_day": str(first), "last_day": str(last), "nights": args.days + 1},
        "wall_s": round(time.time() - started, 1),
        "on": on,
        "off": off,
    }
    out = args.out or RESULTS_DIR / f"activation_month-{datetime.now(UTC):%Y-%m-%d}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"\nwritten: {out} ({result['wall_s']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
