"""HubSpot (marketing) through its public v3 CRM, marketing and legacy event APIs.

Decisions:
- Contacts and companies are read through the CRM search API because the list API
  cannot filter by modification time. Search never returns more than 10,000 results for
  one query, so when a query nears that window we start a new one from the last
  `lastmodifieddate` seen (ascending sort makes that safe; the repeated boundary rows
  merge away on `id`).
- Search also never returns archived objects. Archiving (and merging, which archives
  the losing contact) would otherwise be invisible, so each run also scans the archived
  list for objects archived since the last run; they land with `archived = true`.
  Both cursors live in the resource's dlt state and are committed with the load.
- Property history (`propertiesWithHistory`) is only offered by the batch-read API, at
  most 50 objects a call; it is read for the contacts that changed in this run and
  flattened to one row per change.
- Form submissions come newest first with no time filter, so paging stops per form at
  the first submission older than the cursor. Email events use the legacy events API,
  filtered by `startTimestamp`.
- Every property arrives as a string; the declared column types (`records.Table`) turn
  them into numbers, timestamps and dates. Custom properties (`hubspotDefined: false`)
  are requested too, so a new custom property lands as a new column.
- Pages reach dlt as Arrow tables of up to 20,000 rows (`Table.batches`), loaded as
  Parquet: the cursor logic above works on each page's dicts first, so only rows to
  load are typed and built; the history transformer reads the ids off the Arrow table.
- Limits (`HubSpotLimits`): paced under the burst window and search's 4/s; at the night's
  quota only the ascending search moves its cursor part-way, other resources only when
  read to the end (docs/decisions/003-vendor-limits.md). OAuth tokens renew by TTL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.sources.api import ApiClient, ApiError, OAuthToken, require
from ingestion.sources.limits import ApiUsage, LimitRules, Reading
from ingestion.sources.records import Table, to_timestamp

# The largest page each endpoint serves; `page_size` can only lower them.
MAX_PAGE = {"search": 200, "list": 100, "submissions": 50, "events": 1000}
SEARCH_WINDOW = 10_000  # results one search query can page through
HISTORY_BATCH = 50  # batch read limit when propertiesWithHistory is asked for
SEARCH_PER_SECOND = 4  # per token; search answers carry no rate-limit headers to learn it from
HISTORY_PROPERTIES = ("lifecyclestage", "hs_lead_status", "hubspot_owner_id", "hubspotscore")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_OBJECT_FIELDS = "id, archived:bool, archivedAt:timestamp, createdAt:timestamp, updatedAt:timestamp"

CONTACTS = Table.declare(
    "contacts",
    "email, firstname, lastname, company, jobtitle, phone, lifecyclestage, hs_lead_status,"
    " hubspotscore:bigint, hubspot_owner_id, associatedcompanyid, hs_analytics_source,"
    " hs_analytics_source_data_1, hs_analytics_source_data_2, first_conversion_event_name,"
    " first_conversion_date:timestamp, recent_conversion_event_name,"
    " recent_conversion_date:timestamp, hs_lifecyclestage_subscriber_date:timestamp,"
    " hs_lifecyclestage_lead_date:timestamp,"
    " hs_lifecyclestage_marketingqualifiedlead_date:timestamp,"
    " hs_lifecyclestage_salesqualifiedlead_date:timestamp,"
    " hs_lifecyclestage_opportunity_date:timestamp, hs_lifecyclestage_customer_date:timestamp,"
    " hs_merged_object_ids, salesforceleadid, salesforcecontactid, createdate:timestamp,"
    " lastmodifieddate:timestamp",
    cursor="lastmodifieddate",
    extra=_OBJECT_FIELDS,
)
COMPANIES = Table.declare(
    "companies",
    "name, domain, industry, numberofemployees:bigint, annualrevenue:double, country,"
    " hubspot_owner_id, salesforceaccountid, createdate:timestamp,"
    " hs_lastmodifieddate:timestamp",
    cursor="hs_lastmodifieddate",
    extra=_OBJECT_FIELDS,
)
CONTACT_PROPERTY_HISTORY = Table.declare(
    "contact_property_history",
    "contact_id, property, value, timestamp:timestamp, source_type, source_id",
    primary_key=("contact_id", "property", "timestamp"),
)
OWNERS = Table.declare(
    "owners",
    "id, email, firstName, lastName, userId:bigint, teams:json, archived:bool,"
    " createdAt:timestamp, updatedAt:timestamp",
)
FORMS = Table.declare(
    "forms", "id, name, formType, archived:bool, createdAt:timestamp, updatedAt:timestamp"
)
FORM_SUBMISSIONS = Table.declare(
    "form_submissions",
    "conversion_id, form_id, submitted_at:timestamp, page_url, email, values:json",
    primary_key=("conversion_id",),
    cursor="submitted_at",
)
CAMPAIGNS = Table.declare(
    "campaigns",
    "hs_name, hs_start_date:date, hs_end_date:date, hs_campaign_status, hs_utm,"
    " hs_budget_items_sum_amount:double",
    extra="id, createdAt:timestamp, updatedAt:timestamp",
)
EMAIL_EVENTS = Table.declare(
    "email_events",
    "id, type, recipient, emailCampaignId:bigint, created:timestamp, url,"
    " subscriptionStatus, portalId:bigint, appId:bigint",
    cursor="created",
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


def _ms(value: datetime) -> str:
    return str(int(value.timestamp() * 1000))


def _flatten(obj: dict[str, Any], table: Table) -> dict[str, Any]:
    """One CRM object as one row: its properties beside its object-level fields."""
    row = dict(obj.get("properties") or {})
    row.pop("hs_object_id", None)
    for field in table.extra_columns:
        row[field] = obj.get(field)
    if "archived" in row:
        row["archived"] = bool(row["archived"])
    # Types are applied column-wise when the rows become an Arrow table (`Table.arrow`).
    return row


class HubSpotApi:
    """The HubSpot endpoints Leadbridge reads, with their two paging styles."""

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
                    {"filters": [{"propertyName": cursor, "operator": "GTE", "value": _ms(lower)}]}
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


class _Cursor:
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
    ) -> _Cursor:
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


def _crm_object_resource(api: HubSpotApi, object_type: str, table: Table) -> DltResource:
    """Changed objects via search plus newly archived ones via the archived list."""

    @table.resource()
    def rows() -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        modified = _Cursor.restore(state, "modified")
        archived = _Cursor.restore(state, "archived")
        stop = api.client.usage.guard(table.name)
        with stop:
            properties = list(table.fields) + [
                p for p in api.custom_properties(object_type) if p not in table.fields
            ]
        if stop:
            return
        changed = stop.pages(
            api.search_since(object_type, table.cursor, modified.since, properties)
        )
        yield from table.batches(
            modified.keep([_flatten(o, table) for o in page], table.cursor) for page in changed
        )
        # Ascending: what was read runs without a gap from the old cursor, so the cursor may
        # move that far even when the quota ended the search early.
        modified.save(state, "modified")
        if stop:
            return
        archived_params = {
            "archived": "true",
            "limit": api.limit("list"),
            "properties": ",".join(properties),
        }
        gone = stop.pages(api.pages(f"/crm/v3/objects/{object_type}", archived_params))
        yield from table.batches(
            archived.keep([_flatten(o, table) for o in page], "archivedAt") for page in gone
        )
        # Id order: only a scan read to the end (and a run that succeeds) moves this cursor.
        if not stop:
            archived.save(state, "archived")

    return rows


def _history_transformer(api: HubSpotApi, contacts: DltResource) -> DltResource:
    @CONTACT_PROPERTY_HISTORY.transformer(data_from=contacts)
    def history(page: pa.Table | list[dict[str, Any]]) -> Iterator[pa.Table]:
        # a page is an Arrow table; plain dicts are accepted too (the row path's shape)
        contacts = (
            page.select(["id", "archived"]).to_pylist() if isinstance(page, pa.Table) else page
        )
        ids = [row["id"] for row in contacts if not row.get("archived")]
        changes = []
        for obj in api.history(ids):
            for prop, versions in (obj.get("propertiesWithHistory") or {}).items():
                for v in versions:
                    changes.append(
                        {
                            "contact_id": obj["id"],
                            "property": prop,
                            "value": v.get("value"),
                            "timestamp": v.get("timestamp"),
                            "source_type": v.get("sourceType"),
                            "source_id": v.get("sourceId"),
                        }
                    )
        if changes:
            yield CONTACT_PROPERTY_HISTORY.arrow(changes)

    return history


def _list_resource(
    api: HubSpotApi,
    path: str,
    table: Table,
    params: dict | None = None,
    flatten: bool = False,
    archived_too: bool = False,
) -> DltResource:
    """A small list without a time filter: read in full, only changes (`updatedAt`) kept.

    Read whole or not at all: the list comes in id order, so rows of a part read before the
    quota stopped it could move the `updatedAt` cursor past unread changes."""

    @table.resource()
    def rows(
        updated: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updatedAt", initial_value=EPOCH
        ),
    ) -> Iterator[pa.Table]:
        stop = api.client.usage.guard(table.name)
        pages: list[list[dict]] = []
        for archived in ("false", "true") if archived_too else (None,):
            query = dict(params or {}, limit=api.limit("list"))
            if archived:
                query["archived"] = archived
            pages += stop.pages(api.pages(path, query))
        if stop:
            return
        yield from table.batches(
            [_flatten(o, table) if flatten else o for o in page] for page in pages
        )

    return rows


def _form_submissions(api: HubSpotApi) -> DltResource:
    """New submissions of every form. Forms have no time filter and page newest first, so
    each form keeps its own cursor in the resource state, moved once the form was read down
    to it: a form the quota cut short keeps its cursor and is read again the next night."""

    @FORM_SUBMISSIONS.resource()
    def rows() -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        start = _carried_over(state, "submitted_at")
        stop = api.client.usage.guard(FORM_SUBMISSIONS.name)
        with stop:
            form_ids = [
                f["id"]
                for page in api.pages("/marketing/v3/forms", {"limit": api.limit("list")})
                for f in page
            ]
        if stop:
            return

        def pages() -> Iterator[list[dict[str, Any]]]:
            for form_id in form_ids:
                name = f"form_{form_id}"
                cursor = _Cursor.restore(state, name, start, key="conversion_id")
                path = f"/form-integrations/v1/submissions/forms/{form_id}"
                for page in stop.pages(api.pages(path, {"limit": api.limit("submissions")})):
                    batch = [_submission(form_id, s) for s in page]
                    yield cursor.keep(batch, "submitted_at")
                    if any(s["submitted_at"] < cursor.since for s in batch):
                        break  # newest first: the rest of this form was loaded before
                if stop:
                    return
                cursor.save(state, name)

        yield from FORM_SUBMISSIONS.batches(pages())

    return rows


def _carried_over(state: dict[str, Any], cursor: str) -> datetime:
    """The last value of dlt's incremental `cursor`, which these resources used before they
    kept cursors of their own, so an existing warehouse does not load everything again."""
    last = ((state.get("incremental") or {}).get(cursor) or {}).get("last_value")
    return to_timestamp(last) if last is not None else EPOCH


def _submission(form_id: str, submission: dict[str, Any]) -> dict[str, Any]:
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


def _email_events(api: HubSpotApi) -> DltResource:
    """Email events since the cursor (kept in the resource state). The API serves them
    newest first, so a night the quota stops has read from the newest event down to some
    point: the range below it (`created_gap`) is read first the next night, bounded by
    `endTimestamp`, and only then does the cursor move to that night's newest event."""

    @EMAIL_EVENTS.resource()
    def rows() -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        cursor = _Cursor.restore(state, "created", _carried_over(state, "created"))
        stop = api.client.usage.guard(EMAIL_EVENTS.name)
        gap = to_timestamp(state.get("created_gap")) if state.get("created_gap") else None
        if gap is not None:
            yield from EMAIL_EVENTS.batches(_new_events(api, cursor, stop, until=gap))
            if stop:
                if cursor.oldest is not None:
                    state["created_gap"] = cursor.oldest.isoformat()
                return
            # the gap is closed: all is loaded up to the newest event of the stopped night
            cursor = _Cursor.restore(state, "created_top")
            cursor.save(state, "created")
            for key in ("created_gap", "created_top_since", "created_top_ids"):
                state.pop(key, None)
        yield from EMAIL_EVENTS.batches(_new_events(api, cursor, stop))
        if not stop:
            cursor.save(state, "created")
        elif cursor.oldest is not None:  # read from the newest event down to `oldest`
            cursor.save(state, "created_top")
            state["created_gap"] = cursor.oldest.isoformat()

    return rows


def _new_events(
    api: HubSpotApi, cursor: _Cursor, stop: Any, until: datetime | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Pages of the events from the cursor (to `until`, inclusive) not loaded before."""
    params: dict[str, Any] = {"startTimestamp": _ms(cursor.since), "limit": api.limit("events")}
    if until is not None:
        params["endTimestamp"] = _ms(until)
    for page in stop.pages(_event_pages(api, params)):
        yield cursor.keep([_email_event(e) for e in page], "created")


def _event_pages(api: HubSpotApi, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """Pages of the legacy email events API, which links on with `offset`."""
    while True:
        body = api.client.request("GET", "/email/public/v1/events", params=params)
        yield body.get("events", [])
        if not body.get("hasMore") or not body.get("offset"):
            return
        params["offset"] = body["offset"]


def _email_event(event: dict[str, Any]) -> dict[str, Any]:
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


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_source(
    base_url: str = "https://api.hubapi.com",
    access_token: str | None = dlt.secrets.value,
    client_id: str | None = dlt.secrets.value,
    client_secret: str | None = dlt.secrets.value,
    refresh_token: str | None = dlt.secrets.value,
    page_size: int = 1000,
    request_max_attempts: int = 6,
    request_backoff_factor: float = 0.5,
    usage: ApiUsage | None = None,
) -> list[DltResource]:
    """HubSpot marketing objects as incremental merge resources.

    Configure with `SOURCES__HUBSPOT__ACCESS_TOKEN` (a private-app token), or an OAuth
    app's `SOURCES__HUBSPOT__CLIENT_ID`, `..._CLIENT_SECRET` and `..._REFRESH_TOKEN`; to
    point at another server such as the built-in simulator, `SOURCES__HUBSPOT__BASE_URL`.
    `page_size` lowers every endpoint's page size (each is capped at the API's maximum);
    the request settings tune the retries on 429, 5xx and cut-off responses; `usage` sets
    the night's quota share and collects the calls spent.
    """
    auth_hint = "SOURCES__HUBSPOT__ACCESS_TOKEN"
    token: str | OAuthToken
    if access_token or not (client_id or client_secret or refresh_token):
        token = require(access_token, "hubspot.access_token")
    else:
        form = {
            "grant_type": "refresh_token",
            "client_id": require(client_id, "hubspot.client_id"),
            "client_secret": require(client_secret, "hubspot.client_secret"),
            "refresh_token": require(refresh_token, "hubspot.refresh_token"),
        }
        auth_hint = (
            "SOURCES__HUBSPOT__CLIENT_ID, SOURCES__HUBSPOT__CLIENT_SECRET and "
            "SOURCES__HUBSPOT__REFRESH_TOKEN"
        )
        token = OAuthToken("HubSpot", base_url.rstrip("/") + "/oauth/v1/token", form, auth_hint)
    api = HubSpotApi(
        ApiClient(
            "HubSpot",
            base_url,
            token,
            auth_hint=auth_hint,
            url_hint="SOURCES__HUBSPOT__BASE_URL",
            max_attempts=request_max_attempts,
            backoff_factor=request_backoff_factor,
            rules=HubSpotLimits(),
            usage=usage,
        ),
        page_size=page_size,
    )
    contacts = _crm_object_resource(api, "contacts", CONTACTS)
    campaign_props = {"properties": ",".join(CAMPAIGNS.fields)}
    return [
        contacts,
        _history_transformer(api, contacts),
        _crm_object_resource(api, "companies", COMPANIES),
        _list_resource(api, "/crm/v3/owners", OWNERS, archived_too=True),
        _list_resource(api, "/marketing/v3/forms", FORMS),
        _form_submissions(api),
        _list_resource(api, "/marketing/v3/campaigns", CAMPAIGNS, campaign_props, flatten=True),
        _email_events(api),
    ]
