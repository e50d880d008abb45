"""The HubSpot endpoints, with HubSpot's paging, limits and error bodies.

Paths are relative to the simulator's `/hubspot` prefix. Every handler returns
`(status, body)`; the server turns that into JSON. `after` cursors are offsets
written as strings, which is what HubSpot's search API uses too. The OAuth token
endpoint (`token`) answers the refresh-token grant of a public app.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from typing import Any
from urllib.parse import parse_qsl

from simulator.config import SimulatorConfig
from simulator.formats import from_epoch_ms, parse_instant
from simulator.limits import Tokens
from simulator.schema import HUBSPOT_DEFAULT_PROPERTIES, HUBSPOT_PROPERTIES
from simulator.view import LiveView

SEARCH_MAX_LIMIT = 200
SEARCH_WINDOW = 10_000  # HubSpot search never pages past 10,000 results
LIST_MAX_LIMIT = 100
HISTORY_BATCH_LIMIT = 50
TOKEN_PATH = "/oauth/v1/token"
Response = tuple[int, Any]


_CORRELATION = "00000000-0000-4000-8000-000000000000"


def error(status: int, message: str, category: str = "VALIDATION_ERROR") -> Response:
    """HubSpot's error body."""
    return status, {"status": "error", "message": message, "correlationId": _CORRELATION,
                    "category": category}


def token(method: str, body: Any, config: SimulatorConfig, tokens: Tokens) -> Response:
    """`POST /oauth/v1/token` (form-encoded): a new access token that expires in
    `config.hubspot_token_seconds`, for the app's refresh token."""
    if method != "POST":
        return error(405, "Method Not Allowed", "METHOD_NOT_ALLOWED")
    form = dict(parse_qsl(body)) if isinstance(body, str) else {}
    if form.get("grant_type") not in ("refresh_token", "authorization_code"):
        return 400, {"status": "BAD_GRANT_TYPE", "message": "grant_type must be "
                     "authorization_code or refresh_token", "correlationId": _CORRELATION}
    if form.get("client_id") != config.client_id:
        return 400, {"status": "BAD_CLIENT_ID", "message": "missing or invalid client_id",
                     "correlationId": _CORRELATION}
    if form.get("client_secret") != config.client_secret:
        return 400, {"status": "BAD_CLIENT_SECRET", "message": "missing or invalid "
                     "client_secret", "correlationId": _CORRELATION}
    if form.get("refresh_token") != config.refresh_token:
        return 400, {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown "
                     "refresh token", "correlationId": _CORRELATION}
    seconds = config.hubspot_token_seconds
    return 200, {"token_type": "bearer", "refresh_token": config.refresh_token,
                 "access_token": tokens.issue("hubspot", seconds), "expires_in": int(seconds)}


def _int(value: Any, default: int, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _Invalid(f"Invalid input JSON: '{name}' must be a number, got {value!r}") from None


class _Invalid(Exception):
    pass


def _page(items: list, after: int, limit: int) -> tuple[list, dict[str, Any]]:
    """One page plus the `paging` member (absent on the last page)."""
    page = items[after: after + limit]
    extra: dict[str, Any] = {}
    if after + limit < len(items):
        extra["paging"] = {"next": {"after": str(after + limit),
                                    "link": f"?after={after + limit}"}}
    return page, extra


def handle(view: LiveView, method: str, path: str, query: dict[str, str],
           body: Any) -> Response:
    """Route one request; unknown paths get HubSpot's 404."""
    try:
        return _route(view, method, path, query, body)
    except _Invalid as exc:
        return error(400, str(exc))


def _route(view: LiveView, method: str, path: str, query: dict[str, str],
           body: Any) -> Response:
    objects = "contacts|companies|tasks"
    if m := re.fullmatch(rf"/crm/v3/objects/({objects})/search", path):
        if method != "POST":
            return error(405, "Method Not Allowed", "METHOD_NOT_ALLOWED")
        return _search(view, m[1], body or {})
    if m := re.fullmatch(r"/crm/v3/objects/contacts/batch/read", path):
        if method != "POST":
            return error(405, "Method Not Allowed", "METHOD_NOT_ALLOWED")
        return _batch_read(view, body or {})
    if method != "GET":
        return error(405, "Method Not Allowed", "METHOD_NOT_ALLOWED")
    if m := re.fullmatch(rf"/crm/v3/objects/({objects})", path):
        return _list(view, m[1], query)
    if m := re.fullmatch(rf"/crm/v3/properties/({objects})", path):
        return 200, {"results": view.hubspot_properties(m[1])}
    if path == "/crm/v3/owners":
        archived = query.get("archived", "false").lower() == "true"
        return _paged(view.owners(archived), query, 500)
    if path == "/marketing/v3/forms":
        return _paged(view.forms(), query, LIST_MAX_LIMIT)
    if m := re.fullmatch(r"/form-integrations/v1/submissions/forms/([\w-]+)", path):
        submissions = view.submissions(m[1])
        if submissions is None:
            return error(404, f"Form {m[1]} does not exist", "OBJECT_NOT_FOUND")
        return _submissions(view, submissions, query)
    if path == "/marketing/v3/campaigns":
        props = [p for p in query.get("properties", "").split(",") if p]
        return _paged(view.campaigns(props or None), query, LIST_MAX_LIMIT)
    if path == "/email/public/v1/events":
        return _email_events(view, query)
    return error(404, f"No route for GET {path}", "OBJECT_NOT_FOUND")


def _paged(items: list, query: dict[str, str], max_limit: int) -> Response:
    limit = _int(query.get("limit"), min(max_limit, 100), "limit")
    if not 1 <= limit <= max_limit:
        return error(400, f"limit must be between 1 and {max_limit}")
    page, extra = _page(items, _int(query.get("after"), 0, "after"), limit)
    return 200, {"results": page, **extra}


def _submissions(view: LiveView, stored: list[tuple], query: dict[str, str]) -> Response:
    """Newest first; only the served page is turned into JSON (forms can be large)."""
    limit = _int(query.get("limit"), 20, "limit")
    if not 1 <= limit <= 50:
        return error(400, "limit must be between 1 and 50")
    after = _int(query.get("after"), 0, "after")
    top = max(0, len(stored) - after)
    page = [view.submission(e) for e in stored[max(0, top - limit): top][::-1]]
    out: dict[str, Any] = {"results": page}
    if top - limit > 0:
        out["paging"] = {"next": {"after": str(after + limit), "link": f"?after={after + limit}"}}
    return 200, out


def _properties(view: LiveView, object_type: str, asked: list[str] | None) -> list[str]:
    """The asked-for properties that exist (HubSpot ignores unknown ones) plus defaults."""
    known = view.hubspot_property_names(object_type)
    names = list(HUBSPOT_DEFAULT_PROPERTIES[object_type])
    for name in asked or []:
        if name in known and name not in names:
            names.append(name)
    return names


def _typed(object_type: str, name: str, value: Any) -> Any:
    """A filter value as the property's own type, for comparison with stored values."""
    spec = HUBSPOT_PROPERTIES[object_type].get(name)
    if spec is None or value is None:
        return value
    kind = spec[1]
    try:
        if kind in ("datetime", "date"):
            return parse_instant(str(value))
        if kind == "number":
            return float(value)
    except ValueError:
        raise _Invalid(f"'{value}' is not a valid {kind} for property {name}") from None
    return str(value)


_OPS = {
    "EQ": lambda a, b: a == b, "NEQ": lambda a, b: a != b,
    "GT": lambda a, b: a is not None and a > b, "GTE": lambda a, b: a is not None and a >= b,
    "LT": lambda a, b: a is not None and a < b, "LTE": lambda a, b: a is not None and a <= b,
    "HAS_PROPERTY": lambda a, b: a is not None, "NOT_HAS_PROPERTY": lambda a, b: a is None,
}


def _comparable(object_type: str, name: str, value: Any) -> Any:
    spec = HUBSPOT_PROPERTIES[object_type].get(name)
    if spec and spec[1] == "number" and value is not None:
        return float(value)
    if spec and spec[1] == "string" and value is not None:
        return str(value)
    return value


def _search(view: LiveView, object_type: str, body: dict[str, Any]) -> Response:
    if not isinstance(body, dict):
        return error(400, "Invalid input JSON on line 1")
    limit = _int(body.get("limit"), 10, "limit")
    after = _int(body.get("after"), 0, "after")
    if not 1 <= limit <= SEARCH_MAX_LIMIT:
        return error(400, f"limit must be between 1 and {SEARCH_MAX_LIMIT}, got {limit}")
    if after + limit > SEARCH_WINDOW:
        return error(400, f"The search request exceeded the {SEARCH_WINDOW} result limit: "
                     f"after ({after}) plus limit ({limit}) may not exceed {SEARCH_WINDOW}.")
    known = HUBSPOT_PROPERTIES[object_type]
    groups = []
    for group in body.get("filterGroups") or []:
        filters = []
        for f in group.get("filters") or []:
            name, op = f.get("propertyName"), str(f.get("operator", "")).upper()
            if name not in known:
                return error(400, f"There was a problem with the request: property {name!r} "
                                  "does not exist")
            if op not in _OPS:
                return error(400, f"Unsupported operator {op!r}")
            filters.append((name, _OPS[op], _typed(object_type, name, f.get("value"))))
        groups.append(filters)
    sorts = body.get("sorts") or []
    sort = sorts[0] if sorts else {}
    key = sort.get("propertyName") if isinstance(sort, dict) else str(sort)
    descending = isinstance(sort, dict) and str(sort.get("direction", "")).upper() \
        == "DESCENDING"
    if key and key not in known:
        return error(400, f"property {key!r} does not exist")

    def matching() -> list[dict]:
        rows = view.hubspot_rows(object_type)
        if groups:
            # Filters in a group are ANDed, groups are ORed.
            rows = [r for r in rows if any(
                all(test(_comparable(object_type, name, r.get(name)), value)
                    for name, test, value in g) for g in groups)]
        if key:
            return sorted(rows, key=lambda r: (
                r.get(key) is not None, _comparable(object_type, key, r.get(key)) or 0,
                int(r["_id"])), reverse=descending)
        return sorted(rows, key=lambda r: int(r["_id"]))

    signature = json.dumps([body.get("filterGroups"), key, descending], sort_keys=True,
                           default=str)
    rows = view.memo(("search", object_type, signature), matching)
    page, extra = _page(rows, after, limit)
    props = _properties(view, object_type, body.get("properties"))
    results = view.hubspot_objects(object_type, page, props)
    return 200, {"total": len(rows), "results": results, **extra}


def _list(view: LiveView, object_type: str, query: dict[str, str]) -> Response:
    archived = query.get("archived", "false").lower() == "true"
    limit = _int(query.get("limit"), 10, "limit")
    if not 1 <= limit <= LIST_MAX_LIMIT:
        return error(400, f"limit must be between 1 and {LIST_MAX_LIMIT}")
    rows = sorted(view.hubspot_rows(object_type, archived=archived), key=lambda r: int(r["_id"]))
    page, extra = _page(rows, _int(query.get("after"), 0, "after"), limit)
    asked = [p for p in query.get("properties", "").split(",") if p]
    props = _properties(view, object_type, asked)
    results = view.hubspot_objects(object_type, page, props)
    if "contacts" in query.get("associations", "").split(",") and object_type == "tasks":
        for result, row in zip(results, page, strict=True):
            result["associations"] = {"contacts": {"results": [
                {"id": c, "type": "task_to_contact"} for c in row.get("_contacts") or ()]}}
    return 200, {"results": results, **extra}


def _batch_read(view: LiveView, body: dict[str, Any]) -> Response:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list):
        return error(400, "Invalid input JSON: 'inputs' is required")
    history = body.get("propertiesWithHistory") or []
    if history and len(inputs) > HISTORY_BATCH_LIMIT:
        return error(400, f"Batch input limit is {HISTORY_BATCH_LIMIT} when "
                          "propertiesWithHistory is requested")
    if len(inputs) > 100:
        return error(400, "Batch input limit is 100")
    props = _properties(view, "contacts", list(body.get("properties") or []) + list(history))
    results, missing = [], []
    for item in inputs:
        row = view.contact_row(str(item.get("id")))
        if row is None:
            missing.append(str(item.get("id")))
            continue
        obj = view.hubspot_objects("contacts", [row], props)[0]
        if history:
            obj["propertiesWithHistory"] = view.property_history(row["_id"], history)
        results.append(obj)
    out: dict[str, Any] = {"status": "COMPLETE", "results": results,
                           "startedAt": "", "completedAt": ""}
    if missing:
        out["numErrors"] = 1
        out["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                          "message": "Could not get some CONTACT objects, they may be deleted "
                                     "or not exist.", "context": {"ids": missing}}]
        return 207, out
    return 200, out


def _email_events(view: LiveView, query: dict[str, str]) -> Response:
    """Events newest first between the two timestamps; `offset` counts events served."""
    limit = _int(query.get("limit"), 100, "limit")
    if not 1 <= limit <= 1000:
        return error(400, "limit must be between 1 and 1000")
    events = view.email_events()
    kind = query.get("eventType")
    if kind is not None:
        events = [e for e in events if e[2] == kind]
    lo, hi = 0, len(events)
    if query.get("startTimestamp"):
        start = from_epoch_ms(_int(query["startTimestamp"], 0, "startTimestamp"))
        lo = bisect_left(events, start, key=lambda e: e[0])
    if query.get("endTimestamp"):
        end = from_epoch_ms(_int(query["endTimestamp"], 0, "endTimestamp"))
        hi = bisect_right(events, end, key=lambda e: e[0])
    offset = _int(query.get("offset"), 0, "offset")
    top = max(lo, hi - offset)
    page = events[max(lo, top - limit): top][::-1]
    more = top - limit > lo
    return 200, {"events": [view.email_event(e) for e in page], "hasMore": more,
                 "offset": str(offset + len(page))}
