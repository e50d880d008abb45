"""A Bulk API 2.0 CSV results set becomes the Arrow table the REST path's JSON becomes."""

from __future__ import annotations

import pytest
from dlt.common.json import json
from dlt.common.schema.exceptions import DataValidationError

from ingestion.sources.api import ConfigError
from ingestion.sources.records import Table
from ingestion.sources.salesforce.bulk import BulkSettings, read_csv, typed

pytestmark = pytest.mark.unit

TABLE = Table.declare(
    "deal",
    "Id, Name, Amount:double, Seats:bigint, IsWon:bool, CloseDate:date, SystemModstamp:timestamp",
    primary_key=("Id",),
)
# custom fields (not declared) and their describe types
CUSTOM = {
    "Score__c": "double",
    "Units__c": "int",
    "Flag__c": "boolean",
    "Region__c": "picklist",
    "Due__c": "date",
    "Seen__c": "datetime",
    "Empty__c": "currency",
}
FIELDS = [*TABLE.fields, *CUSTOM]
# one record as the REST query's JSON has it ...
REST = """[
 {"Id": "006A", "Name": "Big, \\"quoted\\" deal", "Amount": 5000.0, "Seats": 12,
  "IsWon": true, "CloseDate": "2026-10-30", "SystemModstamp": "2026-10-30T09:15:00.123+0000",
  "Score__c": 1.5, "Units__c": 3, "Flag__c": false, "Region__c": "NA",
  "Due__c": "2026-11-01", "Seen__c": "2026-10-29T08:00:00.000+0000", "Empty__c": null},
 {"Id": "006B", "Name": null, "Amount": null, "Seats": null, "IsWon": false,
  "CloseDate": null, "SystemModstamp": "2026-10-31T00:00:00.000+0000", "Score__c": 2.0,
  "Units__c": null, "Flag__c": true, "Region__c": null, "Due__c": null, "Seen__c": null,
  "Empty__c": null}
]"""
# ... and as a Bulk API 2.0 CSV results set (every value quoted, null empty)
CSV = (
    '"Id","Name","Amount","Seats","IsWon","CloseDate","SystemModstamp","Score__c","Units__c",'
    '"Flag__c","Region__c","Due__c","Seen__c","Empty__c"\n'
    '"006A","Big, ""quoted"" deal","5000.0","12","true","2026-10-30",'
    '"2026-10-30T09:15:00.123Z","1.5","3","false","NA","2026-11-01",'
    '"2026-10-29T08:00:00.000Z",""\n'
    '"006B","","","","false","","2026-10-31T00:00:00.000Z","2.0","","true","","","",""\n'
)


def _typed(csv: str) -> object:
    return typed(TABLE, read_csv(csv.encode(), FIELDS), CUSTOM, load_id="1")


def test_a_csv_set_is_typed_exactly_as_the_same_records_from_rest_json():
    from_rest = TABLE.arrow(json.loads(REST), load_id="1").drop_columns(["_dlt_id"])
    from_csv = _typed(CSV).drop_columns(["_dlt_id"])
    assert from_csv.schema == from_rest.schema
    assert from_csv.to_pylist() == from_rest.to_pylist()
    # custom numbers and booleans typed by describe; dates stay text, as REST's JSON has them
    assert str(from_csv.schema.field("Units__c").type) == "int64"
    assert str(from_csv.schema.field("Due__c").type) == "string"
    assert from_csv.column("Seen__c").to_pylist() == ["2026-10-29T08:00:00.000+0000", None]
    assert "Empty__c" not in from_csv.column_names  # null throughout: left out on both paths
    assert from_csv.column("Region__c").to_pylist() == ["NA", None]  # "NA" is not a null


def test_a_custom_value_that_does_not_fit_its_describe_type_is_refused():
    bad = CSV.replace('"1.5"', '"n/a"')
    with pytest.raises(DataValidationError, match=r"Score__c='n/a' is not a double"):
        _typed(bad)


def test_an_empty_results_set_has_the_requested_columns_and_no_rows():
    assert read_csv(b"", FIELDS).column_names == FIELDS
    assert read_csv(CSV.split("\n")[0].encode() + b"\n", FIELDS).num_rows == 0


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"threshold": -1}, "BULK_THRESHOLD"),
        ({"max_records": 0}, "BULK_MAX_RECORDS"),
        ({"timeout": 0}, "BULK_TIMEOUT"),
    ],
)
def test_bulk_settings_out_of_range_are_refused_naming_the_setting(settings, key):
    with pytest.raises(ConfigError, match=f"SOURCES__SALESFORCE__{key}"):
        BulkSettings(**settings)
