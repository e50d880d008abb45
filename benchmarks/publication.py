"""`python -m benchmarks.publication FULL DAY`: the publication alone, night after night.

FULL and DAY are working warehouses after a full and after a ~1 % night (a benchmark
scale's `after_full.duckdb` and `after_day.duckdb`); both are copied first, as the
publication writes the restatement ledger back into its warehouse. Night 1 publishes FULL
onto no serving file, then DAY and FULL take turns, each onto the last night's file.
Prints per night the seconds, the tables copied, patched and kept, the serving file's
size, the process's peak resident set so far and the load average. `--rewrite` publishes
every night by a whole copy (as before decision 010).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from leadbridge.paths import DBT_MANIFEST
from leadbridge.publication import publish_marts, unpublished


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.publication", description=__doc__)
    parser.add_argument("full", type=Path, help="working warehouse after a full night")
    parser.add_argument("day", type=Path, help="working warehouse after a ~1 %% night")
    parser.add_argument("--nights", type=int, default=6)
    parser.add_argument("--manifest", type=Path, default=DBT_MANIFEST)
    parser.add_argument("--rewrite", action="store_true", help="a whole copy every night")
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    hidden = unpublished(args.manifest)
    work = Path(tempfile.mkdtemp(prefix="publication-", dir=args.work_dir))
    try:
        warehouses = {}
        for name, source in (("full", args.full), ("day", args.day)):
            warehouses[name] = work / f"{name}.duckdb"
            shutil.copyfile(source, warehouses[name])
        target = work / "published" / "leadbridge_marts.duckdb"
        print(
            "night | warehouse | publish s | copied | patched | kept | serving MiB "
            "| peak RSS MiB | load 1m"
        )
        for night in range(1, args.nights + 1):
            name = "full" if night % 2 else "day"
            extra = {"rewrite": True} if args.rewrite else {}
            start = time.perf_counter()
            publication = publish_marts(warehouses[name], target, f"night-{night}", hidden, **extra)
            seconds = time.perf_counter() - start
            written, patched = len(publication.written), len(publication.patched or ())
            kept = len(publication.rows) - written
            print(
                f"{night} | {name} | {seconds:.2f} | {written - patched} | {patched} | {kept} | "
                f"{target.stat().st_size / 2**20:.1f} | {_peak_rss_mib():.0f} | "
                f"{os.getloadavg()[0]:.2f}",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _peak_rss_mib() -> float:
    """The process's highest resident set so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
