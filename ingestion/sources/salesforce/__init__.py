"""Salesforce (sales) through the REST query API, one merge table per sObject.

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
- Auth: an access token with its instance URL, or the OAuth2 client-credentials or
  refresh-token flow against `login_url`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.sources.api import ApiClient, ApiError, ConfigError, require
from ingestion.sources.records import Table

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


def soql_datetime(value: datetime) -> str:
    """A SOQL datetime literal (UTC, whole seconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceApi:
    """The query API of one org: SOQL paging through `nextRecordsUrl`, describe, OAuth."""

    def __init__(self, client: ApiClient, batch_size: int = MAX_BATCH_SIZE) -> None:
        self.client = client
        self.batch_size = max(200, min(batch_size, MAX_BATCH_SIZE))

    def query(self, soql: str, *, include_deleted: bool) -> Iterator[list[dict[str, Any]]]:
        """Yield the records of a SOQL query page by page, without `attributes`."""
        endpoint = "queryAll" if include_deleted else "query"
        headers = {"Sforce-Query-Options": f"batchSize={self.batch_size}"}
        page = self.client.request(
            "GET",
            f"/services/data/{API_VERSION}/{endpoint}",
            params={"q": soql},
            headers=headers,
        )
        while True:
            records = page.get("records", [])
            for record in records:
                record.pop("attributes", None)
            yield records
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self.client.request("GET", next_url, headers=headers)

    def field_names(self, sobject: str) -> tuple[set[str], list[str]]:
        """All field names of an sObject, and its custom fields, from `describe`."""
        described = self.client.request(
            "GET", f"/services/data/{API_VERSION}/sobjects/{sobject}/describe"
        )
        fields = described.get("fields", [])
        return {f["name"] for f in fields}, [f["name"] for f in fields if f.get("custom")]


def _select_list(api: SalesforceApi, sobject: str, table: Table) -> list[str]:
    known, custom = api.field_names(sobject)
    missing = [f for f in table.fields if f not in known]
    if missing:
        log.warning("Salesforce %s has no field(s) %s; they stay empty", sobject, missing)
    return [f for f in table.fields if f in known] + [f for f in custom if f not in table.fields]


def _object_resource(
    api: SalesforceApi, sobject: str, table: Table, history_lookback_days: float
) -> DltResource:
    lag = history_lookback_days * 86400 if table.cursor == "CreatedDate" else None

    @table.resource()
    def rows(
        cursor: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            table.cursor, initial_value=EPOCH, lag=lag, primary_key=table.primary_key
        ),
    ) -> Iterator[pa.Table]:
        fields = ", ".join(_select_list(api, sobject, table))
        soql = (
            f"SELECT {fields} FROM {sobject}"
            f" WHERE {table.cursor} >= {soql_datetime(cursor.start_value)}"
            f" ORDER BY {table.cursor} ASC"
        )
        yield from table.batches(api.query(soql, include_deleted=sobject not in _NO_DELETED_FLAG))

    return rows


def _access(
    instance_url: str | None,
    access_token: str | None,
    client_id: str | None,
    client_secret: str | None,
    refresh_token: str | None,
    login_url: str | None,
) -> tuple[str, str]:
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
    from dlt.sources.helpers.requests import Client

    response = Client(raise_for_status=False).session.post(
        login.rstrip("/") + "/services/oauth2/token",
        data={**grant, "client_id": client_id, "client_secret": client_secret},
    )
    if response.status_code != 200:
        raise ApiError(
            "Salesforce",
            "POST",
            response.url,
            response.status_code,
            "OAuth token request refused; check SOURCES__SALESFORCE__CLIENT_ID, "
            "SOURCES__SALESFORCE__CLIENT_SECRET and SOURCES__SALESFORCE__REFRESH_TOKEN",
        )
    body = response.json()
    return body.get("instance_url") or require(instance_url, "salesforce.instance_url"), body[
        "access_token"
    ]


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
) -> list[DltResource]:
    """Salesforce CRM objects as incremental merge resources, one per sObject.

    Configure with `SOURCES__SALESFORCE__INSTANCE_URL` + `SOURCES__SALESFORCE__ACCESS_TOKEN`
    or the OAuth2 client settings; `objects` restricts the sObjects loaded; `batch_size`
    sets the query page size; the request settings tune retries.
    """
    url, token = _access(
        instance_url, access_token, client_id, client_secret, refresh_token, login_url
    )
    api = SalesforceApi(
        ApiClient(
            "Salesforce",
            url,
            token,
            auth_hint="SOURCES__SALESFORCE__ACCESS_TOKEN",
            url_hint="SOURCES__SALESFORCE__INSTANCE_URL",
            max_attempts=request_max_attempts,
            backoff_factor=request_backoff_factor,
        ),
        batch_size=batch_size,
    )
    chosen = objects or list(OBJECTS)
    unknown = sorted(set(chosen) - set(OBJECTS))
    if unknown:
        raise ConfigError(f"unknown Salesforce object(s) {unknown}; known: {sorted(OBJECTS)}")
    return [_object_resource(api, o, OBJECTS[o], history_lookback_days) for o in chosen]
