"""The ledger: every write Leadbridge plans or makes in a CRM, in schema `activation`.

`activation.ledger` holds one row per attempt (pending, then ok / failed / conflict) or
hold (skipped, conflict, a task a person closed) with keys, field names and the CRM's
answer, never personal values; `activation.ledger_state` is the last successful write
per key. A writer records its batch `pending` in a transaction of its own before it
sends anything and the answers after: after a crash a pending key counts as not
written, and the next plan sends it again, which the CRM's upsert by
`Leadbridge_Key__c` / `leadbridge_key` makes harmless.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from leadbridge.engine import Engine, Session

SCHEMA = "activation"
LEDGER = f"{SCHEMA}.ledger"
STATE = f"{SCHEMA}.ledger_state"
CREATE, UPDATE, CLOSE = "create", "update", "close"
ACTIONS = (CREATE, UPDATE, CLOSE)
PENDING, OK, FAILED, CONFLICT, SKIPPED = (
    "pending",
    "ok",
    "failed",
    "conflict",
    "skipped",
)
STATUSES = (PENDING, OK, FAILED, CONFLICT, SKIPPED)
RESULT_STATUSES = (OK, FAILED, CONFLICT, SKIPPED)
# A CRM's error text is kept for the audit, cut here; the writer passes codes, not values.
ANSWER_CHARS = 500

_COLUMNS = (
    ("attempt_id", "varchar not null primary key"),
    ("run_id", "varchar"),
    ("system", "varchar not null"),
    ("object", "varchar not null"),
    ("activation_key", "varchar not null"),
    ("action", "varchar not null"),
    # the person's CRM record the write is about, `<kind>:<id>` as privacy records it
    ("person_record", "varchar"),
    ("payload_hash", "varchar"),
    ("payload_fields", "varchar"),  # the field names sent, comma-separated
    # JSON of the shared-status values sent (stage, dates, status, person key): no PII
    ("shared_values", "varchar"),
    ("status", "varchar not null"),
    ("reason", "varchar"),  # why skipped, which fields a human changed
    ("crm_id", "varchar"),
    ("crm_answer", "varchar"),
    ("recorded_at", "timestamp not null"),
    ("written_at", "timestamp"),
)
COLUMNS = tuple(name for name, _ in _COLUMNS)


@dataclass(frozen=True)
class Entry:
    """One row to record: a write sent (pending), a skipped one, or a conflict."""

    system: str
    object: str
    activation_key: str
    action: str
    status: str
    person_record: str | None = None
    payload_hash: str | None = None
    payload_fields: tuple[str, ...] = ()
    shared_values: Mapping[str, Any] | None = None
    reason: str | None = None
    crm_id: str | None = None


class Recordable(Protocol):
    """What a ledger row can be made of: a planned write (activation.plan.PlannedWrite)."""

    def entry(self, status: str) -> Entry: ...


@dataclass(frozen=True)
class WriteResult:
    """The CRM's answer for one pending write, as the writer reports it. `system` tells a
    task's close in one CRM from its create in the other under the same key."""

    activation_key: str
    system: str
    status: str  # ok, failed, conflict or skipped
    crm_id: str | None = None
    answer: str | None = None  # HTTP status and error code/message, no field values


@dataclass(frozen=True)
class Written:
    """What Leadbridge last wrote under one key, successfully."""

    system: str
    object: str
    activation_key: str
    action: str
    crm_id: str | None
    payload_hash: str | None
    person_record: str | None
    shared_values: Mapping[str, Any]
    written_at: datetime | None

    @property
    def is_open(self) -> bool:
        """Not closed: a task still open, or a record carrying Leadbridge's status."""
        return self.action != CLOSE


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_ledger(sql: Session) -> None:
    """Schema `activation` with the ledger and its current-state view, when missing."""
    sql.execute(f"create schema if not exists {SCHEMA}")
    columns = ", ".join(f"{name} {kind}" for name, kind in _COLUMNS)
    sql.execute(f"create table if not exists {LEDGER} ({columns})")
    sql.execute(
        f"""create or replace view {STATE} as
        select system, object, activation_key, action, crm_id, payload_hash, person_record,
            shared_values, written_at
        from (
            select ledger.*, row_number() over (
                partition by system, object, activation_key
                order by written_at desc, recorded_at desc, attempt_id desc
            ) as attempt_rank
            from {LEDGER} as ledger
            where status = '{OK}'
        ) as ranked
        where attempt_rank = 1"""
    )


def _insert(sql: Session, run_id: str | None, entries: Iterable[Entry]) -> list[str]:
    """Insert `entries`; their attempt ids, in order."""
    ids = []
    placeholders = ", ".join("?" for _ in COLUMNS)
    now = _now()
    for entry in entries:
        if entry.action not in ACTIONS or entry.status not in STATUSES:
            raise ValueError(f"not a ledger row: action {entry.action!r}, status {entry.status!r}")
        attempt_id = uuid.uuid4().hex
        values = {
            "attempt_id": attempt_id,
            "run_id": run_id,
            "system": entry.system,
            "object": entry.object,
            "activation_key": entry.activation_key,
            "action": entry.action,
            "person_record": entry.person_record,
            "payload_hash": entry.payload_hash,
            "payload_fields": ",".join(entry.payload_fields),
            "shared_values": None
            if entry.shared_values is None
            else json.dumps(dict(entry.shared_values), sort_keys=True, default=str),
            "status": entry.status,
            "reason": entry.reason,
            "crm_id": entry.crm_id,
            "crm_answer": None,
            "recorded_at": now,
            # a row recorded as done (a task a person closed) is the key's latest state
            "written_at": now if entry.status == OK else None,
        }
        sql.execute(
            f"insert into {LEDGER} ({', '.join(COLUMNS)}) values ({placeholders})",
            [values[name] for name in COLUMNS],
        )
        ids.append(attempt_id)
    return ids


def record(engine: Engine, run_id: str | None, entries: Sequence[Entry]) -> list[str]:
    """Record `entries` (planned, skipped, conflicts) in one committed transaction."""
    with engine.writer() as sql:
        ensure_ledger(sql)
        return _insert(sql, run_id, entries)


def record_pending(engine: Engine, items: Sequence[Recordable], run_id: str | None) -> list[str]:
    """Before sending: record the plan's `items` as `pending`, committed before this
    returns, so a crash mid-send leaves them on record as maybe written; their attempt
    ids."""
    return record(engine, run_id, [item.entry(PENDING) for item in items])


def record_results(engine: Engine, results: Sequence[WriteResult]) -> int:
    """After sending: each result closes the latest pending attempt of its key and system
    (its status, the CRM's id and answer, the time); the attempts updated. A result with
    no pending attempt is an error: the writer sent what it had not recorded."""
    now = _now()
    updated = 0
    with engine.writer() as sql:
        ensure_ledger(sql)
        for result in results:
            if result.status not in RESULT_STATUSES:
                raise ValueError(f"{result.status!r} is not a write result")
            found = sql.rows(
                f"select attempt_id from {LEDGER} where activation_key = ? and system = ? "
                f"and status = '{PENDING}' order by recorded_at desc, attempt_id desc limit 1",
                [result.activation_key, result.system],
            )
            if not found:
                raise ValueError(
                    f"no pending write of {result.system} key {result.activation_key} to record"
                )
            answer = None if result.answer is None else str(result.answer)[:ANSWER_CHARS]
            sql.execute(
                f"update {LEDGER} set status = ?, crm_id = coalesce(?, crm_id), "
                "crm_answer = ?, written_at = ? where attempt_id = ?",
                [result.status, result.crm_id, answer, now, found[0][0]],
            )
            updated += 1
    return updated


def written(sql: Session) -> dict[tuple[str, str, str], Written]:
    """The last successful write per (system, object, key); empty before the first."""
    if not sql.table_exists(SCHEMA, "ledger_state"):
        return {}
    rows = sql.rows(
        "select system, object, activation_key, action, crm_id, payload_hash, person_record, "
        f"shared_values, written_at from {STATE}"
    )
    return {
        (row[0], row[1], row[2]): Written(
            system=row[0],
            object=row[1],
            activation_key=row[2],
            action=row[3],
            crm_id=row[4],
            payload_hash=row[5],
            person_record=row[6],
            shared_values=json.loads(row[7]) if row[7] else {},
            written_at=row[8],
        )
        for row in rows
    }
