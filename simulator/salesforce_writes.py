"""Salesforce writes: sObject Collections upsert and update on Task, Lead and Contact.

`PATCH /services/data/vXX.X/composite/sobjects/{SObject}/{ExternalIdField}` upserts: a
record matching the External ID (case-insensitively, as a unique text External ID does)
is updated, else created. `PATCH .../composite/sobjects` updates records by `id`. Both
take `{"allOrNone": bool, "records": [...]}`, at most 200 records with `attributes.type`,
and answer one result per record in request order.
Field names and values the JSON deserialiser cannot map fail the whole request; the
rest (references, picklists, required and read-only fields, access) fail per record.
Written records are the org's own: stamped at the simulated now, read back by queries.
"""

from __future__ import annotations

import re
import threading
from datetime import date, datetime
from typing import Any

from simulator import reps
from simulator.salesforce_api import Response, error
from simulator.schema import LEADBRIDGE_KEY, external_ids
from simulator.view import LiveView

MAX_RECORDS = 200
WRITABLE = ("Task", "Lead", "Contact")
_PATH = re.compile(r"/services/data/v\d+\.\d/composite/sobjects(?:/(\w+)/(\w+))?")
# Fields the API sets itself: never createable or updateable by a client.
_SYSTEM = {
    "Id",
    "Name",
    "IsDeleted",
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
    "IsClosed",
    "CompletedDateTime",
    "IsConverted",
    "ConvertedDate",
    "ConvertedContactId",
    "ConvertedAccountId",
    "ConvertedOpportunityId",
    "MasterRecordId",
}
_RESTRICTED = {
    "Task": {
        "Status": (
            "Not Started",
            "In Progress",
            "Completed",
            "Waiting on someone else",
            "Deferred",
        ),
        "Priority": ("High", "Normal", "Low"),
    }
}
_DEFAULTS = {
    "Task": {"Status": "Not Started", "Priority": "Normal", "TaskSubtype": "Task"},
    "Lead": {"Status": "Open - Not Contacted"},
    "Contact": {},
}
_REQUIRED = {
    "Task": ("Status", "Priority", "OwnerId"),
    "Lead": ("LastName", "Company", "Status", "OwnerId"),
    "Contact": ("LastName", "OwnerId"),
}
# Lookup field → (its label in messages, key prefixes of the objects it may point to).
_LOOKUPS = {
    "Task": {
        "WhoId": ("Name ID", ("00Q", "003")),
        "WhatId": ("Related To ID", ("001", "006")),
        "OwnerId": ("Assigned To ID", ("005",)),
    },
    "Lead": {"OwnerId": ("Owner ID", ("005", "00G"))},
    "Contact": {"OwnerId": ("Owner ID", ("005",)), "AccountId": ("Account ID", ("001",))},
}
_PREFIX_OBJECT = {
    "00Q": "Lead",
    "003": "Contact",
    "001": "Account",
    "006": "Opportunity",
    "005": "User",
}
_CLOSED, _CANCELLED = "Completed", "Deferred"
_MAX_LENGTH = {"textarea": 32_000}
_ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "fields": [],
    "message": "Record rolled back because not all records were valid and the "
    "request was using AllOrNone header",
}
_NO_ACCESS = (
    "You do not have the level of access necessary to perform the operation you "
    "requested. Please contact the owner of the record or your administrator if "
    "access is necessary."
)
_LOCK = threading.Lock()  # one write at a time: a batch is checked and applied as a unit


class _RequestError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = error(status, code, message)


def handles(method: str, path: str) -> bool:
    """Whether `path` is a write endpoint this module answers."""
    return _PATH.fullmatch(path) is not None


def handle(view: LiveView, method: str, path: str, body: Any) -> Response:
    """Answer one sObject Collections request."""
    m = _PATH.fullmatch(path)
    assert m is not None
    if method != "PATCH":
        return error(
            405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are PATCH"
        )
    try:
        return _upsert(view, m[1], m[2], body) if m[1] else _update(view, body)
    except _RequestError as exc:
        return exc.response


def _upsert(view: LiveView, name: str, key_field: str, body: Any) -> Response:
    sobject = next((s for s in view.world.salesforce if s.lower() == name.lower()), None)
    if sobject is None:
        return error(404, "NOT_FOUND", "The requested resource does not exist")
    if sobject not in WRITABLE:
        return error(
            400, "INVALID_TYPE", f"The simulator writes {', '.join(WRITABLE)} only, not {sobject}"
        )
    fields = view.salesforce_fields(sobject)
    if key_field not in fields:
        return error(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {key_field}",
        )
    if key_field not in external_ids(view.world.config.salesforce_custom_fields, sobject):
        return error(
            400, "INVALID_FIELD", f"Field {key_field} is not an External ID field of {sobject}"
        )
    parsed = [_parse(sobject, fields, r) for r in _records(body)]
    with _LOCK:
        return _commit(view, body, _plan(view, sobject, key_field, parsed))


def _update(view: LiveView, body: Any) -> Response:
    """Update by record id; records may be of different (writable) types."""
    parsed = []
    for record in _records(body):
        sobject = record.get("attributes", {}).get("type") if isinstance(record, dict) else None
        if sobject not in WRITABLE:
            raise _RequestError(
                400, "INVALID_TYPE", f"Must send a concrete entity type of {', '.join(WRITABLE)}."
            )
        values = {k: v for k, v in record.items() if k.lower() != "id"}
        parsed.append(
            (
                sobject,
                record.get("id") or record.get("Id"),
                _parse(sobject, view.salesforce_fields(sobject), values),
            )
        )
    ids = [record_id for _, record_id, _ in parsed]
    read_only = "salesforce" in view.world.config.read_only
    with _LOCK:
        plans = []
        for sobject, record_id, values in parsed:
            if read_only:
                problem = _error("INSUFFICIENT_ACCESS_OR_READONLY", _NO_ACCESS)
            elif not record_id:
                problem = _error("MISSING_ARGUMENT", "Id not specified in an update call")
            elif ids.count(record_id) > 1:
                problem = _error("DUPLICATE_VALUE", "Duplicate id in list: " + record_id)
            elif _live(view, sobject, record_id) is None:
                problem = _error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            else:
                errors = _check(view, sobject, values, creating=False)
                plans.append(
                    {"errors": errors}
                    if errors
                    else {"sobject": sobject, "id": record_id, "values": values}
                )
                continue
            plans.append({"errors": [problem]})
        return _commit(view, body, plans, upsert=False)


def _records(body: Any) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise _RequestError(
            400, "JSON_PARSER_ERROR", "The request body must be an object with a records list"
        )
    if len(body["records"]) > MAX_RECORDS:
        raise _RequestError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    return body["records"]


def _commit(
    view: LiveView, body: dict[str, Any], plans: list[dict[str, Any]], upsert: bool = True
) -> Response:
    """Apply the checked records (none of them when allOrNone meets an error)."""
    if any("errors" in p for p in plans) and body.get("allOrNone") is True:
        return 200, [{"success": False, "errors": p.get("errors", [_ROLLED_BACK])} for p in plans]
    results = []
    for plan in plans:
        if "errors" in plan:
            results.append({"success": False, "errors": plan["errors"]})
            continue
        result = _apply(view, plan)
        if not upsert:
            del result["created"]
        results.append(result)
    view.written()
    return 200, results


def _live(view: LiveView, sobject: str, record_id: str) -> dict[str, Any] | None:
    """The record's fields now, or None if it does not exist (yet) or is deleted."""
    record = view.world.salesforce[sobject].records.get(record_id)
    state = record.state(view.as_of) if record is not None else None
    return None if state is None or state.get("IsDeleted") else state


def _parse(sobject: str, fields: dict[str, str], record: Any) -> dict[str, Any]:
    """One record's values, typed; what Salesforce's deserialiser refuses fails the request."""
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("attributes"), dict)
        or not record["attributes"].get("type")
    ):
        raise _RequestError(400, "INVALID_TYPE", "Must send a concrete entity type.")
    if record["attributes"]["type"] != sobject:
        raise _RequestError(
            400,
            "INVALID_TYPE",
            f"Record type {record['attributes']['type']} does not match {sobject}",
        )
    out: dict[str, Any] = {}
    for name, value in record.items():
        if name == "attributes":
            continue
        kind = fields.get(name)
        if kind is None:
            raise _RequestError(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}"
            )
        if kind == "date" and value is not None:
            try:
                value = date.fromisoformat(str(value))
            except ValueError:
                raise _RequestError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of date from VALUE_STRING value {value}",
                ) from None
        elif value is not None and not isinstance(value, str) and kind != "boolean":
            value = str(value)
        out[name] = value
    return out


def _plan(
    view: LiveView, sobject: str, key_field: str, parsed: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Per record: {"errors": [...]} or {"id": matched id or None, "values": {...}}."""
    keys = [
        str(p[key_field]).lower() if p.get(key_field) not in (None, "") else None for p in parsed
    ]
    repeated = {k for k in keys if k is not None and keys.count(k) > 1}
    existing = _by_key(view, sobject, key_field)
    read_only = "salesforce" in view.world.config.read_only
    plans = []
    for values, key in zip(parsed, keys, strict=True):
        if read_only:
            plans.append({"errors": [_error("INSUFFICIENT_ACCESS_OR_READONLY", _NO_ACCESS)]})
        elif key is None:
            plans.append(
                {"errors": [_error("MISSING_ARGUMENT", f"{key_field} not specified", key_field)]}
            )
        elif key in repeated:
            plans.append(
                {
                    "errors": [
                        _error(
                            "DUPLICATE_VALUE",
                            f"Duplicate external id specified: {values[key_field]}",
                            key_field,
                        )
                    ]
                }
            )
        else:
            matched = existing.get(key)
            errors = _check(view, sobject, values, creating=matched is None)
            plans.append(
                {"errors": errors}
                if errors
                else {"sobject": sobject, "id": matched, "values": values}
            )
    return plans


def _by_key(view: LiveView, sobject: str, key_field: str) -> dict[str, str]:
    """Live records by their External ID value, lowercased."""
    return {
        str(r[key_field]).lower(): r["Id"]
        for r in view.salesforce_rows(sobject, include_deleted=False)
        if r.get(key_field) not in (None, "")
    }


def _check(
    view: LiveView, sobject: str, values: dict[str, Any], creating: bool
) -> list[dict[str, Any]]:
    """The per-record errors Salesforce would report for these values."""
    errors = []
    system = sorted(set(values) & _SYSTEM)
    if system:
        errors.append(
            _error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Unable to create/update "
                f"fields: {', '.join(system)}. Please check the security settings "
                "of this field and verify that it is read/write for your profile "
                "or permission set.",
                *system,
            )
        )
    for name in _REQUIRED[sobject]:
        if (name in values and values[name] in (None, "")) or (
            creating and name not in values and name not in _DEFAULTS[sobject] and name != "OwnerId"
        ):
            errors.append(
                _error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", name)
            )
    for name, allowed in _RESTRICTED.get(sobject, {}).items():
        value = values.get(name)
        if value not in (None, "") and value not in allowed:
            errors.append(
                _error(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{name}: bad value for restricted picklist field: {value}",
                    name,
                )
            )
    kinds = view.salesforce_fields(sobject)
    for name, value in values.items():
        limit = _MAX_LENGTH.get(kinds[name], 255)
        if isinstance(value, str) and len(value) > limit:
            errors.append(
                _error(
                    "STRING_TOO_LONG",
                    f"{name}: data value too large: {value[:20]}... (max length={limit})",
                    name,
                )
            )
    for name, (label, prefixes) in _LOOKUPS[sobject].items():
        if values.get(name) not in (None, ""):
            problem = _reference(view, sobject, values[name], label, prefixes)
            if problem is not None:
                errors.append(_error(*problem, name))
    return errors


def _reference(
    view: LiveView, sobject: str, ref: str, label: str, prefixes: tuple[str, ...]
) -> tuple[str, str] | None:
    """(statusCode, message) if `ref` may not be stored in the lookup, else None."""
    if not re.fullmatch(r"[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?", ref):
        return "MALFORMED_ID", f"{label}: id value of incorrect type: {ref}"
    if ref[:3] not in prefixes:
        return "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {ref}"
    if ref[:3] == "00G":
        return (
            None
            if ref in view.world.queues
            else ("INVALID_CROSS_REFERENCE_KEY", f"{label}: invalid cross reference id")
        )
    state = _live(view, _PREFIX_OBJECT[ref[:3]], ref)
    if state is None:
        return "INVALID_CROSS_REFERENCE_KEY", f"{label}: invalid cross reference id"
    if ref[:3] == "005" and not state.get("IsActive"):
        return "INACTIVE_OWNER_OR_USER", (
            f"operation performed with inactive user [{ref}] as owner of {sobject.lower()}"
        )
    return None


def _error(code: str, message: str, *fields: str) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": list(fields)}


def _apply(view: LiveView, plan: dict[str, Any]) -> dict[str, Any]:
    """Write one checked record; its UpsertResult."""
    world, now, sobject = view.world, view.as_of, plan["sobject"]
    store = world.salesforce[sobject]
    values = dict(plan["values"])
    record_id = plan["id"]
    created = record_id is None
    if created:
        record_id = world.sf_id(sobject)
        owner = world.integration_user.sf_id if world.integration_user else None
        values = {
            "Id": record_id,
            "CreatedDate": now,
            "OwnerId": owner,
            **_DEFAULTS[sobject],
            **values,
        }
    if sobject == "Lead" and {"FirstName", "LastName"} & set(values):
        state = {} if created else store.records[record_id].state(now) or {}
        first = values.get("FirstName", state.get("FirstName"))
        last = values.get("LastName", state.get("LastName"))
        values["Name"] = " ".join(p for p in (first, last) if p)
    if sobject == "Task" and "Status" in values:
        values["IsClosed"] = values["Status"] == _CLOSED
        values["CompletedDateTime"] = now if values["IsClosed"] else None
    record = store.write(record_id, now, values)
    if sobject == "Task":
        _rep_follows_up(view, record_id, values, created, now)
        if values.get("Status") in (_CLOSED, _CANCELLED):
            # closed by the writer first: the rep has nothing left to do
            store.drop_after(record, now, reps.REP_CHANGE)
    return {"id": record_id, "success": True, "errors": [], "created": created}


def _rep_follows_up(
    view: LiveView, task_id: str, values: dict[str, Any], created: bool, now: datetime
) -> None:
    """Schedule the owning rep's completion of a new, open Leadbridge follow-up task."""
    world = view.world
    key, who, owner = (
        values.get(LEADBRIDGE_KEY["salesforce"]),
        values.get("WhoId"),
        values.get("OwnerId"),
    )
    if not created or not key or not who or values.get("IsClosed"):
        return
    if owner is None or world.integration_user is None or owner == world.integration_user.sf_id:
        return
    when = reps.completion(world.config, str(key), now)
    if when is not None:
        world.salesforce["Task"].write(
            task_id,
            when,
            {"Status": _CLOSED, "IsClosed": True, "CompletedDateTime": when, reps.REP_CHANGE: True},
        )
