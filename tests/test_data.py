import numpy as np
import pytest
import tensorflow as tf

from helpers import data
from helpers.errors import ResourceNotAvailableError


@pytest.mark.parametrize(
    "fractions", [(0.7, 0.3), (0.7, 0.2, 0.2), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1), (0.5, 0.5, 0.0)]
)
def test_bad_split_fractions_are_rejected_with_an_example(fractions):
    with pytest.raises(ValueError, match=r"\(0.7, 0.15, 0.15\)"):
        data.check_split_fractions(fractions)


@pytest.mark.parametrize("value", [0, -3, 2.5, True, None])
def test_non_positive_sizes_are_rejected_by_name(value):
    with pytest.raises(ValueError, match="image_size must be a positive integer"):
        data.load_image_splits("tf_flowers", image_size=value)


def test_unknown_dataset_name_suggests_close_names():
    with pytest.raises(ValueError, match=r"Unknown dataset 'tf_flower'.*'tf_flowers'"):
        data.load_image_splits("tf_flower")


def test_missing_dataset_offline_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))  # an empty data dir
    monkeypatch.setattr(data, "network_available", lambda *args, **kwargs: False)
    with pytest.raises(ResourceNotAvailableError) as caught:
        data.load_image_splits("tf_flowers")
    message = str(caught.value)
    assert "'tf_flowers' is not in TFDS_DATA_DIR=" + str(tmp_path) in message
    assert "Connect to the internet" in message and "KERAS_HOME" in message
    assert "MISSING and offline" in data.dataset_status("tf_flowers")


def test_network_check_is_false_for_a_closed_port():
    assert data.network_available("127.0.0.1", timeout=1) is False


def test_status_of_a_prepared_and_an_unknown_dataset():
    assert data.dataset_status("tf_flowers").startswith("ready")
    assert data.dataset_status("no_such_dataset").startswith("unknown dataset name")


def test_splits_are_disjoint_complete_and_close_to_the_fractions(flowers):
    total = sum(flowers.sizes.values())
    ids = {split: {bytes(x.numpy()) for x, _ in flowers.raw[split]} for split in data.SPLITS}
    assert sum(len(v) for v in ids.values()) == total  # no photo counted twice
    assert not ids["train"] & ids["validation"] and not ids["train"] & ids["test"]
    assert not ids["validation"] & ids["test"]
    for split, fraction in zip(data.SPLITS, flowers.fractions):
        assert abs(flowers.sizes[split] / total - fraction) < 0.04
    assert flowers.class_names == ["dandelion", "daisy", "tulips", "sunflowers", "roses"]


def test_split_depends_on_the_seed_and_only_on_it(flowers):
    again = data.load_image_splits("tf_flowers", seed=flowers.seed)
    other = data.load_image_splits("tf_flowers", seed=flowers.seed + 1)
    np.testing.assert_array_equal(again.labels("test"), flowers.labels("test"))
    assert not np.array_equal(other.labels("test")[:50], flowers.labels("test")[:50])
    assert flowers.cache_key("test") != other.cache_key("test")


def test_every_class_is_in_every_split(flowers):
    for split in data.SPLITS:
        assert min(flowers.class_counts(split).values()) > 0.08 * flowers.sizes[split]


def test_batches_are_resized_float_images_in_pixel_range(flowers):
    images, labels = next(iter(flowers.batches("validation", batch_size=5)))
    assert images.shape == (5, 224, 224, 3) and images.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 255.0
    assert labels.dtype == tf.int64 and labels.shape == (5,)


def test_unshuffled_batches_repeat_and_shuffled_ones_change_order(flowers):
    first = [y.numpy() for _, y in flowers.batches("validation", batch_size=300)][0]
    second = [y.numpy() for _, y in flowers.batches("validation", batch_size=300)][0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, flowers.labels("validation"))
    shuffled = flowers.batches("validation", batch_size=300, shuffle=True)
    epoch1, epoch2 = ([y.numpy() for _, y in shuffled][0] for _ in range(2))
    assert not np.array_equal(epoch1, first) and not np.array_equal(epoch1, epoch2)
    assert sorted(epoch1) == sorted(first)


def test_unknown_split_and_bad_batch_size(flowers):
    with pytest.raises(ValueError, match=r"Unknown split 'valid'.*'validation'"):
        flowers.batches("valid")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        flowers.batches("train", batch_size=0)


def test_resize_image_checks_the_shape():
    assert data.resize_image(tf.zeros((30, 40, 3), tf.uint8), 16).shape == (16, 16, 3)
    with pytest.raises(ValueError, match=r"shape \(height, width, 3\), got \(2, 30, 40, 3\)"):
        data.resize_image(tf.zeros((2, 30, 40, 3)))


def test_limit_and_in_memory_cache(flowers):
    limited = flowers.batches("validation", batch_size=4, limit=10)
    labels = np.concatenate([y.numpy() for _, y in limited])
    np.testing.assert_array_equal(labels, flowers.labels("validation")[:10])
    cached = flowers.batches("validation", batch_size=4, limit=10, cache=True)
    first = np.concatenate([x.numpy() for x, _ in cached])
    second = np.concatenate([x.numpy() for x, _ in cached])
    np.testing.assert_array_equal(first, second)
    plain = np.concatenate([x.numpy() for x, _ in limited])
    assert np.abs(first - plain).max() <= 0.5  # rounded to whole pixel values for uint8 storage
    assert first.dtype == np.float32
    shuffled = flowers.batches("validation", batch_size=10, limit=10, cache=True, shuffle=True)
    epoch1, epoch2 = (next(iter(shuffled))[1].numpy() for _ in range(2))
    assert sorted(epoch1) == sorted(labels) and not np.array_equal(epoch1, epoch2)
    with pytest.raises(ValueError, match="limit must be a positive integer"):
        flowers.batches("validation", limit=0)


def test_batches_of_chosen_indices_match_the_full_split(flowers):
    everything = np.concatenate([x.numpy() for x, _ in flowers.batches("validation", 16, limit=12)])
    labels = flowers.labels("validation")
    chosen = [7, 2, 11, 2]  # any order, duplicates ignored: split order comes back
    images, picked_labels = zip(*[(x.numpy(), y.numpy()) for x, y in flowers.batches("validation", 16, indices=chosen)])
    np.testing.assert_array_equal(np.concatenate(images), everything[[2, 7, 11]])
    np.testing.assert_array_equal(np.concatenate(picked_labels), labels[[2, 7, 11]])


def test_indices_outside_the_split_are_refused(flowers):
    size = flowers.sizes["test"]
    with pytest.raises(ValueError, match=rf"indices must lie in 0..{size - 1}"):
        flowers.batches("test", indices=[0, size])


def test_batches_know_their_length(flowers):
    """A known cardinality: Keras neither warns "input ran out of data" nor loses its progress bar."""
    n = flowers.sizes["validation"]
    assert int(flowers.batches("validation", batch_size=16).cardinality()) == -(-n // 16)
    assert int(flowers.batches("train", batch_size=16, limit=40, shuffle=True, cache=True).cardinality()) == 3
    assert int(flowers.batches("test", batch_size=4, indices=[5, 1, 9]).cardinality()) == 1
    assert len(list(flowers.batches("test", batch_size=4, indices=[5, 1, 9]))) == 1  # the promise holds


def test_loading_prints_no_deprecation_notice():
    """tfds calls a deprecated TensorFlow function in its reader; a learner should not see that notice."""
    import os
    import subprocess
    import sys

    code = "from helpers import data; data.load_image_splits('tf_flowers')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert done.returncode == 0, done.stderr
    assert "deprecated" not in done.stderr + done.stdout
