"""The published marts, read without Streamlit: what the pages (through dashboard.data's
cache) and the weekly report both read, and which night a publication belongs to.

Only the published marts, read-only, through the engine layer; no Dagster here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol, Self
from zoneinfo import ZoneInfo

import pandas as pd

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


class Frames(Protocol):
    """What the figures read from: `sql` (with `{marts}` for the serving schema) as a frame."""

    def frame(self, sql: str) -> pd.DataFrame: ...


@dataclass(frozen=True)
class PublishedMarts:
    """The published marts of this process's settings, and the publication they hold."""

    engine: Engine
    schema: str
    publication: Publication | None

    @classmethod
    def open(cls) -> Self:
        """The serving file (or PostgreSQL's `published` schema) and its publication
        record, read now: a publication swapped in since is the one returned."""
        engine = Engine.resolve(published_path(warehouse_path()))
        if engine.postgres is not None:
            return cls(engine, SERVING_SCHEMAS[MARTS], read_postgres_publication(engine.postgres))
        return cls(engine, MARTS, read_publication(Path(engine.file)))

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

    def statement(self, sql: str, **values: str) -> str:
        """`sql` with `{marts}` as the serving schema, `{meta}` as the publication record's,
        and `{name}` as each of `values`, put in as quoted SQL literals."""
        quoted = {name: literal(value) for name, value in values.items()}
        return sql.format(marts=self.schema, meta=self.meta_schema, **quoted)

    def frame(self, sql: str, **values: str) -> pd.DataFrame:
        """`sql` (see `statement`) as a frame, read now."""
        with self.engine.reader() as session:
            return session.frame(self.statement(sql, **values))


def night_start(moment: datetime, timezone: str) -> datetime:
    """The start (naive UTC) of the night `moment` (naive UTC) belongs to: the latest
    NIGHTLY_AT in `timezone` at or before it."""
    zone = ZoneInfo(timezone)
    local = moment.replace(tzinfo=UTC).astimezone(zone)
    night = datetime.combine(local.date(), NIGHTLY_AT, zone)
    if night > local:
        night = datetime.combine(local.date() - timedelta(days=1), NIGHTLY_AT, zone)
    return night.astimezone(UTC).replace(tzinfo=None)


def night_date(moment: datetime, timezone: str) -> date:
    """The local date of the night `moment` (naive UTC) belongs to."""
    start = night_start(moment, timezone).replace(tzinfo=UTC)
    return start.astimezone(ZoneInfo(timezone)).date()


def last_night(now: datetime, timezone: str) -> datetime:
    """The start (naive UTC) of the last nightly run that has had time to publish."""
    return night_start(now - NIGHT_GRACE, timezone)


def stale_since(publication: Publication, now: datetime | None = None) -> date | None:
    """The date the figures are as of when the last night did not publish, else None."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    if publication.published_at < last_night(now, Settings.from_env().timezone):
        return publication.published_at.date()
    return None
