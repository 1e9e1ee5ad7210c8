"""Fixtures shared by the unit tests.

The tests use the real dataset and real weights, found the standard way (``TFDS_DATA_DIR``
and ``KERAS_HOME``); ``.ci/run`` points these at the offline copies.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import data


@pytest.fixture(scope="session")
def flowers() -> data.ImageSplits:
    """tf_flowers split 70/15/15 with the course seed."""
    return data.load_image_splits("tf_flowers")


@pytest.fixture()
def tmp_cache(tmp_path, monkeypatch):
    """A private, empty feature cache and results folder."""
    monkeypatch.setenv("TLHO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TLHO_RESULTS_DIR", str(tmp_path / "results"))
    return tmp_path


@pytest.fixture(scope="module")
def photos(flowers) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The first 40 training photos of tf_flowers at 56 px (small files, real content)."""
    batch = next(iter(flowers.batches("train", batch_size=40)))
    images = batch[0].numpy()[:, ::4, ::4]  # 224 -> 56 px: enough for folder tests
    return images, batch[1].numpy(), flowers.class_names
