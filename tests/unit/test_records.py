"""Declared raw tables: field specs, dlt hints and value coercion."""

from datetime import UTC, date, datetime

import pytest

from ingestion.sources.records import Table, dlt_ids, normalize, to_date, to_timestamp

pytestmark = pytest.mark.unit


def test_declare_splits_fields_and_types_and_defaults_to_text():
    table = Table.declare("lead", "Id, IsDeleted:bool, CreatedDate:timestamp", cursor="CreatedDate")
    assert table.fields == ("Id", "IsDeleted", "CreatedDate")
    assert table.type_of("Id") == "text"
    assert table.type_of("IsDeleted") == "bool"
    assert table.cursor == "CreatedDate"


def test_declare_rejects_an_unknown_type():
    with pytest.raises(ValueError, match="unknown type 'integer' for field 'Score'"):
        Table.declare("t", "Score:integer")


def test_hints_are_keyed_like_the_data_and_key_columns_are_not_nullable():
    table = Table.declare("lead", "Id, SystemModstamp:timestamp", primary_key=("Id",))
    hints = table.column_hints()
    assert hints["SystemModstamp"] == {
        "name": "SystemModstamp",
        "data_type": "timestamp",
        "nullable": True,
    }
    assert hints["Id"] == {"name": "Id", "data_type": "text", "nullable": False}


def test_normalize_gives_the_column_name_dlt_lands():
    assert normalize("SystemModstamp") == "system_modstamp"
    assert normalize("ConvertedOpportunityId") == "converted_opportunity_id"


def test_extra_columns_are_hinted_beside_the_fields():
    table = Table.declare("contacts", "email", extra="id, archivedAt:timestamp")
    assert set(table.column_hints()) == {"email", "id", "archivedAt"}


@pytest.mark.parametrize(
    "raw",
    [
        "2024-01-15T10:00:00.000+0000",  # Salesforce
        "2024-01-15T10:00:00.000Z",  # HubSpot v3
        "2024-01-15T11:00:00+01:00",  # another offset, same instant
        1705312800000,  # epoch milliseconds (HubSpot legacy APIs)
        "1705312800000",  # epoch milliseconds as a string
    ],
)
def test_every_timestamp_format_the_apis_send_is_the_same_utc_instant(raw):
    assert to_timestamp(raw) == datetime(2024, 1, 15, 10, 0, tzinfo=UTC)


def test_an_unparseable_timestamp_is_passed_on_for_the_schema_contract_to_refuse():
    assert to_timestamp("last tuesday") == "last tuesday"


def test_dates_accept_a_date_or_the_date_part_of_a_timestamp():
    assert to_date("2024-01-15") == date(2024, 1, 15)
    assert to_date("2024-01-15T23:00:00.000+0000") == date(2024, 1, 15)


def test_coerce_turns_empty_strings_into_nulls_and_leaves_numbers_to_dlt():
    table = Table.declare("c", "hubspotscore:bigint, createdate:timestamp, company")
    row = table.coerce({"hubspotscore": "45", "createdate": "", "company": ""})
    assert row == {"hubspotscore": "45", "createdate": None, "company": None}


# -- the Arrow page (`Table.arrow`) -----------------------------------------------------------

PAGE_TABLE = Table.declare(
    "lead",
    "Id, Score:bigint, Amount:double, IsWon:bool, CreatedDate:timestamp, CloseDate:date,"
    " Teams:json, Status",
    primary_key=("Id",),
)


def test_arrow_page_has_the_declared_types_in_declared_order_then_dlt_columns():
    page = PAGE_TABLE.arrow([{"Id": "a", "Score": "45"}], load_id="123.4")
    assert [(f.name, str(f.type)) for f in page.schema] == [
        ("Id", "string"),
        ("Score", "int64"),
        ("Amount", "double"),
        ("IsWon", "bool"),
        ("CreatedDate", "timestamp[us, tz=UTC]"),
        ("CloseDate", "date32[day]"),
        ("Teams", "string"),
        ("Status", "string"),
        ("_dlt_load_id", "string"),
        ("_dlt_id", "string"),
    ]
    assert not page.schema.field("Id").nullable and page.schema.field("Amount").nullable
    assert page.column("_dlt_load_id").to_pylist() == ["123.4"]


def test_arrow_page_converts_values_as_the_row_path_does():
    page = PAGE_TABLE.arrow(
        [
            {
                "Id": "a",
                "Score": "45",
                "Amount": 10,
                "IsWon": True,
                "CreatedDate": "2024-01-15T11:00:00+01:00",
                "CloseDate": "2024-01-15T23:00:00.000+0000",
                "Teams": [{"id": "1", "primary": True}],
                "Status": "",
            },
            {"Id": "b", "CreatedDate": 1705312800000, "CloseDate": "2024-01-16"},
            {"Id": "c", "CreatedDate": datetime(2024, 1, 15, 10, tzinfo=UTC), "Score": ""},
        ]
    )
    rows = page.to_pylist()  # no dlt columns: no load package outside a pipeline run
    instant = datetime(2024, 1, 15, 10, tzinfo=UTC)
    assert "_dlt_id" not in page.column_names
    assert rows[0] == {
        "Id": "a",
        "Score": 45,
        "Amount": 10.0,
        "IsWon": True,
        "CreatedDate": instant,
        "CloseDate": date(2024, 1, 15),
        "Teams": '[{"id":"1","primary":true}]',  # dlt's own compact JSON, as jsonl writes it
        "Status": None,  # an empty string is null, as `coerce` makes it
    }
    assert rows[1]["CreatedDate"] == instant and rows[1]["CloseDate"] == date(2024, 1, 16)
    assert rows[2]["CreatedDate"] == instant and rows[2]["Score"] is None


def test_arrow_page_takes_in_custom_fields_and_leaves_out_all_null_ones():
    page = PAGE_TABLE.arrow(
        [
            {"Id": "a", "Region__c": "EMEA", "Seats__c": 3, "Unused__c": None},
            {"Id": "b", "Region__c": "", "Seats__c": 5, "Unused__c": ""},
        ]
    )
    assert str(page.schema.field("Region__c").type) == "string"
    assert str(page.schema.field("Seats__c").type) == "int64"
    assert "Unused__c" not in page.column_names
    assert page.column("Region__c").to_pylist() == ["EMEA", None]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Score", "abc"),
        ("Score", 4.5),
        ("Amount", "n/a"),
        ("IsWon", "maybe"),
        ("CreatedDate", "last tuesday"),
        ("CloseDate", "soon"),
    ],
)
def test_arrow_page_refuses_a_wrong_typed_value_naming_table_column_and_record(column, value):
    from dlt.common.schema.exceptions import DataValidationError

    good = {"Id": "ok", column: None}
    with pytest.raises(DataValidationError) as refused:
        PAGE_TABLE.arrow([good, {"Id": "bad-1", column: value}])
    message = str(refused.value)
    assert "lead" in message and normalize(column) in message and "data_type" in message
    assert "bad-1" in message and repr(value) in message


def test_arrow_page_refuses_a_null_primary_key():
    from dlt.common.schema.exceptions import DataValidationError

    with pytest.raises(DataValidationError, match="primary key"):
        PAGE_TABLE.arrow([{"Id": None, "Status": "x"}])


def test_dlt_ids_are_unique_16_character_strings():
    ids = dlt_ids(10_000).to_pylist()
    assert len(set(ids)) == 10_000 and {len(i) for i in ids} == {16}


def test_an_arrow_file_is_typed_like_the_same_records_as_dicts():
    import pyarrow as pa

    records = [
        {"Id": "a", "Score": "7", "CreatedDate": "2024-01-15T10:00:00Z", "Status": " "},
        {"Id": "b", "Score": "", "CreatedDate": None, "Status": "open"},
    ]
    from_file = PAGE_TABLE.from_arrow(pa.Table.from_pylist(records), load_id="1")
    from_dicts = PAGE_TABLE.arrow(records, load_id="1")
    assert from_file.schema == from_dicts.schema
    assert from_file.drop_columns(["_dlt_id"]) == from_dicts.drop_columns(["_dlt_id"])


def test_batches_gather_pages_into_tables_of_the_batch_size():
    pages = [[{"Id": f"{p}-{i}"} for i in range(30)] for p in range(5)]
    sizes = [t.num_rows for t in PAGE_TABLE.batches(pages, rows=50)]
    assert sizes == [60, 60, 30]
