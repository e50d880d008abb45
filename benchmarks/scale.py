"""One scale of the benchmark: the full night, one changed day, a day without change.

Loaded scales (up to 100k people) serve the simulated world on 127.0.0.1 and run the
real `nightly` job against it as if it were real accounts; tiled scales (1M) tile the
10k world's raw tables (`tiling.py`) and run the job's warehouse part. The nights, their
`as_of` and the day's change: benchmarks/README.md, "What runs".
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from benchmarks import baseline, limits, tiling
from benchmarks.memory import RssSampler
from benchmarks.nightly import (
    WAREHOUSE_JOB,
    NightlyRun,
    bench_instance,
    run_job,
    run_summary,
    set_environment,
    stage_rows,
    trace_facts,
)
from benchmarks.world import build_bench_world

DEADLINE: list[float] = []  # epoch seconds; no night or baseline starts after it
PRE_ADVANCE_DAYS = 3  # Saturday anchor → end of Tuesday
WAREHOUSE = "leadbridge.duckdb"
PERSON_TABLES = ("hubspot.contacts", "salesforce.lead", "salesforce.contact")


def label(people: int) -> str:
    return f"{people // 1_000_000}m" if people % 1_000_000 == 0 else f"{people // 1000}k"


def night(sim_as_of: Any) -> str:
    return (sim_as_of + timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")


def raw_counts(warehouse: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema "
            "in ('hubspot', 'salesforce', 'files') and table_name not like '\\_dlt%' escape '\\'"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f'select count(*) from {s}."{t}"').fetchall()[0][0]
            for s, t in sorted(tables)
        }


def mart_facts(warehouse: Path) -> dict[str, Any]:
    """People, events and events per person from the marts (the issue's ~20)."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        people = con.execute("select count(*) from marts.dim_person").fetchall()[0][0]
        by_type = con.execute(
            "select event_type, count(*) from marts.fct_lead_events group by 1 order by 2 desc"
        ).fetchall()
    events = sum(n for _, n in by_type)
    return {
        "people": people,
        "events": events,
        "events_per_person": round(events / people, 2) if people else None,
        "events_by_type": dict(by_type),
    }


def set_deadline(text: str) -> None:
    """`--deadline HH:MM` (UTC, today): no night or baseline starts after it."""
    hour, minute = (int(x) for x in text.split(":"))
    now = datetime.now(UTC)
    DEADLINE.append(now.replace(hour=hour, minute=minute).timestamp())


def past_deadline() -> bool:
    return bool(DEADLINE) and time.time() > DEADLINE[0]


def _record(stages: list[dict[str, Any]], scale: str, run: str, rows: list[dict]) -> None:
    for row in rows:
        stages.append({"scale": scale, "run": run, **row})


def _run_three(
    scale: str,
    defs: dg.Definitions,
    job: str,
    work: Path,
    sampler: RssSampler,
    advance: Any,
    raw_total: Any,
    stages: list[dict[str, Any]],
    api_calls: Any = None,
) -> dict[str, NightlyRun]:
    """Full, incremental (after `advance()` returns the night) and no-change runs.

    `api_calls()`, where the sources are served, returns (and forgets) the calls the
    vendors counted since it was last called."""
    instance = bench_instance(work / "dagster_home")
    pipelines = work / ".dlt_pipelines"
    runs: dict[str, NightlyRun] = {}
    as_of = advance(None)
    for name in ("full", "incremental", "no_change"):
        if name != "full" and past_deadline():
            print(f"[{scale}] deadline passed: {name} run skipped", flush=True)
            continue
        if name == "incremental":
            as_of = advance(work)
        print(f"[{scale}] nightly run: {name} (as of {as_of})", flush=True)
        if api_calls is not None:
            api_calls()  # forget the calls of the night before
        run = run_job(defs, job, instance, as_of, pipelines)
        if api_calls is not None:
            run.api = api_calls()
        runs[name] = run
        rows = stage_rows(run, sampler)
        total = raw_total()
        for row in rows:
            if row["stage"] in ("dbt build", "checks", "nightly run (total)") and not row["rows"]:
                row["rows"] = total
        _record(stages, scale, name, rows)
        status = "ok" if run.success else f"FAILED {run.failed_steps}"
        print(f"[{scale}] {name}: {run.wall:.1f} s {status}", flush=True)
        if name == "full":
            shutil.copy(work / WAREHOUSE, work / "after_full.duckdb")
        if name == "incremental":
            shutil.copy(work / WAREHOUSE, work / "after_day.duckdb")
    instance.dispose()
    return runs


def run_baseline(
    scale: str, work: Path, as_of: str, stages: list[dict], sampler: RssSampler
) -> dict[str, Any]:
    """Baseline on a copy of the full run's warehouse; compared with its dbt marts."""
    copy = work / "baseline_copy.duckdb"
    shutil.copy(work / "after_full.duckdb", copy)
    print(f"[{scale}] baseline SQL", flush=True)
    started = time.time()
    seconds = baseline.run_baseline(copy, as_of)
    peak = sampler.peak_mib(started, time.time())
    comparison = baseline.compare(copy)
    rows = raw_counts(copy)
    stages.append(
        {
            "scale": scale,
            "run": "full",
            "stage": "baseline SQL (core marts)",
            "seconds": seconds,
            "rows": sum(rows.values()),
            "peak_mib": peak,
        }
    )
    copy.unlink()
    return {"seconds": seconds, "comparison": comparison}


def http_scale(people: int, seed: int, work: Path, sampler: RssSampler) -> dict[str, Any]:
    """A scale loaded through the real connectors from the simulator over HTTP."""
    from orchestration.definitions import defs
    from simulator import SimulatedApis
    from simulator.demo import write_trade_show_export

    scale = label(people)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stages: list[dict[str, Any]] = []
    started = time.time()
    world, deviation = build_bench_world(seed, people)
    world_s = time.time() - started
    stages.append(
        {
            "scale": scale,
            "run": "setup",
            "stage": "simulator world build",
            "seconds": world_s,
            "rows": people,
            "peak_mib": sampler.peak_mib(started),
        }
    )
    sim = SimulatedApis(world.config, world=world)
    sim.serve()
    try:
        drop = work / "inbox"
        write_trade_show_export(world, drop)
        set_environment(work / WAREHOUSE, drop, sim)

        def advance(after: Path | None) -> str:
            sim.advance_days(PRE_ADVANCE_DAYS if after is None else 1)
            value = night(sim.as_of)
            name = "as_of_full.txt" if after is None else "as_of_day.txt"
            (work / name).write_text(value)
            return value

        runs = _run_three(
            scale,
            defs,
            "nightly",
            work,
            sampler,
            advance,
            lambda: sum(raw_counts(work / WAREHOUSE).values()),
            stages,
            api_calls=lambda: _take_calls(sim),
        )
    finally:
        sim.stop()
    return _finish(scale, people, work, runs, stages, sampler, deviation)


def _take_calls(sim: Any) -> dict[str, dict[str, int]]:
    calls = limits.count_calls(list(sim.requests))
    sim.requests.clear()
    return calls


def _finish(
    scale: str,
    people: int,
    work: Path,
    runs: dict[str, NightlyRun],
    stages: list[dict],
    sampler: RssSampler,
    deviation: dict | None,
) -> dict[str, Any]:
    full = runs["full"]
    result: dict[str, Any] = {
        "scale": scale,
        "people": people,
        "runs": {name: run_summary(r) for name, r in runs.items()},
        "world_deviation": deviation,
        "raw_rows_after_full": raw_counts(work / "after_full.duckdb"),
    }
    before, after = work / "after_full.duckdb", work / "after_day.duckdb"
    delta = tiling.delta_counts(before, after) if after.exists() else {}
    base = result["raw_rows_after_full"]
    changed = sum(delta.get(t, 0) for t in PERSON_TABLES)
    result["day_change"] = {
        "rows_by_table": delta,
        "person_records_changed": changed,
        "person_records": sum(base.get(t, 0) for t in PERSON_TABLES),
        "share_of_person_records": round(
            changed / max(1, sum(base.get(t, 0) for t in PERSON_TABLES)), 4
        ),
        "definition": "rows of hubspot.contacts, salesforce.lead and salesforce.contact written "
        "by the day's loads / all such rows after the full run",
    }
    if full.success:
        result["marts"] = mart_facts(work / "after_full.duckdb")
    if full.success and past_deadline():
        result["baseline"] = {"skipped": "deadline passed"}
    elif full.success:
        as_of = (work / "as_of_full.txt").read_text().strip()
        try:
            result["baseline"] = run_baseline(scale, work, as_of, stages, sampler)
        except Exception as error:  # a broken baseline must not lose the scale's figures
            print(f"[{scale}] baseline FAILED: {error}", flush=True)
            result["baseline"] = {"error": f"{type(error).__name__}: {error}"[:2000]}
    result["stages"] = stages
    return result


def in_child(function: Any, *args: Any) -> Any:
    """`function(*args)` in a child process: the harness's own DuckDB work (gigabytes at
    1M) must not stay in the memory of the process that then runs the nights."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def tiled_scale(
    people: int, base_work: Path, base_people: int, work: Path, sampler: RssSampler
) -> dict[str, Any]:
    """A scale whose raw tables are the base scale's, tiled (no HTTP, no dlt)."""
    scale = label(people)
    copies = people // base_people
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    stages: list[dict[str, Any]] = []
    print(f"[{scale}] tiling {copies} copies of {base_work.name}", flush=True)
    started = time.time()
    tiled = in_child(
        tiling.tile_warehouse, base_work / "after_full.duckdb", work / WAREHOUSE, copies
    )
    stages.append(
        {
            "scale": scale,
            "run": "setup",
            "stage": "raw tables tiled (not HTTP)",
            "seconds": tiled["seconds"],
            "rows": sum(tiled["rows"].values()),
            "peak_mib": sampler.peak_mib(started, time.time()),
        }
    )
    set_environment(work / WAREHOUSE, work / "inbox", None)
    (work / "inbox").mkdir(exist_ok=True)
    nights = [
        (base_work / "as_of_full.txt").read_text().strip(),
        (base_work / "as_of_day.txt").read_text().strip(),
    ]
    merges: dict[str, Any] = {}

    def advance(after: Path | None) -> str:
        if after is None:
            (work / "as_of_full.txt").write_text(nights[0])
            return nights[0]
        t0 = time.time()
        merges.update(
            in_child(
                tiling.merge_tiled_delta,
                base_work / "after_full.duckdb",
                base_work / "after_day.duckdb",
                work / WAREHOUSE,
                copies,
            )
        )
        stages.append(
            {
                "scale": scale,
                "run": "incremental",
                "stage": "raw day change merged (tiled)",
                "seconds": merges["seconds"],
                "rows": sum(merges["rows"].values()),
                "peak_mib": sampler.peak_mib(t0, time.time()),
            }
        )
        (work / "as_of_day.txt").write_text(nights[1])
        return nights[1]

    from benchmarks.nightly import warehouse_only_defs

    runs = _run_three(
        scale,
        warehouse_only_defs(),
        WAREHOUSE_JOB,
        work,
        sampler,
        advance,
        lambda: sum(raw_counts(work / WAREHOUSE).values()),
        stages,
    )
    result = _finish(scale, people, work, runs, stages, sampler, None)
    result["tiling"] = {"base": base_work.name, "copies": copies, "merge": merges}
    return result


def file_drop(rows: int, work: Path, sampler: RssSampler) -> dict[str, Any]:
    """The file feed on one generated Parquet export of `rows` list members."""
    import duckdb

    from ingestion.pipelines import make_pipeline
    from ingestion.sources.files import files_source

    shutil.rmtree(work, ignore_errors=True)
    drop = work / "inbox"
    drop.mkdir(parents=True)
    path = drop / "webinar_attendees.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"""copy (
                select
                    'attendee' || i || '@company' || (i % 50000) || '.example' as "Email",
                    'First' || (i % 997) as "First Name",
                    'Last' || (i % 1009) as "Last Name",
                    'Company ' || (i % 50000) as "Company",
                    case i % 4 when 0 then 'VP Marketing' when 1 then 'Analyst'
                        when 2 then 'Director Sales' else null end as "Job Title",
                    case i % 3 when 0 then 'registered' when 1 then 'attended'
                        else 'no_show' end as "Status",
                    timestamp '2026-10-01 09:00:00' + to_seconds(i % 2592000) as "Date",
                    'Webinar ' || (i % 12) as "List"
                from range({rows}) t(i)
            ) to '{path}' (format parquet)"""
        )
    pipeline = make_pipeline("files", work / "files_bench.duckdb", work / ".dlt_pipelines")
    from ingestion.pipelines import FEEDS

    print(f"[file drop] {rows} rows", flush=True)
    started = time.time()
    pipeline.run(files_source(str(drop)), loader_file_format=FEEDS["files"].loader_file_format)
    ended = time.time()
    facts = trace_facts(pipeline.last_trace)
    stages = []
    for stage in ("extract", "normalize", "load"):
        if stage in facts:
            a, b = facts[stage]
            stages.append(
                {
                    "scale": f"{rows // 1_000_000}M rows" if rows >= 1_000_000 else f"{rows} rows",
                    "run": "file drop",
                    "stage": f"parquet {stage}",
                    "seconds": b - a,
                    "rows": facts["rows"],
                    "peak_mib": sampler.peak_mib(a, b),
                }
            )
    stages.append(
        {
            "scale": stages[0]["scale"] if stages else str(rows),
            "run": "file drop",
            "stage": "parquet file drop (total)",
            "seconds": ended - started,
            "rows": facts["rows"],
            "peak_mib": sampler.peak_mib(started, ended),
        }
    )
    shutil.rmtree(work, ignore_errors=True)
    return {"rows": facts["rows"], "seconds": ended - started, "stages": stages}
