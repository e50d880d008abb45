"""The SOQL subset the simulator understands, with Salesforce's error codes.

    SELECT f1, f2 FROM Obj [WHERE F op literal [AND F op literal ...]]
        [ORDER BY F [ASC|DESC] [NULLS FIRST|LAST]] [LIMIT n]

`op` is one of = != <> < <= > >=; literals are unquoted datetimes
(`2024-01-01T00:00:00Z`, `2024-01-01T00:00:00.000+0000`), dates, numbers, `true`,
`false`, `null` and 'quoted strings'. Keywords and names are case-insensitive, as in
Salesforce; results use each field's canonical name. Anything else is a
MALFORMED_QUERY, which is what a connector should see if it ever relied on more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from simulator.formats import parse_instant


class SoqlError(Exception):
    """A query Salesforce would refuse: `error_code` and `message` as it sends them."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Condition:
    """`field op value`, with the value already typed."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Query:
    """A parsed query, field names canonical."""

    sobject: str
    fields: tuple[str, ...]
    where: tuple[Condition, ...]
    order_by: str | None
    descending: bool
    limit: int | None


_QUERY = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>\w+)(?:\s+(?P<dir>ASC|DESC))?(?:\s+NULLS\s+(?:FIRST|LAST))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_CONDITION = re.compile(r"^\s*(\w+)\s*(<=|>=|!=|<>|=|<|>)\s*(.+?)\s*$", re.DOTALL)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")  # one quoted literal, escapes allowed


def _literal(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if _STRING.fullmatch(text):
        return text[1:-1].replace("\\'", "'")
    if _DATETIME.match(text):
        return parse_instant(text)
    if _DATE.match(text):
        return date.fromisoformat(text)
    try:
        return float(text)
    except ValueError:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'") from None


def parse(soql: str, schemas: dict[str, dict[str, str]]) -> Query:
    """Parse `soql` against `schemas` (sObject → field → type); raise SoqlError if refused."""
    match = _QUERY.match(soql)
    if not match:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token in query: '{soql.strip()[:80]}'")
    obj = match["obj"]
    sobject = next((s for s in schemas if s.lower() == obj.lower()), None)
    if sobject is None:
        raise SoqlError(
            "INVALID_TYPE",
            f"sObject type '{obj}' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference "
            "your WSDL or the describe call for the appropriate names.",
        )
    known = {name.lower(): name for name in schemas[sobject]}

    def field(name: str) -> str:
        if not re.fullmatch(r"\w+", name):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{name}'")
        try:
            return known[name.lower()]
        except KeyError:
            raise SoqlError(
                "INVALID_FIELD",
                f"No such column '{name}' on entity '{sobject}'. If you are attempting to use "
                "a custom field, be sure to append the '__c' after the custom field name. "
                "Please reference your WSDL or the describe call for the appropriate names.",
            ) from None

    fields = tuple(field(f.strip()) for f in match["fields"].split(","))
    where: list[Condition] = []
    if match["where"]:
        for part in re.split(r"\s+AND\s+", match["where"], flags=re.IGNORECASE):
            cond = _CONDITION.match(part)
            if not cond:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{part.strip()}'")
            op = "!=" if cond[2] == "<>" else cond[2]
            where.append(Condition(field(cond[1]), op, _literal(cond[3])))
    return Query(
        sobject=sobject, fields=fields, where=tuple(where),
        order_by=field(match["order"]) if match["order"] else None,
        descending=(match["dir"] or "").upper() == "DESC",
        limit=int(match["limit"]) if match["limit"] else None,
    )


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "=":
        return left == right
    if op == "!=":
        return left != right
    if left is None or right is None:
        return False  # SOQL: null never orders against anything
    if isinstance(left, datetime) and isinstance(right, date) and not isinstance(
            right, datetime):
        left = left.date()
    try:
        return {"<": left < right, "<=": left <= right, ">": left > right,
                ">=": left >= right}[op]
    except TypeError:
        raise SoqlError("INVALID_FIELD", f"value of type {type(right).__name__} cannot be "
                        f"compared with this field") from None


def run(query: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Filter, order and limit `rows` (typed records) as the query says."""
    out = [r for r in rows if all(_compare(r.get(c.field), c.op, c.value) for c in query.where)]
    if query.order_by:
        key = query.order_by
        # Nulls first ascending, as Salesforce orders by default; the sort is stable.
        out.sort(key=lambda r: (r.get(key) is not None, r.get(key) if r.get(key) is not None
                                else 0), reverse=query.descending)
    if query.limit is not None:
        out = out[: query.limit]
    return out
