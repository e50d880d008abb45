"""Ingestion assets: one dlt multi-asset per feed of `ingestion.pipelines.FEEDS`.

Asset keys are `[feed, table]`, the dbt source keys of the same tables, so dagster-dbt
wires every source to its dlt asset with no mapping. Each run builds the sources from
the `SourceSystems` resource (real accounts or the demo simulator). A failed step is
retried with backoff unless its error is permanent (a refused credential, a missing
setting, data the schema contract refuses); a quota stop is no failure. Each
materialization carries the feed's `api_usage`; after its load a step pseudonymizes
again the erased people a source sent back. Why, at length: docs/operations.md.
"""

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from dlt import Pipeline
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.schema.exceptions import SchemaException

from ingestion.pipelines import FEEDS, api_usage, loader_file_format, make_pipeline
from ingestion.sources.api import ApiError, ConfigError
from ingestion.sources.files import REJECTED_FILES, rejected_files
from ingestion.sources.limits import ApiUsage, QuotaReached
from leadbridge.engine import target_name
from leadbridge.erasure import reapply_after_load
from orchestration.defs.freshness import source_freshness_policies
from orchestration.defs.resources import SourceSystems, Warehouse, dbt_project

_PLACEHOLDERS: dict[str, dict[str, Any]] = {
    "hubspot": {"access_token": "definition-time", "base_url": "http://definition.invalid"},
    "salesforce": {"access_token": "definition-time", "instance_url": "http://definition.invalid"},
    "files": {"drop_dir": "definition-time"},
}
_DEFINITION_DIR = Path(tempfile.gettempdir()) / "leadbridge-definitions"

# 3 retries after 30 s, 60 s, 120 s (each ±50 %): rides out an API outage of a few
# minutes without holding the nightly run for long.
INGEST_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3,
    delay=30,
    backoff=dg.Backoff.EXPONENTIAL,
    jitter=dg.Jitter.PLUS_MINUS,
)


def _is_permanent(error: BaseException) -> bool:
    """A setting or a request that will fail the same way however often it is retried."""
    for cause in _chain(error):
        # a refused schema contract, a terminally failed load job, text in another encoding:
        # the same data fails again
        # ... and a spent quota is spent until tomorrow
        if isinstance(
            cause,
            ConfigError
            | SchemaException
            | DestinationTerminalException
            | UnicodeDecodeError
            | QuotaReached,
        ):
            return True
        if isinstance(cause, ApiError):
            return cause.permanent
    return False


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and its causes (dlt wraps a source's exception in its own)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


class FeedTranslator(DagsterDltTranslator):
    """`[feed, table]` keys in the `ingestion` group, without placeholder upstreams, with
    the freshness their dbt source declares."""

    freshness = source_freshness_policies()

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
            kinds={"dlt", target_name()},
            freshness_policy=self.freshness.get(dg.AssetKey([feed, str(resource.table_name)])),
        )


def _feed_assets(feed: str) -> dg.AssetsDefinition:
    definition_source = FEEDS[feed].make_source(**_PLACEHOLDERS[feed])
    definition_pipeline = make_pipeline(
        feed, _DEFINITION_DIR / "definitions.duckdb", _DEFINITION_DIR / "pipelines"
    )

    @dg.multi_asset(
        name=f"ingest_{feed}",
        can_subset=True,
        specs=build_dlt_asset_specs(
            dlt_source=definition_source,
            dlt_pipeline=definition_pipeline,
            dagster_dlt_translator=FeedTranslator(),
        ),
        retry_policy=INGEST_RETRY_POLICY,
    )
    def _assets(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        warehouse: Warehouse,
        sources: SourceSystems,
    ) -> Iterator[Any]:
        usage = api_usage(feed)
        settings = sources.connections.for_feed(feed)
        source = FEEDS[feed].make_source(**settings, **({"usage": usage} if usage else {}))
        engine = warehouse.engine
        pipeline = make_pipeline(
            feed, warehouse.file, engine.pipelines_dir, engine.dlt_destination()
        )
        file_format = loader_file_format(feed, pipeline)
        context.log.info(
            f"loading {feed} ({sources.mode} sources) into {engine.name} "
            f"{engine.location} ({file_format} files)"
        )
        try:
            # dagster-dlt reports once the whole load is done, so the usage is final here
            events = list(
                dlt.run(
                    context=context,
                    dlt_source=source,
                    dlt_pipeline=pipeline,
                    loader_file_format=file_format,
                )
            )
        except Exception as error:
            if _is_permanent(error):
                raise dg.Failure(description=f"{feed}: {error}", allow_retries=False) from error
            raise
        if usage is not None:
            _log_usage(context, feed, usage)
        engine.declare_loaded(feed, pipeline)
        for event in events:
            yield _with_api_usage(usage, _with_rejected_files(context, pipeline, event))
        # Inside the step, so no check or model reads an erased person's new rows first.
        erased = reapply_after_load(engine, dbt_project().manifest_path, feed)
        if erased:
            context.log.info(
                f"{feed}: pseudonymized {sum(erased.values())} values of people erased "
                f"earlier, loaded again ({', '.join(sorted(erased))})"
            )

    return _assets


API_USAGE = "api_usage"  # metadata key of a metered feed's `ApiUsage.as_metadata()`
STOPPED_AT_QUOTA = "stopped_at_quota"


def _log_usage(context: dg.AssetExecutionContext, feed: str, usage: ApiUsage) -> None:
    figures = usage.as_metadata()
    share = figures["quota_share_used"]
    context.log.info(
        f"{feed}: {usage.calls} API calls, {usage.refused} refused by a limit, "
        f"{usage.paced_seconds:.1f} s paced"
        + (f", {share:.2%} of the daily limit of {usage.daily_limit}" if share is not None else "")
    )
    if usage.stopped_at_quota:
        context.log.warning(
            f"{feed}: stopped at the night's quota share ({usage.quota_share:.0%}); "
            f"{', '.join(usage.stopped)} loaded only in part, the next night resumes them"
        )


def _with_api_usage(usage: ApiUsage | None, event: dg.MaterializeResult) -> dg.MaterializeResult:
    """A materialization with its feed's API usage and whether its table stopped early."""
    if usage is None:
        return event
    table = event.asset_key.path[-1]
    metadata = {
        **(event.metadata or {}),
        API_USAGE: dg.MetadataValue.json(usage.as_metadata()),
        STOPPED_AT_QUOTA: dg.MetadataValue.bool(table in usage.stopped),
    }
    return event._replace(metadata=metadata)


def _with_rejected_files(
    context: dg.AssetExecutionContext, pipeline: Pipeline, event: dg.MaterializeResult
) -> dg.MaterializeResult:
    """A materialization with the files its resource set aside this run, each logged."""
    rejected = rejected_files(pipeline, event.asset_key.path[-1])
    if rejected is None:  # a resource that reads no files
        return event
    for entry in rejected:
        context.log.warning(
            f"file {entry['file']} set aside, none of its rows loaded: {entry['reason']} "
            f"(moved to {entry['moved_to']})"
        )
    metadata = {**(event.metadata or {}), REJECTED_FILES: dg.MetadataValue.json(rejected)}
    return event._replace(metadata=metadata)


INGEST_ASSETS = [_feed_assets(feed) for feed in FEEDS]
