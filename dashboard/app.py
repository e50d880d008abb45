"""The dashboard's entry point (`make dashboard`): the pages and the navigation."""

import streamlit as st

from dashboard.navigation import PAGES, SCOREBOARD

st.set_page_config(page_title="Leadbridge", layout="wide")
navigation = st.navigation(
    [st.Page(script, title=title, default=script == SCOREBOARD) for script, title in PAGES]
)
navigation.run()
