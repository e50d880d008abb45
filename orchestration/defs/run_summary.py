"""The run summary in the Dagster UI: every finished run of this code location is tagged
with it.

`make run` prints the summary and tags its own run; runs of the schedule and the UI — the
nightly job, an erasure's rebuild, assets materialized by hand (Dagster's implicit
`__ASSET_JOB`) — are tagged by these two run-status sensors (the daemon evaluates them),
from the run's events in the instance. The tags (`leadbridge/rows_loaded`, `…/checks`,
`…/quarantined`, `…/published`, see `RunSummary.tags`) show on the run's page and in the
runs list, where they also filter: "every night that did not publish" is one click.
"""

from __future__ import annotations

import dagster as dg

from leadbridge.paths import warehouse_path
from orchestration.defs.report import WEEKLY_REPORT_JOB
from orchestration.summary import summarize_run

# Jobs that neither load nor publish: a summary would tag them "not published".
UNSUMMARIZED_JOBS = {WEEKLY_REPORT_JOB}


def _tag(context: dg.RunStatusSensorContext) -> None:
    run_id = context.dagster_run.run_id
    if context.dagster_run.job_name in UNSUMMARIZED_JOBS:
        return
    if "leadbridge/published" in context.dagster_run.tags:
        return  # `make run` tagged it already
    summary = summarize_run(context.instance, run_id, warehouse_path())
    context.instance.add_run_tags(run_id, summary.tags())
    context.log.info(f"run {run_id}: {summary.tags()}")


# No `monitored_jobs`: a run-status sensor then watches every job of its own code location,
# the implicit asset job included, and no other code location.
@dg.run_status_sensor(
    name="nightly_summary_on_success",
    run_status=dg.DagsterRunStatus.SUCCESS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Tags each successful run of this code location with its summary (rows, "
    "checks, quarantine, published).",
)
def nightly_summary_on_success(context: dg.RunStatusSensorContext) -> None:
    """Tag a successful run with its summary."""
    _tag(context)


@dg.run_failure_sensor(
    name="nightly_summary_on_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Tags each failed run of this code location with its summary (what "
    "failed, not published).",
)
def nightly_summary_on_failure(context: dg.RunFailureSensorContext) -> None:
    """Tag a failed run with its summary."""
    _tag(context)
