"""Peak memory: the resident set size of this process and all its children, sampled.

A background thread samples RSS every `interval` seconds (children include the dbt
subprocess that dagster-dbt starts). Samples are kept with their wall-clock time so a
stage's peak can be read afterwards from its start and end times, whoever timed it
(Dagster events, dlt's trace, the harness itself).
"""

from __future__ import annotations

import os
import threading
import time

import psutil

MIB = 1024 * 1024


def tree_rss(process: psutil.Process) -> int:
    """RSS in bytes of a process and its descendants (vanished ones count as 0)."""
    total = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


class RssSampler:
    """Samples the process tree's RSS in a daemon thread while it runs."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)
        self._process = psutil.Process(os.getpid())

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss(self._process)))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_mib(self, start: float | None = None, end: float | None = None) -> float:
        """Highest sample between `start` and `end` (epoch seconds; None: unbounded).

        A stage shorter than the interval may hold no sample: the nearest one before
        its start stands in (memory rarely drops within a fraction of a second).
        """
        lo = start if start is not None else float("-inf")
        hi = end if end is not None else float("inf")
        inside = [rss for t, rss in self.samples if lo <= t <= hi]
        if not inside:
            before = [rss for t, rss in self.samples if t <= lo]
            inside = before[-1:] or [0]
        return round(max(inside) / MIB, 1)
