"""Only marts whose blocking checks passed reach BI, however the publication is started.

One Dagster instance and one serving file, in order:
1. a good night publishes: read-only, without the build's bookkeeping;
2. the serving file overwritten with garbage (and a stale WAL beside it), the same night
   again: it counts as no publication, so the night rebuilds and publishes over it;
3. a night whose blocking mart check fails (a second warehouse, the same serving file):
   nothing is published, and the summary says which check stopped it;
4. `published/marts` materialized on its own after that night refuses, and the serving
   file stays byte for byte what it was.
"""

from __future__ import annotations

import hashlib
import os
import random
import stat
from pathlib import Path

import pytest

from leadbridge.publication import read_publication
from orchestration.defs.publish import PUBLISHED_KEY
from orchestration.summary import summarize
from tests.e2e.support import RUN_CONFIG, run_nightly, sql, started_steps
from tests.support.try_line import run_try_line

pytestmark = pytest.mark.e2e

REBUILD_CONFIG = {
    **RUN_CONFIG,
    "ops": {"dbt_build": {"config": {**RUN_CONFIG["ops"]["dbt_build"]["config"], "rebuild": True}}},
}
FAILING_CHECK = "marts/dim_person:gx_marts__dim_person"


def _served(home: Path) -> Path:
    return home / "bi" / "leadbridge_marts.duckdb"


def _fingerprint(path: Path) -> tuple[int, str]:
    return path.stat().st_ino, hashlib.sha256(path.read_bytes()).hexdigest()


def _night(definitions, instance, home, run_config):
    result = run_nightly(definitions, instance, run_config)
    run = instance.get_run_by_id(result.run_id)
    warehouse = Path(os.environ["LEADBRIDGE_WAREHOUSE"])
    return result, summarize(result, warehouse, 0, _served(home), tags=run.tags)


@pytest.fixture(scope="module")
def good_night(definitions, instance, home):
    result, summary = _night(definitions, instance, home, RUN_CONFIG)
    assert result.success, summary.render()
    return result, summary


@pytest.fixture(scope="module")
def night_over_garbage(good_night, definitions, instance, home):
    served = _served(home)
    os.chmod(served, 0o644)  # whoever overwrote it could write it
    served.write_bytes(random.Random(3).randbytes(served.stat().st_size))
    Path(f"{served}.wal").write_bytes(random.Random(4).randbytes(4096))
    return _night(definitions, instance, home, RUN_CONFIG)


@pytest.fixture(scope="module")
def failing_night(night_over_garbage, definitions, instance, home):
    """The marts of a second warehouse, on which the contract knows no stage at all, so
    that every person fails the dim_person suite (and nothing on the raw tables does)."""
    from orchestration.defs import quality

    original = quality.suite_parameters

    def no_stages(*args, **kwargs):
        return {**original(*args, **kwargs), "contract_stages": []}

    before = _fingerprint(_served(home))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LEADBRIDGE_WAREHOUSE", str(home / "second" / "leadbridge.duckdb"))
        patch.setattr(quality, "suite_parameters", no_stages)
        result, summary = _night(definitions, instance, home, REBUILD_CONFIG)
        published_alone = definitions.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=[PUBLISHED_KEY], raise_on_error=False
        )
        alone = summarize(published_alone, home / "second" / "leadbridge.duckdb", 0, _served(home))
    return result, summary, before, published_alone, alone


def test_a_good_night_publishes_a_read_only_file_without_the_builds_bookkeeping(good_night, home):
    result, summary = good_night
    served = _served(home)
    assert read_publication(served).run_id == result.run_id
    assert stat.S_IMODE(served.stat().st_mode) == 0o444
    published = set(_columns(served))
    assert ("fct_lead_events", "event_id") in published
    assert ("fct_lead_events", "build_fingerprint") not in published
    assert "metricflow_time_spine" not in {table for table, _ in published}
    # the working warehouse keeps both: the next build needs them
    working = sql(
        home,
        "select count(*) from information_schema.columns where table_schema = 'marts' and "
        "(column_name = 'build_fingerprint' or table_name = 'metricflow_time_spine')",
    )
    assert working[0][0] >= 2


def test_the_summarys_try_line_prints_the_published_stages(good_night):
    _, summary = good_night
    shown = run_try_line(summary.render())
    assert shown.returncode == 0, (shown.args, shown.stderr)
    assert "current_stage" in shown.stdout and "people" in shown.stdout


def test_a_garbled_serving_file_is_rebuilt_and_replaced_by_the_same_night(night_over_garbage, home):
    result, summary = night_over_garbage
    assert result.success, summary.render()
    assert "dbt_build" in started_steps(result) and summary.models_built
    assert read_publication(_served(home)).run_id == result.run_id
    assert not Path(f"{_served(home)}.wal").exists()
    assert summary.tags()["leadbridge/published"] == "yes"


def test_a_failed_blocking_mart_check_stops_publication_and_the_summary_names_it(
    failing_night, night_over_garbage, home
):
    result, summary, before, _, _ = failing_night
    assert not result.success
    assert [name for name, _ in summary.checks_failed] == [FAILING_CHECK]
    assert "published__marts" not in started_steps(result)
    assert read_publication(_served(home)).run_id == night_over_garbage[0].run_id
    rows = dict(summary.checks_failed)[FAILING_CHECK]["failed_rows"]
    assert summary.errors == [
        f"marts__dim_person_gx_marts__dim_person: blocking check {FAILING_CHECK} failed "
        f"({rows} rows)"
    ]
    assert f"  because blocking check {FAILING_CHECK} failed" in summary.render().splitlines()


def test_publishing_alone_after_that_night_refuses_and_leaves_the_file_byte_identical(
    failing_night, home
):
    result, _, before, published_alone, alone = failing_night
    assert not published_alone.success
    assert _fingerprint(_served(home)) == before
    failure = next(e for e in published_alone.all_events if e.is_step_failure)
    description = failure.event_specific_data.user_failure_data.description
    assert f"{FAILING_CHECK} failed in run {result.run_id[:8]}" in description
    assert alone.errors == [f"published__marts: {description}"]
    assert alone.published is None


def _columns(path: Path) -> list[tuple[str, str]]:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts'"
        ).fetchall()
