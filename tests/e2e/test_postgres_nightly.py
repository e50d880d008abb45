"""The nightly job on PostgreSQL (`LEADBRIDGE_TARGET=postgres`) against the same job on DuckDB.

One small demo night runs on each engine (module-scoped, each with its own Dagster
instance and home); then the marts are published again on PostgreSQL while another
thread keeps reading the published schema. The PostgreSQL runs use a database of their own on
the session's throw-away server (tests/support/postgres.py), so other modules' builds on
that server do not meet them. Skipped, with the reason, where no server can be started.

Both run times are printed (`-s` shows them).
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from leadbridge.content import postgres_content_hash
from leadbridge.engine import PostgresSettings
from leadbridge.lock import ADVISORY_LOCK_KEY
from leadbridge.publication import (
    PUBLICATION_TABLE,
    publish_postgres,
    read_postgres_publication,
    unpublished,
)
from leadbridge.restatements import LEDGER
from leadbridge.trust import CHECKS_TABLE, TRUST_TABLES
from orchestration.defs.publish import MART_KEYS
from orchestration.defs.resources import (
    LOCK_HOLDER_TAG,
    LOCK_PROCESS_TAG,
    Warehouse,
    claim_lock,
)
from tests.e2e.support import (
    RUN_CONFIG,
    NightReport,
    ReferenceNight,
    isolated_home,
    memory_instance,
    night_report,
    run_nightly,
)
from tests.support.postgres import PostgresServer
from tests.support.rows import sorted_rows

pytestmark = pytest.mark.e2e

DATABASE = "leadbridge_nightly"
ACCESS_ROLES = ("bi_reader", "marketing", "sales")
MIN_READS = 5


@dataclass
class Night(NightReport):
    """One run's report and what it left in the warehouse."""

    marts: dict[str, list[str]] = field(default_factory=dict)  # table → its columns
    rows: dict[str, list[tuple]] = field(default_factory=dict)  # table → normalised rows


COLUMNS_SQL = (
    "select table_name, column_name from information_schema.columns "
    "where table_schema = 'marts' order by table_name, ordinal_position"
)


def _columns(rows: list[tuple]) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {}
    for table, column in rows:
        columns.setdefault(table, []).append(column)
    return columns


def _select(table: str, columns: list[str]) -> str:
    quoted = ", ".join(f'"{column}"' for column in columns)
    return f'select {quoted} from marts."{table}"'


def _pg_rows(connection, sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _postgres_marts(settings: PostgresSettings, night: Night) -> Night:
    connection = settings.connect()
    try:
        night.marts = _columns(_pg_rows(connection, COLUMNS_SQL))
        for table, columns in night.marts.items():
            night.rows[table] = sorted_rows(_pg_rows(connection, _select(table, columns)))
    finally:
        connection.close()
    return night


def _duckdb_marts(path: Path, night: Night) -> Night:
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        night.marts = _columns(con.execute(COLUMNS_SQL).fetchall())
        for table, columns in night.marts.items():
            night.rows[table] = sorted_rows(con.execute(_select(table, columns)).fetchall())
    return night


def _timed_run(definitions, instance) -> tuple[Any, float]:
    started = time.monotonic()
    result = run_nightly(definitions, instance, RUN_CONFIG)
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def server(postgres_server: PostgresServer) -> PostgresServer:
    """The session's server, with a database for this module alone."""
    admin = postgres_server.admin_connect()
    try:
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{DATABASE}"')
            cursor.execute(f'create database "{DATABASE}" owner "{postgres_server.user}"')
    finally:
        admin.close()
    return PostgresServer(
        host=postgres_server.host,
        port=postgres_server.port,
        user=postgres_server.user,
        password=postgres_server.password,
        database=DATABASE,
        socket_dir=postgres_server.socket_dir,
    )


@pytest.fixture(scope="module")
def settings(server: PostgresServer) -> PostgresSettings:
    return PostgresSettings.from_env({**server.dbt_env(), "LEADBRIDGE_PG_SSLMODE": "disable"})


@pytest.fixture(scope="module")
def pg_env(server: PostgresServer) -> dict[str, str]:
    return {**server.dbt_env(), "LEADBRIDGE_PG_SSLMODE": "disable", "LEADBRIDGE_TARGET": "postgres"}


@pytest.fixture(scope="module")
def pg_home(tmp_path_factory):
    return tmp_path_factory.mktemp("postgres_nightly")


@pytest.fixture(scope="module")
def pg_instance():
    with memory_instance() as instance:
        yield instance


@pytest.fixture(scope="module")
def postgres_night(definitions, pg_instance, pg_home, pg_env, settings) -> Night:
    with isolated_home(pg_home, **pg_env):
        result, seconds = _timed_run(definitions, pg_instance)
    print(f"\nnightly run on PostgreSQL: {seconds:.1f} s")
    report = night_report(result, seconds, Path("/unused.duckdb"))
    return _postgres_marts(settings, Night(**asdict(report)))


@pytest.fixture(scope="module")
def duckdb_night(duckdb_reference_night: ReferenceNight) -> Night:
    """The same demo night on DuckDB (one per test session: the Spark night is compared
    with it too)."""
    reference = duckdb_reference_night
    night = Night(**asdict(reference.report))
    return _duckdb_marts(reference.home / "leadbridge.duckdb", night)


class PublishedReader(threading.Thread):
    """Reads `published` in single statements until stopped, as a BI tool would: every
    read must see one whole publication (one run id, its row counts exactly)."""

    def __init__(self, settings: PostgresSettings, tables: list[str]):
        super().__init__(daemon=True)
        self.settings, self.tables = settings, tables
        self.stop, self.reads, self.run_ids, self.errors = threading.Event(), 0, [], []
        self.deadlocks = 0

    def run(self) -> None:
        import psycopg2.errors

        counts = " union all ".join(
            f"select '{t}' as t, count(*) as n from published.\"{t}\"" for t in self.tables
        )
        sql = (
            f"select p.run_id, p.table_name, p.row_count, c.n from published.{PUBLICATION_TABLE} "
            f"p full join ({counts}) c on c.t = p.table_name"
        )
        connection = self.settings.connect()
        connection.autocommit = True
        try:
            while not self.stop.wait(0.05):
                try:
                    rows = _pg_rows(connection, sql)
                except psycopg2.errors.DeadlockDetected:
                    # the server chose this statement as the victim; a BI tool retries
                    self.deadlocks += 1
                    continue
                except Exception as error:
                    self.errors.append(f"{type(error).__name__}: {error}")
                    continue
                ids = {row[0] for row in rows}
                if len(ids) != 1 or any(row[2] != row[3] for row in rows):
                    self.errors.append(f"inconsistent read: {rows}")
                else:
                    self.run_ids.append(ids.pop())
                self.reads += 1
        finally:
            connection.close()


@pytest.fixture(scope="module")
def republished(postgres_night, settings):
    """`published` swapped again — what a later night's last step does — while a reader
    keeps reading it. Publishing alone, not a whole second night: only the swap meets the
    reader, and re-running a night is covered on DuckDB (test_nightly) and for dbt on
    PostgreSQL (test_dbt_postgres: incremental equals full)."""
    published = [t for t in sorted(postgres_night.marts) if unpublished().keeps("marts", t)]
    reader = PublishedReader(settings, [*published, LEDGER])
    reader.start()
    deadline = time.monotonic() + 30
    while reader.reads < MIN_READS and time.monotonic() < deadline and not reader.errors:
        time.sleep(0.05)
    run_id = f"republication-{uuid.uuid4().hex[:8]}"
    try:
        publish_postgres(settings, run_id)
        time.sleep(0.5)  # a few reads of the new publication
    finally:
        reader.stop.set()
        reader.join(timeout=30)
    return run_id, reader


# --- one night on each engine ----------------------------------------------------------


def test_the_nightly_job_succeeds_on_postgres_and_on_duckdb(postgres_night, duckdb_night):
    for night in (postgres_night, duckdb_night):
        assert night.success, night.summary
    print(
        f"\nnightly seconds: postgres {postgres_night.seconds:.1f}, "
        f"duckdb {duckdb_night.seconds:.1f}"
    )


def test_the_same_checks_run_and_pass_on_both_engines(postgres_night, duckdb_night):
    assert len(postgres_night.checks) > 100
    assert postgres_night.checks == duckdb_night.checks
    failed = sorted(name for name, passed in postgres_night.checks.items() if not passed)
    assert failed == []
    assert any(":gx_" in name for name in postgres_night.checks)
    assert any(":volume_" in name for name in postgres_night.checks)


def test_every_mart_is_equal_on_postgres_and_duckdb(postgres_night, duckdb_night):
    assert postgres_night.marts == duckdb_night.marts
    assert sorted(postgres_night.marts) == sorted(key.path[-1] for key in MART_KEYS)
    assert postgres_night.rows["dim_person"], "no people: the comparison would prove nothing"
    differing = {}
    for table, rows in postgres_night.rows.items():
        theirs = duckdb_night.rows[table]
        if rows != theirs:
            differing[table] = {
                "postgres only": [r for r in rows if r not in theirs][:3],
                "duckdb only": [r for r in theirs if r not in rows][:3],
            }
    assert differing == {}


def test_postgres_publishes_every_mart_with_a_matching_publication_record(
    postgres_night, settings, server
):
    publication = read_postgres_publication(settings)
    assert publication is not None
    assert publication.run_id == postgres_night.run_id
    connection = settings.connect()
    try:
        tables = {
            row[0]
            for row in _pg_rows(
                connection,
                "select table_name from information_schema.tables where table_schema = 'published'",
            )
        }
        # every mart but what dbt marks `publish: false` (the semantic layer's time spine)
        kept = {t for t in postgres_night.marts if unpublished().keeps("marts", t)}
        assert set(postgres_night.marts) - kept == {"metricflow_time_spine"}
        # and the trust record the Data trust page reads, and the restatement ledger
        assert tables == {*kept, PUBLICATION_TABLE, *TRUST_TABLES, LEDGER}
        with connection.cursor() as cursor:
            hashes = {t: postgres_content_hash(cursor, "published", t) for t in [*kept, LEDGER]}
        counts = {
            t: _pg_rows(connection, f'select count(*) from published."{t}"')[0][0]
            for t in [*kept, LEDGER]
        }
        columns = {
            row[0]
            for row in _pg_rows(
                connection,
                "select column_name from information_schema.columns "
                "where table_schema = 'published' and table_name = 'fct_lead_events'",
            )
        }
        leftovers = _pg_rows(
            connection,
            "select nspname from pg_namespace where nspname like 'published%\\_\\_%' ",
        )
    finally:
        connection.close()
    assert publication.hashes == hashes
    # the first night has nothing to restate
    assert (
        publication.rows
        == counts
        == {t: len(r) for t, r in postgres_night.rows.items() if t in kept} | {LEDGER: 0}
    )
    assert "build_fingerprint" not in columns and "event_id" in columns
    assert leftovers == []
    # the trust record and the restatement ledger reach whoever reads the marts
    assert _as_role(server, "bi_reader", f"select * from published.{CHECKS_TABLE}") == "ok"
    assert _as_role(server, "bi_reader", f"select * from published.{LEDGER}") == "ok"


# --- the same night again --------------------------------------------------------------


def test_a_later_publication_swaps_published_atomically(postgres_night, republished, settings):
    run_id, reader = republished
    publication = read_postgres_publication(settings)
    assert publication.run_id == run_id != postgres_night.run_id
    kept = {t for t in postgres_night.rows if unpublished().keeps("marts", t)}
    assert publication.rows == {
        t: len(rows) for t, rows in postgres_night.rows.items() if t in kept
    } | {LEDGER: publication.rows[LEDGER]}
    # readers saw the first publication, then the second, whole, never a mixture
    assert reader.errors == [], reader.errors[:5]
    assert reader.reads >= MIN_READS
    old, seen = postgres_night.run_id, reader.run_ids
    assert run_id in seen, "the reader never saw the new publication"
    swapped_at = seen.index(run_id)
    assert swapped_at > 0 and set(seen[:swapped_at]) == {old} and set(seen[swapped_at:]) == {run_id}


# --- who may read what -----------------------------------------------------------------


def _roles_exist(server: PostgresServer) -> bool:
    connection = server.admin_connect()
    try:
        found = _pg_rows(
            connection,
            "select count(*) from pg_roles where rolname in ('bi_reader', 'marketing', 'sales')",
        )
    finally:
        connection.close()
    return found[0][0] == len(ACCESS_ROLES)


def _as_role(server: PostgresServer, role: str, sql: str) -> str:
    """'ok', or the SQLSTATE class of the error, of `sql` run as `role`."""
    import psycopg2

    connection = server.admin_connect()
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"set role {role}")
            try:
                cursor.execute(sql)
                cursor.fetchall()
                return "ok"
            except psycopg2.errors.InsufficientPrivilege:
                return "permission denied"
    finally:
        connection.close()


def test_bi_reader_reads_published_marts_and_nothing_else(republished, server):
    # after a re-publication: the grants travel with every swap
    assert _roles_exist(server), "dbt's on-run-start creates bi_reader, marketing and sales"
    restricted = _pg_rows_admin(
        server,
        "select table_name from information_schema.tables "
        "where table_schema = 'published_restricted' order by 1",
    )
    queries = {
        "published.dim_person": "select * from published.dim_person limit 1",
        "published._publication": f"select * from published.{PUBLICATION_TABLE}",
        "marts.dim_person": "select * from marts.dim_person limit 1",
        "staging.stg_hubspot__contacts": "select * from staging.stg_hubspot__contacts limit 1",
        "hubspot.contacts": "select * from hubspot.contacts limit 1",
        "salesforce.lead": "select * from salesforce.lead limit 1",
        "files.list_members": "select * from files.list_members limit 1",
        **{
            f"published_restricted.{t}": f'select * from published_restricted."{t}" limit 1'
            for (t,) in restricted
        },
    }
    outcome = {name: _as_role(server, "bi_reader", sql) for name, sql in queries.items()}
    expected = dict.fromkeys(queries, "permission denied")
    expected["published.dim_person"] = expected["published._publication"] = "ok"
    assert outcome == expected
    assert restricted, "no restricted tables were published"
    # the roles the restricted models are granted to do read them
    for role in ("marketing", "sales"):
        table = restricted[0][0]
        assert _as_role(server, role, f'select * from published_restricted."{table}"') == "ok"


def _pg_rows_admin(server: PostgresServer, sql: str) -> list[tuple]:
    connection = server.admin_connect()
    try:
        return _pg_rows(connection, sql)
    finally:
        connection.close()


# --- the run lock on PostgreSQL --------------------------------------------------------


def test_a_second_run_waits_for_the_advisory_lock_of_the_first(pg_env, tmp_path, settings):
    with pytest.MonkeyPatch.context() as patch:
        for key, value in pg_env.items():
            patch.setenv(key, value)
        warehouse = Warehouse(path=str(tmp_path / "w.duckdb"))
        impatient = Warehouse(path=str(tmp_path / "w.duckdb"), lock_timeout_seconds=0.5)
        holding, released = threading.Event(), threading.Event()
        timeline = []

        def first_run():
            with warehouse.yield_for_execution(dg.build_init_resource_context()):
                holding.set()
                released.wait(10)
                time.sleep(1.0)
                timeline.append(("first released", time.monotonic()))

        thread = threading.Thread(target=first_run)
        thread.start()
        assert holding.wait(10)
        with (
            pytest.raises(TimeoutError, match="another run held") as waited,
            impatient.yield_for_execution(dg.build_init_resource_context()),
        ):
            raise AssertionError("the advisory lock was granted twice")
        assert settings.url in str(waited.value) and settings.password not in str(waited.value)
        released.set()
        with warehouse.yield_for_execution(dg.build_init_resource_context()):
            timeline.append(("second acquired", time.monotonic()))
        thread.join()
    assert [event for event, _ in timeline] == ["first released", "second acquired"]


def test_a_dead_holder_frees_the_advisory_lock_and_its_run_is_reaped(pg_env, tmp_path, settings):
    """A run killed outright: the server ends its session, which frees the lock; the
    next run gets it at once and reports the dead run failed (tag: the database URL)."""
    from dagster._core.utils import make_new_run_id

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, settings.password, str(ADVISORY_LOCK_KEY)],
        env={**os.environ, **pg_env},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.MonkeyPatch.context() as patch, dg.DagsterInstance.ephemeral() as instance:
            for key, value in pg_env.items():
                patch.setenv(key, value)
            warehouse = Warehouse(path=str(tmp_path / "w.duckdb"), lock_timeout_seconds=0.5)
            assert warehouse.engine.location == settings.url
            dead = dg.DagsterRun(
                job_name="nightly",
                run_id=make_new_run_id(),
                status=dg.DagsterRunStatus.STARTED,
                tags={
                    LOCK_HOLDER_TAG: settings.url,
                    LOCK_PROCESS_TAG: f"{socket.gethostname()}:{holder.pid}",
                },
            )
            current = dg.DagsterRun(
                job_name="nightly", run_id=make_new_run_id(), status=dg.DagsterRunStatus.STARTED
            )
            instance.add_run(dead)
            instance.add_run(current)
            with (
                pytest.raises(TimeoutError),
                warehouse.yield_for_execution(dg.build_init_resource_context()),
            ):
                raise AssertionError("granted while another session holds the lock")
            holder.kill()
            holder.wait()
            with warehouse.yield_for_execution(dg.build_init_resource_context()):
                # what the resource does with a run's context, here by hand
                reaped = claim_lock(instance, current.run_id, warehouse.engine.location)
            assert reaped == [dead.run_id]
            assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
            tags = instance.get_run_by_id(current.run_id).tags
            assert tags[LOCK_HOLDER_TAG] == settings.url
            assert settings.password not in str(dict(tags))
            gc.collect()  # hand pooled connections back before the instance closes them
    finally:
        holder.kill()
        holder.wait()


# Holds the advisory lock in a separate process, as another run would, until killed.
HOLDER = """
import os, sys, time, psycopg2
connection = psycopg2.connect(
    host=os.environ["LEADBRIDGE_PG_HOST"], port=os.environ["LEADBRIDGE_PG_PORT"],
    user=os.environ["LEADBRIDGE_PG_USER"], password=sys.argv[1],
    dbname=os.environ["LEADBRIDGE_PG_DATABASE"],
)
connection.autocommit = True
connection.cursor().execute("select pg_advisory_lock(%s)", (int(sys.argv[2]),))
print("locked", flush=True)
time.sleep(600)
"""
