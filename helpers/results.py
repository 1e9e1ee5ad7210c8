"""Record the figures a notebook measured, so the README and benchmarks can show them.

Each notebook writes ``results/<notebook>.json`` while it runs; the files are produced by
execution (and git-ignored), never typed in by hand.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from helpers import config

_NAME = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.-]*$")


def _plain(value: Any) -> Any:
    """Convert NumPy scalars/arrays and tuples to JSON types; reject NaN and infinity."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"Cannot record {value!r}: a measured figure must be finite.")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"Cannot record a {type(value).__name__}; use numbers, text, lists or dicts.")


def record(
    notebook: str, figures: dict[str, Any], directory: Path | None = None, merge: bool = False
) -> Path:
    """Write ``figures`` to ``results/<notebook>.json`` and return the file's path.

    By default the file is replaced, so figures of an earlier run never linger; with
    ``merge=True`` the figures are added to those already recorded (one call per section).

    Args:
        notebook: Notebook name without extension, e.g. ``"00_setup_and_first_look"``.
        figures: Measured values (numbers, text, lists or dicts of them).
        directory: Where to write; defaults to :func:`helpers.config.results_dir`.
        merge: Keep figures already recorded under other keys.

    Raises:
        ValueError: For an unusable notebook name or a non-finite number.
        TypeError: For a value JSON cannot hold.
    """
    if not _NAME.match(notebook) or notebook.endswith(".ipynb"):
        raise ValueError(
            f"Notebook name {notebook!r} is not usable as a file name; pass the "
            "notebook's name without '.ipynb', e.g. '04_feature_extraction'."
        )
    directory = Path(directory) if directory is not None else config.results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{notebook}.json"
    merged = load(notebook, directory) if merge and path.exists() else {}
    merged.update(_plain(dict(figures)))
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    return path


def load(notebook: str, directory: Path | None = None) -> dict[str, Any]:
    """Return the figures recorded for ``notebook``.

    Raises:
        FileNotFoundError: If the notebook has not been run yet (the message says so).
    """
    directory = Path(directory) if directory is not None else config.results_dir()
    path = directory / f"{notebook}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"No results for {notebook!r} in {directory}; run notebooks/{notebook}.ipynb first."
        )
    return json.loads(path.read_text())
