"""Declared raw tables and the coercion of API values into their column types.

Each source declares its tables as data: API field names with a type suffix
(`"CreatedDate:timestamp"`; unsuffixed fields are text). One declaration gives the fields
to request, dlt's column hints (names normalised by dlt's naming convention) and the
coercion of values. Sources hand dlt Arrow tables (`Table.arrow`, `Table.batches`),
loaded as Parquet, and `Table.arrow` enforces the declared types itself, raising dlt's
`DataValidationError` as the frozen `data_type` contract does on the dict path.
Why Arrow, and what the Arrow table holds: docs/decisions/004-connector-reads.md.
"""

from __future__ import annotations

import base64
import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NoReturn

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.json import json
from dlt.common.normalizers.naming.snake_case import NamingConvention
from dlt.common.schema.exceptions import DataValidationError
from dlt.common.storages.exceptions import CurrentLoadPackageStateNotAvailable
from dlt.extract.exceptions import CurrentSourceSchemaNotAvailable

# New columns are welcome, new tables are fine, a changed type is not.
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}

_NAMING = NamingConvention()
_TYPES = {"text", "bigint", "double", "bool", "timestamp", "date", "json"}
# The Arrow type of each declared type; JSON travels as its text, as dlt writes it.
ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "json": pa.string(),
}
DLT_LOAD_ID, DLT_ID = "_dlt_load_id", "_dlt_id"
# Rows per Arrow table handed to dlt. dlt has a fixed cost for every item it extracts
# (schema merge, contract check, a Parquet write), so API pages of 50-2000 rows are
# gathered into batches; the batch bounds memory, not correctness.
BATCH_ROWS = 20_000
# Where a time cursor starts on a first load: before any record of any system.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def normalize(name: str) -> str:
    """The column name dlt gives an API field (`SystemModstamp` → `system_modstamp`)."""
    return _NAMING.normalize_identifier(name)


def _materialized(function: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    """`function`'s items, after the marker that makes dlt create its table when empty."""

    @functools.wraps(function)
    def rows(*args: Any, **kwargs: Any) -> Iterator[Any]:
        yield dlt.mark.materialize_table_schema()
        yield from function(*args, **kwargs)

    return rows


@dataclass(frozen=True)
class Table:
    """One raw table: its name, key, cursor and typed fields, all in the API's names."""

    name: str
    fields: tuple[str, ...]
    primary_key: tuple[str, ...] = ("id",)
    cursor: str | None = None
    types: dict[str, str] = field(default_factory=dict, compare=False)
    extra_columns: dict[str, str] = field(default_factory=dict, compare=False)
    # True when one load can never carry a key twice: dlt then skips de-duplicating the
    # staged rows (a window over every row) before the merge.
    unique_keys: bool = False

    @classmethod
    def declare(
        cls,
        name: str,
        spec: str,
        *,
        primary_key: Iterable[str] = ("id",),
        cursor: str | None = None,
        extra: str = "",
        unique_keys: bool = False,
    ) -> Table:
        """Build a table from `"Field, Other:type, ..."`; `extra` adds derived columns."""
        fields, types = _parse(spec)
        extra_fields, extra_types = _parse(extra)
        return cls(
            name=name,
            fields=tuple(fields),
            primary_key=tuple(primary_key),
            cursor=cursor,
            types=types,
            extra_columns={f: extra_types.get(f, "text") for f in extra_fields},
            unique_keys=unique_keys,
        )

    def type_of(self, api_field: str) -> str:
        """The declared dlt type of an API field (text unless suffixed)."""
        return self.types.get(api_field, "text")

    def column_hints(self) -> dict[str, dict[str, Any]]:
        """dlt column hints for every declared column; key columns are not nullable.

        Hints are keyed by the API's field names, as the data is: dlt normalises both the
        same way, so they meet the same column (and the incremental cursor's own hint).
        `nullable` is spelled out as the Arrow fields carry it: a table created from these
        hints before its first page (the empty table) then takes that page under the frozen
        `data_type` contract, whichever dlt handles first.
        """
        hints: dict[str, dict[str, Any]] = {}
        all_types = {f: self.type_of(f) for f in self.fields} | self.extra_columns
        for api_field, data_type in all_types.items():
            nullable = api_field not in self.primary_key
            hints[api_field] = {"name": api_field, "data_type": data_type, "nullable": nullable}
        return hints

    def _hints(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "primary_key": list(self.primary_key),
            "write_disposition": (
                {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}
                if self.unique_keys
                else "merge"
            ),
            "columns": self.column_hints(),
            "schema_contract": SCHEMA_CONTRACT,
        }

    def resource(self) -> Any:
        """The dlt resource decorator of this table: merged on its key, declared columns,
        the schema contract. Every raw table is loaded this way, and exists with its
        declared columns after the first load even when its object has no records yet
        (a young org has no tasks): checks and dbt then read an empty table."""

        return lambda function: dlt.resource(**self._hints())(_materialized(function))

    def transformer(self, data_from: Any) -> Any:
        """Like `resource`, for a table read from another resource's rows. Its table
        exists too when the parent had no rows: every parent first yields the empty
        item that `resource` starts with, and that reaches the transformer."""
        return lambda function: dlt.transformer(data_from=data_from, **self._hints())(
            _materialized(function)
        )

    def batches(
        self, pages: Iterable[Sequence[dict[str, Any]]], rows: int = BATCH_ROWS
    ) -> Iterator[pa.Table]:
        """Pages of records as Arrow tables (`arrow`) of about `rows` rows each."""
        buffer: list[dict[str, Any]] = []
        for page in pages:
            buffer.extend(page)
            if len(buffer) >= rows:
                yield self.arrow(buffer)
                buffer = []
        if buffer:
            yield self.arrow(buffer)

    def arrow(self, rows: Sequence[dict[str, Any]], *, load_id: str | None = None) -> pa.Table:
        """One page of records as the Arrow table the row path would land.

        `rows` may be raw API values or already `coerce`d ones. Declared columns come
        first, in declaration order and with their declared types (all of them, even if
        no record has the field); other fields follow as dlt would infer them, and a
        field that is null in every record is left out, as dlt leaves it out. `_dlt_id`
        (unique per row) and `_dlt_load_id` (`load_id`, or the load package being
        extracted) close the table. A value that does not convert to its column's type
        raises `DataValidationError` naming table, column and record.
        """
        names = list(self._declared())
        seen = set(names)
        for row in rows:
            for key in row:
                if key not in seen:
                    seen.add(key)
                    names.append(key)
        columns: dict[str, _Column] = {}
        for name in names:
            values = [row.get(name) for row in rows]
            try:
                array = pa.array(values)  # C-speed type inference; fails on mixed types
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                array = None
            columns[name] = _Column(array, values)
        return self._assemble(columns, len(rows), rows.__getitem__, load_id)

    def from_arrow(
        self, table: pa.Table, *, load_id: str | None = None, types: dict[str, str] | None = None
    ) -> pa.Table:
        """An Arrow table of records (a Parquet file's) typed exactly as `arrow` types dicts.

        Column names must already be the API's (or the file contract's) names. `types`
        types undeclared columns whose values carry no type of their own (a CSV's text) as
        the API's JSON would have typed them; a value that does not convert is refused.
        """
        columns = {
            name: _Column(table.column(name).combine_chunks(), None) for name in table.column_names
        }

        def record(index: int) -> dict[str, Any]:
            return table.slice(index, 1).to_pylist()[0]

        return self._assemble(columns, table.num_rows, record, load_id, types)

    def _declared(self) -> dict[str, str]:
        return {f: self.type_of(f) for f in self.fields} | self.extra_columns

    def _assemble(
        self,
        columns: dict[str, _Column],
        count: int,
        record: Callable[[int], dict[str, Any]],
        load_id: str | None,
        types: dict[str, str] | None = None,
    ) -> pa.Table:
        declared = self._declared()
        types = types or {}
        fields: list[pa.Field] = []
        arrays: list[pa.Array] = []
        for name in [*declared, *(c for c in columns if c not in declared)]:
            column = columns.get(name)
            if name in declared:
                if column is None:
                    array = pa.nulls(count, ARROW_TYPES[declared[name]])
                else:
                    array = self._typed_array(name, declared[name], column, record)
                nullable = name not in self.primary_key
                if not nullable and array.null_count:
                    self._refuse(name, record, array.is_null(), "a primary key column is null")
            else:
                if name in types:
                    array = self._typed_array(name, types[name], column, record)
                    if array.null_count == len(array):
                        continue  # as an inferred column that is null throughout
                else:
                    array = self._inferred_array(name, column, record)
                if array is None:
                    continue
                nullable = True
            fields.append(pa.field(name, array.type, nullable=nullable))
            arrays.append(array)
        self._adopt_stored_table()
        load_id = load_id or _current_load_id()
        if load_id is not None:
            fields.append(pa.field(DLT_LOAD_ID, pa.string(), nullable=False))
            arrays.append(constant(load_id, count))
            fields.append(pa.field(DLT_ID, pa.string(), nullable=False))
            arrays.append(dlt_ids(count))
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    def _adopt_stored_table(self) -> None:
        """Spell out `nullable` on a stored table's columns where dlt left it unset.

        dlt's JSON normalizer stores hinted columns without a `nullable` flag (unset means
        nullable); an Arrow field always carries one, and the frozen `data_type` contract
        counts unset → `True` as a type change. Writing the default out changes nothing
        else, and lets a table first loaded as dicts take Arrow pages.
        """
        try:
            schema = dlt.current.source_schema()
        except CurrentSourceSchemaNotAvailable:  # no source is being extracted (a unit test)
            return
        stored = schema.tables.get(normalize(self.name))
        if not stored:
            return
        for column in stored.get("columns", {}).values():
            if "nullable" not in column and "data_type" in column:
                column["nullable"] = True

    def _typed_array(
        self,
        name: str,
        data_type: str,
        column: _Column,
        record: Callable[[int], dict[str, Any]],
    ) -> pa.Array:
        """A column as an array of the declared type; refuses what does not convert."""
        target = ARROW_TYPES[data_type]
        if data_type == "json":
            if column.array is not None and pa.types.is_string(column.array.type):
                return _empty_as_null(column.array)  # JSON text already (a file's column)
            return pa.array(
                [None if v is None or v == "" else json.dumps(v) for v in column.values()],
                target,
            )
        array = column.array
        if array is None:  # mixed Python types: value by value
            return self._python_array(name, data_type, column, record)
        kind = array.type
        if pa.types.is_null(kind):
            return pa.nulls(len(array), target)
        if pa.types.is_dictionary(kind):
            array = array.dictionary_decode()
            kind = array.type
        if pa.types.is_large_string(kind):
            array = array.cast(pa.string())
            kind = array.type
        if pa.types.is_string(kind):
            array = _empty_as_null(array)
            if data_type == "date":
                # the date part of a timestamp is a date, as `to_date` reads it
                array = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(array), 0, 10)
            elif data_type == "timestamp":
                array = pc.utf8_trim_whitespace(array)
                if pc.any(pc.match_substring_regex(array, r"^-?\d+$")).as_py():
                    # epoch milliseconds sent as strings
                    return self._python_array(name, data_type, column, record)
        elif data_type == "timestamp" and pa.types.is_integer(kind):
            # epoch milliseconds (HubSpot's legacy APIs)
            return pc.multiply(array.cast(pa.int64()), 1000).cast(target)
        elif data_type == "timestamp" and pa.types.is_timestamp(kind) and kind.tz is None:
            return array.cast(pa.timestamp("us")).cast(target)  # naive means UTC, as `coerce`
        elif data_type == "timestamp" and pa.types.is_floating(kind):
            return self._python_array(name, data_type, column, record)
        elif data_type == "text" and pa.types.is_boolean(kind):
            return pa.array([None if v is None else str(v) for v in column.values()], target)
        elif data_type == "text" and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            self._refuse(name, record, pc.invert(pc.is_null(array)), f"not text ({kind})")
        try:
            return array.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return self._python_array(name, data_type, column, record)

    def _python_array(
        self,
        name: str,
        data_type: str,
        column: _Column,
        record: Callable[[int], dict[str, Any]],
    ) -> pa.Array:
        """The slow path, value by value, for mixed or unusual values; refuses bad ones."""
        values = column.values()
        array = pa.array([_convert(data_type, v) for v in values], ARROW_TYPES[data_type])
        bad = pc.and_(pc.is_null(array), pc.invert(_missing(values)))
        if pc.any(bad).as_py():
            self._refuse(name, record, bad, f"not a {data_type}")
        return array

    def _inferred_array(
        self, name: str, column: _Column, record: Callable[[int], dict[str, Any]]
    ) -> pa.Array | None:
        """A field the table does not declare (a custom field): typed as dlt infers it."""
        array = column.array
        if array is None:
            self._refuse(name, record, pc.invert(_missing(column.values())), "of mixed types")
        kind = array.type
        if pa.types.is_dictionary(kind):
            array = array.dictionary_decode()
            kind = array.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            array = _empty_as_null(array)
        elif pa.types.is_struct(kind) or pa.types.is_list(kind):
            # nested values land as their JSON text, as dlt writes them without nesting
            array = pa.array([None if v is None else json.dumps(v) for v in column.values()])
        elif pa.types.is_timestamp(kind):
            array = array.cast(ARROW_TYPES["timestamp"])
        if array.null_count == len(array):
            return None
        return array

    def _refuse(
        self,
        column: str,
        record: Callable[[int], dict[str, Any]],
        bad: pa.Array,
        reason: str,
    ) -> NoReturn:
        """Raise the contract violation the row path raises, naming the first bad record."""
        index = pc.index(bad, True).as_py()
        row = record(index) if index >= 0 else {}
        keys = {k: row.get(k) for k in self.primary_key}
        declared = self.types.get(column) or self.extra_columns.get(column)
        declared = declared or ("text" if column in self.fields else "inferred")
        raise DataValidationError(
            None,
            self.name,
            normalize(column),
            "data_type",
            "freeze",
            None,
            SCHEMA_CONTRACT,
            row,
            f"Record {keys} of {self.name}: {column}={row.get(column)!r} is {reason}"
            f" (column type: {declared}).",
        )

    def coerce(self, record: dict[str, Any]) -> dict[str, Any]:
        """Coerce timestamps and dates in place; other types are left to dlt."""
        for key, value in record.items():
            if value is None or value == "":
                record[key] = None
                continue
            data_type = self.types.get(key) or self.extra_columns.get(key)
            if data_type == "timestamp":
                record[key] = to_timestamp(value)
            elif data_type == "date":
                record[key] = to_date(value)
        return record


def _parse(spec: str) -> tuple[list[str], dict[str, str]]:
    fields: list[str] = []
    types: dict[str, str] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, _, data_type = item.partition(":")
        if data_type and data_type not in _TYPES:
            raise ValueError(f"unknown type {data_type!r} for field {name!r}")
        fields.append(name)
        if data_type:
            types[name] = data_type
    return fields, types


def to_timestamp(value: Any) -> Any:
    """A UTC datetime from an ISO string (any offset, `Z` or `+0000`) or epoch ms."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return value
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    return value


def to_date(value: Any) -> Any:
    """A date from `YYYY-MM-DD` (or the date part of a timestamp)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return value
    return value


def dlt_ids(count: int) -> pa.Array:
    """`count` unique row ids for `_dlt_id`, made column-wise.

    dlt draws 10 random bytes per row in Python; 12 random bytes are exactly 16 base64
    characters, so one `urandom` call and one encode make every id at once.
    """
    text = base64.urlsafe_b64encode(os.urandom(12 * count))
    offsets = pa.array(range(0, 16 * count + 1, 16), pa.int32())
    return pa.StringArray.from_buffers(count, offsets.buffers()[1], pa.py_buffer(text))


def constant(text: str, count: int) -> pa.Array:
    """A string column with one value, made without a Python object per row."""
    return pa.repeat(pa.scalar(text, pa.string()), count)


def _current_load_id() -> str | None:
    """The id of the load package dlt is extracting into, if a pipeline is running."""
    try:
        return dlt.current.load_package_state()["load_id"]
    except CurrentLoadPackageStateNotAvailable:  # outside a pipeline run (a unit test)
        return None


class _Column:
    """One column of a page: its Arrow array (None when Python types are mixed) and,
    made only when the slow path needs them, its Python values."""

    __slots__ = ("array", "_values")

    def __init__(self, array: pa.Array | None, values: list[Any] | None) -> None:
        self.array, self._values = array, values

    def values(self) -> list[Any]:
        if self._values is None:
            self._values = self.array.to_pylist() if self.array is not None else []
        return self._values


def _missing(values: list[Any]) -> pa.Array:
    """Where a value is absent: None or the empty string, which the row path nulls too."""
    return pa.array([v is None or v == "" for v in values], pa.bool_())


def _empty_as_null(array: pa.Array) -> pa.Array:
    if not pc.any(pc.equal(array, "")).as_py():
        return array
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, array.type), array)


def _convert(data_type: str, value: Any) -> Any:
    """One value as Python of the declared type, or None if it does not convert."""
    if value is None or value == "":
        return None
    try:
        if data_type == "timestamp":
            converted = to_timestamp(value)
            return converted if isinstance(converted, datetime) else None
        if data_type == "date":
            converted = to_date(value)
            return converted if isinstance(converted, date) else None
        if data_type == "bigint":
            if isinstance(value, float) and not value.is_integer():
                return None
            return int(value) if not isinstance(value, bool) else None
        if data_type == "double":
            return float(value) if not isinstance(value, bool) else None
        if data_type == "bool":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            return {"true": True, "false": False, "1": True, "0": False}.get(text)
        return str(value)
    except (TypeError, ValueError, OverflowError):
        return None
