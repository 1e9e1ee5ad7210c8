"""Running an exported file: the interpreter's threads, and what the comparison with Keras can show.

The exports themselves (a real conversion each) are tested in test_recipe.py.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from helpers import litert


def test_schedulable_cpus_follow_the_affinity_not_the_machine(monkeypatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {2, 5}, raising=False)
    assert litert.schedulable_cpus() == 2, "a container pinned to 2 of 64 CPUs"
    monkeypatch.delattr(os, "sched_getaffinity")
    assert litert.schedulable_cpus() == 64, "without affinity (macOS, Windows): the machine's count"
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert litert.schedulable_cpus() == 1


class _Interpreter:
    """Stands in for tf.lite.Interpreter: records the threads asked for, takes float photos of 8 px."""

    threads: list[int] = []

    def __init__(self, model_path: str, num_threads: int) -> None:
        _Interpreter.threads.append(num_threads)

    def allocate_tensors(self) -> None:
        pass

    def get_input_details(self) -> list[dict]:
        return [{"dtype": np.float32, "shape": np.array([1, 8, 8, 3]), "index": 0}]

    def get_output_details(self) -> list[dict]:
        return [{"dtype": np.float32, "shape": np.array([1, 3]), "index": 1}]


def test_the_interpreter_gets_one_thread_per_usable_cpu(tmp_path, monkeypatch) -> None:
    path = tmp_path / "model.tflite"
    path.write_bytes(b"")
    monkeypatch.setattr(tf.lite, "Interpreter", _Interpreter)
    monkeypatch.setattr(_Interpreter, "threads", [])
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert litert.LiteRTModel(path).threads == 3
    assert litert.LiteRTModel(path, threads=1).threads == 1
    assert _Interpreter.threads == [3, 1], "what the interpreter was given"


def _check(changed: int, photos: int) -> litert.ExportCheck:
    return litert.ExportCheck("int8", 1.0, 1.0, photos, changed, 0.1, comparison=None)


@pytest.mark.parametrize("changed, photos", [(0, 155), (2, 155), (4, 310), (9, 20)])
def test_change_bound_is_the_exact_one_sided_bound(changed, photos) -> None:
    check = _check(changed, photos)
    assert check.agreement == pytest.approx(1 - changed / photos)
    bound = check.change_bound()
    # Clopper-Pearson: the rate at which seeing `changed` or fewer has probability 5 %
    assert stats.binom.cdf(changed, photos, bound) == pytest.approx(0.05, rel=1e-6)
    assert changed / photos < bound < 1
    assert check.change_bound(0.99) > bound


def test_no_change_at_all_still_leaves_about_three_over_n() -> None:
    """The rule of three: on 155 photos a perfect agreement only shows a rate below about 2 %."""
    assert _check(0, 155).change_bound() == pytest.approx(3 / 155, rel=0.02)
    assert _check(0, 310).change_bound() < _check(0, 155).change_bound(), "only more photos tighten it"


class _Exported:
    """A file's predictions without a file: what compare_with_keras asks of a LiteRTModel."""

    megabytes = 1.0

    def __init__(self, probabilities: np.ndarray) -> None:
        self.probabilities = probabilities

    def predict(self, images: np.ndarray) -> np.ndarray:
        return self.probabilities

    def latency_per_image(self, repeats: int) -> float:
        return 0.001


def test_compare_with_keras_counts_changed_top_classes() -> None:
    keras_probabilities = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.3, 0.7]])
    exported = keras_probabilities.copy()
    exported[1] = [0.45, 0.55]  # a close call flips
    labels = np.array([0, 0, 1, 0])
    check = litert.compare_with_keras("int8", _Exported(exported), np.zeros((4, 8, 8, 3)), labels,
                                      keras_probabilities, repeats=1)
    assert (check.photos, check.changed, check.agreement) == (4, 1, 0.75)
    assert check.largest_difference == pytest.approx(0.15) and check.ms_per_photo == pytest.approx(1.0)
    assert check.comparison.only_second == 1 and check.comparison.only_first == 0
    with pytest.raises(ValueError, match="one photo or more"):
        litert.compare_with_keras("int8", _Exported(exported[:0]), np.zeros((0, 8, 8, 3)), labels[:0],
                                  keras_probabilities[:0])
