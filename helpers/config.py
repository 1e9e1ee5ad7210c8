"""Course-wide constants, notebook parameters and where files live.

Parameters read from the environment let a learner run a longer experiment without
editing a notebook: ``TLHO_EPOCHS=10 jupyter lab`` makes ``param("EPOCHS", 3)`` return 10.
The defaults are what the test suite (``make test``) executes: what a learner runs is what is tested.

Run ``python -m helpers.config`` to print the environment report of notebook 00.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import TypeVar

IMAGE_SIZE = 224
"""Side of the square images fed to every backbone (ImageNet weights are 224 x 224)."""

SEED = 42
"""The seed every notebook passes to ``keras.utils.set_random_seed``."""

PARAM_PREFIX = "TLHO_"

T = TypeVar("T", int, float, str, bool, list)


def param(name: str, default: T) -> T:
    """Return the environment variable ``TLHO_<name>`` cast to ``type(default)``.

    Args:
        name: Parameter name, e.g. ``"EPOCHS"``.
        default: Value used when the variable is unset; its type decides the cast
            (booleans accept 1/0, true/false, yes/no; a list is read as comma-separated
            values of its first element's type: ``TLHO_SIZES=10,30`` gives ``[10, 30]``; give a
            list parameter a list default, not a string to split, so it is parsed here only).

    Returns:
        The parsed value, or ``default``.

    Raises:
        ValueError: If the variable is set but cannot be read as ``type(default)`` (for a
            list: if an item cannot, or if it holds no item at all).
    """
    raw = os.environ.get(PARAM_PREFIX + name)
    if raw is None:
        return default
    try:
        return _cast(raw, default)
    except ValueError:
        if isinstance(default, list):
            kind = f"comma-separated list of {type(default[0]).__name__ if default else 'str'} values"
            example = ",".join(str(value) for value in default) or "a,b"
        else:
            kind, example = type(default).__name__, repr(default)
        raise ValueError(
            f"Environment variable {PARAM_PREFIX}{name}={raw!r} is not a valid {kind}; "
            f"unset it or give a value like {example}."
        ) from None


def _cast(raw: str, default: T) -> T:
    """``raw`` read as ``type(default)``; a list's items as its first element's type. Raises ValueError."""
    if isinstance(default, bool):
        lowered = raw.strip().lower()
        if lowered not in {"1", "0", "true", "false", "yes", "no"}:
            raise ValueError(raw)
        return lowered in {"1", "true", "yes"}  # type: ignore[return-value]
    if isinstance(default, list):
        example = default[0] if default else ""
        values = [_cast(part.strip(), example) for part in raw.split(",") if part.strip()]
        if not values:  # an empty list would fail later, far from its cause
            raise ValueError(raw)
        return values  # type: ignore[return-value]
    return type(default)(raw)


def project_dir() -> Path:
    """Return the course's root folder (the one holding ``helpers/`` and ``notebooks/``)."""
    return Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Return the folder for computed features (git-ignored); ``TLHO_CACHE_DIR`` overrides."""
    return Path(os.environ.get("TLHO_CACHE_DIR", project_dir() / "cache"))


def results_dir() -> Path:
    """Return the folder for measured figures (git-ignored); ``TLHO_RESULTS_DIR`` overrides."""
    return Path(os.environ.get("TLHO_RESULTS_DIR", project_dir() / "results"))


def checkpoint_dir() -> Path:
    """Return the folder for saved models (git-ignored); ``TLHO_CHECKPOINT_DIR`` overrides."""
    return Path(os.environ.get("TLHO_CHECKPOINT_DIR", project_dir() / "checkpoints"))


def keras_home() -> Path:
    """Return the folder Keras caches downloaded weights in (``KERAS_HOME`` or ``~/.keras``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))


def tfds_data_dir() -> Path:
    """Return the folder tensorflow-datasets reads prepared datasets from."""
    default = Path.home() / "tensorflow_datasets"
    return Path(os.environ.get("TFDS_DATA_DIR", default))


def environment_report() -> dict[str, str]:
    """Describe the software and hardware a notebook runs on.

    Returns:
        Versions of Python, TensorFlow, Keras and tensorflow-datasets, the number of CPU
        cores, whether a GPU is visible, and where weights and datasets are looked up.
    """
    import keras
    import tensorflow as tf
    import tensorflow_datasets as tfds

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tensorflow-datasets": tfds.__version__,
        "cpu cores": str(os.cpu_count()),
        "gpu": ", ".join(g.name for g in gpus) or "none (CPU is fine for this course)",
        "KERAS_HOME": str(keras_home()),
        "TFDS_DATA_DIR": str(tfds_data_dir()),
    }


if __name__ == "__main__":
    for key, value in environment_report().items():
        print(f"{key:>20}: {value}")
