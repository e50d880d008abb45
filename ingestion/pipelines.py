"""Which source loads into which dataset: the one table of Leadbridge's feeds.

A feed's name is at once the dlt source name, the raw dataset (DuckDB schema) and the
dbt source name, so a raw table keeps one name from the API to `stg_<feed>__<table>`.
Pipeline working folders (dlt state, pending load packages) live next to the warehouse
file on purpose: state and data must live and die together, or a wiped warehouse with a
surviving cursor would load nothing. Feeds load as Parquet into DuckDB and as CSV into
PostgreSQL (`LOADER_FILE_FORMATS`; why: docs/decisions/004-connector-reads.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
from dlt.common.pipeline import LoadInfo
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials
from dlt.extract.source import DltSource

from ingestion.sources.api import configured
from ingestion.sources.files import files_source, undo_unfinished_appends
from ingestion.sources.hubspot import hubspot_source
from ingestion.sources.hubspot.helpers import HubSpotCredentials
from ingestion.sources.limits import ApiUsage
from ingestion.sources.salesforce import salesforce_source
from ingestion.sources.salesforce.helpers import SalesforceCredentials
from leadbridge.settings import Settings


@dataclass(frozen=True)
class Feed:
    """One source system: its dlt source factory and the settings it reads."""

    name: str
    make_source: Callable[..., DltSource]
    description: str
    # The sources yield Arrow tables (`records.Table.arrow`): Parquet takes them to
    # DuckDB column-wise, skipping dlt's row-by-row normalizer. Parquet also lets the
    # file feed merge the empty table it writes while the drop folder is empty, which
    # dlt cannot do with an empty JSONL file.
    loader_file_format: str = "parquet"
    # An API with daily limits: its source takes an `ApiUsage` (the night's quota share).
    metered: bool = False


# Destinations that load the feeds' Arrow tables better in another format (see above).
LOADER_FILE_FORMATS = {"postgres": "csv"}
# DuckDB settings of a feed's own connection. The file feed's rows are keyed by file and
# row number, not by where they sit: inserting them in any order lets DuckDB spread a large
# drop's insert over its threads without keeping their order.
DUCKDB_SETTINGS: dict[str, dict[str, Any]] = {"files": {"preserve_insertion_order": False}}


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
    return Settings.from_env(environ).quota_share


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
    are configured: a token (`SOURCES__HUBSPOT__ACCESS_TOKEN`,
    `SOURCES__SALESFORCE__ACCESS_TOKEN`) or an OAuth app's client settings, as the
    systems' configspec classes (`HubSpotCredentials`, `SalesforceCredentials`) read them.
    Configuring one system but not the other is an error, not a silent half-demo: the
    missing keys are named.
    """

    def setting(key: str) -> Any:
        return dlt.secrets.get(f"sources.{key}") or dlt.config.get(f"sources.{key}")

    hubspot = configured("hubspot", HubSpotCredentials)
    salesforce = configured("salesforce", SalesforceCredentials)
    if hubspot is None and salesforce is None:
        return None
    if hubspot is None:
        raise ValueError(
            "Salesforce is configured but HubSpot is not: set "
            "SOURCES__HUBSPOT__ACCESS_TOKEN, or the OAuth app's SOURCES__HUBSPOT__CLIENT_ID, "
            "..._CLIENT_SECRET and ..._REFRESH_TOKEN (and SOURCES__HUBSPOT__BASE_URL if "
            "not api.hubapi.com)"
        )
    if salesforce is None:
        raise ValueError(
            "HubSpot is configured but Salesforce is not: set "
            "SOURCES__SALESFORCE__INSTANCE_URL and SOURCES__SALESFORCE__ACCESS_TOKEN "
            "(or the OAuth client settings)"
        )
    return Connections(
        hubspot=hubspot,
        salesforce=salesforce,
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
            # DuckDB cannot tell a catalog from a schema of the same name.
            raise ValueError(f"the warehouse file may not be named {warehouse.name}")
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        credentials: Any = str(warehouse)
        if feed in DUCKDB_SETTINGS:
            credentials = DuckDbCredentials(credentials, global_config=DUCKDB_SETTINGS[feed])
        destination = dlt.destinations.duckdb(credentials)
    # Loaded files and the merge's staging copies would otherwise keep every row a run
    # loaded, personal data included, after it is in the warehouse (and after an erasure).
    dlt.config["load.delete_completed_jobs"] = True
    dlt.config["load.truncate_staging_dataset"] = True
    progress = Settings.from_env().dlt_progress  # "off" for quiet runs
    pipeline = dlt.pipeline(
        pipeline_name=f"leadbridge_{feed}",
        pipelines_dir=str(pipelines_dir),
        destination=destination,
        dataset_name=feed,
        **({} if progress == "off" else {"progress": progress}),
    )
    if feed == "files":  # the one feed that appends: a crashed package must not append twice
        undo_unfinished_appends(pipeline)
    return pipeline


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
