"""Shared scoreboard: this month and quarter against the lead contract's targets."""

import streamlit as st

from dashboard.figures.scoreboard import (
    LEAD_VELOCITY,
    LEAD_VELOCITY_DEFINITION,
    VELOCITY,
    daily_kpis,
    lead_velocity,
    period_metrics,
    periods,
    weekly_trend,
)
from dashboard.layout import metric_row
from dashboard.navigation import DEFINITIONS
from dashboard.page import start

marts = start("Shared scoreboard")
daily = daily_kpis(marts)
if daily.empty:
    st.info("The published KPIs have no day yet.")
    st.stop()
st.caption(
    f"Figures to {daily['kpi_date'].max():%Y-%m-%d}; targets are the contract's monthly "
    "targets, pro rata to date. Each number has one definition: see Definitions."
)
st.page_link(DEFINITIONS, label="Definitions: the lead contract in force")

for name, rows in periods(daily):
    st.subheader(name)
    for metrics in period_metrics(name, rows).values():
        metric_row(metrics)

st.subheader(LEAD_VELOCITY)
velocity = lead_velocity(daily, marts.frame(VELOCITY))
st.metric(velocity.metric.label, velocity.metric.value)
st.caption(f"{velocity.note} {velocity.rules}")
st.caption(LEAD_VELOCITY_DEFINITION)

st.subheader("Trend by week")
st.line_chart(weekly_trend(daily))
