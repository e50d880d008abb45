"""A changed copy of the scenario's marts, published over the dashboard's serving file:
for figures the hand-written scenario cannot show (a second month, a new rule version).
Marts computed from the changed ones are rebuilt by dbt on the copy before publishing."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from leadbridge.publication import Unpublished, publish_marts
from tests.support.dbt_scenario import run_dbt


def publish_changed(
    scenario_marts: tuple[Path, Unpublished],
    target: Path,
    *statements: str,
    rebuild: tuple[str, ...] = (),
) -> Path:
    """Run `statements` on a copy of the scenario warehouse (beside `target`), rebuild the
    dbt models `rebuild` on it, and publish its marts to `target` as run `changed`; the
    serving file's path."""
    warehouse, hidden = scenario_marts
    copy = target.parent.parent / "changed.duckdb"
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        for statement in statements:
            con.execute(statement)
    if rebuild:
        work = target.parent.parent / "changed_dbt"
        work.mkdir(exist_ok=True)
        run_dbt(["run", "--select", *rebuild], copy, work)
    publish_marts(copy, target, "changed", hidden)
    return target
