"""Dagster's SQLite event log with its connections kept open: the same files, written
without a new engine, a checkpoint and two fsyncs for every event.

Dagster's `SqliteEventLogStorage` opens and closes a database per event (twice for an
asset or check event: the run's file and the cross-run index), and closing the last
connection of a WAL database checkpoints it. A run writes an event per planned asset and
check at its start, so that cost is paid hundreds of times even by a run that has
nothing to do. This subclass keeps one connection per database (the index and the latest
runs') and commits in WAL mode with `synchronous=NORMAL`: a power loss may lose the last
events, never the database.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._config import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
)
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy.pool import StaticPool

# The index and the runs being written (a run, a sensor's run) stay open; older runs'
# files are read rarely and are closed.
OPEN_RUN_FILES = 4


def event_log_storage(dagster_home: Any) -> dict[str, Any]:
    """Instance config overrides' `event_log_storage`: this storage in `dagster_home`. Given
    where the instance is opened (`make run`, the benchmarks), not in dagster.yaml: there
    only `$DAGSTER_HOME` could name the folder, wrong for an instance opened elsewhere."""
    return {
        "module": __name__,
        "class": KeptOpenSqliteEventLogStorage.__name__,
        "config": {"dagster_home": str(dagster_home)},
    }


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` in `<dagster_home>/history/runs` (Dagster's default place,
    so the webserver and older instances read the same files), connections kept open."""

    def __init__(self, dagster_home: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, db.engine.Engine] = OrderedDict()
        self._index_tables: set[str] = set()
        super().__init__(os.path.join(dagster_home, "history", "runs"), inst_data)
        self._inst_data = inst_data

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> KeptOpenSqliteEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> db.engine.Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            # one connection, used under the storage's lock by whichever thread holds it
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=StaticPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            db.event.listen(engine, "connect", _relaxed_sync_in_wal)
        self._engines[shard] = engine  # most recently used last
        runs = [name for name in self._engines if name != INDEX_SHARD_NAME]
        for name in runs[: max(0, len(runs) - OPEN_RUN_FILES)]:
            self._engines.pop(name).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.engine.Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)  # may have just switched a new file to WAL
                self._initialized_dbs.add(shard)
                with engine.connect() as conn:
                    _relaxed_sync_in_wal(conn.connection.dbapi_connection, None)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # Asked before every asset check event is written, also inside an open connection
        # (so not through the lock); Dagster's migrations add tables, none drops one.
        if table_name not in self._index_tables and super().has_table(table_name):
            self._index_tables.add(table_name)
        return table_name in self._index_tables

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # wipe deletes the run files
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()


def _relaxed_sync_in_wal(connection: Any, _record: Any) -> None:
    """`synchronous=NORMAL` where the database is in WAL mode (Dagster creates them so):
    a commit then needs no fsync and the database stays consistent on a crash."""
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()
