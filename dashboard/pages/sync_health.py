"""Sync health, the silo measured: where HubSpot and Salesforce disagree, from
`mart_sync_health` with the record ids of `dim_person`: people in one system only,
fields that differ, ambiguous emails, hand-offs Salesforce never got and the sync lag.
Person and record ids only: the published marts hold no contact details."""

import pandas as pd
import streamlit as st

from dashboard.page import start

NO_OWNER = "(no owner)"
IDS = ["person_id", "hubspot_contact_id", "salesforce_lead_id", "salesforce_contact_id"]
# (tab, flag of mart_sync_health, what it means, columns besides the ids)
KINDS = [
    ("HubSpot only", "hubspot_only", "A HubSpot contact and no Salesforce record.", []),
    ("Salesforce only", "salesforce_only", "A Salesforce record and no HubSpot contact.", []),
    (
        "Email differs",
        "email_disagrees",
        "The systems hold different emails (after normalization).",
        [],
    ),
    ("Name differs", "name_disagrees", "The systems hold different names.", []),
    (
        "Owner differs",
        "owner_disagrees",
        "The HubSpot owner and the Salesforce owner are different people.",
        ["owner"],
    ),
    (
        "Ambiguous email",
        "has_ambiguous_email",
        "The email is shared by other people, so it linked no records.",
        [],
    ),
    (
        "Hand-off not in Salesforce",
        "is_handoff_missing_in_salesforce",
        "Handed off to sales as an MQL, but no Salesforce record exists.",
        ["first_handoff_at"],
    ),
]
FIELDS = ["email_disagrees", "name_disagrees", "owner_disagrees"]

marts = start("Sync health")
people = marts.frame(
    "select health.person_id, person.hubspot_contact_id, person.salesforce_lead_id, "
    "person.salesforce_contact_id, person.created_at, "
    "coalesce(owner.owner_name, '" + NO_OWNER + "') as owner, health.system_presence, "
    "health.email_disagrees, health.name_disagrees, health.owner_disagrees, "
    "health.has_ambiguous_email, health.is_handoff_missing_in_salesforce, "
    "health.first_handoff_at, health.first_salesforce_record_at, "
    "health.handoff_sync_lag_minutes "
    "from {marts}.mart_sync_health as health "
    "join {marts}.dim_person as person on person.person_id = health.person_id "
    "left join {marts}.dim_owner as owner on owner.owner_key = person.owner_key "
    "order by health.person_id"
)
if people.empty:
    st.info("The published sync health has no person yet.")
    st.stop()
st.caption(
    "Each person is one identity across both systems (`dim_person`). Sync lag: minutes "
    "from the person's first MQL hand-off to their first Salesforce record, 0 when "
    "Salesforce had them first. Owner: the person's current owner."
)

people["created_on"] = pd.to_datetime(people["created_at"]).dt.date
picked = st.date_input(
    "Person created between", value=(people["created_on"].min(), people["created_on"].max())
)
# while a range is being picked the widget holds its first day only
first, last = picked[0], picked[-1]
owners = sorted(people["owner"].unique())
chosen = st.multiselect("Owners", options=owners, placeholder="All owners")
shown = people[(people["created_on"] >= first) & (people["created_on"] <= last)]
if chosen:
    shown = shown[shown["owner"].isin(chosen)]
flags = FIELDS + ["has_ambiguous_email", "is_handoff_missing_in_salesforce"]
shown = shown.astype({flag: bool for flag in flags}).assign(
    hubspot_only=shown["system_presence"] == "hubspot_only",
    salesforce_only=shown["system_presence"] == "salesforce_only",
    lag=pd.to_numeric(shown["handoff_sync_lag_minutes"]),
)
disagreeing = shown[FIELDS].any(axis=1)
lags = shown["lag"].dropna()


def minutes(quantile: float) -> str:
    return "–" if lags.empty else f"{lags.quantile(quantile):,.0f}"


st.subheader("Where the people are")
columns = st.columns(4)
columns[0].metric("People in both", f"{int((shown['system_presence'] == 'both').sum()):,}")
columns[1].metric("HubSpot only", f"{int(shown['hubspot_only'].sum()):,}")
columns[2].metric("Salesforce only", f"{int(shown['salesforce_only'].sum()):,}")
columns[3].metric(
    "Hand-offs not in Salesforce", f"{int(shown['is_handoff_missing_in_salesforce'].sum()):,}"
)
st.subheader("Where they disagree")
columns = st.columns(4)
columns[0].metric("People with a field disagreement", f"{int(disagreeing.sum()):,}")
columns[1].metric("Ambiguous emails", f"{int(shown['has_ambiguous_email'].sum()):,}")
columns[2].metric("Median sync lag (minutes)", minutes(0.5))
columns[3].metric("p90 sync lag (minutes)", minutes(0.9))

tabs = st.tabs([f"{tab} ({int(shown[flag].sum()):,})" for tab, flag, *_ in KINDS] + ["Sync lag"])
for tab, (_, flag, meaning, extra) in zip(tabs, KINDS, strict=False):
    tab.caption(meaning)
    tab.dataframe(shown.loc[shown[flag], IDS + extra], hide_index=True)
tabs[-1].caption("People handed off with a Salesforce record, the slowest sync first.")
tabs[-1].dataframe(
    shown.loc[shown["lag"].notna(), IDS + ["first_handoff_at", "first_salesforce_record_at", "lag"]]
    .sort_values("lag", ascending=False)
    .rename(columns={"lag": "sync lag (minutes)"}),
    hide_index=True,
)
