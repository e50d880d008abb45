"""Defects injected into the source systems are caught before anything is published.

The job runs against our own simulator, configured as *real* accounts (the job's demo
simulator would be a fresh one every run, with no switches to flip). One good night
first; then, on the same warehouse and Dagster instance, one night per defect. Each
defect spoils the newest record of an object and stamps it modified, so the incremental
connectors load it. A defect either stops the run (blocking checks: the dbt build and
anything after it does not run, the marts keep their content) or, where the lead
contract tolerates it, the night succeeds with the offending row in
`quarantine.quarantined_rows` and the bad value kept out of the marts.

Every night after a defect, the sources re-send the spoiled records clean (stamped later,
as a real correction would be): a failed night must leave nothing behind that fails the
next one, and the tolerated night, which follows all blocking cases, must build. The
volume case rebuilds a second warehouse under the same Dagster instance (with merge
loading, a source that shrinks only shows in the raw count on a full reload).
"""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import pytest

from ingestion.simulator import SimulatedApis, SimulatorConfig

pytestmark = pytest.mark.slow  # minutes long: `make test-slow`, not in `make test`

CONFIG = SimulatorConfig(seed=23, people=60, months=3, anchor=date(2026, 10, 31))


@pytest.fixture(scope="module")
def sim():
    apis = SimulatedApis.start(CONFIG)
    yield apis
    apis.stop()


@pytest.fixture(scope="module")
def home(tmp_path_factory, sim):
    path = tmp_path_factory.mktemp("defects")
    (path / "dagster_home").mkdir()
    (path / "inbox").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADBRIDGE_WAREHOUSE", str(path / "leadbridge.duckdb"))
        patch.setenv("DAGSTER_HOME", str(path / "dagster_home"))
        patch.setenv("LEADBRIDGE_DLT_PROGRESS", "off")
        patch.setenv("SOURCES__HUBSPOT__BASE_URL", sim.hubspot_base_url)
        patch.setenv("SOURCES__HUBSPOT__ACCESS_TOKEN", sim.token)
        patch.setenv("SOURCES__SALESFORCE__INSTANCE_URL", sim.salesforce_instance_url)
        patch.setenv("SOURCES__SALESFORCE__ACCESS_TOKEN", sim.token)
        patch.setenv("SOURCES__FILES__DROP_DIR", str(path / "inbox"))
        yield path


def _run(definitions):
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        return definitions.resolve_job_def("nightly").execute_in_process(
            instance=instance, raise_on_error=False
        )


def _sql(home, sql):
    with duckdb.connect(str(home / "leadbridge.duckdb"), read_only=True) as con:
        return con.sql(sql).fetchall()


def marts_fingerprint(home) -> dict[str, str]:
    """A content hash of every mart (order-independent)."""
    tables = [
        r[0]
        for r in _sql(
            home,
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' order by 1",
        )
    ]
    out = {}
    for table in tables:
        rows = sorted(repr(r) for r in _sql(home, f"select * from marts.{table}"))
        out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def _started(result) -> set[str]:
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}


def _failed_checks(result) -> dict[str, dict]:
    out = {}
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.event_specific_data
        if not evaluation.passed:
            key = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            out[key] = {k: v.value for k, v in evaluation.metadata.items()}
    return out


def _check_metadata(result, check_name: str) -> dict:
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.check_name == check_name:
                return {k: v.value for k, v in evaluation.metadata.items()}
    raise AssertionError(f"no evaluation of {check_name}")


@pytest.fixture(scope="module")
def good_night(definitions, home, sim):
    result = _run(definitions)
    assert result.success, _failed_checks(result)
    return result, marts_fingerprint(home)


def test_a_clean_night_passes_every_check_and_quarantines_nothing(good_night, home):
    result, fingerprint = good_night
    assert "dim_person" in fingerprint and "fct_attribution" in fingerprint
    assert _failed_checks(result) == {}
    assert _check_metadata(result, "quarantine_summary")["quarantined_rows"] == 0
    volume = _check_metadata(result, "volume_salesforce__lead")
    assert volume["row_count"] == _sql(home, "select count(*) from salesforce.lead")[0][0]


# defect → (object it spoils, the check that must fail). Order matters only for speed.
BLOCKING = {
    "missing_field": ("Lead", "salesforce/lead:gx_salesforce__lead"),
    "unknown_stage": ("Opportunity", "salesforce/opportunity:gx_salesforce__opportunity"),
    "future_timestamp": ("Lead", "salesforce/lead:gx_salesforce__lead"),
    "orphan_opportunity": ("Opportunity", "salesforce/opportunity:gx_salesforce__opportunity"),
    "malformed_record": ("Opportunity", None),  # a column type change: dlt refuses the load
}
# objects whose newest record an earlier case spoiled: the next night re-sends them clean
SPOILED: set[str] = set()


def _next_night(sim) -> None:
    """An hour later; the sources correct what earlier cases spoiled (re-sent, stamped
    later). A failed night must leave nothing behind that fails the next one."""
    sim.faults.clear()
    sim.advance_days(1 / 24)
    for obj in SPOILED:
        sim.faults.touch(obj)


def _publish_ran(result) -> bool:
    return any(step.startswith("published") for step in _started(result))


@pytest.mark.parametrize("defect", list(BLOCKING))
def test_a_blocking_defect_stops_the_night_before_the_marts(
    defect, good_night, definitions, home, sim
):
    obj, check = BLOCKING[defect]
    before = marts_fingerprint(home)
    _next_night(sim)
    if defect == "malformed_record":
        sim.faults.malformed_record(obj)
        sim.faults.touch(obj)  # the spoiled record is the newest: send it again
    else:
        sim.faults.defect(defect, object=obj)
    SPOILED.add(obj)
    result = _run(definitions)
    failed = _failed_checks(result)
    assert not result.success
    assert "dbt_build" not in _started(result) and not _publish_ran(result)
    if check is not None:
        assert set(failed) == {check}, failed
        assert failed[check]["failed_rows"] >= 1
        assert failed[check]["failures"], failed[check]
    else:
        assert failed == {}  # the load itself failed
    assert marts_fingerprint(home) == before


def test_duplicate_keys_in_a_raw_table_stop_the_night(good_night, definitions, home, sim):
    """A source cannot produce these (dlt merges on the key, see the tolerated night):
    another writer of the raw table can, and the blocking uniqueness check stops it."""
    before = marts_fingerprint(home)
    _next_night(sim)
    with duckdb.connect(str(home / "leadbridge.duckdb")) as con:
        con.execute("insert into hubspot.contacts select * from hubspot.contacts limit 1")
    try:
        result = _run(definitions)
        failed = _failed_checks(result)
        assert not result.success
        assert set(failed) == {"hubspot/contacts:gx_hubspot__contacts"}, failed
        uniqueness = [
            f
            for f in failed["hubspot/contacts:gx_hubspot__contacts"]["failures"]
            if f["expectation"] == "expect_column_values_to_be_unique"
        ]
        assert uniqueness[0]["failed_rows"] == 2
        assert "dbt_build" not in _started(result) and not _publish_ran(result)
        assert marts_fingerprint(home) == before
    finally:
        with duckdb.connect(str(home / "leadbridge.duckdb")) as con:
            con.execute(
                "delete from hubspot.contacts where _dlt_id in (select max(_dlt_id) "
                "from hubspot.contacts group by id having count(*) > 1)"
            )


def test_tolerated_defects_pass_with_the_malformed_email_quarantined_and_kept_out(
    good_night, definitions, home, sim
):
    """Also the night after all the blocking cases: it must build."""
    _next_night(sim)
    sim.faults.defect("bad_email", object="contacts")
    # the API sends a lead twice: dlt merges on the key, one row lands
    sim.faults.defect("duplicate_key", object="Lead")
    SPOILED.update({"contacts", "Lead"})
    result = _run(definitions)
    assert result.success, _failed_checks(result)
    assert _sql(home, "select count(*) - count(distinct id) from salesforce.lead") == [(0,)]
    rows = _sql(
        home,
        "select source_table, rule, reason, offending_value from quarantine.quarantined_rows",
    )
    assert [(t, r, v) for t, r, _, v in rows] == [
        ("hubspot.contacts", "email_format", "not-an-email")
    ]
    assert "is not an email address" in rows[0][2]
    summary = _check_metadata(result, "quarantine_summary")
    assert summary["quarantined_rows"] == 1
    assert summary["quarantine"][0]["rule"] == "email_format"
    assert _sql(home, "select count(*) from marts.dim_person where email = 'not-an-email'") == [
        (0,)
    ]


def test_a_sudden_half_of_the_leads_fails_the_volume_check(
    good_night, definitions, home, sim, tmp_path, monkeypatch
):
    """With merge loading a shrinking source only shows on a full reload: rebuild the
    warehouse from scratch (same Dagster instance, so the previous count is known)."""
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "rebuilt.duckdb"))
    sim.faults.clear()
    sim.faults.defect("volume_drop", object="Lead")
    try:
        result = _run(definitions)
    finally:
        sim.faults.clear()
    failed = _failed_checks(result)
    assert not result.success
    assert set(failed) == {"salesforce/lead:volume_salesforce__lead"}, failed
    volume = failed["salesforce/lead:volume_salesforce__lead"]
    assert volume["drop_share"] >= 0.5
    assert volume["previous_row_count"] > 2 * volume["row_count"] - 2
    assert "dbt_build" not in _started(result) and not _publish_ran(result)
