"""Salesforce Bulk API 2.0 query jobs: create, poll, page CSV results by locator, abort.

A job runs its SOQL through the same `select` as the REST query, so it serves the same
records; the result set is fixed at creation. A job reports `InProgress` until it has
been polled `polls_to_complete` times (a count, not a clock, so tests are exact), then
`JobComplete`, or `Failed` when `fail_next` says so. Results are CSV, every value quoted,
nulls empty, booleans `true`/`false`, datetimes `2024-01-15T10:00:00.000Z`, one header row
per set; `Sforce-Locator` is the base64 offset of the next set or the string `null`.
"""

from __future__ import annotations

import base64
import binascii
import csv
import gzip
import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator import soql
from simulator.formats import salesforce_datetime
from simulator.view import LiveView

Response = tuple[int, Any]
# (sObject, canonical fields, rows) of a SOQL query, or SoqlError: the REST query's own.
Select = Callable[[str, bool], tuple[soql.Query, list[dict]]]

# The docs name no default set size ("a default value based on the service").
DEFAULT_MAX_RECORDS = 50_000
_KEPT_JOBS = 200
_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
_LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_OPEN = ("UploadComplete", "InProgress")
FAILED_MESSAGE = (
    "Retried more than 15 times. Apply a filter criteria and try again, or split the query."
)


@dataclass(frozen=True)
class RawBody:
    """A response body that is not JSON: its bytes, content type, extra headers and
    whether to gzip it (as Salesforce does when the client accepts gzip)."""

    data: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    gzip: bool = False

    def payload(self, truncate: bool = False) -> tuple[bytes, dict[str, str]]:
        """The bytes to send and the headers with them; `truncate` cuts the content in
        half before compressing, so the client reads a short but well-formed body."""
        data = self.data[: len(self.data) // 2] if truncate else self.data
        if not self.gzip:
            return data, dict(self.headers)
        return gzip.compress(data, compresslevel=1), {**self.headers, "Content-Encoding": "gzip"}


def error(status: int, code: str, message: str) -> Response:
    """Salesforce's error body: a list of {errorCode, message}."""
    return status, [{"errorCode": code, "message": message}]


@dataclass
class _Job:
    id: str
    operation: str
    version: str
    sobject: str
    fields: tuple[str, ...]
    rows: list[dict]
    bad_id: str | None
    delimiter: str
    line_ending: str
    created: datetime
    polls_left: int
    fail_message: str | None
    state: str = "UploadComplete"
    modified: datetime | None = None

    def info(self) -> dict[str, Any]:
        created = salesforce_datetime(self.created)
        out: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.sobject,
            "createdById": "0058d0000000001AAA",
            "createdDate": created,
            "systemModstamp": salesforce_datetime(self.modified or self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "jobType": "V2Query",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
            "numberRecordsProcessed": len(self.rows) if self.state == "JobComplete" else 0,
            "retries": 0,
            "totalProcessingTime": 0,
            "isPkChunkingSupported": True,
        }
        if self.state == "Failed":
            out["errorMessage"] = self.fail_message
        return out


class BulkQueryJobs:
    """The Bulk API 2.0 query jobs of one simulated org, and their test switches."""

    def __init__(self, view: LiveView, select: Select) -> None:
        self.view = view
        self._select = select
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._lock = threading.Lock()
        self._next_id = 1
        self._failing: list[str | None] = []
        # Polls a job answers `InProgress` (or `UploadComplete`) before it is complete.
        self.polls_to_complete = 2
        # Objects job creation refuses with INVALIDENTITY, as Salesforce does for some.
        self.unsupported: set[str] = set()

    def fail_next(self, sobject: str | None = None, count: int = 1) -> None:
        """The next `count` jobs (on `sobject`, or any) end `Failed` instead of complete."""
        with self._lock:
            self._failing.extend([sobject] * count)

    def job(self, job_id: str) -> dict[str, Any] | None:
        """A job's info as `GET /jobs/query/{id}` shows it, without counting as a poll."""
        with self._lock:
            found = self._jobs.get(job_id)
            return None if found is None else found.info()

    def handle(
        self,
        method: str,
        version: str,
        rest: str,
        query: dict[str, str],
        body: Any,
        headers: dict[str, str],
    ) -> Response:
        """Route `/jobs/query…` (the part after `/services/data/vXX.X`)."""
        parts = rest.strip("/").split("/")  # jobs, query[, id[, results]]
        if len(parts) == 2:
            if method != "POST":
                return error(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are POST",
                )
            return self._create(version, body)
        job = self._find(parts[2])
        if job is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if len(parts) == 4 and parts[3] == "results" and method == "GET":
            return self._results(job, version, query, headers)
        if len(parts) == 3 and method == "GET":
            return 200, self._poll(job)
        if len(parts) == 3 and method == "PATCH":
            return self._abort(job, body)
        return error(404, "NOT_FOUND", "The requested resource does not exist")

    def _find(self, job_id: str) -> _Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _create(self, version: str, body: Any) -> Response:
        if not isinstance(body, dict):
            return error(400, "API_ERROR", "Request body must be a JSON job definition")
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            return error(
                400, "API_ERROR", f"Invalid operation: {operation!r}; use query or queryAll"
            )
        if body.get("contentType", "CSV") != "CSV":
            return error(400, "API_ERROR", "The only supported content type is CSV")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if delimiter not in _DELIMITERS or line_ending not in _LINE_ENDINGS:
            return error(
                400,
                "API_ERROR",
                f"Invalid columnDelimiter {delimiter!r} or lineEnding {line_ending!r}",
            )
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            return error(400, "API_ERROR", "A query string has to be specified")
        try:
            parsed, rows = self._select(text, operation == "queryAll")
        except soql.SoqlError as exc:
            return error(400, exc.error_code, exc.message)
        if parsed.sobject in self.unsupported:
            return error(
                400, "INVALIDENTITY", f"Entity '{parsed.sobject}' is not supported by the Bulk API."
            )
        now = datetime.now(UTC)
        with self._lock:
            job_id = f"7508d{self._next_id:010d}AAA"
            self._next_id += 1
            fail = next(
                (i for i, s in enumerate(self._failing) if s is None or s == parsed.sobject), None
            )
            message = None
            if fail is not None:
                del self._failing[fail]
                message = FAILED_MESSAGE
            job = _Job(
                job_id,
                operation,
                version,
                parsed.sobject,
                parsed.fields,
                rows,
                self.view.salesforce_bad_id(parsed.sobject),
                delimiter,
                line_ending,
                now,
                max(1, self.polls_to_complete),
                message,
            )
            self._jobs[job_id] = job
            while len(self._jobs) > _KEPT_JOBS:
                self._jobs.popitem(last=False)
        info = job.info()
        # the create answer has no processing figures yet
        for key in (
            "jobType",
            "numberRecordsProcessed",
            "retries",
            "totalProcessingTime",
            "isPkChunkingSupported",
        ):
            info.pop(key)
        return 200, info

    def _poll(self, job: _Job) -> dict[str, Any]:
        with self._lock:
            if job.state in _OPEN:
                job.polls_left -= 1
                if job.polls_left > 0:
                    job.state = "InProgress"
                else:
                    job.state = "Failed" if job.fail_message else "JobComplete"
                job.modified = datetime.now(UTC)
            return job.info()

    def _abort(self, job: _Job, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            return error(400, "INVALIDJOBSTATE", "A query job can only be set to Aborted")
        with self._lock:
            if job.state not in _OPEN:
                return error(
                    400,
                    "INVALIDJOBSTATE",
                    f"Job {job.id} is {job.state} and can no longer be aborted",
                )
            job.state = "Aborted"
            job.modified = datetime.now(UTC)
            return 200, job.info()

    def _results(
        self, job: _Job, version: str, query: dict[str, str], headers: dict[str, str]
    ) -> Response:
        if version != job.version:
            return error(
                409,
                "API_ERROR",
                f"Get the results with the API version the job was created with (v{job.version})",
            )
        if job.state != "JobComplete":
            return error(
                412,
                "JOB_NOT_COMPLETE",
                "can only download query results of "
                "successfully completed bulk job with status: JOB_COMPLETE. Current "
                f"status: {_upper_snake(job.state)}",
            )
        try:
            size = int(query.get("maxRecords") or DEFAULT_MAX_RECORDS)
            offset = _offset(query.get("locator"))
        except ValueError as exc:
            return error(400, "API_ERROR", str(exc))
        if size < 1 or offset > len(job.rows):
            return error(
                400,
                "API_ERROR",
                "maxRecords must be positive and the locator one this job handed out",
            )
        rows = job.rows[offset : offset + size]
        end = offset + len(rows)
        extra = {
            "Sforce-NumberOfRecords": str(len(rows)),
            "Sforce-Locator": _locator(end) if end < len(job.rows) else "null",
        }
        return 200, RawBody(
            self._csv(job, rows).encode(),
            "text/csv; charset=UTF-8",
            extra,
            gzip="gzip" in headers.get("accept-encoding", ""),
        )

    def _csv(self, job: _Job, rows: list[dict]) -> str:
        out = io.StringIO()
        writer = csv.writer(
            out,
            delimiter=_DELIMITERS[job.delimiter],
            lineterminator=_LINE_ENDINGS[job.line_ending],
            quoting=csv.QUOTE_ALL,
        )
        writer.writerow(job.fields)
        kinds = self.view.salesforce_fields(job.sobject)
        fields = list(job.fields)
        for row in rows:
            record = self.view.salesforce_record(job.sobject, row, fields, job.bad_id)
            writer.writerow([_csv_value(record[f], kinds.get(f)) for f in fields])
        return out.getvalue()


def _csv_value(value: Any, kind: str | None) -> str:
    """A REST-shaped value as Bulk CSV writes it; the REST record is the one source."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "datetime" and isinstance(value, str) and value.endswith("+0000"):
        return value[:-5] + "Z"
    if isinstance(value, float) and kind == "int" and value.is_integer():
        return str(int(value))
    return str(value)


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str | None) -> int:
    if not locator:
        return 0
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        return int(text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"invalid locator {locator!r}") from None


def _upper_snake(state: str) -> str:
    return "".join("_" + c if c.isupper() and i else c for i, c in enumerate(state)).upper()
