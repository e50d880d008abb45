"""Retries: ingestion steps (network) retry with exponential backoff and jitter; dbt,
the checks and everything else fail at once (a failed test is not transient)."""

import dagster as dg
import pytest
from dagster._core.definitions.dependency import NodeHandle
from dlt.common.schema.exceptions import DataValidationError

from ingestion.pipelines import FEEDS
from ingestion.sources.api import ApiError, ConfigError
from orchestration.defs.ingest import INGEST_RETRY_POLICY, _is_permanent

pytestmark = pytest.mark.unit


def _policies(definitions) -> dict[str, dg.RetryPolicy | None]:
    job = definitions.resolve_job_def("nightly")
    return {
        node.name: job.get_retry_policy_for_handle(NodeHandle(node.name, None))
        for node in job.graph.nodes
    }


def test_every_ingestion_step_of_the_nightly_job_retries_with_backoff_and_jitter(definitions):
    policies = _policies(definitions)
    assert {f"ingest_{feed}" for feed in FEEDS} <= set(policies)
    for feed in FEEDS:
        assert policies[f"ingest_{feed}"] == INGEST_RETRY_POLICY
    assert INGEST_RETRY_POLICY.max_retries == 3
    assert INGEST_RETRY_POLICY.delay == 30
    assert INGEST_RETRY_POLICY.backoff == dg.Backoff.EXPONENTIAL
    assert INGEST_RETRY_POLICY.jitter == dg.Jitter.PLUS_MINUS


def test_dbt_the_checks_and_every_other_step_are_not_retried(definitions):
    policies = _policies(definitions)
    assert "dbt_build" in policies and policies["dbt_build"] is None
    retried = sorted(name for name, policy in policies.items() if policy is not None)
    assert retried == sorted(f"ingest_{feed}" for feed in FEEDS)


def _api_error(status, **kwargs):
    return ApiError(
        "Salesforce", "GET", "https://example.my.salesforce.com/q", status, "x", **kwargs
    )


def test_refused_requests_and_missing_settings_are_permanent_outages_are_not():
    assert _is_permanent(_api_error(401))
    assert _is_permanent(_api_error(404))
    assert _is_permanent(ConfigError("missing setting sources.hubspot.access_token"))
    assert not _is_permanent(_api_error(503))  # 5xx after the client's own retries
    assert not _is_permanent(_api_error(429))
    assert not _is_permanent(_api_error(None))  # timed out, connection dropped
    assert not _is_permanent(RuntimeError("anything else"))


def test_a_host_that_kept_refusing_the_connection_is_permanent_a_timeout_is_not():
    # the client has already retried the refused connection for a few seconds
    assert _is_permanent(_api_error(None, connection_refused=True))
    assert not _is_permanent(_api_error(None, connection_refused=False))


def test_a_decoding_error_is_permanent_even_wrapped_by_dlt():
    try:
        try:
            b"M\xfcller".decode("utf-8")
        except UnicodeDecodeError as inner:
            raise RuntimeError("Pipeline execution failed at stage extract") from inner
    except RuntimeError as outer:
        assert _is_permanent(outer)


def test_data_the_schema_contract_refuses_is_not_retried():
    refused = DataValidationError(
        "salesforce", "opportunity", "amount", "data_type", "freeze", None, {}, "text"
    )
    assert _is_permanent(refused)


def test_a_permanent_error_wrapped_by_dlt_is_still_recognised():
    try:
        try:
            raise _api_error(403)
        except ApiError as inner:
            raise RuntimeError("Pipeline execution failed at stage extract") from inner
    except RuntimeError as outer:
        assert _is_permanent(outer)
