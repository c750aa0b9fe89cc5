"""Freed native memory goes back to the OS (scribe.native_memory), on this process's allocator."""

from __future__ import annotations

import ctypes.util
import platform

import pytest

from scribe.native_memory import release_free_memory


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(platform.system() != "Linux" or not ctypes.util.find_library("c"),
                    reason="glibc's malloc_trim: Linux only")
def test_memory_freed_between_live_buffers_is_given_back() -> None:
    """Buffers of the size decoders and embedders allocate, freed with every 40th kept alive:
    the allocator cannot shrink its heap past the survivors, so the freed pages stay resident
    until they are released (what made a hearing's resident set grow)."""
    blocks = [bytearray(4000) for _ in range(60_000)]  # ~240 MB, under the mmap threshold
    for b in blocks:
        b[::512] = b"\x01" * len(b[::512])  # touch every page
    keep = blocks[::40]
    del blocks
    before = rss_mb()
    assert release_free_memory()
    after = rss_mb()
    assert before - after > 100, (before, after)
    assert len(keep) == 1500
