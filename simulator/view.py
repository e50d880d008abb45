"""The world as the APIs show it right now: filtered by `as_of`, shaped, with faults.

Both API modules and `SimulatedApis.expected` read records through this one place,
so what tests expect and what the HTTP endpoints serve cannot drift apart.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from simulator.faults import Faults
from simulator.formats import epoch_ms, hubspot_datetime, hubspot_value
from simulator.formats import salesforce_value as sf_value
from simulator.model import EMAIL_APP_ID, PORTAL_ID, World
from simulator.schema import (
    CUSTOM_FIELD_KINDS,
    HUBSPOT_CREATED,
    HUBSPOT_HISTORY_PROPERTIES,
    HUBSPOT_MODIFIED,
    HUBSPOT_NEW_COLUMN,
    HUBSPOT_PROPERTIES,
    REGIONS,
    SALESFORCE_FIELDS,
    SALESFORCE_NEW_COLUMN,
)

API_VERSION = "v61.0"
_MALFORMED_HUBSPOT = {"contacts": ("hubspotscore", "abc"),
                      "companies": ("numberofemployees", "many")}


def _region(record_id: str) -> str:
    return REGIONS[sum(map(ord, record_id)) % len(REGIONS)]


class LiveView:
    """A world, the simulated clock and the fault switches."""

    def __init__(self, world: World, faults: Faults) -> None:
        self.world = world
        self.faults = faults
        self._as_of = world.config.initial_as_of
        self._lock = threading.Lock()
        self._memo: OrderedDict[tuple, Any] = OrderedDict()
        self._defect_targets: dict[str, str] = {}

    @property
    def as_of(self) -> datetime:
        """The simulated "now": nothing later than this is visible."""
        with self._lock:
            return self._as_of

    def advance_days(self, days: float = 1) -> datetime:
        """Move the clock forward; the next day's new and changed records appear."""
        with self._lock:
            self._as_of += timedelta(days=days)
            return self._as_of

    def memo(self, key: tuple, compute: Callable[[], Any]) -> Any:
        """`compute()` once per key and `as_of`: paged reads ask the same question per page.

        Without it a 100k-person search would filter and sort every row for every page.
        """
        key = (self.as_of, self.faults.signature(), *key)
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        value = compute()
        with self._lock:
            self._memo[key] = value
            while len(self._memo) > 32:
                self._memo.popitem(last=False)
        return value

    def written(self) -> None:
        """A client wrote: forget the answers computed before, as they may have changed."""
        with self._lock:
            self._memo.clear()

    # -- HubSpot CRM objects -------------------------------------------------------------
    def hubspot_properties(self, object_type: str) -> list[dict[str, Any]]:
        """The property definitions `GET /crm/v3/properties/{object}` lists."""
        group = {"contacts": "contactinformation", "companies": "companyinformation",
                 "tasks": "task"}[object_type]
        out = [{"name": name, "label": label, "type": kind, "fieldType": field_type,
                "groupName": group, "hubspotDefined": True}
               for name, (label, kind, field_type) in HUBSPOT_PROPERTIES[object_type].items()]
        out.extend(self.world.hubspot_custom_properties.get(object_type, {}).values())
        if self.faults.has_new_column(object_type):
            name, label, kind, field_type = HUBSPOT_NEW_COLUMN
            out.append({"name": name, "label": label, "type": kind, "fieldType": field_type,
                        "groupName": "custom", "hubspotDefined": False})
        return out

    def hubspot_property_names(self, object_type: str) -> set[str]:
        """Names of the properties that exist now (new-column fault included)."""
        return {p["name"] for p in self.hubspot_properties(object_type)}

    def hubspot_rows(self, object_type: str, archived: bool | None = False) -> list[dict]:
        """Visible objects; `archived` True/False picks one side, None returns both."""
        rows = self.world.hubspot[object_type].snapshot(self.as_of)
        rows = self._with_defects(object_type, rows, HUBSPOT_MODIFIED[object_type],
                                  (HUBSPOT_MODIFIED[object_type],))
        if archived is None:
            return rows
        return [r for r in rows if bool(r.get("_archived")) == archived]

    def _malformed_id(self, key: str, rows: list[dict], stamp: str) -> str | None:
        if not self.faults.is_malformed(key) or not rows:
            return None
        return self.memo(("malformed", key), lambda: max(
            rows, key=lambda r: (r.get(stamp) or r.get("CreatedDate"), r["_id"]))["_id"])

    def hubspot_object(self, object_type: str, row: dict, properties: list[str],
                       bad_id: str | None = None) -> dict[str, Any]:
        """One CRM object in the v3 shape, with the properties asked for."""
        props = {}
        for name in properties:
            if name == HUBSPOT_NEW_COLUMN[0] and self.faults.has_new_column(object_type):
                props[name] = _region(row["_id"])
            elif name in row:
                props[name] = hubspot_value(row[name])
        if row["_id"] == bad_id and _MALFORMED_HUBSPOT[object_type][0] in props:
            props[_MALFORMED_HUBSPOT[object_type][0]] = _MALFORMED_HUBSPOT[object_type][1]
        props["hs_object_id"] = row["_id"]
        modified = row[HUBSPOT_MODIFIED[object_type]]
        out = {"id": row["_id"], "properties": props,
               "createdAt": hubspot_datetime(row[HUBSPOT_CREATED[object_type]]),
               "updatedAt": hubspot_datetime(modified), "archived": bool(row.get("_archived"))}
        if row.get("_archived"):
            out["archivedAt"] = hubspot_datetime(row["_archivedAt"])
        return out

    def hubspot_objects(self, object_type: str, rows: list[dict],
                        properties: list[str]) -> list[dict[str, Any]]:
        """Shape a page of objects, applying the malformed-record fault."""
        bad = None
        if self.faults.is_malformed(object_type):
            bad = self._malformed_id(object_type, self.hubspot_rows(object_type),
                                     HUBSPOT_MODIFIED[object_type])
        return [self.hubspot_object(object_type, r, properties, bad) for r in rows]

    def property_history(self, contact_id: str, properties: list[str]) -> dict[str, list]:
        """`propertiesWithHistory` of one contact: every visible change, newest first."""
        record = self.world.hubspot["contacts"].records[contact_id]
        out = {}
        for name in properties:
            if name not in HUBSPOT_HISTORY_PROPERTIES and name not in HUBSPOT_PROPERTIES[
                    "contacts"]:
                continue
            versions = []
            for at, value, change in record.history(name, self.as_of):
                source, source_id = change.get("_src") or ("CRM_UI", None)
                versions.append({
                    "value": hubspot_value(value) or "", "timestamp": hubspot_datetime(at),
                    "sourceType": source, "sourceId": source_id, "sourceLabel": None,
                    "updatedByUserId": None,
                })
            out[name] = versions[::-1]
        return out

    # -- other HubSpot endpoints ---------------------------------------------------------
    def owners(self, archived: bool) -> list[dict[str, Any]]:
        """Owners (active or archived) in the v3 owners shape."""
        return [{"id": r["id"], "email": r["email"], "type": "PERSON",
                 "firstName": r["firstName"], "lastName": r["lastName"],
                 "userId": r["userId"], "teams": r["teams"], "archived": r["archived"],
                 "createdAt": hubspot_datetime(r["createdAt"]),
                 "updatedAt": hubspot_datetime(r["updatedAt"])}
                for r in self.world.hubspot["owners"].snapshot(self.as_of)
                if r["archived"] == archived]

    def forms(self) -> list[dict[str, Any]]:
        """Forms in the v3 marketing forms shape."""
        return [{"id": r["id"], "name": r["name"], "formType": r["formType"],
                 "createdAt": hubspot_datetime(r["createdAt"]),
                 "updatedAt": hubspot_datetime(r["updatedAt"]), "archived": r["archived"]}
                for r in self.world.hubspot["forms"].snapshot(self.as_of)]

    def campaigns(self, properties: list[str] | None) -> list[dict[str, Any]]:
        """Campaigns with the asked-for properties (all of them when none are named)."""
        names = properties or ["hs_name", "hs_start_date", "hs_end_date", "hs_campaign_status",
                               "hs_utm", "hs_budget_items_sum_amount"]
        return [{"id": r["id"],
                 "properties": {n: hubspot_value(r[n]) for n in names if n in r},
                 "createdAt": hubspot_datetime(r["createdAt"]),
                 "updatedAt": hubspot_datetime(r["updatedAt"])}
                for r in self.world.hubspot["campaigns"].snapshot(self.as_of)]

    def submissions(self, form_id: str) -> list[tuple] | None:
        """A form's visible submissions as stored tuples, oldest first; None if no form."""
        log = self.world.submissions.get(form_id)
        return None if log is None else log.visible(self.as_of)

    @staticmethod
    def submission(event: tuple) -> dict[str, Any]:
        """One stored submission in the form-integrations shape (unfilled fields left out)."""
        at, conversion, values, url = event
        return {"submittedAt": epoch_ms(at),
                "values": [{"name": n, "value": v} for n, v in values if v is not None],
                "pageUrl": url, "conversionId": conversion}

    def contact_row(self, contact_id: str) -> dict[str, Any] | None:
        """One visible, unarchived contact by id (batch read), or None."""
        record = self.world.hubspot["contacts"].records.get(contact_id)
        state = record.state(self.as_of) if record is not None else None
        if state is None or state.get("_archived"):
            return None
        row = dict(self.world.hubspot["contacts"].defaults)
        row.update(state)
        row["_id"] = contact_id
        return row

    def email_events(self) -> list[tuple]:
        """Visible email events, oldest first, as stored tuples."""
        return self.world.email_events.visible(self.as_of)

    @staticmethod
    def email_event(event: tuple) -> dict[str, Any]:
        """One stored email event in the legacy events API shape."""
        created, event_id, kind, recipient, email_id, sent_id, sent_at, extra = event
        out: dict[str, Any] = {
            "id": event_id, "created": epoch_ms(created), "type": kind, "recipient": recipient,
            "emailCampaignId": email_id, "portalId": PORTAL_ID, "appId": EMAIL_APP_ID,
            "appName": "Batch", "sentBy": {"id": sent_id, "created": epoch_ms(sent_at)},
        }
        if kind == "CLICK":
            out["url"] = extra
        elif kind == "STATUSCHANGE":
            out.update(subscriptions=[{"id": 1, "status": extra}], portalSubscriptionStatus=extra,
                       changeType="PORTAL_STATUS", source="SOURCE_RECIPIENT")
        elif kind == "BOUNCE":
            out.update(category="HARD_BOUNCE", response="550 5.1.1 user unknown")
        return out

    # -- Salesforce ----------------------------------------------------------------------
    def salesforce_fields(self, sobject: str) -> dict[str, str]:
        """Field name → describe type, with the new-column fault's custom field."""
        fields = dict(SALESFORCE_FIELDS[sobject])
        custom = self.world.config.salesforce_custom_fields.get(sobject, {})
        fields.update({name: CUSTOM_FIELD_KINDS[kind][0] for name, kind in custom.items()})
        if self.faults.has_new_column(sobject):
            fields[SALESFORCE_NEW_COLUMN[0]] = SALESFORCE_NEW_COLUMN[1]
        return fields

    def salesforce_rows(self, sobject: str, include_deleted: bool) -> list[dict]:
        """Visible records; `query` hides deleted ones, `queryAll` shows them."""
        rows = self.world.salesforce[sobject].snapshot(self.as_of)
        if "SystemModstamp" in SALESFORCE_FIELDS[sobject]:
            rows = self._with_defects(sobject, rows, "SystemModstamp",
                                      ("SystemModstamp", "LastModifiedDate"))
        if include_deleted:
            return rows
        return [r for r in rows if not r.get("IsDeleted")]

    def salesforce_bad_id(self, sobject: str) -> str | None:
        """The record the malformed-record fault currently spoils, if any."""
        # after data defects and `touch`: a touched record is the newest one
        rows = self.salesforce_rows(sobject, include_deleted=True)
        stamp = "SystemModstamp" if "SystemModstamp" in SALESFORCE_FIELDS[sobject] else (
            "CreatedDate")
        return self._malformed_id(sobject, rows, stamp)

    def salesforce_record(self, sobject: str, row: dict, fields: list[str],
                          bad_id: str | None = None) -> dict[str, Any]:
        """One record in the query API shape, with `attributes` first."""
        out: dict[str, Any] = {"attributes": {
            "type": sobject, "url": f"/services/data/{API_VERSION}/sobjects/{sobject}/{row['Id']}"}}
        for name in fields:
            if name == SALESFORCE_NEW_COLUMN[0]:
                out[name] = _region(row["Id"])
            else:
                out[name] = sf_value(row.get(name))
        if row["Id"] == bad_id:
            name, value = _malformed_field(sobject)
            if name in out:
                out[name] = value
        return out

    # -- data defects (faults.DEFECTS) --------------------------------------------------
    def _with_defects(self, key: str, rows: list[dict], stamp: str,
                      modified: tuple[str, ...]) -> list[dict]:
        """`rows` with the data defects switched on for `key`; the snapshot is not touched.

        The spoiled record is the newest live one; it is stamped modified at `as_of` so an
        incremental run (cursor on `stamp`) loads it again.
        """
        defects = self.faults.defects_for(key)
        if not defects or not rows:
            return rows
        if "volume_drop" in defects:
            rows = rows[: len(rows) // 2]
            defects = defects - {"volume_drop"}
            if not defects:
                return rows
        target = self._defect_target(key, rows, stamp)
        spoiled = dict(target)
        for name in modified:
            spoiled[name] = self.as_of
        for kind in sorted(defects - {"touch"}):
            _spoil(kind, key, spoiled, self.as_of)
        out = [spoiled if r is target else r for r in rows]
        if "duplicate_key" in defects:
            out.append(dict(spoiled))
        return out

    def _defect_target(self, key: str, rows: list[dict], stamp: str) -> dict:
        """The record defects spoil: the newest live one when first asked, then always the
        same, so a later `touch` re-sends exactly the record a defect spoiled."""
        with self._lock:
            pinned = self._defect_targets.get(key)
        found = next((r for r in rows if r["_id"] == pinned), None)
        if found is not None:
            return found
        live = [r for r in rows if not r.get("IsDeleted") and not r.get("_archived")]
        target = max(live or rows, key=lambda r: (r.get(stamp) or r.get("CreatedDate")
                                                   or r.get("createdate"), r["_id"]))
        with self._lock:
            self._defect_targets.setdefault(key, target["_id"])
        return target

    # -- for tests -----------------------------------------------------------------------
    def expected(self, object_name: str, include_deleted: bool = False) -> list[dict]:
        """What the API exposes now for `system.object`, in the API's own shape."""
        system, _, name = object_name.partition(".")
        if system == "hubspot":
            if name in ("contacts", "companies", "tasks"):
                rows = self.hubspot_rows(name, archived=None if include_deleted else False)
                props = sorted(self.hubspot_property_names(name))
                return self.hubspot_objects(name, rows, props)
            if name == "owners":
                return self.owners(False) + (self.owners(True) if include_deleted else [])
            if name == "forms":
                return self.forms()
            if name == "campaigns":
                return self.campaigns(None)
            if name == "form_submissions":
                return [dict(self.submission(s), formId=form_id)
                        for form_id in self.world.submissions
                        for s in reversed(self.submissions(form_id))]
            if name == "email_events":
                return [self.email_event(e) for e in self.email_events()]
        if system == "salesforce":
            sobject = _sobject_name(name)
            if sobject is not None:
                fields = list(self.salesforce_fields(sobject))
                bad = self.salesforce_bad_id(sobject)
                return [self.salesforce_record(sobject, r, fields, bad)
                        for r in self.salesforce_rows(sobject, include_deleted)]
        raise KeyError(f"unknown object {object_name!r}; use e.g. 'hubspot.contacts' or "
                       "'salesforce.Lead'")


_REQUIRED = {"Lead": "Status", "Opportunity": "StageName", "Contact": "LastName",
             "Account": "Name", "contacts": "createdate", "companies": "name"}
_STAGE_FIELD = {"Lead": "Status", "Opportunity": "StageName", "contacts": "lifecyclestage"}
_ORPHAN_ACCOUNT_ID = "001ORPHAN000000AAA"


def _spoil(kind: str, key: str, row: dict, now: datetime) -> None:
    """Apply one data defect to a copied row (duplicate_key is applied by the caller)."""
    if kind == "missing_field" and key in _REQUIRED:
        row[_REQUIRED[key]] = None
    elif kind == "bad_email":
        row["Email" if "Email" in row else "email"] = "not-an-email"
    elif kind == "unknown_stage" and key in _STAGE_FIELD:
        row[_STAGE_FIELD[key]] = "Parked by a robot"
    elif kind == "future_timestamp":
        row["CreatedDate" if "CreatedDate" in row else "createdate"] = now + timedelta(days=365)
    elif kind == "orphan_opportunity" and "AccountId" in row:
        row["AccountId"] = _ORPHAN_ACCOUNT_ID


def _sobject_name(name: str) -> str | None:
    """`Lead`, `lead`, `opportunity_history` → the sObject name, or None."""
    flat = name.replace("_", "").lower()
    return next((s for s in SALESFORCE_FIELDS if s.lower() == flat), None)


def _malformed_field(sobject: str) -> tuple[str, Any]:
    """The field a malformed record spoils, and the wrong-typed value it gets."""
    fields = SALESFORCE_FIELDS[sobject]
    for name, kind in fields.items():
        if kind in ("currency", "double", "percent", "int"):
            return name, "n/a"
    for name, kind in fields.items():
        if kind == "boolean" and name != "IsDeleted":
            return name, "maybe"
    return "CreatedDate", "not a date"
