"""Measure wall time of a block of code."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType


@dataclass
class Stopwatch:
    """Context manager that records the seconds its block took.

    Example::

        with timing.Stopwatch() as watch:
            model.fit(...)
        print(f"{watch.seconds:.1f} s")
    """

    seconds: float = 0.0
    _start: float = 0.0

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._start
