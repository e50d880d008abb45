"""File drops: CSV, JSONL and Parquet exports dropped into one folder, loaded into
`files.list_members` (column contract and aliases: README and `ALIASES`). A file is read
again when its size or modification time changes; rows are keyed by (file name, row number).

A file loads whole or not at all: it is typed completely before dlt sees a row. A malformed
one (not UTF-8, a quote left open, a ragged row, no email column, a bad date, bad JSON,
unreadable Parquet) is moved to `<drop folder>/rejected/` with `<file>.reason.txt` beside it
and listed in the `rejected_files` metric; the other files load. Dropped again fixed, it loads.
Into DuckDB, files typed once into Parquet parts dlt imports are appended when none has rows
in the table yet, else merged on the key (docs/connectors.md#file-drops).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dlt.common.schema.exceptions import DataValidationError
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.sources import DltResource

from ingestion.sources.api import ConfigError
from ingestion.sources.records import DLT_ID, Table, constant

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
REJECTED_DIR = "rejected"  # inside the drop folder: one file system, so a move is atomic
REJECTED_FILES = "rejected_files"  # the resource's custom metric: this run's refusals
# In the pipeline's working folder, beside the load packages: one file system, so dlt
# imports a typed part by a hard link, not a copy.
TYPED_DIR = "typed_drops"


class MalformedFile(ValueError):
    """A file that cannot be loaded as it is: `reason` says why, `where` which line or row."""

    def __init__(self, reason: str, where: str = "") -> None:
        self.reason, self.where = " ".join(reason.split()), where  # one line, for a summary
        super().__init__(f"{where}: {reason}" if where else reason)


def _column(name: str) -> str:
    """The contract column a file's header maps to (itself if it is not a contract alias)."""
    return _LOOKUP.get(str(name).strip().lower(), str(name))


def _no_email(found: list[str]) -> MalformedFile:
    return MalformedFile(
        f"no email column; expected one of {ALIASES['email']} (columns found: {sorted(found)})"
    )


def _csv_records(path: Path) -> Iterator[dict[str, Any]]:
    """A CSV file's records under contract names; refuses a ragged record."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        lines = _csv_lines(csv.reader(handle, strict=True))
        first = next(lines, None)
        if first is None:
            return  # an empty file: no rows to load
        header = first[1]
        names = [_column(name) for name in header]
        if "email" not in names:
            raise _no_email(header)
        for line, fields in lines:
            if len(fields) != len(header):
                raise MalformedFile(
                    f"{len(fields)} fields where the header has {len(header)}", f"line {line}"
                )
            yield dict(zip(names, fields, strict=True))


def _csv_lines(reader: Any) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank record with its line number, each exactly one line of the file.

    `strict` makes the csv module raise on a quote left open to the end of the file, but a
    quote that a later line's quote closes swallows the lines between into one value with
    the right number of fields. So a record must end on the line it starts on.
    """
    line = 0
    try:
        for fields in reader:
            line += 1
            if reader.line_num != line:
                raise MalformedFile(
                    f"a quoted value runs on to line {reader.line_num}: a quote left open? "
                    "(a value may not contain a line break)",
                    f"line {line}",
                )
            if fields:  # a blank line is no record
                yield line, fields
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise MalformedFile("a quote opened here is never closed", f"line {line + 1}") from exc
        reason = f"not valid CSV ({exc})"
        if reader.line_num > line + 1:  # the record ran on from an earlier line
            reason += f" on line {reader.line_num}: a quote left open?"
        raise MalformedFile(reason, f"line {line + 1}") from exc


def _jsonl_records(path: Path) -> Iterator[dict[str, Any]]:
    """A JSONL file's objects under contract names; one object per non-blank line."""
    found: set[str] = set()
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise MalformedFile(f"not valid JSON ({exc.msg})", f"line {line}") from exc
            if not isinstance(record, dict):
                raise MalformedFile("not a JSON object", f"line {line}")
            found.update(record)
            yield {_column(key): value for key, value in record.items()}
    if found and "email" not in {_column(key) for key in found}:
        raise _no_email(list(found))


def _rows(path: Path) -> Iterator[dict[str, Any]]:
    records = _csv_records(path) if path.suffix.lower() == ".csv" else _jsonl_records(path)
    for row_number, record in enumerate(records, start=1):
        row = {key: v.strip() if isinstance(v, str) else v for key, v in record.items()}
        row.setdefault("list_name", path.stem)
        row["file_name"] = path.name
        row["row_number"] = row_number
        yield row


def _parquet(path: Path) -> Iterator[pa.Table]:
    """A Parquet export column-wise, batch by batch: the same renames, trimming and types
    as `_rows` gives CSV and JSONL rows, without a Python object per value."""
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise MalformedFile(f"not a readable Parquet file ({exc})") from exc
    if "email" not in {_column(name) for name in parquet.schema_arrow.names}:
        raise _no_email(parquet.schema_arrow.names)
    first = 1
    batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as exc:  # a damaged page further in
            raise MalformedFile(f"not a readable Parquet file ({exc})", f"row {first}") from exc
        if batch is None:
            return
        columns: dict[str, pa.Array] = {}
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_dictionary(array.type):
                array = array.dictionary_decode()
            if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
                array = pc.utf8_trim_whitespace(array)
            columns[_column(name)] = array  # a later alias wins, as in `_rows`
        count = batch.num_rows
        columns.setdefault("list_name", constant(path.stem, count))
        columns["file_name"] = constant(path.name, count)
        ones = pa.nulls(count, pa.int64()).fill_null(1)
        columns["row_number"] = pc.add(pc.cumulative_sum(ones), first - 1)
        first += count
        yield _with_row_ids(LIST_MEMBERS.from_arrow(pa.table(columns)))


def _with_row_ids(table: pa.Table) -> pa.Table:
    """`_dlt_id` made from the file's name and the row number instead of random: unique as
    the key is, the same on every run, and cheaper for DuckDB to store (a shared prefix)."""
    if DLT_ID not in table.column_names or not table.num_rows:
        return table
    (name,) = table.column("file_name").unique().to_pylist()
    prefix = hashlib.sha256(name.encode()).hexdigest()[:12]  # 48 bits: files don't collide
    ids = pc.binary_join_element_wise(prefix, pc.cast(table.column("row_number"), pa.string()), "")
    index = table.column_names.index(DLT_ID)
    return table.set_column(index, table.schema.field(index), ids)


def _tables(path: Path) -> Iterable[pa.Table]:
    """Every row of one file as typed Arrow tables, or `MalformedFile` before any is kept.

    A Parquet export is read twice instead of held whole: the first pass only proves that
    every batch types, so memory stays one batch however large the drop."""
    with _refusals(path):
        if path.suffix.lower() == ".parquet":
            for _ in _parquet(path):
                pass
            return _parquet(path)
        return [_with_row_ids(table) for table in LIST_MEMBERS.batches([_rows(path)])]


def _typed_parts(path: Path, folder: Path) -> list[tuple[Path, pa.Schema, int]]:
    """One file typed once into Parquet parts under `folder` (a new part where a batch's
    columns differ), or `MalformedFile` with no part left: each part, its schema, rows."""
    parts: list[tuple[Path, pa.Schema, int]] = []
    writer: pq.ParquetWriter | None = None
    try:
        with _refusals(path):
            tables = _parquet(path) if path.suffix.lower() == ".parquet" else _tables(path)
            for table in tables:
                if writer is None or table.schema != parts[-1][1]:
                    if writer is not None:
                        writer.close()
                    part = folder / f"{path.name}.{len(parts)}.parquet"
                    writer = pq.ParquetWriter(part, table.schema)
                    parts.append((part, table.schema, 0))
                writer.write_table(table)
                parts[-1] = (*parts[-1][:2], parts[-1][2] + table.num_rows)
    except BaseException:
        if writer is not None:
            writer.close()
        for part, _, _ in parts:
            part.unlink(missing_ok=True)
        raise
    if writer is not None:
        writer.close()
    return parts


def _imports(path: Path, folder: Path) -> Iterator[Any]:
    """One file as dlt imports of its typed parts (`_typed_parts`, typed before this returns)."""
    parts = _typed_parts(path, folder)

    def imports() -> Iterator[Any]:
        for part, schema, rows in parts:
            # the schema's empty table gives dlt the columns, under the contract
            yield dlt.mark.with_file_import(str(part), "parquet", rows, schema.empty_table())
            part.unlink()  # dlt holds its own link to it now

    return imports()


@contextmanager
def _refusals(path: Path) -> Iterator[None]:
    """A file's decoding and typing errors as the `MalformedFile` that sets it aside."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise _not_utf8(path.read_bytes()) from exc
    except DataValidationError as exc:  # a value its column's type refuses
        row = exc.data_item if isinstance(exc.data_item, dict) else {}
        column = exc.column_name
        if LIST_MEMBERS.type_of(column) == "timestamp":
            # only a date is quoted back: other values may be personal data
            reason = (
                f"{column} {str(row.get(column))[:40]!r} is not a date "
                "(write ISO 8601, e.g. 2026-10-01 or 2026-10-01T10:00:00Z)"
            )
        else:
            reason = f"{column} holds a value of another type than the rest of the column"
        raise MalformedFile(reason, f"row {row.get('row_number', '?')}") from exc


def _not_utf8(data: bytes) -> MalformedFile:
    """Which encoding a file is in, when it is not UTF-8, and what to do about it."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return MalformedFile("encoded as UTF-16, not UTF-8: save it as UTF-8 (Excel: CSV UTF-8)")
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = exc.start
    else:  # rewritten while it was read
        return MalformedFile("not UTF-8 when it was read")
    line = body.count(b"\n", 0, start) + 1
    where, byte = f"line {line}", f"byte 0x{body[start]:02x}"
    try:
        body.decode("cp1252")
    except UnicodeDecodeError:
        return MalformedFile(f"not UTF-8 ({byte}): save it as UTF-8", where)
    return MalformedFile(
        f"not UTF-8 ({byte}); it reads as Windows-1252/Latin-1, as an Excel 'CSV' export "
        "does: save it as UTF-8 (Excel: CSV UTF-8)",
        where,
    )


def _set_aside(path: Path, error: MalformedFile) -> dict[str, str]:
    """Move a refused file to `rejected/` with its reason beside it; the refusal as a dict.

    The reason is written first and the file moved last, each with `os.replace`: a crash in
    between leaves the file in the drop folder, refused again on the next run, never lost.
    """
    folder = path.parent / REJECTED_DIR
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    note = folder / f"{path.name}.reason.txt"
    partial = note.with_name(note.name + ".tmp")
    partial.write_text(
        f"file: {path.name}\n"
        f"reason: {error.reason}\n"
        f"where: {error.where or 'the whole file'}\n"
        f"refused at: {datetime.now(UTC).isoformat(timespec='seconds')}\n"
        f"None of its rows was loaded. Fix it and drop it into {path.parent} again.\n",
        encoding="utf-8",
    )
    os.replace(partial, note)
    os.replace(path, target)
    return {"file": path.name, "reason": str(error), "moved_to": str(target)}


def rejected_files(pipeline: dlt.Pipeline, resource: str) -> list[dict[str, str]] | None:
    """The files `resource` set aside in `pipeline`'s last run; None if it sets none aside."""
    trace = pipeline.last_trace
    info = trace.last_extract_info if trace else None
    if info is None:
        return None
    for metrics in info.metrics.values():
        for step in metrics:
            resource_metrics = step["resource_metrics"].get(resource)
            if resource_metrics and REJECTED_FILES in resource_metrics.custom_metrics:
                return list(resource_metrics.custom_metrics[REJECTED_FILES])
    return None


def _typed_folder() -> Path | None:
    """A fresh folder for typed parts when the table loads as Parquet files, else None."""
    table = dlt.current.source_schema().tables.get(LIST_MEMBERS.name, {})
    if table.get("file_format") != "parquet":
        return None
    folder = Path(dlt.current.pipeline().working_dir) / TYPED_DIR
    shutil.rmtree(folder, ignore_errors=True)  # a crashed run's parts
    folder.mkdir(parents=True)
    return folder


def _loaded_before(names: list[str]) -> bool:
    """Whether any of these files has rows in the table: then their keys repeat.

    The table answers, not the state: a file set aside after it loaded leaves the state
    but keeps its rows."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(LIST_MEMBERS.name)
            marks = ", ".join(["%s"] * len(names))
            rows = client.execute_sql(
                f"select 1 from {table} where file_name in ({marks}) limit 1", *names
            )
    except DatabaseUndefinedRelation:  # the first load: no table yet
        return False
    return bool(rows)


def undo_unfinished_appends(pipeline: dlt.Pipeline) -> None:
    """Take out the rows of append jobs a crash left started, before dlt runs them again.

    dlt commits a job's insert, then marks the job done: a crash in between would append
    the rows twice. Every row of a job carries its package's load id and its file name.
    Call it before the pipeline runs; with no started job it reads no table."""
    for load_id in pipeline.list_normalized_load_packages():
        jobs = pipeline.get_load_package_info(load_id).jobs.get("started_jobs", [])
        names: set[str] = set()
        for job in jobs:
            info = job.job_file_info
            if info.table_name == LIST_MEMBERS.name and info.file_format == "parquet":
                column = pq.read_table(job.file_path, columns=["file_name"]).column(0)
                names.update(column.unique().to_pylist())
        if not names:
            continue
        marks = ", ".join(["%s"] * len(names))
        try:
            with pipeline.sql_client() as client:
                table = client.make_qualified_table_name(LIST_MEMBERS.name)
                client.execute_sql(
                    f"delete from {table} where _dlt_load_id = %s and file_name in ({marks})",
                    load_id,
                    *sorted(names),
                )
        except DatabaseUndefinedRelation:  # the crash came before the table was made
            pass


@dlt.source(name="files", max_table_nesting=0)
def files_source(drop_dir: str = dlt.config.value, create_missing: bool = False) -> DltResource:
    """New or changed CSV/JSONL/Parquet files of `drop_dir` (`SOURCES__FILES__DROP_DIR`).

    `create_missing` is for the default folder: an org that drops no files has none yet.
    A folder someone configured and that is missing is a mistake worth stopping for."""
    folder = Path(drop_dir)

    @LIST_MEMBERS.resource()
    def list_members() -> Iterator[Any]:
        if create_missing:
            folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            raise ConfigError(
                f"file drop folder {folder} does not exist: create it, or fix "
                "SOURCES__FILES__DROP_DIR (unset, the folder inbox/ beside the warehouse is "
                "used and created)"
            )
        rejected: list[dict[str, str]] = []
        dlt.current.resource_metrics()[REJECTED_FILES] = rejected
        seen: dict[str, list[float]] = dlt.current.resource_state().setdefault("files", {})
        pending: list[tuple[Path, list[float]]] = []
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES):
            stat = path.stat()
            signature = [stat.st_size, stat.st_mtime]
            if seen.get(path.name) != signature:
                pending.append((path, signature))
        typed = _typed_folder()
        if typed and pending and not _loaded_before([path.name for path, _ in pending]):
            # no key of tonight's files is in the table: nothing to merge on
            yield dlt.mark.with_hints([], dlt.mark.make_hints(write_disposition="append"))
        try:
            for path, signature in pending:
                try:
                    # a row format (CSV into PostgreSQL) has dlt write the typed rows
                    items = _tables(path) if typed is None else _imports(path, typed)
                except MalformedFile as error:
                    rejected.append(_set_aside(path, error))
                    seen.pop(path.name, None)
                    continue
                yield from items
                seen[path.name] = signature
        finally:
            if typed:
                shutil.rmtree(typed, ignore_errors=True)

    return list_members
