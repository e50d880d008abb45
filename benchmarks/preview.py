"""`python -m benchmarks.preview <warehouse of a night> [--raise 10]`: the contract
preview (preview/) against building the contract-dependent models.

On copies of the given warehouse (the file itself is only read), first rebuilt by this
dbt project (untimed: the file may come from an older one), as of the night its marts
describe: `dbt build` of everything downstream of the lead contract seeds, with
the data tests as the night runs them and without, then a preview of the MQL threshold
raised by `--raise` points (both modes, copy included). Prints each time and the
preview's ratio to each build; issue 19's target is at most 2x. See README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from tempfile import mkdtemp

import duckdb

from leadbridge.contract import CONTRACT_DIR, RULES
from leadbridge.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR
from preview.run import run_preview

TARGET_RATIO = 2.0
CONTRACT_MODELS = "path:seeds/lead_contract+"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.preview", description=__doc__)
    parser.add_argument("warehouse", type=Path, help="a night's warehouse file (read only)")
    parser.add_argument("--raise", dest="points", type=int, default=10, help="threshold points")
    parser.add_argument("--work-dir", type=Path, help="for the copies (default: beside it)")
    return parser.parse_args(argv)


def night_of(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(night,)] = con.execute("select max(evaluated_at) from marts.fct_sla").fetchall()
    return night.strftime("%Y-%m-%d %H:%M:%S")


def dbt_build(
    warehouse: Path, work: Path, night: str, excluded: list[str], select: list[str]
) -> float:
    """Seconds of one `dbt build` of `select` in `warehouse`."""
    command = [
        str(DBT_EXECUTABLE),
        "build",
        *select,
        "--exclude-resource-type",
        *excluded,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        "duckdb",
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps({"leadbridge_warehouse": str(warehouse), "as_of": night}),
    ]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=work, check=False)
    if done.returncode:
        raise RuntimeError("dbt failed:\n" + done.stdout[-4000:])
    return time.monotonic() - started


def raised_contract(folder: Path, points: int) -> Path:
    """The project's contract with the MQL threshold's versions raised by `points`."""
    shutil.copytree(CONTRACT_DIR, folder)
    lines = (folder / RULES).read_text().splitlines(keepends=True)
    out = []
    for line in lines:
        key, effective, value, rest = (line.split(",", 3) + [""] * 4)[:4]
        if key == "mql_score_threshold":
            line = f"{key},{effective},{float(value) + points:g},{rest}"
        out.append(line)
    (folder / RULES).write_text("".join(out))
    return folder


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    source = args.warehouse.resolve()
    work = Path(mkdtemp(prefix="bench-preview-", dir=args.work_dir or source.parent))
    try:
        night = night_of(source)
        # the night's marts rebuilt by this project first (the file may be older), untimed
        base, copy = work / "night.duckdb", work / "leadbridge.duckdb"
        shutil.copyfile(source, base)
        dbt_build(base, work, night, ["test", "unit_test"], [])
        figures = {}
        for name, excluded in (
            ("dbt build, models + tests", ["unit_test"]),
            ("dbt build, models only", ["test", "unit_test"]),
        ):
            shutil.copyfile(base, copy)
            figures[name] = dbt_build(copy, work, night, excluded, ["--select", CONTRACT_MODELS])
        shutil.copyfile(base, copy)
        proposal = raised_contract(work / "proposal", args.points)
        started = time.monotonic()
        report = run_preview(proposal, warehouse=copy, log=lambda _: None)
        preview = time.monotonic() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    people = {name: found["counts"]["people"] for name, found in report.changes.items()}
    print(f"warehouse {source}, night {night}, MQL threshold +{args.points}")
    for name, seconds in figures.items():
        print(f"{name:<28} {seconds:7.1f} s")
    print(f"{'preview (both modes)':<28} {preview:7.1f} s   people changed: {people}")
    for name, seconds in figures.items():
        ratio = preview / seconds
        verdict = "within" if ratio <= TARGET_RATIO else "over"
        print(f"preview / {name:<24} {ratio:5.2f}x ({verdict} the {TARGET_RATIO:g}x target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
