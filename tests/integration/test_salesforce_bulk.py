"""The Salesforce source's Bulk API 2.0 reads against the simulator, through the real connector.

The REST path is the reference: the same world is loaded once with `bulk_api=False` and
once with Bulk API 2.0, and every raw Salesforce table, its columns and the cursor state
must come out the same.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion.pipelines import FEEDS, loaded_row_counts, make_pipeline
from ingestion.sources.records import normalize
from ingestion.sources.salesforce import salesforce_source
from ingestion.sources.salesforce.bulk import BulkQuery
from ingestion.sources.salesforce.settings import OBJECTS
from simulator import SimulatedApis, SimulatorConfig
from simulator.formats import parse_instant

pytestmark = pytest.mark.integration
CONFIG = SimulatorConfig(seed=7, people=300, months=3, anchor=date(2026, 10, 31))
FAST = {"request_backoff_factor": 0.01}
DLT_COLUMNS = ("_dlt_id", "_dlt_load_id")


@pytest.fixture
def sim(fresh_sim):
    """Each test gets its own simulator, with a custom field found by describe (typed on
    both paths)."""
    fresh_sim.faults.new_column("Lead")
    return fresh_sim


def load(sim: SimulatedApis, home: Path, **options) -> dict[str, int]:
    """Run the Salesforce feed into home/w.duckdb; rows loaded per table."""
    pipeline = make_pipeline("salesforce", home / "w.duckdb", home / "pipelines")
    source = salesforce_source(
        instance_url=sim.salesforce_instance_url, access_token=sim.token, **{**FAST, **options}
    )
    pipeline.run(source, loader_file_format=FEEDS["salesforce"].loader_file_format)
    return loaded_row_counts(pipeline)


def cursor_state(home: Path) -> dict[str, dict]:
    pipeline = make_pipeline("salesforce", home / "w.duckdb", home / "pipelines")
    resources = pipeline.state["sources"]["salesforce"]["resources"]
    return {name: dict(state["incremental"]) for name, state in sorted(resources.items())}


def differences(rest: Path, bulk: Path) -> dict[str, tuple[int, int]]:
    """Per raw table, rows only the REST load has and rows only the Bulk load has."""
    out = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{rest / 'w.duckdb'}' as rest (read_only)")
        con.execute(f"attach '{bulk / 'w.duckdb'}' as bulk (read_only)")
        for table in OBJECTS.values():
            name = normalize(table.name)
            rest_t, bulk_t = f"rest.salesforce.{name}", f"bulk.salesforce.{name}"
            columns = [r[0] for r in con.sql(f"describe {rest_t}").fetchall()]
            assert (
                con.sql(f"describe {bulk_t}").fetchall() == con.sql(f"describe {rest_t}").fetchall()
            ), f"{name}: columns or types differ"
            keep = ", ".join(f'"{c}"' for c in columns if c not in DLT_COLUMNS)
            a, b = f"select {keep} from {rest_t}", f"select {keep} from {bulk_t}"
            only_rest = con.sql(f"select count(*) from ({a} except all {b})").fetchall()[0][0]
            only_bulk = con.sql(f"select count(*) from ({b} except all {a})").fetchall()[0][0]
            out[name] = (only_rest, only_bulk)
    return out


def jobs_created(sim: SimulatedApis) -> dict[str, str]:
    """sObject → SOQL of each Bulk API job created since the log was cleared."""
    created = [r for r in sim.requests.matching("/jobs/query") if r.method == "POST"]
    return {r.json["query"].split(" FROM ")[1].split()[0]: r.json["query"] for r in created}


def job_ids(sim: SimulatedApis, method: str = "GET") -> list[str]:
    """Ids of the jobs requests of `method` went to, in order, each once."""
    paths = [r.path for r in sim.requests.matching("/jobs/query/") if r.method == method]
    return list(dict.fromkeys(p.split("/jobs/query/")[1].split("/")[0] for p in paths))


def rest_queries(sim: SimulatedApis) -> dict[str, str]:
    """sObject → SOQL of each REST query sent since the log was cleared."""
    sent = [r for r in sim.requests.matching("/query") if "q" in r.query]
    return {r.query["q"].split(" FROM ")[1].split()[0]: r.query["q"] for r in sent}


def test_a_bulk_backfill_lands_what_the_rest_backfill_lands_row_for_row(sim, tmp_path):
    rest, bulk = tmp_path / "rest", tmp_path / "bulk"
    load(sim, rest, bulk_api=False)
    assert jobs_created(sim) == {}
    sim.requests.clear()
    loaded = load(sim, bulk)

    assert set(jobs_created(sim)) == set(OBJECTS)  # every object read by a job ...
    assert set(rest_queries(sim)) == set()  # ... and none by a REST query
    assert all(" ORDER BY " not in soql for soql in jobs_created(sim).values())
    assert all(
        r.json["operation"] == ("query" if "FROM User " in r.json["query"] else "queryAll")
        for r in sim.requests.matching("/jobs/query")
        if r.method == "POST"
    )
    assert differences(rest, bulk) == {normalize(t.name): (0, 0) for t in OBJECTS.values()}
    assert loaded == {
        t.name: len(sim.expected(f"salesforce.{o}", include_deleted=True))
        for o, t in OBJECTS.items()
    }
    with duckdb.connect(str(bulk / "w.duckdb"), read_only=True) as con:
        deleted = con.sql("select count(*) from salesforce.lead where is_deleted").fetchall()[0][0]
        regions = con.sql("select count(region__c) from salesforce.lead").fetchall()[0][0]
    assert deleted == sum(
        r["IsDeleted"] for r in sim.expected("salesforce.Lead", include_deleted=True)
    )
    assert deleted > 0 and regions == loaded["lead"]
    # the next night continues from the same cursors, whichever path filled them
    assert cursor_state(bulk) == cursor_state(rest)


def test_an_object_without_records_is_read_with_a_job_on_the_first_night_only(tmp_path):
    with SimulatedApis.start(SimulatorConfig(profile="empty", people=50)) as sim:
        first = load(sim, tmp_path)
        assert set(jobs_created(sim)) == set(OBJECTS)
        assert {t: n for t, n in first.items() if n} == {
            "user": len(sim.expected("salesforce.User"))
        }
        sim.advance_days(1)
        sim.requests.clear()
        load(sim, tmp_path)  # its cursor never moved, but its first read is done
        assert jobs_created(sim) == {}
        assert set(rest_queries(sim)) == set(OBJECTS)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from salesforce.task").fetchall() == [(0,)]


def test_results_are_read_set_by_set_along_the_locators_after_polling(sim, tmp_path):
    sim.salesforce.bulk.polls_to_complete = 4
    load(sim, tmp_path, objects=["LeadHistory", "User"], bulk_max_records=50)

    history = len(sim.expected("salesforce.LeadHistory", include_deleted=True))
    assert history > 150  # several sets
    jobs = [r for r in sim.requests.matching("/jobs/query") if r.method == "POST"]
    assert len(jobs) == 2
    for job_id, rows in zip(
        job_ids(sim), (history, len(sim.expected("salesforce.User"))), strict=True
    ):
        polls = [r for r in sim.requests.matching(f"/jobs/query/{job_id}") if r.method == "GET"]
        sets = [r for r in polls if r.path.endswith("/results")]
        assert len(polls) - len(sets) == 4  # InProgress three times, then JobComplete
        assert len(sets) == -(-rows // 50)
        assert all(s.query["maxRecords"] == "50" for s in sets)
        # the first set has no locator; each later one the offset the previous set ended at
        offsets = [int(base64.b64decode(s.query["locator"] + "==")) for s in sets[1:]]
        assert "locator" not in sets[0].query and offsets == list(range(50, rows, 50))
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        landed = con.sql("select count(*), count(distinct id) from salesforce.lead_history")
        assert landed.fetchall()[0] == (history, history)


def test_a_failed_job_fails_the_load_naming_object_job_and_reason(sim, tmp_path):
    sim.salesforce.bulk.fail_next("Lead")
    with pytest.raises(Exception) as failed:
        load(sim, tmp_path, objects=["Lead"])
    (job_id,) = job_ids(sim)
    message = str(failed.value)
    assert f"Bulk API 2.0 job {job_id} for Lead ended Failed: Retried more than 15" in message
    assert sim.salesforce.bulk.job(job_id)["state"] == "Failed"
    assert job_ids(sim, "PATCH") == []  # a failed job is over: nothing to abort
    # the cursor did not move: the next run is a first load again, and this time lands
    pipeline = make_pipeline("salesforce", tmp_path / "w.duckdb", tmp_path / "pipelines")
    assert "lead" not in pipeline.state.get("sources", {}).get("salesforce", {}).get(
        "resources", {}
    )
    assert load(sim, tmp_path, objects=["Lead"]) == {
        "lead": len(sim.expected("salesforce.Lead", include_deleted=True))
    }


def test_a_job_that_outlasts_the_timeout_is_aborted_and_fails_the_load(sim, tmp_path):
    sim.salesforce.bulk.polls_to_complete = 10_000
    with pytest.raises(Exception) as failed:
        load(sim, tmp_path, objects=["User"], bulk_timeout=0.5)
    aborts = [r for r in sim.requests.matching("/jobs/query/") if r.method == "PATCH"]
    assert [r.json for r in aborts] == [{"state": "Aborted"}]
    (job_id,) = job_ids(sim, "PATCH")
    assert sim.salesforce.bulk.job(job_id)["state"] == "Aborted"
    assert f"Bulk API 2.0 job {job_id} for User was still InProgress after 0.5 s" in str(
        failed.value
    )


def test_an_object_the_bulk_api_refuses_is_read_with_rest(sim, tmp_path):
    sim.salesforce.bulk.unsupported.add("LeadHistory")
    loaded = load(sim, tmp_path, objects=["LeadHistory", "User"])
    assert set(jobs_created(sim)) == {"LeadHistory", "User"}  # asked for both ...
    assert len(job_ids(sim)) == 1  # ... one refused
    assert set(rest_queries(sim)) == {"LeadHistory"}
    assert loaded == {
        "lead_history": len(sim.expected("salesforce.LeadHistory", include_deleted=True)),
        "user": len(sim.expected("salesforce.User")),
    }


def test_after_a_bulk_backfill_the_next_night_reads_only_the_changes_with_rest(sim, tmp_path):
    rest, bulk = tmp_path / "rest", tmp_path / "bulk"
    load(sim, rest, bulk_api=False)
    load(sim, bulk)
    backfilled = cursor_state(bulk)
    sim.advance_days(2)  # to Monday: the anchor is a Saturday, Sunday changes nothing
    sim.requests.clear()

    night = load(sim, bulk)
    assert jobs_created(sim) == {}  # under the threshold: REST, from the backfill's cursors
    for sobject, table in OBJECTS.items():
        cursor = backfilled[table.name][table.cursor]["last_value"]
        if sobject == "LeadHistory":  # its look-back window
            cursor -= timedelta(days=3)
        assert (
            f"WHERE {table.cursor} >= {cursor.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            in rest_queries(sim)[sobject]
        ), sobject
    assert night == load(sim, rest, bulk_api=False)
    assert 0 < night["lead"] < len(sim.expected("salesforce.Lead", include_deleted=True))
    assert differences(rest, bulk) == {normalize(t.name): (0, 0) for t in OBJECTS.values()}
    assert cursor_state(bulk) == cursor_state(rest)


def rows_to_read(sim: SimulatedApis, cursors: dict[str, dict], sobject: str) -> int:
    """The rows a night's query matches: cursor at or after the last one (to the second)."""
    table = OBJECTS[sobject]
    since = cursors[table.name][table.cursor]["last_value"].replace(microsecond=0)
    if sobject == "LeadHistory":  # its look-back window
        since -= timedelta(days=3)
    rows = sim.expected(f"salesforce.{sobject}", include_deleted=True)
    return sum(parse_instant(r[table.cursor]) >= since for r in rows)


def test_a_night_with_more_rows_to_read_than_the_threshold_is_read_with_bulk(sim, tmp_path):
    rest, bulk = tmp_path / "rest", tmp_path / "bulk"
    load(sim, rest, bulk_api=False)
    load(sim, bulk)
    cursors = cursor_state(bulk)
    sim.advance_days(3)
    sim.requests.clear()

    night = load(sim, bulk, bulk_threshold=10)
    # the REST query's first page counted the rows; above 10 its object went to a job
    assert set(rest_queries(sim)) == set(OBJECTS)
    to_read = {o: rows_to_read(sim, cursors, o) for o in OBJECTS}
    big = {o for o, n in to_read.items() if n > 10}
    assert big and {o for o, n in to_read.items() if 0 < n <= 10}  # both kinds of night
    assert set(jobs_created(sim)) == big
    for sobject in big:
        assert jobs_created(sim)[sobject] == rest_queries(sim)[sobject].split(" ORDER BY ")[0]
    assert night == load(sim, rest, bulk_api=False)
    assert differences(rest, bulk) == {normalize(t.name): (0, 0) for t in OBJECTS.values()}
    assert cursor_state(bulk) == cursor_state(rest)


def test_a_results_set_cut_off_in_transit_is_fetched_again(sim, tmp_path, monkeypatch):
    wait = BulkQuery._wait

    def complete_then_cut_the_next_body(self, sobject: str, job: str) -> None:
        wait(self, sobject, job)
        sim.faults.truncated_page(count=1)  # the first results set

    monkeypatch.setattr(BulkQuery, "_wait", complete_then_cut_the_next_body)
    loaded = load(sim, tmp_path, objects=["Lead"])
    assert loaded == {"lead": len(sim.expected("salesforce.Lead", include_deleted=True))}
    assert len([r for r in sim.requests.matching("/results")]) == 2


def test_a_read_interrupted_while_its_job_runs_aborts_the_job(sim, tmp_path, monkeypatch):
    import ingestion.sources.salesforce.bulk as bulk

    sim.salesforce.bulk.polls_to_complete = 10
    waits: list[float] = []

    def interrupt_on_the_third_wait(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            raise KeyboardInterrupt  # Ctrl-C, or the orchestrator stopping the run

    monkeypatch.setattr(bulk.time, "sleep", interrupt_on_the_third_wait)
    with pytest.raises(BaseException) as stopped:
        load(sim, tmp_path, objects=["Lead"])
    assert any(isinstance(e, KeyboardInterrupt) for e in _chain(stopped.value))
    (job_id,) = job_ids(sim, "PATCH")
    assert sim.salesforce.bulk.job(job_id)["state"] == "Aborted"
    assert waits == [0.05, 0.1, 0.2]  # doubling waits between polls


def test_a_job_salesforce_will_not_create_fails_naming_the_object_and_the_answer(sim, tmp_path):
    sim.faults.permanent_error("/jobs/query", status=400)
    with pytest.raises(Exception) as failed:
        load(sim, tmp_path, objects=["Campaign"])
    message = str(failed.value)
    assert (
        "Salesforce API POST /salesforce/services/data/v61.0/jobs/query failed with HTTP 400:"
        " Bulk API 2.0 query job for Campaign refused: [{" in message
    )
    assert "SERVER_UNAVAILABLE" in message  # the API's own answer, passed on


def _chain(error: BaseException | None):
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__
