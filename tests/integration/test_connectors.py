"""The HubSpot and Salesforce connectors against the local simulator, per resource.

Every expected number comes from the simulator's own view of what its API exposes
(`sim.expected`), never from the loaded data itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.pipelines import FEEDS, loaded_row_counts, make_pipeline
from ingestion.sources.api import ApiError, ConfigError
from ingestion.sources.hubspot import hubspot_source
from ingestion.sources.hubspot.settings import HISTORY_PROPERTIES
from ingestion.sources.records import normalize
from ingestion.sources.salesforce import salesforce_source
from ingestion.sources.salesforce.settings import OBJECTS
from simulator import SimulatedApis, SimulatorConfig
from tests.support.warehouse import duckdb_query

pytestmark = pytest.mark.integration

CONFIG = SimulatorConfig(seed=7, people=300, months=3, anchor=date(2026, 10, 31))
FAST = {"request_backoff_factor": 0.01}


@pytest.fixture
def sim(fresh_sim):
    """Each test gets its own simulator: tests move its clock and switch its faults on."""
    return fresh_sim


def _source(feed: str, sim: SimulatedApis, **options):
    if feed == "hubspot":
        return hubspot_source(
            base_url=sim.hubspot_base_url, access_token=sim.token, **{**FAST, **options}
        )
    return salesforce_source(
        instance_url=sim.salesforce_instance_url, access_token=sim.token, **{**FAST, **options}
    )


def load(feed: str, sim: SimulatedApis, home: Path, **options) -> dict[str, int]:
    """Run one feed into home/w.duckdb; rows loaded per table."""
    pipeline = make_pipeline(feed, home / "w.duckdb", home / "pipelines")
    pipeline.run(_source(feed, sim, **options), loader_file_format=FEEDS[feed].loader_file_format)
    return loaded_row_counts(pipeline)


def query(home: Path, sql: str) -> list[tuple]:
    return duckdb_query(home / "w.duckdb", sql)


def count(home: Path, table: str) -> int:
    return query(home, f"select count(*) from {table}")[0][0]


def duplicates(home: Path, table: str, key: str = "id") -> int:
    return query(home, f"select count(*) - count(distinct {key}) from {table}")[0][0]


def _ts(value) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return datetime.fromisoformat(str(value).replace("+0000", "+00:00"))


def _expected_history_rows(sim: SimulatedApis) -> int:
    keys = set()
    for contact in sim.expected("hubspot.contacts"):
        history = sim.view.property_history(contact["id"], list(HISTORY_PROPERTIES))
        for prop, versions in history.items():
            keys |= {(contact["id"], prop, v["timestamp"]) for v in versions}
    return len(keys)


# -- first load: every record of every resource --------------------------------------------


def test_hubspot_first_load_lands_every_record_of_every_resource(sim, tmp_path):
    loaded = load("hubspot", sim, tmp_path, page_size=40)  # several pages everywhere
    expect = {
        "contacts": len(sim.expected("hubspot.contacts", include_deleted=True)),
        "companies": len(sim.expected("hubspot.companies", include_deleted=True)),
        "owners": len(sim.expected("hubspot.owners", include_deleted=True)),
        "forms": len(sim.expected("hubspot.forms")),
        "campaigns": len(sim.expected("hubspot.campaigns")),
        "form_submissions": len(sim.expected("hubspot.form_submissions")),
        "email_events": len(sim.expected("hubspot.email_events")),
        "contact_property_history": _expected_history_rows(sim),
    }
    assert {t: count(tmp_path, f"hubspot.{t}") for t in expect} == expect
    assert {t: loaded[t] for t in expect} == expect
    assert expect["contacts"] > 40 and expect["email_events"] > 40  # paging was exercised
    searches = sim.requests.matching("/crm/v3/objects/contacts/search")
    assert len(searches) == -(-len(sim.expected("hubspot.contacts")) // 40)
    for table in ("contacts", "companies", "owners", "email_events"):
        assert duplicates(tmp_path, f"hubspot.{table}") == 0


def test_salesforce_first_load_lands_every_record_including_deleted_ones(sim, tmp_path):
    # the REST query API (a first load's Bulk API 2.0 reads: test_salesforce_bulk.py)
    load("salesforce", sim, tmp_path, batch_size=200, bulk_api=False)
    for sobject, table in OBJECTS.items():
        expected = sim.expected(f"salesforce.{sobject}", include_deleted=True)
        assert count(tmp_path, f"salesforce.{table.name}") == len(expected), sobject
        assert duplicates(tmp_path, f"salesforce.{table.name}") == 0, sobject
    # nextRecordsUrl paging: more than one page for the objects over 200 rows
    big = [o for o in OBJECTS if len(sim.expected(f"salesforce.{o}", include_deleted=True)) > 200]
    assert big, "the test world should have an object spanning pages"
    assert len(sim.requests.matching("/query/01g")) >= len(big)


# -- incremental: filters sent and honoured ---------------------------------------------------


def test_incremental_filters_are_sent_from_the_last_loaded_cursor(sim, tmp_path):
    load("hubspot", sim, tmp_path)
    load("salesforce", sim, tmp_path)
    newest_contact = query(
        tmp_path, "select max(lastmodifieddate) from hubspot.contacts where not archived"
    )[0][0]
    newest_lead = query(tmp_path, "select max(system_modstamp) from salesforce.lead")[0][0]
    sim.requests.clear()
    load("hubspot", sim, tmp_path)
    load("salesforce", sim, tmp_path)

    search = sim.requests.matching("/crm/v3/objects/contacts/search")[0].json
    gte = search["filterGroups"][0]["filters"][0]
    assert gte["propertyName"] == "lastmodifieddate" and gte["operator"] == "GTE"
    assert _ts(int(gte["value"])) == newest_contact
    soql = [
        r.query["q"]
        for r in sim.requests.matching("/queryAll")
        if " FROM Lead " in r.query.get("q", "")
    ][0]
    assert f"WHERE SystemModstamp >= {newest_lead.strftime('%Y-%m-%dT%H:%M:%SZ')}" in soql
    assert "ORDER BY SystemModstamp ASC" in soql

    # the same for every sObject (LeadHistory starts its look-back window earlier)
    soqls = {
        r.query["q"].split(" FROM ")[1].split()[0]: r.query["q"]
        for r in sim.requests.matching("/query")
        if "q" in r.query
    }
    for sobject, table in OBJECTS.items():
        newest = query(
            tmp_path, f"select max({normalize(table.cursor)}) from salesforce.{table.name}"
        )[0][0]
        if sobject == "LeadHistory":
            newest = newest - timedelta(days=3)
        assert (
            f"WHERE {table.cursor} >= {newest.strftime('%Y-%m-%dT%H:%M:%SZ')}" in soqls[sobject]
        ), sobject
    newest_event = query(tmp_path, "select max(created) from hubspot.email_events")[0][0]
    events = sim.requests.matching("/email/public/v1/events")[0].query
    assert _ts(int(events["startTimestamp"])) == newest_event


def test_a_rerun_without_changes_loads_nothing_and_duplicates_nothing(sim, tmp_path):
    load("hubspot", sim, tmp_path)
    load("salesforce", sim, tmp_path)
    before = {
        t: count(tmp_path, t)
        for t in ("hubspot.contacts", "salesforce.lead", "salesforce.lead_history")
    }
    again = load("hubspot", sim, tmp_path) | load("salesforce", sim, tmp_path)
    # lead history is re-read over its look-back window (late rows); merged, not added
    assert {t: n for t, n in again.items() if n and t != "lead_history"} == {}
    assert {t: count(tmp_path, t) for t in before} == before
    assert duplicates(tmp_path, "salesforce.lead_history") == 0


def test_after_one_day_exactly_the_changed_records_are_loaded(sim, tmp_path):
    load("hubspot", sim, tmp_path)
    load("salesforce", sim, tmp_path)
    day_one = sim.as_of
    sim.advance_days(1)

    changed_contacts = [
        c
        for c in sim.expected("hubspot.contacts", include_deleted=True)
        if (_ts(c["properties"]["lastmodifieddate"]) > day_one and not c["archived"])
        or (c["archived"] and _ts(c["archivedAt"]) > day_one)
    ]
    changed = {
        obj: [
            r
            for r in sim.expected(f"salesforce.{obj}", include_deleted=True)
            if _ts(r["SystemModstamp"]) > day_one
        ]
        for obj in ("Lead", "Contact", "Opportunity", "Task", "CampaignMember")
    }
    hubspot = load("hubspot", sim, tmp_path)
    salesforce = load("salesforce", sim, tmp_path)

    assert hubspot.get("contacts", 0) == len(changed_contacts)
    assert {o: salesforce.get(OBJECTS[o].name, 0) for o in changed} == {
        o: len(rows) for o, rows in changed.items()
    }
    assert sum(len(rows) for rows in changed.values()) + len(changed_contacts) > 0
    assert count(tmp_path, "hubspot.contacts") == len(
        sim.expected("hubspot.contacts", include_deleted=True)
    )
    assert count(tmp_path, "salesforce.lead") == len(
        sim.expected("salesforce.Lead", include_deleted=True)
    )
    assert count(tmp_path, "salesforce.lead_history") == len(
        sim.expected("salesforce.LeadHistory", include_deleted=True)
    )


# -- deletes, archives and merges arrive as flags -------------------------------------------------


def test_archived_merged_and_deleted_records_arrive_as_flags(sim, tmp_path):
    load("hubspot", sim, tmp_path)
    load("salesforce", sim, tmp_path)
    archived = {
        c["id"] for c in sim.expected("hubspot.contacts", include_deleted=True) if c["archived"]
    }
    merged_into = {
        c["id"]
        for c in sim.expected("hubspot.contacts")
        if c["properties"].get("hs_merged_object_ids")
    }
    deleted = {
        r["Id"] for r in sim.expected("salesforce.Lead", include_deleted=True) if r["IsDeleted"]
    }
    masters = {
        r["Id"]: r["MasterRecordId"]
        for r in sim.expected("salesforce.Lead", include_deleted=True)
        if r["MasterRecordId"]
    }
    assert archived and merged_into and deleted and masters

    assert {
        r[0] for r in query(tmp_path, "select id from hubspot.contacts where archived")
    } == archived
    assert {
        r[0]
        for r in query(
            tmp_path, "select id from hubspot.contacts where hs_merged_object_ids is not null"
        )
    } == merged_into
    assert {
        r[0] for r in query(tmp_path, "select id from salesforce.lead where is_deleted")
    } == deleted
    assert (
        dict(
            query(
                tmp_path,
                "select id, master_record_id from salesforce.lead "
                "where master_record_id is not null",
            )
        )
        == masters
    )


# -- faults: retried, or failing without moving the cursor ----------------------------------------


@pytest.mark.parametrize(
    "inject",
    [
        lambda f: f.rate_limit(count=3, retry_after=1),
        lambda f: f.server_errors(count=3, status=503),
        lambda f: f.truncated_page(count=2),
    ],
    ids=["429-retry-after", "503-burst", "truncated-page"],
)
def test_transient_faults_are_retried_and_the_load_is_complete(sim, tmp_path, inject):
    inject(sim.faults)
    load("salesforce", sim, tmp_path, objects=["Lead", "Contact"])
    assert count(tmp_path, "salesforce.lead") == len(
        sim.expected("salesforce.Lead", include_deleted=True)
    )
    assert count(tmp_path, "salesforce.contact") == len(
        sim.expected("salesforce.Contact", include_deleted=True)
    )


def test_retry_after_is_honoured(sim, tmp_path):
    sim.faults.rate_limit(count=1, retry_after=2)
    started = datetime.now(UTC)
    load("salesforce", sim, tmp_path, objects=["User"])
    assert (datetime.now(UTC) - started).total_seconds() >= 2


def test_a_permanent_error_fails_naming_the_endpoint_and_keeps_the_cursor(sim, tmp_path):
    load("hubspot", sim, tmp_path)
    state_before = _contacts_state(tmp_path)
    sim.advance_days(1)
    sim.faults.permanent_error("/crm/v3/objects/contacts/search", status=500)
    with pytest.raises(Exception) as failed:
        load("hubspot", sim, tmp_path, request_max_attempts=2)
    message = str(failed.value)
    assert (
        "HubSpot API POST /hubspot/crm/v3/objects/contacts/search failed with HTTP 500" in message
    )
    assert _contacts_state(tmp_path) == state_before

    sim.faults.clear()
    load("hubspot", sim, tmp_path)
    assert count(tmp_path, "hubspot.contacts") == len(
        sim.expected("hubspot.contacts", include_deleted=True)
    )
    assert _contacts_state(tmp_path) != state_before


def test_a_closed_port_fails_for_good_within_seconds_naming_the_host_and_the_setting(
    tmp_path, monkeypatch
):
    import socket
    import time

    import requests

    from orchestration.defs.ingest import _is_permanent

    with socket.socket() as closed:  # a port nothing listens on any more
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    attempts, waits = [], []
    send = requests.adapters.HTTPAdapter.send
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter,
        "send",
        lambda self, request, **kw: attempts.append(request.url) or send(self, request, **kw),
    )
    monkeypatch.setattr(time, "sleep", waits.append)  # the client's and dlt's waits alike
    source = hubspot_source(base_url=f"http://127.0.0.1:{port}", access_token="t")
    pipeline = make_pipeline("hubspot", tmp_path / "w.duckdb", tmp_path / "pipelines")

    with pytest.raises(Exception) as failed:
        pipeline.run(source)

    attempts = [url for url in attempts if url.startswith(f"http://127.0.0.1:{port}/")]
    print(f"closed port: {len(attempts)} attempts, {sum(waits):.1f} s of waiting in all")
    assert _is_permanent(failed.value)  # so the ingestion step is not retried either
    assert f"connection refused by 127.0.0.1:{port}" in str(failed.value)
    assert "check SOURCES__HUBSPOT__BASE_URL" in str(failed.value)
    assert len(waits) >= 1 and len(attempts) == len(waits) + 1  # retried, each after a wait
    assert sum(waits) <= 30


def _contacts_state(home: Path) -> dict:
    pipeline = make_pipeline("hubspot", home / "w.duckdb", home / "pipelines")
    return dict(pipeline.state["sources"]["hubspot"]["resources"]["contacts"])


# -- credentials and schema drift -----------------------------------------------------------------


def test_a_refused_token_fails_fast_naming_the_setting_and_never_the_token(sim, tmp_path):
    source = hubspot_source(base_url=sim.hubspot_base_url, access_token="wrong-secret-123")
    pipeline = make_pipeline("hubspot", tmp_path / "w.duckdb", tmp_path / "pipelines")
    with pytest.raises(Exception) as failed:
        pipeline.run(source)
    assert "SOURCES__HUBSPOT__ACCESS_TOKEN" in str(failed.value)
    assert "HTTP 401" in str(failed.value)
    assert "wrong-secret-123" not in str(failed.value)


@pytest.mark.parametrize(
    ("make", "setting"),
    [
        (
            lambda: hubspot_source(base_url="http://127.0.0.1:9", access_token=None),
            "SOURCES__HUBSPOT__ACCESS_TOKEN",
        ),
        (
            lambda: salesforce_source(instance_url=None, access_token="t"),
            "SOURCES__SALESFORCE__INSTANCE_URL",
        ),
        (
            lambda: salesforce_source(instance_url=None, access_token=None),
            "SOURCES__SALESFORCE__ACCESS_TOKEN",
        ),
    ],
)
def test_missing_settings_fail_before_any_request_naming_the_key(make: Callable, setting):
    with pytest.raises(ConfigError, match=setting):
        make()


def test_a_new_source_column_lands_as_a_new_column(sim, tmp_path):
    sim.faults.new_column("contacts")
    sim.faults.new_column("Lead")
    load("hubspot", sim, tmp_path)
    load("salesforce", sim, tmp_path, objects=["Lead"])
    hubspot_columns = {r[0] for r in query(tmp_path, "describe hubspot.contacts")}
    lead_columns = {r[0] for r in query(tmp_path, "describe salesforce.lead")}
    assert hubspot_columns - {c.lower() for c in hubspot_columns} == set()
    new_hubspot = hubspot_columns - set(_declared("hubspot"))
    new_lead = lead_columns - set(_declared("salesforce.lead"))
    assert len(new_hubspot) == 1 and len(new_lead) == 1, (new_hubspot, new_lead)


def _declared(which: str) -> list[str]:
    from ingestion.sources.hubspot.settings import CONTACTS

    table = CONTACTS if which == "hubspot" else OBJECTS["Lead"]
    return [normalize(c) for c in table.column_hints()] + ["_dlt_load_id", "_dlt_id"]


def test_a_value_of_the_wrong_type_is_refused_by_the_schema_contract(sim, tmp_path):
    sim.faults.malformed_record("Opportunity")
    with pytest.raises(Exception) as failed:
        load("salesforce", sim, tmp_path, objects=["Opportunity"])
    message = str(failed.value)
    assert "opportunity" in message and "data_type" in message, message[:2000]


def test_api_errors_carry_system_endpoint_and_status():
    error = ApiError("Salesforce", "GET", "http://x/services/data/v61.0/query?q=1", 400, "bad")
    assert str(error) == "Salesforce API GET /services/data/v61.0/query failed with HTTP 400: bad"


def test_unsubscribes_land_with_their_subscription_status(sim, tmp_path):
    load("hubspot", sim, tmp_path)
    expected = sorted(
        (str(e["id"]), e["portalSubscriptionStatus"])
        for e in sim.expected("hubspot.email_events")
        if e["type"] == "STATUSCHANGE"
    )
    assert expected
    assert (
        query(
            tmp_path,
            "select id, subscription_status from hubspot.email_events "
            "where type = 'STATUSCHANGE' order by id",
        )
        == expected
    )


def test_the_search_window_is_crossed_by_restarting_from_the_last_cursor(
    sim, tmp_path, monkeypatch
):
    import ingestion.sources.hubspot.helpers as hubspot

    # The real window is 10,000 results; shrinking it makes the restart happen here.
    monkeypatch.setattr(hubspot, "SEARCH_WINDOW", 100)
    load("hubspot", sim, tmp_path, page_size=40)
    searches = [r.json for r in sim.requests.matching("/crm/v3/objects/contacts/search")]
    lower_bounds = {s["filterGroups"][0]["filters"][0]["value"] for s in searches}
    assert len(lower_bounds) >= len(sim.expected("hubspot.contacts")) // 100
    assert all(int(s.get("after", 0)) + 40 <= 100 for s in searches)
    assert count(tmp_path, "hubspot.contacts") == len(
        sim.expected("hubspot.contacts", include_deleted=True)
    )
    assert duplicates(tmp_path, "hubspot.contacts") == 0


def test_salesforce_oauth_client_credentials_flow(sim, tmp_path):
    source = salesforce_source(
        instance_url=None,
        access_token=None,
        login_url=sim.salesforce_instance_url,
        client_id=sim.config.client_id,
        client_secret=sim.config.client_secret,
        objects=["User"],
    )
    pipeline = make_pipeline("salesforce", tmp_path / "w.duckdb", tmp_path / "pipelines")
    pipeline.run(source, loader_file_format=FEEDS["salesforce"].loader_file_format)
    assert count(tmp_path, "salesforce.user") == len(sim.expected("salesforce.User"))
    with pytest.raises(Exception, match="SOURCES__SALESFORCE__CLIENT_SECRET"):
        salesforce_source(
            instance_url=None,
            access_token=None,
            login_url=sim.salesforce_instance_url,
            client_id=sim.config.client_id,
            client_secret="wrong",
        )
