"""Runs started from the UI's asset graph or `dagster asset materialize` (Dagster's
implicit asset job) execute like the nightly job: in one process."""

import dagster as dg
import pytest

pytestmark = pytest.mark.unit


def test_assets_materialized_by_hand_run_in_one_process_like_the_nightly_job(definitions):
    ad_hoc = definitions.resolve_implicit_global_asset_job_def()
    assert ad_hoc.executor_def.name == dg.in_process_executor.name
    assert definitions.resolve_job_def("nightly").executor_def.name == ad_hoc.executor_def.name


def test_a_publication_on_its_own_requires_every_blocking_check_on_the_marts(definitions):
    from orchestration.defs.publish import MART_CHECKS, MART_KEYS, RESTRICTED_KEYS

    graph = definitions.resolve_asset_graph()
    published = {*MART_KEYS, *RESTRICTED_KEYS}
    blocking = {
        key
        for key in graph.asset_check_keys
        if key.asset_key in published and graph.get_check_spec(key).blocking
    }
    assert {spec.key for spec in MART_CHECKS} == blocking
    names = {spec.key.to_user_string() for spec in MART_CHECKS}
    assert {
        "marts/dim_person:gx_marts__dim_person",
        "marts/dim_person:unique_dim_person_person_id",
    } <= names
