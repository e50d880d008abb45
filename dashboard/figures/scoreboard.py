"""The shared scoreboard's figures: this month and quarter against the contract's targets
(`mart_kpis_daily`), the trend by week, and the lead velocity rate."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.figures import DASH, Metric, percent, ratio
from dashboard.marts import Frames

DAILY = (
    "select kpi_date, new_leads, mqls, sqls, mqls_converted_to_sql, opportunities_created, "
    "pipeline_created_amount, won_revenue, sla_met, sla_breached, target_new_leads, "
    "target_mqls, target_sqls, target_opportunities, target_pipeline_amount, "
    "target_won_revenue, target_sla_compliance_rate, target_mql_to_sql_rate "
    "from {marts}.mart_kpis_daily order by kpi_date"
)
# The lead velocity rate is the mart's (mart_lead_velocity): the page only says why it
# is missing.
VELOCITY = (
    "select kpi_month, mqls, previous_month_mqls, is_under_mql_rules_in_force, "
    "mql_rules_since, mql_rules, lead_velocity_rate "
    "from {marts}.mart_lead_velocity order by kpi_month"
)
TEAMS = ("Marketing", "Sales")
# (label, actual column, daily target column, team)
COUNTS = [
    ("New leads", "new_leads", "target_new_leads", "Marketing"),
    ("MQLs", "mqls", "target_mqls", "Marketing"),
    ("SQLs", "sqls", "target_sqls", "Sales"),
    ("Opportunities", "opportunities_created", "target_opportunities", "Sales"),
    ("Pipeline", "pipeline_created_amount", "target_pipeline_amount", "Sales"),
    ("Won revenue", "won_revenue", "target_won_revenue", "Sales"),
]
TREND = ["new_leads", "mqls", "sqls", "opportunities_created"]
LEAD_VELOCITY = "Lead velocity rate"
LEAD_VELOCITY_DEFINITION = (
    "Lead velocity rate: (MQLs of the last complete month − MQLs of the month before) / "
    "MQLs of the month before, both months counted under the MQL rules in force now; "
    "the current month is left out until it is complete."
)


def daily_kpis(marts: Frames) -> pd.DataFrame:
    """Every day of `mart_kpis_daily`, oldest first, `kpi_date` as a timestamp."""
    daily = marts.frame(DAILY)
    return daily.assign(kpi_date=pd.to_datetime(daily["kpi_date"]))


def periods(daily: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """("Month", its days) and ("Quarter", its days) of the latest KPI day."""
    today = daily["kpi_date"].max()
    dates = daily["kpi_date"].dt
    return [
        ("Month", daily[dates.to_period("M") == today.to_period("M")]),
        ("Quarter", daily[dates.to_period("Q") == today.to_period("Q")]),
    ]


def period_metrics(name: str, rows: pd.DataFrame) -> dict[str, list[Metric]]:
    """Each team's figures of the period `name` (its days `rows`): the counts against their
    target to date, then the team's rate against its target."""
    suffix = f"({name.lower()})"
    shown: dict[str, list[Metric]] = {}
    for team in TEAMS:
        metrics = []
        for label, actual, target, owner in COUNTS:
            if owner != team:
                continue
            value = float(rows[actual].sum())
            goal = rows[target].sum(min_count=1)
            delta = None if pd.isna(goal) else f"{value - float(goal):+,.0f} vs target to date"
            metrics.append(Metric(f"{label} {suffix}", f"{value:,.0f}", delta))
        if team == "Marketing":
            label = "MQL→SQL rate"
            rate = ratio(rows["mqls_converted_to_sql"].sum(), rows["mqls"].sum())
            goal = rows["target_mql_to_sql_rate"].mean()
        else:
            label = "SLA compliance"
            met, breached = rows["sla_met"].sum(), rows["sla_breached"].sum()
            rate = ratio(met, met + breached)
            goal = rows["target_sla_compliance_rate"].mean()
        delta = None if rate is None or pd.isna(goal) else f"{rate - goal:+.1%} vs target"
        metrics.append(Metric(f"{label} {suffix}", percent(rate), delta))
        shown[team] = metrics
    return shown


def weekly_trend(daily: pd.DataFrame) -> pd.DataFrame:
    """New leads, MQLs, SQLs and opportunities per week (Monday first), by week start."""
    return (
        daily.assign(week=daily["kpi_date"].dt.to_period("W-SUN").dt.start_time)
        .groupby("week")[TREND]
        .sum()
    )


@dataclass(frozen=True)
class LeadVelocity:
    """The lead velocity rate as shown: its value (or the dash), what it compares or why
    it cannot be given, and the MQL rules it is counted under."""

    rate: float | None
    note: str
    rules: str

    @property
    def metric(self) -> Metric:
        """The rate as a metric."""
        return Metric(LEAD_VELOCITY, DASH if self.rate is None else f"{self.rate:+.1%}")


def lead_velocity(daily: pd.DataFrame, velocity: pd.DataFrame) -> LeadVelocity:
    """The lead velocity rate of the last complete month of `daily` (daily_kpis) as
    `mart_lead_velocity` gives it (`velocity`, read with VELOCITY), or why it is missing."""
    month = daily["kpi_date"].max().to_period("M") - 1
    before = month - 1
    since = pd.to_datetime(velocity["mql_rules_since"]).max()
    if pd.isna(since):
        return LeadVelocity(None, "No MQL rule is in force in the published contract.", "")
    rules = (
        f"Counted under the MQL rules in force since {since:%Y-%m-%d} "
        f"({velocity['mql_rules'].iloc[0]})."
    )
    rows = velocity[pd.to_datetime(velocity["kpi_month"]).dt.to_period("M") == month]
    if rows.empty or pd.isna(rows["previous_month_mqls"].iloc[0]):
        first = daily["kpi_date"].min()
        reason = (
            f"Needs two complete months: the published KPIs start on {first:%Y-%m-%d}, "
            f"after the start of {_name(before)}."
        )
        return LeadVelocity(None, reason, rules)
    row = rows.iloc[0]
    if not row["is_under_mql_rules_in_force"]:
        reason = (
            f"The MQL rules changed on {since:%Y-%m-%d}: {_name(before)} was counted under "
            "an earlier version."
        )
        return LeadVelocity(None, reason, rules)
    current, previous = int(row["mqls"]), int(row["previous_month_mqls"])
    if pd.isna(row["lead_velocity_rate"]):
        return LeadVelocity(None, f"No MQLs in {_name(before)} to grow from.", rules)
    compared = f"{_name(month)}: {current:,} MQLs; {_name(before)}: {previous:,} MQLs."
    return LeadVelocity(float(row["lead_velocity_rate"]), compared, rules)


def _name(month: pd.Period) -> str:
    return month.strftime("%B %Y")
