"""`python -m benchmarks.spark [--scales 10k,1m]`: the full night on Spark and on DuckDB.

Issue 21: the same project runs on a cluster. Per scale, from what `make bench` left
(`<inputs>/<scale>/after_full.duckdb` and `as_of_full.txt`): the raw tables alone, copied
into a fresh DuckDB file; the warehouse part of the nightly job (no dlt: `bench_warehouse`)
on it; then a standalone Spark master and worker on loopback with the Leadbridge Spark
server, the same raw tables copied into Spark as Parquet tables, and the same job with
`LEADBRIDGE_TARGET=spark`, same `as_of`. Both timed from their own event logs; the row
counts of every mart compared (benchmarks/README.md, "Spark against DuckDB").
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks import scale as scales_module
from benchmarks.__main__ import people
from benchmarks.memory import RssSampler

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ENGINES = ("duckdb", "spark")
RAW_ONLY = "raw_only.duckdb"
# The table's columns: heading → the run summary's key (benchmarks.nightly.run_summary).
COLUMNS = {
    "wall s": "wall_s",
    "dbt s": "dbt_s",
    "checks s": "checks_s",
    "publish s": "publish_s",
    "activation s": "activation_s",
    "raw copy s": "raw_copy_s",
    "peak MiB": "peak_mib",
}


def parse(argv: list[str]) -> argparse.Namespace:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spark", description=__doc__)
    parser.add_argument("--scales", default="10k", help="comma-separated: 10k,1m")
    parser.add_argument(
        "--inputs",
        type=Path,
        default=REPO / "data" / "bench",
        help="`make bench`'s work dir: <scale>/after_full.duckdb and as_of_full.txt (only read)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=REPO / "data" / "bench-spark",
        help="warehouses, cluster and Dagster homes of the runs (deleted per scale)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / f"spark-{stamp}.json")
    parser.add_argument("--deadline", help="UTC HH:MM: start no further night after it")
    parser.add_argument(
        "--executor-memory",
        default="6g",
        help="the worker's memory and its one executor's (spark.executor.memory)",
    )
    parser.add_argument(
        "--driver-memory",
        default="4g",
        help="the Spark server's driver (spark.driver.memory): Connect results pass through it",
    )
    return parser.parse_args(argv)


def missing_inputs(inputs: Path, scales: list[str]) -> list[str]:
    """What `make bench` has not left in `inputs` for `scales`, as sentences."""
    missing = []
    for scale in scales:
        for name in ("after_full.duckdb", "as_of_full.txt"):
            if not (inputs / scale / name).exists():
                missing.append(str(inputs / scale / name))
    return missing


def make_bench_command(inputs: Path, scales: list[str]) -> str:
    """The `make bench` that leaves the inputs of `scales` in `inputs`."""
    extra = "" if inputs == (REPO / "data" / "bench").resolve() else f" --work-dir {inputs}"
    return f'make bench ARGS="--scales {",".join(scales)}{extra}"'


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    manifest = REPO / "dbt_project" / "target" / "manifest.json"
    if not manifest.exists():  # the nightly job's definitions load from it
        print(f"{manifest} is missing: run `make manifest` first (`make bench-spark` does)")
        return 2
    args.inputs = args.inputs.resolve()
    args.work_dir = args.work_dir.resolve()  # dbt resolves a relative --target-path itself
    scales = [
        scales_module.label(p)
        for p in sorted({people(s) for s in args.scales.split(",") if s.strip()})
    ]
    missing = missing_inputs(args.inputs, scales)
    if missing:
        print("missing benchmark inputs:\n  " + "\n  ".join(missing))
        print(f"`{make_bench_command(args.inputs, scales)}` produces them")
        return 2
    if args.deadline:
        scales_module.set_deadline(args.deadline)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "inputs": str(args.inputs),
        "spark_conf": spark_conf(args),
        "scales": {},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    started = time.time()
    with RssSampler() as sampler:
        for scale in scales:
            try:
                results["scales"][scale] = run_scale(scale, args, sampler)
            except Exception as error:  # keep the other scales' figures
                print(f"[{scale}] FAILED: {error}", flush=True)
                results["scales"][scale] = {"error": f"{type(error).__name__}: {error}"[:2000]}
            _write(args.out, results, started)  # keep what ran if a later scale dies
    print()
    for scale, outcome in results["scales"].items():
        print(table(scale, outcome))
        print()
    print(f"JSON: {args.out}")
    return 0 if all(night_ok(outcome) for outcome in results["scales"].values()) else 1


def night_ok(outcome: dict[str, Any]) -> bool:
    """Whether a scale's nights that ran all succeeded (skipped ones do not count)."""
    if "error" in outcome:
        return False
    return all(
        run.get("success", "skipped" in run) for run in (outcome.get("engines") or {}).values()
    )


def machine() -> dict[str, Any]:
    """`report.machine()` with Spark's versions: PySpark (its distribution), dbt-spark, Java."""
    import subprocess
    from importlib import metadata

    facts = report.machine()
    for name in ("pyspark", "dbt-spark"):
        try:
            facts["versions"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            facts["versions"][name] = None
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60)
        facts["java"] = (java.stderr or java.stdout).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        facts["java"] = None
    return facts


def spark_conf(args: argparse.Namespace) -> dict[str, str]:
    """What the benchmark sets on the Spark server on top of its own configuration: the
    one executor takes the worker's memory (`spark_cluster(memory=...)`)."""
    return {
        "spark.executor.memory": args.executor_memory,
        "spark.driver.memory": args.driver_memory,
    }


def run_scale(scale: str, args: argparse.Namespace, sampler: RssSampler) -> dict[str, Any]:
    """Both engines' full night on the raw tables of one scale; their marts' row counts."""
    from benchmarks.nightly import warehouse_only_defs

    source = args.inputs / scale
    work = args.work_dir / scale
    if scales_module.past_deadline():
        print(f"[{scale}] deadline passed: scale skipped", flush=True)
        return {"scale": scale, "skipped": "deadline passed"}
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "inbox").mkdir()  # the files feed's drop folder: empty, nothing is loaded
    as_of = (source / "as_of_full.txt").read_text().strip()
    print(f"[{scale}] raw tables of {source / 'after_full.duckdb'} → {work / RAW_ONLY}", flush=True)
    copied = scales_module.in_child(raw_only_copy, source / "after_full.duckdb", work / RAW_ONLY)
    result: dict[str, Any] = {
        "scale": scale,
        "as_of": as_of,
        "raw_rows": copied["rows"],
        "raw_only_copy_s": copied["seconds"],
        "engines": {},
    }
    defs = warehouse_only_defs()
    counts: dict[str, dict[str, int]] = {}
    for engine in ENGINES:
        if scales_module.past_deadline():
            print(f"[{scale}] deadline passed: {engine} night skipped", flush=True)
            result["engines"][engine] = {"skipped": "deadline passed"}
            continue
        night = duckdb_night if engine == "duckdb" else spark_night
        try:
            result["engines"][engine], counts[engine] = night(
                scale, defs, work, as_of, args, sampler
            )
        except Exception as error:  # the other engine's figures stand
            print(f"[{scale}] {engine} FAILED: {error}", flush=True)
            result["engines"][engine] = {"error": f"{type(error).__name__}: {error}"[:2000]}
    result["marts_row_counts"] = {
        table: {engine: counts.get(engine, {}).get(table) for engine in ENGINES}
        for table in sorted({t for c in counts.values() for t in c})
    }
    result["mismatches"] = (
        [
            {"table": table, **by_engine}
            for table, by_engine in result["marts_row_counts"].items()
            if by_engine["duckdb"] != by_engine["spark"]
        ]
        if len(counts) == len(ENGINES)
        else None  # nothing to compare: an engine's night did not run
    )
    for mismatch in result["mismatches"] or []:
        print(f"[{scale}] row count mismatch: {mismatch}", flush=True)
    return result


def raw_only_copy(after_full: Path, target: Path) -> dict[str, Any]:
    """The raw tables of a night's warehouse (`after_full`, only read) in a new DuckDB file
    `target`: the raw schemas' data tables, no built schema, so a night builds from
    scratch. dlt's own tables (`_dlt_loads`, …) stay behind: nothing in the warehouse
    part of the night reads them (the input fingerprint leaves them out), and a Spark
    warehouse has none (leadbridge/spark.py declares dlt's data tables only)."""
    import duckdb

    from leadbridge.inputs import RAW_SCHEMAS

    started = time.time()
    rows: dict[str, int] = {}
    with duckdb.connect(str(target)) as con:
        con.execute(f"attach '{after_full}' as source (read_only)")
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = "
            "'source' and schema_name in (select unnest(?::varchar[])) "
            "and table_name not like '\\_dlt%' escape '\\' order by 1, 2",
            [list(RAW_SCHEMAS)],
        ).fetchall()
        for schema in sorted({s for s, _ in tables}):
            con.execute(f'create schema "{schema}"')
        for schema, table in tables:
            con.execute(
                f'create table "{schema}"."{table}" as select * from source."{schema}"."{table}"'
            )
            rows[f"{schema}.{table}"] = con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchall()[0][0]
        con.execute("detach source")
    return {"seconds": round(time.time() - started, 2), "rows": rows}


def duckdb_night(
    scale: str, defs: Any, work: Path, as_of: str, args: argparse.Namespace, sampler: RssSampler
) -> tuple[dict[str, Any], dict[str, int]]:
    """The night on a copy of the raw-only file; its figures and its marts' row counts."""
    folder = work / "duckdb"
    folder.mkdir()
    warehouse = folder / scales_module.WAREHOUSE
    shutil.copy(work / RAW_ONLY, warehouse)
    outcome = _night(scale, "duckdb", defs, folder, warehouse, work, as_of, {}, sampler)
    return outcome, duckdb_mart_counts(warehouse)


def spark_night(
    scale: str, defs: Any, work: Path, as_of: str, args: argparse.Namespace, sampler: RssSampler
) -> tuple[dict[str, Any], dict[str, int]]:
    """The night on a loopback cluster: its figures and its marts' row counts."""
    from leadbridge.inputs import RAW_SCHEMAS
    from leadbridge.spark_local import (
        copy_duckdb_schemas_to_spark,
        spark_cluster,
        spark_env,
        spark_server,
    )

    folder = work / "spark"
    print(f"[{scale}] starting the Spark cluster and server", flush=True)
    started = time.time()
    with spark_cluster(folder / "cluster", memory=args.executor_memory) as cluster:
        env = {
            **spark_env(folder / "warehouse", cluster.master_url),
            "LEADBRIDGE_TARGET": "spark",
        }
        with spark_server(env, folder / "server.log", conf=spark_conf(args)) as server:
            start_s = time.time() - started
            print(f"[{scale}] raw tables as Parquet into Spark", flush=True)
            copy_started = time.time()
            copy_duckdb_schemas_to_spark(
                work / RAW_ONLY, server.session, list(RAW_SCHEMAS), folder / "raw_copy"
            )
            copy_ended = time.time()
            outcome = _night(
                scale,
                "spark",
                defs,
                folder,
                folder / scales_module.WAREHOUSE,
                work,
                as_of,
                env,
                sampler,
            )
            outcome["raw_copy_s"] = round(copy_ended - copy_started, 2)
            outcome["raw_copy_peak_mib"] = sampler.peak_mib(copy_started, copy_ended)
            outcome["cluster_and_server_start_s"] = round(start_s, 1)
            outcome["logs"] = str(folder)
            counts = spark_mart_counts(server.session)
    return outcome, counts


def _night(
    scale: str,
    engine: str,
    defs: Any,
    folder: Path,
    warehouse: Path,
    work: Path,
    as_of: str,
    env: dict[str, str],
    sampler: RssSampler,
) -> dict[str, Any]:
    """The warehouse-only full night under `env` with a fresh Dagster home in `folder`."""
    from benchmarks.nightly import (
        WAREHOUSE_JOB,
        bench_instance,
        environment,
        run_job,
        run_summary,
        set_environment,
        stage_rows,
    )

    instance = bench_instance(folder / "dagster_home")
    print(f"[{scale}] {engine}: full night (as of {as_of})", flush=True)
    try:
        with environment({"LEADBRIDGE_TARGET": "duckdb", **env}):
            set_environment(warehouse, work / "inbox", None)
            run = run_job(defs, WAREHOUSE_JOB, instance, as_of, folder / ".dlt_pipelines")
    finally:
        instance.dispose()
    status = "ok" if run.success else f"FAILED {run.failed_steps}"
    print(f"[{scale}] {engine}: {run.wall:.1f} s {status}", flush=True)
    for error in run.errors:
        print(f"[{scale}] {engine}: {error}", flush=True)
    if run.checks_failed:
        print(f"[{scale}] {engine}: checks failed: {run.checks_failed}", flush=True)
    stages = stage_rows(run, sampler)
    total = next(s for s in stages if s["stage"] == "nightly run (total)")
    return run_summary(run) | {
        "peak_mib": total["peak_mib"],
        "peak_split_mib": total.get("peak_split_mib"),
        "stages": stages,
    }


def duckdb_mart_counts(warehouse: Path) -> dict[str, int]:
    """Rows of every table and view of schema `marts` in a DuckDB file."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
        return {
            f"marts.{t}": con.execute(f'select count(*) from marts."{t}"').fetchall()[0][0]
            for (t,) in sorted(tables)
        }


def spark_mart_counts(session: Any) -> dict[str, int]:
    """Rows of every table and view of database `marts` on a Spark Connect session."""
    if not session.catalog.databaseExists("marts"):
        return {}
    return {
        f"marts.{t.name}": session.table(f"marts.`{t.name}`").count()
        for t in sorted(session.catalog.listTables("marts"), key=lambda t: t.name)
        if not t.isTemporary
    }


def table(scale: str, outcome: dict[str, Any]) -> str:
    """| engine | wall s | dbt s | … | per engine, and Spark over DuckDB; then mismatches."""
    if "error" in outcome:
        return f"{scale}: FAILED: {outcome['error']}"
    if "skipped" in outcome:
        return f"{scale}: skipped ({outcome['skipped']})"
    lines = [
        f"{scale} (as of {outcome['as_of']}, {sum(outcome['raw_rows'].values()):,} raw rows)",
        "| engine | night | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---:|" * len(COLUMNS),
    ]
    runs = outcome["engines"]
    for engine in ENGINES:
        run = runs.get(engine) or {}
        state = _state(run)
        lines.append(
            f"| {engine} | {state} | "
            + " | ".join(_cell(run.get(key)) for key in COLUMNS.values())
            + " |"
        )
    spark, duck = runs.get("spark") or {}, runs.get("duckdb") or {}
    lines.append(
        "| spark / duckdb | | "
        + " | ".join(_cell(_ratio(spark.get(key), duck.get(key)), 2) for key in COLUMNS.values())
        + " |"
    )
    mismatches = outcome.get("mismatches")
    if mismatches is None:
        lines.append("marts' row counts: not compared (an engine's night did not run)")
    elif mismatches:
        lines.append(f"marts' row counts differ in {len(mismatches)} table(s):")
        lines += [f"  {m['table']}: duckdb {m['duckdb']}, spark {m['spark']}" for m in mismatches]
    else:
        lines.append(f"marts' row counts equal in all {len(outcome['marts_row_counts'])} tables")
    return "\n".join(lines)


def _state(run: dict[str, Any]) -> str:
    if "error" in run:
        return "error: " + run["error"][:80]
    if "skipped" in run:
        return "skipped"
    if not run.get("success"):
        return f"FAILED {run.get('failed_steps')}"
    failed = run.get("checks_failed") or []
    return f"ok, {len(failed)} of {run.get('checks_evaluated')} checks failed" if failed else "ok"


def _cell(value: Any, digits: int = 1) -> str:
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else "–"


def _ratio(a: Any, b: Any) -> float | None:
    return a / b if isinstance(a, int | float) and isinstance(b, int | float) and b else None


def _write(out: Path, results: dict[str, Any], started: float) -> None:
    results["elapsed_s"] = round(time.time() - started, 1)
    out.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
