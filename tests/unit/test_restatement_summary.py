"""The run summary's restatement line, from the publication's metadata, without I/O."""

from datetime import date
from pathlib import Path

import pytest

from leadbridge.restatements import DAY, ERASURE, IDENTITY, KPIS_DAILY, Restatement, cause_counts
from orchestration.summary import RESTATEMENT_CAUSES, RESTATEMENTS, RunSummary

pytestmark = pytest.mark.unit

PUBLISHED = {"tables": 15, "dagster/row_count": 1234, "content_hash": "ab"}


def _summary(published):
    return RunSummary(
        success=True,
        duration_seconds=1.0,
        warehouse=Path("/w/leadbridge.duckdb"),
        published_file=Path("/w/published/leadbridge_marts.duckdb"),
        published=published,
    )


def _row(cause: str) -> Restatement:
    return Restatement(KPIS_DAILY, DAY, date(2026, 1, 14), "mqls", 0.0, 1.0, cause)


def test_a_row_with_two_causes_counts_for_both():
    rows = [_row(ERASURE), _row(f"{IDENTITY}, {ERASURE}")]
    assert cause_counts(rows) == {ERASURE: 2, IDENTITY: 1}


def test_the_summary_says_how_many_past_kpi_values_the_night_changed_and_why():
    causes = cause_counts([_row("late_history")] * 3 + [_row(ERASURE)])
    summary = _summary({**PUBLISHED, RESTATEMENTS: 4, RESTATEMENT_CAUSES: causes})
    assert summary.publication_lines()[1:] == [
        "restatements: 4 past KPI values changed (causes: erasure 1, late_history 3)"
    ]
    assert "restatements: 4 past KPI values" in summary.render()


def test_a_night_that_changed_nothing_says_so_and_one_without_a_ledger_says_nothing():
    quiet = _summary({**PUBLISHED, RESTATEMENTS: 0, RESTATEMENT_CAUSES: "{}"})
    assert quiet.publication_lines()[1:] == ["restatements: 0 past KPI values changed"]
    assert _summary(PUBLISHED).publication_lines()[1:] == []
