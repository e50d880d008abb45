"""The Leadbridge Spark server starts as the classic driver even from a Connect client."""

from __future__ import annotations

import os

import pytest
from pyspark.sql import SparkSession

from leadbridge import spark_server

pytestmark = pytest.mark.unit


class _Builder:
    """SparkSession.builder's stand-in: records the environment getOrCreate() sees."""

    def __init__(self) -> None:
        self.seen: dict[str, str | None] = {}

    def config(self, key: str, value: str) -> _Builder:
        return self

    def getOrCreate(self):  # noqa: N802 (PySpark's name)
        self.seen = {
            name: os.environ.get(name) for name in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE")
        }
        raise RuntimeError("stop here: no JVM in a unit test")


def test_a_process_marked_as_a_connect_client_still_starts_a_driver(monkeypatch, tmp_path):
    """PySpark marks a process that opened a Connect session (and the processes it
    starts) with these variables; the server's own session must not be a Connect one."""
    monkeypatch.setenv("SPARK_CONNECT_MODE_ENABLED", "1")
    monkeypatch.setenv("SPARK_REMOTE", "sc://127.0.0.1:15002")
    monkeypatch.setenv("LEADBRIDGE_SPARK_WAREHOUSE", str(tmp_path))
    builder = _Builder()
    monkeypatch.setattr(SparkSession, "builder", builder)
    with pytest.raises(RuntimeError, match="stop here"):
        spark_server.start()
    assert builder.seen == {"SPARK_CONNECT_MODE_ENABLED": None, "SPARK_REMOTE": None}
