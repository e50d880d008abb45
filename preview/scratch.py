"""Building the contract-dependent models with another contract, beside the working ones.

Only the models between the contract seeds and the marts the report reads are built,
without tests (the report is the check); the rest is read as the night built it.

DuckDB lets no process open a file while another writes it, so a preview copies the
warehouse under the run lock (waiting for a running night to end), then builds in the
copy without the lock. The copy holds the raw data: it lives beside the warehouse and is
deleted when the preview ends. PostgreSQL: the selection is built into `preview_`-prefixed
schemas (the dbt var `schema_prefix`), the rest read from the working schemas through
dbt's `--defer`; no lock is taken, so a night may run meanwhile. The scratch schemas are
dropped when the preview ends.
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
from leadbridge.engine import Engine, quote
from leadbridge.lock import DEFAULT_LOCK_TIMEOUT_SECONDS, hold_warehouse_lock
from leadbridge.paths import DBT_EXECUTABLE, DBT_PROJECT_DIR
from leadbridge.settings import Settings

# The marts the report reads; the build selects what lies between them and the seeds.
REPORT_MARTS = ("fct_funnel", "fct_sla", "fct_attribution", "dim_person")
# Read as the night built them (no contract in them): owner and campaign names.
LABELS = ("dim_owner", "dim_campaign")
SELECTION = [f"path:seeds/lead_contract+,+{mart}" for mart in REPORT_MARTS]
MARTS = "marts"
PREFIX = "preview_"
# The layers the selection writes (dbt_project.yml), prefixed on PostgreSQL.
LAYERS = ("lead_contract", "intermediate", MARTS)
CURRENT = "current"
Log = Callable[[str], None]


def snapshot_schema(variant: str) -> str:
    """The schema holding one variant's marts (`current` for the night's)."""
    return PREFIX + variant


class Scratch:
    """Where a preview builds: a folder (the dbt project's copy, on DuckDB the warehouse's
    copy too) and the engine the builds write."""

    def __init__(self, folder: Path, engine: Engine) -> None:
        self.folder = folder
        self.engine = engine
        self.project = folder / "dbt_project"
        # the schema a build writes its marts to
        self.built = PREFIX + MARTS if engine.is_postgres else MARTS

    def night(self) -> str | None:
        """The `as_of` the working marts were built with (fct_sla stores it), if any."""
        with self.engine.reader() as session:
            found = session.rows(f"select max(evaluated_at) from {MARTS}.fct_sla")
        return None if found[0][0] is None else found[0][0].strftime("%Y-%m-%d %H:%M:%S")

    def snapshot(self, variant: str) -> None:
        """Keep the report's marts as they are now in `preview_<variant>`: the working
        marts for `current`, else those the last build wrote."""
        schema = snapshot_schema(variant)
        source = MARTS if variant == CURRENT else self.built
        with self.engine.writer() as session:
            session.execute(f"drop schema if exists {quote(schema)} cascade")
            session.execute(f"create schema {quote(schema)}")
            for table in REPORT_MARTS + LABELS:
                origin = source if table in REPORT_MARTS else MARTS
                session.execute(
                    f"create table {quote(schema)}.{table} as select * from {origin}.{table}"
                )

    def _dbt(self, args: list[str], dbt_vars: dict[str, str]) -> None:
        target = "postgres" if self.engine.is_postgres else "duckdb"
        command = [
            str(DBT_EXECUTABLE),
            *args,
            "--project-dir",
            str(self.project),
            "--profiles-dir",
            str(self.project),
            "--target",
            target,
            "--vars",
            json.dumps({"leadbridge_warehouse": str(self.engine.file), **dbt_vars}),
        ]
        done = subprocess.run(
            command, cwd=self.project, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-30:]
            raise RuntimeError("dbt failed building the proposed contract:\n" + "\n".join(tail))

    def prepare(self) -> None:
        """PostgreSQL: the working schemas' manifest, which `--defer` reads the models
        left out of the selection from."""
        if self.engine.is_postgres:
            self._dbt(["parse", "--target-path", str(self.folder / "state")], {})

    def build(self, contract: Path, as_of: str, log: Log) -> None:
        """Seed `contract` and build the selection as of the night `as_of`."""
        seeds = self.project / "seeds" / CONTRACT_DIR.name
        shutil.rmtree(seeds)
        shutil.copytree(contract, seeds)
        args = ["build", "--select", *SELECTION, "--exclude-resource-type", "test", "unit_test"]
        dbt_vars = {
            "as_of": as_of,
            "followup_sla_share": str(Settings.from_env().followup_sla_share),
        }
        if self.engine.is_postgres:
            args += ["--defer", "--state", str(self.folder / "state")]
            dbt_vars["schema_prefix"] = PREFIX
        self._dbt(args, dbt_vars)
        log(f"built the lineage of {', '.join(REPORT_MARTS)}")

    def drop_schemas(self) -> None:
        """PostgreSQL: drop every scratch schema (they hold personal data)."""
        if not self.engine.is_postgres:
            return
        with self.engine.writer() as session:
            for (schema,) in session.rows(
                "select schema_name from information_schema.schemata where schema_name like ?",
                [PREFIX.replace("_", "\\_") + "%"],
            ):
                session.execute(f"drop schema {quote(schema)} cascade")


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
def scratch(
    engine: Engine, log: Log, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS
) -> Iterator[Scratch]:
    """Where to build: a copy of the dbt project and, on DuckDB, of the warehouse; all
    removed afterwards (on PostgreSQL the scratch schemas too)."""
    if not engine.is_postgres and not engine.file.exists():
        raise FileNotFoundError(f"no warehouse at {engine.file}: run a night first (`make run`)")
    parent = engine.file.parent
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(mkdtemp(prefix=".preview-", dir=parent))
    if engine.is_postgres:
        place = Scratch(folder, engine)
    else:
        place = Scratch(folder, Engine(engine.name, folder / "scratch.duckdb"))
    try:
        shutil.copytree(
            DBT_PROJECT_DIR,
            place.project,
            ignore=shutil.ignore_patterns("target", "logs", ".user.yml"),
        )
        if not engine.is_postgres:
            copy_warehouse(engine, place.engine.file, log, timeout)
            log(f"copied {engine.file} to {place.engine.file}")
        place.prepare()
        yield place
    finally:
        try:
            place.drop_schemas()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
