"""The benchmark's hand-written baseline (benchmarks/baseline.sql) gives the dbt marts' rows.

The benchmark compares the two on the demo world at every loaded scale, but it runs for
minutes; this test keeps the script honest on every `make test` in about 20 s. It uses
the hand-written raw scenario (tests/fixtures/raw_scenario.py) rather than the demo
data: its nine people carry the edge cases the demo may not (an ambiguous email shared
by three people, merges, a recycled lead's second hand-off still open, a weekend and a
holiday inside an SLA), and building it needs dbt only for the core marts' lineage
(seeds and models, not the ~270 data tests), no nightly run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.baseline import CORE_MARTS, compare, run_baseline
from tests.fixtures.raw_scenario import AS_OF, create_raw_scenario
from tests.support.dbt_scenario import run_dbt

pytestmark = pytest.mark.integration


def build_core_marts(warehouse: Path, work: Path) -> None:
    """`dbt build` of the five core marts and their ancestors (seeds and models only)."""
    selection = " ".join(f"+{mart}" for mart in CORE_MARTS)
    run_dbt(
        ["build", "--select", selection, "--exclude-resource-type", "test", "unit_test"],
        warehouse,
        work,
    )


def test_hand_written_baseline_gives_the_dbt_marts_rows_on_the_scenario(tmp_path):
    warehouse = tmp_path / "scenario.duckdb"
    create_raw_scenario(warehouse)
    build_core_marts(warehouse, tmp_path)

    run_baseline(warehouse, AS_OF)
    report = compare(warehouse)

    assert set(report) == set(CORE_MARTS)
    differing = {
        mart: {k: c[k] for k in ("rows_dbt", "rows_baseline", "columns_differing")}
        for mart, c in report.items()
        if not c["match"]
    }
    assert not differing, differing
    # every mart has rows and most columns are compared (an empty or column-less
    # comparison would pass trivially)
    assert all(c["rows_dbt"] > 0 for c in report.values()), report
    assert report["dim_person"]["rows_dbt"] == 9  # the scenario's nine people
    assert all(c["columns_compared"] >= 13 for c in report.values()), report
