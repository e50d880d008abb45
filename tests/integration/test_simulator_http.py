"""The simulated APIs over real HTTP on 127.0.0.1: paging, filters, SOQL, faults, auth."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest
import requests

from simulator import SimulatedApis, SimulatorConfig
from simulator.formats import epoch_ms, hubspot_datetime, parse_instant

pytestmark = pytest.mark.integration
CONFIG = SimulatorConfig(seed=42, people=500, months=6, anchor=date(2026, 10, 31))
SOQL = "/services/data/v61.0"


@pytest.fixture(autouse=True)
def _clean(sim: SimulatedApis):
    sim.faults.clear()
    sim.requests.clear()
    yield
    sim.faults.clear()


_SEARCHES: list[float] = []  # when this module's searches were answered


def hs(sim, http, method: str, path: str, **kwargs) -> requests.Response:
    searching = path.endswith("/search")
    if searching:  # a well-behaved client: HubSpot allows 4 searches a second per token
        recent = [t for t in _SEARCHES if time.monotonic() - t < 1.0]
        if len(recent) >= 4:
            time.sleep(recent[-4] + 1.0 - time.monotonic())
    response = http.request(method, sim.hubspot_base_url + path, timeout=10, **kwargs)
    if searching:
        _SEARCHES.append(time.monotonic())
    return response


def sf(sim, http, path: str, **kwargs) -> requests.Response:
    return http.get(sim.salesforce_instance_url + path, timeout=10, **kwargs)


def search_all(sim, http, object_type: str, body: dict) -> list[dict]:
    out, after = [], None
    while True:
        page = hs(sim, http, "POST", f"/crm/v3/objects/{object_type}/search",
                  json=dict(body, **({"after": after} if after else {})))
        assert page.status_code == 200, page.text
        out.extend(page.json()["results"])
        after = page.json().get("paging", {}).get("next", {}).get("after")
        if after is None:
            return out


def get_all(sim, http, path: str, params: dict) -> list[dict]:
    out, query = [], dict(params)
    while True:
        page = hs(sim, http, "GET", path, params=query).json()
        out.extend(page["results"])
        if "paging" not in page:
            return out
        query["after"] = page["paging"]["next"]["after"]


def soql_all(sim, http, soql: str, endpoint: str = "query", batch: int | None = None):
    headers = {"Sforce-Query-Options": f"batchSize={batch}"} if batch else {}
    page = sf(sim, http, f"{SOQL}/{endpoint}", params={"q": soql}, headers=headers).json()
    pages = [page]
    while not page["done"]:
        page = http.get(sim.salesforce_instance_url + page["nextRecordsUrl"],
                        headers=headers, timeout=10).json()
        pages.append(page)
    return pages, [r for p in pages for r in p["records"]]


# -- HubSpot -----------------------------------------------------------------------------
def test_search_pages_return_every_contact_exactly_once(sim, http) -> None:
    results = search_all(sim, http, "contacts", {
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["email", "lifecyclestage"], "limit": 100})
    ids = [r["id"] for r in results]
    expected = {c["id"] for c in sim.expected("hubspot.contacts")}
    assert len(ids) == len(set(ids)) == len(expected) == 427
    assert set(ids) == expected
    stamps = [r["properties"]["lastmodifieddate"] for r in results]
    assert stamps == sorted(stamps)
    assert len(sim.requests.matching("/contacts/search")) == 5


def test_search_filter_on_lastmodifieddate_is_honoured(sim, http) -> None:
    cutoff = sim.as_of - timedelta(days=10)
    body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                                           "operator": "GT", "value": str(epoch_ms(cutoff))}]}],
            "properties": ["email"], "limit": 200}
    results = search_all(sim, http, "contacts", body)
    expected = [c for c in sim.expected("hubspot.contacts")
                if parse_instant(c["properties"]["lastmodifieddate"]) > cutoff]
    assert len(results) == len(expected) == 70
    iso = dict(body, filterGroups=[{"filters": [{"propertyName": "lastmodifieddate",
                                                 "operator": "GT",
                                                 "value": hubspot_datetime(cutoff)}]}])
    first = hs(sim, http, "POST", "/crm/v3/objects/contacts/search", json=iso).json()
    assert first["total"] == 70
    assert sim.requests[0].json["filterGroups"][0]["filters"][0]["operator"] == "GT"


def test_companies_search_filters_on_hs_lastmodifieddate(sim, http) -> None:
    body = {"filterGroups": [{"filters": [{"propertyName": "hs_lastmodifieddate",
                                           "operator": "LTE", "value": "2026-07-01"}]}],
            "properties": ["name", "salesforceaccountid"], "limit": 200}
    results = search_all(sim, http, "companies", body)
    expected = [c for c in sim.expected("hubspot.companies")
                if c["properties"]["hs_lastmodifieddate"] <= "2026-07-01"]
    assert len(results) == len(expected) == 63


def test_search_window_of_ten_thousand_is_enforced(sim, http) -> None:
    path = "/crm/v3/objects/contacts/search"
    refused = hs(sim, http, "POST", path, json={"limit": 200, "after": "9900"})
    assert refused.status_code == 400
    assert refused.json()["category"] == "VALIDATION_ERROR"
    assert hs(sim, http, "POST", path, json={"limit": 200, "after": "9800"}).status_code == 200


def test_list_endpoint_shows_archived_contacts_separately(sim, http) -> None:
    archived = get_all(sim, http, "/crm/v3/objects/contacts",
                       {"archived": "true", "limit": 2, "properties": "email"})
    everything = sim.expected("hubspot.contacts", include_deleted=True)
    expected = {c["id"] for c in everything if c["archived"]}
    assert {c["id"] for c in archived} == expected and len(archived) == 7
    assert all(c["archived"] is True and c["archivedAt"] for c in archived)
    active = get_all(sim, http, "/crm/v3/objects/contacts", {"limit": 100})
    assert len(active) == 427


def test_batch_read_returns_history_newest_first(sim, http) -> None:
    contacts = sim.expected("hubspot.contacts")
    customer = next(c for c in contacts if c["properties"]["lifecyclestage"] == "customer")
    body = {"inputs": [{"id": customer["id"]}], "properties": ["email"],
            "propertiesWithHistory": ["lifecyclestage", "hubspotscore"]}
    result = hs(sim, http, "POST", "/crm/v3/objects/contacts/batch/read", json=body).json()
    history = result["results"][0]["propertiesWithHistory"]["lifecyclestage"]
    assert history[0]["value"] == "customer"
    assert [h["value"] for h in history][-1] in ("lead", "subscriber")
    assert [h["timestamp"] for h in history] == sorted((h["timestamp"] for h in history),
                                                       reverse=True)
    too_many = dict(body, inputs=[{"id": c["id"]} for c in contacts[:51]])
    refused = hs(sim, http, "POST", "/crm/v3/objects/contacts/batch/read", json=too_many)
    assert refused.status_code == 400


def test_properties_owners_forms_and_campaigns(sim, http) -> None:
    props = hs(sim, http, "GET", "/crm/v3/properties/contacts").json()["results"]
    assert len(props) == 30 and all(p["hubspotDefined"] for p in props)
    owners = get_all(sim, http, "/crm/v3/owners", {"limit": 5})
    archived = get_all(sim, http, "/crm/v3/owners", {"limit": 5, "archived": "true"})
    assert (len(owners), len(archived)) == (12, 1)
    forms = get_all(sim, http, "/marketing/v3/forms", {"limit": 2})
    assert len(forms) == 5
    campaigns = get_all(sim, http, "/marketing/v3/campaigns",
                        {"limit": 3, "properties": "hs_name,hs_utm"})
    assert len(campaigns) == 10
    assert set(campaigns[0]["properties"]) == {"hs_name", "hs_utm"}


def test_form_submissions_page_newest_first(sim, http) -> None:
    total = 0
    for form in get_all(sim, http, "/marketing/v3/forms", {"limit": 100}):
        path = f"/form-integrations/v1/submissions/forms/{form['id']}"
        submissions = get_all(sim, http, path, {"limit": 50})
        times = [s["submittedAt"] for s in submissions]
        assert times == sorted(times, reverse=True)
        total += len(submissions)
    assert total == len(sim.expected("hubspot.form_submissions")) == 889
    too_big = hs(sim, http, "GET", path, params={"limit": 51})
    assert too_big.status_code == 400


def test_email_events_page_with_offset(sim, http) -> None:
    start = epoch_ms(sim.as_of - timedelta(days=30))
    params = {"startTimestamp": start, "limit": 1000}
    seen = []
    while True:
        body = hs(sim, http, "GET", "/email/public/v1/events", params=params).json()
        seen.extend(e["id"] for e in body["events"])
        if not body["hasMore"]:
            break
        params["offset"] = body["offset"]
    expected = [e for e in sim.expected("hubspot.email_events") if e["created"] >= start]
    assert len(seen) == len(set(seen)) == len(expected) == 512


# -- Salesforce --------------------------------------------------------------------------
def test_query_hides_deleted_rows_and_query_all_shows_them(sim, http) -> None:
    _, live = soql_all(sim, http, "SELECT Id, IsDeleted FROM Lead")
    _, every = soql_all(sim, http, "SELECT Id, IsDeleted, MasterRecordId FROM Lead",
                        endpoint="queryAll")
    assert (len(live), len(every)) == (171, 177)
    assert sum(r["IsDeleted"] for r in every) == 6
    assert sum(1 for r in every if r["MasterRecordId"]) == 3


def test_next_records_url_pages_with_batch_size(sim, http) -> None:
    pages, records = soql_all(sim, http, "SELECT Id, Status FROM CampaignMember", batch=200)
    assert [len(p["records"]) for p in pages] == [200, 200, 51]
    assert pages[0]["totalSize"] == 451 and "nextRecordsUrl" not in pages[-1]
    assert len({r["Id"] for r in records}) == 451
    assert records[0]["attributes"]["type"] == "CampaignMember"


def test_soql_where_order_and_limit(sim, http) -> None:
    lower, upper = "2026-08-01T00:00:00Z", "2026-09-01T00:00:00.000+0000"
    soql = (f"SELECT Id, SystemModstamp FROM Opportunity WHERE SystemModstamp > {lower} "
            f"AND SystemModstamp <= {upper} ORDER BY SystemModstamp ASC")
    _, records = soql_all(sim, http, soql)
    expected = [o for o in sim.expected("salesforce.Opportunity")
                if "2026-08-01" <= o["SystemModstamp"] < "2026-09-01"]
    assert len(records) == len(expected) == 7
    stamps = [r["SystemModstamp"] for r in records]
    assert stamps == sorted(stamps)
    _, limited = soql_all(sim, http, "SELECT Id, CreatedDate FROM LeadHistory "
                                     "ORDER BY CreatedDate DESC LIMIT 7")
    assert len(limited) == 7
    assert limited[0]["CreatedDate"] == max(h["CreatedDate"]
                                            for h in sim.expected("salesforce.LeadHistory"))


@pytest.mark.parametrize("soql, code", [
    ("SELECT Id, Foo FROM Lead", "INVALID_FIELD"),
    ("SELECT Id FROM Leads", "INVALID_TYPE"),
    ("SELECT FROM Lead WHERE", "MALFORMED_QUERY"),
    ("SELECT Id FROM Lead WHERE SystemModstamp > yesterday-ish", "MALFORMED_QUERY"),
])
def test_bad_soql_gets_salesforce_error_codes(sim, http, soql: str, code: str) -> None:
    response = sf(sim, http, f"{SOQL}/query", params={"q": soql})
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code
    if code == "INVALID_FIELD":
        assert response.json()[0]["message"].startswith("No such column 'Foo' on entity 'Lead'")


def test_describe_lists_fields(sim, http) -> None:
    fields = sf(sim, http, f"{SOQL}/sobjects/Lead/describe").json()["fields"]
    assert len(fields) == 22 and not any(f["custom"] for f in fields)
    assert sf(sim, http, f"{SOQL}/sobjects/Nope/describe").status_code == 404


def test_oauth_token_flows(sim) -> None:
    url = sim.salesforce_instance_url + "/services/oauth2/token"
    good = requests.post(url, data={"grant_type": "client_credentials", "client_id":
                                    "demo-client", "client_secret": "demo-secret"}, timeout=10)
    assert good.status_code == 200
    session = good.json()["access_token"]
    assert session != "demo-token" and session.startswith("00D")  # a session of its own
    assert good.json()["instance_url"] == sim.salesforce_instance_url
    describe = requests.get(sim.salesforce_instance_url + f"{SOQL}/sobjects/Lead/describe",
                            headers={"Authorization": f"Bearer {session}"}, timeout=10)
    assert describe.status_code == 200
    refresh = requests.post(url, data={"grant_type": "refresh_token", "client_id": "demo-client",
                                       "refresh_token": "demo-refresh"}, timeout=10)
    assert refresh.status_code == 200
    bad = requests.post(url, data={"grant_type": "client_credentials", "client_id":
                                   "demo-client", "client_secret": "wrong"}, timeout=10)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_client")


# -- auth, time and faults ---------------------------------------------------------------
def test_bad_token_gets_401_with_the_real_bodies(sim) -> None:
    bad = {"Authorization": "Bearer nope"}
    hub = requests.get(sim.hubspot_base_url + "/crm/v3/owners", headers=bad, timeout=10)
    assert (hub.status_code, hub.json()["category"]) == (401, "INVALID_AUTHENTICATION")
    sfdc = requests.get(sim.salesforce_instance_url + f"{SOQL}/query",
                        params={"q": "SELECT Id FROM Lead"}, timeout=10)
    assert sfdc.status_code == 401
    assert sfdc.json() == [{"message": "Session expired or invalid",
                            "errorCode": "INVALID_SESSION_ID"}]


def test_advance_days_makes_the_next_run_incremental(http) -> None:
    with SimulatedApis.start(CONFIG) as fresh:
        first_as_of = fresh.as_of
        body = {"filterGroups": [{"filters": [{"propertyName": "lastmodifieddate",
                                               "operator": "GT",
                                               "value": str(epoch_ms(first_as_of))}]}],
                "limit": 200}
        path = fresh.hubspot_base_url + "/crm/v3/objects/contacts/search"
        assert http.post(path, json=body, timeout=10).json()["total"] == 0
        fresh.advance_days(3)  # the anchor is a Saturday: on to Tuesday night
        assert fresh.as_of == first_as_of + timedelta(days=3)
        assert http.post(path, json=body, timeout=10).json()["total"] == 37
        soql = f"SELECT Id FROM Lead WHERE SystemModstamp > {first_as_of:%Y-%m-%dT%H:%M:%SZ}"
        _, leads = soql_all(fresh, http, soql, endpoint="queryAll")
        assert len(leads) == 5


def test_rate_limit_then_success(sim, http) -> None:
    sim.faults.rate_limit(count=2, retry_after=1)
    statuses = [hs(sim, http, "GET", "/crm/v3/owners") for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "1"


def test_server_errors_then_success(sim, http) -> None:
    sim.faults.server_errors(count=3, status=503)
    statuses = [sf(sim, http, f"{SOQL}/query", params={"q": "SELECT Id FROM User"}).status_code
                for _ in range(4)]
    assert statuses == [503, 503, 503, 200]


def test_permanent_error_until_cleared(sim, http) -> None:
    sim.faults.permanent_error(path_contains="/crm/v3/objects/contacts/search", status=500)
    path = "/crm/v3/objects/contacts/search"
    assert [hs(sim, http, "POST", path, json={}).status_code for _ in range(3)] == [500] * 3
    assert hs(sim, http, "GET", "/crm/v3/owners").status_code == 200
    sim.faults.clear()
    assert hs(sim, http, "POST", path, json={}).status_code == 200


def test_truncated_page_is_invalid_json_once(sim, http) -> None:
    sim.faults.truncated_page(count=1)
    cut = hs(sim, http, "GET", "/crm/v3/owners")
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.text)
    assert len(hs(sim, http, "GET", "/crm/v3/owners").json()["results"]) == 12


def test_malformed_record_spoils_one_value(sim, http) -> None:
    sim.faults.malformed_record(object="contacts")
    results = search_all(sim, http, "contacts", {"properties": ["hubspotscore"], "limit": 200})
    assert [r["id"] for r in results if r["properties"]["hubspotscore"] == "abc"] != []
    assert sum(r["properties"]["hubspotscore"] == "abc" for r in results) == 1
    sim.faults.malformed_record(object="salesforce.Opportunity")
    _, opps = soql_all(sim, http, "SELECT Id, Amount FROM Opportunity")
    assert [o["Amount"] for o in opps].count("n/a") == 1


def test_new_column_appears_in_metadata_and_records(sim, http) -> None:
    refused = sf(sim, http, f"{SOQL}/query", params={"q": "SELECT Id, Region__c FROM Lead"})
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD"
    sim.faults.new_column(object="Lead")
    sim.faults.new_column(object="contacts")
    fields = sf(sim, http, f"{SOQL}/sobjects/Lead/describe").json()["fields"]
    assert [f["name"] for f in fields if f["custom"]] == ["Region__c"]
    _, leads = soql_all(sim, http, "SELECT Id, Region__c FROM Lead")
    assert {lead["Region__c"] for lead in leads} == {"EMEA", "NA", "APAC", "LATAM"}
    props = hs(sim, http, "GET", "/crm/v3/properties/contacts").json()["results"]
    custom = [p["name"] for p in props if not p["hubspotDefined"]]
    assert custom == ["lb_region"]
    page = hs(sim, http, "POST", "/crm/v3/objects/contacts/search",
              json={"properties": custom, "limit": 5}).json()
    assert all(r["properties"]["lb_region"] for r in page["results"])


def test_command_line_serves_and_prints_urls() -> None:
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--port", "0", "--people", "40"],
        stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(4)]
        hubspot_url = lines[1].split()[-1]
        token = lines[3].split()[-1]
        assert hubspot_url.startswith("http://127.0.0.1:") and hubspot_url.endswith("/hubspot")
        response = requests.get(hubspot_url + "/crm/v3/owners",
                                headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert len(response.json()["results"]) == 4  # 3 reps + 2 marketers, 1 rep left
    finally:
        process.terminate()
        process.wait(timeout=10)
