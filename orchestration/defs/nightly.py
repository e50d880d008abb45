"""The nightly job and its schedule: one job definition, run by the schedule and by
`make run` alike.

The job takes every asset (dlt loads → blocking raw checks → `dbt build` with its
tests) and runs them in one process: DuckDB admits one process per file, and a
process per step would also re-import the code location for every step (see
`resources.Warehouse` for how overlapping runs are serialised).
"""

import dagster as dg

from leadbridge.settings import NIGHTLY_AT, Settings

MAX_RUNTIME_SECONDS = 8 * 3600

nightly_job = dg.define_asset_job(
    name="nightly",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Load HubSpot, Salesforce and file drops with dlt, check the raw tables "
    "with Great Expectations, then `dbt build` the lead-history warehouse and its tests.",
    # Past this the daemon's run monitoring terminates the run (dagster.yaml); it is the
    # warehouse lock's wait (6 h) plus a generous run.
    tags={"leadbridge/job": "nightly", "dagster/max_runtime": str(MAX_RUNTIME_SECONDS)},
)

# What an erasure rebuilds (orchestration/erase.py): everything derived from the raw
# tables, with the mart checks, and the publication; the raw tables' own checks ride on
# the ingestion assets and are left out with them.
erasure_rebuild_job = dg.define_asset_job(
    name="erasure_rebuild",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("ingestion"),
    executor_def=dg.in_process_executor,
    description="After an erasure scrubbed the raw tables: `dbt build` everything again, "
    "check the marts and publish, so no mart keeps the erased person's data.",
    tags={"leadbridge/job": "erasure_rebuild", "dagster/max_runtime": str(MAX_RUNTIME_SECONDS)},
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_at_two",
    job=nightly_job,
    cron_schedule=f"{NIGHTLY_AT.minute} {NIGHTLY_AT.hour} * * *",
    # The schedule's clock is deployment configuration, read once like dagster.yaml.
    execution_timezone=Settings.from_env().timezone,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every night at 02:00 (LEADBRIDGE_TIMEZONE, default Europe/Berlin).",
)
