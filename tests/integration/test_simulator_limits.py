"""The simulator's vendor limits over real HTTP, in the shapes the vendors' docs give:
HubSpot's `X-HubSpot-RateLimit-*` headers and 429 bodies, search's 4/s, the burst and
daily limits by tier, OAuth tokens that expire; Salesforce's `Sforce-Limit-Info`,
`/limits`, `REQUEST_LIMIT_EXCEEDED` and sessions that end."""

from __future__ import annotations

import time
from datetime import date

import pytest
import requests

from simulator import SimulatedApis, SimulatorConfig

pytestmark = pytest.mark.integration
SMALL = {"seed": 3, "people": 40, "months": 1, "anchor": date(2026, 10, 31)}
SOQL = "/services/data/v61.0"
RATE_HEADERS = {
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
}


def _start(**config) -> SimulatedApis:
    return SimulatedApis.start(SimulatorConfig(**SMALL, **config))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _owners(sim: SimulatedApis, token: str | None = None) -> requests.Response:
    return requests.get(
        sim.hubspot_base_url + "/crm/v3/owners", headers=_bearer(token or sim.token), timeout=10
    )


def _search(sim: SimulatedApis) -> requests.Response:
    return requests.post(
        sim.hubspot_base_url + "/crm/v3/objects/contacts/search",
        json={"limit": 1},
        headers=_bearer(sim.token),
        timeout=10,
    )


def _rate_headers(response: requests.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("X-HubSpot-RateLimit")}


def test_hubspot_answers_carry_the_documented_headers_and_search_answers_none():
    with _start() as sim:  # the default tier: Professional, 190 per 10 s, 650,000 a day
        first, second = _owners(sim), _owners(sim)
        search = _search(sim)
    assert _rate_headers(first) == {
        "X-HubSpot-RateLimit-Daily": "650000",
        "X-HubSpot-RateLimit-Daily-Remaining": "649999",
        "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        "X-HubSpot-RateLimit-Max": "190",
        "X-HubSpot-RateLimit-Remaining": "189",
    }
    assert second.headers["X-HubSpot-RateLimit-Remaining"] == "188"
    assert search.status_code == 200 and _rate_headers(search) == {}


def test_hubspot_search_refuses_a_fifth_request_in_one_second_with_the_secondly_policy():
    with _start() as sim:
        answers = [_search(sim) for _ in range(5)]
        time.sleep(1.0)
        after_a_second = _search(sim)
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    body = answers[-1].json()
    assert (body["status"], body["errorType"], body["policyName"]) == (
        "error",
        "RATE_LIMIT",
        "SECONDLY",
    )
    assert after_a_second.status_code == 200


@pytest.mark.parametrize(("tier", "burst"), [("starter", 100), ("enterprise", 190)])
def test_hubspot_burst_limit_per_ten_seconds_follows_the_tier(tier, burst):
    with _start(hubspot_tier=tier) as sim:
        answers = [_owners(sim) for _ in range(burst + 1)]
    assert [a.status_code for a in answers].count(200) == burst
    refused = answers[-1]
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert refused.headers["X-HubSpot-RateLimit-Max"] == str(burst)
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"


def test_hubspot_daily_limit_refuses_with_the_daily_policy_until_the_next_day():
    with _start(hubspot_daily_limit=3) as sim:
        answers = [_owners(sim) for _ in range(4)]
        sim.advance_days(1)
        next_day = _owners(sim)
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-HubSpot-RateLimit-Daily-Remaining"] for a in answers] == [
        "2",
        "1",
        "0",
        "0",
    ]
    assert answers[-1].json()["policyName"] == "DAILY"
    assert next_day.status_code == 200
    assert next_day.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "2"


def test_hubspot_oauth_token_expires_after_expires_in_and_the_private_app_token_does_not():
    with _start(hubspot_token_seconds=1) as sim:
        url = sim.hubspot_base_url + "/oauth/v1/token"
        form = {
            "grant_type": "refresh_token",
            "client_id": sim.config.client_id,
            "client_secret": sim.config.client_secret,
            "refresh_token": sim.config.refresh_token,
        }
        issued = requests.post(url, data=form, timeout=10)
        token = issued.json()["access_token"]
        fresh = _owners(sim, token)
        time.sleep(1.1)
        expired = _owners(sim, token)
        static = _owners(sim)
        wrong = requests.post(url, data={**form, "refresh_token": "nope"}, timeout=10)
    assert issued.status_code == 200
    assert set(issued.json()) == {"token_type", "refresh_token", "access_token", "expires_in"}
    assert issued.json()["expires_in"] == 1 and token != sim.token
    assert fresh.status_code == 200
    # a public (OAuth) app: its own burst limit and no daily limit, so no Daily headers
    assert set(_rate_headers(fresh)) == RATE_HEADERS - {
        "X-HubSpot-RateLimit-Daily",
        "X-HubSpot-RateLimit-Daily-Remaining",
    }
    assert fresh.headers["X-HubSpot-RateLimit-Max"] == "110"
    assert (expired.status_code, expired.json()["category"]) == (401, "EXPIRED_AUTHENTICATION")
    assert static.status_code == 200
    assert (wrong.status_code, wrong.json()["status"]) == (400, "BAD_REFRESH_TOKEN")


def test_salesforce_answers_carry_sforce_limit_info_and_limits_reports_daily_requests():
    with _start() as sim:
        describe = requests.get(
            sim.salesforce_instance_url + f"{SOQL}/sobjects/Lead/describe",
            headers=_bearer(sim.token),
            timeout=10,
        )
        limits = requests.get(
            sim.salesforce_instance_url + f"{SOQL}/limits", headers=_bearer(sim.token), timeout=10
        )
    assert describe.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    assert limits.status_code == 200
    assert limits.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    assert limits.json()["DailyApiRequests"] == {"Max": 100000, "Remaining": 99998}


def test_salesforce_spent_allocation_is_refused_with_request_limit_exceeded():
    with _start(salesforce_daily_limit=2) as sim:
        answers = [
            requests.get(
                sim.salesforce_instance_url + f"{SOQL}/query",
                params={"q": "SELECT Id FROM User"},
                headers=_bearer(sim.token),
                timeout=10,
            )
            for _ in range(3)
        ]
    assert [a.status_code for a in answers] == [200, 200, 403]
    assert answers[-1].json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert answers[-1].headers["Sforce-Limit-Info"] == "api-usage=2/2"


def test_salesforce_sessions_end_after_their_lifetime_and_when_the_fault_ends_them():
    with _start(salesforce_session_seconds=1) as sim:
        url = sim.salesforce_instance_url + "/services/oauth2/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": sim.config.client_id,
            "client_secret": sim.config.client_secret,
        }

        def describe(token: str) -> requests.Response:
            return requests.get(
                sim.salesforce_instance_url + f"{SOQL}/sobjects/Lead/describe",
                headers=_bearer(token),
                timeout=10,
            )

        short = requests.post(url, data=form, timeout=10).json()["access_token"]
        alive = describe(short).status_code
        time.sleep(1.1)
        ended = describe(short)
        session = requests.post(url, data=form, timeout=10).json()["access_token"]
        sim.faults.expire_sessions(after=1)
        before, after = describe(session).status_code, describe(session)
        static = describe(sim.token).status_code
    assert alive == 200 and before == 200 and static == 200
    for refused in (ended, after):
        assert refused.status_code == 401
        assert refused.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]
