"""Rows of one query on two engines, in a form that compares equal when the data is equal."""

from __future__ import annotations

import math
from datetime import UTC, datetime


def normalise(value: object) -> object:
    """One value as both engines' drivers should agree on it.

    Only two things are normalised. Floats are rounded to 9 significant digits: double
    precision arithmetic may differ in the last bits between engines (summation order),
    which is not a difference in the result. Timestamps with a time zone become naive UTC:
    psycopg2 returns them in the session's time zone, DuckDB's driver in its own; the
    marts declare `timestamp` (naive UTC) throughout, so this only guards the comparison
    itself. Decimals, integers, text, booleans and dates are compared exactly.
    """
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        return round(value, 8 - int(math.floor(math.log10(abs(value)))))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def sorted_rows(rows: list[tuple]) -> list[tuple]:
    """The rows normalised (`normalise`) and sorted, None first."""

    def key(row: tuple) -> tuple:
        # None sorts first; values of one column share a type, so they compare.
        return tuple((value is not None, value if value is not None else 0) for value in row)

    return sorted((tuple(normalise(value) for value in row) for row in rows), key=key)
