"""Per-class metrics, mistakes and Grad-CAM, on examples small enough to check by hand."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest

from helpers import evaluation, plots

matplotlib.use("Agg")

LABELS = np.array([0, 0, 0, 1, 1, 2])
PREDICTED = np.array([0, 0, 1, 1, 0, 1])  # class 2 is never predicted


def test_class_metrics_match_a_hand_count() -> None:
    metrics = evaluation.class_metrics(LABELS, PREDICTED, ["a", "b", "c"])
    # class a: TP 2, FP 1 (the 1 predicted as 0), FN 1 -> precision 2/3, recall 2/3
    # class b: TP 1, FP 2, FN 1 -> precision 1/3, recall 1/2; class c: never predicted -> 0, 0
    assert np.allclose(metrics.precision, [2 / 3, 1 / 3, 0])
    assert np.allclose(metrics.recall, [2 / 3, 1 / 2, 0])
    assert np.allclose(metrics.f1, [2 / 3, 2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2), 0])
    assert metrics.support.tolist() == [3, 2, 1]
    assert metrics.accuracy == pytest.approx(3 / 6)
    assert metrics.macro["recall"] == pytest.approx((2 / 3 + 1 / 2) / 3)
    assert "macro avg" in metrics.table() and "       c     0.000" in metrics.table()


def test_class_metrics_refuse_mismatched_or_unknown_labels() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        evaluation.class_metrics(LABELS, PREDICTED[:-1], ["a", "b", "c"])
    with pytest.raises(ValueError, match="0..1 for 2 class names"):
        evaluation.class_metrics(LABELS, PREDICTED, ["a", "b"])


def test_confusion_rows_are_true_classes() -> None:
    matrix = evaluation.confusion(LABELS, PREDICTED, 3)
    assert matrix.tolist() == [[2, 1, 0], [1, 1, 0], [0, 1, 0]]


def test_most_confident_mistakes_come_first() -> None:
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7]])
    labels = np.array([0, 0, 0, 1])  # rows 1 and 2 are wrong, row 1 more confidently
    assert evaluation.most_confident_mistakes(probabilities, labels).tolist() == [1, 2]
    assert evaluation.most_confident_mistakes(probabilities, labels, count=1).tolist() == [1]
    assert evaluation.most_confident_mistakes(probabilities, np.array([0, 1, 1, 1])).size == 0


def test_grad_cam_peaks_where_the_class_evidence_is() -> None:
    # Channel 0 votes for class 0, channel 1 for class 1 (through average pooling and a Dense layer).
    head = keras.Sequential([keras.Input((3, 3, 2)), keras.layers.GlobalAveragePooling2D(),
                             keras.layers.Dense(2, use_bias=False)])
    head.layers[-1].set_weights([np.array([[1.0, -1.0], [-1.0, 1.0]])])
    identity = keras.Sequential([keras.Input((3, 3, 2)), keras.layers.Identity()])  # maps are given
    maps = np.zeros((2, 3, 3, 2), np.float32)
    maps[0, 0, 0, 0] = 1.0  # image 0: class-0 evidence top left
    maps[1, 2, 1, 1] = 2.0  # image 1: class-1 evidence bottom middle
    heatmaps = evaluation.grad_cam(identity, head, maps, np.array([0, 1]))
    assert heatmaps.shape == (2, 3, 3)
    assert heatmaps[0, 0, 0] == pytest.approx(1.0) and heatmaps[0].sum() == pytest.approx(1.0)
    assert heatmaps[1, 2, 1] == pytest.approx(1.0) and heatmaps[1].sum() == pytest.approx(1.0)
    # Asking about the other class: no positive evidence anywhere, an all-zero map (not NaN).
    assert np.array_equal(evaluation.grad_cam(identity, head, maps[:1], np.array([1])), np.zeros((1, 3, 3)))


def test_overlay_heatmaps_draws_one_panel_per_image() -> None:
    images = np.full((3, 8, 8, 3), 100.0, np.float32)
    figure = plots.overlay_heatmaps(images, np.random.default_rng(0).random((3, 2, 2)), ["a", "b", "c"])
    drawn = [axis for axis in figure.axes if axis.images]
    assert len(drawn) == 3 and all(len(axis.images) == 2 for axis in drawn)  # image + heatmap
    with pytest.raises(ValueError, match="3 images but 2 heatmaps"):
        plots.overlay_heatmaps(images, np.zeros((2, 2, 2)))
