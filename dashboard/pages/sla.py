"""SLA and hand-offs: compliance by owner and by week and time to first touch from
`fct_sla`, the breaches with the owner at hand-off, and the live hand-off queue from
`mart_handoff_queue`, ordered by urgency."""

import streamlit as st

from dashboard.figures.sla import (
    DEFINITION,
    breaches,
    by,
    for_owners,
    handoffs,
    headline,
    owners,
    queue,
    queue_table,
)
from dashboard.layout import metric_row
from dashboard.navigation import DEFINITIONS
from dashboard.page import start

marts = start("SLA and hand-offs")
every_handoff, whole_queue = handoffs(marts), queue(marts)
st.caption(DEFINITION)
st.page_link(DEFINITIONS, label="Definitions: SLA hours and calendar")

chosen = st.multiselect(
    "Owners", options=owners(every_handoff, whole_queue), placeholder="All owners"
)
shown, waiting = for_owners(every_handoff, chosen), for_owners(whole_queue, chosen)
metric_row(headline(shown))

st.subheader("By owner at hand-off")
st.dataframe(by(shown, "owner"), hide_index=True)
st.subheader("By week of hand-off")
st.dataframe(by(shown, "week"), hide_index=True)

breached = breaches(shown)
st.subheader(f"Breaches ({len(breached)})")
st.dataframe(breached, hide_index=True)

st.subheader(f"Hand-off queue ({len(waiting)} waiting, {int(waiting['is_overdue'].sum())} overdue)")
st.caption(
    "People still at MQL waiting for a first sales touch, earliest deadline first; "
    "contact details are not published."
)
st.dataframe(queue_table(waiting), hide_index=True)
