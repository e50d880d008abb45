"""What the dashboard reads: the published marts only, read-only, through the engine layer.

Query results are cached per publication (its run and content hash), so a new
publication shows on the next interaction; no Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import psycopg2
import streamlit as st

from leadbridge.engine import Engine, literal
from leadbridge.paths import published_path, warehouse_path
from leadbridge.publication import (
    SERVING_SCHEMAS,
    Publication,
    read_postgres_publication,
    read_publication,
)
from leadbridge.settings import NIGHTLY_AT, Settings

MARTS = "marts"
RUN_COMMAND = "make run"
# A publication older than the last night's start (NIGHTLY_AT), once the job has had
# this long to finish, means that night did not publish.
NIGHT_GRACE = timedelta(hours=4)


@dataclass(frozen=True)
class Marts:
    """The published marts of this process's settings, and the publication they hold."""

    engine: Engine
    schema: str
    publication: Publication | None

    @property
    def meta_schema(self) -> str:
        """Where `_publication` and the trust record are: `main` of the DuckDB file, the
        serving schema itself on PostgreSQL."""
        return self.schema if self.engine.postgres is not None else "main"

    @property
    def key(self) -> str | None:
        """What identifies the publication: a cache key that changes with every swap."""
        if self.publication is None:
            return None
        # the PostgreSQL user too: what a page may read depends on the role
        reader = self.engine.postgres.user if self.engine.postgres is not None else ""
        publication = f"{self.publication.run_id}|{self.publication.content_hash}"
        return f"{self.engine.location}|{reader}|{publication}"

    def frame(self, sql: str, **values: str) -> pd.DataFrame:
        """`sql` (with `{marts}` for the serving schema, `{meta}` for the publication's
        record, and `{name}` for each of `values`, put in as quoted SQL literals) as a
        frame, cached per publication; a publication the page cannot read stops the page
        with a message, not a traceback."""
        quoted = {name: literal(value) for name, value in values.items()}
        statement = sql.format(marts=self.schema, meta=self.meta_schema, **quoted)
        try:
            return _cached_frame(self.engine, self.key, statement)
        except (duckdb.Error, psycopg2.Error) as error:
            message = str(error).splitlines()[0]
            st.error(f"This page cannot read the published marts ({message}).")
            st.stop()


def open_marts() -> Marts:
    """The serving file (or PostgreSQL's `published` schema) and its publication record,
    read now: a publication swapped in since the last interaction is the one returned."""
    engine = Engine.resolve(published_path(warehouse_path()))
    if engine.postgres is not None:
        return Marts(engine, SERVING_SCHEMAS[MARTS], read_postgres_publication(engine.postgres))
    return Marts(engine, MARTS, read_publication(Path(engine.file)))


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_frame(_engine: Engine, key: str | None, sql: str) -> pd.DataFrame:
    # `_engine` is left out of the hash: `key` names the engine and the publication.
    with _engine.reader() as session:
        return session.frame(sql)


def last_night(now: datetime, timezone: str) -> datetime:
    """The start (naive UTC) of the last nightly run that has had time to publish."""
    zone = ZoneInfo(timezone)
    local = (now.replace(tzinfo=UTC) - NIGHT_GRACE).astimezone(zone)
    night = datetime.combine(local.date(), NIGHTLY_AT, zone)
    if night > local:
        night -= timedelta(days=1)
    return night.astimezone(UTC).replace(tzinfo=None)


def stale_since(publication: Publication, now: datetime | None = None) -> date | None:
    """The date the figures are as of when the last night did not publish, else None."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    if publication.published_at < last_night(now, Settings.from_env().timezone):
        return publication.published_at.date()
    return None
