"""Salesforce (sales) through the REST query API and Bulk API 2.0, one merge table per sObject.

Decisions:
- Every object is read with `queryAll`, not `query`, so deleted and merged-away rows
  arrive with `IsDeleted = true` (and `MasterRecordId` on merged leads, contacts and
  accounts) instead of vanishing from the warehouse.
- Incremental on `SystemModstamp` (it moves on every change, including system ones,
  and is stamped when a row is written, so late rows are not missed). `LeadHistory`
  has no modstamp: it uses `CreatedDate` with a look-back window, because Salesforce
  writes some history rows later than their `CreatedDate`. The window re-reads a few
  days of lead history; the merge on `Id` keeps that free of duplicates.
- The SOQL filter uses `>=` on the last cursor truncated to the second (SOQL literals
  have no fractions); rows at the boundary come again and dlt drops them by key.
- Fields: the declared ones that the org's `describe` knows, plus every custom field
  (`__c`), so a new custom field lands as a new column without a code change.
- Query pages reach dlt as Arrow tables of up to 20,000 rows (`Table.batches`, declared
  types enforced there), loaded as Parquet; dlt's incremental de-duplicates the
  boundary rows on the Arrow table by `Id`.
- Bulk API 2.0 (`bulk.py`) reads an object's first load and any night whose REST query
  matches more than `bulk_threshold` rows (its `totalSize`); docs/decisions/002.
- Auth: an access token with its instance URL, or the OAuth2 client-credentials or
  refresh-token flow against `login_url`; a session that ends mid-run
  (`INVALID_SESSION_ID`) is renewed by that flow and the same request sent again.
- Limits (`SalesforceLimits`): every call counts against the org's daily allocation
  (`Sforce-Limit-Info`); at the night's quota share an object stops at a page boundary,
  its ascending cursor standing on the last page loaded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.sources.api import ApiClient, ConfigError, OAuthToken, require
from ingestion.sources.limits import ApiUsage, LimitRules, Reading
from ingestion.sources.records import Table
from ingestion.sources.salesforce.bulk import BulkQuery, BulkSettings, BulkUnsupported

log = logging.getLogger(__name__)

API_VERSION = "v61.0"
MAX_BATCH_SIZE = 2000  # records per query page; Salesforce accepts 200-2000
_AUDIT = "IsDeleted:bool, CreatedDate:timestamp, SystemModstamp:timestamp"

# sObject → raw table. Edit here to load another object; nothing else changes.
OBJECTS: dict[str, Table] = {
    "Lead": Table.declare(
        "lead",
        "Id, FirstName, LastName, Email, Company, Title, Phone, Status, LeadSource, Rating,"
        " OwnerId, IsConverted:bool, ConvertedDate:date, ConvertedContactId,"
        " ConvertedAccountId, ConvertedOpportunityId, MasterRecordId,"
        f" LastModifiedDate:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Contact": Table.declare(
        "contact",
        "Id, AccountId, FirstName, LastName, Email, Title, Phone, OwnerId, LeadSource,"
        f" MasterRecordId, LastModifiedDate:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Account": Table.declare(
        "account",
        "Id, Name, Website, Industry, Type, NumberOfEmployees:bigint, AnnualRevenue:double,"
        f" BillingCountry, OwnerId, MasterRecordId, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Opportunity": Table.declare(
        "opportunity",
        "Id, AccountId, ContactId, Name, StageName, Amount:double, Probability:double,"
        " CloseDate:date, IsClosed:bool, IsWon:bool, OwnerId, CampaignId, LeadSource, Type,"
        f" LastModifiedDate:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "OpportunityContactRole": Table.declare(
        "opportunity_contact_role",
        f"Id, OpportunityId, ContactId, Role, IsPrimary:bool, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "LeadHistory": Table.declare(
        "lead_history",
        "Id, LeadId, Field, OldValue, NewValue, IsDeleted:bool, CreatedById, CreatedDate:timestamp",
        cursor="CreatedDate",
        primary_key=("Id",),
    ),
    "OpportunityHistory": Table.declare(
        "opportunity_history",
        "Id, OpportunityId, StageName, Amount:double, Probability:double, CloseDate:date,"
        f" CreatedById, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Task": Table.declare(
        "task",
        "Id, WhoId, WhatId, OwnerId, Subject, Type, TaskSubtype, Status, ActivityDate:date,"
        f" CompletedDateTime:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Event": Table.declare(
        "event",
        "Id, WhoId, WhatId, OwnerId, Subject, Type, StartDateTime:timestamp,"
        f" EndDateTime:timestamp, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "User": Table.declare(
        "user",
        "Id, Name, FirstName, LastName, Email, Title, Department, IsActive:bool,"
        " CreatedDate:timestamp, SystemModstamp:timestamp",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "Campaign": Table.declare(
        "campaign",
        "Id, Name, Type, Status, StartDate:date, EndDate:date, BudgetedCost:double,"
        f" ActualCost:double, ParentId, IsActive:bool, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
    "CampaignMember": Table.declare(
        "campaign_member",
        "Id, CampaignId, LeadId, ContactId, Status, HasResponded:bool,"
        f" FirstRespondedDate:date, {_AUDIT}",
        cursor="SystemModstamp",
        primary_key=("Id",),
    ),
}

# Objects without IsDeleted are read with `query`; all others with `queryAll`.
_NO_DELETED_FLAG = {"User"}
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class SalesforceLimits(LimitRules):
    """Salesforce's limits: the org's daily API requests, reported on every answer as
    `Sforce-Limit-Info: api-usage=used/limit`; `REQUEST_LIMIT_EXCEEDED` refuses a call when
    they are spent (`TotalRequests`) or when too many long requests run at once."""

    def read(self, response: Any) -> Reading:
        """The daily quota from `Sforce-Limit-Info`."""
        match = re.search(r"api-usage=(\d+)/(\d+)", response.headers.get("Sforce-Limit-Info", ""))
        return Reading(daily=(int(match[1]), int(match[2]))) if match else Reading()

    def retry_wait(self, response: Any) -> float | None:
        """Too many concurrent long requests: wait for some to finish."""
        code, message = _error(response)
        if code == "REQUEST_LIMIT_EXCEEDED" and "TotalRequests" not in message:
            return 5.0
        return None

    def daily_spent(self, response: Any) -> bool:
        """The org's daily allocation is spent (Salesforce answers that with a 403)."""
        code, message = _error(response)
        spent = code == "REQUEST_LIMIT_EXCEEDED" and "TotalRequests" in message
        return spent and response.status_code == 403

    def session_ended(self, response: Any) -> bool:
        """The session expired or was revoked: a new token may be asked for."""
        return _error(response)[0] == "INVALID_SESSION_ID"


def _error(response: Any) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce error answer; empty strings otherwise."""
    if response.status_code < 400:
        return "", ""
    try:
        first = response.json()[0]
        return str(first.get("errorCode", "")), str(first.get("message", ""))
    except (ValueError, LookupError, AttributeError, TypeError):
        return "", ""


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal (UTC, whole seconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceApi:
    """The query API of one org: SOQL paging through `nextRecordsUrl`, describe, OAuth."""

    def __init__(self, client: ApiClient, batch_size: int = MAX_BATCH_SIZE) -> None:
        self.client = client
        self.batch_size = max(200, min(batch_size, MAX_BATCH_SIZE))

    def open_query(self, soql: str, *, include_deleted: bool) -> dict[str, Any]:
        """The first page of a SOQL query; its `totalSize` counts all the query's rows."""
        endpoint = "queryAll" if include_deleted else "query"
        return self.client.request(
            "GET",
            f"/services/data/{API_VERSION}/{endpoint}",
            params={"q": soql},
            headers=self._headers,
        )

    def query(
        self, soql: str, *, include_deleted: bool, first: dict[str, Any] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the records of a SOQL query page by page, without `attributes`; `first`
        is its first page (`open_query`) when that was asked already."""
        page = first or self.open_query(soql, include_deleted=include_deleted)
        while True:
            records = page.get("records", [])
            for record in records:
                record.pop("attributes", None)
            yield records
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self.client.request("GET", next_url, headers=self._headers)

    @property
    def _headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.batch_size}"}

    def field_names(self, sobject: str) -> tuple[set[str], dict[str, str]]:
        """All field names of an sObject, and its custom fields with their describe types."""
        described = self.client.request(
            "GET", f"/services/data/{API_VERSION}/sobjects/{sobject}/describe"
        )
        fields = described.get("fields", [])
        custom = {f["name"]: f.get("type", "string") for f in fields if f.get("custom")}
        return {f["name"] for f in fields}, custom


def _select_list(
    api: SalesforceApi, sobject: str, table: Table
) -> tuple[list[str], dict[str, str]]:
    """The fields to read, and the undeclared (custom) ones among them with their types."""
    known, custom = api.field_names(sobject)
    missing = [f for f in table.fields if f not in known]
    if missing:
        log.warning("Salesforce %s has no field(s) %s; they stay empty", sobject, missing)
    extra = {f: kind for f, kind in custom.items() if f not in table.fields}
    return [f for f in table.fields if f in known] + list(extra), extra


# Resource state: a read of the object ran to its end once (its cursor moves only with rows).
_READ_ONCE = "read_once"


def _first_load(cursor: dlt.sources.incremental[datetime]) -> bool:
    """Whether no run has read the object yet: no row loaded, no read ended."""
    moved = cursor.get_state()["last_value"] != cursor.initial_value
    return not (moved or dlt.current.resource_state().get(_READ_ONCE))


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
            fields, custom = _select_list(api, sobject, table)
        if stop:
            return
        where = f"{table.cursor} >= {soql_datetime(cursor.start_value)}"
        deleted = sobject not in _NO_DELETED_FLAG
        soql = (
            f"SELECT {', '.join(fields)} FROM {sobject} WHERE {where} ORDER BY {table.cursor} ASC"
        )
        first = None  # the REST query's first page, once asked
        if bulk.settings.enabled and not _first_load(cursor):
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
            dlt.current.resource_state()[_READ_ONCE] = True

    return rows


def _access(
    instance_url: str | None,
    access_token: str | None,
    client_id: str | None,
    client_secret: str | None,
    refresh_token: str | None,
    login_url: str | None,
) -> tuple[str, str | OAuthToken]:
    """(instance URL, access token), from a given token or an OAuth2 flow."""
    if access_token:
        return require(instance_url, "salesforce.instance_url"), access_token
    if not (client_id and client_secret):
        raise ConfigError(
            "missing Salesforce credentials: set SOURCES__SALESFORCE__INSTANCE_URL and "
            "SOURCES__SALESFORCE__ACCESS_TOKEN, or SOURCES__SALESFORCE__CLIENT_ID and "
            "SOURCES__SALESFORCE__CLIENT_SECRET (with LOGIN_URL and optionally REFRESH_TOKEN)"
        )
    login = require(login_url or instance_url, "salesforce.login_url")
    grant = (
        {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if refresh_token
        else {"grant_type": "client_credentials"}
    )
    token = OAuthToken(
        "Salesforce",
        login.rstrip("/") + "/services/oauth2/token",
        {**grant, "client_id": client_id, "client_secret": client_secret},
        "SOURCES__SALESFORCE__CLIENT_ID, SOURCES__SALESFORCE__CLIENT_SECRET and "
        "SOURCES__SALESFORCE__REFRESH_TOKEN",
    )
    token()  # the first session also names the org's instance
    url = token.answer.get("instance_url") or require(instance_url, "salesforce.instance_url")
    return url, token


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
    url, token = _access(
        instance_url, access_token, client_id, client_secret, refresh_token, login_url
    )
    client = ApiClient(
        "Salesforce",
        url,
        token,
        auth_hint="SOURCES__SALESFORCE__ACCESS_TOKEN",
        url_hint="SOURCES__SALESFORCE__INSTANCE_URL",
        max_attempts=request_max_attempts,
        backoff_factor=request_backoff_factor,
        rules=SalesforceLimits(),
        usage=usage,
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
