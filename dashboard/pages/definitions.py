"""Definitions: the lead contract in force, each item with its effective dates."""

import streamlit as st

from dashboard.page import start

# item_kind of dim_lead_contract → (heading, what it means for a reader)
KINDS = {
    "stage": ("Stages", "The canonical funnel stages, in order, and what each means."),
    "stage_mapping": ("Stage mappings", "Which CRM value counts as which stage."),
    "rule": ("Rules", "MQL, SAL and SQL rules, SLA hours and other thresholds."),
    "holiday": ("Holidays", "Days without business hours for the SLA clock."),
    "target": ("Targets", "Monthly targets of the month in force."),
    "attribution_model": ("Attribution models", "How credit is shared between touches."),
}

marts = start("Definitions")
contract = marts.frame(
    "select item_kind, item_key, item_value, description, valid_from, valid_to, is_in_force "
    "from {marts}.dim_lead_contract order by item_kind, item_key, valid_from"
)
in_force = contract[contract["is_in_force"].astype(bool)]
st.metric("Contract items in force", f"{len(in_force):,}")
for kind, (heading, meaning) in KINDS.items():
    items = in_force[in_force["item_kind"] == kind]
    st.subheader(f"{heading} ({len(items)})")
    st.caption(meaning)
    st.dataframe(
        items.drop(columns=["item_kind", "is_in_force"]).rename(
            columns={
                "item_key": "item",
                "item_value": "value",
                "valid_from": "in force from",
                "valid_to": "until",
            }
        ),
        hide_index=True,
    )
earlier = contract[~contract["is_in_force"].astype(bool)]
with st.expander(f"Versions not in force ({len(earlier)})"):
    st.dataframe(earlier, hide_index=True)
