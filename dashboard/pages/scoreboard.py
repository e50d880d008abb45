"""Shared scoreboard: this month and quarter against the lead contract's targets."""

import pandas as pd
import streamlit as st

from dashboard.navigation import DEFINITIONS
from dashboard.page import start

marts = start("Shared scoreboard")
daily = marts.frame(
    "select kpi_date, new_leads, mqls, sqls, mqls_converted_to_sql, opportunities_created, "
    "pipeline_created_amount, won_revenue, sla_met, sla_breached, target_new_leads, "
    "target_mqls, target_sqls, target_opportunities, target_pipeline_amount, "
    "target_won_revenue, target_sla_compliance_rate, target_mql_to_sql_rate "
    "from {marts}.mart_kpis_daily order by kpi_date"
)
if daily.empty:
    st.info("The published KPIs have no day yet.")
    st.stop()
daily["kpi_date"] = pd.to_datetime(daily["kpi_date"])
today = daily["kpi_date"].max()
st.caption(
    f"Figures to {today:%Y-%m-%d}; targets are the contract's monthly targets, pro rata to "
    "date. Each number has one definition: see Definitions."
)
st.page_link(DEFINITIONS, label="Definitions: the lead contract in force")

# (label, actual column, daily target column, team)
COUNTS = [
    ("New leads", "new_leads", "target_new_leads", "Marketing"),
    ("MQLs", "mqls", "target_mqls", "Marketing"),
    ("SQLs", "sqls", "target_sqls", "Sales"),
    ("Opportunities", "opportunities_created", "target_opportunities", "Sales"),
    ("Pipeline", "pipeline_created_amount", "target_pipeline_amount", "Sales"),
    ("Won revenue", "won_revenue", "target_won_revenue", "Sales"),
]


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def show_period(name: str, rows: pd.DataFrame) -> None:
    st.subheader(name)
    for team in ("Marketing", "Sales"):
        shown = [c for c in COUNTS if c[3] == team]
        columns = st.columns(len(shown) + 1)
        for column, (label, actual, target, _) in zip(columns, shown, strict=False):
            value = float(rows[actual].sum())
            goal = rows[target].sum(min_count=1)
            delta = None if pd.isna(goal) else f"{value - float(goal):+,.0f} vs target to date"
            column.metric(f"{label} ({name.lower()})", f"{value:,.0f}", delta)
        rates = [
            (
                "MQL→SQL rate",
                ratio(rows["mqls_converted_to_sql"].sum(), rows["mqls"].sum()),
                rows["target_mql_to_sql_rate"].mean(),
            ),
            (
                "SLA compliance",
                ratio(rows["sla_met"].sum(), rows["sla_met"].sum() + rows["sla_breached"].sum()),
                rows["target_sla_compliance_rate"].mean(),
            ),
        ]
        label, rate, goal = rates[0] if team == "Marketing" else rates[1]
        text = "–" if rate is None else f"{rate:.1%}"
        delta = None if rate is None or pd.isna(goal) else f"{rate - goal:+.1%} vs target"
        columns[len(shown)].metric(f"{label} ({name.lower()})", text, delta)


month = daily[daily["kpi_date"].dt.to_period("M") == today.to_period("M")]
quarter = daily[daily["kpi_date"].dt.to_period("Q") == today.to_period("Q")]
show_period("Month", month)
show_period("Quarter", quarter)

st.subheader("Trend by week")
weekly = (
    daily.assign(week=daily["kpi_date"].dt.to_period("W-SUN").dt.start_time)
    .groupby("week")[["new_leads", "mqls", "sqls", "opportunities_created"]]
    .sum()
)
st.line_chart(weekly)
