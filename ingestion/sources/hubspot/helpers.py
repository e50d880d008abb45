"""HubSpot's API as the resources read it: sign-in, limits, paging, rows and cursors.

Search pages through at most 10,000 results a query, so `search_since` starts a new
query from the last `lastmodifieddate` seen (ascending order makes that safe; repeated
boundary rows merge away on `id`). `Cursor` is a time cursor kept in a resource's dlt
state that, like dlt's incremental, skips the rows it ended on last time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue

from ingestion.sources.api import ApiClient, ApiCredentials, ApiError, OAuthToken
from ingestion.sources.hubspot.settings import (
    BASE_URL,
    FORM_SUBMISSIONS,
    HISTORY_BATCH,
    HISTORY_PROPERTIES,
    MAX_PAGE,
    SEARCH_PER_SECOND,
    SEARCH_WINDOW,
)
from ingestion.sources.limits import LimitRules, Reading
from ingestion.sources.records import EPOCH, Table, to_timestamp


@configspec
class HubSpotPrivateApp(ApiCredentials):
    """A private app's access token (`SOURCES__HUBSPOT__ACCESS_TOKEN`)."""

    access_token: TSecretStrValue = None
    base_url: str = BASE_URL
    auth_hint: ClassVar[str] = "SOURCES__HUBSPOT__ACCESS_TOKEN"

    def connect(self) -> tuple[str, str | OAuthToken]:
        """The base URL and the private app's token."""
        return self.base_url, self.access_token


@configspec
class HubSpotOAuthApp(ApiCredentials):
    """An OAuth app: access tokens from its refresh token, renewed before they expire."""

    client_id: str = None
    client_secret: TSecretStrValue = None
    refresh_token: TSecretStrValue = None
    base_url: str = BASE_URL
    auth_hint: ClassVar[str] = (
        "SOURCES__HUBSPOT__CLIENT_ID, SOURCES__HUBSPOT__CLIENT_SECRET and "
        "SOURCES__HUBSPOT__REFRESH_TOKEN"
    )

    def connect(self) -> tuple[str, str | OAuthToken]:
        """The base URL and a token fetched from `/oauth/v1/token` on first use."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        token_url = self.base_url.rstrip("/") + "/oauth/v1/token"
        return self.base_url, OAuthToken("HubSpot", token_url, form, self.auth_hint)


# The ways to sign in, in the order they are tried (`api.credentials_from`).
HubSpotCredentials = HubSpotPrivateApp | HubSpotOAuthApp


def hubspot_client(credentials: ApiCredentials, **options: Any) -> ApiClient:
    """The portal's API client, paced by HubSpot's limits (`options` as for `ApiClient`: `usage`,
    retries): the one way the source and the write-back connect."""
    return ApiClient.signed_in(
        "HubSpot", credentials, "SOURCES__HUBSPOT__BASE_URL", rules=HubSpotLimits(), **options
    )


class HubSpotLimits(LimitRules):
    """HubSpot's limits as its API usage guidelines state them: a rolling burst window per
    app (`X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`), a daily limit
    for private apps (`-Daily`, `-Daily-Remaining`), and 4 requests/s per token on search.
    A 429's `policyName` says which limit refused the call."""

    def windows(self, path: str) -> dict[str, tuple[int, float] | None]:
        """The burst window for every call; search's own per-second one on search."""
        if path.endswith("/search"):
            return {"burst": None, "search": (SEARCH_PER_SECOND, 1.0)}
        return {"burst": None}

    def read(self, response: Any) -> Reading:
        """The burst window and daily quota from the `X-HubSpot-RateLimit-*` headers."""
        h = response.headers
        window = daily = None
        try:
            if "X-HubSpot-RateLimit-Max" in h:
                seconds = int(h["X-HubSpot-RateLimit-Interval-Milliseconds"]) / 1000
                max_, remaining = h["X-HubSpot-RateLimit-Max"], h["X-HubSpot-RateLimit-Remaining"]
                window = ("burst", int(max_), int(remaining), seconds)
            if "X-HubSpot-RateLimit-Daily" in h:
                limit = int(h["X-HubSpot-RateLimit-Daily"])
                daily = (limit - int(h["X-HubSpot-RateLimit-Daily-Remaining"]), limit)
        except (KeyError, ValueError):
            pass  # a header missing or garbled: no reading rather than a failed load
        return Reading(window, daily)

    def retry_wait(self, response: Any) -> float | None:
        """A refusal for a rolling limit waits for its window to move on."""
        policy = _policy(response)
        if policy == "SECONDLY":
            return 1.0
        if policy == "TEN_SECONDLY_ROLLING":
            interval = response.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "")
            return int(interval) / 1000 if interval.isdigit() else 10.0
        return None

    def daily_spent(self, response: Any) -> bool:
        """A 429 for the DAILY policy: nothing more today."""
        return _policy(response) == "DAILY"


def _policy(response: Any) -> str | None:
    """The `policyName` of a 429 answer."""
    if response.status_code != 429:
        return None
    try:
        return str(response.json().get("policyName") or "") or None
    except (ValueError, AttributeError):
        return None


def ms(value: datetime) -> str:
    """Epoch milliseconds, as HubSpot's filters and timestamps take them."""
    return str(int(value.timestamp() * 1000))


def object_row(obj: dict[str, Any], table: Table) -> dict[str, Any]:
    """One CRM object as one row: its properties beside its object-level fields."""
    row = dict(obj.get("properties") or {})
    row.pop("hs_object_id", None)
    for field in table.extra_columns:
        row[field] = obj.get(field)
    if "archived" in row:
        row["archived"] = bool(row["archived"])
    # `associations=contacts` on the list API: the ids as `contact_ids`, `;`-separated.
    for kind, linked in (obj.get("associations") or {}).items():
        ids = {str(a["id"]) for a in (linked or {}).get("results") or []}
        row[f"{kind.removesuffix('s')}_ids"] = ";".join(sorted(ids, key=lambda i: (len(i), i)))
    # Types are applied column-wise when the rows become an Arrow table (`Table.arrow`).
    return row


class HubSpotApi:
    """The HubSpot endpoints Leadbridge reads, with their paging styles."""

    def __init__(self, client: ApiClient, page_size: int = 1000) -> None:
        self.client = client
        self._page_size = page_size

    def limit(self, endpoint: str) -> int:
        """Page size for an endpoint kind: the configured size within the API's maximum."""
        return max(1, min(self._page_size, MAX_PAGE[endpoint]))

    def pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[list[dict]]:
        """GET pages that link on with `paging.next.after` (v3 and form APIs)."""
        query = dict(params or {})
        while True:
            body = self.client.request("GET", path, params=query)
            yield body.get("results", [])
            after = ((body.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return
            query["after"] = after

    def event_pages(self, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Pages of the legacy email events API, which links on with `offset`."""
        while True:
            body = self.client.request("GET", "/email/public/v1/events", params=params)
            yield body.get("events", [])
            if not body.get("hasMore") or not body.get("offset"):
                return
            params["offset"] = body["offset"]

    def custom_properties(self, object_type: str) -> list[str]:
        """Names of the portal's own properties of an object type."""
        body = self.client.request("GET", f"/crm/v3/properties/{object_type}")
        return [p["name"] for p in body.get("results", []) if not p.get("hubspotDefined", True)]

    def search_since(
        self, object_type: str, cursor: str, since: datetime, properties: list[str]
    ) -> Iterator[list[dict]]:
        """Objects modified at or after `since`, ascending, across the 10k search window."""
        lower = since
        while True:
            body_template = {
                "filterGroups": [
                    {"filters": [{"propertyName": cursor, "operator": "GTE", "value": ms(lower)}]}
                ],
                "sorts": [{"propertyName": cursor, "direction": "ASCENDING"}],
                "properties": properties,
                "limit": self.limit("search"),
            }
            after: str | None = None
            last_seen: datetime | None = None
            while True:
                body = dict(body_template, **({"after": after} if after else {}))
                page = self.client.request(
                    "POST", f"/crm/v3/objects/{object_type}/search", json_body=body
                )
                results = page.get("results", [])
                yield results
                if results:
                    last_seen = to_timestamp(results[-1]["properties"].get(cursor)) or last_seen
                after = ((page.get("paging") or {}).get("next") or {}).get("after")
                if not after:
                    return
                if int(after) + self.limit("search") > SEARCH_WINDOW:
                    break
            if last_seen is None or last_seen <= lower:
                raise ApiError(
                    "HubSpot",
                    "POST",
                    f"/crm/v3/objects/{object_type}/search",
                    None,
                    f"more than {SEARCH_WINDOW} objects share {cursor}={lower.isoformat()}; "
                    "the search window cannot page past them",
                )
            lower = last_seen

    def history(self, ids: list[str]) -> list[dict]:
        """Contacts with `propertiesWithHistory`, read in batches of 50."""
        results: list[dict] = []
        for start in range(0, len(ids), HISTORY_BATCH):
            body = {
                "inputs": [{"id": i} for i in ids[start : start + HISTORY_BATCH]],
                "properties": [],
                "propertiesWithHistory": list(HISTORY_PROPERTIES),
            }
            # the history completes a contacts page already loaded: not cut by the quota
            page = self.client.request(
                "POST", "/crm/v3/objects/contacts/batch/read", json_body=body, budgeted=False
            )
            results.extend(page.get("results", []))
        return results


class Cursor:
    """A time cursor that, like dlt's incremental, skips the rows it ended on last time.

    Queries ask for `>= since` so that nothing written in the same millisecond as the
    last row is missed; the ids already loaded at exactly `since` are then dropped.
    """

    def __init__(self, since: datetime, seen_at_since: set[str], key: str = "id") -> None:
        self.since = since
        self._seen = seen_at_since
        self._key = key
        self.newest, self.newest_ids = since, set(seen_at_since)
        self.oldest: datetime | None = None  # of the rows kept

    @classmethod
    def restore(
        cls, state: dict[str, Any], name: str, default: datetime = EPOCH, key: str = "id"
    ) -> Cursor:
        """The cursor as the last successful load left it (`default` on a first run)."""
        since = to_timestamp(state.get(f"{name}_since")) or default
        return cls(since, set(state.get(f"{name}_ids", [])), key)

    def keep(self, rows: list[dict[str, Any]], field: str) -> list[dict[str, Any]]:
        """The rows not loaded before; remembers the newest value and the ids there."""
        kept = []
        for row in rows:
            value = to_timestamp(row.get(field)) if row.get(field) not in (None, "") else None
            if not isinstance(value, datetime):
                if value is not None:
                    kept.append(row)  # unparseable: `Table.arrow` refuses it by name
                continue
            if value < self.since:
                continue
            if value == self.since and row[self._key] in self._seen:
                continue
            kept.append(row)
            self.oldest = value if self.oldest is None else min(self.oldest, value)
            if value > self.newest:
                self.newest, self.newest_ids = value, {row[self._key]}
            elif value == self.newest:
                self.newest_ids.add(row[self._key])
        return kept

    def save(self, state: dict[str, Any], name: str) -> None:
        """Store the cursor in the resource's dlt state (committed with the load)."""
        state[f"{name}_since"] = self.newest.isoformat()
        state[f"{name}_ids"] = sorted(self.newest_ids)


def carried_over(state: dict[str, Any], cursor: str) -> datetime:
    """The last value of dlt's incremental `cursor`, which these resources used before they
    kept cursors of their own, so an existing warehouse does not load everything again."""
    last = ((state.get("incremental") or {}).get(cursor) or {}).get("last_value")
    return to_timestamp(last) if last is not None else EPOCH


def submission_row(form_id: str, submission: dict[str, Any]) -> dict[str, Any]:
    """One form submission as a `form_submissions` row."""
    values = submission.get("values") or []
    email = next((v.get("value") for v in values if v.get("name") == "email"), None)
    return FORM_SUBMISSIONS.coerce(
        {
            "conversion_id": submission.get("conversionId"),
            "form_id": form_id,
            "submitted_at": submission.get("submittedAt"),
            "page_url": submission.get("pageUrl"),
            "email": email,
            "values": values,
        }
    )


def new_events(
    api: HubSpotApi, cursor: Cursor, stop: Any, until: datetime | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Pages of the events from the cursor (to `until`, inclusive) not loaded before."""
    params: dict[str, Any] = {"startTimestamp": ms(cursor.since), "limit": api.limit("events")}
    if until is not None:
        params["endTimestamp"] = ms(until)
    for page in stop.pages(api.event_pages(params)):
        yield cursor.keep([event_row(e) for e in page], "created")


def event_row(event: dict[str, Any]) -> dict[str, Any]:
    """One legacy email event as an `email_events` row."""
    row = {
        k: event.get(k)
        for k in (
            "id",
            "type",
            "recipient",
            "emailCampaignId",
            "created",
            "url",
            "portalId",
            "appId",
        )
    }
    row["id"] = str(row["id"]) if row["id"] is not None else None
    # STATUSCHANGE events carry the portal-wide subscription status (e.g. UNSUBSCRIBED).
    row["subscriptionStatus"] = event.get("portalSubscriptionStatus")
    return row
