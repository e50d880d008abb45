"""Fixtures the in-process e2e modules share: a Dagster instance and a home per module,
and one reference night on DuckDB per test session."""

import pytest

from tests.e2e.support import (
    ReferenceNight,
    isolated_home,
    memory_instance,
    read_reference_night,
    run_reference_night,
    simulated_home,
)
from tests.support.once import shared_folder


@pytest.fixture(scope="module")
def instance():
    """One in-memory Dagster instance per test module (see `support.memory_instance`)."""
    with memory_instance() as instance:
        yield instance


@pytest.fixture(scope="module")
def home(request, tmp_path_factory):
    """The module's isolated home for its nights (`support.isolated_home`).

    A module that defines `CONFIG` reads its sources from the `sim` fixture's simulator,
    configured as real accounts (`support.simulated_home`); otherwise its nights run on
    the demo and publish to `bi/`. The module's `HOME_ENV` adds settings.
    """
    path = tmp_path_factory.mktemp(request.module.__name__.rpartition(".")[2])
    env = getattr(request.module, "HOME_ENV", {})
    if hasattr(request.module, "CONFIG"):
        setting = simulated_home(path, request.getfixturevalue("sim"), **env)
    else:
        published = path / "bi" / "leadbridge_marts.duckdb"
        setting = isolated_home(path, LEADBRIDGE_PUBLISHED=str(published), **env)
    with setting:
        yield path


@pytest.fixture(scope="session")
def duckdb_reference_night(definitions, tmp_path_factory) -> ReferenceNight:
    """The demo night on DuckDB that the PostgreSQL and Spark nights are compared with,
    run once per test session by the first worker that asks (`shared_folder`); its home
    is only read."""
    home = shared_folder(
        tmp_path_factory,
        "duckdb_reference_night",
        lambda folder: run_reference_night(definitions, folder),
    )
    return read_reference_night(home)
