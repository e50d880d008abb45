"""Funnel: MQL → SAL → SQL → opportunity → won from `fct_funnel`, by source, campaign and
the month the person was created, with their conversion rates and velocity."""

import streamlit as st

from dashboard.figures.funnel import (
    DEFINITION,
    Filters,
    breakdown,
    conversion,
    people,
    stage_counts,
    velocity,
)
from dashboard.layout import metric_row
from dashboard.navigation import DEFINITIONS
from dashboard.page import start

# (column, label, placeholder) of the multiselect filters, in the order shown
CHOICES = [
    ("source", "Sources", "All sources"),
    ("campaign", "Campaigns (first touch)", "All campaigns"),
    ("owner", "Owners (current)", "All owners"),
    ("team", "Teams (current owner's)", "All teams"),
]

marts = start("Funnel")
everyone = people(marts)
if everyone.empty:
    st.info("The published funnel has no person yet.")
    st.stop()
st.caption(DEFINITION)
st.page_link(DEFINITIONS, label="Definitions: the lead contract in force")

months = sorted(everyone["cohort"].dropna().unique())
if len(months) > 1:
    first, last = st.select_slider(
        "Cohort months", options=months, value=(months[0], months[-1]), key="cohort"
    )
else:
    first = last = months[0]
chosen = []
for column, (name, label, placeholder) in zip(st.columns(len(CHOICES)), CHOICES, strict=True):
    options = sorted(everyone[name].unique())
    chosen.append(
        (name, tuple(column.multiselect(label, options, placeholder=placeholder, key=name)))
    )
shown = Filters(first, last, tuple(chosen)).apply(everyone)

st.subheader("People per stage")
metric_row(stage_counts(shown))
st.subheader("Conversion")
metric_row(conversion(shown))
st.subheader("Velocity (median days)")
metric_row(velocity(shown))

st.subheader("By source")
st.dataframe(breakdown(shown, "source"), hide_index=True)
st.subheader("By creation-month cohort")
st.dataframe(breakdown(shown, "cohort"), hide_index=True)
st.subheader("By first-touch campaign")
st.dataframe(breakdown(shown, "campaign"), hide_index=True)
