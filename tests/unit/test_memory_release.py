"""Freed memory handed back to the OS between the nightly job's steps (leadbridge.memory)."""

import ctypes
import gc
import platform
import weakref

import psutil
import pytest

from leadbridge import memory

pytestmark = pytest.mark.unit

BLOCK, BLOCKS = 4000, 50_000


class _Node:
    """An object that can sit in a reference cycle."""

    other: object | None = None


def test_release_memory_collects_unreachable_cycles() -> None:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    collected = []
    weakref.finalize(a, collected.append, "a")
    del a, b
    gc.disable()  # the cycle is freed by the release, not by an automatic collection
    try:
        memory.release_memory()
    finally:
        gc.enable()
    assert collected == ["a"]


def test_after_the_first_release_only_objects_made_since_are_scanned_and_collected() -> None:
    memory.release_memory()
    survivors = gc.get_freeze_count()
    assert survivors > 1000  # this process's modules, pytest's and ours
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    collected = []
    weakref.finalize(a, collected.append, "a")
    del a, b
    gc.disable()
    try:
        memory.release_memory()
    finally:
        gc.enable()
    assert collected == ["a"]
    # frozen once: the second release froze nothing more (refcounting may have freed some)
    assert gc.get_freeze_count() <= survivors


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
    reason="malloc_trim is glibc's",
)
def test_release_memory_returns_freed_heap_pages_to_the_os() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    process = psutil.Process()
    # 200 MB in small blocks on the heap; the last one stays, so glibc cannot give the
    # freed ones back by shrinking the heap from its top, only a trim does
    blocks = [libc.malloc(BLOCK) for _ in range(BLOCKS)]
    try:
        for block in blocks:
            ctypes.memset(block, 1, BLOCK)
        for block in blocks[:-1]:
            libc.free(block)
        held = process.memory_info().rss
        assert memory.release_memory() is True
        assert held - process.memory_info().rss > BLOCK * BLOCKS // 2
    finally:
        libc.free(blocks[-1])
