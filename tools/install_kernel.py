"""Install the course's Jupyter kernel into this environment (``make setup`` and Binder run it).

The kernel is the environment's own Python with two quiet defaults, so a learner's cells show
what the course prints and not TensorFlow's start-up chatter:

* ``TF_CPP_MIN_LOG_LEVEL=2``: TensorFlow's C++ code logs only errors.
* ``--IPKernelApp.capture_fd_output=False``: what native code writes straight to the process's
  stdout/stderr (oneDNN and CUDA probes, absl's "log messages before InitializeLog") goes to the
  terminal that started Jupyter, not into the notebook. Python's own prints and warnings still
  reach the cell.
* TensorFlow's Python logger drops its INFO records ("Using MirroredStrategy with devices ...",
  "Assets written to ..."): in an interactive session TensorFlow switches that logger to INFO and
  prints to stdout, into the cell. It also drops the warning "N out of the last M calls to
  <function ...> triggered tf.function retracing": TensorFlow counts traces per function *code*,
  so every fresh model the course builds on purpose (fresh weights for each arm of a comparison)
  adds to one count, and the advice it prints is about a training loop a learner never wrote.
  A filter set at start-up (TensorFlow is not imported for it) keeps every other warning and error.
  It lives in this kernel only: on Colab, or in another kernel, the retracing warning still shows in
  chapters 05, 07, 08 and 10, and in this kernel it is hidden for a learner's own loops too.

Usage: ``python tools/install_kernel.py`` (writes ``<sys.prefix>/share/jupyter/kernels/python3``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2"}
TENSORFLOW_LOG_FILTER = (
    "import logging; logging.getLogger('tensorflow').addFilter(lambda record: record.levelno >= logging.WARNING"
    " and 'triggered tf.function retracing' not in record.getMessage())"
)
QUIET_ARGS = ["--IPKernelApp.capture_fd_output=False", f"--IPKernelApp.exec_lines={TENSORFLOW_LOG_FILTER}"]


def kernel_spec(python: str = sys.executable) -> dict:
    """The kernel.json of the course's kernel for the interpreter ``python``."""
    return {
        "argv": [python, "-m", "ipykernel_launcher", *QUIET_ARGS, "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "env": QUIET_ENV,
        "metadata": {"debugger": True},
    }


def install(prefix: Path = Path(sys.prefix)) -> Path:
    """Write the spec as the environment's ``python3`` kernel; return the file's path."""
    folder = prefix / "share" / "jupyter" / "kernels" / "python3"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kernel.json"
    path.write_text(json.dumps(kernel_spec(), indent=1) + "\n")
    return path


if __name__ == "__main__":
    print(f"installed {install()}")
