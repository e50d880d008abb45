"""Fixtures the in-process e2e modules share."""

import pytest

from tests.e2e.support import memory_instance


@pytest.fixture(scope="module")
def instance():
    """One in-memory Dagster instance per test module (see `support.memory_instance`)."""
    with memory_instance() as instance:
        yield instance
