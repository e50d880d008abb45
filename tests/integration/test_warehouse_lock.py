"""Overlapping runs wait for the warehouse instead of failing on DuckDB's file lock."""

import gc
import os
import threading
import time

import dagster as dg
import pytest

from orchestration.defs.resources import Warehouse

pytestmark = pytest.mark.integration


def test_a_second_run_waits_for_the_first_to_release_the_warehouse(tmp_path):
    warehouse = Warehouse(path=str(tmp_path / "w.duckdb"))
    first_holds = threading.Event()
    timeline = []

    def first_run():
        with warehouse.yield_for_execution(dg.build_init_resource_context()):
            first_holds.set()
            time.sleep(1.5)
            timeline.append(("first released", time.monotonic()))

    thread = threading.Thread(target=first_run)
    thread.start()
    first_holds.wait(5)
    asked = time.monotonic()
    with warehouse.yield_for_execution(dg.build_init_resource_context()):
        timeline.append(("second acquired", time.monotonic()))
    thread.join()

    assert [event for event, _ in timeline] == ["first released", "second acquired"]
    assert timeline[1][1] - asked >= 1.0


def test_a_run_that_cannot_get_the_warehouse_in_time_says_so(tmp_path):
    holder = Warehouse(path=str(tmp_path / "w.duckdb"))
    impatient = Warehouse(path=str(tmp_path / "w.duckdb"), lock_timeout_seconds=0.5)
    with (
        holder.yield_for_execution(dg.build_init_resource_context()),
        pytest.raises(TimeoutError, match="another run held") as waited,
        impatient.yield_for_execution(dg.build_init_resource_context()),
    ):
        raise AssertionError("the lock was granted twice")
    assert str(tmp_path / "w.duckdb") in str(waited.value)


def _started_run(instance, holder: str | None, warehouse: str) -> str:
    from dagster._core.utils import make_new_run_id

    from orchestration.defs.resources import LOCK_HOLDER_TAG, LOCK_PROCESS_TAG

    tags = {LOCK_HOLDER_TAG: warehouse, LOCK_PROCESS_TAG: holder} if holder else {}
    run = dg.DagsterRun(
        job_name="nightly",
        run_id=make_new_run_id(),
        status=dg.DagsterRunStatus.STARTED,
        tags=tags,
    )
    instance.add_run(run)
    return run.run_id


def test_a_run_that_gets_the_lock_fails_dead_holders_and_spares_a_live_one(tmp_path):
    """A killed run stays STARTED; its process is gone, so the next lock holder fails it.
    A holder still alive (it released the lock and is writing its last events) is kept,
    as is a holder on another host."""
    import socket
    import subprocess

    from orchestration.defs.resources import LOCK_HOLDER_TAG, LOCK_PROCESS_TAG, claim_lock

    warehouse = str(tmp_path / "w.duckdb")
    host = socket.gethostname()
    finished = subprocess.Popen(["true"])
    finished.wait()  # a pid that no longer exists
    with dg.DagsterInstance.ephemeral() as instance:
        dead = _started_run(instance, f"{host}:{finished.pid}", warehouse)
        alive = _started_run(instance, f"{host}:{os.getpid()}", warehouse)
        elsewhere = _started_run(instance, f"another-host:{finished.pid}", warehouse)
        other_warehouse = _started_run(instance, f"{host}:{finished.pid}", warehouse + "2")
        current = _started_run(instance, None, warehouse)

        assert claim_lock(instance, current, warehouse) == [dead]

        status = {r: instance.get_run_by_id(r).status for r in (dead, alive, elsewhere)}
        assert status == {
            dead: dg.DagsterRunStatus.FAILURE,
            alive: dg.DagsterRunStatus.STARTED,
            elsewhere: dg.DagsterRunStatus.STARTED,
        }
        assert instance.get_run_by_id(other_warehouse).status == dg.DagsterRunStatus.STARTED
        tags = instance.get_run_by_id(current).tags
        assert tags[LOCK_HOLDER_TAG] == warehouse
        assert tags[LOCK_PROCESS_TAG] == f"{host}:{os.getpid()}"
        # hand the storage's pooled connections back before the instance closes them
        gc.collect()
