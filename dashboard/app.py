"""The dashboard's entry point (`make dashboard`): the pages and the navigation."""

import streamlit as st

st.set_page_config(page_title="Leadbridge", layout="wide")
navigation = st.navigation(
    [
        st.Page("pages/scoreboard.py", title="Shared scoreboard", default=True),
        st.Page("pages/funnel.py", title="Funnel"),
        st.Page("pages/sla.py", title="SLA and hand-offs"),
        st.Page("pages/definitions.py", title="Definitions"),
        st.Page("pages/data_trust.py", title="Data trust"),
    ]
)
navigation.run()
