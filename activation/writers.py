"""The CRM writers: a plan's writes as the vendors' batch calls, and their answers.

Salesforce: tasks are upserted on `Leadbridge_Key__c` through sObject Collections, the
shared status is updated by record id (it must never create a lead); at most 200 records
a call, `allOrNone=false`, one result per record. HubSpot: tasks are upserted by the
unique property `leadbridge_key` (then associated with their contact), contacts updated
by id, at most 100 a call; the property group `leadbridge` and its properties are made
when missing. Answers keep codes and field names, never values. Calls go through the
ingestion side's `ApiClient`: its pacing, 429 handling, token renewal and quota budget.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from activation.ledger import FAILED, OK, WriteResult
from activation.plan import CREATE, HUBSPOT, KEY_FIELDS, SALESFORCE, SHARED_FIELDS, PlannedWrite
from ingestion.sources.api import ApiClient, ApiError, ConfigError, configured, credentials_from
from ingestion.sources.hubspot.helpers import HubSpotCredentials, hubspot_client
from ingestion.sources.limits import ApiUsage
from ingestion.sources.salesforce.helpers import SalesforceCredentials, salesforce_client
from ingestion.sources.salesforce.settings import API_VERSION

SALESFORCE_BATCH, HUBSPOT_BATCH = 200, 100
GROUP = "leadbridge"
# HubSpot's property definitions: (type, fieldType) by property name.
CONTACT_PROPERTIES = {
    SHARED_FIELDS[HUBSPOT]["stage"]: ("string", "text"),
    SHARED_FIELDS[HUBSPOT]["mql_date"]: ("date", "date"),
    SHARED_FIELDS[HUBSPOT]["sla_status"]: ("string", "text"),
    SHARED_FIELDS[HUBSPOT]["person_key"]: ("string", "text"),
}
TASK_TO_CONTACT = "/crm/v4/objects/tasks/{task}/associations/default/contacts/{contact}"


@dataclass(frozen=True)
class Batch:
    """Writes sent in one call; `send` returns one result per write."""

    writes: tuple[PlannedWrite, ...]
    send: Callable[[Sequence[PlannedWrite]], list[WriteResult]]


class Writer(Protocol):
    """One CRM's writer: the batches of a system's writes, after any set-up they need."""

    system: str
    usage: ApiUsage

    def batches(self, writes: Sequence[PlannedWrite]) -> Iterator[Batch]: ...


class MissingFields(ValueError):
    """The CRM lacks fields (properties) the writes need; the message names them."""


def connect(
    systems: Sequence[str], quota_share: float, spent: Mapping[str, int] | None = None
) -> dict[str, Writer]:
    """A writer for each of `systems`, signed in to the account its source reads (dlt's
    `SOURCES__<SYSTEM>__*` settings), its quota budget already charged with the calls
    `spent` tonight by ingestion; a system with no account configured is an error."""
    connections = {
        SALESFORCE: (SalesforceCredentials, salesforce_client, SalesforceWriter),
        HUBSPOT: (HubSpotCredentials, hubspot_client, HubSpotWriter),
    }
    writers: dict[str, Writer] = {}
    for system in systems:
        credentials, client, writer = connections[system]
        found = configured(system, credentials)
        if found is None:
            raise ConfigError(
                f"{system} is set to apply but no {system} account is configured: set its "
                f"SOURCES__{system.upper()}__* credentials (the ones ingestion reads)"
            )
        usage = ApiUsage(quota_share=quota_share, calls=(spent or {}).get(system, 0))
        signed_in = client(credentials_from(system, credentials, found), usage=usage)
        writers[system] = writer(signed_in)
    return writers


def chunks(writes: Sequence[PlannedWrite], size: int) -> Iterator[tuple[PlannedWrite, ...]]:
    """`writes` in runs of at most `size`."""
    for start in range(0, len(writes), size):
        yield tuple(writes[start : start + size])


def failed(writes: Sequence[PlannedWrite], answer: str) -> list[WriteResult]:
    """Every write of a call the CRM refused whole (or that got no usable answer)."""
    return [WriteResult(w.activation_key, w.system, FAILED, w.record_id, answer) for w in writes]


def refusal(error: ApiError) -> str:
    """A refused call as the ledger and the logs keep it: the endpoint, the status and the
    vendor's error codes with field names, never its message (it may echo a value)."""
    if error.status is None:
        return str(error)[:200]  # no answer: a connection failure, no record values
    try:
        body = json.loads(error.detail)
    except ValueError:
        body = None
    codes: list[str] = []
    if isinstance(body, list):  # Salesforce: [{errorCode, message, fields}]
        codes = [
            str(e.get("errorCode")) + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
            for e in body
            if isinstance(e, dict)
        ]
    elif isinstance(body, dict):  # HubSpot: {category, errors: [{code, context}]}
        codes = [str(body.get("category") or body.get("status") or "ERROR")]
        for e in body.get("errors") or []:
            names = (e.get("context") or {}).get("propertyName") or []
            code = e.get("code") or ""
            if code or names:
                codes.append(code + (f" ({', '.join(map(str, names))})" if names else ""))
    return f"{error.system} {error.method} {error.endpoint}: HTTP {error.status}" + (
        f" {'; '.join(codes)}" if codes else ""
    )


# -- Salesforce ------------------------------------------------------------------------
@dataclass
class SalesforceWriter:
    """sObject Collections: task upserts on the key field, status updates by id."""

    client: ApiClient
    system: str = SALESFORCE

    @property
    def usage(self) -> ApiUsage:
        return self.client.usage

    def batches(self, writes: Sequence[PlannedWrite]) -> Iterator[Batch]:
        tasks = [w for w in writes if w.object == "Task"]
        records = [w for w in writes if w.object != "Task"]
        self.check_fields(writes)
        key = KEY_FIELDS[SALESFORCE]
        for chunk in chunks(tasks, SALESFORCE_BATCH):
            yield Batch(chunk, lambda ws: self._send(f"composite/sobjects/Task/{key}", ws))
        for chunk in chunks(records, SALESFORCE_BATCH):
            yield Batch(chunk, lambda ws: self._send("composite/sobjects", ws, by_id=True))

    def check_fields(self, writes: Sequence[PlannedWrite]) -> None:
        """Every field the writes send exists on its object (describe): an org without
        Leadbridge's custom fields is told which to create before anything is sent. The
        first answer also tells the client the org's daily limit, for the budget."""
        wanted: dict[str, set[str]] = {}
        for write in writes:
            wanted.setdefault(write.object, set()).update(write.fields)
        missing = []
        for sobject, names in sorted(wanted.items()):
            described = self.client.request(
                "GET", f"/services/data/{API_VERSION}/sobjects/{sobject}/describe"
            )
            known = {f["name"] for f in described.get("fields", [])}
            missing += [f"{sobject}.{name}" for name in sorted(names - known)]
        if missing:
            raise MissingFields(
                f"the Salesforce org lacks {', '.join(missing)}: create them as "
                "docs/activation.md lists (and give the integration user edit access)"
            )

    def _send(
        self, path: str, writes: Sequence[PlannedWrite], by_id: bool = False
    ) -> list[WriteResult]:
        records = [
            {
                "attributes": {"type": w.object},
                **({"id": w.record_id} if by_id else {}),
                **w.fields,
            }
            for w in writes
        ]
        answer = self.client.request(
            "PATCH",
            f"/services/data/{API_VERSION}/{path}",
            json_body={"allOrNone": False, "records": records},
            budgeted=False,
        )
        if not isinstance(answer, list) or len(answer) != len(writes):
            return failed(writes, "the answer did not hold one result per record")
        return [_salesforce_result(w, result) for w, result in zip(writes, answer, strict=True)]


def _salesforce_result(write: PlannedWrite, result: dict[str, Any]) -> WriteResult:
    if result.get("success"):
        return WriteResult(write.activation_key, SALESFORCE, OK, result.get("id"), None)
    errors = result.get("errors") or []
    answer = "; ".join(
        f"{e.get('statusCode', '?')}" + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
        for e in errors
    )
    return WriteResult(write.activation_key, SALESFORCE, FAILED, write.record_id, answer)


# -- HubSpot ---------------------------------------------------------------------------
def _properties(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Property values as HubSpot takes them: an empty string clears one, not null."""
    return {name: "" if value is None else value for name, value in fields.items()}


@dataclass
class HubSpotWriter:
    """CRM v3 batches: task upserts by `leadbridge_key`, contact updates by id."""

    client: ApiClient
    system: str = HUBSPOT
    _made: set[str] = field(default_factory=set)

    @property
    def usage(self) -> ApiUsage:
        return self.client.usage

    def batches(self, writes: Sequence[PlannedWrite]) -> Iterator[Batch]:
        tasks = [w for w in writes if w.object == "tasks"]
        contacts = [w for w in writes if w.object == "contacts"]
        if tasks:
            self.ensure_properties("tasks", {KEY_FIELDS[HUBSPOT]: ("string", "text")})
        if contacts:
            self.ensure_properties("contacts", CONTACT_PROPERTIES)
        for chunk in chunks(tasks, HUBSPOT_BATCH):
            yield Batch(chunk, self._upsert_tasks)
        for chunk in chunks(contacts, HUBSPOT_BATCH):
            yield Batch(chunk, self._update_contacts)

    # set-up: the group and the properties the writes need, made once when missing
    def ensure_properties(self, object_type: str, properties: dict[str, tuple[str, str]]) -> None:
        """The group `leadbridge` and `properties` on `object_type`, made when missing;
        the task key is made with unique values, as the upsert requires."""
        base = f"/crm/v3/properties/{object_type}"
        if not self._exists(f"{base}/groups/{GROUP}"):
            self._create(f"{base}/groups", {"name": GROUP, "label": "Leadbridge"})
        for name, (kind, field_type) in properties.items():
            if self._exists(f"{base}/{name}"):
                continue
            definition = {
                "name": name,
                "label": name.replace("_", " ").capitalize(),
                "type": kind,
                "fieldType": field_type,
                "groupName": GROUP,
                "description": "Written by Leadbridge (docs/activation.md)",
                "hasUniqueValue": name == KEY_FIELDS[HUBSPOT],
            }
            self._create(base, definition)

    def _exists(self, path: str) -> bool:
        if path in self._made:
            return True
        try:
            self.client.request("GET", path)
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        self._made.add(path)
        return True

    def _create(self, path: str, body: dict[str, Any]) -> None:
        try:
            self.client.request("POST", path, json_body=body)
        except ApiError as error:
            if error.status != 409:  # made meanwhile: what we wanted
                raise

    def _upsert_tasks(self, writes: Sequence[PlannedWrite]) -> list[WriteResult]:
        key = KEY_FIELDS[HUBSPOT]
        inputs = [
            {
                "idProperty": key,
                "id": w.activation_key,
                "properties": _properties({k: v for k, v in w.fields.items() if k != key}),
            }
            for w in writes
        ]
        answer = self.client.request(
            "POST",
            "/crm/v3/objects/tasks/batch/upsert",
            json_body={"inputs": inputs},
            budgeted=False,
        )
        ids = {
            str(r.get("properties", {}).get(key)): str(r["id"]) for r in answer.get("results", [])
        }
        results = []
        for write in writes:
            task_id = ids.get(write.activation_key)
            if task_id is None:
                results.append(failed([write], "no result for the key")[0])
            elif write.action == CREATE:
                results.append(self._associate(write, task_id))
            else:
                results.append(WriteResult(write.activation_key, HUBSPOT, OK, task_id, None))
        return results

    def _associate(self, write: PlannedWrite, task_id: str) -> WriteResult:
        """The task linked to its contact: only then is its create done (a create whose
        link failed is planned again, and the upsert finds the task)."""
        try:
            for _, contact_id in write.associations:
                path = TASK_TO_CONTACT.format(task=task_id, contact=contact_id)
                self.client.request("PUT", path, budgeted=False)
        except ApiError as error:
            answer = f"created, not associated: {refusal(error)}"
            return WriteResult(write.activation_key, HUBSPOT, FAILED, task_id, answer)
        return WriteResult(write.activation_key, HUBSPOT, OK, task_id, None)

    def _update_contacts(self, writes: Sequence[PlannedWrite]) -> list[WriteResult]:
        inputs = [{"id": w.record_id, "properties": _properties(w.fields)} for w in writes]
        answer = self.client.request(
            "POST",
            "/crm/v3/objects/contacts/batch/update",
            json_body={"inputs": inputs},
            budgeted=False,
        )
        done = {str(r["id"]) for r in answer.get("results", [])}
        refused = {
            str(record_id): str(e.get("category", "ERROR"))
            for e in answer.get("errors", [])
            for record_id in (e.get("context", {}).get("ids") or [])
        }
        return [
            WriteResult(w.activation_key, HUBSPOT, OK, w.record_id, None)
            if w.record_id in done
            else WriteResult(
                w.activation_key,
                HUBSPOT,
                FAILED,
                w.record_id,
                refused.get(str(w.record_id), "no result for the record"),
            )
            for w in writes
        ]
