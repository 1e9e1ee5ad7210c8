"""Give memory back after a large model is done with, so the next section can use it.

Deleting a network frees its tensors, but CPython and glibc's allocator keep the freed pages
for later use by the same process: the resident memory a laptop sees does not go down, and
what comes next (another network, a cache of features) may be placed beside the old pages
instead of in them. :func:`release` collects Python's garbage and asks glibc to return free
pages to the system (``malloc_trim``; Linux only, elsewhere it only collects garbage).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys


def resident_gib() -> float | None:
    """The process's resident memory in GiB (Linux), or ``None`` where ``/proc`` does not say."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        return None
    return None


def release() -> bool:
    """Collect garbage and return freed heap pages to the system; return whether glibc trimmed.

    Call it after ``del`` of everything that referred to a large network.
    """
    gc.collect()
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        return bool(ctypes.CDLL(name).malloc_trim(0))
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return False
