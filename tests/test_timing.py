"""Timing helpers measure real work."""

from __future__ import annotations

import pytest


def test_latency_per_image_times_a_real_forward_pass() -> None:
    import keras

    from helpers import timing

    small = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(4, 3)])
    large = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(256, 3),
                              keras.layers.Conv2D(256, 3), keras.layers.Conv2D(256, 3)])
    fast, slow = timing.latency_per_image(small, 8), timing.latency_per_image(large, 8)
    assert 0 < fast < slow
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        timing.latency_per_image(small, 0)
