"""Exceptions the helpers raise for predictable mistakes.

Each message says what went wrong *and what to do*. They are raised ``from None`` where
the underlying library's traceback would only bury that message.
"""

from __future__ import annotations

import numbers


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


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` naming ``name``.

    Booleans are refused although Python counts them as integers.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)
