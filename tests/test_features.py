import gc
import tempfile
import time
import weakref
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import features


def test_compute_features_matches_a_direct_call_for_any_batch_size():
    keras.utils.set_random_seed(0)
    network = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()])
    images = np.random.default_rng(0).uniform(0, 255, (10, 8, 8, 3)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(10))).batch(4)  # 4, 4, 2
    vectors, labels = features.compute_features(network, lambda x: x / 255.0, dataset)
    np.testing.assert_allclose(vectors, network(images / 255.0).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(labels, np.arange(10))


def test_a_network_is_traced_once_however_many_datasets_it_embeds():
    keras.utils.set_random_seed(0)
    network = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()])
    scale = lambda x: x / 255.0  # noqa: E731 - one preprocess function, reused as a notebook reuses its backbone's
    images = np.random.default_rng(0).uniform(0, 255, (10, 8, 8, 3)).astype("float32")
    for batch in (4, 3, 10):  # three "splits", each with its own batch sizes
        features.compute_features(network, scale, tf.data.Dataset.from_tensor_slices((images, np.arange(10))).batch(batch))
    embed = features.embedding_function(network, scale)
    assert embed.experimental_get_tracing_count() == 1
    assert features.embedding_function(network, lambda x: x) is not embed  # another preprocess: its own function
    other = keras.models.clone_model(network)
    assert features.embedding_function(other, scale) is not embed  # another network: its own function
    saved = Path(tempfile.mkdtemp()) / "saved.keras"
    network.save(saved)  # the cached function is not part of the model: it saves and loads as before
    assert not hasattr(keras.models.load_model(saved), features._EMBEDDERS)
    reference = weakref.ref(network)
    del network, embed, other
    gc.collect()
    assert reference() is None, "a network and its cached function are collected together"


def test_compute_features_rejects_an_empty_dataset():
    network = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
    empty = tf.data.Dataset.from_tensor_slices((np.zeros((0, 8, 8, 3), "float32"), np.zeros(0))).batch(2)
    with pytest.raises(ValueError, match="empty"):
        features.compute_features(network, lambda x: x, empty)


def test_cache_is_written_once_then_loaded_fast(flowers, tmp_cache):
    first = features.cached_features(flowers, "validation", backbone="mobilenet_0.25")
    assert not first.from_cache and first.path.exists()
    assert first.features.shape == (flowers.sizes["validation"], 256)
    np.testing.assert_array_equal(first.labels, flowers.labels("validation"))
    start = time.perf_counter()
    second = features.cached_features(flowers, "validation", backbone="mobilenet_0.25")
    assert second.from_cache and time.perf_counter() - start < 2.0
    np.testing.assert_array_equal(second.features, first.features)


def test_cache_key_separates_backbone_weights_and_split(flowers, tmp_cache):
    paths = {
        features.cache_path(flowers, "test", "mobilenet_v2", "imagenet"),
        features.cache_path(flowers, "test", "mobilenet_v2", None),
        features.cache_path(flowers, "validation", "mobilenet_v2", "imagenet"),
        features.cache_path(flowers, "test", "mobilenet_0.25", "imagenet"),
    }
    assert len(paths) == 4
    assert all(str(p).startswith(str(tmp_cache / "cache" / "features")) for p in paths)
    with pytest.raises(ValueError, match="Unknown backbone"):
        features.cache_path(flowers, "test", "resnet", "imagenet")


def test_random_baseline_features_are_reproducible_and_differ_from_imagenet(flowers, tmp_cache):
    random1 = features.cached_features(flowers, "test", "mobilenet_0.25", weights=None)
    random1.path.unlink()
    features._backbone.cache_clear()
    random2 = features.cached_features(flowers, "test", "mobilenet_0.25", weights=None)
    np.testing.assert_allclose(random1.features, random2.features, rtol=1e-5)
    pretrained = features.cached_features(flowers, "test", "mobilenet_0.25")
    assert not np.allclose(pretrained.features, random1.features)


def test_run_in_batches_stacks_every_batch_as_float32():
    calls = []

    def double(batch):
        calls.append((batch.shape[0], batch.dtype.name))
        return batch * 2

    out = features.run_in_batches(double, np.arange(10, dtype=np.uint8).reshape(5, 2), batch_size=2)
    np.testing.assert_array_equal(out, np.arange(10).reshape(5, 2) * 2)
    assert calls == [(2, "float32"), (2, "float32"), (1, "float32")]
    with pytest.raises(ValueError, match="No inputs"):
        features.run_in_batches(double, np.zeros((0, 2)))
