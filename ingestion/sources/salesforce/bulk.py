"""Salesforce Bulk API 2.0 query jobs: one job per read, its CSV results as Arrow tables.

A job is created with the read's SOQL (no ORDER BY: it turns off Salesforce's PK
chunking), polled with growing waits until `JobComplete`, and its results are fetched in
sets of `max_records` chained by `Sforce-Locator`. Each set is read by pyarrow's CSV
reader as text and typed by `records.Table` exactly as the REST path's JSON is; an
undeclared (custom) field gets the type its JSON value would have had, from `describe`.
A job that fails, is aborted or outlasts `timeout` fails the read naming object and job;
one still open when the read fails is aborted. A set shorter than its
`Sforce-NumberOfRecords` (cut off in transit) is fetched again: locators are stable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from requests import Response

from ingestion.sources.api import ApiClient, ApiError, ConfigError
from ingestion.sources.records import Table

log = logging.getLogger(__name__)

# Waits between polls: short first (a small job completes in seconds), doubling to a cap.
POLL_FIRST_WAIT = 0.05
POLL_MAX_WAIT = 10.0
# Fetches of one results set that came back shorter than its record count.
SET_ATTEMPTS = 4
# The type REST's JSON gives a field of each describe type: numbers and booleans are JSON
# values; everything else (dates and datetimes too) arrives as text.
JSON_TYPES = {
    "boolean": "bool",
    "int": "bigint",
    "long": "bigint",
    "double": "double",
    "currency": "double",
    "percent": "double",
}
_OPEN = ("UploadComplete", "InProgress")


@dataclass(frozen=True)
class BulkSettings:
    """When and how the Salesforce source reads with Bulk API 2.0 (source arguments)."""

    enabled: bool = True
    threshold: int = 10_000
    max_records: int = 50_000
    timeout: float = 3600.0

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ConfigError("SOURCES__SALESFORCE__BULK_THRESHOLD must be 0 or more rows")
        if self.max_records < 1:
            raise ConfigError("SOURCES__SALESFORCE__BULK_MAX_RECORDS must be at least 1")
        if self.timeout <= 0:
            raise ConfigError("SOURCES__SALESFORCE__BULK_TIMEOUT must be positive (seconds)")


class BulkUnsupported(ApiError):
    """Salesforce refused a job because the Bulk API cannot query the object."""


class BulkQuery:
    """Bulk API 2.0 query jobs of one org, under `/services/data/vXX.X/jobs/query`."""

    def __init__(
        self, client: ApiClient, data_path: str, settings: BulkSettings, backoff: float = 0.5
    ) -> None:
        self.client = client
        self.jobs = f"{data_path}/jobs/query"
        self.settings = settings
        self.backoff = backoff

    def tables(
        self,
        sobject: str,
        fields: list[str],
        where: str,
        *,
        include_deleted: bool,
        table: Table,
        custom_types: dict[str, str],
    ) -> Iterator[pa.Table]:
        """`SELECT fields FROM sobject WHERE where` as Arrow tables typed by `table`, one
        per results set; `custom_types` maps undeclared fields to their describe types."""
        soql = f"SELECT {', '.join(fields)} FROM {sobject} WHERE {where}"
        job = self._create(sobject, soql, "queryAll" if include_deleted else "query")
        self._wait(sobject, job)
        for results in self._results(sobject, job, fields):
            if results.num_rows:  # an empty read yields nothing, as on the REST path
                yield typed(table, results, custom_types)

    def _create(self, sobject: str, soql: str, operation: str) -> str:
        try:
            job = self.client.request(
                "POST", self.jobs, json_body={"operation": operation, "query": soql}
            )
        except ApiError as refused:
            # the API's answer follows the first ": " of the message (ApiError's format)
            answer = str(refused).partition(": ")[2]
            error = BulkUnsupported if "INVALIDENTITY" in answer else ApiError
            raise error(
                "Salesforce",
                "POST",
                self.client.url(self.jobs),
                refused.status,
                f"Bulk API 2.0 query job for {sobject} refused: {answer}",
            ) from refused
        log.info("Salesforce %s: Bulk API 2.0 query job %s created", sobject, job["id"])
        return str(job["id"])

    def _wait(self, sobject: str, job: str) -> None:
        """Poll until the job is complete; abort it if this fails or is interrupted."""
        url = f"{self.jobs}/{job}"
        deadline = time.monotonic() + self.settings.timeout
        wait, state = POLL_FIRST_WAIT, "UploadComplete"
        try:
            while True:
                time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
                info = self.client.request("GET", url, budgeted=False)
                state = info.get("state", "")
                if state == "JobComplete":
                    return
                if state not in _OPEN:  # Failed or Aborted
                    reason = info.get("errorMessage") or "no reason given"
                    raise self._job_error(url, sobject, job, f"ended {state}: {reason}")
                if time.monotonic() >= deadline:
                    raise self._job_error(
                        url,
                        sobject,
                        job,
                        f"was still {state} after {self.settings.timeout:g} s "
                        "(SOURCES__SALESFORCE__BULK_TIMEOUT); aborted",
                    )
                wait = min(wait * 2, POLL_MAX_WAIT)
        except BaseException:
            if state in _OPEN:
                self._abort(sobject, job)
            raise

    def _abort(self, sobject: str, job: str) -> None:
        try:
            self.client.request(
                "PATCH", f"{self.jobs}/{job}", json_body={"state": "Aborted"}, budgeted=False
            )
            log.warning("Salesforce %s: Bulk API 2.0 query job %s aborted", sobject, job)
        except ApiError as failed:  # the read's own error matters more
            log.warning("Salesforce %s: could not abort job %s: %s", sobject, job, failed)

    def _results(self, sobject: str, job: str, fields: list[str]) -> Iterator[pa.Table]:
        url = f"{self.jobs}/{job}/results"
        locator: str | None = None
        while locator != "null":
            params: dict[str, Any] = {"maxRecords": self.settings.max_records}
            if locator:
                params["locator"] = locator
            response, rows = self._results_set(url, sobject, job, params, fields)
            yield rows
            locator = response.headers.get("Sforce-Locator") or "null"

    def _results_set(
        self, url: str, sobject: str, job: str, params: dict[str, Any], fields: list[str]
    ) -> tuple[Response, pa.Table]:
        for attempt in range(1, SET_ATTEMPTS + 1):
            # a started job finishes: the night's quota is checked when it is created
            response = self.client.request(
                "GET", url, params=params, headers={"Accept": "text/csv"}, raw=True, budgeted=False
            )
            expected = int(response.headers.get("Sforce-NumberOfRecords", -1))
            try:
                rows = read_csv(response.content, fields)
            except pa.ArrowInvalid:  # cut off inside a quoted value
                rows = None
            if rows is not None and rows.num_rows == expected:
                return response, rows
            if attempt < SET_ATTEMPTS:
                time.sleep(self.backoff * 2 ** (attempt - 1))
        got = "unreadable CSV" if rows is None else f"{rows.num_rows} rows"
        raise self._job_error(
            url,
            sobject,
            job,
            f"results set {params.get('locator') or 'first'} held {got} where "
            f"Sforce-NumberOfRecords said {expected}, {SET_ATTEMPTS} times",
        )

    @staticmethod
    def _job_error(url: str, sobject: str, job: str, what: str) -> ApiError:
        return ApiError(
            "Salesforce", "GET", url, None, f"Bulk API 2.0 job {job} for {sobject} {what}"
        )


def typed(
    table: Table, results: pa.Table, custom_types: dict[str, str], load_id: str | None = None
) -> pa.Table:
    """A results set typed by `table` as the REST path types the same records' JSON.

    Undeclared fields get the type of their JSON values by `custom_types` (describe
    types); datetimes among them stay text, in REST's `+0000` form rather than CSV's `Z`.
    """
    for name, kind in custom_types.items():
        if kind == "datetime":
            column = pc.replace_substring_regex(results.column(name), r"Z$", "+0000")
            results = results.set_column(results.schema.get_field_index(name), name, column)
    types = {f: JSON_TYPES[k] for f, k in custom_types.items() if k in JSON_TYPES}
    return table.from_arrow(results, load_id=load_id, types=types)


def read_csv(data: bytes, fields: list[str]) -> pa.Table:
    """One Bulk API CSV results set as text columns, empty fields (nulls) as nulls."""
    if not data.strip():
        return pa.table({f: pa.array([], pa.string()) for f in fields})
    return pa_csv.read_csv(
        pa.py_buffer(data),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(fields, pa.string()),
            null_values=[""],  # only the empty field: pyarrow's defaults include "NA"
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
