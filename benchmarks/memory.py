"""Peak memory: the resident set size of this process and all its children, sampled.

A background thread samples RSS every `interval` seconds (children include the dbt
subprocess that dagster-dbt starts). Samples are kept with their wall-clock time so a
stage's peak can be read afterwards from its start and end times, whoever timed it
(Dagster events, dlt's trace, the harness itself), and split into this process's share
and its children's, to tell the nightly process's own memory from dbt's.
"""

from __future__ import annotations

import os
import threading
import time

import psutil

MIB = 1024 * 1024


def tree_rss(process: psutil.Process) -> int:
    """RSS in bytes of a process and its descendants (vanished ones count as 0)."""
    return sum(split_rss(process))


def split_rss(process: psutil.Process) -> tuple[int, int]:
    """RSS in bytes of a process, and of its descendants together (vanished ones: 0)."""
    own = children = 0
    for proc in [process, *process.children(recursive=True)]:
        try:
            rss = proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if proc.pid == process.pid:
            own = rss
        else:
            children += rss
    return own, children


class RssSampler:
    """Samples the process tree's RSS in a daemon thread while it runs."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.samples: list[tuple[float, int]] = []  # (epoch, tree RSS)
        self.own: list[int] = []  # this process's share of each sample
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-rss", daemon=True)
        self._process = psutil.Process(os.getpid())

    def _run(self) -> None:
        while not self._stop.is_set():
            own, children = split_rss(self._process)
            self.own.append(own)  # before the sample, so a reader never lacks it
            self.samples.append((time.time(), own + children))
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
        return round(self._peak(start, end)[1] / MIB, 1)

    def peak_split_mib(self, start: float | None = None, end: float | None = None) -> list[float]:
        """[this process, its children] at the sample `peak_mib` reports."""
        index, total = self._peak(start, end)
        own = self.own[index] if index >= 0 else 0
        return [round(own / MIB, 1), round((total - own) / MIB, 1)]

    def _peak(self, start: float | None, end: float | None) -> tuple[int, int]:
        """(index, tree RSS) of the highest sample in the window; (-1, 0) for none."""
        lo = start if start is not None else float("-inf")
        hi = end if end is not None else float("inf")
        samples = list(self.samples)
        inside = [(rss, i) for i, (t, rss) in enumerate(samples) if lo <= t <= hi]
        if not inside:
            before = [(rss, i) for i, (t, rss) in enumerate(samples) if t <= lo]
            inside = before[-1:] or [(0, -1)]
        rss, index = max(inside)
        return index, rss
