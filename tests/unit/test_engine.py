"""`LEADBRIDGE_TARGET` picks the engine of the whole nightly job (leadbridge/engine.py)."""

import contextvars
import os
from pathlib import Path

import pytest

from ingestion.pipelines import loader_file_format, make_pipeline
from leadbridge.engine import (
    Engine,
    PostgresSettings,
    as_engine,
    target_name,
)
from leadbridge.settings import UnknownTarget

pytestmark = pytest.mark.unit

PG = {
    "LEADBRIDGE_PG_HOST": "db.internal",
    "LEADBRIDGE_PG_PORT": "6543",
    "LEADBRIDGE_PG_USER": "loader",
    "LEADBRIDGE_PG_PASSWORD": "s3cret-pw",
    "LEADBRIDGE_PG_DATABASE": "crm",
    "LEADBRIDGE_PG_SSLMODE": "require",
}


def test_the_target_defaults_to_duckdb_and_accepts_postgres():
    assert target_name(environ={}) == "duckdb"
    assert target_name(environ={"LEADBRIDGE_TARGET": ""}) == "duckdb"
    assert target_name(environ={"LEADBRIDGE_TARGET": " Postgres "}) == "postgres"
    assert target_name("duckdb", environ={"LEADBRIDGE_TARGET": "postgres"}) == "duckdb"


def test_an_unknown_target_is_an_error_naming_the_valid_values():
    with pytest.raises(UnknownTarget, match=r"LEADBRIDGE_TARGET='snowflake'.*duckdb, postgres"):
        target_name(environ={"LEADBRIDGE_TARGET": "snowflake"})
    with pytest.raises(ValueError, match="valid values: duckdb, postgres"):
        Engine.resolve(Path("/w/leadbridge.duckdb"), environ={"LEADBRIDGE_TARGET": "pg"})


def test_spark_runs_the_nightly_job_through_the_spark_server(monkeypatch, tmp_path):
    from orchestration.run_nightly import unsupported_target

    assert target_name(environ={"LEADBRIDGE_TARGET": " Spark "}) == "spark"
    monkeypatch.setenv("LEADBRIDGE_TARGET", "spark")
    monkeypatch.setenv("LEADBRIDGE_SPARK_REMOTE", "sc://spark.internal:15999")
    monkeypatch.setenv("LEADBRIDGE_SPARK_WAREHOUSE", str(tmp_path / "spark"))
    engine = Engine.resolve(tmp_path / "leadbridge.duckdb")
    assert (engine.is_spark, engine.is_postgres) == (True, False)
    assert engine.location == "sc://spark.internal:15999"
    assert engine.pipelines_dir == tmp_path / ".dlt_pipelines_spark"
    destination = engine.dlt_destination()
    assert destination.destination_name == "filesystem"
    assert destination.config_params["bucket_url"] == (tmp_path / "spark" / "raw").as_uri()
    assert unsupported_target() is None


def test_postgres_settings_come_from_the_profiles_variables_and_never_show_the_password():
    settings = PostgresSettings.from_env(PG)
    assert (settings.host, settings.port, settings.user, settings.database) == (
        "db.internal",
        6543,
        "loader",
        "crm",
    )
    assert settings.sslmode == "require"
    assert settings.url == "postgresql://db.internal:6543/crm"
    assert "s3cret-pw" not in repr(settings)
    engine = Engine.resolve(
        Path("/w/leadbridge.duckdb"), environ={**PG, "LEADBRIDGE_TARGET": "postgres"}
    )
    assert engine.location == "postgresql://db.internal:6543/crm"
    assert "s3cret-pw" not in repr(engine)


def test_postgres_defaults_are_those_of_profiles_yml():
    settings = PostgresSettings.from_env({})
    assert settings.url == "postgresql://localhost:5432/leadbridge"
    assert (settings.user, settings.sslmode) == ("leadbridge", "prefer")
    with pytest.raises(ValueError, match="LEADBRIDGE_PG_PORT"):
        PostgresSettings.from_env({"LEADBRIDGE_PG_PORT": "fivefourthreetwo"})


def test_each_target_keeps_its_own_dlt_working_folder():
    file = Path("/w/leadbridge.duckdb")
    duck = Engine.resolve(file, environ={})
    pg = Engine.resolve(file, environ={**PG, "LEADBRIDGE_TARGET": "postgres"})
    other = Engine.resolve(
        file, environ={**PG, "LEADBRIDGE_PG_DATABASE": "crm2", "LEADBRIDGE_TARGET": "postgres"}
    )
    assert duck.pipelines_dir == Path("/w/.dlt_pipelines")  # unchanged for DuckDB
    assert len({duck.pipelines_dir, pg.pipelines_dir, other.pipelines_dir}) == 3
    assert all(p.parent.parent == Path("/w") for p in (pg.pipelines_dir, other.pipelines_dir))
    assert as_engine(file) == duck


def test_the_loader_file_format_follows_the_destination(tmp_path):
    settings = PostgresSettings.from_env(PG)
    duck = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "duck")
    pg = make_pipeline(
        "files",
        tmp_path / "w.duckdb",
        tmp_path / "pg",
        Engine("postgres", tmp_path / "w.duckdb", settings).dlt_destination(),
    )
    assert loader_file_format("files", duck) == "parquet"
    assert loader_file_format("files", pg) == "csv"  # COPY; Parquet would need ADBC
    assert pg.destination.destination_name == "postgres"


def _dbt_profile(monkeypatch, **env: str) -> tuple[str, dict]:
    """dbt's target name and output for profiles.yml under `env`, as `dbt build` reads it."""
    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    from leadbridge.paths import DBT_PROJECT_DIR

    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def render() -> tuple[str, dict]:
        set_invocation_context(os.environ)
        raw = read_profile(str(DBT_PROJECT_DIR))
        return Profile.render_profile(raw["leadbridge"], "leadbridge", None, ProfileRenderer({}))

    # dbt keeps the environment it reads in a context variable: not left to later tests
    return contextvars.copy_context().run(render)


@pytest.mark.parametrize("written", ["DuckDB", " duckdb ", "POSTGRES", "Postgres", ""])
def test_dbt_and_python_read_the_target_in_any_case_as_the_same_engine(monkeypatch, written):
    target, output = _dbt_profile(monkeypatch, LEADBRIDGE_TARGET=written)
    assert target == output["type"] == target_name(environ={"LEADBRIDGE_TARGET": written})


@pytest.mark.parametrize("written", ["REQUIRE", " Require ", "require"])
def test_dbt_and_python_read_the_sslmode_in_any_case_as_the_same_mode(monkeypatch, written):
    env = {"LEADBRIDGE_TARGET": "postgres", "LEADBRIDGE_PG_SSLMODE": written}
    _, output = _dbt_profile(monkeypatch, **env)
    assert output["sslmode"] == PostgresSettings.from_env(env).sslmode == "require"


def test_an_unknown_sslmode_is_an_error_naming_the_valid_values():
    with pytest.raises(ValueError, match=r"LEADBRIDGE_PG_SSLMODE='on'.*verify-full"):
        PostgresSettings.from_env({"LEADBRIDGE_PG_SSLMODE": "on"})


def test_the_dlt_progress_setting_is_read_in_any_case(monkeypatch, tmp_path):
    monkeypatch.setenv("LEADBRIDGE_DLT_PROGRESS", " OFF ")
    quiet = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "quiet")
    assert type(quiet.collector).__name__ == "NullCollector"
    monkeypatch.setenv("LEADBRIDGE_DLT_PROGRESS", "Log")
    logged = make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "logged")
    assert type(logged.collector).__name__ == "LogCollector"
    monkeypatch.setenv("LEADBRIDGE_DLT_PROGRESS", "quiet")
    with pytest.raises(ValueError, match=r"LEADBRIDGE_DLT_PROGRESS='quiet'; valid values: log"):
        make_pipeline("files", tmp_path / "w.duckdb", tmp_path / "other")


def test_dbt_is_told_the_target_and_the_warehouse_file_of_the_run(monkeypatch, tmp_path):
    import json

    from dbt.config.profile import Profile, read_profile
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    from leadbridge.paths import DBT_PROJECT_DIR
    from orchestration.defs.resources import Warehouse

    # what the environment says loses to what the run's resource was configured with
    monkeypatch.setenv("LEADBRIDGE_TARGET", "postgres")
    monkeypatch.setenv("LEADBRIDGE_WAREHOUSE", str(tmp_path / "environment.duckdb"))
    warehouse = Warehouse(path=str(tmp_path / "w.duckdb"), target="duckdb")
    args = warehouse.dbt_arguments({"as_of": "2026-11-01 02:00:00"})
    target = args[args.index("--target") + 1]
    cli_vars = json.loads(args[args.index("--vars") + 1])
    assert cli_vars["as_of"] == "2026-11-01 02:00:00"

    def render() -> tuple[str, dict]:
        set_invocation_context(os.environ)
        raw = read_profile(str(DBT_PROJECT_DIR))
        renderer = ProfileRenderer(cli_vars)
        return Profile.render_profile(raw["leadbridge"], "leadbridge", target, renderer)

    name, output = contextvars.copy_context().run(render)
    assert name == output["type"] == "duckdb"
    assert output["path"] == str(tmp_path / "w.duckdb")
    assert os.environ["LEADBRIDGE_WAREHOUSE"] == str(tmp_path / "environment.duckdb")
