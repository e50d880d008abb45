"""The nightly job end to end on the demo sources: load, check, build, publish for BI.

Four nights share one warehouse and one Dagster instance (module-scoped, in order):
1. the first loads every source record, builds every mart and publishes them;
2. the same night again, rebuilt on purpose (`rebuild: true`), run while a reader in
   another process keeps opening the published file: nothing new loads, and the
   published marts come out identical;
3. the same night once more, as the schedule would re-run it: the inputs are those of
   the publication in place, so nothing is built, checked again or published;
4. corrupt raw data (a duplicated lead): the build is skipped, and both the working
   marts and the published file stay exactly as they were, and the summary says so.

"The same night" is the run config's `as_of` for `dbt_build` (the marts' notion of now:
open SLAs, hours in the current stage, the KPI calendar's last day), as a scheduled run
takes it from its tick; without it two runs a minute apart legitimately differ in
`fct_sla.evaluated_at` and `fct_lifecycle_stages.hours_in_stage`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from datetime import date

import duckdb
import pytest

from ingestion.sources.salesforce.settings import OBJECTS
from leadbridge.content import content_hash
from leadbridge.publication import PUBLICATION_TABLE, read_publication, unpublished
from leadbridge.restatements import LEDGER
from orchestration.defs.publish import ALL_CHECKS, MART_KEYS
from orchestration.summary import summarize, summarize_run
from simulator import SimulatedApis, SimulatorConfig
from simulator.demo import TRADE_SHOW_FILE
from tests.e2e.support import (
    AS_OF,
    DEMO,
    RUN_CONFIG,
    marts_fingerprint,
    run_nightly,
    sql,
    started_steps,
)

pytestmark = pytest.mark.e2e

MARTS = {
    "dim_account",
    "dim_campaign",
    "dim_lead_contract",
    "dim_owner",
    "dim_person",
    "fct_attribution",
    "fct_funnel",
    "fct_identity_links",
    "fct_lead_events",
    "fct_lifecycle_stages",
    "fct_sla",
    "mart_handoff_queue",
    "mart_kpis_daily",
    "mart_sync_health",
    "mart_cohort_conversion",
    "mart_sql_survival",
    "mart_lead_velocity",
    "mart_pipeline_coverage",
}
MIN_READS = 20

# Runs in a separate process: opens the published file read-only in a loop until the
# stop file appears, checks every read against its own `_publication`, reports as JSON.
READER = r"""
import json, os, sys, time
import duckdb

path, ready, stop, out = sys.argv[1:5]
reads, errors, run_ids = 0, [], []
while not os.path.exists(stop):
    try:
        with duckdb.connect(path, read_only=True) as con:
            publication = con.execute(
                "select run_id, table_name, row_count from main._publication"
            ).fetchall()
            tables = {r[0] for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts'"
            ).fetchall()}
            counts = {
                t: con.execute(f'select count(*) from marts."{t}"').fetchall()[0][0]
                for t in tables
            }
        ids = {r[0] for r in publication}
        expected = {r[1]: r[2] for r in publication}
        if len(ids) != 1 or not expected or counts != expected:
            errors.append(f"inconsistent read: ids {ids}, {expected} vs {counts}")
        else:
            run_ids.append(ids.pop())
        reads += 1
    except Exception as error:
        errors.append(f"{type(error).__name__}: {error}")
    if reads == 1 and not os.path.exists(ready):
        open(ready, "w").close()
    time.sleep(0.25)  # leave the CPU to the run
with open(out, "w") as handle:
    json.dump({"reads": reads, "errors": errors[:20], "error_count": len(errors),
               "run_ids": run_ids}, handle)
"""


@pytest.fixture(scope="module")
def world():
    """What the demo APIs expose, from the simulator itself (not from the warehouse)."""
    config = SimulatorConfig(
        seed=DEMO["demo_seed"],
        people=DEMO["demo_people"],
        months=DEMO["demo_months"],
        anchor=date(2026, 10, 31),
    )
    return SimulatedApis(config)


REBUILD_CONFIG = {
    **RUN_CONFIG,
    "ops": {"dbt_build": {"config": {**RUN_CONFIG["ops"]["dbt_build"]["config"], "rebuild": True}}},
}


def _run(definitions, instance, home, run_config=RUN_CONFIG):
    result = run_nightly(definitions, instance, run_config)
    return result, summarize(result, home / "leadbridge.duckdb", 0)


def _published(home):
    return home / "bi" / "leadbridge_marts.duckdb"


def _tables(con, catalog):
    return sorted(
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = ? and table_schema = 'marts'",
            [catalog],
        ).fetchall()
    )


def _differing_rows(con, left, right, table, columns="*"):
    """Rows of `left.marts.table` and `right.marts.table` that the other lacks (multiset)."""
    a, b = f'{left}.marts."{table}"', f'{right}.marts."{table}"'
    return con.execute(
        f"select (select count(*) from (select {columns} from {a} except all "
        f"select {columns} from {b})) + (select count(*) from (select {columns} from {b} "
        f"except all select {columns} from {a}))"
    ).fetchall()[0][0]


def _columns(con, catalog, table):
    return [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_catalog = ? "
            "and table_schema = 'marts' and table_name = ? order by ordinal_position",
            [catalog, table],
        ).fetchall()
    ]


def _file_fingerprint(path):
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size, hashlib.sha256(path.read_bytes()).digest()


# Two ordinary broken exports in the drop folder beside the demo's good one: an Excel
# "CSV" in Windows-1252, and a row whose quote never closes.
BROKEN_DROPS = {
    "webinar_excel.csv": "email,first_name,company\nrené@example.com,René,Café Müller\n".encode(
        "cp1252"
    ),
    "expo_open_quote.csv": b'email,company\nana@example.com,"Acme\nbo@example.com,Beta\n',
}


@pytest.fixture(scope="module")
def first_night(definitions, instance, home):
    (home / "inbox").mkdir(exist_ok=True)
    for name, data in BROKEN_DROPS.items():
        (home / "inbox" / name).write_bytes(data)
    return _run(definitions, instance, home)


@pytest.fixture(scope="module")
def second_night(first_night, definitions, instance, home):
    """The same night again, while another process keeps reading the published file."""
    marts_before = marts_fingerprint(home)
    copy = home / "first_publication.duckdb"
    shutil.copyfile(_published(home), copy)
    ready, stop, out = home / "reader.ready", home / "reader.stop", home / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(_published(home)), str(ready), str(stop), str(out)]
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert reader.poll() is None, "the reader died before its first read"
            assert time.monotonic() < deadline, "the reader never read the published file"
            time.sleep(0.05)
        result, summary = _run(definitions, instance, home, REBUILD_CONFIG)
        time.sleep(0.5)  # a few reads of the new publication
    finally:
        stop.touch()
        reader.wait(timeout=60)
    return result, summary, copy, json.loads(out.read_text()), marts_before


# --- the first night -------------------------------------------------------------------


def test_the_first_night_loads_every_source_record_and_builds_every_mart(first_night, home, world):
    result, summary = first_night
    assert result.success, summary.render()
    assert summary.failed_steps == [] and summary.checks_failed == []

    expected = {
        f"salesforce.{t.name}": len(world.expected(f"salesforce.{o}", include_deleted=True))
        for o, t in OBJECTS.items()
    }
    expected["hubspot.contacts"] = len(world.expected("hubspot.contacts", include_deleted=True))
    expected["hubspot.form_submissions"] = len(world.expected("hubspot.form_submissions"))
    expected["hubspot.email_events"] = len(world.expected("hubspot.email_events"))
    loaded = {t: sql(home, f"select count(*) from {t}")[0][0] for t in expected}
    assert loaded == expected
    assert {t: summary.rows_loaded[t] for t in expected} == expected

    marts = {
        r[0]
        for r in sql(
            home, "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    }
    assert marts >= MARTS
    assert len([m for m in summary.models_built if m.startswith("marts/")]) >= len(MARTS)


def test_the_marts_reconcile_with_the_raw_data(first_night, home):
    people = sql(home, "select count(*) from marts.dim_person")[0][0]
    assert people > 0
    assert sql(home, "select count(*) from marts.fct_funnel")[0][0] == people
    # every raw form submission is one event on the unified timeline
    submissions = sql(home, "select count(*) from hubspot.form_submissions")[0][0]
    form_events = sql(
        home, "select count(*) from marts.fct_lead_events where event_type = 'form_submission'"
    )[0][0]
    assert form_events == submissions > 0
    # a campaign run in both systems under one name is one campaign
    names = sql(
        home,
        "select count(distinct lower(trim(name))) from (select hs_name as name "
        "from hubspot.campaigns union all select name from salesforce.campaign)",
    )
    assert sql(home, "select count(*) from marts.dim_campaign") == names
    # every event row names its source record, once
    unnamed = sql(
        home,
        "select count(*) from marts.fct_lead_events "
        "where source_system is null or source_record_id is null",
    )
    assert unnamed == [(0,)]
    duplicated = sql(home, "select count(*) - count(distinct event_id) from marts.fct_lead_events")
    assert duplicated == [(0,)]


def test_broken_drop_files_are_set_aside_and_the_night_publishes_the_rest(first_night, home):
    result, summary = first_night
    assert result.success and summary.published is not None, summary.render()
    rejected = home / "inbox" / "rejected"
    assert sorted(p.name for p in rejected.iterdir()) == sorted(
        [*BROKEN_DROPS, *(f"{name}.reason.txt" for name in BROKEN_DROPS)]
    )
    assert not any((home / "inbox" / name).exists() for name in BROKEN_DROPS)
    reasons = {n: (rejected / f"{n}.reason.txt").read_text() for n in BROKEN_DROPS}
    assert "Windows-1252" in reasons["webinar_excel.csv"]
    assert "quote" in reasons["expo_open_quote.csv"]
    # none of their rows, every row of the good export
    loaded = sql(home, "select file_name, count(*) from files.list_members group by 1")
    with (home / "inbox" / TRADE_SHOW_FILE).open() as handle:
        assert loaded == [(TRADE_SHOW_FILE, sum(1 for _ in handle) - 1)]
    lines = summary.render().splitlines()
    for name in BROKEN_DROPS:
        assert any(line.strip().startswith(f"set aside {name}: ") for line in lines), lines
    assert summary.tags()["leadbridge/rejected_files"] == "2"


def test_every_lead_conversion_is_an_sql_and_the_kpis_count_the_funnel_month_by_month(
    first_night, home
):
    """A conversion creates its opportunity at the same instant: the SQL is still entered."""
    result, summary = first_night
    assert result.success, summary.render()
    converted = sql(
        home,
        "select count(distinct person_id) from marts.fct_lead_events "
        "where event_type = 'lifecycle_stage_entered' and canonical_stage = 'sql' "
        "and event_detail like 'sql_on_lead_conversion%'",
    )[0][0]
    leads = sql(home, "select count(*) from salesforce.lead where is_converted")[0][0]
    assert 0 < converted <= leads
    with_sql_date = sql(
        home, "select count(*) from marts.fct_funnel where first_sql_at is not null"
    )
    assert with_sql_date[0][0] >= converted
    kpis = sql(
        home,
        "select kpi_month, sum(mqls), sum(sqls), sum(mqls_converted_to_sql) "
        "from marts.mart_kpis_daily group by 1 having sum(mqls) + sum(sqls) > 0 order by 1",
    )
    funnel = sql(
        home,
        """
        with months as (
            select date_trunc('month', first_mql_at) as kpi_month, 1 as mql, 0 as sql_,
                   case when converted_mql_to_sql then 1 else 0 end as conversion
            from marts.fct_funnel where first_mql_at < '{night}'
            union all
            select date_trunc('month', reached_sql_at), 0, 1, 0
            from marts.fct_funnel where reached_sql_at < '{night}'
        )
        select cast(kpi_month as date), sum(mql), sum(sql_), sum(conversion)
        from months group by 1 order by 1""".format(night=AS_OF[:10] + " 23:59:59.999"),
    )
    assert kpis == funnel
    assert sum(row[2] for row in kpis) > 0 and sum(row[3] for row in kpis) > 0


def test_meetings_and_open_tasks_after_the_night_are_plans_not_history(first_night, home):
    """The reps' calendar holds meetings that have not started and open tasks due later
    (the simulator books some every day): loaded raw, but no event, no touch, and the
    blocking "not in the future" suite on the timeline passes against the night."""
    result, summary = first_night
    assert result.success, summary.render()
    night = AS_OF
    meetings = sql(home, f"select id from salesforce.event where start_date_time > '{night}+00'")
    open_tasks = sql(
        home,
        "select id from salesforce.task where completed_date_time is null "
        f"and activity_date >= '{night[:10]}'",
    )
    assert meetings and open_tasks
    planned = [row[0] for row in meetings + open_tasks]
    in_history = sql(
        home,
        "select count(*) from marts.fct_lead_events where source_record_id in "
        f"({', '.join(repr(i) for i in planned)})",
    )
    assert in_history == [(0,)]
    assert sql(
        home, f"select count(*) from marts.fct_lead_events where occurred_at > '{night}'"
    ) == [(0,)]
    check = "marts/fct_lead_events:gx_marts__fct_lead_events"
    assert check in summary.checks_passed
    # each plan with a known lead or contact is the person's scheduled touch
    people = "(select id from salesforce.lead union select id from salesforce.contact)"
    expected = sql(
        home,
        f"select id from salesforce.event where start_date_time > '{night}+00' "
        f"and not is_deleted and who_id in {people} union "
        "select id from salesforce.task where completed_date_time is null "
        f"and activity_date >= '{night[:10]}' and not is_deleted and who_id in {people}",
    )
    scheduled = sql(home, "select source_record_id from intermediate.int_sales__scheduled_touches")
    assert sorted(scheduled) == sorted(expected) and expected


def test_the_published_file_holds_exactly_the_working_marts(first_night, home):
    """Every mart, less what dbt marks `publish: false` (the semantic layer's time spine,
    fct_lead_events' build fingerprint), row for row."""
    result, summary = first_night
    assert result.success, summary.render()
    published = _published(home)
    hidden = unpublished()
    marts = sorted(key.path[-1] for key in MART_KEYS)
    kept = [t for t in marts if hidden.keeps("marts", t)]
    assert set(marts) - set(kept) == {"metricflow_time_spine"}
    with duckdb.connect(str(published), read_only=True) as con:
        con.execute(f"attach '{home / 'leadbridge.duckdb'}' as working (read_only)")
        # every dbt model of group `marts` is a table there, and only the kept ones here,
        # with the restatement ledger the publication itself carries
        assert _tables(con, "working") == marts
        assert _tables(con, "leadbridge_marts") == sorted([*kept, LEDGER])
        for table in kept:
            columns = _columns(con, "leadbridge_marts", table)
            assert columns == hidden.published_columns(
                "marts", table, _columns(con, "working", table)
            )
            quoted = ", ".join(f'"{c}"' for c in columns)
            assert _differing_rows(con, "leadbridge_marts", "working", table, quoted) == 0, table
        assert "build_fingerprint" in _columns(con, "working", "fct_lead_events")
        assert "build_fingerprint" not in _columns(con, "leadbridge_marts", "fct_lead_events")
        published_hashes = {
            t: content_hash(con, "marts", t, "leadbridge_marts") for t in [*kept, LEDGER]
        }
        working_rows = {
            t: con.execute(f'select count(*) from working.marts."{t}"').fetchall()[0][0]
            for t in kept
        }
        distinct_ids = con.execute(
            f"select count(distinct run_id) from main.{PUBLICATION_TABLE}"
        ).fetchall()[0][0]
    publication = read_publication(published)
    assert publication.run_id == result.run_id and distinct_ids == 1
    # the first night has nothing to restate
    assert publication.rows == {**working_rows, LEDGER: 0}
    assert working_rows["dim_person"] == working_rows["fct_funnel"] > 0
    assert publication.hashes == published_hashes
    # the file was swapped in whole, read-only: no temp file, no WAL left beside it
    assert sorted(p.name for p in published.parent.iterdir()) == ["leadbridge_marts.duckdb"]
    assert published.stat().st_mode & 0o777 == 0o444
    assert summary.published is not None and summary.published["tables"] == len(kept) + 1
    total = sum(working_rows.values())
    assert f"Published: {published} ({len(kept) + 1} tables, {total} rows" in summary.render()


def test_the_publication_carries_the_nights_checks_source_loads_and_quarantine(first_night, home):
    """The Data trust page's record: every check on the way, the blocking ones passed in
    this run; a load time per source table; the quarantine as the working schema has it."""
    result, summary = first_night
    assert result.success, summary.render()
    with duckdb.connect(str(_published(home)), read_only=True) as con:
        con.execute(f"attach '{home / 'leadbridge.duckdb'}' as working (read_only)")
        checks = con.execute(
            "select asset, check_name, status, blocking, run_id from main._publication_checks"
        ).fetchall()
        loads = dict(
            con.execute(
                "select source_table, last_loaded_at from main._publication_sources"
            ).fetchall()
        )
        quarantine = con.execute(
            "select source_table, rule, row_count from main._publication_quarantine"
        ).fetchall()
        quarantined = con.execute(
            "select source_table, rule, count(*) from working.quarantine.quarantined_rows "
            "group by 1, 2"
        ).fetchall()
    assert len(checks) == len(ALL_CHECKS) > 100
    blocking = [c for c in checks if c[3]]
    assert blocking and all(c[2] == "passed" and c[4] == result.run_id for c in blocking)
    assert loads["hubspot.contacts"] is not None and loads["salesforce.lead"] is not None
    assert sorted(quarantine) == sorted(quarantined)


def test_the_summary_reports_the_write_back_plan_apart_from_the_models(first_night):
    result, summary = first_night
    assert result.success, summary.render()
    assert summary.activation is not None and "activation/plan" not in summary.models_built
    lines = summary.render().splitlines()
    line = next(x for x in lines if x.startswith("CRM write-back plan"))
    assert f"{summary.activation['writes']} writes" in line
    assert summary.activation_apply is not None and summary.activation_apply["applied"] == "none"
    assert "plan only, nothing written" in lines[lines.index(line) + 1]


def test_the_ui_shows_the_run_summary_as_run_tags(first_night, instance):
    """The daemon's sensor tags a finished run with what `make run` prints."""
    import dagster as dg

    from orchestration.defs.run_summary import nightly_summary_on_success

    result, summary = first_night
    success = next(
        record.dagster_event
        for record in instance.all_logs(result.run_id)
        if record.dagster_event and record.dagster_event.event_type_value == "PIPELINE_SUCCESS"
    )
    context = dg.build_run_status_sensor_context(
        sensor_name="nightly_summary_on_success",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
        dagster_event=success,
    )
    nightly_summary_on_success(context)
    tags = instance.get_run_by_id(result.run_id).tags
    expected = summary.tags()
    assert {key: tags.get(key) for key in expected} == expected
    assert tags["leadbridge/published"] == "yes" and tags["leadbridge/checks_failed"] == "none"
    assert int(tags["leadbridge/rows_loaded"]) == sum(summary.rows_loaded.values()) > 0


# --- the same night again --------------------------------------------------------------


def test_the_same_night_again_loads_nothing_new_and_changes_no_mart(second_night, home):
    result, summary, _, _, marts_before = second_night
    assert result.success, summary.render()
    # lead history is re-read over its look-back window and merged, not added
    assert {
        t: n for t, n in summary.rows_loaded.items() if n and t != "salesforce.lead_history"
    } == {}
    assert marts_fingerprint(home) == marts_before


def test_a_second_run_of_the_same_night_publishes_identical_marts(second_night, home):
    result, summary, first_copy, _, _ = second_night
    assert result.success, summary.render()
    first, second = read_publication(first_copy), read_publication(_published(home))
    assert first.run_id != second.run_id == result.run_id
    # every mart but the time spine, and the restatement ledger: the same night again
    # restates nothing
    assert second.hashes == first.hashes and len(second.hashes) == len(MART_KEYS)
    assert second.rows == first.rows and second.rows[LEDGER] == 0
    with duckdb.connect(str(_published(home)), read_only=True) as con:
        con.execute(f"attach '{first_copy}' as first (read_only)")
        assert _tables(con, "first") == _tables(con, "leadbridge_marts")
        differing = {
            t: _differing_rows(con, "first", "leadbridge_marts", t) for t in _tables(con, "first")
        }
    assert differing == dict.fromkeys(differing, 0)


def test_a_reader_never_sees_an_error_or_a_half_published_file_during_a_run(
    first_night, second_night
):
    result, _, _, report, _ = second_night
    assert report["error_count"] == 0, report["errors"]
    assert report["reads"] >= MIN_READS
    assert len(report["run_ids"]) == report["reads"]
    # the swap happened while it read: first the old publication, then the new one
    old, new = first_night[0].run_id, result.run_id
    seen = report["run_ids"]
    swapped_at = seen.index(new)
    assert swapped_at > 0 and set(seen[:swapped_at]) == {old} and set(seen[swapped_at:]) == {new}


# --- the same night once more, not forced: nothing to do --------------------------------


@pytest.fixture(scope="module")
def third_night(second_night, definitions, instance, home):
    publication_before = _file_fingerprint(_published(home))
    marts_before = marts_fingerprint(home)
    started = time.monotonic()
    result = run_nightly(definitions, instance, RUN_CONFIG)
    seconds = time.monotonic() - started
    summary = summarize_run(instance, result.run_id, home / "leadbridge.duckdb")
    return result, summary, publication_before, marts_before, seconds


def test_unchanged_inputs_build_nothing_and_the_publication_stands(second_night, third_night, home):
    result, summary, publication_before, marts_before, seconds = third_night
    assert result.success, summary.render()
    second_run = second_night[0].run_id
    assert summary.unchanged_since == second_run
    assert summary.models_built == [] and summary.published is None
    started = started_steps(result)
    assert "dbt_build" in started and "published__marts" not in started
    assert not {key for key in started if "_gx_marts__" in key}  # mart suites: nothing new
    assert _file_fingerprint(_published(home)) == publication_before
    assert read_publication(_published(home)).run_id == second_run
    assert marts_fingerprint(home) == marts_before
    assert summary.tags()["leadbridge/published"] == "unchanged"
    assert f"Unchanged: the night's inputs are those of run {second_run}" in summary.render()
    print(f"\nunchanged night: {seconds:.1f} s")


def test_raw_checks_on_unchanged_tables_stand_on_the_pass_they_had(second_night, third_night):
    result, _, _, _, _ = third_night
    evaluations = {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    raw_gx = {
        name: ev
        for name, ev in evaluations.items()
        if name.startswith("gx_") and "marts" not in name
    }
    assert len(raw_gx) == 9
    assert all(evaluation.passed for evaluation in raw_gx.values())
    # the latest pass on the same content: the second night's (itself standing on the first)
    since = {name: ev.metadata["unchanged_since_run"].value for name, ev in raw_gx.items()}
    assert since == dict.fromkeys(raw_gx, second_night[0].run_id)
    # the mart suites had nothing new to check
    assert not [name for name in evaluations if name.startswith("gx_marts__")]


# --- a bad night -----------------------------------------------------------------------


def test_corrupt_raw_data_stops_the_build_and_leaves_marts_and_publication_alone(
    second_night, third_night, definitions, instance, home
):
    published = _published(home)
    publication_before = _file_fingerprint(published)
    marts_before = marts_fingerprint(home)
    with duckdb.connect(str(home / "leadbridge.duckdb")) as con:
        con.execute("insert into salesforce.lead select * from salesforce.lead limit 1")

    result, summary = _run(definitions, instance, home)

    assert not result.success
    assert [name for name, _ in summary.checks_failed] == ["salesforce/lead:gx_salesforce__lead"]
    failure = dict(summary.checks_failed)["salesforce/lead:gx_salesforce__lead"]
    assert failure["failed_rows"] == 2  # the duplicated id, both copies
    started = started_steps(result)
    assert "ingest_salesforce" in started
    assert "dbt_build" not in started and "published__marts" not in started
    assert marts_fingerprint(home) == marts_before
    assert _file_fingerprint(published) == publication_before
    in_place = read_publication(published)
    assert in_place.run_id == second_night[0].run_id
    assert summary.published is None
    from_instance = summarize_run(instance, result.run_id, home / "leadbridge.duckdb")
    assert from_instance.tags() == summary.tags()
    assert summary.tags()["leadbridge/published"] == "no"
    assert summary.tags()["leadbridge/checks_failed"] == "salesforce/lead:gx_salesforce__lead"
    assert (
        f"NOT published: yesterday's marts at {published} stay in place "
        f"(published {in_place.published_at:%Y-%m-%d %H:%M} UTC "
        f"by run {second_night[0].run_id})"
    ) in summary.render()
