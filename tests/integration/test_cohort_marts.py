"""The cohort funnel, lead velocity and pipeline coverage marts on the hand-written
scenario, against independent computations: SQL on fct_funnel, the KPI mart and the
opportunities, and a Kaplan–Meier estimate computed here from fct_funnel."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import duckdb
import pytest

from tests.fixtures.raw_scenario import AS_OF

pytestmark = pytest.mark.integration

HORIZONS = (7, 30, 90)
NOW = datetime.fromisoformat(AS_OF)


def rows(warehouse, statement: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(statement).fetchall()


def test_observed_conversion_within_7_30_90_days_is_sql_on_fct_funnel(scenario_marts):
    warehouse, _ = scenario_marts
    within = ", ".join(
        f"count(*) filter (converted_mql_to_sql and days_mql_to_sql <= {days})" for days in HORIZONS
    )
    expected = rows(
        warehouse,
        f"select date_trunc('month', first_mql_at)::date, count(*), "
        f"count(*) filter (converted_mql_to_sql), {within} "
        "from marts.fct_funnel where first_mql_at is not null group by 1 order by 1",
    )
    columns = ", ".join(f"converted_within_{days}_days" for days in HORIZONS)
    shown = rows(
        warehouse,
        f"select cohort_month, mqls, mqls_converted_to_sql, {columns} "
        "from marts.mart_cohort_conversion order by cohort_month",
    )
    assert any(row[2] for row in expected)  # the scenario's premise: someone converted
    assert shown == expected
    rates = rows(
        warehouse,
        "select mqls, "
        + ", ".join(f"converted_within_{d}_days, observed_sql_rate_{d}_days" for d in HORIZONS)
        + " from marts.mart_cohort_conversion",
    )
    for mqls, *pairs in rates:
        for converted, rate in zip(pairs[::2], pairs[1::2], strict=True):
            assert rate == round(Decimal(converted) / mqls, 4)


def kaplan_meier(times: list[tuple[Decimal, bool]]) -> list[tuple[Decimal, int, int, int, float]]:
    """(time, at risk, events, censored, survival) at each distinct time of `times`
    ((time, is_event) pairs), the textbook way: a loop over the sorted times."""
    steps, survival = [], 1.0
    for time in sorted({t for t, _ in times}):
        at_risk = sum(1 for t, _ in times if t >= time)
        events = sum(1 for t, e in times if t == time and e)
        censored = sum(1 for t, e in times if t == time and not e)
        survival *= 1 - events / at_risk
        steps.append((time, at_risk, events, censored, survival))
    return steps


def test_the_survival_curve_is_kaplan_meier_on_fct_funnel_censored_at_as_of(scenario_marts):
    warehouse, _ = scenario_marts
    people = rows(
        warehouse,
        "select date_trunc('month', first_mql_at)::date, first_mql_at, converted_mql_to_sql, "
        "days_mql_to_sql from marts.fct_funnel where first_mql_at is not null",
    )
    cohorts: dict[date, list[tuple[Decimal, bool]]] = {}
    for month, mql_at, converted, days in people:
        followed = round(Decimal((NOW - mql_at).total_seconds() // 60) / 1440, 2)
        cohorts.setdefault(month, []).append((days, True) if converted else (followed, False))
    expected = [
        (month, time, at_risk, events, censored, round(survival, 6))
        for month, times in sorted(cohorts.items())
        for time, at_risk, events, censored, survival in kaplan_meier(times)
    ]
    shown = [
        (month, time, at_risk, events, censored, float(survival))
        for month, time, at_risk, events, censored, survival in rows(
            warehouse,
            "select cohort_month, days_since_mql, mqls_at_risk, sqls, mqls_censored, survival "
            "from marts.mart_sql_survival order by cohort_month, days_since_mql",
        )
    ]
    assert sum(step[4] for step in expected) > 0  # the premise: censored leads
    assert shown == expected


def test_pipeline_coverage_of_the_quarter_is_sql_on_the_opportunities_and_targets(
    scenario_marts,
):
    warehouse, _ = scenario_marts
    today = f"date '{NOW.date()}'"
    quarter = f"date_trunc('quarter', {today})"
    in_quarter = f"close_date >= {quarter} and close_date < {quarter} + interval 3 month"
    [(target, won, open_amount, won_12, closed_12)] = rows(
        warehouse,
        "select "
        f"(select sum(target_value) from lead_contract.lead_contract__targets "
        f"where kpi = 'won_revenue' and date_trunc('quarter', month_start) = {quarter}), "
        f"sum(amount) filter (is_won and {in_quarter}), "
        f"sum(amount) filter (not is_closed and {in_quarter}), "
        f"sum(amount) filter (is_won and close_date <= {today} "
        f"and close_date > {today} - interval 12 month), "
        f"sum(amount) filter (is_closed and close_date <= {today} "
        f"and close_date > {today} - interval 12 month) "
        "from intermediate.int_opportunities__persons",
    )
    [(shown_target, shown_won, remaining, shown_open, win_rate, coverage, needed)] = rows(
        warehouse,
        "select won_revenue_target, won_revenue, remaining_target, open_pipeline_amount, "
        "win_rate, pipeline_coverage, coverage_needed from marts.mart_pipeline_coverage "
        f"where period_type = 'quarter' and period_start = {quarter}",
    )
    assert open_amount and remaining > 0  # the premise: an open deal, a target left
    assert (shown_target, shown_won, shown_open) == (target, won, open_amount)
    assert remaining == max(target - won, 0)
    assert win_rate == round(Decimal(won_12 / closed_12), 4)
    assert coverage == round(Decimal(open_amount) / remaining, 4)
    assert needed == round(1 / win_rate, 4)


def test_lead_velocity_months_are_the_kpi_months_and_their_mqls(scenario_marts):
    warehouse, _ = scenario_marts
    expected = rows(
        warehouse,
        "select kpi_month, sum(mqls), lag(sum(mqls)) over (order by kpi_month) "
        "from marts.mart_kpis_daily group by kpi_month order by kpi_month",
    )
    shown = rows(
        warehouse,
        "select kpi_month, mqls, previous_month_mqls, is_complete_month, lead_velocity_rate "
        "from marts.mart_lead_velocity order by kpi_month",
    )
    assert [row[:3] for row in shown] == expected
    # the scenario's one month is the night's: not complete, so no rate
    assert [(row[3], row[4]) for row in shown] == [(False, None)]
