"""The Sync health page (AppTest) on a publication of the hand-written scenario: who is
in one system only, who disagrees and the sync lag equal SQL against `mart_sync_health`,
and the creation-period and owner filters change them as SQL says."""

from __future__ import annotations

import pytest

from dashboard.navigation import SYNC_HEALTH
from tests.support.dashboard import app, metric, sql

pytestmark = pytest.mark.integration

PEOPLE = (
    "from marts.mart_sync_health as h join marts.dim_person as p using (person_id) "
    "left join marts.dim_owner as o on o.owner_key = p.owner_key"
)
FIGURES = (
    "select count(*) filter (h.system_presence = 'both'), "
    "count(*) filter (h.system_presence = 'hubspot_only'), "
    "count(*) filter (h.system_presence = 'salesforce_only'), "
    "count(*) filter (h.is_handoff_missing_in_salesforce), "
    "count(*) filter (h.email_disagrees or h.name_disagrees or h.owner_disagrees), "
    "count(*) filter (h.has_ambiguous_email), "
    "median(h.handoff_sync_lag_minutes), quantile_cont(h.handoff_sync_lag_minutes, 0.9) "
    f"{PEOPLE}"
)
LABELS = [
    "People in both",
    "HubSpot only",
    "Salesforce only",
    "Hand-offs not in Salesforce",
    "People with a field disagreement",
    "Ambiguous emails",
    "Median sync lag (minutes)",
    "p90 sync lag (minutes)",
]


def figures(row: tuple) -> dict[str, str]:
    *counts, median, p90 = row
    lags = ["–" if lag is None else f"{lag:,.0f}" for lag in (median, p90)]
    return dict(zip(LABELS, [f"{count:,}" for count in counts] + lags, strict=True))


def shown(at) -> dict[str, str]:
    return {label: metric(at, label) for label in LABELS}


def test_people_per_system_disagreements_and_sync_lag_equal_mart_sync_health(published):
    at = app(SYNC_HEALTH)
    [everyone] = sql(published, FIGURES)
    both, hubspot_only, salesforce_only, *_, ambiguous, median, _ = everyone
    # the scenario has people in each place, ambiguous emails and a lag to measure
    assert both and hubspot_only and salesforce_only and ambiguous and median is not None
    assert shown(at) == figures(everyone)
    tabs = {tab.label.rsplit(" (", 1)[0]: tab for tab in at.tabs}
    ids = "p.person_id, p.hubspot_contact_id, p.salesforce_lead_id, p.salesforce_contact_id"
    for label, presence in (
        ("HubSpot only", "hubspot_only"),
        ("Salesforce only", "salesforce_only"),
    ):
        expected = sql(
            published, f"select {ids} {PEOPLE} where h.system_presence = '{presence}' order by 1"
        )
        table = tabs[label].dataframe[0].value
        assert [tuple(row) for row in table.itertuples(index=False)] == expected, label
    lags = sql(
        published,
        f"select p.person_id, h.handoff_sync_lag_minutes {PEOPLE} "
        "where h.handoff_sync_lag_minutes is not null order by 2 desc, 1",
    )
    table = tabs["Sync lag"].dataframe[0].value
    assert sorted(zip(table["person_id"], table["sync lag (minutes)"], strict=True)) == sorted(lags)
    assert table["sync lag (minutes)"].is_monotonic_decreasing


def test_the_creation_period_keeps_the_people_created_in_it(published):
    at = app(SYNC_HEALTH)
    [everyone] = sql(published, FIGURES)
    [(first, middle)] = sql(
        published, "select min(created_at)::date, median(created_at)::date from marts.dim_person"
    )
    at.date_input[0].set_value((first, middle)).run()
    assert not at.exception
    [early] = sql(published, f"{FIGURES} where p.created_at::date between '{first}' and '{middle}'")
    assert early != everyone
    assert shown(at) == figures(early)


def test_the_owner_filter_shows_that_owners_people_only(published):
    at = app(SYNC_HEALTH)
    [everyone] = sql(published, FIGURES)
    [(owner,)] = sql(
        published,
        f"select distinct o.owner_name {PEOPLE} where h.system_presence = 'salesforce_only'",
    )
    at.multiselect[0].set_value([owner]).run()
    assert not at.exception
    [theirs] = sql(published, f"{FIGURES} where o.owner_name = '{owner}'")
    assert theirs != everyone
    assert shown(at) == figures(theirs)
