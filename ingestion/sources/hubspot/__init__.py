"""The HubSpot source: marketing objects and tasks as incremental merge resources.

Contacts and companies come from the CRM search API (the list API cannot filter by
modification time) plus a scan of the archived list, which search never returns; tasks
likewise but from the list API, whose answers alone carry their contacts; contacts'
property history from the batch-read API; form submissions per form, newest first; email
events from the legacy events API. Cursors live in each resource's dlt state, and at the
night's quota a resource moves its cursor only as far as it read without a gap.
Decisions and their reasons: docs/decisions/004-connector-reads.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.sources.api import credentials_from
from ingestion.sources.hubspot.helpers import (
    Cursor,
    HubSpotApi,
    HubSpotCredentials,
    carried_over,
    hubspot_client,
    new_events,
    object_row,
    submission_row,
)
from ingestion.sources.hubspot.settings import (
    BASE_URL,
    CAMPAIGNS,
    COMPANIES,
    CONTACT_PROPERTY_HISTORY,
    CONTACTS,
    EMAIL_EVENTS,
    FORM_SUBMISSIONS,
    FORMS,
    OWNERS,
    TASKS,
)
from ingestion.sources.limits import ApiUsage
from ingestion.sources.records import EPOCH, Table, to_timestamp


def _crm_object_resource(
    api: HubSpotApi, object_type: str, table: Table, associations: str | None = None
) -> DltResource:
    """Changed objects via search plus newly archived ones via the archived list.

    Search answers carry no associations: with `associations` the live objects come from
    the list API instead, which does, read whole with the changes kept, so only a scan
    read to its end moves the cursor."""

    @table.resource()
    def rows() -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        modified = Cursor.restore(state, "modified")
        archived = Cursor.restore(state, "archived")
        stop = api.client.usage.guard(table.name)
        with stop:
            properties = list(table.fields) + [
                p for p in api.custom_properties(object_type) if p not in table.fields
            ]
        if stop:
            return
        path = f"/crm/v3/objects/{object_type}"
        list_params = {"limit": api.limit("list"), "properties": ",".join(properties)}
        if associations:
            list_params["associations"] = associations
            changed = stop.pages(api.pages(path, list_params))
        else:
            changed = stop.pages(
                api.search_since(object_type, table.cursor, modified.since, properties)
            )
        yield from table.batches(
            modified.keep([object_row(o, table) for o in page], table.cursor) for page in changed
        )
        # Search ascends: what was read runs without a gap from the old cursor, so the cursor
        # may move that far even when the quota ended the search early. A list is in id order.
        if not (associations and stop):
            modified.save(state, "modified")
        if stop:
            return
        gone = stop.pages(api.pages(path, dict(list_params, archived="true")))
        yield from table.batches(
            archived.keep([object_row(o, table) for o in page], "archivedAt") for page in gone
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
            [object_row(o, table) if flatten else o for o in page] for page in pages
        )

    return rows


def _form_submissions(api: HubSpotApi) -> DltResource:
    """New submissions of every form. Forms have no time filter and page newest first, so
    each form keeps its own cursor in the resource state, moved once the form was read down
    to it: a form the quota cut short keeps its cursor and is read again the next night."""

    @FORM_SUBMISSIONS.resource()
    def rows() -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        start = carried_over(state, "submitted_at")
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
                cursor = Cursor.restore(state, name, start, key="conversion_id")
                path = f"/form-integrations/v1/submissions/forms/{form_id}"
                for page in stop.pages(api.pages(path, {"limit": api.limit("submissions")})):
                    batch = [submission_row(form_id, s) for s in page]
                    yield cursor.keep(batch, "submitted_at")
                    if any(s["submitted_at"] < cursor.since for s in batch):
                        break  # newest first: the rest of this form was loaded before
                if stop:
                    return
                cursor.save(state, name)

        yield from FORM_SUBMISSIONS.batches(pages())

    return rows


def _email_events(api: HubSpotApi) -> DltResource:
    """Email events since the cursor (kept in the resource state). The API serves them
    newest first, so a night the quota stops has read from the newest event down to some
    point: the range below it (`created_gap`) is read first the next night, bounded by
    `endTimestamp`, and only then does the cursor move to that night's newest event."""

    @EMAIL_EVENTS.resource()
    def rows() -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        cursor = Cursor.restore(state, "created", carried_over(state, "created"))
        stop = api.client.usage.guard(EMAIL_EVENTS.name)
        gap = to_timestamp(state.get("created_gap")) if state.get("created_gap") else None
        if gap is not None:
            yield from EMAIL_EVENTS.batches(new_events(api, cursor, stop, until=gap))
            if stop:
                if cursor.oldest is not None:
                    state["created_gap"] = cursor.oldest.isoformat()
                return
            # the gap is closed: all is loaded up to the newest event of the stopped night
            cursor = Cursor.restore(state, "created_top")
            cursor.save(state, "created")
            for key in ("created_gap", "created_top_since", "created_top_ids"):
                state.pop(key, None)
        yield from EMAIL_EVENTS.batches(new_events(api, cursor, stop))
        if not stop:
            cursor.save(state, "created")
        elif cursor.oldest is not None:  # read from the newest event down to `oldest`
            cursor.save(state, "created_top")
            state["created_gap"] = cursor.oldest.isoformat()

    return rows


@dlt.source(name="hubspot", max_table_nesting=0)
def hubspot_source(
    base_url: str = BASE_URL,
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
    credentials = credentials_from(
        "hubspot",
        HubSpotCredentials,
        {
            "access_token": access_token,
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
            "base_url": base_url,
        },
    )
    client = hubspot_client(
        credentials,
        usage=usage,
        max_attempts=request_max_attempts,
        backoff_factor=request_backoff_factor,
    )
    api = HubSpotApi(client, page_size=page_size)
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
        _crm_object_resource(api, "tasks", TASKS, associations="contacts"),
    ]
