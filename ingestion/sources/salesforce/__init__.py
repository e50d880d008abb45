"""The Salesforce source: one incremental merge resource per sObject.

Every object is read with `queryAll`, so deleted and merged-away rows arrive with
`IsDeleted = true`, incrementally on `SystemModstamp` (`LeadHistory`, which has none, on
`CreatedDate` with a look-back window). Bulk API 2.0 (`bulk.py`) reads an object's first
load and any night whose REST query matches more than `bulk_threshold` rows. At the
night's quota an object stops at a page boundary, its ascending cursor on the last page
loaded. Decisions and their reasons: docs/decisions/004-connector-reads.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.sources.api import ConfigError, credentials_from
from ingestion.sources.limits import ApiUsage
from ingestion.sources.records import EPOCH, Table
from ingestion.sources.salesforce.bulk import BulkQuery, BulkSettings, BulkUnsupported
from ingestion.sources.salesforce.helpers import (
    READ_ONCE,
    SalesforceApi,
    SalesforceCredentials,
    first_load,
    salesforce_client,
    select_list,
    soql_datetime,
)
from ingestion.sources.salesforce.settings import (
    API_VERSION,
    MAX_BATCH_SIZE,
    NO_DELETED_FLAG,
    OBJECTS,
)

log = logging.getLogger(__name__)


def _object_resource(
    api: SalesforceApi,
    bulk: BulkQuery,
    sobject: str,
    table: Table,
    history_lookback_days: float,
) -> DltResource:
    lag = history_lookback_days * 86400 if table.cursor == "CreatedDate" else None

    @table.resource()
    def rows(
        cursor: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            table.cursor, initial_value=EPOCH, lag=lag, primary_key=table.primary_key
        ),
    ) -> Iterator[pa.Table]:
        stop = api.client.usage.guard(table.name)
        with stop:
            fields, custom = select_list(api, sobject, table)
        if stop:
            return
        where = f"{table.cursor} >= {soql_datetime(cursor.start_value)}"
        deleted = sobject not in NO_DELETED_FLAG
        soql = (
            f"SELECT {', '.join(fields)} FROM {sobject} WHERE {where} ORDER BY {table.cursor} ASC"
        )
        first = None  # the REST query's first page, once asked
        if bulk.settings.enabled and not first_load(cursor):
            with stop:
                first = api.open_query(soql, include_deleted=deleted)
            if stop:
                return
        read_in_bulk = False
        if bulk.settings.enabled and (
            first is None or first["totalSize"] > bulk.settings.threshold
        ):
            reason = "first load" if first is None else f"{first['totalSize']} rows to read"
            log.info("Salesforce %s: %s, read with Bulk API 2.0", sobject, reason)
            try:
                # A job's results come in no order: the quota may stop the read only before
                # the job starts; its polls and results sets finish what it began.
                yield from stop.pages(
                    bulk.tables(
                        sobject,
                        fields,
                        where,
                        include_deleted=deleted,
                        table=table,
                        custom_types=custom,
                    )
                )
                read_in_bulk = True
            except BulkUnsupported as refused:
                log.warning("%s; reading %s with the REST query API instead", refused, sobject)
            if stop:
                return
        if not read_in_bulk:
            # Ascending: dlt's cursor ends on the last row loaded when the quota stops pages.
            pages = api.query(soql, include_deleted=deleted, first=first)
            yield from table.batches(stop.pages(pages))
        if not stop:
            dlt.current.resource_state()[READ_ONCE] = True

    return rows


@dlt.source(name="salesforce", max_table_nesting=0)
def salesforce_source(
    instance_url: str | None = dlt.config.value,
    access_token: str | None = dlt.secrets.value,
    client_id: str | None = dlt.secrets.value,
    client_secret: str | None = dlt.secrets.value,
    refresh_token: str | None = dlt.secrets.value,
    login_url: str | None = dlt.config.value,
    history_lookback_days: float = 3,
    objects: list[str] | None = None,
    batch_size: int = MAX_BATCH_SIZE,
    request_max_attempts: int = 6,
    request_backoff_factor: float = 0.5,
    bulk_api: bool = True,
    bulk_threshold: int = 10_000,
    bulk_max_records: int = 50_000,
    bulk_timeout: float = 3600,
    usage: ApiUsage | None = None,
) -> list[DltResource]:
    """Salesforce CRM objects as incremental merge resources, one per sObject.

    Configure with `SOURCES__SALESFORCE__INSTANCE_URL` + `SOURCES__SALESFORCE__ACCESS_TOKEN`
    or the OAuth2 client settings; `objects` restricts the sObjects loaded; `batch_size`
    sets the query page size; the request settings tune retries. Bulk API 2.0 reads first
    loads and nights of more than `bulk_threshold` rows (`bulk_api=False`: REST only), in
    results sets of `bulk_max_records`, waiting at most `bulk_timeout` seconds for a job;
    `usage` sets the night's quota share and collects the calls spent.
    """
    bulk_settings = BulkSettings(bulk_api, bulk_threshold, bulk_max_records, bulk_timeout)
    credentials = credentials_from(
        "salesforce",
        SalesforceCredentials,
        {
            "access_token": access_token,
            "instance_url": instance_url,
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
            "login_url": login_url,
        },
    )
    client = salesforce_client(
        credentials,
        usage=usage,
        max_attempts=request_max_attempts,
        backoff_factor=request_backoff_factor,
    )
    api = SalesforceApi(client, batch_size=batch_size)
    bulk = BulkQuery(
        client, f"/services/data/{API_VERSION}", bulk_settings, backoff=request_backoff_factor
    )
    chosen = objects or list(OBJECTS)
    unknown = sorted(set(chosen) - set(OBJECTS))
    if unknown:
        raise ConfigError(f"unknown Salesforce object(s) {unknown}; known: {sorted(OBJECTS)}")
    return [_object_resource(api, bulk, o, OBJECTS[o], history_lookback_days) for o in chosen]
