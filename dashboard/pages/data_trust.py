"""Data trust: when the figures were published, by which run, with which content."""

import pandas as pd
import streamlit as st

from dashboard.page import start

marts = start("Data trust")
publication = marts.publication
columns = st.columns(4)
columns[0].metric("Published (UTC)", f"{publication.published_at:%Y-%m-%d %H:%M}")
columns[1].metric("Run", publication.run_id)
columns[2].metric("Content hash", publication.content_hash)
columns[3].metric("Tables", f"{len(publication.rows):,}")
st.caption(
    "Only what passed the night's quality gates is published; the serving copy is swapped "
    "in whole, so every page reads one publication."
)
st.subheader("Tables published")
st.dataframe(
    pd.DataFrame(
        [
            {"table": table, "rows": publication.rows[table], "hash": publication.hashes[table]}
            for table in sorted(publication.rows)
        ]
    ),
    hide_index=True,
)
