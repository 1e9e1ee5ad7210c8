"""Checks for the exercises: a learner runs one and reads "correct" or a hint.

A check never raises on a wrong answer: it returns a :class:`Verdict`, which Jupyter
displays as "Correct!" or "Not yet. Hint: ..." and which is truthy only when correct.
An answer left as ``None`` means "not attempted yet". Solution cells ``assert`` the
same checks, so the test suite (``make test``) proves that every published solution passes.
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


def _count(answer: Any) -> int | None:
    """``answer`` as a whole number, or ``None`` when it is not one (112.9 is not a count of 112)."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return None
    return int(value) if value.is_integer() else None


def _number(answer: Any) -> float | None:
    """``answer`` as a float, or ``None`` when it is not one number (a string, a list, an array of several)."""
    try:
        return float(np.asarray(answer, dtype=float))
    except (TypeError, ValueError):
        return None


def _close(answer: Any, truth: float) -> bool:
    """Whether ``answer`` is one number within 1e-6 of ``truth``."""
    value = _number(answer)
    return value is not None and bool(np.isclose(value, truth, rtol=0, atol=1e-6))


def check_class_count(answer: int | None, splits: ImageSplits, split: str, class_name: str) -> Verdict:
    """Check the number of images of ``class_name`` in ``split``."""
    if not _attempted(answer):
        return report(None, "")
    truth = splits.class_counts(split)[class_name]
    return report(
        _count(answer) == truth,
        f"count labels equal to class_names.index({class_name!r}) in the {split!r} split, "
        "for example with `splits.class_counts(...)` or `np.bincount`.",
    )


def check_count(answer: int | None, truth: int, hint: str) -> Verdict:
    """Check a count: a whole number (112.9 is not a count of 112), equal to ``truth``."""
    if not _attempted(answer):
        return report(None, hint)
    count = _count(answer)
    if count is None:
        return report(False, f"a count is a whole number, got {answer!r}; {hint}")
    return report(count == int(truth), hint)


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
        _count(answer) == conv_output_size(224, 3, 2, "SAME"),
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
        _count(answer) == layer.count_params(),
        "each of the 32 filters has 5 x 5 x 16 weights and one bias.",
    )


def check_conv1d(function: Any) -> Verdict:
    """Check a learner's ``conv1d(x, w)`` (VALID cross-correlation) on random inputs."""
    if not _attempted(function):
        return report(None, "")
    rng = np.random.default_rng(0)
    for length, width in ((10, 3), (7, 7), (12, 1)):
        x, w = rng.normal(size=length), rng.normal(size=width)
        expected = np.correlate(x, w, mode="valid")  # before the call, on arrays the function never sees
        try:
            got = function(x.copy(), w.copy())
        except Exception as error:  # a learner's bug: report it, do not crash the check
            return report(False, f"calling your function raised {error!r}.")
        if got is None:
            return report(None, "")
        got = np.asarray(got, dtype=float)
        if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-9):
            return report(
                False,
                f"for len(x)={length}, len(w)={width} expected {len(expected)} outputs "
                "y[i] = sum_m x[i + m] * w[m]; no kernel flip (that is cross-correlation).",
            )
    return report(True, "")


def check_log_softmax(function: Any) -> Verdict:
    """Check a learner's stable ``log_softmax(z)`` (last axis) against TensorFlow's."""
    import tensorflow as tf

    if not _attempted(function):
        return report(None, "")
    cases = [np.array([[1.0, 2.0, 3.0]]), np.array([[1000.0, 0.0, -1000.0], [-800.0, -801.0, -799.0]])]
    for logits in cases:
        expected = tf.nn.log_softmax(logits).numpy()  # before the call, on an array the function never sees
        try:
            with np.errstate(all="ignore"):
                got = function(logits.copy())
        except Exception as error:  # a learner's bug: report it, do not crash the check
            return report(False, f"calling your function raised {error!r}.")
        if got is None:
            return report(None, "")
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
        _count(answer) == (feature_size + 1) * num_classes,
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
        _count(answer) == truth,
        f"call models.unfreeze_top_layers(base, {first_trainable!r}) first, then add up the sizes "
        "of model.trainable_weights (the head counts too; BatchNormalization does not).",
    )


def check_choice(answer: str | None, correct: str, options: list[str], hint: str) -> Verdict:
    """Check a multiple-choice answer given as one of ``options`` (case-insensitive)."""
    if not _attempted(answer):
        return report(None, "")
    chosen = str(answer).strip().lower()
    if chosen not in [option.lower() for option in options]:
        return report(False, f"answer with one of {options}.")
    return report(chosen == correct.lower(), hint)


def check_combined_remedies(history: Any, early_stopping: Any, patience: int) -> Verdict:
    """Chapter 08, exercise 3: one scratch CNN with augmentation, dropout 0.5 and early stopping.

    Args:
        history: What ``model.fit`` (chapter 08's ``run``) returned; ``history.model`` is the network.
        early_stopping: The ``keras.callbacks.EarlyStopping`` passed to that ``fit``.
        patience: The patience the exercise asks for (the notebook's ``PATIENCE``).
    """
    import keras

    if not _attempted(history) or not _attempted(early_stopping):
        return report(None, "")
    model = getattr(history, "model", None)
    if model is None or not hasattr(history, "history"):
        return report(False, "pass what `run(...)` returned (a History object), not the model.")
    layers, stack = [], list(model.layers)
    while stack:  # the augmentation layers sit inside a nested Sequential
        layer = stack.pop()
        layers.append(layer)
        stack.extend(getattr(layer, "layers", []))
    augmenting = (keras.layers.RandomFlip, keras.layers.RandomRotation, keras.layers.RandomZoom)
    if not any(isinstance(layer, augmenting) for layer in layers):
        return report(False, "the network has no augmentation layer; look at small_cnn's extra_layers argument.")
    if not any(isinstance(layer, keras.layers.Dropout) and np.isclose(layer.rate, 0.5) for layer in layers):
        return report(False, "the network has no dropout of rate 0.5; look at small_cnn's arguments.")
    if not isinstance(early_stopping, keras.callbacks.EarlyStopping):
        return report(False, "early_stopping must be a keras.callbacks.EarlyStopping object.")
    if early_stopping.monitor != "val_accuracy" or not early_stopping.restore_best_weights:
        return report(False, "watch the validation accuracy, and make the callback put back the best epoch's "
                             "weights (by default Keras keeps the last epoch's).")
    if early_stopping.patience != patience:
        return report(False, f"use patience={patience} (PATIENCE), as the exercise asks; the callback has "
                             f"patience={early_stopping.patience}.")
    if "val_accuracy" not in history.history:
        return report(False, "train with validation data (run does), so early stopping has something to watch.")
    if getattr(early_stopping, "model", None) is not model:
        return report(False, "pass the callback to the fit that trained this network: callbacks=[...].")
    return report(True, "")


def check_hidden_head(model: Any, hidden_units: int, features: np.ndarray, labels: np.ndarray,
                      minimum: float) -> Verdict:
    """Chapter 04, exercise 2: a head with one hidden ``Dense(hidden_units, relu)`` layer that works.

    Looks at the model's layers (a linear head, or a hidden layer of another width or activation,
    is refused) and then at its accuracy on ``features``.
    """
    import keras

    if not _attempted(model):
        return report(None, "")
    dense = [layer for layer in getattr(model, "layers", []) if isinstance(layer, keras.layers.Dense)]
    hidden = dense[:-1]
    if len(hidden) != 1:
        return report(False, f"the head should have exactly one hidden Dense layer before the output; it has "
                             f"{len(hidden)}. Try models.train_head(..., hidden_units={hidden_units}).")
    layer = hidden[0]
    if layer.units != hidden_units or layer.activation is not keras.activations.relu:
        return report(False, f"the hidden layer should be Dense({hidden_units}, activation='relu'); it has "
                             f"{layer.units} units and activation {layer.activation.__name__}.")
    return check_head_accuracy(model, features, labels, minimum)


def check_beats(answer: str | None, labels: np.ndarray, first: np.ndarray, second: np.ndarray) -> Verdict:
    """"yes" when the first model beats the second significantly (McNemar, helpers.significance), else "no"."""
    from helpers import significance

    comparison = significance.compare(labels, first, second)
    truth = "yes" if comparison.significant and comparison.difference > 0 else "no"
    return check_choice(answer, truth, ["yes", "no"],
                        "print significance.compare(...) for the two models and read its verdict: a higher "
                        "accuracy is not a win unless the test says the difference is more than noise.")


def check_size_rule(median_areas: Any, platelet_recall: float | None, train: Any, test: Any) -> Verdict:
    """Chapter 10, exercise 3: how many platelets the size of a cell's box finds on its own.

    Args:
        median_areas: Median box area (height x width, pixels) of each class of ``train``,
            in the order of ``class_names``.
        platelet_recall: Recall on ``test`` of the rule "a platelet when the box area is below
            the midpoint of the platelet and red-cell medians".
        train, test: :class:`helpers.crops.BoxCrops` of the two splits (``box_sizes``, ``labels``).
    """
    if not _attempted(median_areas):
        return report(None, "")
    area = {name: crops.box_sizes[:, 0] * crops.box_sizes[:, 1] for name, crops in (("train", train), ("test", test))}
    truth = np.array([np.median(area["train"][train.labels == k]) for k in range(len(train.class_names))])
    answer = np.asarray(median_areas, dtype=float)
    if answer.shape != truth.shape or not np.allclose(answer, truth, atol=0.5):
        return report(False, "multiply each box's height by its width, then take the median over the training "
                             "cells of each class, in the order of class_names.")
    if not _attempted(platelet_recall):
        return Verdict(False, "The medians are right. Now apply the rule to the test cells: platelet_recall is "
                              "still None.")
    platelet, red = train.class_names.index("Platelets"), train.class_names.index("RBC")
    threshold = (truth[platelet] + truth[red]) / 2
    recall = float(np.mean(area["test"][test.labels == platelet] < threshold))
    return report(bool(np.isclose(float(platelet_recall), recall, atol=1e-6)),
                  "recall divides the test platelets the rule calls platelets by all test platelets; the rule's "
                  "threshold is halfway between the platelet and the red-cell median areas of the training cells.")


def check_close_once_answered(answer: float | None, compute_truth: Any, hint: str,
                              relative_tolerance: float) -> Verdict:
    """Check ``answer`` against ``compute_truth()`` to a relative tolerance, computing it only once answered.

    For a truth that costs a pass through a network: a cell a learner has not attempted yet
    stays instant.
    """
    if not _attempted(answer):
        return report(None, hint)
    truth = float(compute_truth())
    return report(bool(abs(float(answer) - truth) <= relative_tolerance * abs(truth)), hint)


def check_dusk_mmd2(answer: float | None, splits: ImageSplits, reference: np.ndarray, bandwidth: float,
                    photos: int, brightness: float) -> Verdict:
    """Chapter 11, exercise 3: MMD² between ``reference`` and the first ``photos`` test photos darkened.

    The truth: every pixel times ``brightness``, MobileNetV2 (ImageNet weights) pooled last-layer
    features, :func:`helpers.domain_gap.mmd2` with ``bandwidth``. Two percent of slack covers
    another batching or rounding of the darkened pixels.
    """
    def truth() -> float:
        from helpers import domain_gap, features, models

        darkened = splits.batches("test", 16, limit=photos).map(lambda x, y: (x * brightness, y))
        target, _ = features.compute_features(models.build_backbone("mobilenet_v2"),
                                              models.preprocess_for("mobilenet_v2"), darkened)
        return domain_gap.mmd2(reference, target, bandwidth)

    return check_close_once_answered(
        answer, truth, "darken the first `PHOTOS` test photos (pixels times the brightness), take the pooled "
        "last-layer features of MobileNetV2 with ImageNet weights, and pass them to domain_gap.mmd2 with the "
        "reference and the same bandwidth.", relative_tolerance=0.02)


def check_top5_count(answer: int | None, probabilities: np.ndarray, labels: np.ndarray, class_names: list[str],
                     imagenet_names: list[str], class_name: str = "daisy") -> Verdict:
    """Chapter 00, exercise 2: photos of ``class_name`` whose top-5 ImageNet answers include that name.

    Args:
        probabilities: ImageNet probabilities, one row of 1000 per photo.
        labels: The photos' flower labels, indices into ``class_names``.
        imagenet_names: ImageNet's 1000 class names, in output order (``class_name`` must be one).
    """
    if not _attempted(answer):
        return report(None, "")
    target = imagenet_names.index(class_name)
    rows = np.asarray(probabilities)[np.asarray(labels) == class_names.index(class_name)]
    truth = sum(target in row.argsort()[-5:] for row in rows)  # as decode_predictions ranks them
    return report(
        _count(answer) == truth,
        f"decode_predictions(probabilities, top=5) gives five guesses per photo; keep only the {class_name} "
        f"photos (compare labels with class_names.index({class_name!r})) and count those whose five names "
        f"include {class_name!r}.",
    )


def check_true_class_loss(answer: float | None) -> Verdict:
    """Chapter 02, exercise 1, with a hint that points to the idea: class 2 predicted as [0.1, 0.2, 0.7]."""
    return check_close(
        answer, -np.log(0.7),
        "with a one-hot label, all terms of the sum over classes but one are multiplied by zero: which one is "
        "left? Keras, and this chapter, use the natural logarithm.",
        tolerance=1e-4,
    )


def check_label_zero_loss(answer: float | None) -> Verdict:
    """Chapter 02, exercise 2, with a hint that points to the idea: label 0 predicted as p = 0.9."""
    return check_close(
        answer, -np.log(0.1),
        "with the label y = 0, which of the two terms in the brackets is multiplied by zero, and which "
        "probability does the other one use?",
        tolerance=1e-4,
    )


def check_legacy_decay_optimizer(optimizer: Any, learning_rate: float = 0.01, decay: float = 1e-6,
                                 momentum: float = 0.9) -> Verdict:
    """Chapter 06, exercise 2: Keras 3's equivalent of Keras 2's ``SGD(lr, decay=..., momentum=...)``.

    Keras 2 divided the learning rate by ``1 + decay * iterations``; Keras 3 ignores ``decay``
    (with a warning), so the optimizer needs a learning-rate schedule with that effect.
    """
    import keras

    if not _attempted(optimizer):
        return report(None, "")
    if not isinstance(optimizer, keras.optimizers.SGD):
        return report(False, "the recipe's optimizer is keras.optimizers.SGD.")
    if not np.isclose(float(optimizer.momentum), momentum):
        return report(False, f"keep the recipe's momentum of {momentum:g}.")
    schedule = getattr(optimizer, "_learning_rate", None)
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return report(False, "a fixed learning rate does not decay, and the decay argument is ignored: give "
                             "learning_rate one of the schedules in keras.optimizers.schedules.")
    for step in (0, 1_000, 1_000_000, 10_000_000):
        expected = learning_rate / (1 + decay * step)
        if not np.isclose(float(schedule(step)), expected, rtol=1e-4):
            return report(False, f"at step {step:,} your schedule gives {float(schedule(step)):.6g}; Keras 2's "
                                 f"decay gave {expected:.6g}: compare its formula with the schedule's documentation.")
    return report(True, "")


def check_flatten_head_at_size(answer: int | None, image_size: int = 160, num_classes: int = 5) -> Verdict:
    """Chapter 06, exercise 1: parameters of ``Flatten -> Dense(256) -> Dense(num_classes)`` on VGG16
    built for ``image_size`` x ``image_size`` inputs (five 2 x 2 poolings: maps of image_size // 32)."""
    if not _attempted(answer):
        return report(None, "")
    side = image_size // 2**5
    truth = (side * side * 512 + 1) * 256 + (256 + 1) * num_classes
    return report(
        _count(answer) == truth,
        f"Flatten passes every position of every channel on to Dense(256): how many positions are left of "
        f"{image_size} x {image_size} pixels after VGG16's five poolings? Count the biases too.",
    )


def check_mean_iou_conversion(mean_iou: float | None, converted_mean_dice: float | None, larger: str | None,
                              ever_reversed: bool | None, dice: np.ndarray, iou: np.ndarray) -> Verdict:
    """Chapter 13, exercise 1: the mean IoU against the mean Dice converted with Dice / (2 - Dice).

    Args:
        mean_iou, converted_mean_dice: The two numbers, computed from the per-image scores.
        larger: ``"mean IoU"`` or ``"converted mean Dice"``.
        ever_reversed: Whether the other one can be larger on some set of images (``False``:
            x / (2 - x) is convex on [0, 1], so by Jensen's inequality the mean IoU is never below).
        dice, iou: The network's Dice and IoU of each test image.
    """
    answers = {"mean_iou": mean_iou, "converted_mean_dice": converted_mean_dice, "larger": larger,
               "ever_reversed": ever_reversed}
    if not any(_attempted(answer) for answer in answers.values()):
        return report(None, "")
    missing = [name for name, answer in answers.items() if not _attempted(answer)]
    if missing:
        return Verdict(False, f"Not yet: {', '.join(missing)} still None; answer all four.")
    dice, iou = np.asarray(dice, dtype=float), np.asarray(iou, dtype=float)
    truth_iou, truth_converted = iou.mean(), dice.mean() / (2 - dice.mean())
    if not _close(mean_iou, truth_iou):
        return report(False, "mean_iou is the mean over the test images of each image's IoU (test_iou[...]), "
                             "computed in code, not copied from a rounded printout.")
    if not _close(converted_mean_dice, truth_converted):
        return report(False, "convert the mean, not each image: with m the mean Dice over the test images, "
                             "converted_mean_dice = m / (2 - m).")
    options = ["mean IoU", "converted mean Dice"]
    choice = check_choice(larger, options[0] if truth_iou >= truth_converted else options[1], options,
                          "compare the two numbers you computed.")
    if not choice:
        return choice
    if not isinstance(ever_reversed, (bool, np.bool_)):
        return report(False, f"ever_reversed is True or False, got {ever_reversed!r}.")
    return report(not ever_reversed, "plot x / (2 - x) between 0 and 1: it curves upwards (convex), and the mean of "
                                     "a convex function of scores is at least the function of their mean (Jensen's "
                                     "inequality), whatever the images.")


def check_pixel_accuracy_gaps(network_pixel_accuracy: float | None, accuracy_gap: float | None,
                              dice_gap: float | None, more_telling: str | None, true_masks: np.ndarray,
                              predicted_masks: np.ndarray) -> Verdict:
    """Chapter 13, exercise 2: a network's pixel accuracy and Dice, each against "no polyp anywhere".

    Args:
        network_pixel_accuracy: The network's mean pixel accuracy over the images.
        accuracy_gap, dice_gap: Its mean pixel accuracy and its mean Dice minus those of an
            all-background prediction.
        more_telling: ``"pixel accuracy gap"`` or ``"Dice gap"``: the one that says more about the network.
        true_masks, predicted_masks: ``(images, height, width)`` booleans.
    """
    from helpers import segmentation

    answers = {"network_pixel_accuracy": network_pixel_accuracy, "accuracy_gap": accuracy_gap,
               "dice_gap": dice_gap, "more_telling": more_telling}
    if not any(_attempted(answer) for answer in answers.values()):
        return report(None, "")
    missing = [name for name, answer in answers.items() if not _attempted(answer)]
    if missing:
        return Verdict(False, f"Not yet: {', '.join(missing)} still None; answer all four.")
    nothing = np.zeros_like(np.asarray(true_masks, dtype=bool))
    accuracy = segmentation.pixel_accuracy(true_masks, predicted_masks).mean()
    if not _close(network_pixel_accuracy, accuracy):
        return report(False, "segmentation.pixel_accuracy(true masks, predicted masks) gives one value per image; "
                             "average them.")
    if not _close(accuracy_gap, accuracy - segmentation.pixel_accuracy(true_masks, nothing).mean()):
        return report(False, "accuracy_gap is the network's mean pixel accuracy minus that of np.zeros_like(masks), "
                             "the 'no polyp anywhere' prediction.")
    truth_dice_gap = (segmentation.dice_scores(true_masks, predicted_masks).mean()
                      - segmentation.dice_scores(true_masks, nothing).mean())
    if not _close(dice_gap, truth_dice_gap):
        return report(False, "dice_gap is the network's mean Dice minus that of 'no polyp anywhere' "
                             "(segmentation.dice_scores, one value per image, averaged).")
    return check_choice(more_telling, "Dice gap", ["pixel accuracy gap", "Dice gap"],
                        "'no polyp anywhere' finds no polyp pixel at all, yet its pixel accuracy is high: which "
                        "score says that it found nothing?")


def check_flip_dice(flip_logits: np.ndarray | None, flip_dice: float | None, encoder: Any, decoder: Any,
                    preprocess: Any, validation: Any, threshold: float) -> Verdict:
    """Chapter 13, exercise 3: logits averaged over each validation image and its mirror image, and their Dice.

    The logits are compared pixel by pixel, so an answer without the flip (or without flipping
    the logits back) fails even where it moves the mean Dice very little.

    Args:
        flip_logits: ``(images, height, width)``: the mean of each image's logits and those of its
            mirror image, flipped back.
        flip_dice: Mean validation Dice of ``flip_logits`` thresholded at ``threshold``.
        threshold: The probability above which a pixel is polyp.
    """
    from helpers import segmentation

    if not _attempted(flip_logits) and not _attempted(flip_dice):
        return report(None, "")
    if not _attempted(flip_logits) or not _attempted(flip_dice):
        return Verdict(False, "Not yet: give both flip_logits (the averaged logits) and flip_dice.")
    plain = segmentation.predict_logits(decoder, segmentation.encode(encoder, preprocess, validation.images))
    mirrored = segmentation.predict_logits(decoder, segmentation.encode(encoder, preprocess,
                                                                        validation.images[:, :, ::-1]))
    try:
        answer = np.asarray(flip_logits, dtype=float)
    except (TypeError, ValueError):
        answer = np.zeros(0)
    if answer.shape != plain.shape:
        return report(False, f"flip_logits has shape {answer.shape}: give one logit per pixel of each validation "
                             f"image, shape {plain.shape} (predict_logits drops the channel axis).")

    def near(expected: np.ndarray) -> bool:  # float32 maps instead of the cached float16 ones move logits far less
        return bool(np.allclose(answer, expected, rtol=2e-2, atol=5e-2))

    if not near((plain + mirrored[:, :, ::-1]) / 2):
        if near(plain):
            return report(False, "these are the logits without flipping: average them with those of the mirror "
                                 "images.")
        if near((plain + mirrored) / 2):
            return report(False, "flip the mirror images' logits back with [:, :, ::-1] before averaging.")
        return report(False, "flip the images with [:, :, ::-1] (axis 2 is the width), encode and decode them, flip "
                             "the logits back the same way, and average them with the plain logits.")
    truth = segmentation.dice_scores(validation.masks, answer > np.log(threshold / (1 - threshold))).mean()
    return report(_close(flip_dice, truth),
                  "threshold your averaged logits at the logit of the threshold, log(t / (1 - t)), and average "
                  "segmentation.dice_scores over the validation images.")


def check_pair_similarity(same: float | None, different: float | None, embeddings: np.ndarray,
                          speakers: np.ndarray) -> Verdict:
    """Chapter 12, exercise 4: mean cosine similarity of same-speaker and of different-speaker pairs.

    Over all pairs of two distinct recordings; ``embeddings`` are unit-length rows, so the
    cosine similarity of two recordings is the dot product of their rows. Compared to 1e-6:
    float32 arithmetic moves the means by less than 1e-7, while keeping the diagonal (each
    recording with itself) moves the same-speaker mean by about (1 - mean) x recordings / same-speaker
    pairs, under 1e-4 once that mean passes 0.95 with five speakers of 500 recordings.
    """
    if not _attempted(same) or not _attempted(different):
        return report(None, "")
    embeddings, speakers = np.asarray(embeddings, dtype=np.float64), np.asarray(speakers)
    similarity = embeddings @ embeddings.T
    same_speaker = speakers[:, None] == speakers[None, :]
    distinct = ~np.eye(len(speakers), dtype=bool)
    truth = (similarity[same_speaker & distinct].mean(), similarity[~same_speaker].mean())
    if _close(same, truth[0]) and _close(different, truth[1]):
        return report(True, "")
    return report(False, "take embeddings @ embeddings.T; average it where the two speakers are equal (leaving "
                         "out the diagonal: a recording with itself) and where they differ.")
