"""The deployment's Dagster instance config (orchestration/deploy/dagster.postgres.yaml)
stores runs, events and schedule state in PostgreSQL.

A tiny job runs on an instance loaded from that very file, pointed at a throw-away server;
the run, its events and a schedule's state must be readable from the database by a
second instance, as the webserver and the daemon (two processes) read each other's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from leadbridge.paths import REPO_ROOT

pytestmark = pytest.mark.integration

CONFIG = REPO_ROOT / "orchestration" / "deploy" / "dagster.postgres.yaml"


@dg.op
def say_hello(context) -> int:
    context.log.info("hello from the postgres instance test")
    return 1


@dg.job
def hello_job():
    say_hello()


@pytest.fixture()
def dagster_home(tmp_path: Path, postgres_server, monkeypatch: pytest.MonkeyPatch) -> Path:
    import psycopg2

    # The server's superuser (trusted on its private socket) creates Dagster a database
    # of its own, as the config's comment asks, owned by the ordinary login role.
    admin = psycopg2.connect(
        host=str(postgres_server.socket_dir),
        port=postgres_server.port,
        user="postgres",
        dbname="postgres",
    )
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("drop database if exists dagster_instance_test")
            cursor.execute(f'create database dagster_instance_test owner "{postgres_server.user}"')
    finally:
        admin.close()
    shutil.copy(CONFIG, tmp_path / "dagster.yaml")
    for key, value in {
        "DAGSTER_PG_HOST": postgres_server.host,
        "DAGSTER_PG_PORT": str(postgres_server.port),
        "DAGSTER_PG_USER": postgres_server.user,
        "DAGSTER_PG_PASSWORD": postgres_server.password,
        "DAGSTER_PG_DB": "dagster_instance_test",
    }.items():
        monkeypatch.setenv(key, value)
    return tmp_path


def test_runs_and_events_are_stored_in_postgres(dagster_home: Path, postgres_server) -> None:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        result = hello_job.execute_in_process(instance=instance)
        assert result.success
        run_id = result.run_id

    # A second instance (another process in a deployment) sees the run and its logs.
    with dg.DagsterInstance.from_config(str(dagster_home)) as other:
        run = other.get_run_by_id(run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        messages = [entry.user_message for entry in other.all_logs(run_id)]
        assert "hello from the postgres instance test" in messages

    import psycopg2

    connection = psycopg2.connect(
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        password=postgres_server.password,
        dbname="dagster_instance_test",
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("select status from runs where run_id = %s", (run_id,))
            assert cursor.fetchall() == [("SUCCESS",)]
    finally:
        connection.close()


def test_the_config_keeps_the_local_policies(dagster_home: Path) -> None:
    """One run at a time and run monitoring, as in orchestration/dagster.yaml."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        # what the queue daemon reads (not run_coordinator.get_run_queue_config(): its defaults)
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert instance.run_monitoring_enabled
