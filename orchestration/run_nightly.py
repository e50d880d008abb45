"""`make run`: execute the nightly job once, here and now, and print its summary.

It runs the very job the schedule runs, recorded in the Dagster instance of
`$DAGSTER_HOME`, so the run also shows in the UI. Exit code 0 only if the run succeeded.
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import dagster as dg

from orchestration.paths import REPO_ROOT, warehouse_path
from orchestration.summary import summarize


def _dagster_home() -> None:
    """Use `$DAGSTER_HOME`, defaulting (like `make`) to `.dagster_home/` of the repo."""
    home = os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    os.makedirs(home, exist_ok=True)
    config = os.path.join(home, "dagster.yaml")
    if not os.path.exists(config):
        shutil.copy(REPO_ROOT / "orchestration" / "dagster.yaml", config)


def main() -> int:
    """Run the nightly job in process and print the summary; return the exit code."""
    from orchestration.definitions import defs

    _dagster_home()
    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance, raise_on_error=False
        )
    summary = summarize(result, warehouse_path(), time.monotonic() - started)
    print("\n" + summary.render())
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
