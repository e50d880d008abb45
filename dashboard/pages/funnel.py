"""Funnel: MQL → SAL → SQL → opportunity → won from `fct_funnel`, by source and by the
month the person was created, with their conversion rates and velocity."""

import pandas as pd
import streamlit as st

from dashboard.navigation import DEFINITIONS
from dashboard.page import start

UNKNOWN = "(no source)"
# (label, column): MQLs by first MQL entry, as the KPI mart counts them; every later stage
# by reach (the person got there or further)
STAGES = [
    ("MQLs", "entered_mql"),
    ("SALs", "is_sal_reached"),
    ("SQLs", "is_sql_reached"),
    ("Opportunities", "is_opportunity_reached"),
    ("Won", "is_customer_reached"),
]
# (label, people who entered the first stage, converted flag, days column)
STEPS = [
    ("MQL→SAL", "entered_mql", "converted_mql_to_sal", "days_mql_to_sal"),
    ("MQL→SQL", "entered_mql", "converted_mql_to_sql", "days_mql_to_sql"),
    ("SQL→opportunity", "entered_sql", "converted_sql_to_opportunity", "days_sql_to_opportunity"),
    (
        "Opportunity→won",
        "entered_opportunity",
        "converted_opportunity_to_customer",
        "days_opportunity_to_customer",
    ),
]

marts = start("Funnel")
people = marts.frame(
    "select coalesce(person.source_channel, '" + UNKNOWN + "') as source, "
    "person.created_at, "
    "funnel.is_sal_reached, funnel.is_sql_reached, "
    "funnel.is_opportunity_reached, funnel.is_customer_reached, "
    "funnel.first_mql_at is not null as entered_mql, "
    "funnel.first_sql_at is not null as entered_sql, "
    "funnel.first_opportunity_at is not null as entered_opportunity, "
    "funnel.converted_mql_to_sal, funnel.converted_mql_to_sql, "
    "funnel.converted_sql_to_opportunity, "
    "funnel.converted_opportunity_to_customer, funnel.days_mql_to_sal, funnel.days_mql_to_sql, "
    "funnel.days_sql_to_opportunity, funnel.days_opportunity_to_customer "
    "from {marts}.fct_funnel as funnel "
    "join {marts}.dim_person as person on person.person_id = funnel.person_id"
)
if people.empty:
    st.info("The published funnel has no person yet.")
    st.stop()
people["cohort"] = pd.to_datetime(people["created_at"]).dt.strftime("%Y-%m").fillna("unknown")
st.caption(
    "MQLs are people who entered MQL (the scoreboard's MQLs); every later stage counts "
    "the people who reached it or a later one. A rate divides those who "
    "converted (`fct_funnel.converted_*`) by those who entered the first stage. Cohort: the "
    "month the person's first record was created."
)
st.page_link(DEFINITIONS, label="Definitions: the lead contract in force")

months = sorted(people["cohort"].dropna().unique())
if len(months) > 1:
    first, last = st.select_slider("Cohort months", options=months, value=(months[0], months[-1]))
else:
    first = last = months[0]
sources = sorted(people["source"].unique())
chosen = st.multiselect("Sources", options=sources, placeholder="All sources")
shown = people[(people["cohort"] >= first) & (people["cohort"] <= last)]
if chosen:
    shown = shown[shown["source"].isin(chosen)]
flags = [column for _, column in STAGES] + [c for step in STEPS for c in step[1:3]]
shown = shown.astype({column: bool for column in flags}).assign(
    **{days: pd.to_numeric(shown[days]) for *_, days in STEPS}
)


def rate(rows: pd.DataFrame, entered: str, converted: str) -> float | None:
    base = int(rows[entered].sum())
    return int((rows[entered] & rows[converted]).sum()) / base if base else None


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


st.subheader("People per stage")
for column, (label, flag) in zip(st.columns(len(STAGES)), STAGES, strict=True):
    column.metric(label, f"{int(shown[flag].sum()):,}")
st.subheader("Conversion")
for column, (label, entered, converted, _) in zip(st.columns(len(STEPS)), STEPS, strict=True):
    column.metric(f"{label} rate", percent(rate(shown, entered, converted)))
st.subheader("Velocity (median days)")
for column, (label, _, _, days) in zip(st.columns(len(STEPS)), STEPS, strict=True):
    converted = shown[days].dropna()
    column.metric(f"{label} days", "–" if converted.empty else f"{converted.median():.1f}")


def breakdown(by: str) -> pd.DataFrame:
    rows = []
    for value, group in shown.groupby(by):
        row = {by: value} | {label: int(group[flag].sum()) for label, flag in STAGES}
        for label, entered, converted, _ in STEPS:
            row[f"{label} rate"] = percent(rate(group, entered, converted))
        rows.append(row)
    return pd.DataFrame(rows)


st.subheader("By source")
st.dataframe(breakdown("source"), hide_index=True)
st.subheader("By creation-month cohort")
st.dataframe(breakdown("cohort"), hide_index=True)
