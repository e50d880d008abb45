"""The dashboard's "figures as of" banner: whether the last night published."""

from datetime import datetime

import pytest

from dashboard.data import last_night, stale_since
from leadbridge.publication import Publication

pytestmark = pytest.mark.unit


def published_at(when: datetime) -> Publication:
    return Publication("marts.duckdb", "night", when, {}, {})


def test_the_last_night_is_two_oclock_local_once_the_job_has_had_time_to_publish():
    # Berlin winter (UTC+1): the night starts at 01:00 UTC, and counts from 05:00 UTC on
    assert last_night(datetime(2026, 12, 5, 6, 0), "Europe/Berlin") == datetime(2026, 12, 5, 1)
    assert last_night(datetime(2026, 12, 5, 4, 59), "Europe/Berlin") == datetime(2026, 12, 4, 1)
    # summer (UTC+2): midnight UTC
    assert last_night(datetime(2026, 7, 1, 6, 0), "Europe/Berlin") == datetime(2026, 7, 1, 0)
    assert last_night(datetime(2026, 7, 1, 6, 0), "UTC") == datetime(2026, 7, 1, 2)


def test_figures_are_as_of_the_publication_date_only_when_the_last_night_did_not_publish(
    monkeypatch,
):
    monkeypatch.setenv("LEADBRIDGE_TIMEZONE", "Europe/Berlin")
    now = datetime(2026, 12, 5, 6, 0)
    assert stale_since(published_at(datetime(2026, 12, 5, 1, 30)), now) is None
    stale = stale_since(published_at(datetime(2026, 12, 4, 1, 30)), now)
    assert stale == datetime(2026, 12, 4).date()
    # before the night has had time to publish, yesterday's publication is current
    assert stale_since(published_at(datetime(2026, 12, 4, 1, 30)), datetime(2026, 12, 5, 3)) is None
