"""Run-failure alerts: when the nightly job fails, someone hears about it.

`nightly_failure_alert` is a run-failure sensor on the `nightly` job (on by default; the
Dagster daemon evaluates it, so it covers scheduled runs, runs launched from the UI and
`make run` when the daemon is up). It sends one short message (job, run id, failed steps,
the first line of the error, the run's page in the UI) to the sinks of leadbridge.alerts.
A run killed outright writes no failure event; the next run that takes the warehouse lock
reports it failed (`resources.claim_lock`), and that failure is alerted one run late.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from leadbridge.alerts import Alert, configured_sinks, deliver, local_log_sink
from leadbridge.settings import Settings
from orchestration.defs.nightly import nightly_job


def _first_line(error: Any) -> str:
    """The innermost cause's first line: the user's error, not Dagster's wrapper."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    if error is None:
        return "unknown error"
    lines = [line.strip() for line in (error.message or "").splitlines() if line.strip()]
    return (lines[0] if lines else error.cls_name or "unknown error")[:500]


def build_alert(context: dg.RunFailureSensorContext) -> Alert:
    """The alert for one failed run, from its failure events."""
    run = context.dagster_run
    step_failures = context.get_step_failure_events()
    failed_steps = list(dict.fromkeys(e.step_key for e in step_failures if e.step_key))
    if step_failures:
        error = _first_line(step_failures[0].event_specific_data.error)
    else:
        data = context.failure_event.event_specific_data
        error = (
            _first_line(data.error)
            if data is not None and getattr(data, "error", None)
            else (context.failure_event.message or "unknown error").splitlines()[0]
        )
    base = Settings.from_env().ui_url
    return Alert(
        job=run.job_name,
        run_id=run.run_id,
        failed_steps=failed_steps,
        error=error,
        url=f"{base}/runs/{run.run_id}",
    )


@dg.run_failure_sensor(
    name="nightly_failure_alert",
    monitored_jobs=[nightly_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Sends a short alert (webhook, email, or alerts.log beside the warehouse) "
    "when the nightly job fails.",
)
def nightly_failure_alert(context: dg.RunFailureSensorContext) -> None:
    """Tell the configured sinks that a nightly run failed."""
    try:
        sinks = configured_sinks()
    except ValueError as exc:  # a half-configured sink must not swallow the alert
        context.log.error(f"alert configuration: {exc}; writing to the local log instead")
        sinks = [local_log_sink()]
    deliver(build_alert(context), sinks, context.log)
