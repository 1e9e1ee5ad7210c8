"""Checks added for chapters 11 and 12 (exercise 3 of each)."""

import numpy as np
import tensorflow as tf

from helpers import domain_gap, exercises


def test_close_once_answered_computes_the_truth_only_for_an_answer():
    calls = []

    def truth():
        calls.append(1)
        return 0.25

    assert exercises.check_close_once_answered(None, truth, "hint", 0.02).message.startswith("Not attempted")
    assert not calls, "an unattempted check must not pay for the truth"
    assert exercises.check_close_once_answered(0.254, truth, "hint", 0.02)  # within 2 %
    wrong = exercises.check_close_once_answered(0.26, truth, "look again", 0.02)  # 4 % off
    assert not wrong and "look again" in wrong.message
    assert len(calls) == 2


def test_dusk_check_darkens_the_first_photos_and_measures_against_the_reference(monkeypatch):
    from helpers import features, models

    seen = {}

    class Splits:
        def batches(self, split, batch_size, limit=None):
            seen.update(split=split, limit=limit)
            images = tf.fill((4, 2, 2, 3), 100.0)
            return tf.data.Dataset.from_tensor_slices((images, tf.zeros(4, tf.int64))).batch(batch_size)

    def compute(backbone, preprocess, dataset):
        images = np.concatenate([x.numpy() for x, _ in dataset])
        seen["pixel"] = float(images.max())
        return images.reshape(len(images), -1)[:, :3] + np.arange(4)[:, None], None

    monkeypatch.setattr(models, "build_backbone", lambda name: None)
    monkeypatch.setattr(features, "compute_features", compute)
    reference = np.random.default_rng(0).normal(size=(5, 3))
    truth = domain_gap.mmd2(reference, np.full((4, 3), 35.0) + np.arange(4)[:, None], 2.0)
    assert exercises.check_dusk_mmd2(truth, Splits(), reference, 2.0, photos=4, brightness=0.35)
    assert seen == {"split": "test", "limit": 4, "pixel": 35.0}
    assert not exercises.check_dusk_mmd2(truth * 1.05, Splits(), reference, 2.0, photos=4, brightness=0.35)
    assert not exercises.check_dusk_mmd2(None, None, reference, 2.0, photos=4, brightness=0.35).correct
