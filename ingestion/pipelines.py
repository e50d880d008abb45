"""Which source loads into which dataset: the one table of Leadbridge's feeds.

A feed's name is at once the dlt source name, the raw dataset (DuckDB schema) and the
dbt source name, so a raw table keeps one name from the API to `stg_<feed>__<table>`.

Pipeline working folders (dlt state, pending load packages) live next to the
warehouse file on purpose: state and data must live and die together, or a wiped
warehouse with a surviving cursor would load nothing. The destination is the DuckDB
file by default; the orchestration passes the destination of the chosen engine
(`leadbridge/engine.py`), with a working folder of its own per engine.

The loader file format depends on the destination (`loader_file_format`): Parquet into
DuckDB; CSV into PostgreSQL, which dlt loads with `COPY`. dlt's Postgres destination
reads Parquet only through ADBC, which Leadbridge does not install, and its default,
INSERT statements, took 9.0 s for 200k rows where CSV took 3.1 s (a 5-column merge
load on a local server). CSV keeps what Parquet gives the DuckDB path: the same column
types (the schema is dlt's, not the file's), the same merge, and the empty table the
file feed writes while its drop folder is empty.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.extract.source import DltSource

from ingestion.sources.files import files_source
from ingestion.sources.hubspot import hubspot_source
from ingestion.sources.limits import DEFAULT_QUOTA_SHARE, ApiUsage
from ingestion.sources.salesforce import salesforce_source


@dataclass(frozen=True)
class Feed:
    """One source system: its dlt source factory and the settings it reads."""

    name: str
    make_source: Callable[..., DltSource]
    description: str
    # The sources yield Arrow tables (`records.Table.arrow`): Parquet takes them to
    # DuckDB column-wise, skipping dlt's row-by-row normalizer (~5x the records/s of
    # JSONL, which itself loads ~25x faster than dlt's default INSERTs; STACK_NOTES).
    # Parquet also lets the file feed merge the empty table it writes while the drop
    # folder is empty, which dlt cannot do with an empty JSONL file.
    loader_file_format: str = "parquet"
    # An API with daily limits: its source takes an `ApiUsage` (the night's quota share).
    metered: bool = False


# Destinations that load the feeds' Arrow tables better in another format (see above).
LOADER_FILE_FORMATS = {"postgres": "csv"}
PROGRESS_ENV = "LEADBRIDGE_DLT_PROGRESS"
PROGRESS = ("log", "off", "tqdm", "enlighten", "alive_progress")  # dlt's collectors, or none
QUOTA_SHARE_ENV = "LEADBRIDGE_QUOTA_SHARE"


def loader_file_format(feed: str, pipeline: dlt.Pipeline) -> str:
    """The file format `feed` is loaded in by `pipeline`'s destination."""
    destination = pipeline.destination.destination_name if pipeline.destination else ""
    return LOADER_FILE_FORMATS.get(destination, FEEDS[feed].loader_file_format)


FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed(
            "hubspot",
            hubspot_source,
            "HubSpot marketing automation (CRM v3, forms, emails)",
            metered=True,
        ),
        Feed(
            "salesforce",
            salesforce_source,
            "Salesforce CRM (REST query API, Bulk API 2.0)",
            metered=True,
        ),
        Feed("files", files_source, "CSV / JSONL / Parquet list exports from the drop folder"),
    )
}


def quota_share(environ: Mapping[str, str] | None = None) -> float:
    """`$LEADBRIDGE_QUOTA_SHARE`: the share of each system's daily API quota one night may
    spend, a number in (0, 1] (default 0.5)."""
    raw = (os.environ if environ is None else environ).get(QUOTA_SHARE_ENV, "")
    if not raw.strip():
        return DEFAULT_QUOTA_SHARE
    try:
        share = float(raw)
    except ValueError:
        share = float("nan")
    if not 0 < share <= 1:  # also false for NaN
        raise ValueError(
            f"{QUOTA_SHARE_ENV}={raw!r}; give the share of the daily API quota one night may "
            "spend as a number greater than 0 and at most 1, e.g. 0.5"
        )
    return share


def api_usage(feed: str) -> ApiUsage | None:
    """A fresh night's `ApiUsage` for a metered feed (None for the others)."""
    return ApiUsage(quota_share=quota_share()) if FEEDS[feed].metered else None


@dataclass(frozen=True)
class Connections:
    """The arguments each feed's source is built with (URLs, tokens, folders)."""

    hubspot: dict[str, Any] = field(default_factory=dict)
    salesforce: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)

    def for_feed(self, name: str) -> dict[str, Any]:
        """Keyword arguments for one feed's source factory."""
        return dict(getattr(self, name))


def configured_connections(drop_dir: Path) -> Connections | None:
    """Real-account settings from dlt config/env, or None when none are configured.

    Leadbridge runs on the built-in simulator unless HubSpot or Salesforce credentials
    are configured (`SOURCES__HUBSPOT__ACCESS_TOKEN` or `..._CLIENT_ID`,
    `SOURCES__SALESFORCE__ACCESS_TOKEN` or `..._CLIENT_ID`). Configuring one system but not
    the other is an error, not a silent half-demo: the missing keys are named.
    """

    def setting(key: str) -> Any:
        return dlt.secrets.get(f"sources.{key}") or dlt.config.get(f"sources.{key}")

    hubspot_keys = ("access_token", "client_id", "client_secret", "refresh_token", "base_url")
    hubspot = {k: setting(f"hubspot.{k}") for k in hubspot_keys}
    hubspot_token = hubspot["access_token"] or hubspot["client_id"]
    sf_keys = (
        "access_token",
        "client_id",
        "client_secret",
        "refresh_token",
        "instance_url",
        "login_url",
    )
    salesforce = {k: setting(f"salesforce.{k}") for k in sf_keys}
    if not hubspot_token and not (salesforce["access_token"] or salesforce["client_id"]):
        return None
    if not hubspot_token:
        raise ValueError(
            "Salesforce is configured but HubSpot is not: set "
            "SOURCES__HUBSPOT__ACCESS_TOKEN, or the OAuth app's SOURCES__HUBSPOT__CLIENT_ID, "
            "..._CLIENT_SECRET and ..._REFRESH_TOKEN (and SOURCES__HUBSPOT__BASE_URL if "
            "not api.hubapi.com)"
        )
    if not (salesforce["access_token"] or salesforce["client_id"]):
        raise ValueError(
            "HubSpot is configured but Salesforce is not: set "
            "SOURCES__SALESFORCE__INSTANCE_URL and SOURCES__SALESFORCE__ACCESS_TOKEN "
            "(or the OAuth client settings)"
        )
    return Connections(
        hubspot={k: v for k, v in hubspot.items() if v},
        salesforce={k: v for k, v in salesforce.items() if v},
        files={
            "drop_dir": str(setting("files.drop_dir") or drop_dir),
            "create_missing": not setting("files.drop_dir"),
        },
    )


def make_pipeline(
    feed: str, warehouse: Path, pipelines_dir: Path, destination: Any = None
) -> dlt.Pipeline:
    """The dlt pipeline that loads one feed into its dataset of the warehouse: the
    DuckDB file `warehouse`, or `destination` (a dlt destination) when one is given."""
    if feed not in FEEDS:
        raise ValueError(f"unknown feed {feed!r}; known: {sorted(FEEDS)}")
    if destination is None:
        if warehouse.stem == feed:
            # DuckDB cannot tell a catalog from a schema of the same name (STACK_NOTES).
            raise ValueError(f"the warehouse file may not be named {warehouse.name}")
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        destination = dlt.destinations.duckdb(str(warehouse))
    # Loaded files and the merge's staging copies would otherwise keep every row a run
    # loaded, personal data included, after it is in the warehouse (and after an erasure).
    dlt.config["load.delete_completed_jobs"] = True
    dlt.config["load.truncate_staging_dataset"] = True
    raw = os.environ.get(PROGRESS_ENV, "")
    progress = raw.strip().lower() or "log"  # "off" for quiet runs
    if progress not in PROGRESS:
        raise ValueError(f"{PROGRESS_ENV}={raw!r}; valid values: {', '.join(PROGRESS)}")
    return dlt.pipeline(
        pipeline_name=f"leadbridge_{feed}",
        pipelines_dir=str(pipelines_dir),
        destination=destination,
        dataset_name=feed,
        **({} if progress == "off" else {"progress": progress}),
    )


def run_feed(feed: str, source: DltSource, warehouse: Path, pipelines_dir: Path) -> LoadInfo:
    """Extract, normalize and load one feed; pending packages of a crashed run go first."""
    pipeline = make_pipeline(feed, warehouse, pipelines_dir)
    return pipeline.run(source, loader_file_format=loader_file_format(feed, pipeline))


def loaded_row_counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows per table of the pipeline's last run (dlt's own tables left out)."""
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace else None
    counts = dict(info.row_counts) if info else {}
    return {t: n for t, n in sorted(counts.items()) if not t.startswith("_dlt")}
