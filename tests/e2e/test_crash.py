"""Crash safety: a nightly run killed with SIGKILL, then run again, leaves the warehouse
exactly as one clean run does.

`python -m orchestration.run_nightly` (what `make run` executes) runs as a subprocess in
its own process group on a small demo. The test watches the run until it is provably in
the phase under test, then kills the whole group (the run and its dbt child) at once:
- extracting: Salesforce's load package is being written in dlt's `normalize/<tmp>/` folder
  (HubSpot and the file drop are already loaded by then);
- loading: Salesforce's normalized package has completed some load jobs but not all;
- building: `dbt build` has created the incremental mart `fct_lead_events` (about 4/5
  through the build; marts and tests remain), so the re-run meets an incremental model
  that the killed run left behind.
The killed run leaves what a power cut leaves (the lock file, maybe a DuckDB WAL, dlt's
unfinished packages, a Dagster run record still "started"); the next run must succeed.

All runs of the module use one snapshot of the repository (copied, with its own dbt
manifest), so the clean and the crashed runs run the same code even while the working
tree changes underneath.

Then every table of the schemas hubspot, salesforce, files and marts is compared with a
clean run in another folder (started in the background alongside the first case): same
tables, same row counts, no duplicate keys, and the same hash over every row's values
(sorted, so order-independent). Every run describes the same night (`LEADBRIDGE_AS_OF`,
as a scheduled run's tick pins it), so even the columns computed from the marts' "now"
must match. Left out of the hash: only dlt's bookkeeping (`_dlt_load_id`, `_dlt_id`, the
`_dlt_*` tables), which names loads, not data.

The Dagster instance must recover too: the killed run, left STARTED, is reported failed
by the re-run (the warehouse lock it held was free), so it cannot hold the run queue.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
import yaml

from leadbridge.paths import DBT_EXECUTABLE, REPO_ROOT

pytestmark = pytest.mark.e2e

DEMO_ENV = {
    "LEADBRIDGE_DEMO_PEOPLE": "60",
    "LEADBRIDGE_DEMO_MONTHS": "3",
    "LEADBRIDGE_AS_OF": "2026-11-01 02:00:00",
}
RAW_SCHEMAS = ("hubspot", "salesforce", "files")
SCHEMAS = (*RAW_SCHEMAS, "marts")
DLT_COLUMNS = {"_dlt_load_id", "_dlt_id"}
RUN_TIMEOUT = 600


# --- running and killing ------------------------------------------------------------------


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "DESTINATION__"))}
    env.update(
        DEMO_ENV,
        LEADBRIDGE_WAREHOUSE=str(folder / "warehouse" / "leadbridge.duckdb"),
        DAGSTER_HOME=str(folder / "dagster_home"),
        PYTHONUNBUFFERED="1",
    )
    return env


def _snapshot_repo(target: Path) -> Path:
    """Copy the code (not the environment, data or state) and parse its dbt manifest."""
    shutil.copytree(
        REPO_ROOT,
        target,
        ignore=shutil.ignore_patterns(
            ".venv*", ".git", "data", ".dagster_home", "target", "logs", "__pycache__", ".*cache"
        ),
    )
    dbt, project = str(DBT_EXECUTABLE), target / "dbt_project"
    subprocess.run(
        [dbt, "parse", "--project-dir", project, "--profiles-dir", project, "--quiet"],
        check=True,
        cwd=target,
        timeout=300,
    )
    return target


def _start(folder: Path, attempt: str) -> tuple[subprocess.Popen, Path]:
    home = folder / "dagster_home"
    if not home.exists():
        home.mkdir(parents=True)
        shutil.copy(_code(folder) / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    log = folder / f"{attempt}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "orchestration.run_nightly"],
            cwd=_code(folder),  # `-m` imports the snapshot's packages first
            env=_env(folder),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the run and its dbt child
        )
    return process, log


def _code(folder: Path) -> Path:
    return folder.parent / "code"


def _tail(log: Path, lines: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait(process: subprocess.Popen, log: Path) -> None:
    try:
        code = process.wait(timeout=RUN_TIMEOUT)
    finally:
        _kill_group(process)
    assert code == 0, f"{log.stem} run failed with exit code {code}:\n{_tail(log)}"


def _run_to_completion(folder: Path, attempt: str) -> None:
    _wait(*_start(folder, attempt))


def _kill_group(process: subprocess.Popen) -> None:
    """SIGKILL every process of the run's group and wait until none is left."""
    with contextlib.suppress(ProcessLookupError):  # the group may be gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {process.pid} survived SIGKILL")


def _pipeline_dir(folder: Path, feed: str) -> Path:
    return folder / "warehouse" / ".dlt_pipelines" / f"leadbridge_{feed}"


def _extracting(folder: Path, output: str) -> bool:
    """dlt writes a package under `normalize/<random>/` and moves it to `extracted/` when
    extraction is done: a package there means Salesforce extraction is under way."""
    normalize = _pipeline_dir(folder, "salesforce") / "normalize"
    if not normalize.is_dir():
        return False
    return any(
        p.is_dir() and p.name != "extracted" and any(p.iterdir()) for p in normalize.iterdir()
    )


def _loading(folder: Path, output: str) -> bool:
    """A normalized package with some completed jobs is a load half done."""
    normalized = _pipeline_dir(folder, "salesforce") / "load" / "normalized"
    return normalized.is_dir() and any(
        any((package / "completed_jobs").glob("*.*")) for package in normalized.iterdir()
    )


def _building(folder: Path, output: str) -> bool:
    """dbt prints `OK created sql <materialization> model <schema>.<name>` per model."""
    return "OK created sql incremental model marts.fct_lead_events" in output


PHASES: dict[str, Callable[[Path, str], bool]] = {
    "extraction": _extracting,
    "loading": _loading,
    "dbt_build": _building,
}


def _run_and_kill(folder: Path, phase: str) -> None:
    """Start a run, poll every few ms until it is in `phase`, then kill its group."""
    process, log = _start(folder, "killed")
    in_phase = PHASES[phase]
    deadline = time.monotonic() + RUN_TIMEOUT
    recent = ""  # the newest output: enough to find a line that just appeared
    try:
        with log.open(errors="replace") as output:
            while not in_phase(folder, recent):
                if process.poll() is not None:
                    raise AssertionError(f"the run ended before {phase}:\n{_tail(log)}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"no {phase} within {RUN_TIMEOUT} s:\n{_tail(log)}")
                time.sleep(0.005)
                recent = recent[-300:] + output.read()
    finally:
        _kill_group(process)


def _assert_killed_in_phase(folder: Path, phase: str) -> None:
    """What the killed run left behind proves where it died."""
    text = (folder / "killed.log").read_text(errors="replace")
    assert "RUN_SUCCESS" not in text and "Leadbridge nightly run" not in text
    if phase == "extraction":
        assert _extracting(folder, ""), "no unfinished extraction left"
    elif phase == "loading":
        normalized = _pipeline_dir(folder, "salesforce") / "load" / "normalized"
        packages = [p for p in normalized.iterdir() if p.is_dir()]
        assert packages, "the Salesforce package was fully loaded before the kill"
        assert any(any((p / "completed_jobs").iterdir()) for p in packages)
    else:
        assert "Finished running" not in text, "dbt finished before the kill"


# --- comparing warehouses -----------------------------------------------------------------


def _keys(clean: Path, code: Path) -> dict[str, tuple[str, ...]]:
    """Primary keys: raw tables from dlt's schema (what merge uses), marts from the column
    that carries the `unique` test in the marts YAML."""
    keys: dict[str, tuple[str, ...]] = {}
    for feed in RAW_SCHEMAS:
        schema_file = _pipeline_dir(clean, feed) / "schemas" / f"{feed}.schema.json"
        tables = json.loads(schema_file.read_text())["tables"]
        for name, table in tables.items():
            key = tuple(c for c, hints in table["columns"].items() if hints.get("primary_key"))
            if key:
                keys[f"{feed}.{name}"] = key
    for yml in (code / "dbt_project" / "models" / "marts").glob("*.yml"):
        for model in yaml.safe_load(yml.read_text()).get("models") or []:
            for column in model.get("columns") or []:
                tests = column.get("data_tests") or column.get("tests") or []
                if any(t == "unique" or (isinstance(t, dict) and "unique" in t) for t in tests):
                    keys[f"marts.{model['name']}"] = (column["name"],)
    return keys


def _snapshot(folder: Path, keys: dict[str, tuple[str, ...]]) -> dict[str, dict]:
    """Per table: row count, duplicate keys, and a hash over the sorted rows' values."""
    warehouse = folder / "warehouse" / "leadbridge.duckdb"
    snapshot: dict[str, dict] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            f"where table_schema in {SCHEMAS} and table_name not like '\\_dlt\\_%' escape '\\' "
            "order by 1"
        ).fetchall()
        for (table,) in tables:
            schema, name = table.split(".")
            columns = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by column_name",
                    [schema, name],
                ).fetchall()
                if c not in DLT_COLUMNS
            ]
            assert table in keys, f"{table}: no primary key known"
            key = ", ".join(f'"{c}"' for c in keys[table])
            duplicates = con.execute(
                f"select count(*) from (select {key} from {table} group by all having count(*) > 1)"
            ).fetchall()[0][0]
            select_list = ", ".join('"' + c + '"' for c in columns)
            rows = con.execute(f"select {select_list} from {table}").fetchall()
            lines = sorted(repr(row) for row in rows)
            digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
            snapshot[table] = {
                "rows": len(rows),
                "duplicate_keys": duplicates,
                "hash": digest,
                "columns": columns,
                "sample": lines,
            }
    return snapshot


def _differences(clean: dict[str, dict], rerun: dict[str, dict]) -> list[str]:
    problems = []
    if set(clean) != set(rerun):
        problems.append(
            f"tables only in the clean run: {sorted(set(clean) - set(rerun))}; "
            f"only after the crash: {sorted(set(rerun) - set(clean))}"
        )
    for table in sorted(set(clean) & set(rerun)):
        a, b = clean[table], rerun[table]
        if b["duplicate_keys"]:
            problems.append(f"{table}: {b['duplicate_keys']} duplicated keys after the crash")
        if a["rows"] != b["rows"]:
            problems.append(f"{table}: {a['rows']} rows in the clean run, {b['rows']} after")
        elif a["hash"] != b["hash"]:
            only_clean = sorted(set(a["sample"]) - set(b["sample"]))[:3]
            only_rerun = sorted(set(b["sample"]) - set(a["sample"]))[:3]
            problems.append(
                f"{table}: same row count, other values; clean has {only_clean}, "
                f"after the crash {only_rerun}"
            )
    return problems


# --- the tests ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A folder with the code snapshot in `code/`; each run gets a sibling folder."""
    root = tmp_path_factory.mktemp("crash")
    _snapshot_repo(_code(root / "any"))
    return root


@pytest.fixture(scope="module")
def clean_process(workspace) -> Iterator[tuple[subprocess.Popen, Path]]:
    """The reference run, started at once in the background: it runs alongside the first
    crash case (a run is mostly one busy Python process, the machine has two cores)."""
    process, log = _start(workspace / "clean", "clean")
    yield process, log
    _kill_group(process)  # only does something if a test ended early


@pytest.fixture(scope="module")
def clean_run(workspace, clean_process) -> tuple[dict[str, tuple[str, ...]], dict[str, dict]]:
    """One uninterrupted nightly run on a fresh folder: the reference (keys, snapshot)."""
    _wait(*clean_process)
    folder = workspace / "clean"
    keys = _keys(folder, _code(folder))
    snapshot = _snapshot(folder, keys)
    assert {t for t in snapshot if t.startswith("marts.")}, "the clean run built no marts"
    assert all(s["duplicate_keys"] == 0 for s in snapshot.values())
    return keys, snapshot


@pytest.mark.parametrize("phase", list(PHASES))
def test_a_run_killed_mid_phase_then_rerun_equals_a_clean_run(
    phase, clean_process, workspace, request
):
    folder = workspace / f"killed_in_{phase}"

    _run_and_kill(folder, phase)
    _assert_killed_in_phase(folder, phase)

    _run_to_completion(folder, "rerun")

    keys, reference = request.getfixturevalue("clean_run")
    problems = _differences(reference, _snapshot(folder, keys))
    assert problems == [], "\n".join(problems)
    _assert_no_run_left_started(folder)


def _assert_no_run_left_started(folder: Path) -> None:
    """The killed run was reported failed by the re-run; the re-run succeeded."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(folder / "dagster_home")) as instance:
        runs = {run.run_id: run.status for run in instance.get_runs()}
        assert sorted(runs.values(), key=str) == sorted(
            [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS], key=str
        ), runs
        killed = next(r for r, status in runs.items() if status == dg.DagsterRunStatus.FAILURE)
        messages = [
            record.event_log_entry.dagster_event.message
            for record in instance.get_records_for_run(
                killed, of_type=dg.DagsterEventType.RUN_FAILURE
            ).records
        ]
    assert any("its process died" in (m or "") for m in messages), messages
