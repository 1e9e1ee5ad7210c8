"""Checks added for exercises of chapters 00, 02 and 06: right answers pass, wrong ones get a hint."""

import numpy as np
import pytest

from helpers import exercises


def test_top5_count_counts_only_photos_of_the_class_with_the_name_in_their_top5():
    imagenet = [f"class_{i}" for i in range(10)]
    imagenet[7] = "daisy"
    ours = ["daisy", "roses"]
    probabilities = np.full((4, 10), 0.01)
    probabilities[0, 7] = 0.5  # a daisy photo, daisy first
    probabilities[1, :6] = [0.3, 0.25, 0.2, 0.15, 0.1, 0.05]  # a daisy photo, daisy 7th: not in top 5
    probabilities[1, 7] = 0.02
    probabilities[2, 7] = 0.9  # a rose photo called daisy: does not count
    probabilities[3, [0, 1, 2, 3]] = 0.2  # a daisy photo, daisy 5th
    probabilities[3, 7] = 0.1
    labels = np.array([0, 0, 1, 0])
    assert exercises.check_top5_count(2, probabilities, labels, ours, imagenet)
    verdict = exercises.check_top5_count(3, probabilities, labels, ours, imagenet)
    assert not verdict and "top=5" in repr(verdict)
    assert not exercises.check_top5_count(1, probabilities, labels, ours, imagenet)
    assert "Not attempted" in repr(exercises.check_top5_count(None, probabilities, labels, ours, imagenet))


def test_loss_value_checks_accept_the_value_and_hint_without_the_formula():
    assert exercises.check_true_class_loss(-np.log(0.7))
    wrong = exercises.check_true_class_loss(-np.log10(0.7))
    assert not wrong and "log p" not in repr(wrong) and "0.7" not in repr(wrong)
    assert exercises.check_label_zero_loss(-np.log(0.1))
    wrong = exercises.check_label_zero_loss(-np.log(0.9))
    assert not wrong and "log(1 - p)" not in repr(wrong) and "0.1" not in repr(wrong)


def test_legacy_decay_optimizer_needs_the_inverse_time_schedule():
    keras = pytest.importorskip("keras")
    schedule = keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-6)
    assert exercises.check_legacy_decay_optimizer(keras.optimizers.SGD(learning_rate=schedule, momentum=0.9))
    constant = exercises.check_legacy_decay_optimizer(keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
    assert not constant and "schedule" in repr(constant)
    with pytest.warns(UserWarning):  # Keras 3 accepts decay and ignores it
        ignored = keras.optimizers.SGD(learning_rate=0.01, decay=1e-6, momentum=0.9)
    assert not exercises.check_legacy_decay_optimizer(ignored)
    too_fast = keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-3)
    assert not exercises.check_legacy_decay_optimizer(keras.optimizers.SGD(learning_rate=too_fast, momentum=0.9))
    assert not exercises.check_legacy_decay_optimizer(keras.optimizers.SGD(learning_rate=schedule))  # no momentum
    assert not exercises.check_legacy_decay_optimizer(keras.optimizers.Adam(learning_rate=schedule))
    assert "Not attempted" in repr(exercises.check_legacy_decay_optimizer(None))


def test_flatten_head_at_size_follows_the_map_size():
    assert exercises.check_flatten_head_at_size((5 * 5 * 512 + 1) * 256 + 257 * 5)
    assert not exercises.check_flatten_head_at_size((7 * 7 * 512 + 1) * 256 + 257 * 5)  # the 224-pixel answer
    assert not exercises.check_flatten_head_at_size((5 * 5 * 512) * 256 + 256 * 5)  # biases forgotten
    assert exercises.check_flatten_head_at_size((7 * 7 * 512 + 1) * 256 + 257 * 5, image_size=224)


def test_flatten_head_at_size_matches_keras():
    keras = pytest.importorskip("keras")
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(160, 160, 3))
    head = keras.Sequential([keras.Input(base.output_shape[1:]), keras.layers.Flatten(),
                             keras.layers.Dense(256), keras.layers.Dense(5)])
    assert exercises.check_flatten_head_at_size(head.count_params())


def test_pair_similarity_averages_distinct_pairs_only():
    embeddings = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    speakers = np.array(["a", "a", "b"])
    # same-speaker pairs: (0, 1) twice -> 0.6; different: (0, 2), (1, 2) both ways -> (0 + 0.8) / 2
    assert exercises.check_pair_similarity(0.6, 0.4, embeddings, speakers)
    assert not exercises.check_pair_similarity((1 + 1 + 0.6 + 0.6) / 4, 0.4, embeddings, speakers)  # diagonal kept
    assert "Not attempted" in repr(exercises.check_pair_similarity(None, 0.4, embeddings, speakers))


def test_count_check_wants_the_whole_number():
    assert exercises.check_count(3, 3, "")
    assert exercises.check_count(3.0, 3, "")
    assert not exercises.check_count(3.4, 3, "count them")
    assert "whole number" in repr(exercises.check_count(2.5, 3, "count them"))
    assert not exercises.check_count(4, 3, "")
    assert "Not attempted" in repr(exercises.check_count(None, 3, ""))
