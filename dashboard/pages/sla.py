"""SLA and hand-offs: compliance by owner and by week and time to first touch from
`fct_sla`, the breaches with the owner at hand-off, and the live hand-off queue from
`mart_handoff_queue`, ordered by urgency."""

import pandas as pd
import streamlit as st

from dashboard.navigation import DEFINITIONS
from dashboard.page import start

NO_OWNER = "(no owner)"
OWNER = "coalesce(owner.owner_name, {key}, '" + NO_OWNER + "')"

marts = start("SLA and hand-offs")
handoffs = marts.frame(
    "select sla.handoff_id, sla.person_id, sla.handoff_at, "
    + OWNER.format(key="sla.owner_key_at_handoff")
    + " as owner, sla.sla_hours, sla.sla_deadline_at, sla.first_touch_at, "
    "sla.first_touch_type, sla.business_hours_to_first_touch, sla.business_hours_elapsed, "
    "sla.sla_status from {marts}.fct_sla as sla "
    "left join {marts}.dim_owner as owner on owner.owner_key = sla.owner_key_at_handoff "
    "order by sla.handoff_at"
)
queue = marts.frame(
    "select queue.queue_position, "
    + OWNER.format(key="queue.owner_key")
    + " as owner, queue.sla_deadline_at, queue.business_hours_remaining, queue.is_overdue, "
    "queue.recent_history, queue.next_scheduled_touch_at, queue.handoff_at, queue.person_id "
    "from {marts}.mart_handoff_queue as queue "
    "left join {marts}.dim_owner as owner on owner.owner_key = queue.owner_key "
    "order by queue.queue_position"
)
st.caption(
    "Every MQL entry is a hand-off. Compliance is met / (met + breached); open hand-offs "
    "are left out. Hours are business hours in the lead contract's calendar."
)
st.page_link(DEFINITIONS, label="Definitions: SLA hours and calendar")

owners = sorted(set(handoffs["owner"]) | set(queue["owner"]))
chosen = st.multiselect("Owners", options=owners, placeholder="All owners")
if chosen:
    handoffs = handoffs[handoffs["owner"].isin(chosen)]
    queue = queue[queue["owner"].isin(chosen)]
handoffs = handoffs.assign(
    hours=pd.to_numeric(handoffs["business_hours_to_first_touch"]),
    week=pd.to_datetime(handoffs["handoff_at"]).dt.to_period("W-SUN").dt.start_time,
)


def summary(rows: pd.DataFrame) -> dict:
    met = int((rows["sla_status"] == "met").sum())
    breached = int((rows["sla_status"] == "breached").sum())
    judged = met + breached
    return {
        "hand-offs": len(rows),
        "met": met,
        "breached": breached,
        "open": int((rows["sla_status"] == "open").sum()),
        "compliance": f"{met / judged:.1%}" if judged else "–",
        "median hours to first touch": hours(rows["hours"], 0.5),
        "p90 hours to first touch": hours(rows["hours"], 0.9),
    }


def hours(values: pd.Series, quantile: float) -> str:
    touched = values.dropna()
    return "–" if touched.empty else f"{touched.quantile(quantile):.1f}"


overall = summary(handoffs)
columns = st.columns(5)
columns[0].metric("SLA compliance", overall["compliance"])
columns[1].metric("Hand-offs", f"{overall['hand-offs']:,}")
columns[2].metric("Breached", f"{overall['breached']:,}")
columns[3].metric("Median hours to first touch", overall["median hours to first touch"])
columns[4].metric("p90 hours to first touch", overall["p90 hours to first touch"])


def by(column: str) -> pd.DataFrame:
    rows = [{column: key} | summary(group) for key, group in handoffs.groupby(column)]
    return pd.DataFrame(rows, columns=[column, *overall])


st.subheader("By owner at hand-off")
st.dataframe(by("owner"), hide_index=True)
st.subheader("By week of hand-off")
st.dataframe(by("week"), hide_index=True)

breaches = handoffs[handoffs["sla_status"] == "breached"]
st.subheader(f"Breaches ({len(breaches)})")
st.dataframe(
    breaches[
        [
            "handoff_at",
            "owner",
            "sla_hours",
            "sla_deadline_at",
            "first_touch_at",
            "first_touch_type",
            "business_hours_elapsed",
            "person_id",
        ]
    ].rename(columns={"owner": "owner at hand-off"}),
    hide_index=True,
)

st.subheader(f"Hand-off queue ({len(queue)} waiting, {int(queue['is_overdue'].sum())} overdue)")
st.caption(
    "People still at MQL waiting for a first sales touch, earliest deadline first; "
    "contact details are not published."
)
st.dataframe(
    queue.rename(
        columns={
            "queue_position": "#",
            "sla_deadline_at": "deadline",
            "business_hours_remaining": "hours left",
            "is_overdue": "overdue",
            "recent_history": "recent history",
            "next_scheduled_touch_at": "next scheduled touch",
        }
    ),
    hide_index=True,
)
