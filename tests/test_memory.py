"""memory: freed memory goes back to the system."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from helpers import memory


def test_resident_memory_is_reported_in_gib():
    if not sys.platform.startswith("linux"):
        pytest.skip("/proc/self/status is Linux's")
    assert 0.01 < memory.resident_gib() < 64


def test_release_returns_freed_small_allocations_to_the_system():
    if not sys.platform.startswith("linux"):
        pytest.skip("malloc_trim is glibc's")
    memory.release()
    before = memory.resident_gib()
    chunks = [np.ones(2_000, np.float64) for _ in range(20_000)]  # ~320 MB in small heap blocks
    grown = memory.resident_gib()
    del chunks
    assert memory.release() is True
    after = memory.resident_gib()
    assert grown - before > 0.2  # the blocks were resident ...
    assert after - before < 0.5 * (grown - before)  # ... and most of them went back
