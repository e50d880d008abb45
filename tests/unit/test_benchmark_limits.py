"""The benchmark's model of the vendors' limits: which calls count, the least time the
limits allow, and how a night's calls grow with the people."""

from types import SimpleNamespace

import pytest

from benchmarks import limits

pytestmark = pytest.mark.unit


def _request(path: str, status: int = 200) -> SimpleNamespace:
    return SimpleNamespace(system=path.split("/")[1], path=path, status=status)


def test_only_calls_the_vendor_counts_are_counted_by_kind() -> None:
    counts = limits.count_calls(
        [
            _request("/hubspot/oauth/v1/token"),
            _request("/hubspot/crm/v3/objects/contacts/search"),
            _request("/hubspot/crm/v3/objects/contacts/search", status=429),
            _request("/hubspot/crm/v3/objects/contacts"),
            _request("/salesforce/services/data"),  # the versions resource: free
            _request("/salesforce/services/oauth2/token"),
            _request("/salesforce/services/data/v61.0/query"),
            _request("/salesforce/services/data/v61.0/jobs/query/750x/results"),
        ]
    )
    assert counts["hubspot"] == {"calls": 2, "refused_429": 1, "token": 1, "search": 1, "other": 1}
    assert counts["salesforce"] == {"calls": 2, "refused_429": 0, "token": 1, "rest": 1, "bulk": 1}


def test_hubspot_calls_wait_only_for_each_full_window_after_the_first() -> None:
    burst = limits.HUBSPOT_TIERS["professional"][0]
    assert limits.limit_seconds("hubspot", {"calls": burst, "search": 0}) == 0.0
    assert limits.limit_seconds("hubspot", {"calls": burst + 1, "search": 0}) == 10.0
    assert limits.limit_seconds("hubspot", {"calls": 9, "search": 9}) == 2.0  # 4 a second
    assert limits.limit_seconds("salesforce", {"calls": 10**6, "rest": 10**6}) == 0.0


def test_hubspot_keeps_its_fixed_calls_and_scales_the_rest() -> None:
    night = {"calls": 110, "search": 10, "other": 100, "refused_429": 0}
    fixed = {"calls": 12, "search": 2, "other": 10}
    at_ten_times = limits.scaled("hubspot", night, fixed, {}, 10.0)
    assert at_ten_times["search"] == 2 + 80
    assert at_ten_times["other"] == 10 + 900
    assert at_ten_times["calls"] == 992


def test_salesforce_adds_a_call_per_extra_page_of_each_object() -> None:
    bulk_night = {"calls": 10, "rest": 2, "bulk": 8, "refused_429": 0}
    rows = {"lead": 60_000, "task": 10, "user": 0}
    twice = limits.scaled("salesforce", bulk_night, {}, rows, 2.0)
    assert twice["bulk"] == 8 + 1  # lead: 3 result sets of 50,000 instead of 2
    rest_night = {"calls": 3, "rest": 3, "bulk": 0, "refused_429": 0}
    assert limits.scaled("salesforce", rest_night, {}, {"lead": 3_000}, 2.0)["rest"] == 3 + 1
