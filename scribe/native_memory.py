"""Giving freed native memory back to the operating system (glibc's ``malloc_trim``).

A hearing runs for hours in one process with many threads (the live worker, the second pass,
the decoders' and torch's pools), each allocating buffers of a different size for every decode
and embedding. glibc keeps what they free inside its per-thread arenas, so the resident set grows
with the hearing although the live Python and numpy objects do not (measured with tracemalloc
on a 13-minute hearing: +7 MB of Python allocations against +278 MB of resident memory;
benchmarks/second_pass.py --trace-memory). ``malloc_trim(0)`` returns the free pages of every
arena. Elsewhere (another libc, macOS, Windows) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache


@cache
def _trim():  # type: ignore[no-untyped-def]
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        fn = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def release_free_memory() -> bool:
    """Return the allocator's free pages to the OS; True when any were released."""
    fn = _trim()
    return fn is not None and bool(fn(0))
