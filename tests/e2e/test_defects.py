"""Defects injected into the source systems are caught before anything is published.

The job runs against our own simulator, configured as *real* accounts (the job's demo
simulator would be a fresh one every run, with no switches to flip). Four nights share
one Dagster instance, in order:

1. a good night: everything passes, nothing is quarantined;
2. the bad night: every blocking defect at once, each planted where it is the only
   thing wrong (its own object, or its own field of the record a defect spoils):
   - a required field missing (a Salesforce contact without last name),
   - a status the lead contract does not know (a Salesforce lead),
   - a timestamp in the future (a Salesforce account created next year),
   - an orphan opportunity (its account does not exist),
   - a duplicate primary key (a second writer copied a lead row into the raw table;
     a source cannot do this, see 3),
   - a column type change (HubSpot sends a text where a number was: dlt's frozen
     schema contract refuses the load).
   One test per defect asserts that its own check (or the load) caught exactly that
   defect; together they assert that nothing else failed, that neither `dbt build`
   nor the publish step ran, and that the marts kept their content;
3. the tolerated night: a malformed email (quarantined, kept out of the marts) and a
   source sending a lead twice (dlt merges on the key, one row lands); the sources
   also re-send clean what the bad night spoiled (stamped later, as a real correction
   would be), so a failed night must leave nothing behind that fails this one;
4. the volume night: half the leads vanish from the source. With merge loading a
   shrinking source only shows on a full reload, so this night rebuilds a second
   warehouse under the same Dagster instance (which remembers the previous count).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from simulator import SimulatorConfig
from tests.e2e.support import (
    check_metadata,
    failed_checks,
    failed_steps,
    marts_fingerprint,
    run_nightly,
    sql,
    started_steps,
)

pytestmark = pytest.mark.e2e

CONFIG = SimulatorConfig(seed=23, people=60, months=3, anchor=date(2026, 10, 31))

# defect → (object it spoils, the check that must catch it, the expectation and column
# that must fail, what the failing sample must show)
BLOCKING = {
    "missing_field": (
        "Contact",
        "salesforce/contact:gx_salesforce__contact",
        ("expect_column_values_to_not_be_null", "last_name"),
        None,
    ),
    "unknown_stage": (
        "Lead",
        "salesforce/lead:gx_salesforce__lead",
        ("expect_column_values_to_be_in_set", "status_key"),
        "parked by a robot",
    ),
    "future_timestamp": (
        "Account",
        "salesforce/account:gx_salesforce__account",
        ("expect_column_values_to_be_between", "created_date"),
        "2027-",
    ),
    "orphan_opportunity": (
        "Opportunity",
        "salesforce/opportunity:gx_salesforce__opportunity",
        ("expect_column_values_to_be_in_set", "has_account"),
        "False",
    ),
}
DUPLICATE_CHECK = "salesforce/lead:gx_salesforce__lead"
TYPE_CHANGE_OBJECT = "companies"  # HubSpot: `numberofemployees` becomes "many"


def _failures(metadata: dict) -> dict[tuple[str, str], dict]:
    return {(f["expectation"], f["column"]): f for f in metadata["failures"]}


@pytest.fixture(scope="module")
def good_night(definitions, instance, home, sim):
    result = run_nightly(definitions, instance)
    assert result.success, failed_checks(result)
    return result, marts_fingerprint(home)


@pytest.fixture(scope="module")
def bad_night(good_night, definitions, instance, home, sim):
    """Every blocking defect in one night, an hour after the good one."""
    sim.advance_days(1 / 24)
    for defect, (obj, *_) in BLOCKING.items():
        sim.faults.defect(defect, object=obj)
    sim.faults.malformed_record(TYPE_CHANGE_OBJECT)
    sim.faults.touch(TYPE_CHANGE_OBJECT)  # the spoiled company is the newest: send it
    with duckdb.connect(str(home / "leadbridge.duckdb")) as con:
        # the oldest lead: no incremental load of this night touches it
        duplicated = con.execute(
            "insert into salesforce.lead select * from salesforce.lead "
            "order by created_date, id limit 1 returning id"
        ).fetchall()[0][0]
    result = run_nightly(definitions, instance)
    return result, duplicated, marts_fingerprint(home)


@pytest.fixture(scope="module")
def tolerated_night(bad_night, definitions, instance, home, sim):
    sim.faults.clear()
    sim.advance_days(1 / 24)
    for obj in {obj for obj, *_ in BLOCKING.values()} | {TYPE_CHANGE_OBJECT}:
        sim.faults.touch(obj)  # the source corrects what it sent
    with duckdb.connect(str(home / "leadbridge.duckdb")) as con:
        # the second writer's copy is removed again, as its owner would
        con.execute(
            "delete from salesforce.lead where _dlt_id in (select max(_dlt_id) "
            "from salesforce.lead group by id having count(*) > 1)"
        )
    sim.faults.defect("bad_email", object="contacts")
    sim.faults.defect("duplicate_key", object="Lead")
    return run_nightly(definitions, instance)


def test_a_clean_night_passes_every_check_and_quarantines_nothing(good_night, home):
    result, fingerprint = good_night
    assert "dim_person" in fingerprint and "fct_attribution" in fingerprint
    assert failed_checks(result) == {}
    assert check_metadata(result, "quarantine_summary")["quarantined_rows"] == 0
    volume = check_metadata(result, "volume_salesforce__lead")
    assert volume["row_count"] == sql(home, "select count(*) from salesforce.lead")[0][0]


def test_the_bad_night_stops_before_the_marts_and_fails_nothing_else(good_night, bad_night):
    result, _, marts_after = bad_night
    assert not result.success
    expected = {check for _, check, *_ in BLOCKING.values()} | {DUPLICATE_CHECK}
    assert set(failed_checks(result)) == expected
    # a failed blocking check fails its own step too; beyond those, only the load failed
    assert {s for s in failed_steps(result) if "_gx_" not in s} == {"ingest_hubspot"}
    started = started_steps(result)
    assert "dbt_build" not in started
    assert not any(step.startswith("published") for step in started)
    assert marts_after == good_night[1]


@pytest.mark.parametrize("defect", list(BLOCKING))
def test_each_blocking_defect_is_caught_by_its_own_check(defect, bad_night):
    result, _, _ = bad_night
    _, check, (expectation, column), sample = BLOCKING[defect]
    failures = _failures(failed_checks(result)[check])
    failure = failures[(expectation, column)]
    assert failure["failed_rows"] == 1, failure  # the one spoiled record, nothing else
    if sample is None:
        assert failure["sample"] == ["None"] or failure["sample"] == [], failure
    else:
        assert any(sample in value for value in failure["sample"]), failure


def test_a_duplicate_key_in_a_raw_table_is_caught_by_the_uniqueness_check(bad_night):
    result, duplicated, _ = bad_night
    failures = _failures(failed_checks(result)[DUPLICATE_CHECK])
    uniqueness = failures[("expect_column_values_to_be_unique", "id")]
    assert uniqueness["failed_rows"] == 2  # both copies
    assert uniqueness["sample"] == [duplicated, duplicated]


def test_a_column_type_change_fails_the_load_and_names_the_column(bad_night):
    result, _, _ = bad_night
    message = failed_steps(result)["ingest_hubspot"]
    assert "numberofemployees" in message, message
    assert "ingest_salesforce" not in failed_steps(result)


def test_the_tolerated_night_builds_with_the_malformed_email_quarantined_and_kept_out(
    tolerated_night, home
):
    result = tolerated_night
    assert result.success, (failed_checks(result), failed_steps(result))
    # the lead sent twice landed once
    assert sql(home, "select count(*) - count(distinct id) from salesforce.lead") == [(0,)]
    rows = sql(
        home,
        "select source_table, rule, reason, offending_value from quarantine.quarantined_rows",
    )
    assert [(t, r, v) for t, r, _, v in rows] == [
        ("hubspot.contacts", "email_format", "not-an-email")
    ]
    assert "is not an email address" in rows[0][2]
    summary = check_metadata(result, "quarantine_summary")
    assert summary["quarantined_rows"] == 1
    assert summary["quarantine"][0]["rule"] == "email_format"
    assert sql(
        home, "select count(*) from marts.dim_person where email_hash = sha256('not-an-email')"
    ) == [(0,)]
    # what the bad night spoiled is corrected in the warehouse
    unknown = sql(home, "select count(*) from salesforce.lead where status = 'Parked by a robot'")
    assert unknown == [(0,)]
    assert sql(home, "select count(*) from salesforce.contact where last_name is null") == [(0,)]


def test_a_sudden_half_of_the_leads_fails_the_volume_check(
    tolerated_night, definitions, instance, home, sim, tmp_path, monkeypatch
):
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "rebuilt.duckdb"))
    sim.faults.clear()
    sim.faults.defect("volume_drop", object="Lead")
    try:
        result = run_nightly(definitions, instance)
    finally:
        sim.faults.clear()
    failed = failed_checks(result)
    assert not result.success
    assert set(failed) == {"salesforce/lead:volume_salesforce__lead"}, failed
    volume = failed["salesforce/lead:volume_salesforce__lead"]
    assert volume["drop_share"] >= 0.5
    assert volume["previous_row_count"] > 2 * volume["row_count"] - 2
    started = started_steps(result)
    assert "dbt_build" not in started
    assert not any(step.startswith("published") for step in started)
