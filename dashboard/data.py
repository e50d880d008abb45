"""What the pages read: the published marts (dashboard.marts) with Streamlit's cache.

Query results are cached per publication (its run and content hash), so a new
publication shows on the next interaction; no Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import psycopg2
import streamlit as st

from dashboard.marts import (
    MARTS,
    NIGHT_GRACE,
    RUN_COMMAND,
    PublishedMarts,
    last_night,
    stale_since,
)
from leadbridge.engine import Engine

__all__ = [
    "MARTS",
    "NIGHT_GRACE",
    "RUN_COMMAND",
    "Marts",
    "last_night",
    "open_marts",
    "stale_since",
]


@dataclass(frozen=True)
class Marts(PublishedMarts):
    """The published marts as a page reads them: cached, and stopping the page on an error."""

    def frame(self, sql: str, **values: str) -> pd.DataFrame:
        """`sql` (see `PublishedMarts.statement`) as a frame, cached per publication; a
        publication the page cannot read stops the page with a message, not a traceback."""
        try:
            return _cached_frame(self.engine, self.key, self.statement(sql, **values))
        except (duckdb.Error, psycopg2.Error) as error:
            message = str(error).splitlines()[0]
            st.error(f"This page cannot read the published marts ({message}).")
            st.stop()


def open_marts() -> Marts:
    """The serving file (or PostgreSQL's `published` schema) and its publication record,
    read now: a publication swapped in since the last interaction is the one returned."""
    return Marts.open()


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_frame(_engine: Engine, key: str | None, sql: str) -> pd.DataFrame:
    # `_engine` is left out of the hash: `key` names the engine and the publication.
    with _engine.reader() as session:
        return session.frame(sql)
