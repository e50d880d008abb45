"""`python -m benchmarks.dashboard <published file> [--runs N]`: every page of the
dashboard rendered headless (Streamlit's AppTest) on one publication, N times each.

Cold is a page's first render with an empty query cache: the cache is per publication,
so the first click after a night pays it. Warm is the median of the other renders, each
a whole rerun as on a click. Prints page → cold s (and the part its queries took) / warm
median s, then each page's slowest query when cold; see README.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from dashboard.navigation import LEAD_HISTORY, PAGES

APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
TARGET_S = 2.0  # issue 17: every page renders in at most 2 s at 100k people
TIMEOUT_S = 600
# Lead history shows a person only when asked: it is timed showing a customer's history
SEARCHED = {
    LEAD_HISTORY: "select min(person_id) from marts.dim_person where current_stage = 'customer'"
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard", description=__doc__)
    parser.add_argument("published", type=Path, help="a published marts file (read only)")
    parser.add_argument("--runs", type=int, default=5, help="renders per page, the first cold")
    return parser.parse_args(argv)


@contextmanager
def timed_queries(log: list[tuple[float, str]]) -> Iterator[None]:
    """Record (seconds, sql) of every query the pages read through `Marts.frame`."""
    from dashboard.data import Marts

    original = Marts.frame

    def frame(self, sql: str, **values: str):
        start = time.perf_counter()
        try:
            return original(self, sql, **values)
        finally:
            log.append((time.perf_counter() - start, sql))

    Marts.frame = frame
    try:
        yield
    finally:
        Marts.frame = original


def render(
    page: str, runs: int, published: Path
) -> tuple[list[float], list[tuple[float, str]], str | None]:
    """The seconds of `runs` renders of `page`, the first with an empty query cache; the
    queries of that first render; the first error or exception the page showed."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.run()
    at.switch_page(page)
    if page in SEARCHED:
        at.run()
        with duckdb.connect(str(published), read_only=True) as con:
            [(typed,)] = con.execute(SEARCHED[page]).fetchall()
        at.text_input[0].input(typed or "")
    st.cache_data.clear()
    seconds: list[float] = []
    cold: list[tuple[float, str]] = []
    for _ in range(runs):
        log: list[tuple[float, str]] = []
        with timed_queries(log):
            start = time.perf_counter()
            at.run()
            seconds.append(time.perf_counter() - start)
        cold = cold or log
        shown = [*at.exception, *at.error]
        if shown:
            return seconds, cold, str(shown[0].value).splitlines()[0]
    return seconds, cold, None


def describe(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as con:
        [(run_id, people, rows)] = con.execute(
            "select max(run_id), max(row_count) filter (table_name = 'dim_person'), "
            "sum(row_count) from main._publication"
        ).fetchall()
    return f"{path}: run {run_id}, {people:,} people, {rows:,} published rows"


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    published = args.published.resolve()
    if not published.exists():
        print(f"{published} does not exist: publish one first (`make run` or `make bench`)")
        return 2
    # the harness points the app at the file as `LEADBRIDGE_PUBLISHED=… make dashboard` does
    os.environ["LEADBRIDGE_PUBLISHED"] = str(published)
    os.environ["LEADBRIDGE_TARGET"] = "duckdb"
    print(describe(published))
    for script, _ in PAGES:  # imports and Streamlit's first script run are not a page's cost
        render(script, 1, published)
    print(f"| page | cold s | its queries s | warm median s | warm max s | ≤ {TARGET_S:g} s |")
    print("|---|---:|---:|---:|---:|---|")
    slowest: dict[str, tuple[float, str]] = {}
    for script, title in PAGES:
        seconds, queries, problem = render(script, args.runs, published)
        cold, warm = seconds[0], seconds[1:]
        verdict = "yes" if max(seconds) <= TARGET_S else "NO"
        median = f"{statistics.median(warm):.2f}" if warm else "–"
        peak = f"{max(warm):.2f}" if warm else "–"
        reading = sum(s for s, _ in queries)
        line = f"| {title} | {cold:.2f} | {reading:.2f} | {median} | {peak} | {verdict} |"
        print(line + (f" error: {problem}" if problem else ""), flush=True)
        if queries:
            slowest[title] = max(queries)
    print("\nSlowest query per page, cold:")
    for title, (seconds_, sql) in slowest.items():
        print(f"  {title}: {seconds_:.2f} s  {' '.join(sql.split())[:110]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
