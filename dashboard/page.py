"""What every page shows first: its title, then the publication it reads, the banner
when the last night did not publish, or, with no publication yet, what to run."""

from __future__ import annotations

import duckdb
import psycopg2
import streamlit as st

from dashboard.data import RUN_COMMAND, Marts, open_marts, stale_since


def start(title: str) -> Marts:
    """Title the page and open the published marts; stops the page when there are none."""
    st.title(title)
    try:
        marts = open_marts()
    except ValueError as error:  # a setting the dashboard was started with is invalid
        st.error(f"The dashboard's settings are invalid: {error}")
        st.stop()
    except (duckdb.Error, psycopg2.Error) as error:
        message = str(error).strip().splitlines()[0]
        st.error(
            f"The dashboard cannot reach the published marts ({message}). Check the "
            "LEADBRIDGE_TARGET and LEADBRIDGE_PG_* settings it was started with."
        )
        st.stop()
    publication = marts.publication
    if publication is None:
        st.info(
            f"No publication yet: nothing has passed the quality gates at "
            f"{marts.engine.location}. Run `{RUN_COMMAND}` to build and publish the marts."
        )
        st.stop()
    stale = stale_since(publication)
    if stale is not None:
        st.warning(f"The last night did not publish: figures as of {stale.isoformat()}.")
    st.caption(
        f"Published {publication.published_at:%Y-%m-%d %H:%M} UTC by run "
        f"{publication.run_id} · content hash {publication.content_hash}"
    )
    return marts
