"""Which database the nightly job runs on: the one place that knows.

`LEADBRIDGE_TARGET` chooses the engine: `duckdb` (default; the file
`$LEADBRIDGE_WAREHOUSE`) or `postgres` (reached through the `LEADBRIDGE_PG_*` variables
the `postgres` target of dbt_project/profiles.yml reads too). dlt's destination, dbt's
target, the checks' reads, the run lock and the publication all follow it; nothing else
connects to the warehouse. On either engine the local data folder (the DuckDB file's
parent) keeps dlt's working folders, the file drop inbox and `alerts.log`. The target is
read when a run starts, so one process can run a night on each engine.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadbridge.settings import (
    DBT_ONLY_TARGETS,
    DUCKDB,
    POSTGRES,
    SPARK,
    TARGET,
    DbtOnlyTarget,
    Settings,
)

PG_CONNECT_TIMEOUT_SECONDS = 10
# DuckDB's own default memory limit is 80% of the machine's memory per connection, and a
# connection keeps the pages it read cached up to that limit: LEADBRIDGE_DUCKDB_MEMORY_LIMIT
# (leadbridge.settings) caps it, for dbt's connections too (profiles.yml).


def duckdb_config() -> dict[str, str]:
    """Settings for `duckdb.connect(config=…)` on the warehouse or its published copy."""
    return {"memory_limit": Settings.from_env().duckdb_memory_limit}


def target_name(configured: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The engine to run on: `configured`, else `$LEADBRIDGE_TARGET`, else duckdb."""
    if configured is not None:
        return TARGET.value(configured)
    return Settings.from_env(environ).target


@dataclass(frozen=True)
class PostgresSettings:
    """Where the PostgreSQL warehouse is; `url` names it without the password."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    sslmode: str = "prefer"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PostgresSettings:
        """The `LEADBRIDGE_PG_*` settings of `environ` (default: the process's)."""
        return cls(**Settings.from_env(environ).postgres)

    @property
    def url(self) -> str:
        """`postgresql://host:port/database`: for logs and run tags (no credentials)."""
        return f"postgresql://{self.host}:{self.port}/{self.database}"

    def connect(self, **kwargs: Any):
        """A new psycopg2 connection whose session runs in UTC, as dbt's models assume."""
        import psycopg2

        kwargs.setdefault("application_name", "leadbridge")
        return psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.database,
            sslmode=self.sslmode,
            connect_timeout=PG_CONNECT_TIMEOUT_SECONDS,
            # timestamptz values and `now()` must not depend on the server's TimeZone.
            options="-c TimeZone=UTC",
            **kwargs,
        )

    def dlt_credentials(self) -> dict[str, Any]:
        """The credentials dlt's postgres destination takes."""
        return {
            "host": self.host,
            "port": self.port,
            "username": self.user,
            "password": self.password,
            "database": self.database,
            "query": {"sslmode": self.sslmode},
        }


@dataclass(frozen=True)
class Engine:
    """The warehouse of one run: its engine, where it is and how to read it."""

    name: str
    # The DuckDB warehouse file; on Postgres its folder still holds the local state.
    file: Path
    postgres: PostgresSettings | None = None

    @classmethod
    def resolve(
        cls,
        file: Path,
        target: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Engine:
        """The engine `target` (default `$LEADBRIDGE_TARGET`) with the warehouse `file`."""
        name = target_name(target, environ)
        if name in DBT_ONLY_TARGETS:
            raise DbtOnlyTarget(f"{TARGET.name}={name}: {DBT_ONLY_TARGETS[name]}")
        settings = PostgresSettings.from_env(environ) if name == POSTGRES else None
        return cls(name, file, settings)

    @property
    def is_spark(self) -> bool:
        """True when the warehouse is the Leadbridge Spark server's (leadbridge.spark)."""
        return self.name == SPARK

    @property
    def is_postgres(self) -> bool:
        """True when the warehouse is a PostgreSQL database."""
        return self.name == POSTGRES

    @property
    def location(self) -> str:
        """The warehouse for logs and lock tags: the file, `postgresql://host:port/db`, or
        the Spark server's `sc://host:port`."""
        if self.is_spark:
            return Settings.from_env().spark["remote"]
        return self.postgres.url if self.postgres else str(self.file)

    @property
    def pipelines_dir(self) -> Path:
        """dlt working folders of this target: state lives and dies with its data, so a
        switch of target never reuses a cursor kept for the other warehouse."""
        local = self.file.parent
        if self.is_spark:
            return local / ".dlt_pipelines_spark"
        if self.postgres is None:
            return local / ".dlt_pipelines"
        server = f"{self.postgres.host}_{self.postgres.port}_{self.postgres.database}"
        return local / ".dlt_pipelines_postgres" / server.replace("/", "_")

    def dlt_destination(self):
        """The dlt destination that loads into this warehouse."""
        import dlt

        if self.is_spark:
            from leadbridge.spark import raw_folder

            return dlt.destinations.filesystem(raw_folder().as_uri())
        if self.postgres is None:
            return dlt.destinations.duckdb(str(self.file))
        return dlt.destinations.postgres(credentials=self.postgres.dlt_credentials())

    def declare_loaded(self, feed: str, pipeline: Any) -> list[str]:
        """After `pipeline` loaded `feed`: on Spark, declare its Parquet files as the raw
        tables dbt reads (leadbridge.spark); their names. Other engines: nothing to do."""
        if not self.is_spark:
            return []
        import dlt

        from leadbridge.spark import declare_raw_tables, raw_folder

        # the schema as the load stored it: in the job, the pipeline object's own held
        # column hints without types here (dagster-dlt drops and restores the local state
        # around its run)
        stored = dlt.attach(pipeline.pipeline_name, pipelines_dir=pipeline.pipelines_dir)
        schema = stored.default_schema
        with _spark_session() as session:
            return declare_raw_tables(session.connection, feed, raw_folder(), schema)

    @contextlib.contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session on the warehouse for the length of the block."""
        if self.is_spark:
            with _spark_session() as session:
                yield session
            return
        if self.postgres is None:
            import duckdb

            with duckdb.connect(str(self.file), read_only=True, config=duckdb_config()) as con:
                yield Session(DUCKDB, con)
            return
        connection = self.postgres.connect()
        try:
            connection.set_session(readonly=True, autocommit=True)
            yield Session(POSTGRES, connection)
        finally:
            connection.close()

    @contextlib.contextmanager
    def writer(self) -> Iterator[Session]:
        """A read-write session for the block, one transaction committed when the block
        ends without an error (DuckDB: the file, exclusively; Spark has no transactions:
        each statement stands on its own)."""
        if self.is_spark:
            with _spark_session() as session:
                yield session
            return
        if self.postgres is None:
            import duckdb

            with duckdb.connect(str(self.file), config=duckdb_config()) as con:
                con.execute("begin transaction")
                yield Session(DUCKDB, con)
                con.execute("commit")  # an error leaves it uncommitted: closing rolls back
            return
        connection = self.postgres.connect()
        try:
            with connection:  # psycopg2 opens the transaction and commits it
                yield Session(POSTGRES, connection)
        finally:
            connection.close()

    def vacuum_full(self, tables: Sequence[str]) -> None:
        """PostgreSQL: rewrite `tables` (`schema.table`) so that the row versions an UPDATE
        replaced leave their data files (plain VACUUM only marks them reusable)."""
        if self.postgres is None or not tables:
            return
        connection = self.postgres.connect()
        try:
            connection.autocommit = True  # VACUUM cannot run inside a transaction
            with connection.cursor() as cursor:
                for table in tables:
                    schema, _, name = table.partition(".")
                    cursor.execute(f'vacuum full "{schema}"."{name}"')
        finally:
            connection.close()


@contextlib.contextmanager
def _spark_session() -> Iterator[Session]:
    from leadbridge.spark import connect, disconnect

    spark = connect()
    try:
        yield Session(SPARK, spark)
    finally:
        disconnect(spark)


def as_engine(warehouse: Engine | Path | str) -> Engine:
    """An engine from what callers pass: an `Engine`, or the path of a DuckDB file."""
    if isinstance(warehouse, Engine):
        return warehouse
    return Engine(DUCKDB, Path(warehouse))


@dataclass
class Session:
    """Statements on one open warehouse session; parameters are written `?` on both
    engines."""

    engine: str
    connection: Any

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Every row of `sql`."""
        if self.engine == SPARK:
            result = self.connection.sql(_spark_dialect(sql), args=list(params))
            return [tuple(row) for row in result.collect()]
        if self.engine == DUCKDB:
            # fetch all: a half-read result blocks the next statement (duckdb 2.0)
            return self.connection.execute(sql, list(params)).fetchall()
        with self.connection.cursor() as cursor:
            if params:
                cursor.execute(_pyformat(sql), tuple(params))
            else:  # without parameters psycopg2 takes the text as it is
                cursor.execute(sql)
            return cursor.fetchall()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the rows it changed (-1 when the engine does not say)."""
        if self.engine == SPARK:
            self.connection.sql(_spark_dialect(sql), args=list(params)).collect()
            return -1
        if self.engine == DUCKDB:
            # on the connection itself (a DuckDB cursor would be a connection of its own,
            # outside the transaction); a DML statement answers with its count
            result = self.connection.execute(sql, list(params))
            if sql.lstrip()[:6].lower() in ("update", "delete", "insert"):
                return int(result.fetchall()[0][0])
            return -1
        with self.connection.cursor() as cursor:
            cursor.execute(_pyformat(sql) if params else sql, tuple(params) or None)
            return cursor.rowcount

    def frame(self, sql: str):
        """`sql` as a pandas DataFrame (DECIMAL columns as floats on every engine)."""
        if self.engine == SPARK:
            frame = self.connection.sql(_spark_dialect(sql)).toPandas()
            decimals = [c for c in frame.columns if frame[c].map(_is_decimal).any()]
            return frame.astype({c: "float64" for c in decimals})
        if self.engine == DUCKDB:
            return self.connection.sql(sql).df()
        import pandas as pd

        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            columns = [column.name for column in cursor.description]
            records = cursor.fetchall()
        # coerce_float: psycopg2 returns NUMERIC as Decimal, DuckDB's df() as float64
        return pd.DataFrame.from_records(records, columns=columns, coerce_float=True)

    def table_exists(self, schema: str, table: str) -> bool:
        """Whether `schema.table` exists (a table or a view)."""
        if self.engine == SPARK:
            return bool(self.connection.catalog.tableExists(table, schema))
        found = self.rows(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        )
        return bool(found[0][0])


def _spark_dialect(sql: str) -> str:
    """`sql` as Spark's parser takes it: the one SQL type name the library and the suites
    write that Spark lacks (`double precision`, which PostgreSQL needs)."""
    return re.sub(r"\bdouble\s+precision\b", "double", sql, flags=re.IGNORECASE)


def _is_decimal(value: Any) -> bool:
    from decimal import Decimal

    return isinstance(value, Decimal)


def quote(name: str) -> str:
    """A quoted SQL identifier (the same on DuckDB and PostgreSQL)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _pyformat(sql: str) -> str:
    """`?` placeholders as psycopg2's `%s` (and a literal `%` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")
