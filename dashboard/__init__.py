"""The Streamlit dashboard marketing and sales both open: the published marts only."""
