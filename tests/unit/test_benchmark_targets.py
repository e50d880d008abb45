"""The benchmark's verdicts on the performance targets: each target is judged on the
scale it names, and only there."""

from typing import Any

import pytest

from benchmarks import report

pytestmark = pytest.mark.unit


def _run(wall: float, dbt: float, loaded: float = 0.0) -> dict[str, Any]:
    dlt = {"hubspot": {"run_s": loaded, "rows": 1}} if loaded else {}
    return {"wall_s": wall, "dbt_s": dbt, "dagster_overhead_s": 2.0, "dlt": dlt, "dbt": {}}


def _scale(people: int, full: float, incremental: float, no_change: float, loaded: float) -> dict:
    return {
        "people": people,
        "runs": {
            "full": _run(full, full / 2, loaded),
            "incremental": _run(incremental, incremental / 2, loaded / 10),
            "no_change": _run(no_change, 0.1, loaded / 100),
        },
        "stages": [{"run": "full", "stage": "dbt build", "peak_mib": 2.5 * 1024}],
        "baseline": {"seconds": full / 2},
    }


def _verdicts(results: dict[str, Any]) -> dict[str, tuple[float | None, str]]:
    return {t["target"]: (t["measured"], t["verdict"]) for t in report.targets(results)}


def test_a_ladder_to_1m_is_judged_at_each_targets_own_scale() -> None:
    results = {
        "scales": {
            "10k": _scale(10_000, full=40.0, incremental=12.0, no_change=5.0, loaded=20.0),
            "100k": _scale(100_000, full=100.0, incremental=30.0, no_change=8.0, loaded=50.0),
            "1m": _scale(1_000_000, full=500.0, incremental=60.0, no_change=9.0, loaded=0.0),
        },
        "file_drop": {"rows": 10_000_000, "seconds": 8.0},
    }
    verdicts = _verdicts(results)
    assert verdicts["~1% night ≤ 0.10× the full night at 1M"] == (pytest.approx(0.12), "FAIL")
    assert verdicts["~1% night ≤ 0.25× the full night at 10k"] == (pytest.approx(0.3), "FAIL")
    assert verdicts["`dbt build` step ≤ 10 s at 10k (incremental night)"] == (6.0, "pass")
    assert verdicts["`dbt build` step ≤ 10 s at 10k (full night)"] == (20.0, "FAIL")
    assert verdicts["no-change night ≤ 10 s at 1M"] == (9.0, "pass")
    assert verdicts["peak memory ≤ 3 GiB at 1M (whole process tree)"] == (2.5, "pass")
    assert verdicts["Parquet file drop ≥ 1,000,000 rows/s on a 10M-row drop"] == (
        1_250_000,
        "pass",
    )
    # the warehouse part: 1M loads nothing; 100k's full night is 100 s less 50 s of dlt
    assert verdicts["100k → 1M time grows ≤ 10× (full night, warehouse part)"] == (10.0, "pass")
    assert verdicts["100k → 1M time grows ≤ 10× (incremental night, warehouse part)"] == (
        pytest.approx(60 / 25),
        "pass",
    )


def test_a_smoke_run_shows_its_figures_but_judges_only_what_it_can() -> None:
    results = {
        "scales": {"10k": _scale(10_000, full=40.0, incremental=8.0, no_change=5.0, loaded=20.0)},
        "file_drop": {"rows": 1_000_000, "seconds": 0.5},
    }
    verdicts = _verdicts(results)
    assert verdicts["~1% night ≤ 0.25× the full night at 10k"] == (0.2, "pass")
    assert verdicts["no-change night ≤ 10 s at 1M"] == (5.0, "n/a (not at 1M)")
    assert verdicts["~1% night ≤ 0.10× the full night at 1M"] == (None, "n/a")
    # a fast small drop is not the 10M-row drop the target names
    assert verdicts["Parquet file drop ≥ 1,000,000 rows/s on a 10M-row drop"] == (
        2_000_000,
        "n/a (not at 10M rows)",
    )
    assert verdicts["100k → 1M time grows ≤ 10× (full night, warehouse part)"] == (None, "n/a")


def test_the_activation_steps_are_a_stage_of_their_own_not_checks() -> None:
    from benchmarks.nightly import NightlyRun, StepTime

    steps = [
        StepTime("dbt_build", 0.0, 10.0, True),
        StepTime("marts__dim_person_gx_marts__dim_person", 10.0, 12.0, True),
        StepTime("published__marts", 12.0, 16.0, True),
        StepTime("activation__plan", 16.0, 19.0, True),
        StepTime("activation__apply", 19.0, 20.0, True),
    ]
    run = NightlyRun("bench_warehouse", True, 0.0, 21.5, steps)
    assert (run.seconds("checks"), run.seconds("activation")) == (2.0, 4.0)
    assert run.dagster_overhead == pytest.approx(1.5)


def test_the_night_table_shows_each_nights_activation_beside_its_other_stages() -> None:
    night = _run(50.0, 20.0) | {"checks_s": 9.0, "activation_s": 7.5, "publish_s": 3.0}
    results = {"scales": {"1m": {"runs": {"full": _run(400.0, 150.0), "incremental": night}}}}
    lines = report.night_table(results).splitlines()
    headings = [cell.strip() for cell in lines[0].strip("|").split("|")]
    incremental = [cell.strip() for cell in lines[3].strip("|").split("|")]
    row = dict(zip(headings, incremental, strict=True))
    assert (row["night"], row["activation s"], row["checks s"]) == ("incremental", "7.5", "9.0")
    assert row["× full"] == "0.125"
    full = dict(zip(headings, [c.strip() for c in lines[2].strip("|").split("|")], strict=True))
    assert full["activation s"] == "–"  # a run recorded before the stage existed
