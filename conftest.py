"""pytest configuration shared by the unit tests and the notebooks (run with nbval)."""

from __future__ import annotations

import os
import time

import pytest

# Quiet TensorFlow's C++ logging in the kernels nbval starts (they inherit this).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
# Fewer glibc malloc arenas: TensorFlow's threads otherwise keep freed memory (about 250 MB in
# notebook 05). Read when a kernel starts, so it must be set before nbval starts them.
os.environ.setdefault("MALLOC_ARENA_MAX", "2")

NOTEBOOK_BUDGET_S = float(os.environ.get("TLHO_NOTEBOOK_BUDGET_S", "600"))
"""A notebook that runs longer than this fails: shrink its default parameters."""

EXECUTED_TRANSLATIONS = ("00",)
"""Chapters of the Chinese edition (notebooks/zh/) that run as tests. Their code is the English code
(tools/translation_sync.py checks it, in tests/test_translation_sync.py), so running chapter 00 proves what
the folder adds (its kernel, paths and imports from notebooks/zh/) without running the course twice."""

_started: dict[str, float] = {}
_elapsed: dict[str, float] = {}


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Outputs that change run to run (log noise, pictures, HTML) are never compared."""
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "image/png", "text/html", "application/javascript")


def pytest_ignore_collect(collection_path, config) -> bool | None:  # type: ignore[no-untyped-def]
    """Leave out the translated chapters that are not in EXECUTED_TRANSLATIONS."""
    if collection_path.suffix == ".ipynb" and collection_path.parent.name == "zh":
        if not collection_path.name.startswith(EXECUTED_TRANSLATIONS):
            return True
    return None  # the rest is pytest's to decide (--ignore and the like still work on zh/00)


def _notebook(item: pytest.Item) -> str | None:
    if item.fspath.ext != ".ipynb":
        return None
    return f"zh/{item.fspath.basename}" if item.fspath.dirpath().basename == "zh" else item.fspath.basename


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail the remaining cells of a notebook once it has used up its time budget."""
    name = _notebook(item)
    if name is None:
        return
    start = _started.setdefault(name, time.monotonic())
    used = time.monotonic() - start
    if used > NOTEBOOK_BUDGET_S:
        pytest.fail(
            f"{name} has run {used:.0f} s, over its {NOTEBOOK_BUDGET_S:.0f} s budget: "
            "shrink its default parameters (they are what learners run, on a laptop or a classroom machine).",
            pytrace=False,
        )


def pytest_runtest_teardown(item: pytest.Item) -> None:
    name = _notebook(item)
    if name is not None:
        _elapsed[name] = time.monotonic() - _started[name]


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    """Print each notebook's wall time (kernel start included)."""
    if _elapsed:
        terminalreporter.section("notebook run times")
        for name, seconds in sorted(_elapsed.items()):
            terminalreporter.write_line(f"{seconds:7.1f} s  {name}")
