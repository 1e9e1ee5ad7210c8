"""Run an exported LiteRT (TensorFlow Lite) model, and measure what the export cost.

:meth:`helpers.recipe.Classifier.export` writes a ``.tflite`` file, the format phones and
small devices run. This module runs such a file with the LiteRT interpreter that ships inside
TensorFlow (``tf.lite.Interpreter``, which TensorFlow 2.21 deprecates in favour of the
``ai-edge-litert`` package's; on a phone the LiteRT runtime reads the same file) and
compares it with the Keras model it came from:

- :class:`LiteRTModel` predicts a batch of photos one at a time, as an app would, and times
  one photo (median of repeats);
- :func:`compare_with_keras` gives the size, the latency, how often the top class agrees with
  the Keras model (with an upper bound on how often it changes, :meth:`ExportCheck.change_bound`),
  the largest probability difference, and the paired test of chapter 09.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from helpers import significance
from helpers.errors import check_positive_int


def schedulable_cpus() -> int:
    """The CPUs this process may run on, as TensorFlow counts them for its threads.

    ``os.cpu_count()`` counts the machine's CPUs even where the process may use only some (a
    cpuset of a container, a job pinned with ``taskset``; a CPU quota such as ``docker --cpus``
    does not show here); threads beyond the usable CPUs only wait for one
    another. Where the system cannot say (macOS, Windows), the machine's count.
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class LiteRTModel:
    """A ``.tflite`` classifier: photos in [0, 255] in, class probabilities out.

    Args:
        path: The exported file.
        threads: CPU threads the interpreter may use. ``None``: one per CPU this process may
            run on (:func:`schedulable_cpus`), like TensorFlow (the interpreter's own default is one).

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: If the file takes or gives integers (an export with integer input or
            output): this class feeds photos as float, as :meth:`~helpers.recipe.Classifier.export`
            exports them.
    """

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import tensorflow as tf

        self.path = Path(path)
        self.threads = threads or schedulable_cpus()
        if not self.path.is_file():
            raise FileNotFoundError(f"No LiteRT model at {self.path.resolve()}; export one with classifier.export(...).")
        with warnings.catch_warnings():  # TF 2.21 warns that tf.lite.Interpreter moves to the ai-edge-litert package
            warnings.simplefilter("ignore")
            self.interpreter = tf.lite.Interpreter(model_path=str(self.path), num_threads=self.threads)
        self.interpreter.allocate_tensors()
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        if self._input["dtype"] != np.float32 or self._output["dtype"] != np.float32:
            raise ValueError(f"{self.path.name} takes {np.dtype(self._input['dtype']).name} and gives "
                             f"{np.dtype(self._output['dtype']).name}; LiteRTModel runs files with float input and "
                             "output, as classifier.export writes them.")

    @property
    def image_size(self) -> int:
        return int(self._input["shape"][1])

    @property
    def megabytes(self) -> float:
        """File size in MiB."""
        return self.path.stat().st_size / 2**20

    def _run(self, image: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self._input["index"], image[None].astype(np.float32))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output["index"])[0]

    def tensor_types(self) -> dict[str, int]:
        """How many of the file's tensors hold each number type (``{"int8": ..., "float32": ...}``)."""
        names = [np.dtype(t["dtype"]).name for t in self.interpreter.get_tensor_details()]
        return {name: names.count(name) for name in sorted(set(names))}

    def predict(self, images: np.ndarray) -> np.ndarray:
        """``(n, classes)`` probabilities for ``(n, size, size, 3)`` photos, one photo per call."""
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[1:3] != (self.image_size, self.image_size):
            raise ValueError(f"Give photos as (n, {self.image_size}, {self.image_size}, 3); got {images.shape}.")
        return np.stack([self._run(image) for image in images])

    def latency_per_image(self, repeats: int = 20) -> float:
        """Seconds for one photo (batch 1): the median of ``repeats`` calls after one untimed call."""
        check_positive_int("repeats", repeats)
        image = np.zeros((self.image_size, self.image_size, 3), np.float32)
        self._run(image)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self._run(image)
            times.append(time.perf_counter() - start)
        return float(np.median(times))


@dataclass(frozen=True)
class ExportCheck:
    """One exported file measured against the Keras model it came from, on the same photos."""

    name: str
    megabytes: float
    ms_per_photo: float
    photos: int
    """Test photos measured."""
    changed: int
    """Photos whose top class is not the Keras model's."""
    largest_difference: float
    """Largest absolute difference of a class probability, over all photos and classes."""
    comparison: significance.Comparison
    """Accuracy of the export against the Keras model's, paired on the same photos (McNemar)."""

    @property
    def agreement(self) -> float:
        """Share of photos whose top class is the Keras model's."""
        return 1 - self.changed / self.photos

    def change_bound(self, confidence: float = 0.95) -> float:
        """Upper bound on how often the top class changes on photos like these (one-sided, exact).

        ``changed`` of ``photos`` is a sample: the rate at which the export changes the Keras
        model's top class is at most this, at level ``confidence`` (the Clopper-Pearson bound,
        ``scipy.stats.binomtest(...).proportion_ci``). It also bounds the difference of the two
        accuracies, which cannot exceed the share of photos whose top class differs. With no change
        at all it is still about ``3 / photos``: only more photos make it smaller.
        """
        test = stats.binomtest(self.changed, self.photos, alternative="less")
        return float(test.proportion_ci(confidence_level=confidence, method="exact").high)

    def row(self) -> str:
        return (f"{self.name:>22} {self.megabytes:8.2f} {self.ms_per_photo:9.1f} {self.agreement:10.3f} "
                f"{self.largest_difference:11.4f} {self.comparison.accuracies[0]:9.3f}")


HEADER = f"{'format':>22} {'size MiB':>8} {'ms/photo':>9} {'same top-1':>10} {'max |Δp|':>11} {'accuracy':>9}"


def compare_with_keras(name: str, exported: LiteRTModel, images: np.ndarray, labels: np.ndarray,
                       keras_probabilities: np.ndarray, repeats: int = 20) -> ExportCheck:
    """Measure ``exported`` on ``images`` against the Keras model's probabilities on the same photos.

    Raises:
        ValueError: If the photos, labels and Keras probabilities do not line up.
    """
    keras_probabilities = np.asarray(keras_probabilities)
    if not len(images) == len(labels) == len(keras_probabilities) or not len(images):
        raise ValueError(f"Give one label and one row of Keras probabilities per photo, for one photo or more; got "
                         f"{len(images)} photos, {len(labels)} labels, {len(keras_probabilities)} rows.")
    probabilities = exported.predict(images)
    return ExportCheck(
        name=name,
        megabytes=exported.megabytes,
        ms_per_photo=1000 * exported.latency_per_image(repeats),
        photos=len(images),
        changed=int(np.sum(probabilities.argmax(1) != keras_probabilities.argmax(1))),
        largest_difference=float(np.abs(probabilities - keras_probabilities).max()),
        comparison=significance.compare(labels, probabilities, keras_probabilities, names=(name, "Keras model")),
    )
