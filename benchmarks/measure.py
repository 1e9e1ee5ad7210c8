"""Measurement tools of ``make bench``: peak memory, notebook runs, throughput, ratios.

Everything here measures; nothing estimates. Times are wall-clock seconds on the machine
that runs the benchmark (its core count goes into the report), memory is resident set
size (RSS) as the kernel reports it.
"""

from __future__ import annotations

import json
import os
import platform
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PEAK_MARKER = "TLHO_PEAK_RSS_BYTES="
"""Prefix of the line the last, added cell of a benchmarked notebook prints."""


PEAK_RSS_SOURCE = """
def _tlho_peak_rss_bytes():
    try:  # Linux: the high-water mark of this program's own memory
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource, sys  # macOS reports bytes, other systems kilobytes
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)
"""
"""Source of the peak reader, also run inside benchmarked kernels (so it is defined once).

On Linux ``VmHWM`` is read rather than ``getrusage``'s ``ru_maxrss``: the latter survives
``exec``, so a kernel started by a large process would report its parent's peak.
"""

_namespace: dict[str, Any] = {}
exec(PEAK_RSS_SOURCE, _namespace)  # noqa: S102 - our own constant source


def peak_rss_bytes() -> int:
    """Return this process's peak resident memory so far, in bytes."""
    return int(_namespace["_tlho_peak_rss_bytes"]())


def current_rss_bytes() -> int:
    """Return this process's resident memory now, in bytes."""
    import psutil

    return int(psutil.Process().memory_info().rss)


def machine_report() -> dict[str, Any]:
    """Describe the machine a benchmark ran on (numbers mean nothing without it)."""
    import psutil

    return {
        "cpu_cores": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }


@dataclass(frozen=True)
class NotebookRun:
    """Wall time and peak resident memory of one notebook executed in a fresh kernel."""

    name: str
    seconds: float
    peak_rss_bytes: int
    error: str = ""
    """Why the notebook failed; empty when it ran to the end (then the figures are complete)."""
    failed_cells: int = 0
    """Cells that raised in a run told to go on past errors (``allow_errors``); 0 otherwise."""

    @property
    def peak_rss_gib(self) -> float:
        """Peak resident memory in GiB."""
        return self.peak_rss_bytes / 2**30


def run_notebook(path: Path, timeout_s: int = 900, kernel_name: str = "python3",
                 allow_errors: bool = False) -> NotebookRun:
    """Execute ``path`` top to bottom in a new kernel; return its wall time and peak RSS.

    The notebook runs from its own folder, as in JupyterLab. A cell is appended that
    prints the kernel's peak RSS (see :func:`peak_rss_bytes`); the file is not modified.
    With ``allow_errors`` every cell runs even after one raised (a claim checked on data it
    was not written for), and the run counts the cells that raised.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        RuntimeError: If a cell fails (the message names the notebook and the error).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No notebook at {path}.")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(
        nbformat.v4.new_code_cell(
            PEAK_RSS_SOURCE + f"print('{PEAK_MARKER}' + str(_tlho_peak_rss_bytes()))"
        )
    )
    client = NotebookClient(
        notebook,
        timeout=timeout_s,
        kernel_name=kernel_name,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as error:
        last = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().splitlines()[-1]  # no colour codes
        raise RuntimeError(f"{path.name} failed: {last}") from None
    seconds = time.perf_counter() - start
    failed = sum(any(o.get("output_type") == "error" for o in cell.get("outputs", [])) for cell in notebook.cells
                 if "raises-exception" not in cell.get("metadata", {}).get("tags", []))  # meant to raise
    return NotebookRun(path.stem, seconds, _peak_from_outputs(notebook.cells[-1].outputs), failed_cells=failed)


def _peak_from_outputs(outputs: Iterable[dict[str, Any]]) -> int:
    for output in outputs:
        for line in output.get("text", "").splitlines():
            if line.startswith(PEAK_MARKER):
                return int(line[len(PEAK_MARKER):])
    raise RuntimeError("The peak-memory cell printed nothing; the kernel may have died.")


@dataclass(frozen=True)
class Throughput:
    """Items processed per second, over ``repeats`` timed passes after one warm-up."""

    items: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Items per second."""
        return self.items / self.seconds


def measure_throughput(work: Callable[[], int], repeats: int = 2, warm_up: bool = True) -> Throughput:
    """Call ``work`` once to warm up (tracing, caches), then ``repeats`` times timed.

    Args:
        work: Processes a fixed workload and returns how many items it processed.
        repeats: Timed calls; their items and seconds are summed.
        warm_up: Make the untimed first call (skip it when the caller has warmed up).

    Raises:
        ValueError: If ``repeats`` is below 1 or ``work`` processes nothing.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}.")
    if warm_up:
        work()
    items, start = 0, time.perf_counter()
    for _ in range(repeats):
        items += work()
    seconds = time.perf_counter() - start
    if items <= 0:
        raise ValueError("The workload processed no items; nothing was measured.")
    return Throughput(items, seconds)


def asdict_default(value: Any) -> Any:
    """``json.dumps`` fallback: dataclasses become dicts, NumPy scalars numbers."""
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"Cannot write a {type(value).__name__} to JSON.")


def write_json(path: Path, report: dict[str, Any]) -> Path:
    """Write ``report`` (dataclasses allowed) as indented JSON and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=asdict_default) + "\n")
    return path


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    """Return a GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
