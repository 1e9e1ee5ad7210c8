"""Checks added for chapter 04's exercise 2: they accept the asked model and refuse others."""

from __future__ import annotations

import keras
import numpy as np

from helpers import exercises


def _head(*hidden: tuple[int, str]) -> keras.Model:
    layers = [keras.Input((8,))] + [keras.layers.Dense(u, activation=a) for u, a in hidden]
    return keras.Sequential(layers + [keras.layers.Dense(3)])


def test_hidden_head_check_looks_at_the_architecture():
    features, labels = np.zeros((6, 8), "float32"), np.zeros(6, int)
    assert not exercises.check_hidden_head(None, 128, features, labels, 0.0).correct
    linear = exercises.check_hidden_head(_head(), 128, features, labels, 0.0)
    assert not linear and "exactly one hidden" in linear.message
    wrong_width = exercises.check_hidden_head(_head((64, "relu")), 128, features, labels, 0.0)
    assert not wrong_width and "64 units" in wrong_width.message
    assert not exercises.check_hidden_head(_head((128, "tanh")), 128, features, labels, 0.0)
    assert exercises.check_hidden_head(_head((128, "relu")), 128, features, labels, 0.0)
    assert not exercises.check_hidden_head(_head((128, "relu")), 128, features, labels, 1.01)


def test_beats_follows_the_significance_test():
    labels = np.zeros(100, int)
    good, bad = labels.copy(), labels.copy()
    bad[:30] = 1  # 30 more mistakes: significant
    assert exercises.check_beats("yes", labels, good, bad)
    assert not exercises.check_beats("no", labels, good, bad)
    slightly_worse = labels.copy()
    slightly_worse[:2] = 1  # 2 more mistakes: within the noise
    assert exercises.check_beats("no", labels, good, slightly_worse)
    assert not exercises.check_beats("yes", labels, good, slightly_worse)
    assert not exercises.check_beats("maybe", labels, good, bad)
