"""Expensive test inputs made once per test session, whichever pytest-xdist worker asks first.

Module and session fixtures live in one worker process; what several workers' modules only
read (a reference night, a built warehouse) is made once, in a folder of the session's
base temp that all workers share (the pattern pytest-xdist documents), under a file lock.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

DONE = ".done"


def shared_folder(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]
) -> Path:
    """The folder `name`, filled by `make(folder)` once per test session: the first worker
    to ask makes it while the others wait for the lock, then every worker reads it. A
    `make` that raises leaves no folder behind, so the next worker to ask tries again (and
    fails the same way); a worker never waits on a folder half made."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # each worker's base temp is a folder of the session's own (popen-gw0, …)
        base = base.parent
    folder = base / name
    with FileLock(str(base / f"{name}.lock")):
        if not (folder / DONE).exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                make(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (folder / DONE).touch()
    return folder
