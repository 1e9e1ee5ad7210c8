"""Progress of long-running helpers: a text bar with a count, shown only when the work is slow.

Every helper that can run for more than a few seconds reports through :func:`bar`, so a
learner never watches a silent cell. The bar is plain text written to ``sys.stdout`` (tqdm's
standard bar, not a widget), so it shows the same in JupyterLab, in an executed notebook,
in the course website and in a terminal::

    mobilenet_v2 features of train:  48%|████▊     | 22/46 [00:30<00:32, 1.36s/batch]

Work that ends within :data:`DELAY_SECONDS` prints nothing, and a running bar is redrawn at
most every :data:`REFRESH_SECONDS`, so fast cells stay quiet and slow ones are not flooded.
A bar only counts: it draws no random numbers and changes no result.

Notebooks can use it too, for a loop of their own or a ``fit`` call::

    for name in progress.bar(models.BACKBONES, description="backbones", unit="backbone"):
        ...
    with progress.bar(description="fine-tuning", unit="step") as steps:
        model.fit(train_ds, epochs=EPOCHS, verbose=0, callbacks=[progress.fit_callback(steps)])
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from typing import Any

import tqdm.std

DELAY_SECONDS = 3.0
"""A bar appears only once its work has run this long: quick calls print nothing."""

REFRESH_SECONDS = 3.0
"""Shortest time between two redraws of a bar (each redraw is one more copy in a stored output)."""


class _TextBar(tqdm.std.tqdm):
    """tqdm's text bar without its monitor thread (a thread that would redraw from outside the cell)."""

    monitor_interval = 0


def bar(
    iterable: Iterable[Any] | None = None,
    *,
    description: str,
    total: int | None = None,
    unit: str = "it",
    enabled: bool = True,
) -> tqdm.std.tqdm:
    """Return a text progress bar over ``iterable``, or one to advance by hand with ``update``.

    Use it as an iterator (``for x in bar(items, ...)``) or as a context manager
    (``with bar(total=n, ...) as b: ... b.update(1)``); either way it closes itself and
    leaves its last state as one line. Nothing is printed before :data:`DELAY_SECONDS`.

    Args:
        iterable: What to walk through; ``None`` for a bar advanced with ``update(n)``.
        description: What the work is, printed before the bar ("features of train").
        total: Units of work in all; ``None`` takes ``len(iterable)`` where it has one,
            else the bar shows a count without a percentage.
        unit: Name of one unit of work ("batch", "run", "step").
        enabled: ``False`` returns a bar that only passes the iterable through (no output).

    Returns:
        A ``tqdm`` bar writing plain text to ``sys.stdout``.
    """
    return _TextBar(
        iterable,
        desc=description,
        total=total,
        unit=unit,
        file=sys.stdout,  # the stream of the moment: a notebook cell's, or pytest's capture
        delay=DELAY_SECONDS,
        mininterval=REFRESH_SECONDS,
        miniters=1,  # check the clock at every update: units here are slow (batches, runs)
        dynamic_ncols=False,
        disable=not enabled,
    )


def fit_callback(steps: tqdm.std.tqdm) -> Any:  # noqa: ANN401 - a keras Callback; keras imported lazily
    """Return a Keras callback that advances ``steps`` by every training step of ``model.fit``.

    One bar can count several ``fit`` calls (give it ``total``); when its ``total`` is
    ``None`` the callback sets it to epochs × steps per epoch of the first ``fit``. The
    epoch is shown after the count when there are several. It only counts (no metric is read), and it is safe for
    Keras's asynchronous callback dispatch, so training runs exactly as without it.

    Args:
        steps: A bar from :func:`bar` (e.g. ``bar(description="fine-tuning", unit="step")``).

    Returns:
        A ``keras.callbacks.Callback`` for ``fit(..., callbacks=[...])``.
    """
    import keras

    class FitSteps(keras.callbacks.Callback):
        async_safe = True  # Keras may call on_train_batch_end from worker threads: guarded by a lock

        def __init__(self) -> None:
            super().__init__()
            self._lock = threading.Lock()
            self._done_in_epoch = 0

        def on_train_begin(self, logs: dict | None = None) -> None:
            epochs, per_epoch = self.params.get("epochs"), self.params.get("steps")
            if steps.total is None and epochs and per_epoch:
                steps.total = epochs * per_epoch

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            with self._lock:
                self._done_in_epoch = 0
            epochs = self.params.get("epochs") or 1
            if epochs > 1:  # a one-epoch fit keeps the caller's postfix (e.g. which run this is)
                steps.set_postfix_str(f"epoch {epoch + 1}/{epochs}", refresh=False)

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            with self._lock:  # batch is the last step run (steps_per_execution runs several per call)
                advance = max(0, batch + 1 - self._done_in_epoch)
                self._done_in_epoch += advance
                steps.update(advance)

    return FitSteps()
