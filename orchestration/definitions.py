"""Leadbridge's Dagster definitions: assembled here, defined in `orchestration/defs/`."""

import dagster as dg
from dagster_dlt import DagsterDltResource

from orchestration.defs.activation import ACTIVATION_ASSETS
from orchestration.defs.alerts import nightly_failure_alert
from orchestration.defs.ingest import INGEST_ASSETS
from orchestration.defs.nightly import erasure_rebuild_job, nightly_job, nightly_schedule
from orchestration.defs.preview import contract_preview_job
from orchestration.defs.publish import PUBLISH_ASSETS
from orchestration.defs.quality import QUALITY_CHECKS
from orchestration.defs.report import weekly_report_after_monday_night, weekly_report_job
from orchestration.defs.resources import SourceSystems, Warehouse, dbt_cli
from orchestration.defs.run_summary import nightly_summary_on_failure, nightly_summary_on_success
from orchestration.defs.transform import dbt_build

defs = dg.Definitions(
    assets=[*INGEST_ASSETS, dbt_build, *PUBLISH_ASSETS, *ACTIVATION_ASSETS],
    asset_checks=QUALITY_CHECKS,
    jobs=[nightly_job, erasure_rebuild_job, weekly_report_job, contract_preview_job],
    schedules=[nightly_schedule],
    sensors=[
        nightly_failure_alert,
        nightly_summary_on_success,
        nightly_summary_on_failure,
        weekly_report_after_monday_night,
    ],
    resources={
        "dlt": DagsterDltResource(),
        "dbt": dbt_cli(),
        "warehouse": Warehouse(),
        "sources": SourceSystems(),
    },
    # Runs of assets picked in the UI or by `dagster asset materialize` execute in one
    # process like `nightly` (orchestration/defs/nightly.py says why).
    executor=dg.in_process_executor,
)
