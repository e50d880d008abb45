"""The plan: the CRM writes that bring Salesforce and HubSpot to the desired state.

`plan` reads the desired state (dbt's `activation.act_*` models), the ledger's last writes
and, for conflicts, the CRM values the night's ingestion loaded; it lists creates,
updates and closes in the vendors' field names, what it skips and why, and the human
edits it leaves alone. A plan is refused whole on a night that did not publish, or when
it would change more than the guards allow. It never writes to a CRM.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from activation import ledger
from activation.ledger import (
    CLOSE,
    CONFLICT,
    CREATE,
    OK,
    SKIPPED,
    UPDATE,
    Entry,
    Written,
)
from leadbridge.content import content_hash, postgres_content_hash
from leadbridge.engine import Engine, Session, quote
from leadbridge.erasure import IDENTIFIERS_TABLE, PRIVACY_SCHEMA, recorded_requests
from leadbridge.paths import DBT_MANIFEST
from leadbridge.publication import MARTS_SCHEMA, Unpublished, publication_in_place, unpublished
from leadbridge.restatements import LEDGER as RESTATEMENTS
from leadbridge.settings import (
    ACTIVATE_MAX_CHANGES,
    ACTIVATE_MAX_SHARE,
    ACTIVATE_QUEUE_OWNER,
    APPLY,
    Settings,
)

SALESFORCE, HUBSPOT = "salesforce", "hubspot"
FOLLOWUPS = "act_followup_tasks"
SHARED_STATUS = "act_shared_status"
TASK_OBJECTS = {SALESFORCE: "Task", HUBSPOT: "tasks"}
# The CRM record kind of a shared-status object, as `privacy` names record ids.
RECORD_KINDS = {
    (SALESFORCE, "Lead"): "salesforce_lead",
    (SALESFORCE, "Contact"): "salesforce_contact",
    (HUBSPOT, "contacts"): "hubspot_contact",
}
# The shared-status values, by Leadbridge's name, as each CRM names the field.
SHARED_FIELDS = {
    SALESFORCE: {
        "stage": "Leadbridge_Stage__c",
        "mql_date": "Leadbridge_MQL_Date__c",
        "sla_status": "Leadbridge_SLA_Status__c",
        "person_key": "Leadbridge_Person_Key__c",
    },
    HUBSPOT: {
        "stage": "leadbridge_stage",
        "mql_date": "leadbridge_mql_date",
        "sla_status": "leadbridge_sla_status",
        "person_key": "leadbridge_person_key",
    },
}
# The field that carries the activation key: the External ID / unique property upserts use.
KEY_FIELDS = {SALESFORCE: "Leadbridge_Key__c", HUBSPOT: "leadbridge_key"}
# The raw tables the night's ingestion loads the CRM records into (custom columns
# lower-cased; see raw_columns for the `__c` suffix).
RAW_TABLES = {
    (SALESFORCE, "Lead"): ("salesforce", "lead"),
    (SALESFORCE, "Contact"): ("salesforce", "contact"),
    (HUBSPOT, "contacts"): ("hubspot", "contacts"),
}
# Task values. A close is Deferred, not Completed: the read-back counts a completed task as
# a sales touch, and a task Leadbridge closes was never worked (docs/activation.md).
OPEN_STATUS = {SALESFORCE: "Not Started", HUBSPOT: "NOT_STARTED"}
CLOSED_STATUS = {SALESFORCE: "Deferred", HUBSPOT: "DEFERRED"}
PRIORITY = {"breached": "High", "open": "Normal"}
# Fields a task takes on creation only: an update never reopens, reassigns or re-links a
# task a rep may have worked.
CREATE_ONLY = {"Status", "OwnerId", "WhoId", "hs_task_status", "hubspot_owner_id"}
# Leadbridge's tasks as the night's ingestion read them back: those a person closed (done
# or put aside) or deleted need no close, and must not get one (it would overwrite
# `Completed` with `Deferred`).
CRM_TASKS = {SALESFORCE: "stg_salesforce__tasks", HUBSPOT: "stg_hubspot__tasks"}
CRM_CLOSED = {
    SALESFORCE: "coalesce(is_closed, false) or completed_at is not null "
    "or task_status in ('Completed', 'Deferred') or coalesce(is_deleted, false)",
    HUBSPOT: "completed_at is not null or task_status in ('COMPLETED', 'DEFERRED') "
    "or coalesce(is_archived, false)",
}
SETTLED = "closed in the CRM by a person: recorded as closed, nothing sent"
SAMPLE_ROWS = 10


@dataclass(frozen=True)
class Night:
    """The night a plan is for: the run that should have published (None outside a run:
    then the working marts must be the ones in place) and where BI reads them."""

    run_id: str | None
    published_file: Path
    manifest: Path = DBT_MANIFEST


@dataclass(frozen=True)
class PlannedWrite:
    """One write to make. `fields` are the CRM's field (property) names and the values to
    send; `record_id` is the CRM record for an update or close (None for a create, which
    upserts on `external_id`)."""

    activation_key: str
    system: str
    object: str
    action: str
    record_id: str | None
    external_id: str | None
    fields: Mapping[str, Any]
    payload_hash: str
    person_id: str
    person_record: str | None
    # HubSpot: the records a task is associated with, (object, id)
    associations: tuple[tuple[str, str], ...] = ()
    # the shared-status values sent, by Leadbridge's name (kept in the ledger: no PII)
    shared_values: Mapping[str, Any] | None = None

    def entry(self, status: str) -> Entry:
        """This write as a ledger row with `status`: field names, never values."""
        return Entry(
            system=self.system,
            object=self.object,
            activation_key=self.activation_key,
            action=self.action,
            status=status,
            person_record=self.person_record,
            payload_hash=self.payload_hash,
            payload_fields=tuple(sorted(self.fields)),
            shared_values=self.shared_values,
            crm_id=self.record_id,
        )


@dataclass(frozen=True)
class Skipped:
    """A write the plan holds back, and why (for a conflict: the fields a person changed)."""

    activation_key: str
    system: str
    object: str
    action: str
    reason: str
    record_id: str | None = None
    person_record: str | None = None

    def entry(self, status: str) -> Entry:
        """This skip as a ledger row with `status` (skipped or conflict)."""
        return Entry(
            system=self.system,
            object=self.object,
            activation_key=self.activation_key,
            action=self.action,
            status=status,
            person_record=self.person_record,
            reason=self.reason,
            crm_id=self.record_id,
        )


@dataclass(frozen=True)
class Summary:
    """A plan for people to read, without personal data: counts, a sample of keys and
    record ids, the reasons of skips, the conflicts and the refusal."""

    counts: Mapping[str, int]  # "<system> <action>" → writes
    sample: tuple[Mapping[str, Any], ...]
    skipped: Mapping[str, int]  # reason → writes
    conflicts: tuple[Mapping[str, Any], ...]
    aborted: str | None
    notes: tuple[str, ...]
    modes: Mapping[str, str]

    @property
    def total(self) -> int:
        """Writes planned."""
        return sum(self.counts.values())

    def _table(self, rows: tuple[Mapping[str, Any], ...], markdown: bool) -> list[str]:
        if not rows:
            return []
        columns = list(rows[0])
        if markdown:
            lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
            return lines + ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows]
        widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
        line = "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))
        out = [line]
        for row in rows:
            out.append(
                "  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths, strict=True))
            )
        return out

    def text(self, markdown: bool = False) -> str:
        """The summary as plain text (the command line) or markdown (Dagster)."""
        modes = ", ".join(f"{system} {mode}" for system, mode in sorted(self.modes.items()))
        lines = [f"Activation plan ({modes})"]
        if self.aborted:
            lines.append(f"REFUSED: {self.aborted}")
        counts = ", ".join(f"{name} {n}" for name, n in sorted(self.counts.items()))
        lines.append(f"writes planned: {self.total}" + (f" ({counts})" if counts else ""))
        if self.sample:
            lines += ["", f"sample (first {len(self.sample)}):"]
            lines += self._table(self.sample, markdown)
        if self.skipped:
            lines += ["", "skipped:"]
            lines += [f"- {n} × {reason}" for reason, n in sorted(self.skipped.items())]
        if self.conflicts:
            lines += ["", "conflicts (changed in the CRM since Leadbridge wrote it; left alone):"]
            lines += self._table(self.conflicts, markdown)
        if self.notes:
            lines += ["", "notes:"] + [f"- {note}" for note in self.notes]
        return "\n".join(lines)


@dataclass(frozen=True)
class Plan:
    """The writes of one night, what is held back, and whether the plan is refused."""

    items: tuple[PlannedWrite, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    conflicts: tuple[Skipped, ...] = ()
    # open tasks of the ledger a person closed in the CRM: recorded closed, not written
    settled: tuple[Skipped, ...] = ()
    aborted: str | None = None
    notes: tuple[str, ...] = ()
    modes: Mapping[str, str] = field(default_factory=dict)
    # keys Leadbridge has written before (the ledger's current state)
    existing: int = 0
    # what the plan was made from (see `basis`): the apply sends it only while it holds
    basis: tuple | None = field(default=None, compare=False)

    def holds(self) -> list[Entry]:
        """What the plan records without sending anything: skips, conflicts and the tasks
        a person closed; none when it is refused (nothing of it may be written). The
        writes are recorded as they are sent (pending, then the answer)."""
        if self.aborted:
            return []
        return (
            [skip.entry(SKIPPED) for skip in self.skipped]
            + [conflict.entry(CONFLICT) for conflict in self.conflicts]
            + [settled.entry(OK) for settled in self.settled]
        )

    def summary(self, sample_rows: int = SAMPLE_ROWS) -> Summary:
        """Counts per system and action, a sample and the holds, without personal data:
        keys, objects, actions and record ids only, never subjects or names."""
        counts = Counter(f"{item.system} {item.action}" for item in self.items)
        ordered = sorted(self.items, key=lambda i: (i.system, i.action, i.object, i.activation_key))
        sample = tuple(
            {
                "system": item.system,
                "object": item.object,
                "action": item.action,
                "key": item.activation_key,
                "record_id": item.record_id or "(new)",
            }
            for item in ordered[:sample_rows]
        )
        conflicts = tuple(
            {
                "system": c.system,
                "object": c.object,
                "key": c.activation_key,
                "record_id": c.record_id,
                "changed": c.reason,
            }
            for c in self.conflicts
        )
        return Summary(
            counts=dict(counts),
            sample=sample,
            skipped=dict(Counter(s.reason for s in self.skipped)),
            conflicts=conflicts,
            aborted=self.aborted,
            notes=self.notes
            + ((f"{len(self.settled)} open tasks {SETTLED}",) if self.settled else ()),
            modes=dict(self.modes),
        )


def _payload_json() -> Callable[[Any], str]:
    """json.dumps(value, sort_keys=True, default=str), its C encoder made once rather than
    per write (json.dumps makes one per call); the same text, as the ledger's hashes
    were made from it."""
    encoder = json.JSONEncoder(sort_keys=True, default=str)
    if c_make_encoder is None:
        return encoder.encode
    make = c_make_encoder(
        None,  # no circular check: a payload is a flat dict and a tuple
        encoder.default,
        encode_basestring_ascii,
        encoder.indent,
        encoder.key_separator,
        encoder.item_separator,
        encoder.sort_keys,
        encoder.skipkeys,
        encoder.allow_nan,
    )
    return lambda value: "".join(make(value, 0))


_PAYLOAD_JSON = _payload_json()


def payload_hash(fields: Mapping[str, Any], associations: tuple = ()) -> str:
    """A digest of what a write sends."""
    text = _PAYLOAD_JSON([dict(fields), list(associations)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# -- the night ---------------------------------------------------------------------------
def refusal(sql: Session, engine: Engine, night: Night) -> str | None:
    """Why this night's marts may not be acted on (None: they may). In a run, the
    publication in place must be the run's own: exact, and free, as the run holds the
    warehouse. Outside a run there is no run to compare, so the working marts must hold
    what the publication in place holds, table by table (its content hashes)."""
    publication = publication_in_place(engine, night.published_file)
    if publication is None:
        return "nothing is published: activation acts only on marts that passed their checks"
    if night.run_id is not None:
        if publication.run_id != night.run_id:
            return (
                f"this night (run {night.run_id}) did not publish: the marts in place are "
                f"run {publication.run_id}'s"
            )
        return None
    hidden = unpublished(night.manifest) if night.manifest.exists() else Unpublished()
    # The restatement ledger is made by the publication itself, not by the build: there
    # is no working copy of it to compare.
    differing = [
        table
        for table, published in sorted(publication.hashes.items())
        if table != RESTATEMENTS and _working_hash(sql, table, hidden) != published
    ]
    if differing:
        return (
            f"the working marts differ from the publication in place (run "
            f"{publication.run_id}) in {', '.join(differing)}: a later build did not publish"
        )
    return None


def _working_hash(sql: Session, table: str, hidden: Unpublished) -> str | None:
    """The content hash of a working mart as the publication hashed its copy."""
    if not sql.table_exists(MARTS_SCHEMA, table):
        return None
    exclude = hidden.columns.get((MARTS_SCHEMA, table), frozenset())
    if sql.engine == "postgres":
        with sql.connection.cursor() as cursor:
            return postgres_content_hash(cursor, MARTS_SCHEMA, table, exclude)
    return content_hash(sql.connection, MARTS_SCHEMA, table, exclude=exclude)


def basis(sql: Session, settings: Settings, night: Night) -> tuple:
    """What a plan of `night` depends on besides the night's build, which the run holds
    still: the settings it reads, the ledger (rows, pending ones, latest times) and the
    erasure requests. An apply reuses a plan only while this is unchanged."""
    marks: tuple = ()
    if sql.table_exists(ledger.SCHEMA, "ledger"):
        marks = tuple(
            sql.rows(
                f"select count(*), count(*) filter (where status = '{ledger.PENDING}'), "
                f"max(recorded_at), max(written_at) from {ledger.LEDGER}"
            )[0]
        )
    identifiers = ()
    if sql.table_exists(PRIVACY_SCHEMA, "erased_identifiers"):
        # recorded only ever added to: a new request shows in the count
        identifiers = tuple(sql.rows(f"select count(*) from {IDENTIFIERS_TABLE}")[0])
    return (
        night,
        tuple(sorted(settings.activation_modes.items())),
        settings.activate_queue_owner,
        settings.activate_max_changes,
        settings.activate_max_share,
        marks,
        identifiers,
    )


# -- reading -----------------------------------------------------------------------------
def _records(sql: Session, query: str) -> list[dict[str, Any]]:
    if sql.engine == "postgres":
        with sql.connection.cursor() as cursor:
            cursor.execute(query)
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    result = sql.connection.execute(query)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def closed_in_crm(sql: Session) -> set[tuple[str, str]]:
    """(system, key) of Leadbridge's tasks a person closed or deleted in the CRM, as the
    night read them back (none where the staging model is not built)."""
    closed = set()
    for system, model in CRM_TASKS.items():
        if sql.table_exists("staging", model):
            query = (
                f"select leadbridge_key from staging.{model} "
                f"where leadbridge_key is not null and ({CRM_CLOSED[system]})"
            )
            closed |= {(system, str(row[0])) for row in sql.rows(query)}
    return closed


@dataclass(frozen=True)
class Erased:
    """Who must never be written about: persons, and CRM records as `<kind>:<id>`."""

    persons: frozenset[str]
    records: frozenset[str]

    def covers(self, person_id: str | None, person_record: str | None) -> bool:
        """Whether a write about this person or record is about an erased person."""
        return person_id in self.persons or person_record in self.records


def erased(sql: Session) -> Erased:
    """Every person and record an erasure request names, read from `privacy` itself (the
    models leave them out too; this does not rely on it)."""
    requests = recorded_requests(sql)
    records = {
        f"{kind}:{value}"
        for who in requests.values()
        for kind, ids in who.ids.items()
        for value in ids
    }
    hashes = {h for who in requests.values() for h in who.email_hashes}
    persons: set[str] = set()
    if (records or hashes) and sql.table_exists(MARTS_SCHEMA, "dim_person"):
        for row in _records(
            sql,
            "select person_id, hubspot_contact_id, salesforce_lead_id, salesforce_contact_id, "
            "email_hash from marts.dim_person",
        ):
            ids = {
                f"hubspot_contact:{row['hubspot_contact_id']}",
                f"salesforce_lead:{row['salesforce_lead_id']}",
                f"salesforce_contact:{row['salesforce_contact_id']}",
            }
            if ids & records or row["email_hash"] in hashes:
                persons.add(row["person_id"])
    return Erased(frozenset(persons), frozenset(records))


@dataclass(frozen=True)
class CrmValues:
    """The shared-status values the night's ingestion loaded, per (system, object, record
    id): {Leadbridge's name: value}, and when the record was loaded (epoch seconds)."""

    values: Mapping[tuple[str, str, str], tuple[Mapping[str, Any], float | None]]
    notes: tuple[str, ...]


def raw_columns(system: str, name: str) -> tuple[str, ...]:
    """The raw columns a shared-status field may be loaded into: the connector keeps a
    custom field's `__c` (docs/raw_tables.md), dlt's own naming folds it into `_c`; the
    one the raw table has is the one read."""
    crm_name = SHARED_FIELDS[system][name].lower()
    if crm_name.endswith("__c"):
        return crm_name, crm_name[: -len("__c")] + "_c"
    return (crm_name,)


def crm_values(
    sql: Session,
    wanted: set[tuple[str, str, str]],
    targets: set[tuple[str, str]] | None = None,
) -> CrmValues:
    """The CRM's current shared-status values of the records in `wanted`, where the raw
    tables have the columns (ingestion loads them once they exist in the CRM), and a note
    for each of the `targets` objects (default: those of `wanted`) whose table lacks them."""
    values: dict[tuple[str, str, str], tuple[Mapping[str, Any], float | None]] = {}
    notes = []
    targets = {(s, o) for s, o, _ in wanted} if targets is None else targets
    for (system, obj), (schema, table) in sorted(RAW_TABLES.items()):
        ids = sorted({record for s, o, record in wanted if (s, o) == (system, obj)})
        if not ids and (system, obj) not in targets:
            continue
        present = {
            row[0]
            for row in sql.rows(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            )
        }
        columns = {name: raw_columns(system, name) for name in SHARED_FIELDS[system]}
        have = {
            name: next(c for c in candidates if c in present)
            for name, candidates in columns.items()
            if any(c in present for c in candidates)
        }
        if not have:
            expected = sorted(candidates[0] for candidates in columns.values())
            notes.append(
                f"{schema}.{table} has no {', '.join(expected)} columns: a "
                f"human edit of the shared status in {system} {obj} cannot be detected yet"
            )
            continue
        if not ids:
            continue
        loaded = "cast(_dlt_load_id as double precision)" if "_dlt_load_id" in present else "null"
        selected = ", ".join(quote(column) for column in have.values())
        # one list parameter, not a placeholder per record: a night can want a million
        for row in sql.rows(
            f"select id, {loaded}, {selected} from {schema}.{quote(table)} "
            "where id in (select unnest(?))",
            [ids],
        ):
            current = dict(zip(have, row[2:], strict=True))
            values[(system, obj, str(row[0]))] = (current, row[1])
    return CrmValues(values, tuple(notes))


def _comparable(value: Any) -> str | None:
    """A field value as both sides spell it: dates as ISO days, empty as None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def changed_by_hand(
    values: CrmValues, system: str, obj: str, record_id: str, last: Written
) -> list[str]:
    """The shared-status fields whose CRM value differs from what Leadbridge last wrote,
    when the CRM record was loaded after that write (an older copy proves nothing)."""
    found = values.values.get((system, obj, record_id))
    if found is None or last.written_at is None:
        return []
    current, loaded = found
    written_at = last.written_at.replace(tzinfo=UTC).timestamp()
    if loaded is None or float(loaded) < written_at:
        return []
    return sorted(
        SHARED_FIELDS[system][name]
        for name, value in current.items()
        if _comparable(value) != _comparable(last.shared_values.get(name))
    )


# -- the desired writes ------------------------------------------------------------------
def task_fields(row: Mapping[str, Any], owner: str | None) -> dict[str, Any]:
    """A follow-up task as created, in the CRM's names."""
    system = row["target_system"]
    key = row["activation_key"]
    if system == SALESFORCE:
        return {
            "Subject": row["subject"],
            "WhoId": row["who_record_id"],
            "OwnerId": owner,
            "ActivityDate": _comparable(row["due_date"]),
            "Status": OPEN_STATUS[system],
            "Priority": PRIORITY.get(row["sla_status"], "Normal"),
            "Description": row["description"],
            KEY_FIELDS[system]: key,
        }
    due_at = row["due_at"]
    return {
        "hs_task_subject": row["subject"],
        "hs_task_body": row["description"],
        "hs_task_status": OPEN_STATUS[system],
        "hs_timestamp": due_at.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        if isinstance(due_at, datetime)
        else _comparable(due_at),
        "hubspot_owner_id": owner,
        KEY_FIELDS[system]: key,
    }


def shared_fields(system: str, key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The shared status of one record, in the CRM's names."""
    fields = {SHARED_FIELDS[system][name]: value for name, value in values.items()}
    if system == SALESFORCE:
        fields[KEY_FIELDS[system]] = key
    return fields


def plan(engine: Engine, settings: Settings, night: Night) -> Plan:
    """The writes that bring both CRMs to the desired state of `night`, its holds, and
    whether the guards refuse it. Settings are read (and checked) here."""
    modes = settings.activation_modes
    queue_owner = settings.activate_queue_owner
    max_changes, max_share = settings.activate_max_changes, settings.activate_max_share
    if engine.is_spark:  # its ledger's SQL is DuckDB's and PostgreSQL's
        return Plan(
            aborted="the write-back does not run on Spark yet (docs/warehouses.md)", modes=modes
        )
    with engine.reader() as sql:
        made_from = basis(sql, settings, night)
        refused = refusal(sql, engine, night)
        if refused:
            return Plan(aborted=refused, modes=modes, basis=made_from)
        missing = [t for t in (FOLLOWUPS, SHARED_STATUS) if not sql.table_exists(ledger.SCHEMA, t)]
        if missing:
            return Plan(
                aborted=f"the desired state is not built ({', '.join(missing)}): run dbt build",
                modes=modes,
            )
        tasks = _records(sql, f"select * from {ledger.SCHEMA}.{FOLLOWUPS}")
        statuses = _records(sql, f"select * from {ledger.SCHEMA}.{SHARED_STATUS}")
        # the models' key tests only warn (a flaw there must not hold back the marts)
        for name, rows in ((FOLLOWUPS, tasks), (SHARED_STATUS, statuses)):
            if len({row["activation_key"] for row in rows}) != len(rows):
                return Plan(aborted=f"{name} has duplicate activation keys", modes=modes)
        last = ledger.written(sql)
        gone = erased(sql)
        # a hand edit is looked for only where Leadbridge wrote before (changed_by_hand)
        wanted = {
            (row["target_system"], row["target_object"], row["record_id"])
            for row in statuses
            if (row["target_system"], row["target_object"], row["activation_key"]) in last
        }
        targets = {(row["target_system"], row["target_object"]) for row in statuses}
        crm = crm_values(sql, wanted, targets)
        closed = closed_in_crm(sql)

    items: list[PlannedWrite] = []
    skipped: list[Skipped] = []
    conflicts: list[Skipped] = []
    settled: list[Skipped] = []

    for row in tasks:
        system, obj, key = row["target_system"], row["target_object"], row["activation_key"]
        person_record = f"{row['who_record_type']}:{row['who_record_id']}"
        owner = row["owner_record_id"]
        # a queue cannot own a Task and a rep who left must not: the fallback owner takes it
        left = row["owner_is_active"] is False
        if system == SALESFORCE and (row["owner_is_queue"] or left):
            owner = queue_owner
        elif left:
            owner = None
        fields = task_fields(row, owner)
        associations = (("contacts", row["who_record_id"]),) if system == HUBSPOT else ()
        digest = payload_hash(fields, associations)
        before = last.get((system, obj, key))
        if before is None or not before.is_open:
            action, record_id = CREATE, None
        elif before.payload_hash != digest:
            action, record_id = UPDATE, before.crm_id
            fields = {name: value for name, value in fields.items() if name not in CREATE_ONLY}
        else:
            continue
        skip = Skipped(key, system, obj, action, "", record_id, person_record)
        if gone.covers(row["person_id"], person_record):
            skipped.append(replace(skip, reason="erased person"))
        elif action == CREATE and owner is None:
            if row["owner_is_queue"]:
                reason = f"queue-owned hand-off and {ACTIVATE_QUEUE_OWNER.name} is unset"
            elif left and system == SALESFORCE:
                reason = f"the owner at the hand-off left and {ACTIVATE_QUEUE_OWNER.name} is unset"
            elif left:
                reason = f"the owner at the hand-off is no longer active in {system}"
            elif row["owner_key"] is None:
                reason = "the hand-off has no owner"
            else:
                reason = f"the owner at the hand-off has no {system} user"
            skipped.append(replace(skip, reason=reason))
        else:
            items.append(
                PlannedWrite(
                    key,
                    system,
                    obj,
                    action,
                    record_id,
                    key,
                    fields,
                    digest,
                    row["person_id"],
                    person_record,
                    associations if action == CREATE else (),
                )
            )

    desired_tasks = {(r["target_system"], r["target_object"], r["activation_key"]) for r in tasks}
    for (system, obj, key), before in sorted(last.items()):
        if obj != TASK_OBJECTS.get(system) or not before.is_open:
            continue
        if (system, obj, key) in desired_tasks:
            continue
        skip = Skipped(key, system, obj, CLOSE, "", before.crm_id, before.person_record)
        if gone.covers(None, before.person_record):
            skipped.append(replace(skip, reason="erased person"))
            continue
        if (system, key) in closed:
            settled.append(replace(skip, reason=SETTLED))
            continue
        fields = {
            ("Status" if system == SALESFORCE else "hs_task_status"): CLOSED_STATUS[system],
            KEY_FIELDS[system]: key,
        }
        items.append(
            PlannedWrite(
                key,
                system,
                obj,
                CLOSE,
                before.crm_id,
                key,
                fields,
                payload_hash(fields),
                "",
                before.person_record,
            )
        )

    for row in statuses:
        system, obj, key = row["target_system"], row["target_object"], row["activation_key"]
        record_id = row["record_id"]
        person_record = f"{RECORD_KINDS[(system, obj)]}:{record_id}"
        values = {
            "stage": row["canonical_stage"],
            "mql_date": _comparable(row["mql_date"]),
            "sla_status": row["sla_status"],
            "person_key": row["person_id"],
        }
        fields = shared_fields(system, key, values)
        digest = payload_hash(fields)
        before = last.get((system, obj, key))
        if before is not None and before.payload_hash == digest:
            continue
        if gone.covers(row["person_id"], person_record):
            erased_skip = Skipped(key, system, obj, UPDATE, "", record_id, person_record)
            skipped.append(replace(erased_skip, reason="erased person"))
            continue
        edited = changed_by_hand(crm, system, obj, record_id, before) if before else []
        if edited:
            reason = ", ".join(edited)
            conflicts.append(Skipped(key, system, obj, UPDATE, reason, record_id, person_record))
            continue
        items.append(
            PlannedWrite(
                key,
                system,
                obj,
                UPDATE,
                record_id,
                key if system == SALESFORCE else None,
                fields,
                digest,
                row["person_id"],
                person_record,
                shared_values=values,
            )
        )

    # The guards weigh what would be sent: the writes of the systems set to apply, or,
    # when none is, all of them (what switching apply on would send).
    weighed = set(applying(modes)) or set(modes)
    sent = [item for item in items if item.system in weighed]
    existing = sum(1 for before in last.values() if before.is_open)
    rewrites = sum(1 for item in sent if (item.system, item.object, item.activation_key) in last)
    return Plan(
        items=tuple(items),
        skipped=tuple(skipped),
        conflicts=tuple(conflicts),
        settled=tuple(settled),
        aborted=guard(len(sent), rewrites, existing, max_changes, max_share),
        notes=crm.notes,
        modes=modes,
        existing=existing,
        basis=made_from,
    )


def applying(modes: Mapping[str, str]) -> list[str]:
    """The systems set to `apply`."""
    return sorted(system for system, mode in modes.items() if mode == APPLY)


def guard(
    writes: int, rewrites: int, existing: int, max_changes: int, max_share: float
) -> str | None:
    """Why a plan is refused as a runaway (None: it is not): more `writes` than
    `max_changes`, or `rewrites` (writes to keys Leadbridge wrote before) of more than
    `max_share` of the `existing` ones (tasks still open, records carrying its status).
    First writes do not count towards the share: new hand-offs are ordinary growth, and
    a first night has nothing to compare with."""
    if writes > max_changes:
        return (
            f"{writes} writes planned, more than {ACTIVATE_MAX_CHANGES.name}="
            f"{max_changes}; raise it for a night you expect this (a first night, a "
            "contract change)"
        )
    if existing and rewrites > max_share * existing:
        return (
            f"{rewrites} updates and closes of the {existing} records Leadbridge wrote "
            f"({rewrites / existing:.0%}), more than {ACTIVATE_MAX_SHARE.name}={max_share}"
        )
    return None
