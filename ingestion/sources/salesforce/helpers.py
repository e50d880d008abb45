"""Salesforce's API as the resources read it: sign-in, limits, SOQL paging, describe.

The query API pages through `nextRecordsUrl`; `select_list` reads the declared fields the
org's `describe` knows plus every custom field. A session comes from an access token with
its instance URL, or from the OAuth2 client-credentials or refresh-token flow against
`login_url`; one that ends mid-run (`INVALID_SESSION_ID`) is renewed by that flow.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

import dlt
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from ingestion.sources.api import ApiClient, ApiCredentials, ConfigError, OAuthToken, require
from ingestion.sources.limits import LimitRules, Reading
from ingestion.sources.records import Table
from ingestion.sources.salesforce.settings import API_VERSION, MAX_BATCH_SIZE

log = logging.getLogger(__name__)


MISSING_CREDENTIALS = (
    "missing Salesforce credentials: set SOURCES__SALESFORCE__INSTANCE_URL and "
    "SOURCES__SALESFORCE__ACCESS_TOKEN, or SOURCES__SALESFORCE__CLIENT_ID and "
    "SOURCES__SALESFORCE__CLIENT_SECRET (with LOGIN_URL and optionally REFRESH_TOKEN)"
)


@configspec
class SalesforceSession(ApiCredentials):
    """An access token with the URL of its org's instance."""

    access_token: TSecretStrValue = None
    instance_url: str = None
    auth_hint: ClassVar[str] = "SOURCES__SALESFORCE__ACCESS_TOKEN"

    def connect(self) -> tuple[str, str | OAuthToken]:
        """The instance URL and the token."""
        return self.instance_url, self.access_token

    @classmethod
    def missing(cls, system: str, field: str) -> ConfigError:
        """A token without its instance names the instance URL; no token, both ways in."""
        if field == "instance_url":
            return super().missing(system, field)
        return ConfigError(MISSING_CREDENTIALS)


@configspec
class SalesforceOAuthApp(ApiCredentials):
    """A connected app: sessions from the OAuth2 client-credentials flow against
    `login_url`, or the refresh-token flow when `refresh_token` is set."""

    client_id: str = None
    client_secret: TSecretStrValue = None
    refresh_token: TSecretStrValue | None = None
    login_url: str | None = None
    instance_url: str | None = None
    auth_hint: ClassVar[str] = "SOURCES__SALESFORCE__ACCESS_TOKEN"

    def connect(self) -> tuple[str, str | OAuthToken]:
        """The org's instance URL, learnt from a first session, and the token that renews it."""
        login = require(self.login_url or self.instance_url, "salesforce.login_url")
        grant = (
            {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
            if self.refresh_token
            else {"grant_type": "client_credentials"}
        )
        token = OAuthToken(
            "Salesforce",
            login.rstrip("/") + "/services/oauth2/token",
            {**grant, "client_id": self.client_id, "client_secret": self.client_secret},
            "SOURCES__SALESFORCE__CLIENT_ID, SOURCES__SALESFORCE__CLIENT_SECRET and "
            "SOURCES__SALESFORCE__REFRESH_TOKEN",
        )
        token()  # the first session also names the org's instance
        url = token.answer.get("instance_url") or require(
            self.instance_url, "salesforce.instance_url"
        )
        return url, token

    @classmethod
    def missing(cls, system: str, field: str) -> ConfigError:
        """Half a connected app: both ways in are named."""
        return ConfigError(MISSING_CREDENTIALS)


# The ways to sign in, in the order they are tried (`api.credentials_from`).
SalesforceCredentials = SalesforceSession | SalesforceOAuthApp


def salesforce_client(credentials: ApiCredentials, **options: Any) -> ApiClient:
    """The org's API client, paced by Salesforce's limits (`options` as for `ApiClient`: `usage`,
    retries): the one way the source and the write-back connect."""
    return ApiClient.signed_in(
        "Salesforce",
        credentials,
        "SOURCES__SALESFORCE__INSTANCE_URL",
        rules=SalesforceLimits(),
        **options,
    )


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


def select_list(api: SalesforceApi, sobject: str, table: Table) -> tuple[list[str], dict[str, str]]:
    """The fields to read, and the undeclared (custom) ones among them with their types."""
    known, custom = api.field_names(sobject)
    missing = [f for f in table.fields if f not in known]
    if missing:
        log.warning("Salesforce %s has no field(s) %s; they stay empty", sobject, missing)
    extra = {f: kind for f, kind in custom.items() if f not in table.fields}
    return [f for f in table.fields if f in known] + list(extra), extra


# Resource state: a read of the object ran to its end once (its cursor moves only with rows).
READ_ONCE = "read_once"


def first_load(cursor: dlt.sources.incremental[datetime]) -> bool:
    """Whether no run has read the object yet: no row loaded, no read ended."""
    moved = cursor.get_state()["last_value"] != cursor.initial_value
    return not (moved or dlt.current.resource_state().get(READ_ONCE))
