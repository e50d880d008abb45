"""Declared raw tables and the coercion of API values into their column types.

Each source declares its tables as data: API field names with a type suffix
(`"CreatedDate:timestamp"`); unsuffixed fields are text. From one declaration we get
the fields to request, the dlt column hints (names normalised by dlt's own naming
convention, so hints and data agree) and the coercion of timestamps, which arrive as
ISO strings in several offsets or as epoch milliseconds depending on the API.

Values we cannot coerce are passed on untouched: the frozen `data_type` schema
contract then stops the load with dlt's message naming the table and column, instead
of a silently widened column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import dlt
from dlt.common.normalizers.naming.snake_case import NamingConvention

# New columns are welcome, new tables are fine, a changed type is not.
SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}

_NAMING = NamingConvention()
_TYPES = {"text", "bigint", "double", "bool", "timestamp", "date", "json"}


def normalize(name: str) -> str:
    """The column name dlt gives an API field (`SystemModstamp` → `system_modstamp`)."""
    return _NAMING.normalize_identifier(name)


@dataclass(frozen=True)
class Table:
    """One raw table: its name, key, cursor and typed fields, all in the API's names."""

    name: str
    fields: tuple[str, ...]
    primary_key: tuple[str, ...] = ("id",)
    cursor: str | None = None
    types: dict[str, str] = field(default_factory=dict, compare=False)
    extra_columns: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def declare(
        cls,
        name: str,
        spec: str,
        *,
        primary_key: Iterable[str] = ("id",),
        cursor: str | None = None,
        extra: str = "",
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
        )

    def type_of(self, api_field: str) -> str:
        """The declared dlt type of an API field (text unless suffixed)."""
        return self.types.get(api_field, "text")

    def column_hints(self) -> dict[str, dict[str, Any]]:
        """dlt column hints for every declared column; key columns are not nullable.

        Hints are keyed by the API's field names, as the data is: dlt normalises both the
        same way, so they meet the same column (and the incremental cursor's own hint).
        """
        hints: dict[str, dict[str, Any]] = {}
        all_types = {f: self.type_of(f) for f in self.fields} | self.extra_columns
        for api_field, data_type in all_types.items():
            hints[api_field] = {"name": api_field, "data_type": data_type}
            if api_field in self.primary_key:
                hints[api_field]["nullable"] = False
        return hints

    def _hints(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "primary_key": list(self.primary_key),
            "write_disposition": "merge",
            "columns": self.column_hints(),
            "schema_contract": SCHEMA_CONTRACT,
        }

    def resource(self) -> Any:
        """The dlt resource decorator of this table: merged on its key, declared columns,
        the schema contract. Every raw table is loaded this way."""
        return dlt.resource(**self._hints())

    def transformer(self, data_from: Any) -> Any:
        """Like `resource`, for a table read from another resource's rows."""
        return dlt.transformer(data_from=data_from, **self._hints())

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
