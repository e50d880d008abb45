"""`published/marts` materialized on its own (the UI's Materialize button, `dagster asset
materialize`), in a fresh Dagster instance: nothing has checked the marts, so it refuses;
and the run, one of Dagster's implicit asset job, gets its summary tags."""

import hashlib

import dagster as dg
import duckdb
import pytest

from leadbridge.publication import publish_marts, read_publication
from orchestration.defs.publish import PUBLISHED_KEY
from tests.e2e.support import isolated_home

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path):
    with isolated_home(tmp_path) as path:
        warehouse = path / "leadbridge.duckdb"
        with duckdb.connect(str(warehouse)) as con:
            con.execute("create schema marts")
            con.execute("create table marts.dim_person as select 'p1' as person_id")
        publish_marts(warehouse, path / "published" / "leadbridge_marts.duckdb", "earlier")
        yield path


def test_publishing_alone_with_no_check_results_refuses_and_leaves_the_file(definitions, home):
    from orchestration.defs.run_summary import nightly_summary_on_failure

    served = home / "published" / "leadbridge_marts.duckdb"
    before = hashlib.sha256(served.read_bytes()).hexdigest()
    with dg.instance_for_test(temp_dir=str(home / "dagster_home")) as instance:
        sensor_cursor = nightly_summary_on_failure.evaluate_tick(
            dg.build_sensor_context(instance=instance)
        ).cursor
        result = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=[PUBLISHED_KEY], raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        description = failure.event_specific_data.user_failure_data.description
        assert description.startswith("refused to publish")
        assert "marts/dim_person:gx_marts__dim_person has no result" in description
        assert "marts/dim_person:unique_dim_person_person_id has no result" in description
        assert hashlib.sha256(served.read_bytes()).hexdigest() == before
        assert read_publication(served).run_id == "earlier"

        nightly_summary_on_failure.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=sensor_cursor)
        )
        tags = instance.get_run_by_id(result.run_id).tags
    assert result.dagster_run.job_name == "__ASSET_JOB"
    assert tags.get("leadbridge/published") == "no"
