"""The warehouse's run lock: one writer at a time, across processes.

DuckDB: an exclusive `flock` on `<warehouse>.lock`; Spark: on `leadbridge.lock` in the
Spark warehouse folder (as far as `flock` reaches: one machine, or a file system that
shares it). PostgreSQL: a session-level `pg_advisory_lock` on a connection of its own,
held for the whole run. Either way the operating system or the server releases it when
the holder's process dies, so a free lock proves a dead holder
(docs/decisions/007-warehouse-run-lock.md). A waiter logs once that it waits and gives
up after its timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from leadbridge.engine import Engine
from leadbridge.settings import Settings

# The advisory lock key every Leadbridge run on one database agrees on: the first 8
# bytes of sha256("leadbridge/nightly"), as a signed bigint.
ADVISORY_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"leadbridge/nightly").digest()[:8], "big", signed=True
)
LOCK_POLL_SECONDS = 0.5
DEFAULT_LOCK_TIMEOUT_SECONDS = 6 * 3600


def hold_warehouse_lock(
    engine: Engine, timeout: float = DEFAULT_LOCK_TIMEOUT_SECONDS, log: Any = None
) -> contextlib.AbstractContextManager[None]:
    """The run lock of `engine`'s warehouse, for a run or a command that writes outside
    one (the erasure): a file lock on DuckDB and Spark, an advisory lock on PostgreSQL."""
    hold = _advisory_lock if engine.postgres else _file_lock
    return hold(engine, timeout, log)


def _wait(try_lock: Any, engine: Engine, timeout: float, log: Any) -> None:
    """Call `try_lock` until it succeeds; say once that we wait; give up after `timeout`."""
    started = time.monotonic()
    announced = False
    while not try_lock():
        waited = time.monotonic() - started
        if waited > timeout:
            raise TimeoutError(f"another run held {engine.location} for {waited:.0f} s; giving up")
        if not announced and log:
            log.info(f"another run is using {engine.location}; waiting for it to finish")
            announced = True
        time.sleep(LOCK_POLL_SECONDS)


def _lock_file(engine: Engine) -> str:
    if engine.is_spark:
        from leadbridge.spark_server import warehouse_folder

        folder = warehouse_folder(Settings.from_env())
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder / "leadbridge.lock")
    return str(engine.file) + ".lock"


@contextlib.contextmanager
def _file_lock(engine: Engine, timeout: float, log: Any) -> Iterator[None]:
    """An exclusive `flock` on `<warehouse>.lock` (DuckDB) or in the Spark warehouse."""
    with open(_lock_file(engine), "w") as handle:

        def try_lock() -> bool:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        _wait(try_lock, engine, timeout, log)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def _advisory_lock(engine: Engine, timeout: float, log: Any) -> Iterator[None]:
    """A session-level advisory lock on a connection held for the run (PostgreSQL)."""
    assert engine.postgres is not None
    connection = engine.postgres.connect(application_name="leadbridge-run-lock")
    try:
        connection.autocommit = True  # a session lock: no transaction left open

        def try_lock() -> bool:
            with connection.cursor() as cursor:
                cursor.execute("select pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
                return bool(cursor.fetchone()[0])

        _wait(try_lock, engine, timeout, log)
        try:
            yield
        finally:
            # closing the session releases it anyway
            with contextlib.suppress(Exception), connection.cursor() as cursor:
                cursor.execute("select pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    finally:
        connection.close()


def holder_is_dead(holder: str) -> bool:
    """True only for a process of this host that no longer exists."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False
