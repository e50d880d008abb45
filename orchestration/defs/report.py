"""The weekly alignment report (dashboard.report), written after the Monday night's
publication: a run-status sensor on the nightly job requests the `weekly_report` job
when the publication in place is of a Monday night (`report_night`); one run per night.
"""

import dagster as dg

from dashboard.marts import PublishedMarts
from dashboard.report import report_night, write_report
from leadbridge.settings import Settings
from orchestration.defs.nightly import nightly_job

WEEKLY_REPORT_JOB = "weekly_report"


@dg.op(description="Write the weekly alignment report of the publication in place.")
def write_weekly_report(context: dg.OpExecutionContext) -> str:
    """The report's path."""
    path = write_report()
    context.log.info(f"weekly report: {path}")
    return str(path)


@dg.job(
    name=WEEKLY_REPORT_JOB,
    description="The weekly alignment report (scoreboard, SLA, funnel) as one HTML file "
    "in data/reports/, as `make report` writes it.",
    tags={"leadbridge/job": "weekly_report"},
)
def weekly_report_job() -> None:
    write_weekly_report()


@dg.run_status_sensor(
    name="weekly_report_after_monday_night",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[nightly_job],
    request_job=weekly_report_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests the weekly report when a nightly run succeeds and the "
    "publication in place is of a Monday night.",
)
def weekly_report_after_monday_night(context: dg.RunStatusSensorContext):
    """A report run for a Monday night's publication, else the reason to skip."""
    publication = PublishedMarts.open().publication
    night = report_night(publication, Settings.from_env().timezone)
    if night is None:
        return dg.SkipReason("the publication in place is not of a Monday night")
    return dg.RunRequest(run_key=f"weekly-report-{night.isoformat()}")
