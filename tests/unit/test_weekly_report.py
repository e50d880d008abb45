"""The weekly report's rule: it is written for a Monday night's publication only (the
night the nightly run starts on Monday at 02:00 in LEADBRIDGE_TIMEZONE), and Dagster's
sensor on the nightly job requests it."""

from datetime import date, datetime
from pathlib import Path

import dagster as dg
import pytest

from dashboard.report import report_file, report_night
from leadbridge.publication import Publication

pytestmark = pytest.mark.unit


def published_at(when: datetime) -> Publication:
    return Publication("marts.duckdb", "night", when, {}, {})


def test_a_monday_nights_publication_is_reported_a_tuesday_nights_is_not():
    # Berlin winter (UTC+1): Monday 2026-11-30 02:00 local is 01:00 UTC
    monday = published_at(datetime(2026, 11, 30, 1, 40))
    tuesday = published_at(datetime(2026, 12, 1, 1, 40))
    assert report_night(monday, "Europe/Berlin") == date(2026, 11, 30)
    assert report_night(tuesday, "Europe/Berlin") is None


def test_the_night_is_the_schedules_local_night_not_the_utc_date():
    # 00:30 UTC on Monday is 01:30 in Berlin: still Sunday's night
    assert report_night(published_at(datetime(2026, 11, 30, 0, 30)), "Europe/Berlin") is None
    # a Monday night's run publishing late in the day (a rerun at 14:00) is still Monday's
    late = published_at(datetime(2026, 11, 30, 13, 0))
    assert report_night(late, "Europe/Berlin") == date(2026, 11, 30)
    # 23:30 UTC on Sunday is 01:30 Monday in Berlin but 02:00 Monday has not come in UTC
    assert report_night(published_at(datetime(2026, 11, 29, 23, 30)), "UTC") is None
    assert report_night(published_at(datetime(2026, 11, 30, 2, 0)), "UTC") == date(2026, 11, 30)


def test_no_publication_is_no_report():
    assert report_night(None, "Europe/Berlin") is None


def test_the_report_is_named_for_the_local_date_of_its_night():
    # 00:30 UTC on 1 December is 01:30 in Berlin: the night of 30 November
    publication = published_at(datetime(2026, 12, 1, 0, 30))
    path = report_file(publication, Path("reports"), "Europe/Berlin")
    assert path == Path("reports/leadbridge-weekly-2026-11-30.html")


def test_the_sensor_on_successful_runs_requests_the_weekly_report_job(definitions):
    sensor = definitions.resolve_sensor_def("weekly_report_after_monday_night")
    assert sensor.job_name == "weekly_report"
    assert isinstance(sensor, dg.RunStatusSensorDefinition)
    assert definitions.resolve_job_def("weekly_report").executor_def.name == "in_process"


def test_the_run_summary_leaves_report_runs_untagged_and_tags_the_nightly(monkeypatch):
    from types import SimpleNamespace

    from orchestration.defs import run_summary

    tagged = []
    instance = SimpleNamespace(add_run_tags=lambda run_id, tags: tagged.append(run_id))

    def context(job: str):
        run = SimpleNamespace(run_id=f"{job}-run", job_name=job, tags={})
        return SimpleNamespace(dagster_run=run, instance=instance, log=SimpleNamespace(info=print))

    summary = SimpleNamespace(tags=lambda: {"leadbridge/published": "no"})
    monkeypatch.setattr(run_summary, "summarize_run", lambda *args: summary)
    run_summary._tag(context("weekly_report"))
    run_summary._tag(context("nightly"))
    assert tagged == ["nightly-run"]
