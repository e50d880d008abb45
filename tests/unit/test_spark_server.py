"""The Leadbridge Spark server starts as the classic driver even from a Connect client."""

from __future__ import annotations

import pytest

from leadbridge.spark_local import server_environment

pytestmark = pytest.mark.unit


def test_the_servers_process_does_not_inherit_the_connect_client_marks():
    """PySpark marks a process that opened a Connect session (and the processes it
    starts) with these variables; the server's own session must not be a Connect one."""
    environ = {
        "SPARK_CONNECT_MODE_ENABLED": "1",
        "SPARK_REMOTE": "sc://127.0.0.1:15002",
        "LEADBRIDGE_SPARK_REMOTE": "sc://127.0.0.1:15003",
        "SPARK_HOME": "/opt/spark",
    }
    assert server_environment(environ) == {
        "LEADBRIDGE_SPARK_REMOTE": "sc://127.0.0.1:15003",
        "SPARK_HOME": "/opt/spark",
    }
