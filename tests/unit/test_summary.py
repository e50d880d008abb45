"""The run summary's lines for a failed night, from fabricated run events (no I/O): one
line per failed step naming what to fix, the check that stopped publication, and the
files the files feed set aside."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import dagster as dg
import pytest
from dagster_shared.error import SerializableErrorInfo

from leadbridge.engine import Engine
from leadbridge.paths import REPO_ROOT
from orchestration.summary import summarize

pytestmark = pytest.mark.unit

LIBRARY = "/work/venv/lib/python3.11/site-packages"
MISSING_SETTING = (
    "missing setting salesforce.instance_url: set SOURCES__SALESFORCE__INSTANCE_URL "
    "or add it to .dlt/secrets.toml"
)
CLOSED_PORT = (
    "Salesforce API GET /services/data/v61.0/sobjects/Lead/describe failed: connection "
    "refused by 127.0.0.1:9 (5 attempts over 15 s); is the address right and the service "
    "up? check SOURCES__SALESFORCE__INSTANCE_URL"
)


def _frame(path: str) -> str:
    return f'  File "{path}", line 42, in somewhere\n    raise Something()\n'


def _error(cls: str, message: str, where: str, cause=None, context=None):
    """A `SerializableErrorInfo` as Dagster records it: `module.Class: message`, raised
    at `where` (a file path)."""
    return SerializableErrorInfo(
        message=f"{cls}: {message}\n",
        stack=[_frame(f"{LIBRARY}/dagster/_core/execution/plan/execute_plan.py"), _frame(where)],
        cls_name=cls.rsplit(".", 1)[-1],
        cause=cause,
        context=context,
    )


def _step_wrapper(step: str, cause) -> SerializableErrorInfo:
    return _error(
        "dagster._core.errors.DagsterExecutionStepExecutionError",
        f'Error occurred while executing op "{step}":',
        f"{LIBRARY}/dagster/_core/errors.py",
        cause=cause,
    )


def _event(kind: str, step: str | None = None, data=None):
    return SimpleNamespace(
        event_type_value=kind,
        step_key=step,
        event_specific_data=data,
        step_materialization_data=data,
        is_step_materialization=kind == "ASSET_MATERIALIZATION",
        is_step_failure=kind == "STEP_FAILURE",
    )


def _failure(step: str, error, description: str | None = None):
    user = SimpleNamespace(description=description) if description else None
    return _event("STEP_FAILURE", step, SimpleNamespace(error=error, user_failure_data=user))


def _check(step: str, asset: list[str], name: str, **metadata):
    evaluation = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(asset),
        check_name=name,
        passed=False,
        metadata=metadata,
        severity=dg.AssetCheckSeverity.ERROR,
        blocking=True,
    )
    return _event("ASSET_CHECK_EVALUATION", step, evaluation)


def _materialization(asset: list[str], **metadata):
    materialization = dg.AssetMaterialization(asset_key=asset, metadata=metadata)
    return _event(
        "ASSET_MATERIALIZATION", asset[0], SimpleNamespace(materialization=materialization)
    )


def _summary(*events, success: bool = False):
    warehouse = Path("/nonexistent/leadbridge.duckdb")
    return summarize(
        SimpleNamespace(success=success, all_events=list(events)),
        warehouse,
        1.0,
        published_file=Path("/nonexistent/published/leadbridge_marts.duckdb"),
        engine=Engine.resolve(warehouse),
    )


def test_a_missing_setting_behind_dlt_wrappers_is_the_line_of_its_step():
    config_error = _error(
        "ingestion.sources.api.ConfigError",
        MISSING_SETTING,
        f"{REPO_ROOT}/ingestion/sources/api.py",
    )
    extraction = _error(
        "dlt.extract.exceptions.ResourceExtractionError",
        "In processing pipe `lead`: extraction of resource `lead` caused an exception: "
        + MISSING_SETTING,
        f"{LIBRARY}/dlt/extract/pipe_iterator.py",
        cause=config_error,
    )
    step_failed = _error(
        "dlt.pipeline.exceptions.PipelineStepFailed",
        "Pipeline execution failed at `step=extract` when processing package with `load_id=1764`",
        f"{LIBRARY}/dlt/pipeline/pipeline.py",
        cause=extraction,
    )
    summary = _summary(
        _failure("ingest_salesforce", _step_wrapper("ingest_salesforce", step_failed))
    )
    assert summary.errors == [f"ingest_salesforce: ConfigError: {MISSING_SETTING}"]
    assert f"  ingest_salesforce: ConfigError: {MISSING_SETTING}" in summary.render().splitlines()


def test_settings_refused_before_any_step_are_the_runs_line():
    refused = _error(
        "ValueError",
        "HubSpot is configured but Salesforce is not: set SOURCES__SALESFORCE__INSTANCE_URL "
        "and SOURCES__SALESFORCE__ACCESS_TOKEN (or the OAuth client settings)",
        f"{REPO_ROOT}/ingestion/pipelines.py",
    )
    wrapper = _error(
        "dagster._core.errors.DagsterResourceFunctionError",
        "Error executing resource_fn on ResourceDefinition sources",
        f"{LIBRARY}/dagster/_core/errors.py",
        cause=refused,
    )
    summary = _summary(
        _event("RESOURCE_INIT_FAILURE", None, SimpleNamespace(error=refused)),
        _event("PIPELINE_FAILURE", None, SimpleNamespace(error=wrapper)),
    )
    line = (
        "run: ValueError: HubSpot is configured but Salesforce is not: set "
        "SOURCES__SALESFORCE__INSTANCE_URL and SOURCES__SALESFORCE__ACCESS_TOKEN "
        "(or the OAuth client settings)"
    )
    assert summary.errors == [line]
    lines = summary.render().splitlines()
    assert lines[lines.index("failed outside its steps:") + 1] == f"  {line}"
    assert "  because the run failed outside its steps (see above)" in lines


def test_a_closed_port_shows_the_projects_message_naming_host_and_setting_not_urllib3s():
    urllib3 = _error(
        "urllib3.exceptions.MaxRetryError",
        "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: "
        "/services/data/v61.0/sobjects/Lead/describe (Caused by NewConnectionError("
        "'Failed to establish a new connection: [Errno 111] Connection refused'))",
        f"{LIBRARY}/urllib3/util/retry.py",
    )
    requests = _error(
        "requests.exceptions.ConnectionError",
        "HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded",
        f"{LIBRARY}/requests/adapters.py",
        context=urllib3,
    )
    api = _error(
        "ingestion.sources.api.ApiError",
        CLOSED_PORT,
        f"{REPO_ROOT}/ingestion/sources/api.py",
        cause=requests,
    )
    extraction = _error(
        "dlt.extract.exceptions.ResourceExtractionError",
        "In processing pipe `lead`: extraction of resource `lead` caused an exception",
        f"{LIBRARY}/dlt/extract/pipe_iterator.py",
        cause=api,
    )
    summary = _summary(
        _failure("ingest_salesforce", _step_wrapper("ingest_salesforce", extraction))
    )
    assert summary.errors == [f"ingest_salesforce: ApiError: {CLOSED_PORT}"]


def test_an_unreadable_file_names_the_file_on_one_line():
    unreadable = _error(
        "_duckdb.IOException",
        'IO Error: The file "/srv/data/published/leadbridge_marts.duckdb" exists, but it is '
        "not a valid DuckDB database file!",
        # DuckDB raises from C: the last Python frame is the project's call
        f"{REPO_ROOT}/orchestration/defs/publish.py",
    )
    summary = _summary(_failure("dbt_build", _step_wrapper("dbt_build", unreadable)))
    assert summary.errors == [
        'dbt_build: IOException: IO Error: The file "/srv/data/published/leadbridge_marts.duckdb" '
        "exists, but it is not a valid DuckDB database file!"
    ]


def test_without_a_project_frame_the_deepest_message_is_shown_and_dbts_own_errors():
    dbt = _error(
        "dagster_dbt.errors.DagsterDbtCliRuntimeError",
        "The dbt CLI process with command\n\n`dbt build`\n\nfailed with exit code `1`. "
        "Check the stdout in the Dagster compute logs for the full information about the "
        "error.\n\nErrors parsed from dbt logs:\n\nRuntime Error in model dim_person "
        "(models/marts/dim_person.sql)\n  Binder Error: column x not found",
        f"{LIBRARY}/dagster_dbt/core/dbt_cli_invocation.py",
    )
    summary = _summary(_failure("dbt_build", _step_wrapper("dbt_build", dbt)))
    assert summary.errors == [
        "dbt_build: Runtime Error in model dim_person (models/marts/dim_person.sql) "
        "Binder Error: column x not found"
    ]


def test_a_failure_raised_on_purpose_is_its_description():
    description = "refused to publish: marts/dim_person:gx_marts__dim_person failed in run 1a2b3c4d"
    failure = _error(
        "dagster._core.definitions.events.Failure",
        description,
        f"{REPO_ROOT}/orchestration/defs/publish.py",
    )
    summary = _summary(_failure("published__marts", failure, description=description))
    assert summary.errors == [f"published__marts: {description}"]


def test_a_failed_raw_check_and_a_failed_dbt_test_name_check_and_asset_on_their_step():
    gx_step = "salesforce__lead_gx_salesforce__lead"
    summary = _summary(
        _check(gx_step, ["salesforce", "lead"], "gx_salesforce__lead", failed_rows=2),
        _failure(
            gx_step,
            _error(
                "dagster._core.errors.DagsterAssetCheckFailedError",
                "1 blocking asset check failed with ERROR severity:\nsalesforce/lead: "
                "gx_salesforce__lead",
                f"{LIBRARY}/dagster/_core/execution/plan/execute_step.py",
            ),
        ),
        _check(
            "dbt_build",
            ["marts", "dim_person"],
            "unique_dim_person_person_id",
            **{"dagster_dbt/failed_row_count": 3},
        ),
        _failure(
            "dbt_build",
            _step_wrapper(
                "dbt_build",
                _error(
                    "dagster_dbt.errors.DagsterDbtCliRuntimeError",
                    "The dbt CLI process failed with exit code `1`.",
                    f"{LIBRARY}/dagster_dbt/core/dbt_cli_invocation.py",
                ),
            ),
        ),
    )
    assert summary.errors == [
        f"{gx_step}: blocking check salesforce/lead:gx_salesforce__lead failed (2 rows)",
        "dbt_build: blocking check marts/dim_person:unique_dim_person_person_id failed (3 rows)",
    ]


def test_a_skipped_publication_says_which_blocking_check_stopped_it():
    summary = _summary(
        _check(
            "marts__dim_person_gx_marts__dim_person",
            ["marts", "dim_person"],
            "gx_marts__dim_person",
        ),
        _failure(
            "marts__dim_person_gx_marts__dim_person",
            _error(
                "dagster._core.errors.DagsterAssetCheckFailedError",
                "1 blocking asset check failed with ERROR severity",
                f"{LIBRARY}/dagster/_core/execution/plan/execute_step.py",
            ),
        ),
    )
    lines = summary.render().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("NOT published"))
    assert lines[at + 1] == "  because blocking check marts/dim_person:gx_marts__dim_person failed"


def test_files_set_aside_are_listed_and_counted_whatever_form_the_metadata_took():
    first = {
        "file": "leads_2026-11-01.csv",
        "reason": "no header row",
        "moved_to": "rejected/a.csv",
    }
    second = {
        "file": "members.csv",
        "reason": "column `email` missing",
        "moved_to": "rejected/b.csv",
    }
    summary = _summary(
        _materialization(["files", "list_members"], rows_loaded=0, rejected_files=[first, second]),
        # the same list again on another asset of the step, and a JSON text
        _materialization(["files", "other"], rows_loaded=0, rejected_files=[first]),
        _materialization(
            ["files", "third"],
            rejected_files=dg.MetadataValue.text(f"[{json.dumps(second)}]"),
        ),
        _materialization(["files", "fourth"], rejected_files="not json"),
        success=True,
    )
    assert summary.tags()["leadbridge/rejected_files"] == "2"
    lines = summary.render().splitlines()
    assert "  set aside leads_2026-11-01.csv: no header row (moved to rejected/a.csv)" in lines
    assert "  set aside members.csv: column `email` missing (moved to rejected/b.csv)" in lines


def _usage(system, calls, limit, stopped=()):
    return dg.MetadataValue.json(
        {
            "system": system,
            "api_calls": calls,
            "refused_calls": 0,
            "paced_seconds": 1.25,
            "token_fetches": 0,
            "daily_limit": limit,
            "quota_share": 0.5,
            "quota_share_used": calls / limit,
            "stopped_at_quota": bool(stopped),
            "stopped_resources": list(stopped),
        }
    )


def test_api_use_per_system_and_a_quota_stop_are_reported_in_lines_and_tags():
    hubspot = _usage("HubSpot", 40, 1000, stopped=["contacts", "email_events"])
    salesforce = _usage("Salesforce", 20, 100_000)
    summary = _summary(
        _materialization(["hubspot", "contacts"], rows_loaded=300, api_usage=hubspot),
        _materialization(["hubspot", "owners"], rows_loaded=100, api_usage=hubspot),
        _materialization(["salesforce", "lead"], rows_loaded=1000, api_usage=salesforce),
        _materialization(["files", "list_imports"], rows_loaded=5, dataset_name="files"),
        success=True,
    )
    assert summary.api_lines() == [
        "API use:",
        "  hubspot: 40 calls, 10.0 records per call, 4.00% of the daily limit of 1000, 1.2 s "
        "paced; STOPPED at the quota share (50%): contacts, email_events loaded in part, the "
        "next night resumes them",
        "  salesforce: 20 calls, 50.0 records per call, 0.02% of the daily limit of 100000, "
        "1.2 s paced",
    ]
    assert set(summary.api_lines()) <= set(summary.render().splitlines())
    tags = summary.tags()
    assert tags["leadbridge/api_calls"] == "hubspot 40, salesforce 20"
    assert tags["leadbridge/records_per_call"] == "hubspot 10.0, salesforce 50.0"
    assert tags["leadbridge/quota_used"] == "hubspot 4.00%, salesforce 0.02%"
    assert tags["leadbridge/stopped_at_quota"] == "hubspot"


def test_a_night_without_metered_feeds_tags_no_api_use():
    summary = _summary(_materialization(["files", "x"], rows_loaded=5, dataset_name="files"))
    assert summary.api_lines() == []
    assert summary.tags()["leadbridge/stopped_at_quota"] == "none"
    assert summary.tags()["leadbridge/api_calls"] == "none"
