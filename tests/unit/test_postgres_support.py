"""The throw-away PostgreSQL helper fails with a reason (the tests then skip), never hangs."""

import pytest

from tests.support import postgres

pytestmark = pytest.mark.unit


def test_a_hung_apt_get_becomes_a_skip_reason_instead_of_stalling_ci(monkeypatch):
    monkeypatch.setattr(postgres, "APT_TIMEOUT_SECONDS", 0.2)
    with pytest.raises(postgres.PostgresUnavailable, match=r"sleep 5 did not finish within 0.2 s"):
        postgres._apt(["sleep", "5"])


def test_a_finished_apt_get_returns_its_exit_code_and_output():
    result = postgres._apt(["sh", "-c", "echo installed; exit 3"])
    assert (result.returncode, result.stdout.strip()) == (3, "installed")
