"""`make run`: execute the nightly job once, here and now, and print its summary.

It runs the very job the schedule runs, recorded in the Dagster instance of
`$DAGSTER_HOME`, so the run also shows in the UI; exit code 0 only if it succeeded.
`LEADBRIDGE_DEMO_PEOPLE`, `_MONTHS` and `_SEED` shrink the demo (run config of the
`sources` resource); `LEADBRIDGE_AS_OF` pins the night the marts describe, as a
scheduled run's tick does; `LEADBRIDGE_TARGET=postgres` runs it on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef

from leadbridge.engine import Engine
from leadbridge.paths import REPO_ROOT, warehouse_path
from leadbridge.settings import DbtOnlyTarget, Settings
from orchestration.event_log import event_log_storage
from orchestration.summary import summarize

# dagster.yaml keys that choose another storage (e.g. PostgreSQL), which is then left alone
STORAGE_KEYS = frozenset({"storage", "run_storage", "event_log_storage", "schedule_storage"})


def dagster_instance() -> dg.DagsterInstance:
    """The Dagster instance of `$DAGSTER_HOME` (Dagster's own variable), defaulting like
    `make` to `.dagster_home/` of the repo; opened from its folder, so the environment is
    left as it is. Where its dagster.yaml keeps Dagster's SQLite storage, the event log is
    written with its connections kept open (orchestration/event_log.py)."""
    home = Path(os.environ.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home").expanduser()
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(REPO_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    config = yaml.safe_load((home / "dagster.yaml").read_text()) or {}
    if STORAGE_KEYS & set(config):
        return dg.DagsterInstance.from_config(str(home.resolve()))
    overrides = {"event_log_storage": event_log_storage(home.resolve())}
    return dg.DagsterInstance.from_ref(
        InstanceRef.from_dir(str(home.resolve()), overrides=overrides)
    )


def unsupported_target() -> str | None:
    """Why the configured target cannot run the job yet (Spark: dbt only, issue 21), or
    None: said before the run starts, rather than as a failed resource's traceback."""
    try:
        Engine.resolve(warehouse_path())
    except DbtOnlyTarget as error:
        return str(error)
    return None


def demo_run_config(settings: Settings | None = None) -> dict[str, Any]:
    """Run config from the settings: the demo's size and the night (empty: defaults)."""
    settings = settings or Settings.from_env()
    run_config: dict[str, Any] = {}
    if settings.demo:
        run_config["resources"] = {"sources": {"config": settings.demo}}
    if settings.as_of:
        run_config["ops"] = {"dbt_build": {"config": {"as_of": settings.as_of}}}
    return run_config


def main() -> int:
    """Run the nightly job in process and print the summary; return the exit code."""
    from orchestration.definitions import defs

    if problem := unsupported_target():
        print(f"make run: {problem}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with dagster_instance() as instance:
        result = defs.resolve_job_def("nightly").execute_in_process(
            run_config=demo_run_config(), instance=instance, raise_on_error=False
        )
        run = instance.get_run_by_id(result.run_id)
        summary = summarize(
            result, warehouse_path(), time.monotonic() - started, tags=run.tags if run else None
        )
        instance.add_run_tags(result.run_id, summary.tags())
    print("\n" + summary.render())
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
