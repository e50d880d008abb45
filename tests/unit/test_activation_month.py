"""The month benchmark's own logic: which days are the month, how compliance is counted,
and that each world's night sees only its own settings."""

import os
from datetime import date

import pytest

from benchmarks import activation_month, nightly

pytestmark = pytest.mark.unit


def test_the_month_is_the_days_after_the_anchor_the_nights_revealed() -> None:
    assert activation_month.month_days(date(2026, 10, 31), 30) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert activation_month.month_days(date(2026, 10, 31), 1) == (
        date(2026, 11, 1),
        date(2026, 11, 1),
    )
    with pytest.raises(ValueError):
        activation_month.month_days(date(2026, 10, 31), 0)


def test_compliance_leaves_open_hand_offs_out_and_is_none_without_judged_ones() -> None:
    assert activation_month.compliance(3, 1) == 0.75
    assert activation_month.compliance(0, 0) is None


def test_a_world_night_drops_the_callers_leadbridge_and_source_settings(monkeypatch) -> None:
    monkeypatch.setenv("LEADBRIDGE_ACTIVATE_SALESFORCE", "apply")
    monkeypatch.setenv("SOURCES__HUBSPOT__ACCESS_TOKEN", "the caller's")
    monkeypatch.delenv("LEADBRIDGE_WAREHOUSE", raising=False)
    with nightly.environment({"LEADBRIDGE_WAREHOUSE": "/w/off.duckdb"}):
        assert "LEADBRIDGE_ACTIVATE_SALESFORCE" not in os.environ
        assert "SOURCES__HUBSPOT__ACCESS_TOKEN" not in os.environ
        assert os.environ["LEADBRIDGE_WAREHOUSE"] == "/w/off.duckdb"
    assert os.environ["LEADBRIDGE_ACTIVATE_SALESFORCE"] == "apply"
    assert os.environ["SOURCES__HUBSPOT__ACCESS_TOKEN"] == "the caller's"
    assert "LEADBRIDGE_WAREHOUSE" not in os.environ
