"""How the dbt assets run dbt: the resource (orchestration/defs/resources.py `DbtCli`)
starts dbt without probing the CLI's version in a process of its own or opening a dbt
adapter in Dagster's process (overrides that must still reach dagster-dbt)."""

import inspect
import subprocess

import pytest
from dagster_dbt import DbtCliResource
from dbt.version import __version__ as dbt_core_version

from leadbridge.paths import DBT_EXECUTABLE
from orchestration.defs.resources import DbtCli, dbt_project

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
