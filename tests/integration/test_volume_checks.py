"""A feed's volume checks run in one step: every raw table of the feed is counted on one
connection, each against its own previous successful count, and only a table that lost
half its rows fails (and, being blocking, fails the step)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.defs.quality import _volume_checks, volume_check_name
from orchestration.defs.resources import Warehouse

pytestmark = pytest.mark.integration

KEYS = [dg.AssetKey(["hubspot", "contacts"]), dg.AssetKey(["hubspot", "tasks"])]


@dg.multi_asset(specs=[dg.AssetSpec(key) for key in KEYS])
def hubspot_tables() -> dg.Output:
    for key in KEYS:
        yield dg.MaterializeResult(asset_key=key)


def _night(instance: dg.DagsterInstance, file: Path) -> tuple[bool, dict[str, dict]]:
    checks = _volume_checks("hubspot", KEYS)
    result = dg.materialize(
        [hubspot_tables, checks],
        instance=instance,
        resources={"warehouse": Warehouse(path=str(file))},
        raise_on_error=False,
    )
    evaluations = result.get_asset_check_evaluations()
    steps = {e.step_key for e in result.all_events if e.is_step_start}
    assert steps == {"hubspot_tables", "volume_hubspot"}  # one step for the feed's checks
    return result.success, {
        e.check_name: {"passed": e.passed, **{k: v.value for k, v in e.metadata.items()}}
        for e in evaluations
    }


def test_one_step_counts_each_table_of_the_feed_against_its_own_previous_count(
    tmp_path: Path,
) -> None:
    file = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(file)) as con:
        con.execute("create schema hubspot")
        con.execute("create table hubspot.contacts as select range as id from range(10)")
        con.execute("create table hubspot.tasks as select range as id from range(4)")
    with dg.DagsterInstance.ephemeral() as instance:
        first_ok, first = _night(instance, file)
        with duckdb.connect(str(file)) as con:
            con.execute("delete from hubspot.contacts where id >= 5")  # half of them
            con.execute("insert into hubspot.tasks values (4)")
            counted = dict(
                con.execute(
                    "select 'contacts', count(*) from hubspot.contacts "
                    "union all select 'tasks', count(*) from hubspot.tasks"
                ).fetchall()
            )
        second_ok, second = _night(instance, file)

    contacts, tasks = (volume_check_name(key) for key in KEYS)
    # a failed blocking check fails its step, as one check per step did
    assert (first_ok, second_ok) == (True, False)
    assert {name: (e["passed"], e["previous_row_count"]) for name, e in first.items()} == {
        contacts: (True, -1),
        tasks: (True, -1),
    }
    assert second[contacts]["passed"] is False
    assert second[contacts]["row_count"] == counted["contacts"]
    assert second[contacts]["previous_row_count"] == first[contacts]["row_count"]
    assert second[contacts]["failed_rows"] == first[contacts]["row_count"] - counted["contacts"]
    assert second[tasks]["passed"] is True
    assert second[tasks]["row_count"] == counted["tasks"]
    assert second[tasks]["previous_row_count"] == first[tasks]["row_count"]
