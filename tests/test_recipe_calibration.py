"""The photos that calibrate an int8 export: a seeded sample with every class represented."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from helpers import own_images, recipe

COUNTS = {"common": 30, "rare": 2, "scarce": 3}  # training photos per class, listed class by class


def _folder() -> own_images.ImageFolder:
    """A folder whose training part lists one large class first and two small ones after it (no files needed)."""
    train = [(Path(f"{name}/{i}.jpg"), label) for label, (name, count) in enumerate(COUNTS.items())
             for i in range(count)]
    return own_images.ImageFolder(Path("my_photos"), list(COUNTS), dict(COUNTS), parts={"train": train})


@pytest.fixture()
def read_labels(monkeypatch) -> list[int]:
    """The labels of the photos the calibration reads (the photos themselves are stand-ins)."""
    seen: list[int] = []

    def dataset(paths, labels, image_size, *args, **kwargs):
        seen.extend(int(label) for label in labels)
        return [(tf.zeros((len(paths), image_size, image_size, 3)), tf.constant(labels))]

    monkeypatch.setattr(recipe.photos, "dataset", dataset)
    return seen


def test_calibration_takes_every_class_in_equal_numbers(read_labels) -> None:
    """An unstratified sample of 6 from 30 + 2 + 3 photos would likely miss a small class."""
    chosen = recipe._representative(_folder(), 8, limit=6)
    assert chosen.shape == (6, 8, 8, 3)
    assert set(read_labels) == {0, 1, 2}, f"every class calibrates: {read_labels}"
    assert np.bincount(read_labels, minlength=3).tolist() == [2, 2, 2]


def test_calibration_sample_is_seeded_and_keeps_the_folder_order() -> None:
    labels = [label for label, count in enumerate(COUNTS.values()) for _ in range(count)]
    first = recipe._calibration_sample(labels, 20)
    assert np.array_equal(first, recipe._calibration_sample(labels, 20)), "seeded: the same photos every run"
    assert not np.array_equal(first, recipe._calibration_sample(labels, 20, seed=1))
    assert np.all(np.diff(first) > 0), "positions sorted, each photo once"
    taken = np.bincount(np.asarray(labels)[first], minlength=3).tolist()
    assert taken == [15, 2, 3], "small classes give all they have, the large class the rest"
    assert recipe._calibration_sample(labels, 100).tolist() == list(range(len(labels))), "a large limit takes all"


def test_fewer_photos_than_classes_take_one_each_from_distinct_classes() -> None:
    labels = np.repeat(np.arange(5), 4)
    chosen = recipe._calibration_sample(labels, 3)
    assert len(chosen) == 3 and len(set(labels[chosen])) == 3
