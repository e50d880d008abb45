"""Dagster resources: the warehouse of a run (holding its run lock) and the source systems.

`Warehouse` takes the run lock of leadbridge.lock for the whole run and tags the run as
its holder; `claim_lock` reports as failed the STARTED runs whose holder process died
(docs/decisions/007-warehouse-run-lock.md). `SourceSystems` resolves real accounts, or
starts the demo simulator for the run.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject
from dagster_dbt.compat import DBT_PYTHON_VERSION
from pydantic import PrivateAttr

from ingestion.pipelines import Connections, configured_connections
from leadbridge.engine import Engine
from leadbridge.lock import DEFAULT_LOCK_TIMEOUT_SECONDS, hold_warehouse_lock, holder_is_dead
from leadbridge.paths import DBT_PROJECT_DIR, published_path, warehouse_path

LOCK_HOLDER_TAG = "leadbridge/warehouse_lock"
LOCK_PROCESS_TAG = "leadbridge/warehouse_lock_process"  # "<host>:<pid>" of the holder
# The dbt var dbt_project/profiles.yml reads the DuckDB file from (else LEADBRIDGE_WAREHOUSE).
DBT_WAREHOUSE_VAR = "leadbridge_warehouse"


@functools.cache
def dbt_project() -> DbtProject:
    """The dbt project, made once per process; under `dagster dev` its manifest is prepared
    (`dbt parse`) here, before any definition reads it."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    project.prepare_if_dev()
    return project


class DbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource, less two probes it makes before a run's first
    command, each as long as a small build's models: the CLI's version, from a `dbt
    --version` process, and a dbt adapter opened in this process, which serves only row
    counts and column metadata the dbt assets do not fetch. dbt runs in this environment's
    Python (`dbt_cli`), so its version is that of the installed dbt-core. The probes are
    dagster-dbt internals (0.29): tests/unit/test_dbt_resource.py fails when the
    overrides no longer apply."""

    @functools.cached_property
    def _cli_version(self) -> Any:
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        return None


def dbt_cli() -> DbtCli:
    """The dbt resource of the definitions: dbt's command line run by leadbridge.dbt_cli,
    which parses the project without the night's `as_of`, so that dbt's partial parse
    carries from night to night, and builds with it."""
    return DbtCli(
        project_dir=dbt_project(),
        dbt_executable=sys.executable,
        global_config_flags=["-m", "leadbridge.dbt_cli"],
    )


class Warehouse(dg.ConfigurableResource):
    """The warehouse of the run (DuckDB file or PostgreSQL database, see
    leadbridge.engine), its dlt state folder and the cross-run lock."""

    path: str | None = None
    published_path: str | None = None
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    # None: `$LEADBRIDGE_TARGET` when the run starts (default duckdb).
    target: str | None = None

    @property
    def file(self) -> Path:
        """Absolute path of the DuckDB warehouse file (on Postgres: the local folder's
        anchor, see leadbridge.engine)."""
        return warehouse_path(self.path)

    @property
    def engine(self) -> Engine:
        """The engine and connection settings of this warehouse."""
        return Engine.resolve(self.file, self.target)

    @property
    def published_file(self) -> Path:
        """The serving copy of the marts for BI tools (see leadbridge.publication)."""
        return published_path(self.file, self.published_path)

    @property
    def pipelines_dir(self) -> Path:
        """dlt working folders of the engine, beside the warehouse file (see
        ingestion.pipelines)."""
        return self.engine.pipelines_dir

    def dbt_arguments(self, dbt_vars: dict[str, str] | None = None) -> list[str]:
        """What tells a dbt command this warehouse: its target (the profile's output) and
        the DuckDB file as a var (profiles.yml), with `dbt_vars` besides. The PostgreSQL
        settings reach dbt through the environment it inherits, as they reach us."""
        engine = self.engine
        all_vars = {DBT_WAREHOUSE_VAR: str(self.file), **(dbt_vars or {})}
        return ["--target", engine.name, "--vars", json.dumps(all_vars)]

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[Warehouse]:
        """Hold the warehouse's run lock for the whole run; wait for another run first."""
        engine = self.engine
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with hold_warehouse_lock(engine, self.lock_timeout_seconds, context.log):
            if context.instance is not None and context.run is not None:
                claim_lock(context.instance, context.run.run_id, engine.location, context.log)
            yield self


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
        if run.run_id == run_id or not holder_is_dead(run.tags.get(LOCK_PROCESS_TAG, "")):
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
