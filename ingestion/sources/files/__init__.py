"""File drops: CSV, JSONL and Parquet exports (trade-show lists, webinar attendees,
another tool's export) dropped into one folder, loaded into `files.list_members`.

The column contract (header names are matched case-insensitively, with the aliases
below) is documented in the README. `email` is required as a column (a row may leave it
empty); every other contract column is optional, and columns outside the contract are
kept as extra columns. The list name is the file's `list_name` column or, failing that,
the file name without its extension.

A file is read again when its size or modification time changes; rows are keyed by
(file name, row number), so re-dropping a file updates its rows instead of adding them.

Rows reach dlt as Arrow tables (`records.Table`), loaded as Parquet: a Parquet export is
renamed, trimmed and typed column-wise (`_parquet`, over 1M rows/s), CSV and JSONL rows
go through the same typing in batches.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources import DltResource

from ingestion.sources.api import ConfigError
from ingestion.sources.records import Table, constant

LIST_MEMBERS = Table.declare(
    "list_members",
    "file_name, row_number:bigint, list_name, email, first_name, last_name, company,"
    " job_title, status, touched_at:timestamp",
    primary_key=("file_name", "row_number"),
    unique_keys=True,  # a file is read once per run, its row numbers are unique
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
PARQUET_BATCH_ROWS = 250_000  # rows per Arrow table read from a Parquet export


def _read(path: Path) -> Iterator[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from csv.DictReader(handle)
    else:
        with path.open(encoding="utf-8") as handle:
            for line_number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ConfigError(f"{path.name} line {line_number}: {exc}") from exc


def _column(name: str) -> str:
    """The contract column a file's header maps to (itself if it is not a contract alias)."""
    return _LOOKUP.get(str(name).strip().lower(), str(name))


def _no_email(path: Path, found: list[str]) -> ConfigError:
    return ConfigError(
        f"{path.name}: no email column; expected one of {ALIASES['email']} "
        f"(columns found: {sorted(found)})"
    )


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    for row_number, raw in enumerate(_read(path), start=1):
        row: dict[str, Any] = {}
        for key, value in raw.items():
            row[_column(key)] = value.strip() if isinstance(value, str) else value
        if row_number == 1 and "email" not in row:
            raise _no_email(path, list(raw))
        row.setdefault("list_name", path.stem)
        row["file_name"] = path.name
        row["row_number"] = row_number
        yield row


def _parquet(path: Path) -> Iterator[pa.Table]:
    """A Parquet export column-wise, batch by batch: the same renames, trimming and types
    as `_rows` gives CSV and JSONL rows, without a Python object per value."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    first = 1
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        columns: dict[str, pa.Array] = {}
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_dictionary(array.type):
                array = array.dictionary_decode()
            if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
                array = pc.utf8_trim_whitespace(array)
            columns[_column(name)] = array  # a later alias wins, as in `_rows`
        if "email" not in columns:
            raise _no_email(path, batch.schema.names)
        count = batch.num_rows
        columns.setdefault("list_name", constant(path.stem, count))
        columns["file_name"] = constant(path.name, count)
        ones = pa.nulls(count, pa.int64()).fill_null(1)
        columns["row_number"] = pc.add(pc.cumulative_sum(ones), first - 1)
        first += count
        yield LIST_MEMBERS.from_arrow(pa.table(columns))


@dlt.source(name="files", max_table_nesting=0)
def files_source(drop_dir: str = dlt.config.value) -> DltResource:
    """New or changed CSV/JSONL/Parquet files of `drop_dir` (`SOURCES__FILES__DROP_DIR`)."""
    folder = Path(drop_dir)

    @LIST_MEMBERS.resource()
    def list_members() -> Iterator[Any]:
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
            if path.suffix.lower() == ".parquet":
                yield from _parquet(path)
            else:
                yield from LIST_MEMBERS.batches([_rows(path)])
            seen[path.name] = signature

    return list_members
