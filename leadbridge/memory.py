"""Hand the memory a step has freed back to the operating system.

The nightly job runs its steps in one process while dbt runs in a process of its own.
pandas, GX and DuckDB allocate through glibc's malloc, which keeps freed pages in its
arenas rather than returning them: without a trim, the nightly process would go on
holding its largest step's peak (a Great Expectations slice) beside dbt's build.
`release_memory` collects cycles and asks glibc to trim (`malloc_trim`); on a C library
without it (musl, macOS) it only collects. Its first call freezes what survives (the
libraries and definitions a run keeps), so later collections scan only what steps made.
docs/operations.md, "Memory".
"""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    trim = getattr(libc, "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


@functools.cache
def _freeze_survivors() -> None:
    """Take every object alive now out of the cyclic collector's reach for good
    (`gc.freeze`): right after a collection these are what a run holds to its end, the
    imported libraries (Dagster, dbt, GX, pandas) and the job's definitions, most of the
    process's objects, which every later collection would scan again to free nothing.
    Refcounting still frees them; only a cycle among them that dies later is kept."""
    gc.freeze()


def release_memory() -> bool:
    """Collect garbage and return free heap pages to the OS; whether glibc trimmed any.
    The first call freezes what survives its collection (`_freeze_survivors`)."""
    gc.collect()
    _freeze_survivors()
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
