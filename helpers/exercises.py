"""Checks for the exercises: a learner runs one and reads "correct" or a hint.

A check never raises on a wrong answer: it returns a :class:`Verdict`, which Jupyter
displays as "Correct!" or "Not yet. Hint: ..." and which is truthy only when correct.
An answer left as ``None`` means "not attempted yet". Solution cells ``assert`` the
same checks, so CI proves that every published solution passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.data import ImageSplits


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check; displays as its message, truthy only when correct."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return self.message


def report(correct: bool | None, hint: str) -> Verdict:
    """Turn a comparison into a :class:`Verdict`.

    Args:
        correct: ``True``/``False``, or ``None`` when nothing was attempted yet.
        hint: What to look at again when the answer is wrong.
    """
    if correct is None:
        return Verdict(False, "Not attempted yet: replace `None` with your answer and run this cell again.")
    if correct:
        return Verdict(True, "Correct!")
    return Verdict(False, f"Not yet. Hint: {hint}")


def _attempted(answer: Any) -> bool:
    return answer is not None


def check_class_count(answer: int | None, splits: ImageSplits, split: str, class_name: str) -> Verdict:
    """Check the number of images of ``class_name`` in ``split``."""
    if not _attempted(answer):
        return report(None, "")
    truth = splits.class_counts(split)[class_name]
    return report(
        int(answer) == truth,
        f"count labels equal to class_names.index({class_name!r}) in the {split!r} split, "
        "for example with `splits.class_counts(...)` or `np.bincount`.",
    )


def check_names_in_imagenet(answer: set[str] | list[str] | None, our_classes: list[str],
                            imagenet_classes: list[str]) -> Verdict:
    """Check which of ``our_classes`` are also ImageNet class names (exact match)."""
    if not _attempted(answer):
        return report(None, "")
    truth = {name for name in our_classes if name in set(imagenet_classes)}
    return report(
        {str(a) for a in answer} == truth,
        "compare the two lists of names with a set intersection; ImageNet writes its "
        "names in lower case with underscores.",
    )


def check_close(answer: float | np.ndarray | None, truth: float | np.ndarray,
                hint: str, tolerance: float = 1e-6) -> Verdict:
    """Check a numeric answer (scalar or array) against ``truth`` to ``tolerance``."""
    if not _attempted(answer):
        return report(None, hint)
    answer, truth = np.asarray(answer, dtype=float), np.asarray(truth, dtype=float)
    if answer.shape != truth.shape:
        return report(False, f"expected shape {truth.shape}, got {answer.shape}; {hint}")
    return report(bool(np.allclose(answer, truth, atol=tolerance, rtol=0)), hint)


def check_conv_output_size(answer: int | None) -> Verdict:
    """Output height of MobileNetV2's first layer: 224 pixels, 3x3 kernel, stride 2, SAME."""
    from helpers.conv_arithmetic import conv_output_size

    if not _attempted(answer):
        return report(None, "")
    return report(
        int(answer) == conv_output_size(224, 3, 2, "SAME"),
        "with padding='SAME' the output is ceil(n / s); the formula floor((n + 2p - k) / s) + 1 "
        "gives the same with the padding TensorFlow adds.",
    )


def check_conv_parameter_count(answer: int | None) -> Verdict:
    """Parameters of ``Conv2D(32, 5)`` (with bias) on 16-channel inputs."""
    import keras

    if not _attempted(answer):
        return report(None, "")
    layer = keras.layers.Conv2D(32, 5)
    layer.build((None, 28, 28, 16))
    return report(
        int(answer) == layer.count_params(),
        "each of the 32 filters has 5 x 5 x 16 weights and one bias.",
    )


def check_conv1d(function: Any) -> Verdict:
    """Check a learner's ``conv1d(x, w)`` (VALID cross-correlation) on random inputs."""
    if not _attempted(function):
        return report(None, "")
    rng = np.random.default_rng(0)
    for length, width in ((10, 3), (7, 7), (12, 1)):
        x, w = rng.normal(size=length), rng.normal(size=width)
        try:
            got = function(x, w)
        except Exception as error:  # a learner's bug: report it, do not crash the check
            return report(False, f"calling your function raised {error!r}.")
        if got is None:
            return report(None, "")
        got = np.asarray(got, dtype=float)
        expected = np.correlate(x, w, mode="valid")
        if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-9):
            return report(
                False,
                f"for len(x)={length}, len(w)={width} expected {len(expected)} outputs "
                "y[i] = sum_m x[i + m] * w[m]; no kernel flip (that is cross-correlation).",
            )
    return report(True, "")


def check_cross_entropy_value(answer: float | None) -> Verdict:
    """Cross-entropy of one example of class 2 predicted as p = [0.1, 0.2, 0.7]."""
    return check_close(
        answer, -np.log(0.7),
        "only the probability of the true class counts: L = -log p[true class] (natural log).",
        tolerance=1e-4,
    )


def check_binary_cross_entropy_value(answer: float | None) -> Verdict:
    """Binary cross-entropy of one example with label 0 predicted as p = 0.9."""
    return check_close(
        answer, -np.log(0.1), "with y = 0 only the second term remains: -(1 - y) log(1 - p).",
        tolerance=1e-4,
    )


def check_log_softmax(function: Any) -> Verdict:
    """Check a learner's stable ``log_softmax(z)`` (last axis) against TensorFlow's."""
    import tensorflow as tf

    if not _attempted(function):
        return report(None, "")
    cases = [np.array([[1.0, 2.0, 3.0]]), np.array([[1000.0, 0.0, -1000.0], [-800.0, -801.0, -799.0]])]
    for logits in cases:
        try:
            with np.errstate(all="ignore"):
                got = function(logits)
        except Exception as error:  # a learner's bug: report it, do not crash the check
            return report(False, f"calling your function raised {error!r}.")
        if got is None:
            return report(None, "")
        expected = tf.nn.log_softmax(logits).numpy()
        got = np.asarray(got, dtype=float)
        if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-6):
            large = np.abs(logits).max() > 100
            return report(
                False,
                "subtract the row maximum before exponentiating: log_softmax(z) = "
                "z - m - log(sum(exp(z - m))) with m = max(z)."
                if large
                else "log_softmax(z) = z - log(sum(exp(z))) along the last axis (keepdims=True).",
            )
    return report(True, "")


def check_head_parameter_count(answer: int | None, feature_size: int, num_classes: int) -> Verdict:
    """Trainable parameters of a linear head ``Dense(num_classes)`` on ``feature_size`` features."""
    if not _attempted(answer):
        return report(None, "")
    return report(
        int(answer) == (feature_size + 1) * num_classes,
        "a Dense layer has one weight per (input, output) pair plus one bias per output; "
        "Dropout has no parameters.",
    )


def check_head_accuracy(head: Any, features: np.ndarray, labels: np.ndarray, minimum: float) -> Verdict:
    """Evaluate a learner's trained ``head`` on held-out features; pass at ``minimum`` accuracy."""
    if not _attempted(head):
        return report(None, "")
    logits = np.asarray(head(features, training=False))
    accuracy = float(np.mean(np.argmax(logits, axis=-1) == labels))
    return report(
        accuracy >= minimum,
        f"your head reaches {accuracy:.3f} on these features, below {minimum}; train longer, or "
        "check it ends in Dense(num_classes) trained with from_logits=True.",
    )


def check_unfrozen_parameter_count(answer: int | None, model: Any, base: Any, first_trainable: str) -> Verdict:
    """Trainable parameters of ``model`` once ``base`` is unfrozen from ``first_trainable``.

    The model's trainable flags are restored afterwards, so the check changes nothing.
    """
    from helpers import models

    if not _attempted(answer):
        return report(None, "")
    saved = [(layer, layer.trainable) for layer in [base, *base.layers]]
    models.unfreeze_top_layers(base, first_trainable)
    truth = int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
    for layer, trainable in saved:
        layer.trainable = trainable
    return report(
        int(answer) == truth,
        f"call models.unfreeze_top_layers(base, {first_trainable!r}) first, then add up the sizes "
        "of model.trainable_weights (the head counts too; BatchNormalization does not).",
    )


def check_flatten_head_parameters(answer: int | None) -> Verdict:
    """Parameters of ``Flatten -> Dense(256) -> Dense(5)`` on VGG16's 7 x 7 x 512 maps."""
    if not _attempted(answer):
        return report(None, "")
    return report(
        int(answer) == (7 * 7 * 512 + 1) * 256 + (256 + 1) * 5,
        "Flatten gives 7 * 7 * 512 inputs to Dense(256); each Dense layer has "
        "(inputs + 1) * outputs parameters.",
    )


def check_optimizer(optimizer: Any, name: str, learning_rate: float) -> Verdict:
    """Check a Keras optimizer's class name and learning rate."""
    if not _attempted(optimizer):
        return report(None, "")
    if not hasattr(optimizer, "learning_rate"):
        return report(False, "build an optimizer object, e.g. keras.optimizers.Adam(...).")
    same_name = type(optimizer).__name__.lower() == name.lower()
    rate = float(np.asarray(optimizer.learning_rate))
    return report(
        same_name and bool(np.isclose(rate, learning_rate)),
        f"use keras.optimizers.{name.capitalize()} with learning_rate={learning_rate:g} "
        "(Keras 3 has no `lr` argument).",
    )


def check_choice(answer: str | None, correct: str, options: list[str], hint: str) -> Verdict:
    """Check a multiple-choice answer given as one of ``options`` (case-insensitive)."""
    if not _attempted(answer):
        return report(None, "")
    chosen = str(answer).strip().lower()
    if chosen not in [option.lower() for option in options]:
        return report(False, f"answer with one of {options}.")
    return report(chosen == correct.lower(), hint)
