"""How the dbt assets run dbt: the resource (orchestration/defs/resources.py `DbtCli`)
starts dbt without probing the CLI's version in a process of its own or opening a dbt
adapter in Dagster's process (overrides that must still reach dagster-dbt); the build
step keeps its parse for the next run and deletes old target folders; leadbridge.dbt_cli
parses without the night's vars and exits as dbt does."""

import inspect
import json
import os
import subprocess
import time

import pytest
from dagster_dbt import DbtCliResource
from dbt.cli.main import dbtRunnerResult
from dbt.version import __version__ as dbt_core_version

from leadbridge.dbt_cli import FILE_LOG, exit_code, invocations, parse_arguments
from leadbridge.paths import DBT_EXECUTABLE
from orchestration.defs.resources import DbtCli, dbt_project
from orchestration.defs.transform import PARTIAL_PARSE, keep_parse, prune_target_folders

pytestmark = pytest.mark.unit


@pytest.fixture
def dbt_cli() -> DbtCli:
    return DbtCli(project_dir=dbt_project(), dbt_executable=str(DBT_EXECUTABLE))


def test_the_cli_version_is_the_installed_dbt_core_without_running_dbt(dbt_cli, monkeypatch):
    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "check_output", no_process)
    monkeypatch.setattr("dagster_dbt.core.resource.check_output", no_process)
    assert str(dbt_cli._cli_version) == dbt_core_version
    # dagster-dbt takes a major version of 2 or more for dbt Fusion, which has no adapter
    assert dbt_cli._cli_version.major == 1


def test_no_dbt_adapter_is_opened_in_dagsters_process(dbt_cli):
    assert dbt_cli._initialize_dbt_core_adapter(["build"]) is None


def test_dagster_dbt_still_calls_what_the_resource_overrides():
    # Renamed or unused in a later dagster-dbt, the overrides would silently do nothing.
    source = inspect.getsource(DbtCliResource.cli)
    for name in ("_cli_version", "_initialize_dbt_core_adapter"):
        assert name in vars(DbtCliResource)
        assert f"self.{name}" in source


def test_the_runs_parse_is_where_the_next_run_starts_from(tmp_path):
    target, run = tmp_path / "target", tmp_path / "target" / "dbt_build-abc-123"
    run.mkdir(parents=True)
    keep_parse(run, target)  # dbt failed before parsing: nothing to keep
    assert not (target / PARTIAL_PARSE).exists()
    (run / PARTIAL_PARSE).write_bytes(b"tonight")
    keep_parse(run, target)
    assert (target / PARTIAL_PARSE).read_bytes() == b"tonight"
    assert sorted(p.name for p in target.iterdir()) == [run.name, PARTIAL_PARSE]  # no leftovers


def test_build_folders_past_the_latest_ten_are_deleted_once_a_day_old(tmp_path):
    now = time.time()
    ages_h = [0.5, 1, *range(30, 42)]  # two from today, twelve older than a day
    for n, age in enumerate(ages_h):
        folder = tmp_path / f"dbt_build-{n:02d}"
        folder.mkdir()
        os.utime(folder, (now - age * 3600, now - age * 3600))
    (tmp_path / "compiled").mkdir()  # not a build's folder
    deleted = prune_target_folders(tmp_path)
    assert sorted(f.name for f in deleted) == [f"dbt_build-{n:02d}" for n in range(10, 14)]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["compiled", *[f"dbt_build-{n:02d}" for n in range(10)]]


def test_the_parse_takes_the_commands_project_profile_and_vars_less_the_night():
    command = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--target",
        "duckdb",
        "--vars",
        json.dumps({"leadbridge_warehouse": "/w.duckdb", "as_of": "2026-11-05 01:59:59"}),
        "--select",
        "fqn:*",
    ]
    assert parse_arguments(command) == [
        "parse",
        "--target",
        "duckdb",
        "--vars",
        json.dumps({"leadbridge_warehouse": "/w.duckdb"}),
    ]
    # dbt reads --vars as YAML
    assert parse_arguments(["run", "--vars", "{as_of: '2026-11-05', x: 1}"]) == [
        "parse",
        "--vars",
        json.dumps({"x": 1}),
    ]


def test_the_parse_writes_no_manifest_and_both_log_info_to_the_file_unless_told():
    command = ["build", "--target", "duckdb", "--vars", "{x: 1}"]
    parse, build = invocations(command)
    assert parse == [*parse_arguments(command), "--no-write-json", *FILE_LOG]
    assert build == [*command, *FILE_LOG]
    assert FILE_LOG == ["--log-level-file", "info"]
    debug = [*command, "--log-level-file", "debug"]
    assert invocations(debug) == ([*parse_arguments(debug), "--no-write-json"], debug)


def test_the_exit_code_is_dbts():
    assert exit_code(dbtRunnerResult(success=True)) == 0
    assert exit_code(dbtRunnerResult(success=False)) == 1  # a model or test failed
    assert exit_code(dbtRunnerResult(success=False, exception=RuntimeError("x"))) == 2


class Stop(Exception):
    """Raised by the stand-in for dbt once it has the command."""


@pytest.mark.parametrize("full_refresh", [True, False])
def test_a_night_run_with_full_refresh_rebuilds_the_incremental_models(
    full_refresh, tmp_path, monkeypatch
):
    import dagster as dg

    from orchestration.defs.resources import Warehouse, dbt_cli
    from orchestration.defs.transform import dbt_build

    commands: list[list[str]] = []

    def record(self, args, **kwargs):
        commands.append(list(args))
        raise Stop

    monkeypatch.setattr(DbtCliResource, "cli", record)
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "w.duckdb"))
    dg.materialize(
        [dbt_build],
        resources={"dbt": dbt_cli(), "warehouse": Warehouse(path=str(tmp_path / "w.duckdb"))},
        run_config={"ops": {"dbt_build": {"config": {"full_refresh": full_refresh}}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    [command] = commands
    assert command[:3] == ["build", "--exclude-resource-type", "unit_test"]
    assert ("--full-refresh" in command) is full_refresh
