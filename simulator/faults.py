"""Switchable failures, so connectors can be tested against what real APIs do to them.

Count-based faults (rate limits, server errors, truncated bodies, a session timeout) fire
on the next N matching requests and then switch themselves off; `permanent_error` stays until
`clear()`. `malformed_record`, `new_column`, `defect` and `touch` change what the
data endpoints serve until cleared. All methods are thread-safe: the server reads
faults from its threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

DEFECTS = {
    "duplicate_key": "the record is served twice under the same id",
    "missing_field": "a required field is empty (Lead Status, Opportunity StageName, "
                     "Contact LastName, Account Name; HubSpot contact createdate)",
    "bad_email": "the email is not an email address",
    "unknown_stage": "a status / stage value the lead contract does not map",
    "future_timestamp": "the record claims to be created a year after the simulated now",
    "orphan_opportunity": "the opportunity names an account that does not exist",
    "volume_drop": "only half of the object's records are served",
}


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
        self._defects: set[tuple[str, str]] = set()
        self._session_expiry: dict[str, int] = {}

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

    def expire_sessions(self, after: int = 0, system: str = "salesforce") -> None:
        """After `after` more requests to `system`, every token its token endpoint issued
        so far ends (a session timeout in the middle of a run); later tokens are valid."""
        with self._lock:
            self._session_expiry[system] = after

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

    def defect(self, kind: str, object: str) -> None:  # noqa: A002 - the brief's name
        """Serve `object` with one data-quality defect (see `DEFECTS`) until `clear()`.

        The defect spoils the newest live record and stamps it modified "now", so an
        incremental connector run loads it; `volume_drop` serves half the records.
        """
        if kind not in DEFECTS:
            raise ValueError(f"unknown defect {kind!r}; one of {', '.join(DEFECTS)}")
        with self._lock:
            self._defects.add((kind, _object_key(object)))

    def touch(self, object: str) -> None:  # noqa: A002 - the brief's name
        """Re-send the newest record of `object` unchanged, stamped modified "now", until
        `clear()`: how a source corrects a record, so a test can undo a defect's load."""
        with self._lock:
            self._defects.add(("touch", _object_key(object)))

    def clear(self) -> None:
        """Switch every fault off."""
        with self._lock:
            self._defects.clear()
            self._counted.clear()
            self._permanent.clear()
            self._truncate = 0
            self._malformed.clear()
            self._new_columns.clear()
            self._session_expiry.clear()

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

    def take_session_expiry(self, system: str) -> bool:
        """Whether issued sessions of `system` end before this request (counts it)."""
        with self._lock:
            left = self._session_expiry.get(system)
            if left is None:
                return False
            if left > 0:
                self._session_expiry[system] = left - 1
                return False
            del self._session_expiry[system]
            return True

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

    def defects_for(self, object_key: str) -> frozenset[str]:
        """The data defects (and `touch`) `object_key` currently serves."""
        with self._lock:
            return frozenset(kind for kind, key in self._defects if key == object_key)

    def signature(self) -> tuple:
        """What the data endpoints' answers depend on, for memo keys."""
        with self._lock:
            return (tuple(sorted(self._defects)), tuple(sorted(self._malformed)),
                    tuple(sorted(self._new_columns)))

    def has_new_column(self, object_key: str) -> bool:
        """Whether `object_key` currently has the extra custom field."""
        with self._lock:
            return object_key in self._new_columns
