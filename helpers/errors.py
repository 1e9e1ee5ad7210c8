"""Exceptions the helpers raise for predictable mistakes.

Each message says what went wrong *and what to do*. They are raised ``from None`` where
the underlying library's traceback would only bury that message.
"""

from __future__ import annotations


class CourseError(Exception):
    """Base class for every error the course helpers raise on purpose."""


class ResourceNotAvailableError(CourseError, RuntimeError):
    """Pretrained weights or a dataset are neither on disk nor downloadable."""


OFFLINE_HINT = (
    "Connect to the internet and run again (the file is downloaded once and cached), "
    "or point the standard variables at a prepared offline copy before starting "
    "Jupyter: KERAS_HOME for weights (a *writable* folder holding models/...), "
    "TFDS_DATA_DIR for datasets. `python -m helpers.config` shows where they point now."
)
