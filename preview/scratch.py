"""Building the contract-dependent models with another contract, in a scratch copy.

DuckDB lets one process open a file while another writes it, not at all, so a preview
cannot read the warehouse during a night: it copies the file under the run lock
(waiting for a running night to end), then builds in the copy without the lock. The
copy holds the raw data, so it lives beside the warehouse and is deleted when the
preview ends. Only the models between the contract seeds and the marts the report reads
are built (the rest of the copy is the night's), without tests: the report is the
check. PostgreSQL has no scratch schemas yet: the preview refuses it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import mkdtemp

from leadbridge.contract import CONTRACT_DIR
from leadbridge.engine import Engine
from leadbridge.lock import DEFAULT_LOCK_TIMEOUT_SECONDS, hold_warehouse_lock
from leadbridge.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR
from leadbridge.settings import Settings

# The marts the report reads; the build selects what lies between them and the seeds.
REPORT_MARTS = ("fct_funnel", "fct_sla", "fct_attribution", "dim_person")
# Read as they are (no contract in them): owner and campaign names for the report.
LABELS = ("dim_owner", "dim_campaign")
SELECTION = [f"path:seeds/lead_contract+,+{mart}" for mart in REPORT_MARTS]
SNAPSHOT_PREFIX = "preview_"
CURRENT = "current"
Log = Callable[[str], None]


def snapshot_schema(variant: str) -> str:
    """The schema of the copy holding one variant's marts (`current` for the night's)."""
    return SNAPSHOT_PREFIX + variant


class Scratch:
    """A scratch copy of the warehouse and of the dbt project, in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / "scratch.duckdb"
        self.project = folder / "dbt_project"

    @property
    def engine(self) -> Engine:
        """The copy as an engine (DuckDB)."""
        return Engine("duckdb", self.file)

    def night(self) -> str | None:
        """The `as_of` the copied marts were built with (fct_sla stores it), if any."""
        with self.engine.reader() as session:
            found = session.rows("select max(evaluated_at) from marts.fct_sla")
        return None if found[0][0] is None else found[0][0].strftime("%Y-%m-%d %H:%M:%S")

    def snapshot(self, variant: str) -> None:
        """Keep the marts the report reads, as they are now, in `preview_<variant>`."""
        schema = snapshot_schema(variant)
        with self.engine.writer() as session:
            session.execute(f"create schema if not exists {schema}")
            for table in REPORT_MARTS + LABELS:
                session.execute(
                    f"create or replace table {schema}.{table} as select * from marts.{table}"
                )

    def build(self, contract: Path, as_of: str, log: Log) -> None:
        """Seed `contract` and build the selection in the copy as of the night `as_of`."""
        seeds = self.project / "seeds" / CONTRACT_DIR.name
        shutil.rmtree(seeds)
        shutil.copytree(contract, seeds)
        dbt_vars = {
            "leadbridge_warehouse": str(self.file),
            "as_of": as_of,
            "followup_sla_share": str(Settings.from_env().followup_sla_share),
        }
        command = [
            str(DBT_EXECUTABLE),
            "build",
            "--select",
            *SELECTION,
            "--exclude-resource-type",
            "test",
            "unit_test",
            "--project-dir",
            str(self.project),
            "--profiles-dir",
            str(self.project),
            "--target",
            "duckdb",
            "--vars",
            json.dumps(dbt_vars),
        ]
        result = subprocess.run(
            command, cwd=self.project, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            tail = (result.stdout + result.stderr).strip().splitlines()[-30:]
            raise RuntimeError("dbt failed building the proposed contract:\n" + "\n".join(tail))
        log(f"built {len(SELECTION)} marts' lineage with {contract.name}")


def copy_warehouse(engine: Engine, target: Path, log: Log, timeout: float) -> None:
    """Copy the DuckDB warehouse (and a WAL left beside it) while holding its run lock."""
    with hold_warehouse_lock(engine, timeout, _Logger(log)):
        shutil.copyfile(engine.file, target)
        wal = engine.file.with_name(engine.file.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))


class _Logger:
    """leadbridge.lock logs through `.info`."""

    def __init__(self, log: Log) -> None:
        self.info = log


@contextmanager
def scratch_copy(
    engine: Engine, log: Log, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Iterator[Scratch]:
    """A scratch copy of `engine`'s warehouse and of the dbt project, deleted afterwards."""
    if engine.is_postgres:
        raise NotImplementedError(
            "the contract preview builds in a copy of a DuckDB warehouse; on PostgreSQL "
            "it has no scratch schemas yet (docs/contract-changes.md)"
        )
    if not engine.file.exists():
        raise FileNotFoundError(f"no warehouse at {engine.file}: run a night first (`make run`)")
    scratch = Scratch(Path(mkdtemp(prefix=".preview-", dir=engine.file.parent)))
    try:
        shutil.copytree(
            DBT_PROJECT_DIR,
            scratch.project,
            ignore=shutil.ignore_patterns("target", "logs", ".user.yml"),
        )
        copy_warehouse(engine, scratch.file, log, timeout)
        log(f"copied {engine.file} to {scratch.file}")
        yield scratch
    finally:
        shutil.rmtree(scratch.folder, ignore_errors=True)
