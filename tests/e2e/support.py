"""What the in-process e2e tests share: an isolated home for the nightly job, running
it in that home's Dagster instance, and reading what it left behind."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.warehouse import duckdb_query

# The small demo night the in-process e2e modules run (the crash tests set theirs through
# `make run`'s variables): 60 people, 3 months, one pinned night.
DEMO = {"demo_people": 60, "demo_months": 3, "demo_seed": 11}
AS_OF = "2026-11-01 02:00:00"
RUN_CONFIG = {
    "resources": {"sources": {"config": DEMO}},
    "ops": {"dbt_build": {"config": {"as_of": AS_OF}}},
}
NIGHT_REPORT = "night.json"


@contextlib.contextmanager
def isolated_home(path: Path, **env: str) -> Iterator[Path]:
    """Point the warehouse, Dagster's instance and dlt's progress at `path`; no real
    credentials leak in from the environment except the `SOURCES__…` given in `env`."""
    (path / "dagster_home").mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith(("SOURCES__", "DESTINATION__")):
                patch.delenv(key)
        patch.setenv("LEADBRIDGE_WAREHOUSE", str(path / "leadbridge.duckdb"))
        patch.setenv("DAGSTER_HOME", str(path / "dagster_home"))
        patch.setenv("LEADBRIDGE_DLT_PROGRESS", "off")
        for key, value in env.items():
            patch.setenv(key, value)
        yield path


@contextlib.contextmanager
def simulated_home(path: Path, sim, **env: str) -> Iterator[Path]:
    """`isolated_home` whose sources are the simulator `sim`, configured as real accounts
    (so a test can switch its faults on), with an empty file drop folder."""
    (path / "inbox").mkdir(parents=True, exist_ok=True)
    with isolated_home(
        path,
        SOURCES__HUBSPOT__BASE_URL=sim.hubspot_base_url,
        SOURCES__HUBSPOT__ACCESS_TOKEN=sim.token,
        SOURCES__SALESFORCE__INSTANCE_URL=sim.salesforce_instance_url,
        SOURCES__SALESFORCE__ACCESS_TOKEN=sim.token,
        SOURCES__FILES__DROP_DIR=str(path / "inbox"),
        **env,
    ):
        yield path


def memory_instance():
    """A Dagster instance that keeps runs and events in memory, for one test module.

    The runs of a module share it (the volume checks read the previous run's counts from
    it). On disk, SQLite storage costs ~15 ms per event, a nightly run writes ~1,000
    events, and the in-process tests run a dozen nights; what SQLite storage does is
    Dagster's, not ours (the crash tests run on it, through `make run`'s entry point).
    """
    import dagster as dg

    return dg.DagsterInstance.ephemeral()


def run_nightly(definitions, instance, run_config: Mapping[str, Any] | None = None):
    """Execute the `nightly` job in `instance`; never raises on failure."""
    return definitions.resolve_job_def("nightly").execute_in_process(
        run_config=dict(run_config or {}), instance=instance, raise_on_error=False
    )


@dataclass
class NightReport:
    """What a nightly run reported, apart from its Dagster result (which stays in the
    process that ran it)."""

    run_id: str
    success: bool
    seconds: float
    checks: dict[str, bool]  # `asset:check` → passed, for every check the run evaluated
    summary: str  # the night's summary, as `make run` prints it


def night_report(result, seconds: float, warehouse: Path) -> NightReport:
    """The report of the nightly run `result`, which took `seconds` on `warehouse`."""
    from orchestration.summary import summarize

    checks = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            key = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            checks[key] = evaluation.passed
    summary = summarize(result, warehouse, seconds).render()
    return NightReport(result.run_id, result.success, seconds, checks, summary)


@dataclass(frozen=True)
class ReferenceNight:
    """The demo night on DuckDB that another engine's night is compared with: the home it
    ran in (its published file under `bi/`) and what the run reported."""

    home: Path
    report: NightReport


def run_reference_night(definitions, home: Path) -> None:
    """Run the demo night on DuckDB in `home`, in a Dagster instance of its own, and keep
    its report in `home/night.json` (`read_reference_night`). Prints its seconds."""
    warehouse = home / "leadbridge.duckdb"
    published = home / "bi" / "leadbridge_marts.duckdb"
    with (
        isolated_home(home, LEADBRIDGE_TARGET="duckdb", LEADBRIDGE_PUBLISHED=str(published)),
        memory_instance() as instance,
    ):
        started = time.monotonic()
        result = run_nightly(definitions, instance, RUN_CONFIG)
        seconds = time.monotonic() - started
    print(f"\nnightly run on DuckDB: {seconds:.1f} s")
    report = night_report(result, seconds, warehouse)
    (home / NIGHT_REPORT).write_text(json.dumps(asdict(report)))


def read_reference_night(home: Path) -> ReferenceNight:
    """The reference night `run_reference_night` ran in `home`."""
    return ReferenceNight(home, NightReport(**json.loads((home / NIGHT_REPORT).read_text())))


def sql(home: Path, query: str) -> list[tuple]:
    """Rows of `query` on the home's warehouse, opened read-only."""
    return duckdb_query(home / "leadbridge.duckdb", query)


def marts_fingerprint(home: Path) -> dict[str, str]:
    """A content hash of every mart of the working warehouse (order-independent)."""
    tables = sql(
        home,
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1",
    )
    out = {}
    for (table,) in tables:
        rows = sorted(repr(r) for r in sql(home, f'select * from marts."{table}"'))
        out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return out


def started_steps(result) -> set[str]:
    """Keys of the steps the run started."""
    return {e.step_key for e in result.all_events if e.event_type_value == "STEP_START"}


def failed_steps(result) -> dict[str, str]:
    """Step key → the error message of every step that failed."""
    return {
        e.step_key: e.event_specific_data.error.message
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    }


def failed_checks(result) -> dict[str, dict]:
    """`asset:check` → the metadata of every asset check that did not pass."""
    out = {}
    for event in result.all_events:
        if event.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        evaluation = event.event_specific_data
        if not evaluation.passed:
            key = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            out[key] = {k: v.value for k, v in evaluation.metadata.items()}
    return out


def check_metadata(result, check_name: str) -> dict:
    """The metadata of the evaluation of `check_name` in this run."""
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.check_name == check_name:
                return {k: v.value for k, v in evaluation.metadata.items()}
    raise AssertionError(f"no evaluation of {check_name}")
