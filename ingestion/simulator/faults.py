"""Switchable failures, so connectors can be tested against what real APIs do to them.

Count-based faults (rate limits, server errors, truncated bodies) fire on the next N
matching requests and then switch themselves off; `permanent_error` stays until
`clear()`. `malformed_record` and `new_column` change what the data endpoints serve
until cleared. All methods are thread-safe: the server reads faults from its threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class _Counted:
    kind: str
    remaining: int
    status: int
    retry_after: int
    path_contains: str | None


@dataclass(frozen=True)
class Failure:
    """What the server should answer instead of the real response."""

    kind: str  # "rate_limit" | "server_error" | "permanent"
    status: int
    retry_after: int | None = None


def _object_key(name: str) -> str:
    """`contacts`, `hubspot.contacts`, `Opportunity`, `salesforce.Opportunity` → one key."""
    return name.split(".", 1)[1] if "." in name else name


class Faults:
    """The fault switches of one simulator."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counted: list[_Counted] = []
        self._permanent: list[tuple[str, int]] = []
        self._truncate = 0
        self._malformed: set[str] = set()
        self._new_columns: set[str] = set()

    # -- switches ------------------------------------------------------------------------
    def rate_limit(self, count: int = 1, retry_after: int = 1,
                   path_contains: str | None = None) -> None:
        """The next `count` requests get HTTP 429 with a `Retry-After` header (seconds)."""
        with self._lock:
            self._counted.append(_Counted("rate_limit", count, 429, retry_after, path_contains))

    def server_errors(self, count: int = 1, status: int = 503,
                      path_contains: str | None = None) -> None:
        """The next `count` requests fail with `status` (a 5xx)."""
        with self._lock:
            self._counted.append(_Counted("server_error", count, status, 0, path_contains))

    def permanent_error(self, path_contains: str, status: int = 500) -> None:
        """Every request whose path contains `path_contains` fails until `clear()`."""
        with self._lock:
            self._permanent.append((path_contains, status))

    def truncated_page(self, count: int = 1) -> None:
        """The next `count` successful JSON bodies are cut in half (invalid JSON)."""
        with self._lock:
            self._truncate += count

    def malformed_record(self, object: str) -> None:  # noqa: A002 - the brief's name
        """One record of `object` carries a wrong-typed value until `clear()`.

        HubSpot contacts get `hubspotscore` "abc", companies `numberofemployees` "many";
        a Salesforce object gets "n/a" in its first number field (Opportunity: Amount)
        or "maybe" in its first boolean. The record is the newest one visible.
        """
        with self._lock:
            self._malformed.add(_object_key(object))

    def new_column(self, object: str) -> None:  # noqa: A002 - the brief's name
        """A custom property/field appears on `object` (records and describe) until cleared."""
        with self._lock:
            self._new_columns.add(_object_key(object))

    def clear(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self._counted.clear()
            self._permanent.clear()
            self._truncate = 0
            self._malformed.clear()
            self._new_columns.clear()

    # -- what the server asks ------------------------------------------------------------
    def failure_for(self, path: str) -> Failure | None:
        """The failure this request meets, consuming one count of a counted fault."""
        with self._lock:
            for fragment, status in self._permanent:
                if fragment in path:
                    return Failure("permanent", status)
            for fault in self._counted:
                if fault.remaining > 0 and (fault.path_contains is None
                                            or fault.path_contains in path):
                    fault.remaining -= 1
                    self._counted = [f for f in self._counted if f.remaining > 0]
                    return Failure(fault.kind, fault.status,
                                   fault.retry_after if fault.kind == "rate_limit" else None)
            return None

    def take_truncation(self) -> bool:
        """Whether this response body is to be cut in half."""
        with self._lock:
            if self._truncate > 0:
                self._truncate -= 1
                return True
            return False

    def is_malformed(self, object_key: str) -> bool:
        """Whether `object_key` currently serves one wrong-typed record."""
        with self._lock:
            return object_key in self._malformed

    def has_new_column(self, object_key: str) -> bool:
        """Whether `object_key` currently has the extra custom field."""
        with self._lock:
            return object_key in self._new_columns
