"""Resources: the warehouse file (with its run lock) and the source systems.

DuckDB lets one process open a file at a time, and while it writes nobody else may
open it, not even read-only. Leadbridge therefore serialises on two levels:
- inside a run, the nightly job uses the in-process executor, so its steps (dlt loads,
  the dbt subprocess, the Great Expectations checks) open the file one after another;
  this is also ~2x faster than a process per step, which re-imports the code location;
- across runs (the schedule, a manual run from the UI, `make run`), every run holds an
  exclusive lock on `<warehouse>.lock` while it works. A second run waits for the lock
  (logging that it waits) instead of failing with DuckDB's "Conflicting lock" error;
  the instance's run queue additionally admits one run at a time (dagster.yaml).

The lock also tells a dead run from a live one. A run killed outright (SIGKILL, power
cut) never records its end and stays STARTED in the instance, where it would hold the
one-run queue for ever; but the kernel released its lock when its process died. So a run
that gets the lock tags itself as the lock's holder (warehouse, host and process id) and
reports as failed every other STARTED run that held the same lock and whose process is
gone. A holder whose process still lives is left alone: it has released the lock and is
writing its last events. Holders on other hosts are left to run monitoring.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from ingestion.pipelines import Connections, configured_connections
from orchestration.paths import WAREHOUSE_ENV, warehouse_path

PUBLISHED_ENV = "LEADBRIDGE_PUBLISHED"
LOCK_HOLDER_TAG = "leadbridge/warehouse_lock"
LOCK_PROCESS_TAG = "leadbridge/warehouse_lock_process"  # "<host>:<pid>" of the holder
PUBLISHED_NAME = "leadbridge_marts.duckdb"


def published_path(warehouse_file: Path, configured: str | None = None) -> Path:
    """The serving file BI tools read: configured, else `$LEADBRIDGE_PUBLISHED`, else
    `published/leadbridge_marts.duckdb` beside the warehouse (so a temp warehouse
    publishes into its own temp folder, never into the repository's `data/`)."""
    raw = configured or os.environ.get(PUBLISHED_ENV)
    if raw:
        return Path(raw).expanduser().resolve()
    return warehouse_file.parent / "published" / PUBLISHED_NAME


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file, its dlt state folder and the cross-run lock."""

    path: str | None = None
    published_path: str | None = None
    lock_timeout_seconds: float = 6 * 3600

    @property
    def file(self) -> Path:
        """Absolute path of the warehouse file."""
        return warehouse_path(self.path)

    @property
    def published_file(self) -> Path:
        """The serving copy of the marts for BI tools (see orchestration.defs.publish)."""
        return published_path(self.file, self.published_path)

    @property
    def pipelines_dir(self) -> Path:
        """dlt working folders, beside the warehouse (see ingestion.pipelines)."""
        return self.file.parent / ".dlt_pipelines"

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Warehouse]:
        """Hold the warehouse's run lock for the whole run; wait for another run first."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        log = context.log
        with open(str(self.file) + ".lock", "w") as handle:
            started = time.monotonic()
            announced = False
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    waited = time.monotonic() - started
                    if waited > self.lock_timeout_seconds:
                        raise TimeoutError(
                            f"another run held {self.file} for {waited:.0f} s; giving up"
                        ) from None
                    if not announced and log:
                        log.info(f"another run is using {self.file}; waiting for it to finish")
                        announced = True
                    time.sleep(0.5)
            try:
                if context.instance is not None and context.run_id is not None:
                    claim_lock(context.instance, context.run_id, str(self.file), context.log)
                # dbt runs as a subprocess and finds the file through this variable.
                os.environ[WAREHOUSE_ENV] = str(self.file)
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def claim_lock(
    instance: dg.DagsterInstance, run_id: str, warehouse: str, log: Any = None
) -> list[str]:
    """Tag run `run_id` as the holder of `warehouse`'s lock and report the STARTED runs
    that held it before and whose process is dead as failed; returns their ids."""
    stale = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED], tags={LOCK_HOLDER_TAG: warehouse}
        )
    )
    failed = []
    for run in stale:
        if run.run_id == run_id or not _holder_is_dead(run.tags.get(LOCK_PROCESS_TAG, "")):
            continue
        message = (
            f"run {run.run_id} held the lock of {warehouse} and never finished: its process "
            f"died (lock found free by run {run_id}); marked failed"
        )
        instance.report_run_failed(run, message=message)
        failed.append(run.run_id)
        if log:
            log.warning(message)
    instance.add_run_tags(
        run_id,
        {LOCK_HOLDER_TAG: warehouse, LOCK_PROCESS_TAG: f"{socket.gethostname()}:{os.getpid()}"},
    )
    return failed


def _holder_is_dead(holder: str) -> bool:
    """True only for a process of this host that no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class SourceSystems(dg.ConfigurableResource):
    """Connection settings of HubSpot, Salesforce and the file drop for one run.

    With real credentials configured (dlt config or `SOURCES__…` variables) those are
    used; otherwise the built-in simulator is started on 127.0.0.1 for the run and the
    same connectors read from it (the demo).
    """

    demo_seed: int = 42
    demo_people: int = 500
    demo_months: int = 6
    demo_anchor: str = "2026-10-31"
    drop_dir: str | None = None

    _mode: str = PrivateAttr(default="unset")
    _connections: Connections | None = PrivateAttr(default=None)

    @property
    def mode(self) -> str:
        """ "real" or "demo" once the run has started."""
        return self._mode

    @property
    def connections(self) -> Connections:
        """The settings each feed's source is built with, valid during the run."""
        if self._connections is None:
            raise RuntimeError("source systems are only available while a run executes")
        return self._connections

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[SourceSystems]:
        """Resolve real settings, or start the simulator for the length of the run."""
        from orchestration.paths import warehouse_path

        drop_dir = Path(self.drop_dir) if self.drop_dir else warehouse_path().parent / "inbox"
        real = configured_connections(drop_dir)
        if real is not None:
            self._mode, self._connections = "real", real
            yield self
            return
        from ingestion.demo import demo_connections

        with demo_connections(
            drop_dir,
            seed=self.demo_seed,
            people=self.demo_people,
            months=self.demo_months,
            anchor=date.fromisoformat(self.demo_anchor),
        ) as connections:
            if context.log:
                context.log.info(
                    f"no source credentials configured: running on the demo "
                    f"simulator ({self.demo_people} people, seed {self.demo_seed})"
                )
            self._mode, self._connections = "demo", connections
            yield self
