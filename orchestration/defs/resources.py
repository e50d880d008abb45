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

On PostgreSQL (`LEADBRIDGE_TARGET=postgres`, orchestration/engine.py) the server admits
many writers, but two nightly runs must still not interleave their loads, builds and
schema swaps. The lock is then a session-level `pg_advisory_lock` taken on a connection
of its own, held open for the whole run: the server releases it when that session ends,
however the run ends (a killed process's socket closes), which is what makes the same
dead-run reaping correct. It waits, logs and times out like the file lock, and the lock
tag names the database as `postgresql://host:port/database`, never the password.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
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
from orchestration.engine import TARGET_ENV, Engine
from orchestration.paths import WAREHOUSE_ENV, warehouse_path

PUBLISHED_ENV = "LEADBRIDGE_PUBLISHED"
LOCK_HOLDER_TAG = "leadbridge/warehouse_lock"
LOCK_PROCESS_TAG = "leadbridge/warehouse_lock_process"  # "<host>:<pid>" of the holder
PUBLISHED_NAME = "leadbridge_marts.duckdb"
# The advisory lock key every Leadbridge run on one database agrees on: the first 8
# bytes of sha256("leadbridge/nightly"), as a signed bigint.
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"leadbridge/nightly").digest()[:8], "big", signed=True
)
LOCK_POLL_SECONDS = 0.5
DEFAULT_LOCK_TIMEOUT_SECONDS = 6 * 3600


def published_path(warehouse_file: Path, configured: str | None = None) -> Path:
    """The serving file BI tools read: configured, else `$LEADBRIDGE_PUBLISHED`, else
    `published/leadbridge_marts.duckdb` beside the warehouse (so a temp warehouse
    publishes into its own temp folder, never into the repository's `data/`)."""
    raw = configured or os.environ.get(PUBLISHED_ENV)
    if raw:
        return Path(raw).expanduser().resolve()
    return warehouse_file.parent / "published" / PUBLISHED_NAME


class Warehouse(dg.ConfigurableResource):
    """The warehouse of the run (DuckDB file or PostgreSQL database, see
    orchestration.engine), its dlt state folder and the cross-run lock."""

    path: str | None = None
    published_path: str | None = None
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    # None: `$LEADBRIDGE_TARGET` when the run starts (default duckdb).
    target: str | None = None

    @property
    def file(self) -> Path:
        """Absolute path of the DuckDB warehouse file (on Postgres: the local folder's
        anchor, see orchestration.engine)."""
        return warehouse_path(self.path)

    @property
    def engine(self) -> Engine:
        """The engine and connection settings of this warehouse."""
        return Engine.resolve(self.file, self.target)

    @property
    def published_file(self) -> Path:
        """The serving copy of the marts for BI tools (see orchestration.defs.publish)."""
        return published_path(self.file, self.published_path)

    @property
    def pipelines_dir(self) -> Path:
        """dlt working folders of the engine, beside the warehouse file (see
        ingestion.pipelines)."""
        return self.engine.pipelines_dir

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Warehouse]:
        """Hold the warehouse's run lock for the whole run; wait for another run first."""
        engine = self.engine
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with hold_warehouse_lock(engine, self.lock_timeout_seconds, context.log):
            if context.instance is not None and context.run_id is not None:
                claim_lock(context.instance, context.run_id, engine.location, context.log)
            # dbt runs as a subprocess and finds its target and file through these.
            if self.target is not None:
                os.environ[TARGET_ENV] = engine.name
            os.environ[WAREHOUSE_ENV] = str(self.file)
            yield self


def hold_warehouse_lock(
    engine: Engine, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS, log: Any = None
) -> contextlib.AbstractContextManager[None]:
    """The run lock of `engine`'s warehouse, for a run or a command that writes outside
    one (the erasure): a file lock on DuckDB, an advisory lock on PostgreSQL."""
    hold = _advisory_lock if engine.postgres else _file_lock
    return hold(engine, timeout, log)


def _wait(try_lock: Any, engine: Engine, timeout: float, log: Any) -> None:
    """Call `try_lock` until it succeeds; say once that we wait; give up after `timeout`."""
    started = time.monotonic()
    announced = False
    while not try_lock():
        waited = time.monotonic() - started
        if waited > timeout:
            raise TimeoutError(f"another run held {engine.location} for {waited:.0f} s; giving up")
        if not announced and log:
            log.info(f"another run is using {engine.location}; waiting for it to finish")
            announced = True
        time.sleep(LOCK_POLL_SECONDS)


@contextlib.contextmanager
def _file_lock(engine: Engine, timeout: float, log: Any) -> Iterator[None]:
    """An exclusive `flock` on `<warehouse>.lock` (DuckDB)."""
    with open(str(engine.file) + ".lock", "w") as handle:

        def try_lock() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        _wait(try_lock, engine, timeout, log)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _advisory_lock(engine: Engine, timeout: float, log: Any) -> Iterator[None]:
    """A session-level advisory lock on a connection held for the run (PostgreSQL)."""
    assert engine.postgres is not None
    connection = engine.postgres.connect(application_name="leadbridge-run-lock")
    try:
        connection.autocommit = True  # a session lock: no transaction left open

        def try_lock() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("select pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
                return bool(cursor.fetchone()[0])

        _wait(try_lock, engine, timeout, log)
        try:
            yield
        finally:
            # closing the session releases it anyway
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                cursor.execute("select pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    finally:
        connection.close()


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
        from simulator.demo import demo_connections

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
