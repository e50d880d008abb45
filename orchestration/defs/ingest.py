"""Ingestion assets: one `@dlt_assets` per feed of `ingestion.pipelines.FEEDS`.

Asset keys are `[feed, table]` — the dbt source key of the same table — so dagster-dbt
connects every dbt source to the dlt asset that loads it with no per-table mapping, and
the translator drops the upstream placeholder keys dagster-dlt would otherwise invent.

At definition time the sources are built with placeholder settings only to list their
resources (no I/O happens); each run builds them again from the `SourceSystems`
resource, i.e. real accounts or the demo simulator.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.pipelines import FEEDS, make_pipeline
from orchestration.defs.resources import SourceSystems, Warehouse

_PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "hubspot": {"access_token": "definition-time", "base_url": "http://definition.invalid"},
    "salesforce": {"access_token": "definition-time", "instance_url": "http://definition.invalid"},
    "files": {"drop_dir": "definition-time"},
}
_DEFINITION_DIR = Path(tempfile.gettempdir()) / "leadbridge-definitions"


class FeedTranslator(DagsterDltTranslator):
    """`[feed, table]` keys in the `ingestion` group, without placeholder upstreams."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        """The asset spec of one dlt resource (one raw table)."""
        spec = super().get_asset_spec(data)
        resource = data.resource
        feed = resource.source_name
        return spec.replace_attributes(
            key=dg.AssetKey([feed, str(resource.table_name)]),
            deps=[],
            group_name="ingestion",
            description=f"Raw `{feed}.{resource.table_name}` loaded by dlt from "
            f"{FEEDS[feed].description}. Columns: docs/raw_tables.md.",
            kinds={"dlt", "duckdb"},
        )


def _feed_assets(feed: str) -> dg.AssetsDefinition:
    definition_source = FEEDS[feed].make_source(**_PLACEHOLDERS[feed])
    definition_pipeline = make_pipeline(
        feed, _DEFINITION_DIR / "definitions.duckdb", _DEFINITION_DIR / "pipelines"
    )

    @dlt_assets(
        dlt_source=definition_source,
        dlt_pipeline=definition_pipeline,
        name=f"ingest_{feed}",
        dagster_dlt_translator=FeedTranslator(),
    )
    def _assets(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        warehouse: Warehouse,
        sources: SourceSystems,
    ) -> Iterator[Any]:
        source = FEEDS[feed].make_source(**sources.connections.for_feed(feed))
        pipeline = make_pipeline(feed, warehouse.file, warehouse.pipelines_dir)
        context.log.info(f"loading {feed} ({sources.mode} sources) into {warehouse.file}")
        yield from dlt.run(
            context=context,
            dlt_source=source,
            dlt_pipeline=pipeline,
            loader_file_format=FEEDS[feed].loader_file_format,
        )

    return _assets


INGEST_ASSETS = [_feed_assets(feed) for feed in FEEDS]
