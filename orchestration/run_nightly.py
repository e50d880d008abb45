"""`make run`: execute the nightly job once, here and now, and print its summary.

It runs the very job the schedule runs, recorded in the Dagster instance of
`$DAGSTER_HOME`, so the run also shows in the UI. Exit code 0 only if the run succeeded.
"""

from __future__ import annotations

import sys
import time

import dagster as dg

from orchestration.paths import warehouse_path
from orchestration.summary import summarize


def main() -> int:
    """Run the nightly job in process and print the summary; return the exit code."""
    from orchestration.definitions import defs

    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        result = defs.get_job_def("nightly").execute_in_process(
            instance=instance, raise_on_error=False
        )
    summary = summarize(result, warehouse_path(), time.monotonic() - started)
    print("\n" + summary.render())
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
