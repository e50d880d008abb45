"""The dbt project on a hand-written scenario: exact identity links, stage dates, SLA
outcomes, attribution credit, funnel flags and KPIs, plus a contract change.

The raw data is tests/fixtures/raw_scenario.py (nine people with known histories). dbt
runs once per module into a temp DuckDB (`dbt build`, every test green); the contract
change and the incremental check run against copies of that warehouse.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from leadbridge.paths import DBT_PROJECT_DIR
from tests.fixtures.raw_scenario import (
    A1,
    AS_OF,
    C1,
    C8,
    L1,
    L3,
    L3B,
    L4,
    L5,
    O1,
    SC1,
    SC2,
    U1,
    create_raw_scenario,
    sfid,
)
from tests.support.dbt_scenario import (
    ALICE,
    BOB,
    CAROL,
    DAN,
    DAN_STATUS,
    ERIN,
    FIONA,
    FRANK,
    GINA,
    INFO_HUBSPOT,
    LATE_HISTORY_ID,
    NEXT_NIGHT,
    NEXT_NIGHT_CHANGES,
    between_changes_and,
    incremental_tables,
    run_dbt,
)
from tests.support.warehouse import duckdb_query as query

pytestmark = pytest.mark.integration


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    work = tmp_path_factory.mktemp("dbt_scenario")
    warehouse = work / "scenario.duckdb"
    create_raw_scenario(warehouse)
    output = run_dbt(["build"], warehouse, work)
    assert "ERROR=0" in output and "WARN=0" in output
    # the dbt unit tests run here (the nightly job leaves them out)
    results = json.loads((work / "target" / "run_results.json").read_text())["results"]
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    ran = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert ran == {unique_id: "pass" for unique_id in manifest["unit_tests"]}, ran
    assert len(ran) == 31
    yield warehouse, work


def test_build_runs_every_model_and_test_green(built):
    warehouse, _ = built
    tables = dict(
        query(
            warehouse,
            "select table_name, estimated_size from duckdb_tables() where schema_name = 'marts'",
        )
    )
    assert {
        "dim_person",
        "dim_account",
        "dim_campaign",
        "dim_owner",
        "dim_lead_contract",
        "fct_lead_events",
        "fct_lifecycle_stages",
        "fct_funnel",
        "fct_sla",
        "fct_attribution",
        "fct_identity_links",
        "mart_kpis_daily",
        "mart_handoff_queue",
        "mart_sync_health",
        "mart_cohort_conversion",
        "mart_sql_survival",
        "mart_lead_velocity",
        "mart_pipeline_coverage",
        "metricflow_time_spine",
    } <= set(tables)
    restricted = {
        row[0]
        for row in query(
            warehouse, "select table_name from duckdb_tables() where schema_name = 'restricted'"
        )
    }
    assert restricted == {"person_contacts", "owner_contacts", "handoff_queue_contacts"}
    schemas = {
        row[0]
        for row in query(warehouse, "select distinct table_schema from information_schema.tables")
    }
    assert {"staging", "intermediate", "marts", "restricted", "lead_contract"} <= schemas


def test_identity_links_record_their_rule(built):
    warehouse, _ = built
    links = set(
        query(
            warehouse,
            """
        select person_id, link_rule, record_type_a, record_id_a, record_type_b, record_id_b
        from marts.fct_identity_links""",
        )
    )
    assert links == {
        (ALICE, "salesforce_lead_converted", "salesforce_lead", L1, "salesforce_contact", C1),
        (ALICE, "hubspot_salesforce_lead_id", "hubspot_contact", "101", "salesforce_lead", L1),
        (
            ALICE,
            "hubspot_salesforce_contact_id",
            "hubspot_contact",
            "101",
            "salesforce_contact",
            C1,
        ),
        (BOB, "hubspot_merged_contact", "hubspot_contact", "201", "hubspot_contact", "202"),
        (CAROL, "salesforce_master_record", "salesforce_lead", L3B, "salesforce_lead", L3),
        (CAROL, "email_normalized", "hubspot_contact", "301", "salesforce_lead", L3),
        (DAN, "hubspot_salesforce_lead_id", "hubspot_contact", "401", "salesforce_lead", L4),
        (ERIN, "hubspot_salesforce_lead_id", "hubspot_contact", "501", "salesforce_lead", L5),
    }


def test_people_are_unified_and_ambiguous_emails_are_not_guessed(built):
    warehouse, _ = built
    people = {
        row[0]: row[1:]
        for row in query(
            warehouse,
            """
        select person_id, hubspot_contact_id, salesforce_lead_id, salesforce_contact_id,
               email_hash, current_stage, has_ambiguous_email
        from marts.dim_person""",
        )
    }
    assert set(people) == {ALICE, BOB, CAROL, DAN, ERIN, INFO_HUBSPOT, FRANK, FIONA, GINA}
    assert people[ALICE] == ("101", L1, C1, sha256("alice@acme.com"), "customer", False)
    # live survivor; "Carol@Gamma.COM " is hashed in its normalized form
    assert people[BOB] == ("201", None, None, sha256("bob@beta.io"), "lead", False)
    assert people[CAROL] == ("301", L3, None, sha256("carol@gamma.com"), "sal", False)
    assert people[ERIN][4] == "mql"
    assert people[GINA] == (None, None, C8, sha256("gina@acme.com"), "opportunity", False)
    for ambiguous in (INFO_HUBSPOT, FRANK, FIONA):
        assert people[ambiguous][3] == sha256("info@delta.org")
        assert people[ambiguous][5] is True
    account = query(
        warehouse, f"select account_key from marts.dim_person where person_id = '{ALICE}'"
    )[0][0]
    assert query(
        warehouse,
        "select salesforce_account_id, hubspot_company_id from marts.dim_account"
        f" where account_key = '{account}'",
    ) == [(A1, "c-1")]


def test_clear_contact_details_are_in_restricted_only(built):
    warehouse, _ = built
    contacts = {
        row[0]: row[1:]
        for row in query(
            warehouse,
            """
        select person_id, email, full_name, phone, job_title, company_name,
               primary_record_type, primary_record_id
        from restricted.person_contacts""",
        )
    }
    assert contacts[ALICE] == (
        "alice@acme.com",
        "Alice Anders",
        "+1 555 0101",
        "CTO",
        "Acme",
        "hubspot_contact",
        "101",
    )
    # the primary record is the live contact 201, not the merged-away (older) 202
    assert contacts[BOB][:2] == ("bob@beta.io", "Bob Brown")
    # Salesforce-only: name, phone and title from the Salesforce contact
    assert contacts[GINA] == (
        "gina@acme.com",
        "Gina Gold",
        "+1 555 0108",
        "VP Ops",
        None,
        "salesforce_contact",
        C8,
    )
    owners = dict(query(warehouse, "select owner_name, email from restricted.owner_contacts"))
    assert owners == {
        "Sam Seller": "sam@leadbridge.test",
        "Rita Rep": "rita@leadbridge.test",
        "Quinn Closer": "quinn@leadbridge.test",
    }
    owner_hashes = {row[0] for row in query(warehouse, "select email_hash from marts.dim_owner")}
    assert sha256("sam@leadbridge.test") in owner_hashes
    mart_columns = {
        (row[0], row[1])
        for row in query(
            warehouse,
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts'",
        )
    }
    clear = {"email", "full_name", "owner_name", "company_name", "phone"}
    # the one exception: the owners' work names, so SLA per owner reads as names
    assert {(t, c) for t, c in mart_columns if c in clear} == {("dim_owner", "owner_name")}
    assert set(query(warehouse, "select owner_name from marts.dim_owner")) >= {("Sam Seller",)}
    # the team: Salesforce's department, though HubSpot says SDR for the same people
    teams = set(query(warehouse, "select is_queue, team from marts.dim_owner"))
    assert teams == {(False, "Sales")}
    # a rep's task or meeting subject is free text and stays out of the marts
    details = query(
        warehouse,
        "select distinct event_detail from marts.fct_lead_events"
        " where event_category = 'sales_activity'",
    )
    assert details == [(None,)]


def stages_of(warehouse: Path, person_id: str) -> list[tuple[str, str, int]]:
    return [
        (stage, str(valid_from), cycle)
        for stage, valid_from, cycle in query(
            warehouse,
            f"""
            select canonical_stage, valid_from, cycle_number from marts.fct_lifecycle_stages
            where person_id = '{person_id}' order by valid_from""",
        )
    ]


def test_stage_dates_follow_the_sources_history(built):
    warehouse, _ = built
    assert stages_of(warehouse, ALICE) == [
        ("lead", "2026-01-05 14:00:00", 0),
        ("mql", "2026-01-07 15:00:00", 0),
        ("sal", "2026-01-07 18:00:00", 0),
        ("sql", "2026-01-12 15:00:00", 0),
        ("opportunity", "2026-01-13 16:00:00", 0),
        ("customer", "2026-01-21 15:00:00", 0),
    ]
    # the merged-away contact's history belongs to Bob
    assert stages_of(warehouse, BOB) == [
        ("subscriber", "2026-01-02 10:00:00", 0),
        ("lead", "2026-01-06 10:00:00", 0),
    ]
    # MQL at exactly the threshold (score 50)
    assert stages_of(warehouse, CAROL) == [
        ("lead", "2026-01-08 14:00:00", 0),
        ("mql", "2026-01-09 22:00:00", 0),
        ("sal", "2026-01-12 15:00:00", 0),
    ]
    # recycled, then MQL again in a new cycle
    assert stages_of(warehouse, ERIN) == [
        ("lead", "2026-01-05 14:30:00", 0),
        ("mql", "2026-01-05 15:00:00", 0),
        ("sal", "2026-01-05 17:00:00", 0),
        ("recycled", "2026-01-08 15:00:00", 1),
        ("mql", "2026-01-23 14:00:00", 1),
    ]
    assert stages_of(warehouse, GINA) == [("opportunity", "2026-01-20 16:00:00", 0)]
    rules = dict(
        query(
            warehouse,
            f"""
        select canonical_stage, entered_by_rule from marts.fct_lifecycle_stages
        where person_id = '{CAROL}'""",
        )
    )
    assert rules == {"lead": "stage_mapping", "mql": "mql_score_threshold", "sal": "stage_mapping"}


def test_sla_outcomes_in_business_hours(built):
    warehouse, _ = built
    rows = query(
        warehouse,
        """
        select person_id, cast(handoff_at as varchar), cast(first_touch_at as varchar),
               business_hours_elapsed, cast(sla_deadline_at as varchar), sla_status
        from marts.fct_sla order by handoff_at""",
    )
    assert rows == [
        (
            ERIN,
            "2026-01-05 15:00:00",
            "2026-01-05 17:00:00",
            Decimal("2.00"),
            "2026-01-06 15:00:00",
            "met",
        ),
        (
            ALICE,
            "2026-01-07 15:00:00",
            "2026-01-07 18:00:00",
            Decimal("3.00"),
            "2026-01-08 15:00:00",
            "met",
        ),
        # Friday 17:00 EST, first touch Monday 10:00 EST: one business hour
        (
            CAROL,
            "2026-01-09 22:00:00",
            "2026-01-12 15:00:00",
            Decimal("1.00"),
            "2026-01-12 22:00:00",
            "met",
        ),
        # Friday 15:00 EST, Monday is a holiday, touched Wednesday 09:00: ten business hours
        (
            DAN,
            "2026-01-16 20:00:00",
            "2026-01-21 14:00:00",
            Decimal("10.00"),
            "2026-01-20 20:00:00",
            "breached",
        ),
        # the recycled lead's second hand-off, untouched at AS_OF
        (ERIN, "2026-01-23 14:00:00", None, Decimal("1.00"), "2026-01-23 22:00:00", "open"),
    ]
    owners = query(
        warehouse,
        f"""
        select o.salesforce_user_id from marts.fct_sla s
        join marts.dim_owner o on s.owner_key_at_handoff = o.owner_key
        where s.person_id = '{DAN}'""",
    )
    assert owners == [("005000000000000002",)]


def test_attribution_credit_per_model(built):
    warehouse, _ = built
    rows = query(
        warehouse,
        f"""
        select a.attribution_model,
               coalesce(c.salesforce_campaign_id, c.hubspot_campaign_id),
               a.touch_position, a.credit,
               a.credited_won_revenue
        from marts.fct_attribution a join marts.dim_campaign c using (campaign_key)
        where a.opportunity_id = '{O1}' order by 1, 3""",
    )
    credits = {
        (model, position): (campaign, float(credit), float(revenue))
        for model, campaign, position, credit, revenue in rows
    }
    touches = {1: "hc-webinar", 2: SC1, 3: "hc-ebook", 4: SC2}
    expected = {
        "first_touch": {1: 1.0, 2: 0.0, 3: 0.0, 4: 0.0},
        "last_touch": {1: 0.0, 2: 0.0, 3: 0.0, 4: 1.0},
        "linear": {1: 0.25, 2: 0.25, 3: 0.25, 4: 0.25},
        "w_shaped": {1: 0.3, 2: 0.3, 3: 0.1, 4: 0.3},
    }
    assert len(rows) == 16
    for model, shares in expected.items():
        for position, share in shares.items():
            campaign, credit, revenue = credits[(model, position)]
            assert campaign == touches[position]
            assert credit == pytest.approx(share)
            assert revenue == pytest.approx(30000 * share)


def test_funnel_flags_and_durations(built):
    warehouse, _ = built
    funnel = {
        row[0]: row[1:]
        for row in query(
            warehouse,
            """
        select person_id, is_mql_reached, is_sql_reached, converted_mql_to_sal,
               converted_mql_to_sql, converted_opportunity_to_customer, days_lead_to_mql,
               mql_entries, reset_count
        from marts.fct_funnel""",
        )
    }
    # MQL to SAL: Carol and Erin were accepted after their MQL (Erin before her recycle)
    assert funnel[ALICE] == (True, True, True, True, True, Decimal("2.04"), 1, 0)
    assert funnel[CAROL] == (True, False, True, False, False, Decimal("1.33"), 1, 0)
    assert funnel[ERIN] == (True, False, True, False, False, Decimal("0.02"), 2, 1)
    assert funnel[BOB] == (False, False, False, False, False, None, 0, 0)


def test_kpis_daily_totals(built):
    warehouse, _ = built
    totals = query(
        warehouse,
        """
        select count(*), min(kpi_date)::varchar, max(kpi_date)::varchar, sum(new_leads), sum(mqls),
               sum(sqls), sum(opportunities_created), sum(pipeline_created_amount),
               sum(won_revenue),
               sum(sla_met), sum(sla_breached), sum(sla_open)
        from marts.mart_kpis_daily""",
    )[0]
    # MQLs: Alice, Carol, Dan and Erin (her second MQL entry is a hand-off, not a new
    # MQL); SQLs: Alice's qualified lead and Gina's opportunity, which reached SQL
    assert totals == (
        23,
        "2026-01-01",
        "2026-01-23",
        8,
        4,
        2,
        2,
        Decimal("42000.00"),
        Decimal("30000.00"),
        3,
        1,
        1,
    )
    day = query(
        warehouse,
        "select mqls, sla_breached, sla_compliance_rate, target_mqls from marts.mart_kpis_daily"
        " where kpi_date = '2026-01-16'",
    )
    assert day == [(1, 1, Decimal("0.0000"), Decimal("0.4839"))]  # 15 MQLs a month / 31 days


def test_handoff_queue_and_sync_health(built):
    warehouse, _ = built
    queue = query(
        warehouse,
        """
        select person_id, cast(sla_deadline_at as varchar), business_hours_remaining,
               is_overdue, recent_history
        from marts.mart_handoff_queue""",
    )
    assert len(queue) == 1
    assert queue[0][:4] == (ERIN, "2026-01-23 22:00:00", Decimal("7.00"), False)
    assert queue[0][4].startswith("2026-01-23 ")
    work_list = query(
        warehouse,
        """
        select person_id, queue_position, full_name, email, phone, owner_name, is_overdue
        from restricted.handoff_queue_contacts""",
    )
    assert work_list == [
        (ERIN, 1, "Erin Evans", "erin@zeta.com", "+1 555 0105", "Sam Seller", False)
    ]
    presence = dict(
        query(warehouse, "select system_presence, count(*) from marts.mart_sync_health group by 1")
    )
    assert presence == {"both": 4, "hubspot_only": 2, "salesforce_only": 3}
    lags = dict(
        query(
            warehouse,
            "select person_id, handoff_sync_lag_minutes from marts.mart_sync_health"
            " where handoff_sync_lag_minutes is not null",
        )
    )
    assert lags == {ALICE: 5, CAROL: 0, DAN: 5, ERIN: 10}


def test_lead_contract_is_published(built):
    warehouse, _ = built
    rule = query(
        warehouse,
        """
        select item_value, is_in_force from marts.dim_lead_contract
        where item_kind = 'rule' and item_key = 'mql_score_threshold'""",
    )
    assert rule == [("50 points", True)]
    kinds = dict(
        query(warehouse, "select item_kind, count(*) from marts.dim_lead_contract group by 1")
    )
    assert kinds["stage"] == 9 and kinds["attribution_model"] == 4


def test_raising_the_mql_threshold_changes_exactly_the_person_at_the_threshold(built, tmp_path):
    warehouse, work = built
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml")
    )
    rules = project / "seeds" / "lead_contract" / "lead_contract__rules.csv"
    text = rules.read_text()
    assert "mql_score_threshold,2024-01-01,50," in text
    rules.write_text(
        text.replace("mql_score_threshold,2024-01-01,50,", "mql_score_threshold,2024-01-01,51,")
    )
    changed = tmp_path / "changed.duckdb"
    shutil.copy(warehouse, changed)
    # seed + models + data tests downstream of the rules (fct_lead_events takes its
    # incremental path and restates history because the contract fingerprint changed)
    run_dbt(
        ["build", "--select", "lead_contract__rules+", "--exclude", "test_type:unit"],
        changed,
        tmp_path,
        project=project,
    )

    sql = "select person_id, first_mql_at, mql_entries, current_stage from marts.fct_funnel"
    before = {row[0]: row[1:] for row in query(warehouse, sql)}
    after = {row[0]: row[1:] for row in query(changed, sql)}
    assert {p for p in before if before[p] != after[p]} == {CAROL}
    assert after[CAROL] == (None, 0, "sal")  # lead → sal, never an MQL
    assert [r[0] for r in query(changed, "select person_id from marts.fct_sla")].count(CAROL) == 0
    assert len(query(changed, "select * from marts.fct_sla")) == 4


def test_scheduled_meetings_and_open_tasks_are_not_history_until_they_happen(built, tmp_path):
    """A meeting booked for next week and an open task due later are plans: no event, no
    SLA touch, no row in any mart but the hand-off queue's next scheduled touch. Once the
    meeting has started (a later night) it is history: an event and the hand-off's touch.
    The open task stays a plan until it is completed."""
    warehouse, work = built
    copy = tmp_path / "scheduled.duckdb"
    shutil.copy(warehouse, copy)
    meeting, task = sfid("00U", 9), sfid("00T", 9)
    con = duckdb.connect(str(copy))
    try:
        con.execute(
            """insert into salesforce.event (id, who_id, what_id, owner_id, subject, type,
                start_date_time, end_date_time, is_deleted, created_date, system_modstamp,
                _dlt_load_id, _dlt_id)
            values (?, ?, null, ?, 'Demo for Erin', 'Meeting', '2026-01-26 15:00:00+00',
                    '2026-01-26 16:00:00+00', false, '2026-01-22 10:00:00+00',
                    '2026-01-22 10:00:00+00', '1767225600.3', 'sched-1')""",
            [meeting, L5, U1],
        )
        con.execute(
            """insert into salesforce.task (id, who_id, what_id, owner_id, subject, type,
                task_subtype, status, activity_date, completed_date_time, is_deleted,
                created_date, system_modstamp, _dlt_load_id, _dlt_id)
            values (?, ?, null, ?, 'Call Erin back', 'Call', 'Call', 'Not Started',
                    '2026-01-27', null, false, '2026-01-22 10:00:00+00',
                    '2026-01-22 10:00:00+00', '1767225600.3', 'sched-2')""",
            [task, L5, U1],
        )
        # an email opened while the night loads: stamped after the night it is loaded in
        con.execute(
            """insert into hubspot.email_events (id, type, recipient, email_campaign_id,
                created, url, subscription_status, portal_id, app_id, _dlt_load_id, _dlt_id)
            values ('late-open', 'OPEN', 'erin@zeta.com', 300000,
                    '2026-01-23 15:05:00+00', null, null, 1, 1, '1767225600.3', 'sched-3')"""
        )
    finally:
        con.close()
    late_open = "select count(*) from marts.fct_lead_events where source_record_id = 'late-open'"
    scheduled_rows = f"""select count(*) from marts.fct_lead_events
        where source_record_id in ('{meeting}', '{task}')"""
    erin_handoffs = f"""select handoff_at, first_touch_record_id, sla_status from marts.fct_sla
        where person_id = '{ERIN}' order by handoff_at"""
    queue = f"""select next_scheduled_touch_at from marts.mart_handoff_queue
        where person_id = '{ERIN}'"""
    build = [
        "build",
        "--select",
        "stg_salesforce__events+",
        "stg_salesforce__tasks+",
        "stg_hubspot__email_events+",
        "--exclude-resource-type",
        "unit_test",
    ]

    run_dbt(build, copy, work)  # the night of AS_OF (2026-01-23 15:00)
    assert query(copy, scheduled_rows) == [(0,)]
    assert query(copy, late_open) == [(0,)]  # the next night's
    assert [row[1:] for row in query(copy, erin_handoffs)] == [
        (sfid("00T", 5), "met"),
        (None, "open"),
    ]
    assert query(copy, queue) == [(datetime(2026, 1, 26, 15, 0),)]

    run_dbt(build, copy, work, as_of="2026-01-27 12:00:00")  # the meeting has happened
    events = f"""select source_record_id, event_type, canonical_stage, occurred_at
        from marts.fct_lead_events where source_record_id in ('{meeting}', '{task}')
        order by event_type"""
    # the meeting, and the SAL it made of Erin's open hand-off
    assert query(copy, events) == [
        (meeting, "lifecycle_stage_entered", "sal", datetime(2026, 1, 26, 15, 0)),
        (meeting, "meeting", None, datetime(2026, 1, 26, 15, 0)),
    ]
    assert query(copy, erin_handoffs)[1][1] == meeting
    assert query(copy, late_open) == [(1,)]
    assert query(copy, queue) == []


# Every incremental model: its key, a column to tamper with and the value that marks it,
# and which of a person's rows every incremental run leaves alone unless the person is
# rebuilt (older than the look-back window, not a current interval). The timeline's
# tampered column is one no other incremental model or fingerprint reads.
INCREMENTAL_MODELS = {
    "fct_lead_events": ("event_id", "event_detail", "'tampered'", "occurred_at < '2026-01-12'"),
    "int_lifecycle__stage_timeline": (
        "stage_interval_id",
        "stage_entry_number",
        "-1",
        "not is_current and valid_from < '2026-01-12'",
    ),
    "fct_lifecycle_stages": (
        "stage_interval_id",
        "signal_detail",
        "'tampered'",
        "not is_current and valid_from < '2026-01-12'",
    ),
    "dim_person": ("person_id", "identity_rules", "'tampered'", "true"),
}


def tamper(warehouse: Path, tables: dict[str, str], people: dict[str, str]) -> dict[str, str]:
    """Marks one kept row of the person `people` names for each incremental model; returns
    each row's key."""
    keys = {}
    con = duckdb.connect(str(warehouse))
    try:
        for model, person in people.items():
            key, column, mark, kept = INCREMENTAL_MODELS[model]
            (keys[model],) = con.execute(
                f"select {key} from {tables[model]} where person_id = ? and {kept}"
                f" order by {key} limit 1",
                [person],
            ).fetchone()
            con.execute(
                f"update {tables[model]} set {column} = {mark} where {key} = ?", [keys[model]]
            )
    finally:
        con.close()
    return keys


def assert_incremental_equals_full_refresh(
    incremental: Path,
    work: Path,
    project: Path,
    kept: dict[str, str],
    mended: dict[str, str],
    as_of: str = AS_OF,
) -> None:
    """Rebuilds a copy of `incremental` with --full-refresh of every incremental model and
    compares them row for row: equal but for the `kept` rows (left tampered, so the
    incremental run did not rebuild everyone), with the `mended` rows rebuilt."""
    tables = incremental_tables(work)
    assert set(tables) == set(INCREMENTAL_MODELS)
    full = incremental.with_name("full.duckdb")
    shutil.copy(incremental, full)
    run_dbt(["run", "--select", *tables, "--full-refresh"], full, work, project, as_of)
    for model, table in tables.items():
        key, column, mark, _ = INCREMENTAL_MODELS[model]
        # built_at is when a row was written: a kept row keeps its night's
        sql = f"select * exclude (built_at) from {table} order by all"
        after, rebuilt = query(incremental, sql), query(full, sql)
        assert len(rebuilt) > 5, model
        tampered = {
            row[0]
            for row in query(incremental, f"select {key} from {table} where {column} = {mark}")
        }
        assert tampered == ({kept[model]} if model in kept else set()), model
        assert mended[model] not in tampered, model
        untampered = [row for row in after if model not in kept or kept[model] not in row]
        assert untampered == [
            row for row in rebuilt if model not in kept or kept[model] not in row
        ], model


def test_incremental_models_rebuild_only_changed_people_and_equal_a_full_refresh(built, tmp_path):
    """An incremental run rebuilds the people whose inputs changed (and fct_lead_events'
    look-back window), and then every incremental model holds exactly the rows of a full
    refresh.

    The next night (AS_OF + 1 day) brings: a lead-history row for Erin's lead loaded late,
    dated 2026-01-12, before the window (NEXT_NIGHT less 7 days); a merge (Bob's HubSpot
    contact gets Gina's Salesforce contact id); a deleted record (Dan's working status,
    deleted in Salesforce). Old rows are tampered with beforehand: Erin's (her history is
    rebuilt, so it is mended) and Alice's (nothing of hers changed, so the run leaves it:
    proof that it did not rebuild everyone)."""
    warehouse, work = built
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(warehouse, incremental)
    tables = incremental_tables(work)
    kept = tamper(incremental, tables, dict.fromkeys(tables, ALICE))
    erin = tamper(incremental, tables, dict.fromkeys(tables, ERIN))
    con = duckdb.connect(str(incremental))
    try:
        for change in NEXT_NIGHT_CHANGES:
            con.execute(change)
    finally:
        con.close()

    between = between_changes_and(list(tables))
    # the next night: what moves with the night alone (open intervals' hours) moves too
    output = run_dbt(["run", "--select", *between], incremental, work, as_of=NEXT_NIGHT)
    assert "incremental model" in output
    assert_incremental_equals_full_refresh(
        incremental, work, DBT_PROJECT_DIR, kept, erin, as_of=NEXT_NIGHT
    )

    # the late row reached Erin's history although it is older than the window
    late = f"""select event_type, canonical_stage from marts.fct_lead_events
        where source_record_id = '{LATE_HISTORY_ID}' order by event_type"""
    assert query(incremental, late) == [
        ("lifecycle_stage_entered", "sal"),
        ("source_stage_change", "sal"),
    ]
    assert query(warehouse, late) == []
    # Bob and Gina are one person now: the merged-away person's rows are gone
    people = "select distinct person_id from marts.fct_lifecycle_stages"
    assert {BOB, GINA} <= {row[0] for row in query(warehouse, people)}
    assert len({BOB, GINA} & {row[0] for row in query(incremental, people)}) == 1
    # Dan's deleted status change (a stage change and the SAL it entered) is gone
    deleted = f"select count(*) from marts.fct_lead_events where source_record_id = '{DAN_STATUS}'"
    assert query(warehouse, deleted) == [(2,)]
    assert query(incremental, deleted) == [(0,)]


def test_a_contract_change_rebuilds_every_person_of_every_incremental_model(built, tmp_path):
    """A changed lead contract (the customer stage's order) restates everyone: Alice's
    tampered rows are mended too, and the rows equal a full refresh."""
    warehouse, work = built
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml")
    )
    stages = project / "seeds" / "lead_contract" / "lead_contract__stages.csv"
    text = stages.read_text()
    assert "\ncustomer,7," in text
    stages.write_text(text.replace("\ncustomer,7,", "\ncustomer,8,"))
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(warehouse, incremental)
    alice = tamper(incremental, incremental_tables(work), dict.fromkeys(INCREMENTAL_MODELS, ALICE))
    output = run_dbt(
        [
            "build",
            "--select",
            "lead_contract__stages+",
            "--exclude-resource-type",
            "test",
            "--exclude-resource-type",
            "unit_test",
        ],
        incremental,
        tmp_path,
        project=project,
    )
    assert "incremental model" in output
    assert_incremental_equals_full_refresh(incremental, tmp_path, project, {}, alice)
    customer = """select distinct stage_order from marts.fct_lifecycle_stages
        where canonical_stage = 'customer'"""
    assert query(incremental, customer) == [(8,)]


def test_a_night_tests_the_rows_it_rebuilt_and_full_tests_every_row(built, tmp_path):
    """dbt's data tests on a big incremental model read the rows its last run wrote
    (`where: __rebuilt_rows__`): a broken row the night kept passes them, a broken row it
    rebuilt fails them, and `full_tests: true` (the weekly night) fails on the kept one."""
    warehouse, work = built
    copy = tmp_path / "tests.duckdb"
    shutil.copy(warehouse, copy)
    # the next night rewrites the window only; its rows carry that night
    run_dbt(["run", "--select", "fct_lead_events"], copy, work, as_of=NEXT_NIGHT)
    written = "select built_at = (select max(built_at) from marts.fct_lead_events), count(*)"
    counts = dict(query(copy, f"{written} from marts.fct_lead_events group by all"))
    assert counts[True] > 0 and counts[False] > 0
    assert query(copy, "select max(built_at) from marts.fct_lead_events") == [
        (datetime.fromisoformat(NEXT_NIGHT),)
    ]
    broken = """update marts.fct_lead_events set owner_key = 'no-such-owner' where event_id = (
        select min(event_id) from marts.fct_lead_events
        where built_at {} (select max(built_at) from marts.fct_lead_events))"""
    generic_tests = ["test", "--select", "fct_lead_events,test_type:generic"]
    con = duckdb.connect(str(copy))
    try:
        con.execute(broken.format("<"))
    finally:
        con.close()
    run_dbt(generic_tests, copy, work, as_of=NEXT_NIGHT)
    with pytest.raises(AssertionError, match="relationships_fct_lead_events_owner_key"):
        run_dbt(generic_tests, copy, work, as_of=NEXT_NIGHT, dbt_vars={"full_tests": True})
    con = duckdb.connect(str(copy))
    try:
        con.execute(broken.format("="))
    finally:
        con.close()
    with pytest.raises(AssertionError, match="relationships_fct_lead_events_owner_key"):
        run_dbt(generic_tests, copy, work, as_of=NEXT_NIGHT)


def test_an_incremental_table_stored_without_a_declared_column_is_rebuilt_whole(built, tmp_path):
    """After an upgrade that adds a column to an incremental model, the first night rebuilds
    that model whole (dbt's own run would stop in the pre-hook's delete or on "schemas out
    of sync"): here every incremental table is stored without its `build_fingerprint`,
    and a tampered row of Alice's, whom nothing changed, is mended too."""
    warehouse, work = built
    old = tmp_path / "old.duckdb"
    shutil.copy(warehouse, old)
    tables = incremental_tables(work)
    alice = tamper(old, tables, dict.fromkeys(tables, ALICE))
    con = duckdb.connect(str(old))
    try:
        for table in tables.values():
            con.execute(f"alter table {table} drop column build_fingerprint")
    finally:
        con.close()
    output = run_dbt(["run", "--select", *tables], old, work)
    for model in tables:
        assert f"{tables[model]}: rebuilt whole, its stored table lacks build_fingerprint" in output
    assert_incremental_equals_full_refresh(old, work, DBT_PROJECT_DIR, {}, alice)


def test_a_key_test_fails_on_a_duplicated_key_and_on_null_keys(built, tmp_path):
    """unique_key (dbt_project/tests/generic) is `unique` and `not_null` in one test: a
    duplicated key fails it, null keys fail it, and its failures are what the two tests
    counted together (the duplicated values plus the null rows)."""
    warehouse, work = built
    copy = tmp_path / "keys.duckdb"
    shutil.copy(warehouse, copy)
    key_test = ["test", "--select", "unique_key_int_people__contacts_person_id"]
    assert "ERROR=0" in run_dbt(key_test, copy, work)
    table = "intermediate.int_people__contacts"
    con = duckdb.connect(str(copy))
    try:
        con.execute(f"insert into {table} select * from {table} order by person_id limit 1")
    finally:
        con.close()
    with pytest.raises(AssertionError, match="Got 1 result, configured to fail if != 0"):
        run_dbt(key_test, copy, work)
    con = duckdb.connect(str(copy))
    try:
        con.execute(
            f"update {table} set person_id = null where person_id in "
            f"(select person_id from {table} order by person_id desc limit 2)"
        )
    finally:
        con.close()
    with pytest.raises(AssertionError, match="Got 3 results, configured to fail if != 0"):
        run_dbt(key_test, copy, work)
