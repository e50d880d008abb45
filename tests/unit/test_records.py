"""Declared raw tables: field specs, dlt hints and value coercion."""

from datetime import UTC, date, datetime

import pytest

from ingestion.sources.records import Table, normalize, to_date, to_timestamp


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
    assert hints["SystemModstamp"] == {"name": "SystemModstamp", "data_type": "timestamp"}
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
