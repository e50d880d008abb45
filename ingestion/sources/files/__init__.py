"""File drops: CSV, JSONL and Parquet exports (trade-show lists, webinar attendees,
another tool's export) dropped into one folder, loaded into `files.list_members`.

The column contract (header names are matched case-insensitively, with the aliases
below) is documented in the README. `email` is required as a column (a row may leave it
empty); every other contract column is optional, and columns outside the contract are
kept as extra columns. The list name is the file's `list_name` column or, failing that,
the file name without its extension.

A file is read again when its size or modification time changes; rows are keyed by
(file name, row number), so re-dropping a file updates its rows instead of adding them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
from dlt.sources import DltResource

from ingestion.sources.api import ConfigError
from ingestion.sources.records import Table

LIST_MEMBERS = Table.declare(
    "list_members",
    "file_name, row_number:bigint, list_name, email, first_name, last_name, company,"
    " job_title, status, touched_at:timestamp",
    primary_key=("file_name", "row_number"),
)
ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "email_address", "mail"),
    "first_name": ("first_name", "firstname", "first name", "given name"),
    "last_name": ("last_name", "lastname", "last name", "surname", "family name"),
    "company": ("company", "company name", "organization", "organisation", "account"),
    "job_title": ("job_title", "jobtitle", "job title", "title"),
    "status": ("status", "attendance", "attendee status"),
    "touched_at": ("touched_at", "date", "attended_at", "registered_at", "timestamp"),
    "list_name": ("list_name", "list", "event", "event name", "webinar"),
}
_LOOKUP = {alias: column for column, names in ALIASES.items() for alias in names}
SUFFIXES = (".csv", ".jsonl", ".parquet")


def _read(path: Path) -> Iterator[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from csv.DictReader(handle)
    elif suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ConfigError(f"{path.name} line {line_number}: {exc}") from exc
    else:
        import pyarrow.parquet as pq

        yield from pq.read_table(path).to_pylist()


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    for row_number, raw in enumerate(_read(path), start=1):
        row: dict[str, Any] = {}
        for key, value in raw.items():
            column = _LOOKUP.get(str(key).strip().lower(), str(key))
            row[column] = value.strip() if isinstance(value, str) else value
        if row_number == 1 and "email" not in row:
            raise ConfigError(
                f"{path.name}: no email column; expected one of {ALIASES['email']} "
                f"(columns found: {sorted(raw)})"
            )
        row.setdefault("list_name", path.stem)
        row["file_name"] = path.name
        row["row_number"] = row_number
        yield LIST_MEMBERS.coerce(row)


@dlt.source(name="files", max_table_nesting=0)
def files_source(drop_dir: str = dlt.config.value) -> DltResource:
    """New or changed CSV/JSONL/Parquet files of `drop_dir` (`SOURCES__FILES__DROP_DIR`)."""
    folder = Path(drop_dir)

    @LIST_MEMBERS.resource()
    def list_members() -> Iterator[list[dict[str, Any]]]:
        if not folder.is_dir():
            raise ConfigError(
                f"file drop folder {folder} does not exist (SOURCES__FILES__DROP_DIR)"
            )
        # Create the table even while the folder is empty: the warehouse expects it.
        yield dlt.mark.materialize_table_schema()
        seen: dict[str, list[float]] = dlt.current.resource_state().setdefault("files", {})
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES):
            stat = path.stat()
            signature = [stat.st_size, stat.st_mtime]
            if seen.get(path.name) == signature:
                continue
            yield list(_rows(path))
            seen[path.name] = signature

    return list_members
