"""Fixtures shared by the unit tests.

The tests use the real dataset and real weights, found the standard way (``TFDS_DATA_DIR``
and ``KERAS_HOME``); ``.ci/run`` points these at the offline copies.
"""

from __future__ import annotations

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
