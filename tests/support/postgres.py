"""A throw-away PostgreSQL server for tests, started from Debian's server binaries.

CI runs `make test` as root on a fresh machine, so the server cannot be assumed to be
there: when no `initdb` is found and we are root with `apt-get`, Debian's `postgresql`
package is installed (non-interactive, no recommends). The package's own cluster is
not used: every session gets its own data directory in a temp folder, owned by the
`postgres` OS user because `initdb` refuses to run as root. The server listens on
127.0.0.1 only, on a free port, with its unix socket inside the temp folder, and is
stopped and deleted afterwards.

Anything that prevents a server from starting raises `PostgresUnavailable` with the
reason, so the caller can skip with exactly that reason.

The session time zone of the server is deliberately not UTC (`SERVER_TIME_ZONE`): the
warehouse must not depend on the server's `TimeZone` setting, and a UTC server would
hide such a dependency.
"""

from __future__ import annotations

import glob
import logging
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from leadbridge.spark_local import duckdb_tables, free_loopback_port

log = logging.getLogger(__name__)

SERVER_TIME_ZONE = "America/New_York"
_OS_USER = "postgres"
_SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot be provided on this machine; the message says why."""


@dataclass(frozen=True)
class PostgresServer:
    """Connection details of a running throw-away server and its test database."""

    host: str
    port: int
    user: str
    password: str
    database: str
    socket_dir: Path

    def connect(self, **kwargs):
        """A psycopg2 connection to the test database as the test role (over TCP)."""
        import psycopg2

        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            **kwargs,
        )

    def engine_settings(self):
        """The product's `PostgresSettings` for this database (no TLS on loopback)."""
        from leadbridge.engine import PostgresSettings

        return PostgresSettings(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=self.database,
            sslmode="disable",
        )

    def admin_connect(self, **kwargs):
        """A psycopg2 connection to the test database as the superuser (unix socket):
        for what the test role may not do, e.g. `set role` to a role it is not in."""
        import psycopg2

        return psycopg2.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=_SUPERUSER,
            dbname=self.database,
            **kwargs,
        )

    def dbt_env(self) -> dict[str, str]:
        """The LEADBRIDGE_PG_* variables the `postgres` target of dbt_project/profiles.yml reads."""
        return {
            "LEADBRIDGE_PG_HOST": self.host,
            "LEADBRIDGE_PG_PORT": str(self.port),
            "LEADBRIDGE_PG_USER": self.user,
            "LEADBRIDGE_PG_PASSWORD": self.password,
            "LEADBRIDGE_PG_DATABASE": self.database,
        }


def find_server_binaries() -> Path | None:
    """The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `pg_ctl`, if any."""
    candidates = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        bin_dir = Path(initdb).parent
        version = bin_dir.parent.name
        if (bin_dir / "pg_ctl").exists() and version.isdigit():
            candidates.append((int(version), bin_dir))
    return max(candidates)[1] if candidates else None


def install_server_binaries() -> Path:
    """Install Debian's `postgresql` package (root and apt-get only) and return its bin dir."""
    if os.geteuid() != 0:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb) and not "
            "root, so they cannot be installed: apt-get install postgresql"
        )
    if shutil.which("apt-get") is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb) and no "
            "apt-get to install them"
        )
    log.warning("PostgreSQL server binaries not found: installing Debian's postgresql package")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"]
    result = _apt(install)
    if result.returncode != 0:
        # A fresh machine may have no package lists yet.
        log.warning("apt-get install failed; running apt-get update and retrying")
        _apt(["apt-get", "update", "-q"])
        result = _apt(install)
    bin_dir = find_server_binaries()
    if result.returncode != 0 or bin_dir is None:
        raise PostgresUnavailable(
            "apt-get install postgresql failed (exit "
            f"{result.returncode}): {(result.stderr or result.stdout)[-500:]}"
        )
    return bin_dir


APT_TIMEOUT_SECONDS = 600


def _apt(command: list[str]) -> subprocess.CompletedProcess:
    """Run apt-get non-interactively; a hung mirror must skip the tests, not stall CI."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired as exc:
        raise PostgresUnavailable(
            f"{' '.join(command)} did not finish within {APT_TIMEOUT_SECONDS} s"
        ) from exc


def _as_server_user(command: Sequence[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` OS user."""
    if os.geteuid() != 0:
        return list(command)
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root without runuser: cannot run initdb as postgres")
    return ["runuser", "-u", _OS_USER, "--", *command]


def _run(command: Sequence[str], what: str) -> None:
    result = subprocess.run(
        _as_server_user(command), capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    if result.returncode != 0:
        output = (result.stderr + result.stdout).strip()[-1500:]
        raise PostgresUnavailable(f"{what} failed (exit {result.returncode}): {output}")


def _start(bin_dir: Path, data_dir: Path, socket_dir: Path, log_file: Path) -> int:
    """Start the server on a free loopback port; retry once if another process took the port."""
    for attempt in range(2):
        port = free_loopback_port()
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {port}",
                f"-k {socket_dir}",
                f"-c timezone={SERVER_TIME_ZONE}",
                # A throw-away server: durability only costs time.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        try:
            _run(
                [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(log_file)]
                + ["-w", "-t", "60", "-o", options, "start"],
                "pg_ctl start",
            )
            return port
        except PostgresUnavailable as error:
            server_log = log_file.read_text(errors="replace")[-1500:] if log_file.exists() else ""
            if attempt == 1 or "could not bind" not in server_log:
                raise PostgresUnavailable(f"{error}\nserver log: {server_log}") from None
    raise AssertionError("unreachable")


@contextmanager
def postgres_server(
    user: str = "leadbridge", database: str = "leadbridge"
) -> Iterator[PostgresServer]:
    """Run a throw-away PostgreSQL server with a login role `user` owning `database`.

    Raises PostgresUnavailable (before yielding) when no server can be started.
    """
    try:
        import psycopg2
    except ImportError as error:
        raise PostgresUnavailable(f"psycopg2 is not installed: {error}") from None
    bin_dir = find_server_binaries() or install_server_binaries()

    root = Path(tempfile.mkdtemp(prefix="leadbridge-pg-"))
    data_dir, log_file = root / "data", root / "server.log"
    started = False
    try:
        if os.geteuid() == 0:
            try:
                shutil.chown(root, user=_OS_USER, group=None)
            except (LookupError, OSError) as error:
                raise PostgresUnavailable(
                    f"cannot hand {root} to the {_OS_USER} OS user: {error}"
                ) from None
        root.chmod(0o700)
        _run(
            [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", _SUPERUSER]
            # C collation sorts text by code point, as DuckDB does; local connections
            # (the socket in our own temp folder) are trusted, TCP needs the password.
            + ["--encoding=UTF8", "--locale=C", "--auth-local=trust"]
            + ["--auth-host=scram-sha-256", "--no-sync"],
            "initdb",
        )
        port = _start(bin_dir, data_dir, root, log_file)
        started = True

        password = secrets.token_hex(12)
        admin = psycopg2.connect(host=str(root), port=port, user=_SUPERUSER, dbname="postgres")
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                # CREATEROLE: dbt's on-run-start creates the BI access roles where they are
                # missing (dbt_project/macros/access.sql), as a deployment's dbt user may.
                cursor.execute(f'create role "{user}" login createrole password %s', (password,))
                cursor.execute(f'create database "{database}" owner "{user}"')
        finally:
            admin.close()

        yield PostgresServer(
            host="127.0.0.1",
            port=port,
            user=user,
            password=password,
            database=database,
            socket_dir=root,
        )
    finally:
        if started:
            stop = [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"]
            subprocess.run(_as_server_user(stop), capture_output=True, cwd=tempfile.gettempdir())
        shutil.rmtree(root, ignore_errors=True)


# DuckDB column types as dlt's postgres destination lands them.
_DUCKDB_TO_POSTGRES = {
    "VARCHAR": "varchar",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "TIMESTAMP": "timestamp",
    "DOUBLE": "double precision",
    "JSON": "jsonb",
}


def copy_duckdb_schemas(duckdb_path: str | Path, server: PostgresServer, schemas: Sequence[str]):
    """Copy every table of `schemas` from a DuckDB file into the server, same columns and types.

    The DuckDB postgres extension would do this in one statement, but it is downloaded at
    run time, which CI machines here cannot do; psycopg2 inserts the rows instead.
    """
    import duckdb
    from psycopg2.extras import execute_values

    source = duckdb.connect(str(duckdb_path), read_only=True)
    target = server.connect()
    try:
        source.execute("set TimeZone = 'UTC'")
        tables = {
            table: [
                (column, _DUCKDB_TO_POSTGRES.get(data_type, data_type.lower()))
                for column, data_type in columns
            ]
            for table, columns in duckdb_tables(source, list(schemas)).items()
        }
        with target, target.cursor() as cursor:
            for schema in schemas:
                cursor.execute(f'create schema if not exists "{schema}"')
            for (schema, table), table_columns in tables.items():
                ddl = ", ".join(f'"{name}" {pg_type}' for name, pg_type in table_columns)
                cursor.execute(f'create table "{schema}"."{table}" ({ddl})')
                names = ", ".join(f'"{name}"' for name, _ in table_columns)
                rows = source.execute(f'select {names} from "{schema}"."{table}"').fetchall()
                if rows:
                    execute_values(
                        cursor, f'insert into "{schema}"."{table}" ({names}) values %s', rows
                    )
    finally:
        target.close()
        source.close()
