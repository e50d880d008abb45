"""The scoreboard's lead velocity rate, headless (AppTest), against SQL on the published
marts: the scenario's one month gives the dash and its reason; a copy with two earlier
complete months gives the rate; a copy whose MQL rule changed between them the dash.
The rate is mart_lead_velocity's, rebuilt on each changed copy; the expectations are
computed here from mart_kpis_daily and dim_lead_contract."""

from __future__ import annotations

import pytest

from tests.support.changed_marts import publish_changed
from tests.support.dashboard import app, metric, sql

pytestmark = pytest.mark.integration

LVR = "Lead velocity rate"
# the in-force version of the contract's MQL rules (mql_*): its first day
MQL_RULES_SINCE = (
    "select strftime(max(valid_from), '%Y-%m-%d') from marts.dim_lead_contract "
    "where item_kind = 'rule' and item_key like 'mql\\_%' escape '\\' and is_in_force"
)
# MQLs of the last complete month and of the month before, from the KPI mart
MONTHS = (
    "with latest as (select date_trunc('month', max(kpi_date)) as this_month "
    "from marts.mart_kpis_daily) "
    "select sum(mqls) filter (kpi_date >= this_month - interval 1 month "
    "and kpi_date < this_month), "
    "sum(mqls) filter (kpi_date >= this_month - interval 2 month "
    "and kpi_date < this_month - interval 1 month) "
    "from marts.mart_kpis_daily, latest"
)
# November and December 2025 before the scenario's January 2026, with unequal MQLs
TWO_MONTHS_BEFORE = (
    "insert into marts.mart_kpis_daily by name "
    "select cast(day as date) as kpi_date, cast(date_trunc('month', day) as date) as kpi_month, "
    "cast(extract(day from day) % (extract(month from day) - 8) as integer) as mqls "
    "from generate_series(timestamp '2025-11-01', timestamp '2025-12-31', interval 1 day) "
    "as days(day)"
)
# the mart the rate is read from, computed from the two changed above
VELOCITY_MART = ("mart_lead_velocity",)


def captions(at) -> str:
    return "\n".join(caption.value for caption in at.caption)


def test_with_one_month_of_kpis_the_rate_is_a_dash_with_its_reason(published):
    [(months, since)] = sql(
        published,
        f"select count(distinct date_trunc('month', kpi_date)), ({MQL_RULES_SINCE}) "
        "from marts.mart_kpis_daily",
    )
    assert months == 1  # the scenario's premise
    at = app()
    assert metric(at, LVR) == "–"
    assert "Needs two complete months" in captions(at)
    assert f"MQL rules in force since {since}" in captions(at)


def test_the_rate_compares_the_last_complete_month_with_the_one_before(scenario_marts, published):
    publish_changed(scenario_marts, published, TWO_MONTHS_BEFORE, rebuild=VELOCITY_MART)
    [(last, before)] = sql(published, MONTHS)
    assert last != before and before > 0
    at = app()
    assert metric(at, LVR) == f"{(last - before) / before:+.1%}"
    assert f"December 2025: {last:,} MQLs; November 2025: {before:,} MQLs." in captions(at)


def test_a_month_counted_under_an_earlier_mql_rule_gives_the_dash_and_the_change_date(
    scenario_marts, published
):
    publish_changed(
        scenario_marts,
        published,
        TWO_MONTHS_BEFORE,
        "update marts.dim_lead_contract set valid_from = timestamp '2025-12-01' "
        "where item_key = 'mql_score_threshold' and is_in_force",
        rebuild=VELOCITY_MART,
    )
    [(since,)] = sql(published, MQL_RULES_SINCE)
    assert since == "2025-12-01"
    at = app()
    assert metric(at, LVR) == "–"
    assert f"The MQL rules changed on {since}" in captions(at)
