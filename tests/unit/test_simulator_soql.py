"""The simulator's SOQL subset: what it accepts, how it filters, what it refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from simulator import soql

pytestmark = pytest.mark.unit

SCHEMAS = {"Lead": {"Id": "id", "Status": "picklist", "IsDeleted": "boolean",
                    "SystemModstamp": "datetime", "ConvertedDate": "date"}}
ROWS = [
    {"Id": "a", "Status": "Open", "IsDeleted": False,
     "SystemModstamp": datetime(2026, 5, 1, 10, tzinfo=UTC), "ConvertedDate": None},
    {"Id": "b", "Status": "Working", "IsDeleted": True,
     "SystemModstamp": datetime(2026, 5, 2, 10, tzinfo=UTC), "ConvertedDate": date(2026, 5, 2)},
    {"Id": "c", "Status": "Open", "IsDeleted": False,
     "SystemModstamp": datetime(2026, 5, 3, 10, tzinfo=UTC), "ConvertedDate": date(2026, 5, 9)},
]


def ids(text: str) -> list[str]:
    return [r["Id"] for r in soql.run(soql.parse(text, SCHEMAS), ROWS)]


def test_keywords_and_names_are_case_insensitive_and_fields_canonical() -> None:
    query = soql.parse("select id, STATUS from lead where systemmodstamp >= "
                       "2026-05-02T10:00:00Z order by SystemModstamp desc limit 1", SCHEMAS)
    assert (query.sobject, query.fields, query.descending, query.limit) == (
        "Lead", ("Id", "Status"), True, 1)
    assert soql.run(query, ROWS)[0]["Id"] == "c"


@pytest.mark.parametrize("where, expected", [
    ("SystemModstamp > 2026-05-01T10:00:00Z", ["b", "c"]),
    ("SystemModstamp > 2026-05-01T10:00:00.000+0000 AND SystemModstamp <= 2026-05-02T10:00:00Z",
     ["b"]),
    ("Status = 'Open'", ["a", "c"]),
    ("Status != 'Open'", ["b"]),
    ("IsDeleted = false", ["a", "c"]),
    ("ConvertedDate = null", ["a"]),
    ("ConvertedDate < 2026-05-05", ["b"]),
])
def test_where_filters(where: str, expected: list[str]) -> None:
    assert ids(f"SELECT Id FROM Lead WHERE {where}") == expected


def test_order_puts_nulls_first_ascending() -> None:
    assert ids("SELECT Id FROM Lead ORDER BY ConvertedDate ASC") == ["a", "b", "c"]
    assert ids("SELECT Id FROM Lead ORDER BY ConvertedDate DESC") == ["c", "b", "a"]


@pytest.mark.parametrize("text, code", [
    ("SELECT Id, Nope FROM Lead", "INVALID_FIELD"),
    ("SELECT Id FROM Lead WHERE Nope > 1", "INVALID_FIELD"),
    ("SELECT Id FROM Leed", "INVALID_TYPE"),
    ("SELECT Id FROM Lead WHERE Status ~ 'x'", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE Status = 'a' OR Status = 'b'", "MALFORMED_QUERY"),
    ("SELECT COUNT() FROM Lead", "MALFORMED_QUERY"),
    ("DELETE FROM Lead", "MALFORMED_QUERY"),
])
def test_refused_queries_carry_salesforce_error_codes(text: str, code: str) -> None:
    with pytest.raises(soql.SoqlError) as refused:
        soql.parse(text, SCHEMAS)
    assert refused.value.error_code == code
