"""Checks of chapter 08's exercise 3 (combined remedies)."""

import keras
import numpy as np
import pytest

from helpers import exercises, models


def _fit(dropout=0.5, augment=True, callback=None, fit_callback=True):
    keras.utils.set_random_seed(0)
    extra = [keras.Sequential([keras.layers.RandomFlip("horizontal")], name="augmentation")] if augment else []
    model = models.compile_classifier(models.small_cnn(8, 2, filters=(4,), dropout=dropout, extra_layers=extra))
    callback = callback or keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2, restore_best_weights=True)
    x = np.random.default_rng(0).integers(0, 255, (8, 8, 8, 3)).astype("float32")
    y = np.repeat([0, 1], 4)
    history = model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0,
                        callbacks=[callback] if fit_callback else [])
    return history, callback


def test_the_asked_network_passes():
    history, callback = _fit()
    assert exercises.check_combined_remedies(history, callback, patience=2).correct


def test_nothing_attempted_is_not_wrong():
    verdict = exercises.check_combined_remedies(None, None, patience=2)
    assert not verdict and "Not attempted" in repr(verdict)


@pytest.mark.parametrize("options, hint", [
    ({"dropout": 0.0}, "no dropout of rate 0.5"),
    ({"dropout": 0.2}, "no dropout of rate 0.5"),
    ({"augment": False}, "no augmentation layer"),
    ({"callback": keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2)}, "best epoch's weights"),
    ({"callback": keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True)}, "validation accuracy"),
    ({"fit_callback": False}, "pass the callback to the fit"),
    ({"callback": keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3, restore_best_weights=True)},
     "use patience=2"),
])
def test_each_missing_piece_is_named(options, hint):
    history, callback = _fit(**options)
    verdict = exercises.check_combined_remedies(history, callback, patience=2)
    assert not verdict.correct and hint in verdict.message


def test_a_model_instead_of_its_history_is_refused():
    history, callback = _fit()
    verdict = exercises.check_combined_remedies(history.model, callback, patience=2)
    assert not verdict.correct and "History" in verdict.message


def _cells(sizes, labels):
    from types import SimpleNamespace
    return SimpleNamespace(box_sizes=np.array(sizes), labels=np.array(labels), class_names=["RBC", "WBC", "Platelets"])


TRAIN = _cells([[10, 10], [12, 10], [20, 20], [22, 20], [4, 5], [5, 5]], [0, 0, 1, 1, 2, 2])
TEST = _cells([[10, 10], [20, 20], [4, 4], [9, 9], [5, 6]], [0, 1, 2, 2, 2])
# medians: RBC 110, WBC 420, platelets 22.5; threshold (22.5 + 110) / 2 = 66.25: test platelets 16, 81, 30 -> 2 of 3


def test_size_rule_accepts_the_medians_and_the_recall():
    assert exercises.check_size_rule([110, 420, 22.5], 2 / 3, TRAIN, TEST).correct


@pytest.mark.parametrize("medians, recall, hint", [
    (None, None, "Not attempted"),
    ([110, 420], None, "median over the training cells of each class"),
    ([22.5, 110, 420], None, "median over the training cells of each class"),  # sorted, not in class order
    ([100, 400, 20], 2 / 3, "median over the training cells of each class"),  # the smallest boxes, not medians
    ([110, 420, 22.5], None, "platelet_recall is still None"),
    ([110, 420, 22.5], 1.0, "halfway between the platelet and the red-cell median"),
])
def test_size_rule_names_what_is_wrong(medians, recall, hint):
    verdict = exercises.check_size_rule(medians, recall, TRAIN, TEST)
    assert not verdict.correct and hint in repr(verdict)
