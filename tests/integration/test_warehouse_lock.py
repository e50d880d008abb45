"""Overlapping runs wait for the warehouse instead of failing on DuckDB's file lock."""

import threading
import time

import dagster as dg
import pytest

from orchestration.defs.resources import Warehouse


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
