"""Evaluate a classifier beyond accuracy: per-class metrics, mistakes, and where it looks.

The metrics themselves come from scikit-learn (the standard); this module only arranges
them for the notebooks and adds Grad-CAM (Selvaraju et al., 2017), which has no standard
Keras implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall, F1 and support per class, and their macro averages."""

    class_names: list[str]
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    accuracy: float

    @property
    def macro(self) -> dict[str, float]:
        """Unweighted means over classes: every class counts the same, however rare."""
        return {"precision": float(self.precision.mean()), "recall": float(self.recall.mean()),
                "f1": float(self.f1.mean())}

    def table(self) -> str:
        """The metrics as aligned text, one row per class and one for the macro average."""
        lines = [f"{'class':>12} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}"]
        for i, name in enumerate(self.class_names):
            lines.append(f"{name:>12} {self.precision[i]:9.3f} {self.recall[i]:7.3f} "
                         f"{self.f1[i]:6.3f} {self.support[i]:8d}")
        m = self.macro
        lines.append(f"{'macro avg':>12} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1']:6.3f} "
                     f"{int(self.support.sum()):8d}")
        lines.append(f"{'accuracy':>12} {self.accuracy:9.3f}")
        return "\n".join(lines)


def class_metrics(labels: np.ndarray, predictions: np.ndarray, class_names: list[str]) -> ClassMetrics:
    """Per-class precision, recall, F1 (scikit-learn) for integer ``labels`` and ``predictions``.

    A class that is never predicted gets precision 0 (scikit-learn's ``zero_division=0``).

    Raises:
        ValueError: If the arrays differ in length or hold a label outside ``class_names``.
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape:
        raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} differ in shape.")
    n = len(class_names)
    if labels.size and (min(labels.min(), predictions.min()) < 0 or max(labels.max(), predictions.max()) >= n):
        raise ValueError(f"Labels must be integers 0..{n - 1} for {n} class names.")
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predictions, labels=list(range(n)), zero_division=0
    )
    return ClassMetrics(list(class_names), precision, recall, f1, support,
                        float(np.mean(labels == predictions)))


def confusion(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """Confusion matrix: row = true class, column = predicted class (scikit-learn's layout)."""
    return confusion_matrix(labels, predictions, labels=list(range(num_classes)))


def most_confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int = 8) -> np.ndarray:
    """Indices of the wrong predictions made with the highest confidence, most confident first."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]


def grad_cam(
    feature_maps: Callable[[Any], Any], head: keras.Model, images: np.ndarray, class_indices: np.ndarray
) -> np.ndarray:
    """Grad-CAM heatmaps: which regions of each image raise the logit of its class.

    Args:
        feature_maps: Images -> last convolutional feature maps ``(batch, h, w, channels)``,
            in inference mode; a ``tf.function`` (e.g. :func:`helpers.features.embedding_function`)
            is far lighter in memory than an eager model call.
        head: Feature maps -> logits (e.g. global average pooling, then the classifier).
        images: A batch the feature model accepts.
        class_indices: For each image, the class to explain.

    Returns:
        ``(batch, h, w)`` heatmaps in [0, 1] at the feature maps' resolution (7 x 7 for
        MobileNetV2 at 224 px); upsample them to overlay on the image.
    """
    maps = tf.convert_to_tensor(feature_maps(images))
    with tf.GradientTape() as tape:
        tape.watch(maps)
        logits = head(maps, training=False)
        chosen = tf.gather(logits, tf.constant(class_indices), axis=1, batch_dims=1)
    gradients = tape.gradient(chosen, maps)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)  # one weight per channel
    cam = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1)).numpy()
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.divide(cam, peak, out=np.zeros_like(cam), where=peak > 0)
