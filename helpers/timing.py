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


def epoch_timer():  # noqa: ANN201 - returns a keras Callback; keras imported lazily
    """Return a Keras callback whose ``seconds`` list holds each epoch's wall time.

    Example::

        timer = timing.epoch_timer()
        model.fit(..., callbacks=[timer])
        timer.seconds  # [12.3, 10.1, 10.0]
    """
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._start = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def _unchanged(images):  # noqa: ANN001, ANN202 - one function object, so the traced pass is shared
    return images


def latency_per_image(model, batch_size: int, repeats: int = 3) -> float:  # noqa: ANN001
    """Seconds per image of ``model``'s inference pass at ``batch_size``, in a ``tf.function``.

    The input is zeros: speed does not depend on pixel values (or on the weights, so a
    model built with ``weights=None`` times the same as the pretrained one). The pass is
    :func:`helpers.features.embedding_function`'s, traced once per model for every batch size;
    one untimed call prepares this batch size; the median of ``repeats`` timed calls is returned.
    """
    import numpy as np
    import tensorflow as tf

    from helpers import features
    from helpers.errors import check_positive_int

    check_positive_int("batch_size", batch_size)
    check_positive_int("repeats", repeats)
    images = tf.zeros((batch_size, *model.input_shape[1:]))
    forward = features.embedding_function(model, _unchanged)
    forward(images).numpy()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(images).numpy()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) / batch_size
