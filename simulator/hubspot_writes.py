"""HubSpot writes: property groups and properties, contact updates, tasks and associations.

Property groups and properties (`/crm/v3/properties/{object}[/groups]`, 409 when the
name exists, `hasUniqueValue`), contacts batch update and upsert, tasks batch create
and upsert (by a unique property via `idProperty`), inline task→contact associations
and the v4 default association. Invalid property values reject the whole batch with 400
VALIDATION_ERROR; objects that do not exist fail alone, in a 207 multi-status answer.
A token without write scopes gets 403 MISSING_SCOPES. Written objects are read back by
the list, search and batch-read endpoints.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from typing import Any

from simulator import reps
from simulator.formats import hubspot_datetime, parse_instant
from simulator.hubspot_api import Response, error
from simulator.schema import HUBSPOT_OPTIONS, LEADBRIDGE_KEY
from simulator.view import LiveView

BATCH_LIMIT = 100
TASK_TO_CONTACT = 204  # HubSpot-defined association type id, task → contact
_OBJECTS = "contacts|companies|tasks"
_CORRELATION = "00000000-0000-4000-8000-000000000000"
_READ_ONLY = {
    "hs_object_id",
    "createdate",
    "lastmodifieddate",
    "hs_createdate",
    "hs_lastmodifieddate",
    "hs_task_completion_date",
    "hs_merged_object_ids",
}
_DEFAULT_GROUPS = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "tasks": "task",
}
_TYPES = {"string", "number", "date", "datetime", "enumeration", "bool"}
_LOCK = threading.Lock()  # one write at a time: a batch is checked and applied as a unit


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        super().__init__(str(response[1]))
        self.response = response


def handles(method: str, path: str) -> bool:
    """Whether this module answers `method path`."""
    return any(m == method and p.fullmatch(path) for m, p, _ in _ROUTES)


def handle(view: LiveView, method: str, path: str, query: dict[str, str], body: Any) -> Response:
    """Answer one write (or definition read) request."""
    for route_method, pattern, answer_with in _ROUTES:
        m = pattern.fullmatch(path)
        if m and route_method == method:
            try:
                if method != "GET":
                    _require_scope(view, answer_with.__name__, m[1])
                with _LOCK:
                    answer = answer_with(view, *m.groups(), body=body)
            except _Refused as refused:
                return refused.response
            if method != "GET":
                view.written()
            return answer
    return error(404, f"No route for {method} {path}", "OBJECT_NOT_FOUND")


def _require_scope(view: LiveView, handler: str, object_type: str) -> None:
    """403 MISSING_SCOPES unless the app may write; schema writes need the schema scope."""
    if "hubspot" not in view.world.config.read_only:
        return
    kind = "schemas" if "group" in handler or "property" in handler else "objects"
    scope = f"crm.{kind}.{'contacts' if object_type == 'tasks' else object_type}.write"
    raise _Refused(
        (
            403,
            {
                "status": "error",
                "correlationId": _CORRELATION,
                "category": "MISSING_SCOPES",
                "message": "This app hasn't been granted all required scopes to make this call.",
                "errors": [
                    {
                        "message": "One or more of the following scopes are required.",
                        "context": {"requiredGranularScopes": [scope]},
                    }
                ],
            },
        )
    )


# -- property groups and properties -------------------------------------------------------
def _groups(view: LiveView, object_type: str) -> dict[str, dict[str, Any]]:
    default = _DEFAULT_GROUPS[object_type]
    groups = view.world.hubspot_groups.setdefault(
        object_type,
        {default: {"name": default, "label": default, "displayOrder": -1, "archived": False}},
    )
    return groups


def _create_group(view: LiveView, object_type: str, body: Any) -> Response:
    if not isinstance(body, dict) or not body.get("name") or not body.get("label"):
        return error(400, "Invalid input JSON: 'name' and 'label' are required")
    groups = _groups(view, object_type)
    name = str(body["name"])
    if name in groups:
        return error(
            409, f"A property group named '{name}' already exists.", "OBJECT_ALREADY_EXISTS"
        )
    groups[name] = {
        "name": name,
        "label": str(body["label"]),
        "displayOrder": int(body.get("displayOrder", -1)),
        "archived": False,
    }
    return 201, groups[name]


def _list_groups(view: LiveView, object_type: str, body: Any) -> Response:
    return 200, {"results": list(_groups(view, object_type).values())}


def _get_group(view: LiveView, object_type: str, name: str, body: Any) -> Response:
    group = _groups(view, object_type).get(name)
    if group is None:
        return error(404, f"Unable to find property group {name}", "OBJECT_NOT_FOUND")
    return 200, group


def _create_property(view: LiveView, object_type: str, body: Any) -> Response:
    if not isinstance(body, dict):
        return error(400, "Invalid input JSON on line 1")
    missing = [k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)]
    if missing:
        return error(400, f"Invalid input JSON: missing required fields {missing}")
    name = str(body["name"])
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        return error(
            400,
            f"Property name '{name}' must start with a letter and hold only "
            "lowercase letters, digits and underscores",
        )
    if body["type"] not in _TYPES:
        return error(400, f"'{body['type']}' is not a valid property type")
    if body["groupName"] not in _groups(view, object_type):
        return error(400, f"Unable to find property group {body['groupName']}")
    if name in view.hubspot_property_names(object_type):
        return error(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
    now = hubspot_datetime(view.as_of)
    definition = {
        "name": name,
        "label": str(body["label"]),
        "type": body["type"],
        "fieldType": body["fieldType"],
        "groupName": body["groupName"],
        "description": str(body.get("description", "")),
        "options": body.get("options", []),
        "hasUniqueValue": bool(body.get("hasUniqueValue", False)),
        "hubspotDefined": False,
        "createdAt": now,
        "updatedAt": now,
        "archived": False,
    }
    view.world.hubspot_custom_properties.setdefault(object_type, {})[name] = definition
    return 201, definition


def _get_property(view: LiveView, object_type: str, name: str, body: Any) -> Response:
    found = next((p for p in view.hubspot_properties(object_type) if p["name"] == name), None)
    if found is None:
        return error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
    return 200, found


# -- objects --------------------------------------------------------------------------
def _inputs(body: Any) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise _Refused(error(400, "Invalid input JSON: 'inputs' is required"))
    if len(inputs) > BATCH_LIMIT:
        raise _Refused(error(400, f"Batch input limit is {BATCH_LIMIT}"))
    return inputs


def _typed(
    view: LiveView, object_type: str, inputs: list[tuple[Any, bool]]
) -> list[dict[str, Any]]:
    """Each input's property values as stored, from (properties, creating) pairs; any
    invalid value refuses the whole batch (400), naming every problem in it."""
    problems: list[tuple[str, str, str]] = []
    typed = [
        _values(view, object_type, properties, creating, problems)
        for properties, creating in inputs
    ]
    if problems:
        details = [
            {"isValid": False, "message": message, "error": code, "name": name}
            for code, name, message in problems
        ]
        _, refusal = error(400, f"Property values were not valid: {json.dumps(details)}")
        refusal["errors"] = [
            {"message": message, "code": code, "context": {"propertyName": [name]}}
            for code, name, message in problems
        ]
        raise _Refused((400, refusal))
    return typed


def _values(
    view: LiveView,
    object_type: str,
    properties: Any,
    creating: bool,
    problems: list[tuple[str, str, str]],
) -> dict[str, Any]:
    if not isinstance(properties, dict):
        raise _Refused(error(400, "Invalid input JSON: 'properties' must be an object"))
    definitions = {p["name"]: p for p in view.hubspot_properties(object_type)}
    out: dict[str, Any] = {}
    for name, value in properties.items():
        definition = definitions.get(name)
        text = None if value is None else str(value)
        if definition is None:
            problems.append(("PROPERTY_DOESNT_EXIST", name, f'Property "{name}" does not exist'))
        elif name in _READ_ONLY:
            problems.append(
                (
                    "READ_ONLY_VALUE",
                    name,
                    f'"{name}" is a read only property; its value cannot be set.',
                )
            )
        elif text in (None, ""):
            out[name] = None  # an empty string clears the property
        elif name in HUBSPOT_OPTIONS and text not in HUBSPOT_OPTIONS[name]:
            problems.append(
                (
                    "INVALID_OPTION",
                    name,
                    f"{text} was not one of the allowed options: {list(HUBSPOT_OPTIONS[name])}",
                )
            )
        elif name == "hubspot_owner_id" and not _owner_exists(view, text):
            problems.append(("INVALID_OWNER_ID", name, f"{text} is not a valid owner id"))
        elif definition["type"] in ("date", "datetime"):
            try:
                instant = parse_instant(text)
                out[name] = instant.date() if definition["type"] == "date" else instant
            except ValueError:
                problems.append(("INVALID_DATE", name, f"{text} is not a valid date"))
        else:
            out[name] = text
    if creating and object_type == "tasks" and out.get("hs_timestamp") is None:
        problems.append(
            ("REQUIRED_PROPERTY", "hs_timestamp", "The property 'hs_timestamp' is required.")
        )
    return out


def _owner_exists(view: LiveView, owner_id: str) -> bool:
    record = view.world.hubspot["owners"].records.get(owner_id)
    return record is not None and record.state(view.as_of) is not None


def _live(view: LiveView, object_type: str, object_id: str) -> dict[str, Any] | None:
    record = view.world.hubspot[object_type].records.get(object_id)
    state = record.state(view.as_of) if record is not None else None
    return None if state is None or state.get("_archived") else state


def _answer(
    view: LiveView,
    object_type: str,
    ids: list[str],
    errors: list[dict],
    new: dict[str, bool] | None = None,
) -> Response:
    """The batch answer: 200, or 207 when some inputs failed alone."""
    rows = {r["_id"]: r for r in view.hubspot_rows(object_type)}
    names = sorted(view.hubspot_property_names(object_type))
    results = view.hubspot_objects(object_type, [rows[i] for i in ids], names)
    for result in results:
        if new is not None:
            result["new"] = new[result["id"]]
    now = hubspot_datetime(view.as_of)
    out: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": now,
        "completedAt": now,
    }
    if errors:
        out.update(numErrors=len(errors), errors=errors)
        return 207, out
    return 200, out


def _not_found(object_type: str, ids: list[str]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not find some {object_type[:-1].upper()} objects, they may be "
        "deleted or not exist.",
        "context": {"ids": ids},
    }


def _write(view: LiveView, object_type: str, object_id: str | None, values: dict[str, Any]) -> str:
    """Create (object_id None) or change one object now; its id."""
    world, now = view.world, view.as_of
    created = object_id is None
    if created:
        object_id = world.hs_id(object_type)
        created_at = "createdate" if object_type == "contacts" else "hs_createdate"
        defaults = (
            {"hs_task_status": "NOT_STARTED", "hs_task_type": "TODO"}
            if (object_type == "tasks")
            else {}
        )
        values = {created_at: now, "hs_object_id": object_id, **defaults, **values}
    if object_type == "tasks" and "hs_task_status" in values:
        values["hs_task_completion_date"] = now if values["hs_task_status"] == "COMPLETED" else None
    source = {"_src": ("INTEGRATION", None)} if object_type == "contacts" else {}
    record = world.hubspot[object_type].write(object_id, now, {**values, **source})
    if object_type == "tasks":
        if created:
            _rep_follows_up(view, object_id, values, now)
        if values.get("hs_task_status") in ("COMPLETED", "DEFERRED"):
            world.hubspot["tasks"].drop_after(record, now, reps.REP_CHANGE)
    return object_id


def _batch_update(view: LiveView, object_type: str, body: Any) -> Response:
    inputs = _inputs(body)
    typed = _typed(view, object_type, [(i.get("properties"), False) for i in inputs])
    ids, missing = [], []
    for item, values in zip(inputs, typed, strict=True):
        object_id = str(item.get("id"))
        if _live(view, object_type, object_id) is None:
            missing.append(object_id)
            continue
        ids.append(_write(view, object_type, object_id, values))
    return _answer(view, object_type, ids, [_not_found(object_type, missing)] if missing else [])


def _unique_property(view: LiveView, object_type: str, name: Any) -> str:
    definition = next((p for p in view.hubspot_properties(object_type) if p["name"] == name), None)
    unique = definition is not None and (
        definition.get("hasUniqueValue") or (object_type, name) == ("contacts", "email")
    )
    if not unique:
        raise _Refused(
            error(
                400,
                f"{name} is not a unique property of {object_type}; "
                "idProperty must name a property with unique values",
            )
        )
    return str(name)


def _by_value(view: LiveView, object_type: str, name: str) -> dict[str, str]:
    return {
        str(r[name]): r["_id"] for r in view.hubspot_rows(object_type) if r.get(name) is not None
    }


def _batch_upsert(view: LiveView, object_type: str, body: Any) -> Response:
    inputs = _inputs(body)
    keys = []
    for item in inputs:
        name = _unique_property(view, object_type, item.get("idProperty"))
        if item.get("id") in (None, ""):
            raise _Refused(error(400, "Invalid input JSON: every input needs an 'id'"))
        keys.append((name, str(item["id"])))
    repeated = sorted({v for _, v in keys if [k for _, k in keys].count(v) > 1})
    if repeated:
        raise _Refused(
            error(400, f"Duplicate IDs found in batch input: {repeated}. IDs must be unique")
        )
    existing = {name: _by_value(view, object_type, name) for name, _ in keys}
    typed = _typed(
        view,
        object_type,
        [
            (item.get("properties", {}), value not in existing[name])
            for item, (name, value) in zip(inputs, keys, strict=True)
        ],
    )
    ids, new = [], {}
    for (name, value), values in zip(keys, typed, strict=True):
        matched = existing[name].get(value)
        object_id = _write(view, object_type, matched, {**values, name: value})
        ids.append(object_id)
        new[object_id] = matched is None
    return _answer(view, object_type, ids, [], new)


def _batch_create(view: LiveView, object_type: str, body: Any) -> Response:
    inputs = _inputs(body)
    typed = _typed(view, object_type, [(i.get("properties"), True) for i in inputs])
    unique = [p["name"] for p in view.hubspot_properties(object_type) if p.get("hasUniqueValue")]
    for name in unique:
        taken = _by_value(view, object_type, name)
        clash = sorted(
            str(v[name]) for v in typed if v.get(name) is not None and str(v[name]) in taken
        )
        if clash:
            raise _Refused(error(409, f"An object with {name} {clash} already exists", "CONFLICT"))
    links = [_associations(view, item.get("associations") or []) for item in inputs]
    ids, missing = [], []
    for values, contacts in zip(typed, links, strict=True):
        absent = [c for c in contacts if _live(view, "contacts", c) is None]
        if absent:
            missing.extend(absent)
            continue
        object_id = _write(view, object_type, None, {**values, "_contacts": tuple(contacts)})
        ids.append(object_id)
    errors = [_not_found("contacts", missing)] if missing else []
    return _answer(view, object_type, ids, errors)


def _associations(view: LiveView, associations: Any) -> list[str]:
    """The contact ids of inline associations; anything but task→contact is refused."""
    contacts = []
    for item in associations if isinstance(associations, list) else [None]:
        types = item.get("types") if isinstance(item, dict) else None
        target = item.get("to", {}).get("id") if isinstance(item, dict) else None
        if (
            not types
            or target is None
            or any(t.get("associationTypeId") != TASK_TO_CONTACT for t in types)
        ):
            raise _Refused(
                error(
                    400,
                    "Invalid association: the simulator links tasks to "
                    f"contacts with associationTypeId {TASK_TO_CONTACT}",
                )
            )
        contacts.append(str(target))
    return contacts


def _associate(
    view: LiveView, object_type: str, task_id: str, contact_id: str, body: Any
) -> Response:
    task = _live(view, "tasks", task_id)
    if task is None or _live(view, "contacts", contact_id) is None:
        return error(404, "Could not find the objects to associate", "OBJECT_NOT_FOUND")
    linked = tuple(task.get("_contacts") or ())
    if contact_id not in linked:
        view.world.hubspot["tasks"].write(task_id, view.as_of, {"_contacts": (*linked, contact_id)})
    now = hubspot_datetime(view.as_of)
    return 200, {
        "status": "COMPLETE",
        "startedAt": now,
        "completedAt": now,
        "results": [
            {
                "from": {"id": task_id},
                "to": {"id": contact_id},
                "associationSpec": {
                    "associationCategory": "HUBSPOT_DEFINED",
                    "associationTypeId": TASK_TO_CONTACT,
                },
            }
        ],
    }


def _rep_follows_up(view: LiveView, task_id: str, values: dict[str, Any], now: datetime) -> None:
    """Schedule the owner's completion of a new, open Leadbridge follow-up task."""
    key, owner = values.get(LEADBRIDGE_KEY["hubspot"]), values.get("hubspot_owner_id")
    if not key or not owner or values.get("hs_task_status") == "COMPLETED":
        return
    state = view.world.hubspot["owners"].records[str(owner)].state(now) or {}
    if state.get("archived"):
        return
    when = reps.completion(view.world.config, str(key), now)
    if when is not None:
        view.world.hubspot["tasks"].write(
            task_id,
            when,
            {"hs_task_status": "COMPLETED", "hs_task_completion_date": when, reps.REP_CHANGE: True},
        )


_ROUTES = (
    ("POST", re.compile(rf"/crm/v3/properties/({_OBJECTS})/groups"), _create_group),
    ("GET", re.compile(rf"/crm/v3/properties/({_OBJECTS})/groups"), _list_groups),
    ("GET", re.compile(rf"/crm/v3/properties/({_OBJECTS})/groups/(\w+)"), _get_group),
    ("POST", re.compile(rf"/crm/v3/properties/({_OBJECTS})"), _create_property),
    ("GET", re.compile(rf"/crm/v3/properties/({_OBJECTS})/(?!groups$)(\w+)"), _get_property),
    ("POST", re.compile(r"/crm/v3/objects/(contacts)/batch/update"), _batch_update),
    ("POST", re.compile(r"/crm/v3/objects/(contacts|tasks)/batch/upsert"), _batch_upsert),
    ("POST", re.compile(r"/crm/v3/objects/(tasks)/batch/create"), _batch_create),
    (
        "PUT",
        re.compile(r"/crm/v4/objects/(tasks)/(\d+)/associations/default/contacts/(\d+)"),
        _associate,
    ),
)
