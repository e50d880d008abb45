"""The simulated Salesforce Bulk API 2.0 query jobs over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import csv
import io
from datetime import date

import pytest
import requests

from simulator import SimulatedApis, SimulatorConfig

pytestmark = pytest.mark.integration
CONFIG = SimulatorConfig(seed=7, people=300, months=3, anchor=date(2026, 10, 31))
JOBS = "/services/data/v61.0/jobs/query"
LEAD_FIELDS = "Id, Company, Phone, IsDeleted, ConvertedDate, SystemModstamp"


@pytest.fixture(autouse=True)
def _clean(sim: SimulatedApis):
    sim.faults.clear()
    sim.requests.clear()
    sim.salesforce.bulk.polls_to_complete = 2
    sim.salesforce.bulk.unsupported.clear()
    yield
    sim.faults.clear()


def call(sim, http, method: str, path: str, **kwargs) -> requests.Response:
    return http.request(method, sim.salesforce_instance_url + path, timeout=10, **kwargs)


def create(sim, http, soql: str, operation: str = "queryAll") -> requests.Response:
    return call(sim, http, "POST", JOBS, json={"operation": operation, "query": soql})


def complete(sim, http, soql: str, operation: str = "queryAll") -> str:
    created = create(sim, http, soql, operation)
    assert created.status_code == 200, created.text
    job = created.json()["id"]
    while call(sim, http, "GET", f"{JOBS}/{job}").json()["state"] != "JobComplete":
        pass
    return job


def results(sim, http, job: str, max_records: int | None = None) -> list[requests.Response]:
    pages, locator = [], None
    while locator != "null":
        params = {"maxRecords": max_records} if max_records else {}
        if locator:
            params["locator"] = locator
        page = call(sim, http, "GET", f"{JOBS}/{job}/results", params=params)
        assert page.status_code == 200, page.text
        pages.append(page)
        locator = page.headers["Sforce-Locator"]
    return pages


def rows(page: requests.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(page.text)))


def test_a_job_is_upload_complete_then_in_progress_then_complete_after_its_polls(sim, http):
    sim.salesforce.bulk.polls_to_complete = 3
    created = create(sim, http, f"SELECT {LEAD_FIELDS} FROM Lead")
    info = created.json()
    assert (info["state"], info["object"], info["operation"]) == (
        "UploadComplete",
        "Lead",
        "queryAll",
    )
    assert info["id"].startswith("750") and len(info["id"]) == 18
    early = call(sim, http, "GET", f"{JOBS}/{info['id']}/results")
    assert early.status_code == 412 and early.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    states = [call(sim, http, "GET", f"{JOBS}/{info['id']}").json() for _ in range(4)]
    assert [s["state"] for s in states] == [
        "InProgress",
        "InProgress",
        "JobComplete",
        "JobComplete",
    ]
    expected = sim.expected("salesforce.Lead", include_deleted=True)
    assert states[-1]["numberRecordsProcessed"] == len(expected) == 77
    assert states[-1]["jobType"] == "V2Query"


def test_results_are_csv_sets_chained_by_locator_with_the_rest_querys_rows(sim, http):
    job = complete(sim, http, f"SELECT {LEAD_FIELDS} FROM Lead")
    pages = results(sim, http, job, max_records=30)
    assert [p.headers["Sforce-NumberOfRecords"] for p in pages] == ["30", "30", "17"]
    # the locator is the base64 of the next set's offset, as the docs' "MTAwMDA" (10000)
    assert [p.headers["Sforce-Locator"] for p in pages] == ["MzA", "NjA", "null"]
    assert base64.b64decode("MTAwMDA=") == b"10000"
    assert all(p.headers["Content-Type"].startswith("text/csv") for p in pages)
    assert pages[0].headers["Content-Encoding"] == "gzip"  # requests accepts gzip
    assert all(
        p.text.splitlines()[0] == '"Id","Company","Phone","IsDeleted",'
        '"ConvertedDate","SystemModstamp"'
        for p in pages
    )
    served = [r for p in pages for r in rows(p)]
    expected = sim.expected("salesforce.Lead", include_deleted=True)
    assert [r["Id"] for r in served] == [r["Id"] for r in expected]
    by_id = {r["Id"]: r for r in served}
    for record in expected:
        row = by_id[record["Id"]]
        assert row["IsDeleted"] == ("true" if record["IsDeleted"] else "false")
        assert row["Phone"] == (record["Phone"] or "")  # null is an empty field
        assert row["SystemModstamp"] == record["SystemModstamp"].replace("+0000", "Z")
        assert row["ConvertedDate"] == (record["ConvertedDate"] or "")
    assert any(r["IsDeleted"] == "true" for r in served)
    # a locator can be read again while the job exists
    again = call(
        sim, http, "GET", f"{JOBS}/{job}/results", params={"locator": "MzA", "maxRecords": 30}
    )
    assert again.text == pages[1].text


def test_query_hides_deleted_rows_and_query_all_shows_them(sim, http):
    live = results(sim, http, complete(sim, http, "SELECT Id FROM Lead", "query"))
    everything = results(sim, http, complete(sim, http, "SELECT Id FROM Lead", "queryAll"))
    deleted = {
        r["Id"] for r in sim.expected("salesforce.Lead", include_deleted=True) if r["IsDeleted"]
    }
    assert deleted
    assert {r["Id"] for r in rows(everything[0])} - {r["Id"] for r in rows(live[0])} == deleted


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"operation": "query", "query": "SELECT Id, Nope FROM Lead"}, "INVALID_FIELD"),
        ({"operation": "query", "query": "SELECT Id FROM Nope"}, "INVALID_TYPE"),
        ({"operation": "query", "query": "SELECT COUNT() FROM Lead"}, "MALFORMED_QUERY"),
        ({"operation": "export", "query": "SELECT Id FROM Lead"}, "API_ERROR"),
    ],
)
def test_a_job_with_a_query_salesforce_refuses_is_not_created(sim, http, body, code):
    refused = call(sim, http, "POST", JOBS, json=body)
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == code


def test_an_object_the_bulk_api_does_not_support_is_refused_with_invalidentity(sim, http):
    sim.salesforce.bulk.unsupported.add("LeadHistory")
    refused = create(sim, http, "SELECT Id FROM LeadHistory")
    assert refused.status_code == 400
    assert refused.json() == [
        {
            "errorCode": "INVALIDENTITY",
            "message": "Entity 'LeadHistory' is not supported by the Bulk API.",
        }
    ]


def test_a_failed_job_says_why_and_serves_no_results(sim, http):
    sim.salesforce.bulk.fail_next("Lead")
    other = complete(sim, http, "SELECT Id FROM Contact")  # another object is unaffected
    job = create(sim, http, "SELECT Id FROM Lead").json()["id"]
    states = [call(sim, http, "GET", f"{JOBS}/{job}").json() for _ in range(2)]
    assert [s["state"] for s in states] == ["InProgress", "Failed"]
    assert "Retried more than 15 times" in states[-1]["errorMessage"]
    assert call(sim, http, "GET", f"{JOBS}/{job}/results").status_code == 412
    assert call(sim, http, "GET", f"{JOBS}/{other}/results").status_code == 200


def test_an_open_job_can_be_aborted_and_a_finished_one_cannot(sim, http):
    job = create(sim, http, "SELECT Id FROM Lead").json()["id"]
    aborted = call(sim, http, "PATCH", f"{JOBS}/{job}", json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    assert call(sim, http, "GET", f"{JOBS}/{job}").json()["state"] == "Aborted"
    done = complete(sim, http, "SELECT Id FROM Lead")
    refused = call(sim, http, "PATCH", f"{JOBS}/{done}", json={"state": "Aborted"})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALIDJOBSTATE"


def test_results_need_the_jobs_api_version_and_a_known_job(sim, http):
    job = complete(sim, http, "SELECT Id FROM Lead")
    other_version = call(sim, http, "GET", f"/services/data/v60.0/jobs/query/{job}/results")
    assert other_version.status_code == 409
    assert call(sim, http, "GET", f"{JOBS}/7508d9999999999AAA").status_code == 404


def test_every_job_request_is_recorded_and_needs_the_token(sim, http):
    job = complete(sim, http, "SELECT Id FROM Lead")
    results(sim, http, job)
    assert [r.method for r in sim.requests.matching("/jobs/query")] == ["POST", "GET", "GET", "GET"]
    refused = requests.post(
        sim.salesforce_instance_url + JOBS,
        timeout=10,
        json={"operation": "query", "query": "SELECT Id FROM Lead"},
    )
    assert refused.status_code == 401
    assert refused.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_a_truncated_results_set_is_short_but_well_formed_csv(sim, http):
    job = complete(sim, http, "SELECT Id FROM Lead")
    sim.faults.truncated_page(count=1)
    cut = call(sim, http, "GET", f"{JOBS}/{job}/results")
    whole = call(sim, http, "GET", f"{JOBS}/{job}/results")
    assert cut.headers["Sforce-NumberOfRecords"] == whole.headers["Sforce-NumberOfRecords"]
    assert 0 < len(cut.text) < len(whole.text) and whole.text.startswith(cut.text)
