"""`python -m benchmarks [--scales 10k,100k,1m] [--out results.json]`: see README.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import limits, report
from benchmarks.memory import RssSampler

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BASE_PEOPLE = 10_000  # the world tiled for scales above HTTP_MAX
HTTP_MAX = 100_000  # largest scale loaded through the connectors over HTTP


def people(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def parse(argv: list[str]) -> argparse.Namespace:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--scales", default="10k", help="comma-separated: 10k,100k,1m")
    parser.add_argument("--out", type=Path, default=HERE / "results" / f"{stamp}.json")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=REPO / "data" / "bench",
        help="warehouses and Dagster homes of the runs (deleted per scale)",
    )
    parser.add_argument(
        "--file-drop-rows",
        type=int,
        default=1_000_000,
        help="rows of the generated Parquet export (0: skip)",
    )
    parser.add_argument("--deadline", help="UTC HH:MM: start no further night or baseline after it")
    parser.add_argument(
        "--http-max",
        type=people,
        default=HTTP_MAX,
        help="largest scale loaded over HTTP; larger ones are tiled from 10k (default 100k)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    manifest = REPO / "dbt_project" / "target" / "manifest.json"
    if not manifest.exists():  # the nightly job's definitions load from it
        print(f"{manifest} is missing: run `make manifest` first (`make bench` does)")
        return 2
    args.work_dir = args.work_dir.resolve()  # dbt resolves a relative --target-path itself
    os.environ.setdefault("LEADBRIDGE_DLT_PROGRESS", "off")  # dlt's progress log: noise here
    from benchmarks import scale as scales_module

    if args.deadline:
        scales_module.set_deadline(args.deadline)
    requested = sorted({people(s) for s in args.scales.split(",") if s.strip()})
    plan = list(requested)
    base_dir = args.work_dir / scales_module.label(BASE_PEOPLE)
    base_ready = (base_dir / "after_day.duckdb").exists()
    if any(p > args.http_max for p in plan) and BASE_PEOPLE not in plan and not base_ready:
        plan.insert(0, BASE_PEOPLE)  # the tiled scales' base world (reused when present)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": report.machine(),
        "seed": args.seed,
        "scales_requested": [scales_module.label(p) for p in requested],
        "scales": {},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stages: list[dict[str, Any]] = []
    started = time.time()
    with RssSampler() as sampler:
        if args.file_drop_rows:
            drop = scales_module.file_drop(
                args.file_drop_rows, args.work_dir / "file_drop", sampler
            )
            results["file_drop"] = {k: v for k, v in drop.items() if k != "stages"}
            stages += drop["stages"]
        for n in plan:
            label = scales_module.label(n)
            work = args.work_dir / label
            try:
                outcome = _scale(n, args, work, base_dir, sampler)
            except Exception as error:  # keep the other scales' figures
                print(f"[{label}] FAILED: {error}", flush=True)
                results["scales"][label] = {"error": f"{type(error).__name__}: {error}"[:2000]}
                _write(args.out, results, stages, started)
                continue
            results["scales"][label] = outcome
            stages += outcome["stages"]
            _write(args.out, results, stages, started)  # keep what ran if a later scale dies
    full_1m = (results["scales"].get("1m") or {}).get("runs", {}).get("full")
    results["api_limits"] = limits.lines_for(results)
    results["targets"] = report.targets(results) + limits.targets(
        results, full_1m["wall_s"] if full_1m and full_1m["success"] else None
    )
    _write(args.out, results, stages, started)
    print()
    print(report.stage_table(stages))
    print()
    print(report.night_table(results))
    print()
    print(report.comparison_table(results))
    print()
    print(limits.table(results))
    print()
    print(report.target_table(results["targets"]))
    print(f"\nJSON: {args.out}")
    return 0


def _scale(
    n: int, args: argparse.Namespace, work: Path, base_dir: Path, sampler: RssSampler
) -> dict[str, Any]:
    """One scale: loaded over HTTP up to --http-max, tiled from the 10k world above."""
    from benchmarks import scale as scales_module

    if n <= args.http_max:
        return scales_module.http_scale(n, args.seed, work, sampler)
    return scales_module.tiled_scale(n, base_dir, BASE_PEOPLE, work, sampler)


def _write(
    out: Path, results: dict[str, Any], stages: list[dict[str, Any]], started: float
) -> None:
    results["stages"] = stages
    results["elapsed_s"] = round(time.time() - started, 1)
    out.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    sys.exit(main())
