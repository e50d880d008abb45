"""Great Expectations suites run on a DuckDB table and report what failed; the volume
and quarantine checks read what they compare."""

import json
from datetime import UTC, datetime

import duckdb
import pytest

from leadbridge.quality.gx_runner import validate
from leadbridge.quality.suites import Suite, contract_values, load_suites, suite_parameters
from leadbridge.quality.volume import quarantine_counts, row_count, volume_outcome

pytestmark = pytest.mark.integration

LEADS = """
create schema salesforce;
create table salesforce.lead as select * from (values
  ('00Q1', 'ana@example.com ', true,  '0031', 'Qualified',           '0051',
   timestamptz '2026-10-01 10:00:00+00', now()),
  ('00Q2', null,               false, null,   'Open - Not Contacted', '00G1',
   timestamptz '2026-10-02 10:00:00+00', now()),
  ('00Q3', 'not-an-email',     false, null,   ' working - contacted', '0052',
   timestamptz '2026-10-03 10:00:00+00', now())
) t(id, email, is_converted, converted_contact_id, status, owner_id, created_date,
    system_modstamp)
"""

OPPORTUNITIES = """
create table salesforce.account as select * from (values ('0011', 'Acme')) t(id, name);
create table salesforce.contact as select * from (values ('0031', '0011')) t(id, account_id);
create table salesforce.opportunity_contact_role as select * from (values
  ('00K1', '0062', '0031', false)) t(id, opportunity_id, contact_id, is_deleted);
create table salesforce.opportunity as select * from (values
  ('0061', '0011', '0031', 'Prospecting', 1000.0, 10.0, date '2026-12-01', false,
   timestamptz '2026-10-01 10:00:00+00'),
  ('0062', '0011', null,   'Closed Won',  500.0, 100.0, date '2026-10-01', false,
   timestamptz '2026-10-01 10:00:00+00'),
  ('0063', '001X', '003X', 'Prospecting', 10.0, 10.0, date '2026-12-01', false,
   timestamptz '2026-10-01 10:00:00+00'),
  ('0064', '001X', '003X', 'Prospecting', 10.0, 10.0, date '2026-12-01', true,
   timestamptz '2026-10-01 10:00:00+00')
) t(id, account_id, contact_id, stage_name, amount, probability, close_date, is_deleted,
    created_date)
"""


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(LEADS)
    return path


def _suite(name: str) -> Suite:
    return next(s for s in load_suites() if s.name == name)


def _failures(metadata) -> dict:
    return {f["expectation"] + ":" + f["column"]: f for f in metadata["failures"]}


def test_every_suite_file_loads_with_its_expectations_understood_by_gx(tmp_path):
    suites = load_suites()
    assert {s.name for s in suites} >= {
        "hubspot__contacts",
        "hubspot__email_events",
        "hubspot__form_submissions",
        "salesforce__lead",
        "salesforce__contact",
        "salesforce__opportunity",
        "salesforce__task",
        "marts__dim_person",
        "marts__fct_lead_events",
        "marts__fct_attribution",
    }
    for suite in suites:
        assert suite.table == suite.name.replace("__", ".", 1)
        assert "id" not in suite.definition  # stable files: no generated ids
    assert _suite("marts__dim_person").asset_path == ("marts", "dim_person")


def test_every_suite_parameter_is_provided_at_validation_time():
    provided = suite_parameters()
    for suite in load_suites():
        for expectation in suite.definition["expectations"]:
            for value in expectation["kwargs"].values():
                if isinstance(value, dict) and "$PARAMETER" in value:
                    assert value["$PARAMETER"] in provided, (suite.name, value)


def test_stage_value_sets_come_from_the_lead_contract_lower_cased():
    values = contract_values()
    assert "working - contacted" in values["contract_salesforce_lead_status"]
    assert "prospecting" in values["contract_salesforce_opportunity_stagename"]
    assert "marketingqualifiedlead" in values["contract_hubspot_lifecyclestage"]


def test_clean_leads_pass_and_a_malformed_email_is_left_to_the_quarantine(warehouse):
    passed, metadata = validate(_suite("salesforce__lead"), warehouse)
    assert passed, metadata
    assert metadata["rows_checked"] == 3
    assert metadata["failed_rows"] == 0


def test_duplicate_key_unknown_status_future_date_and_unlinked_conversion_fail_with_samples(
    warehouse,
):
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into salesforce.lead values"
            " ('00Q1', 'x@example.com', true, null, 'Parked by a robot', '0051',"
            "  timestamptz '2027-06-01 00:00:00+00', now())"
        )
    passed, metadata = validate(
        _suite("salesforce__lead"), warehouse, suite_parameters(datetime.now(UTC))
    )
    assert not passed
    failures = _failures(metadata)
    assert failures["expect_column_values_to_be_unique:id"]["failed_rows"] == 2
    assert failures["expect_column_values_to_be_in_set:status_key"]["sample"] == [
        "parked by a robot"
    ]
    assert failures["expect_column_values_to_be_between:created_date"]["failed_rows"] == 1
    assert failures["expect_column_values_to_not_be_null:converted_contact_id"]["failed_rows"] == 1
    assert metadata["failed_expectations"] == 4


def test_an_opportunity_without_an_existing_account_and_person_fails_unless_deleted(warehouse):
    with duckdb.connect(str(warehouse)) as con:
        con.execute(OPPORTUNITIES)
    passed, metadata = validate(_suite("salesforce__opportunity"), warehouse)
    assert not passed
    failures = _failures(metadata)
    # 0062 has its person through a contact role; 0064 is deleted
    assert failures["expect_column_values_to_be_in_set:has_account"]["failed_rows"] == 1
    assert failures["expect_column_values_to_be_in_set:has_person"]["failed_rows"] == 1
    assert set(failures) == {
        "expect_column_values_to_be_in_set:has_account",
        "expect_column_values_to_be_in_set:has_person",
    }


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


def test_a_validation_hands_its_memory_back_when_it_ends_even_when_it_fails(
    tmp_path, warehouse, monkeypatch
):
    # the nightly process must not hold a check's slices while dbt builds beside it
    from leadbridge.quality import gx_runner

    released = []
    monkeypatch.setattr(gx_runner, "release_memory", lambda: released.append(True))
    validate(_suite("salesforce__lead"), warehouse)
    assert released == [True]
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
    with pytest.raises(ValueError):
        validate(Suite.load(bad), warehouse)
    assert released == [True, True]


@pytest.mark.parametrize(
    ("current", "previous", "passed"),
    [
        (100, None, True),
        (0, 0, True),
        (60, 100, True),
        (51, 100, True),
        (50, 100, False),
        (10, 100, False),
        (150, 100, True),
    ],
)
def test_a_volume_drop_of_half_or_more_against_the_previous_run_fails(current, previous, passed):
    assert volume_outcome(current, previous, 0.5)[0] is passed


def test_row_count_and_quarantine_counts_tolerate_missing_tables(warehouse):
    assert row_count(warehouse, "salesforce.lead") == 3
    assert row_count(warehouse, "files.list_members") == 0
    assert quarantine_counts(warehouse) == []
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create schema quarantine; create table quarantine.quarantined_rows as "
            "select * from (values ('salesforce.lead', '00Q3', 'email_format'),"
            " ('salesforce.lead', '00Q4', 'email_format')) t(source_table, source_record_id, rule)"
        )
    assert quarantine_counts(warehouse) == [
        {
            "source_table": "salesforce.lead",
            "rule": "email_format",
            "rows": 2,
            "example_record_id": "00Q3",
        }
    ]


# --- slices: a large table is validated in parts that add up to the whole ---------------

EVENTS = """
create schema hubspot;
create table hubspot.email_events as
select
    -- 40 ids appear twice (rows i and i + 1000): duplicates the unique check must see
    case when i > 1000 then i - 1000 else i end as id,
    case when i % 97 = 0 then null else 'x' || i || '@example.com' end as recipient,
    case when i % 89 = 0 then 'BOUNCE_LOL' else 'OPEN' end as type,
    timestamptz '2026-10-01 00:00:00+00' + to_minutes(i) as created,
    'not read by the suite' as unused
from range(1, 1041) t(i)
"""


def _events_suite(tmp_path, *extra: dict) -> Suite:
    path = tmp_path / "hubspot__email_events.json"
    path.write_text(
        json.dumps(
            {
                "name": "hubspot__email_events",
                "expectations": [
                    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
                    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
                    {
                        "type": "expect_column_values_to_not_be_null",
                        "kwargs": {"column": "recipient"},
                    },
                    {
                        "type": "expect_column_values_to_be_in_set",
                        "kwargs": {"column": "type", "value_set": ["OPEN", "CLICK"]},
                    },
                    *extra,
                ],
            }
        )
    )
    return Suite.load(path)


@pytest.fixture
def events(tmp_path):
    path = tmp_path / "events.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(EVENTS)
    return path


def _counts(metadata) -> dict:
    return {k: (f["failed_rows"], len(f["sample"])) for k, f in _failures(metadata).items()}


def test_a_sliced_validation_finds_exactly_what_the_whole_table_shows(tmp_path, events):
    suite = _events_suite(tmp_path)
    whole_passed, whole = validate(suite, events, rows_per_slice=10_000)
    sliced_passed, sliced = validate(suite, events, rows_per_slice=100)

    assert (whole["slices"], sliced["slices"]) == (1, 11)
    assert not whole_passed and not sliced_passed
    assert (
        _counts(sliced)
        == _counts(whole)
        == {
            "expect_column_values_to_be_unique:id": (80, 10),  # both rows of each of 40 ids
            "expect_column_values_to_not_be_null:recipient": (10, 10),
            "expect_column_values_to_be_in_set:type": (11, 10),
        }
    )
    assert sliced["rows_checked"] == whole["rows_checked"] == 1040
    assert sliced["columns_checked"] == ["id", "recipient", "type"]  # not `unused`


def test_mostly_is_a_share_of_the_whole_table_not_of_each_slice(tmp_path, events):
    with duckdb.connect(str(events)) as con:
        # every null in the one slice hash(id) % 11 = 0: that slice alone is far below 90%
        con.execute("update hubspot.email_events set recipient = 'y' where recipient is null")
        con.execute("update hubspot.email_events set recipient = null where hash(id) % 11 = 0")
        nulls, rows = con.execute(
            "select count(*) filter (where recipient is null), count(*) from hubspot.email_events"
        ).fetchone()
    assert 0.05 < nulls / rows < 0.15
    share = 1 - nulls / rows
    for mostly, expected in ((round(share - 0.01, 3), True), (round(share + 0.01, 3), False)):
        suite = _events_suite(
            tmp_path,
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "recipient", "mostly": mostly},
            },
        )
        results = [validate(suite, events, rows_per_slice=n) for n in (10_000, 100)]
        assert [r[1]["slices"] for r in results] == [1, 11]
        for _, metadata in results:
            found = [
                f
                for f in metadata["failures"]
                if f["column"] == "recipient" and f["expectation"].endswith("not_be_null")
            ]
            # the plain not-null expectation fails; the `mostly` one passes or fails
            assert len(found) == (1 if expected else 2), (mostly, found)


def test_a_suite_with_a_table_level_expectation_is_read_whole(tmp_path, events):
    suite = _events_suite(
        tmp_path,
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1000}},
    )
    assert suite.columns is None and suite.slice_column is None
    passed, metadata = validate(suite, events, rows_per_slice=100)
    assert (metadata["slices"], metadata["columns_checked"]) == (1, "all")
    # the row count (1040) passed; the three row-wise failures are the whole table's
    assert {f["expectation"] for f in metadata["failures"]} == {
        "expect_column_values_to_be_unique",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
    }
    assert metadata["failed_rows"] == 80 + 10 + 11 and not passed


def test_a_bad_slice_size_setting_is_named(monkeypatch):
    from leadbridge.quality.gx_runner import chunk_rows
    from leadbridge.settings import GX_CHUNK_ROWS

    monkeypatch.setenv(GX_CHUNK_ROWS.name, "lots")
    with pytest.raises(ValueError, match="LEADBRIDGE_GX_CHUNK_ROWS"):
        chunk_rows()
    monkeypatch.setenv(GX_CHUNK_ROWS.name, "250000")
    assert chunk_rows() == 250_000


def test_slices_on_postgres_add_up_to_the_whole_table_nulls_included(
    tmp_path, events, postgres_server
):
    from leadbridge.engine import Engine
    from tests.support.dbt_scenario import scenario_database
    from tests.support.postgres import copy_duckdb_schemas

    with duckdb.connect(str(events)) as con:
        con.execute("update hubspot.email_events set id = null where id % 101 = 0")
    server = scenario_database(postgres_server, "quality_slices")
    copy_duckdb_schemas(events, server, ["hubspot"])
    engine = Engine("postgres", tmp_path / "local.duckdb", server.engine_settings())
    suite = _events_suite(tmp_path)
    _, on_duckdb = validate(suite, events, rows_per_slice=10_000)
    _, on_postgres = validate(suite, engine, rows_per_slice=100)
    assert on_postgres["slices"] == 11
    assert on_postgres["rows_checked"] == 1040
    assert _counts(on_postgres) == _counts(on_duckdb)
    nulls = _failures(on_postgres)["expect_column_values_to_not_be_null:id"]["failed_rows"]
    assert nulls == 9  # ids 101, 202 … 909


# --- changed rows: a ledger of passed rows, only what is new is validated -----------------


def _changed_rows_suite(tmp_path) -> Suite:
    suite = _events_suite(tmp_path)
    definition = json.loads(suite.path.read_text())
    definition["meta"] = {"validate": "changed_rows"}
    suite.path.write_text(json.dumps(definition))
    return Suite.load(suite.path)


@pytest.fixture
def clean_events(events):
    with duckdb.connect(str(events)) as con:
        con.execute("delete from hubspot.email_events where id <= 40")  # the duplicated ids
        con.execute("update hubspot.email_events set recipient = 'r@example.com', type = 'OPEN'")
    return events


def test_changed_rows_validates_only_rows_not_passed_before(tmp_path, clean_events):
    suite = _changed_rows_suite(tmp_path)
    first = validate(suite, clean_events, rows_per_slice=100)
    assert first[0] and first[1]["validated"] == "all rows"
    assert (first[1]["rows_checked"], first[1]["rows_in_table"], first[1]["slices"]) == (
        960,
        960,
        10,
    )

    again = validate(suite, clean_events)
    assert again[0] and again[1]["validated"] == "changed rows" and again[1]["rows_checked"] == 0

    with duckdb.connect(str(clean_events)) as con:
        con.execute("update hubspot.email_events set type = 'BOUNCE_LOL' where id = 107")
        # an exact copy of a passed row, and a new row reusing a passed row's id
        con.execute(
            "insert into hubspot.email_events select * from hubspot.email_events where id = 108"
        )
        con.execute(
            "insert into hubspot.email_events select 109, 'new@example.com', 'OPEN', "
            "created, unused from hubspot.email_events where id = 109"
        )
    passed, metadata = validate(suite, clean_events)
    assert not passed
    # id 107; both copies of id 108; the new id 109 and the passed row it collides with
    assert metadata["rows_checked"] == 5 and metadata["rows_in_table"] == 962
    assert _counts(metadata) == {
        "expect_column_values_to_be_in_set:type": (1, 1),
        "expect_column_values_to_be_unique:id": (4, 4),
    }

    # a failure leaves the ledger: the same rows are validated, and fail, again
    assert validate(suite, clean_events)[1]["rows_checked"] == 5
    with duckdb.connect(str(clean_events)) as con:
        con.execute("update hubspot.email_events set type = 'OPEN' where id = 107")
        con.execute("delete from hubspot.email_events where recipient = 'new@example.com'")
        con.execute(
            "delete from hubspot.email_events where rowid = "
            "(select max(rowid) from hubspot.email_events where id = 108)"
        )
    # back to the rows that passed: nothing left to validate
    mended = validate(suite, clean_events)
    assert mended[0] and mended[1]["rows_checked"] == 0 and mended[1]["rows_in_table"] == 960


def test_changed_rows_validates_everything_again_when_the_suite_changes(tmp_path, clean_events):
    suite = _changed_rows_suite(tmp_path)
    assert validate(suite, clean_events)[0]
    definition = json.loads(suite.path.read_text())
    definition["expectations"][3]["kwargs"]["value_set"] = ["CLICK"]
    suite.path.write_text(json.dumps(definition))
    passed, metadata = validate(Suite.load(suite.path), clean_events)
    assert not passed and metadata["validated"] == "all rows"
    assert _counts(metadata) == {"expect_column_values_to_be_in_set:type": (960, 10)}


@pytest.mark.parametrize(
    "extra",
    [
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "type", "mostly": 0.9},
        },
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "recipient"}},
    ],
    ids=["mostly", "table-level", "two-unique-columns"],
)
def test_changed_rows_refuses_expectations_its_new_rows_cannot_decide(tmp_path, extra):
    suite = _events_suite(tmp_path, extra)
    definition = json.loads(suite.path.read_text())
    definition["meta"] = {"validate": "changed_rows"}
    suite.path.write_text(json.dumps(definition))
    with pytest.raises(ValueError, match="changed_rows needs expectations decided row by row"):
        Suite.load(suite.path)
    definition["meta"] = {"validate": "some_rows"}
    suite.path.write_text(json.dumps(definition))
    with pytest.raises(ValueError, match="meta.validate is 'some_rows'"):
        Suite.load(suite.path)


def test_changed_rows_on_postgres(tmp_path, clean_events, postgres_server):
    from leadbridge.engine import Engine
    from tests.support.dbt_scenario import scenario_database
    from tests.support.postgres import copy_duckdb_schemas

    server = scenario_database(postgres_server, "quality_ledger")
    copy_duckdb_schemas(clean_events, server, ["hubspot"])
    engine = Engine("postgres", tmp_path / "local.duckdb", server.engine_settings())
    suite = _changed_rows_suite(tmp_path)
    assert validate(suite, engine)[1]["rows_checked"] == 960
    assert validate(suite, engine)[1]["rows_checked"] == 0

    def update(sql: str) -> None:
        connection = server.engine_settings().connect()
        with connection, connection.cursor() as cursor:
            cursor.execute(sql)
        connection.close()

    # a row digest must tell NULL from any text, even one that spells a null marker
    update("update hubspot.email_events set recipient = '~null~' where id = 105")
    assert validate(suite, engine)[1]["rows_checked"] == 1
    update("update hubspot.email_events set recipient = null where id = 105")
    passed, metadata = validate(suite, engine)
    assert not passed and metadata["rows_checked"] == 1
    assert _counts(metadata) == {"expect_column_values_to_not_be_null:recipient": (1, 1)}


# --- the marts' time bound is the night they describe ---------------------------------


def test_the_marts_timeline_suite_guards_the_night_not_the_wall_clock(tmp_path):
    """An event after the night's `as_of` fails the shipped fct_lead_events suite, even
    though it is long past by the wall clock; one at the night itself passes."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "create schema marts; create table marts.fct_lead_events as select * from (values"
            " ('e1', 'p1', 'salesforce', 't1', timestamp '2026-01-23 15:00:00'),"
            " ('e2', 'p1', 'salesforce', 'm1', timestamp '2026-01-26 15:00:00')"
            ") t(event_id, person_id, source_system, source_record_id, occurred_at)"
        )
    suite = _suite("marts__fct_lead_events")
    night = datetime(2026, 1, 23, 15, 0, tzinfo=UTC)
    passed, metadata = validate(suite, path, parameters=suite_parameters(night, night=True))
    assert not passed
    assert _counts(metadata) == {"expect_column_values_to_be_between:occurred_at": (1, 1)}
    assert validate(suite, path, parameters=suite_parameters())[0]  # the wall clock


def test_a_runs_night_is_its_as_of_else_its_tick_else_none():
    from types import SimpleNamespace

    from orchestration.defs.quality import run_night

    as_of = {"ops": {"dbt_build": {"config": {"as_of": "2026-11-01T02:00:00+01:00"}}}}
    tick = {"dagster/scheduled_execution_time": "2026-11-02T02:00:00+00:00"}
    assert run_night(SimpleNamespace(run_config=as_of, tags=tick)) == datetime(
        2026, 11, 1, 1, 0, tzinfo=UTC
    )
    assert run_night(SimpleNamespace(run_config={}, tags=tick)) == datetime(
        2026, 11, 2, 2, 0, tzinfo=UTC
    )
    assert run_night(SimpleNamespace(run_config={}, tags={})) is None
