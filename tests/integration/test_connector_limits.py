"""The connectors within the vendors' limits, on the simulator (which enforces them):
pacing without 429s, refusals waited out, tokens and sessions renewed, and the nightly
quota share stopping a night cleanly so that the next nights resume it exactly.

Counts of refusals come from the simulator's request log, never from the connector."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
import requests

from ingestion.pipelines import FEEDS, make_pipeline
from ingestion.sources.hubspot import hubspot_source
from ingestion.sources.limits import ApiUsage
from ingestion.sources.salesforce import salesforce_source
from ingestion.sources.salesforce.settings import OBJECTS
from simulator import SimulatedApis, SimulatorConfig
from tests.support.hubspot_tasks import create_tasks

pytestmark = pytest.mark.integration
WORLD = {"seed": 7, "people": 300, "months": 3, "anchor": date(2026, 10, 31)}
FAST = {"request_backoff_factor": 0.01}


def _hubspot(sim: SimulatedApis, usage: ApiUsage | None = None, **options):
    return hubspot_source(
        base_url=sim.hubspot_base_url, access_token=sim.token, usage=usage, **FAST, **options
    )


def _salesforce(sim: SimulatedApis, usage: ApiUsage | None = None, **options):
    return salesforce_source(
        instance_url=sim.salesforce_instance_url,
        access_token=sim.token,
        usage=usage,
        **FAST,
        **options,
    )


def _run(feed: str, source, home: Path, warehouse: str = "w") -> None:
    pipeline = make_pipeline(feed, home / f"{warehouse}.duckdb", home / f"pipelines_{warehouse}")
    pipeline.run(source, loader_file_format=FEEDS[feed].loader_file_format)


def _count(home: Path, table: str, warehouse: str = "w") -> int:
    with duckdb.connect(str(home / f"{warehouse}.duckdb"), read_only=True) as con:
        return con.sql(f"select count(*) from {table}").fetchall()[0][0]


def _tables(home: Path, feed: str, warehouse: str) -> dict[str, list[str]]:
    """Every raw table of `feed`, its rows as sorted texts, dlt's own columns left out."""
    with duckdb.connect(str(home / f"{warehouse}.duckdb"), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "and table_name not like '\\_dlt%' escape '\\'",
                [feed],
            ).fetchall()
        ]
        out = {}
        for name in names:
            columns = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? and column_name not like '\\_dlt%' escape '\\' "
                    "order by column_name",
                    [feed, name],
                ).fetchall()
            ]
            select = ", ".join(f'"{c}"' for c in columns)
            out[name] = sorted(
                map(repr, con.execute(f'select {select} from {feed}."{name}"').fetchall())
            )
        return out


# -- pacing: a normal night is never refused ---------------------------------------------------


def test_a_normal_night_gets_no_429_while_search_runs_at_four_a_second(tmp_path):
    with SimulatedApis.start(SimulatorConfig(**WORLD)) as sim:
        hubspot, salesforce = ApiUsage(), ApiUsage()
        started = time.monotonic()
        _run("hubspot", _hubspot(sim, hubspot, page_size=40), tmp_path)  # many search pages
        hubspot_seconds = time.monotonic() - started
        _run("salesforce", _salesforce(sim, salesforce, batch_size=200), tmp_path)
        searches = sim.requests.matching("/search")
        statuses = {s: sim.requests.statuses(s) for s in ("hubspot", "salesforce")}
        contacts = len(sim.expected("hubspot.contacts", include_deleted=True))
    print(
        f"hubspot: {hubspot.calls} calls in {hubspot_seconds:.1f} s, {hubspot.paced_seconds:.1f}"
        f" s paced; salesforce: {salesforce.calls} calls, {salesforce.paced_seconds:.1f} s paced"
    )
    assert statuses == {"hubspot": {200: hubspot.calls}, "salesforce": {200: salesforce.calls}}
    assert len(searches) >= 9  # more than two seconds' worth of search at 4/s
    assert hubspot.paced_seconds > 0 and hubspot.refused == 0
    assert _count(tmp_path, "hubspot.contacts") == contacts
    assert salesforce.daily_limit == 100_000 and salesforce.share_used == salesforce.calls / 1e5


def _other_client_calls(sim: SimulatedApis, calls: int) -> None:
    """Calls another integration of the same HubSpot account makes in the burst window."""
    for _ in range(calls):
        requests.get(
            sim.hubspot_base_url + "/crm/v3/owners",
            headers={"Authorization": f"Bearer {sim.token}"},
            timeout=10,
        )


def test_other_clients_use_of_the_burst_window_is_read_from_the_headers_and_waited_for(
    tmp_path,
):
    with SimulatedApis.start(SimulatorConfig(**WORLD, hubspot_tier="starter")) as sim:
        _other_client_calls(sim, 95)  # another integration: 95 of the 100 per 10 s
        sim.requests.clear()
        usage = ApiUsage()
        _run("hubspot", _hubspot(sim, usage), tmp_path)
        statuses = sim.requests.statuses("hubspot")
        owners = len(sim.expected("hubspot.owners", include_deleted=True))
    assert statuses == {200: usage.calls}
    assert usage.paced_seconds >= 5  # until the other client's calls left the window
    assert _count(tmp_path, "hubspot.owners") == owners


# -- refusals that come anyway are waited out ------------------------------------------------


def test_a_forced_429_is_retried_after_its_retry_after_and_the_load_completes(
    tmp_path, monkeypatch
):
    sleep, waits = time.sleep, []
    monkeypatch.setattr(time, "sleep", lambda s: waits.append(s) or sleep(s))
    with SimulatedApis.start(SimulatorConfig(**WORLD)) as sim:
        # a SECONDLY body (its policy alone would wait 1 s) with a longer Retry-After
        sim.faults.rate_limit(count=2, retry_after=2, path_contains="/crm/v3/owners")
        usage = ApiUsage()
        _run("hubspot", _hubspot(sim, usage), tmp_path)
        refused = sim.requests.statuses("hubspot").get(429, 0)
        owners = len(sim.expected("hubspot.owners", include_deleted=True))
    assert refused == 2 and usage.refused == 2
    assert [w for w in waits if w >= 1] == [2.0, 2.0]  # as Retry-After said, each time
    assert _count(tmp_path, "hubspot.owners") == owners


def test_an_exhausted_burst_window_is_waited_out_by_its_policy_and_the_load_completes(tmp_path):
    with SimulatedApis.start(SimulatorConfig(**WORLD, hubspot_tier="starter")) as sim:
        _other_client_calls(sim, 100)  # the account's whole window, spent by another client
        sim.requests.clear()
        usage = ApiUsage()
        _run("hubspot", _hubspot(sim, usage), tmp_path)
        refusals = [r for r in sim.requests if r.status == 429]
        contacts = len(sim.expected("hubspot.contacts", include_deleted=True))
    # the first call learns the window is full (no Retry-After: the policy's interval)
    assert len(refusals) == 1 and usage.refused == 1
    assert _count(tmp_path, "hubspot.contacts") == contacts


def test_a_spent_daily_limit_ends_the_night_cleanly_without_failing_it(tmp_path):
    config = SimulatorConfig(**WORLD, hubspot_daily_limit=5, salesforce_daily_limit=5)
    with SimulatedApis.start(config) as sim:
        headers = {"Authorization": f"Bearer {sim.token}"}
        for _ in range(5):  # other integrations spent both days' limits
            requests.get(sim.hubspot_base_url + "/crm/v3/owners", headers=headers, timeout=10)
            requests.get(
                sim.salesforce_instance_url + "/services/data/v61.0/sobjects",
                headers=headers,
                timeout=10,
            )
        hubspot, salesforce = ApiUsage(quota_share=1.0), ApiUsage(quota_share=1.0)
        _run("hubspot", _hubspot(sim, hubspot), tmp_path)
        _run("salesforce", _salesforce(sim, salesforce), tmp_path)
    assert hubspot.stopped_at_quota and salesforce.stopped_at_quota
    assert len(hubspot.stopped) == 8  # every resource (the history follows contacts)
    assert sorted(salesforce.stopped) == sorted(t.name for t in OBJECTS.values())
    assert (hubspot.calls, salesforce.calls) == (1, 1)  # the refusal; then nothing more


# -- tokens and sessions -----------------------------------------------------------------------


def test_a_salesforce_session_ended_mid_run_is_renewed_and_the_same_request_sent_again(tmp_path):
    with SimulatedApis.start(SimulatorConfig(**WORLD)) as sim:
        sim.faults.expire_sessions(after=7)
        usage = ApiUsage()
        source = salesforce_source(
            instance_url=None,
            access_token=None,
            login_url=sim.salesforce_instance_url,
            client_id=sim.config.client_id,
            client_secret=sim.config.client_secret,
            usage=usage,
            **FAST,
        )
        _run("salesforce", source, tmp_path)
        log = [r for r in sim.requests if r.system == "salesforce"]
        leads = len(sim.expected("salesforce.Lead", include_deleted=True))
        tasks = len(sim.expected("salesforce.Task", include_deleted=True))
    token_requests = [r for r in log if r.path.endswith("/oauth2/token")]
    refused = [i for i, r in enumerate(log) if r.status == 401]
    assert len(refused) == 1 and len(token_requests) == 2 and usage.token_fetches == 2
    ended, renewal, again = log[refused[0]], log[refused[0] + 1], log[refused[0] + 2]
    assert renewal.path.endswith("/oauth2/token")
    assert (again.path, again.query, again.status) == (ended.path, ended.query, 200)
    assert ended.headers["authorization"] != again.headers["authorization"]
    assert _count(tmp_path, "salesforce.lead") == leads
    assert _count(tmp_path, "salesforce.task") == tasks


def test_the_hubspot_oauth_token_is_renewed_by_its_ttl_before_any_401(tmp_path):
    with SimulatedApis.start(SimulatorConfig(**WORLD, hubspot_token_seconds=2)) as sim:
        usage = ApiUsage()
        source = hubspot_source(
            base_url=sim.hubspot_base_url,
            access_token=None,
            client_id=sim.config.client_id,
            client_secret=sim.config.client_secret,
            refresh_token=sim.config.refresh_token,
            page_size=40,  # a night longer than a token's lifetime
            usage=usage,
            **FAST,
        )
        started = time.monotonic()
        _run("hubspot", source, tmp_path)
        seconds = time.monotonic() - started
        statuses = sim.requests.statuses("hubspot")
        token_requests = sim.requests.matching("/oauth/v1/token")
        contacts = len(sim.expected("hubspot.contacts", include_deleted=True))
    assert seconds > 2
    assert 401 not in statuses and set(statuses) == {200}
    assert len(token_requests) >= 2 and usage.token_fetches == len(token_requests)
    # an OAuth app has no daily limit at HubSpot: nothing to take a share of
    assert usage.daily_limit is None and not usage.stopped_at_quota
    assert _count(tmp_path, "hubspot.contacts") == contacts


# -- the nightly quota share -------------------------------------------------------------------

QUOTA_CASES = {
    # 300 people: contacts over several search pages, events and submissions over several
    # pages; 22 calls a night (of ~60 for an uninterrupted load).
    "hubspot": (
        {**WORLD, "hubspot_daily_limit": 44},
        {"page_size": 50},
    ),
    # objects spanning several query pages, stopped in the middle of them.
    "salesforce": (
        {**WORLD, "people": 1000, "salesforce_daily_limit": 16},
        {"batch_size": 200, "objects": ["CampaignMember", "Task", "LeadHistory", "Lead"]},
    ),
}


@pytest.mark.parametrize("feed", sorted(QUOTA_CASES))
def test_nights_stopped_at_the_quota_resume_and_equal_one_uninterrupted_load(tmp_path, feed):
    config, options = QUOTA_CASES[feed]
    make = _hubspot if feed == "hubspot" else _salesforce
    nights: list[ApiUsage] = []
    with SimulatedApis.start(SimulatorConfig(**config)) as sim:
        while not nights or nights[-1].stopped_at_quota:
            assert len(nights) < 10, [n.as_metadata() for n in nights]
            if nights:
                sim.advance_days(1)  # a new day: a new daily limit
            nights.append(ApiUsage(quota_share=0.5))
            _run(feed, make(sim, nights[-1], **options), tmp_path, "stopped")
        refusals = {s: n for s, n in sim.requests.statuses(feed).items() if s != 200}
        days = len(nights) - 1
    unlimited = {k: v for k, v in config.items() if not k.endswith("_daily_limit")}
    with SimulatedApis.start(SimulatorConfig(**unlimited)) as reference:
        reference.advance_days(days)
        once = ApiUsage(quota_share=1.0)
        _run(feed, make(reference, once, **options), tmp_path, "once")
    print(f"{feed}: {[n.calls for n in nights]} calls a night; uninterrupted {once.calls}")
    budget = config[f"{feed}_daily_limit"] // 2
    assert len(nights) >= 3 and not once.stopped_at_quota
    assert nights[0].stopped and once.calls > budget
    # the budget is checked before each page; only a page's unfinished work goes past it
    assert all(n.calls <= budget + 6 for n in nights)
    assert refusals == {}  # never the vendor's own limit
    stopped, uninterrupted = _tables(tmp_path, feed, "stopped"), _tables(tmp_path, feed, "once")
    assert sorted(stopped) == sorted(uninterrupted)
    for table, rows in uninterrupted.items():
        # a world has no tasks until a client writes them
        assert (rows or table == "tasks") and stopped[table] == rows, table


# Each HubSpot resource alone, its first night(s) cut short by a small share, the last with
# room to finish: (resources, page size, calls the first nights may spend, the list API's
# page size if smaller). The sizes put the cut in the middle of what the resource reads.
RESOURCE_CASES = {
    "contacts": (("contacts", "contact_property_history"), 20, [5, 5], None),
    "contacts_archived": (("contacts",), 20, [15], 2),  # the archived scan read in part
    "companies": (("companies",), 20, [3], None),
    "owners": (("owners",), 2, [3], None),  # two lists, six pages: a list read in part
    "forms": (("forms",), 2, [1], None),
    "campaigns": (("campaigns",), 2, [2], None),
    "form_submissions": (("form_submissions",), 10, [15], None),  # a form whole, one in part
    "email_events": (("email_events",), 100, [5, 5], None),  # a gap, then the gap in part
    "tasks": (("tasks",), 2, [3], None),  # the list read in part: its cursor stays
}
TASKS_WRITTEN = 9  # tasks exist once a client writes them


@pytest.mark.parametrize("case", sorted(RESOURCE_CASES))
def test_a_hubspot_resource_stopped_at_the_quota_keeps_its_cursor_on_what_it_loaded(
    tmp_path, monkeypatch, case
):
    import ingestion.sources.hubspot.settings as hubspot

    resources, page_size, budgets, list_page = RESOURCE_CASES[case]
    if list_page:
        monkeypatch.setitem(hubspot.MAX_PAGE, "list", list_page)
    config = SimulatorConfig(**WORLD, hubspot_daily_limit=1000)
    nights: list[ApiUsage] = []
    with SimulatedApis.start(config) as sim:
        if "tasks" in resources:
            create_tasks(sim, TASKS_WRITTEN)
        for budget in [*budgets, 1000]:
            if nights:
                sim.advance_days(1)
            nights.append(ApiUsage(quota_share=budget / 1000))
            source = _hubspot(sim, nights[-1], page_size=page_size)
            _run("hubspot", source.with_resources(*resources), tmp_path, "stopped")
        days = len(nights) - 1
    with SimulatedApis.start(SimulatorConfig(**WORLD)) as reference:
        if "tasks" in resources:
            create_tasks(reference, TASKS_WRITTEN)
        reference.advance_days(days)
        source = _hubspot(reference, ApiUsage(), page_size=page_size)
        _run("hubspot", source.with_resources(*resources), tmp_path, "once")
    assert [bool(n.stopped) for n in nights] == [True] * len(budgets) + [False]
    stopped = _tables(tmp_path, "hubspot", "stopped")
    uninterrupted = _tables(tmp_path, "hubspot", "once")
    assert sorted(stopped) == sorted(uninterrupted) == sorted(resources)
    for table, rows in uninterrupted.items():
        assert rows and stopped[table] == rows, table


# -- Salesforce Bulk API 2.0 jobs (results in no order) within the quota ---------------------


def test_a_bulk_job_begun_within_the_quota_is_finished_and_its_object_lands_whole(tmp_path):
    with SimulatedApis.start(SimulatorConfig(**WORLD, salesforce_daily_limit=1000)) as sim:
        usage = ApiUsage(quota_share=3 / 1000)  # describe and create a job; then no more
        _run("salesforce", _salesforce(sim, usage, objects=["Task", "Lead"]), tmp_path)
        jobs = [r for r in sim.requests.matching("/jobs/query") if r.method == "POST"]
        tasks = len(sim.expected("salesforce.Task", include_deleted=True))
    assert len(jobs) == 1 and "FROM Task" in jobs[0].json["query"]
    assert usage.calls > 3 and usage.stopped == ["lead"]  # the job's polls and results
    assert _count(tmp_path, "salesforce.task") == tasks
    assert _count(tmp_path, "salesforce.lead") == 0


def test_the_daily_limit_spent_in_the_middle_of_a_bulk_job_fails_the_load_keeping_nothing(
    tmp_path,
):
    with SimulatedApis.start(SimulatorConfig(**WORLD, salesforce_daily_limit=3)) as sim:
        usage = ApiUsage(quota_share=1.0)
        with pytest.raises(Exception, match="spent before work already begun could finish"):
            _run("salesforce", _salesforce(sim, usage, objects=["Task"]), tmp_path)
        statuses = sim.requests.statuses("salesforce")
    # REQUEST_LIMIT_EXCEEDED for the job's first poll (the third call), then for its abort
    assert statuses == {200: 3, 403: 2}
    pipeline = make_pipeline("salesforce", tmp_path / "w.duckdb", tmp_path / "pipelines_w")
    assert "task" not in (pipeline.state.get("sources") or {}).get("salesforce", {}).get(
        "resources", {}
    )
