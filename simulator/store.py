"""Versioned records: every object is a list of timed changes, read back at an instant.

A record never forgets a change, so the world is built once and each API call asks
"what did this object look like at `as_of`?". Changes carry the instant they became
visible to the API, which is usually the instant they happened; a late-arriving row
(a history row written days after its `CreatedDate`) is visible later than it claims.
Keys starting with `_` are bookkeeping (archive flags, change sources), not fields.
"""

from __future__ import annotations

import threading
from bisect import bisect_right, insort
from collections.abc import Iterable
from datetime import datetime
from typing import Any


class Record:
    """One object: its id and its changes as (visible_at, {field: value}) pairs."""

    __slots__ = ("id", "changes")

    def __init__(self, record_id: str) -> None:
        self.id = record_id
        self.changes: list[tuple[datetime, dict[str, Any]]] = []

    @property
    def first_visible(self) -> datetime:
        """When the record first shows up in the API."""
        return self.changes[0][0]

    def state(self, as_of: datetime) -> dict[str, Any] | None:
        """The fields at `as_of`, or None if the record is not visible yet."""
        if not self.changes or self.changes[0][0] > as_of:
            return None
        merged: dict[str, Any] = {}
        for at, fields in self.changes:
            if at > as_of:
                break
            merged.update(fields)
        return merged

    def latest(self) -> dict[str, Any]:
        """The fields after every change (what the end of the world shows)."""
        merged: dict[str, Any] = {}
        for _, fields in self.changes:
            merged.update(fields)
        return merged

    def history(self, field: str, as_of: datetime) -> list[tuple[datetime, Any, dict]]:
        """Every visible change of one field, oldest first, with its change dict."""
        return [(at, f[field], f) for at, f in self.changes if at <= as_of and field in f]


class ObjectStore:
    """All records of one object type, with the fields each change stamps itself."""

    def __init__(self, name: str, defaults: dict[str, Any], touch: Iterable[str] = ()) -> None:
        self.name = name
        self.defaults = defaults
        # Fields set to the change time on every change (SystemModstamp, lastmodifieddate).
        self.touch = tuple(touch)
        self.records: dict[str, Record] = {}
        self._cache: tuple[datetime, list[dict[str, Any]]] | None = None
        self._lock = threading.Lock()

    def create(self, record_id: str, at: datetime, fields: dict[str, Any],
               visible_at: datetime | None = None) -> Record:
        """Add a record whose first change happens at `at`."""
        record = Record(record_id)
        self.records[record_id] = record
        self.change(record, at, fields, visible_at)
        return record

    def change(self, record: Record, at: datetime, fields: dict[str, Any],
               visible_at: datetime | None = None) -> None:
        """Record a change; touched fields get the instant it reached the API."""
        seen = visible_at or at
        stamped = dict(fields)
        for name in self.touch:
            stamped[name] = seen
        record.changes.append((seen, stamped))

    def write(self, record_id: str, at: datetime, fields: dict[str, Any]) -> Record:
        """A change a client (or a simulated person) makes after the world was built.

        Kept in time order, since the record may already hold changes due later, and
        visible to the next read at or after `at`.
        """
        stamped = {**fields, **dict.fromkeys(self.touch, at)}
        with self._lock:
            record = self.records.get(record_id)
            if record is None:
                record = self.records[record_id] = Record(record_id)
            insort(record.changes, (at, stamped), key=lambda change: change[0])
            self._cache = None
        return record

    def drop_after(self, record: Record, at: datetime, marker: str) -> None:
        """Forget the changes due after `at` that carry the bookkeeping key `marker`."""
        with self._lock:
            record.changes = [c for c in record.changes if c[0] <= at or marker not in c[1]]
            self._cache = None

    def finalize(self) -> None:
        """Put every record's changes in time order (builders may add them out of order)."""
        for record in self.records.values():
            record.changes.sort(key=lambda change: change[0])

    def snapshot(self, as_of: datetime) -> list[dict[str, Any]]:
        """Every record visible at `as_of`, defaults filled in, in id order.

        Cached for the last `as_of` because a paged read asks the same question per page.
        """
        with self._lock:
            if self._cache is not None and self._cache[0] == as_of:
                return self._cache[1]
            rows = []
            for record in self.records.values():
                state = record.state(as_of)
                if state is None:
                    continue
                row = dict(self.defaults)
                row.update(state)
                row["_id"] = record.id
                rows.append(row)
            self._cache = (as_of, rows)
            return rows


class EventLog:
    """Immutable events (form submissions, email events) as tuples, time first.

    Tuples rather than dicts keep a 100k-person world's event log small; the API
    modules turn them into JSON objects only for the page they serve.
    """

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def add(self, event: tuple) -> None:
        """Append one event; it becomes visible at its own time (element 0)."""
        self.events.append(event)

    def finalize(self) -> None:
        """Sort by time so `visible` can cut at `as_of` with a binary search."""
        self.events.sort(key=lambda e: e[0])

    def visible(self, as_of: datetime) -> list[tuple]:
        """Events that happened at or before `as_of`, oldest first."""
        return self.events[: bisect_right(self.events, as_of, key=lambda e: e[0])]
