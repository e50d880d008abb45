"""Great Expectations suites run on a DuckDB table and report what failed."""

import json

import duckdb
import pytest

from orchestration.defs.quality import Suite, load_suites, validate

LEADS = """
create schema salesforce;
create table salesforce.lead as select * from (values
  ('00Q1', 'ana@example.com ', true,  '0031', 'Qualified', '0051', now()),
  ('00Q2', null,               false, null,   'Open',      '00G1', now()),
  ('00Q3', 'bo@example.com',   false, null,   'Working',   '0052', now())
) t(id, email, is_converted, converted_contact_id, status, owner_id, system_modstamp)
"""


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(LEADS)
    return path


def _suite(name: str) -> Suite:
    return next(s for s in load_suites() if s.name == name)


def test_every_suite_file_loads_with_its_expectations_understood_by_gx(tmp_path):
    suites = load_suites()
    assert {s.name for s in suites} >= {"hubspot__contacts", "salesforce__lead"}
    for suite in suites:
        assert suite.table == suite.name.replace("__", ".", 1)


def test_clean_leads_pass(warehouse):
    passed, metadata = validate(_suite("salesforce__lead"), warehouse)
    assert passed, metadata
    assert metadata["rows_checked"] == 3
    assert metadata["failed_rows"] == 0


def test_duplicate_key_bad_email_and_unlinked_conversion_fail_with_counts_and_samples(
    warehouse,
):
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into salesforce.lead values"
            " ('00Q1', 'not-an-email', true, null, 'Open', '0051', now())"
        )
    passed, metadata = validate(_suite("salesforce__lead"), warehouse)
    assert not passed
    failures = {f["expectation"] + ":" + f["column"]: f for f in metadata["failures"].data}
    assert failures["expect_column_values_to_be_unique:id"]["failed_rows"] == 2
    assert failures["expect_column_values_to_match_regex:email"]["sample"] == ["not-an-email"]
    assert failures["expect_column_values_to_not_be_null:converted_contact_id"]["failed_rows"] == 1
    assert metadata["failed_expectations"] == 3


def test_an_expectation_gx_does_not_know_is_an_error_not_a_silent_pass(tmp_path, warehouse):
    bad = tmp_path / "salesforce__lead.json"
    bad.write_text(
        json.dumps(
            {
                "name": "salesforce__lead",
                "expectations": [
                    {"type": "expect_column_to_be_lovely", "kwargs": {"column": "id"}}
                ],
            }
        )
    )
    with pytest.raises(ValueError, match="understood 0 of 1 expectations"):
        validate(Suite.load(bad), warehouse)
