"""Campaigns: attribution credit, credited pipeline and won revenue per campaign from
`fct_attribution` and `dim_campaign`, the lead contract's attribution models side by
side, and the check that each model hands out every opportunity exactly once.

An opportunity is dated by its first stage in Salesforce's opportunity history
(`fct_lead_events`): `fct_attribution` does not publish when it was created.
"""

import pandas as pd
import streamlit as st

from dashboard.navigation import DEFINITIONS
from dashboard.page import start

NO_TYPE = "(no type)"
# each credit is rounded to 6 decimals in the mart, so one opportunity's credits may
# miss 1 by up to half a unit of the 6th decimal per touch
CREDIT_ROUNDING = 0.5e-6
# fct_attribution's figure → its heading, in the order the page shows them
MEASURES = {
    "credited_won_revenue": "Won revenue",
    "credited_pipeline_amount": "Credited pipeline",
    "credit": "Opportunities credited",
}
CAMPAIGN = ["campaign_key", "campaign", "systems", "type", "starts"]

marts = start("Campaigns")
credits = marts.frame(
    "select attribution.opportunity_id, attribution.attribution_model, "
    "attribution.campaign_key, attribution.touches_in_window, attribution.is_won, "
    "attribution.credit, attribution.credited_pipeline_amount, "
    "attribution.credited_won_revenue, opened.opened_at "
    "from {marts}.fct_attribution as attribution "
    "left join (select opportunity_id, min(occurred_at) as opened_at "
    "from {marts}.fct_lead_events where event_type = 'opportunity_stage_change' "
    "group by opportunity_id) as opened on opened.opportunity_id = attribution.opportunity_id"
)
if credits.empty:
    st.info("The published attribution has no opportunity yet.")
    st.stop()
campaigns = marts.frame(
    "select campaign_key, campaign_name as campaign, source_system as systems, "
    "coalesce(campaign_type, '" + NO_TYPE + "') as type, start_date as starts "
    "from {marts}.dim_campaign"
)
models = marts.frame(
    "select item_key as model, description from {marts}.dim_lead_contract "
    "where item_kind = 'attribution_model' and is_in_force order by item_key"
)
model_names = models["model"].tolist() or sorted(credits["attribution_model"].unique())

st.caption(
    "**Credited pipeline** is a campaign's share of every attributed opportunity's amount, "
    "open, won or lost; **won revenue** its share of won opportunities only; "
    "**opportunities credited** the sum of its credit shares. Under each model the "
    "credits of one opportunity sum to 1, so every model hands out the same totals and "
    "the models differ only in which campaign gets them (check at the bottom)."
)
st.page_link(DEFINITIONS, label="Definitions: attribution models, lookback and W-shaped weights")
st.dataframe(models, hide_index=True)

credits["opened_on"] = pd.to_datetime(credits["opened_at"]).dt.date
known = credits["opened_on"].dropna()
if known.empty:
    st.info("No attributed opportunity has a stage history to date it by.")
    st.stop()
picked = st.date_input("Opportunity opened between", value=(known.min(), known.max()))
# while a range is being picked the widget holds its first day only
first, last = picked[0], picked[-1]
undated = credits.loc[credits["opened_on"].isna(), "opportunity_id"].nunique()
if undated:
    st.caption(f"{undated} attributed opportunities have no stage history and are left out.")
in_period = credits[(credits["opened_on"] >= first) & (credits["opened_on"] <= last)]
types = sorted(campaigns["type"].unique())
chosen = st.multiselect("Campaign types", options=types, placeholder="All campaign types")
shown = in_period.merge(campaigns, on="campaign_key", how="left")
if chosen:
    shown = shown[shown["type"].isin(chosen)]

columns = st.columns(3)
columns[0].metric("Attributed opportunities", f"{in_period['opportunity_id'].nunique():,}")
won = in_period.loc[in_period["is_won"].astype(bool), "opportunity_id"].nunique()
columns[1].metric("Won opportunities", f"{won:,}")
credited = shown.loc[shown["credit"] > 0, "campaign_key"].nunique()
columns[2].metric("Campaigns with credit", f"{credited:,}")

totals = shown.groupby("attribution_model")[list(MEASURES)].sum()
for column, model in zip(st.columns(len(model_names)), model_names, strict=True):
    pipeline, revenue = (
        totals.loc[model, measure] if model in totals.index else 0.0
        for measure in ("credited_pipeline_amount", "credited_won_revenue")
    )
    column.metric(f"Credited pipeline · {model}", f"{pipeline:,.0f}")
    column.metric(f"Won revenue · {model}", f"{revenue:,.0f}")

per_campaign = shown.groupby(CAMPAIGN + ["attribution_model"], dropna=False)[list(MEASURES)].sum()
for measure, heading in MEASURES.items():
    table = (
        per_campaign[measure]
        .unstack("attribution_model")
        .reindex(columns=model_names)
        .rename_axis(columns=None)
        .fillna(0)
        .sort_values(model_names, ascending=False)
        .reset_index()
    )
    st.subheader(f"{heading} by campaign")
    st.dataframe(table.drop(columns="campaign_key"), hide_index=True)

st.subheader("Check: every model hands out each opportunity once")
st.caption(
    "Over all campaigns of the opportunities opened in the period (the campaign type "
    "filter is not applied): per model, the opportunities credited, the sum of their "
    "credits and the totals handed out. The totals differ between models only by the "
    "rounding of each credit to 6 decimals."
)
sums = in_period.groupby(["attribution_model", "opportunity_id"]).agg(
    credit=("credit", "sum"), touches=("touches_in_window", "max")
)
off = sums[(sums["credit"] - 1).abs() > sums["touches"] * CREDIT_ROUNDING]
st.metric("Opportunity credits not summing to 1", f"{len(off):,}")
check = (
    in_period.groupby("attribution_model")
    .agg(
        opportunities=("opportunity_id", "nunique"),
        credit=("credit", "sum"),
        pipeline=("credited_pipeline_amount", "sum"),
        won_revenue=("credited_won_revenue", "sum"),
    )
    .reindex(model_names, fill_value=0)
    .rename_axis("model")
    .reset_index()
    .rename(
        columns={
            "credit": "sum of credits",
            "pipeline": "credited pipeline",
            "won_revenue": "won revenue",
        }
    )
)
st.dataframe(check, hide_index=True)
if not off.empty:
    st.dataframe(off.reset_index(), hide_index=True)
