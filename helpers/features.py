"""Compute a frozen backbone's features once, cache them on disk, reload them in seconds.

A frozen backbone maps the same image to the same vector every time, so running it in
every training epoch (what many tutorials do) repeats identical work. Here it runs once
per (dataset split, backbone, weights, image size); the result is an ``.npz`` file under
:func:`helpers.config.cache_dir` (git-ignored).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import config, models
from helpers import progress as progress_report
from helpers.data import ImageSplits


@dataclass(frozen=True)
class FeatureSet:
    """Features of one split.

    Attributes:
        features: ``(n_images, n_features)`` float32 array.
        labels: ``(n_images,)`` int array, in the same order.
        seconds: Time spent computing (cache miss) or loading (cache hit).
        from_cache: Whether the features were loaded from disk.
        path: The cache file.
    """

    features: np.ndarray
    labels: np.ndarray
    seconds: float
    from_cache: bool
    path: Path


_EMBEDDERS = "_course_embedding_functions"
"""Attribute of a network holding its functions, {preprocess: tf.function}: they live as long as it does."""


def embedding_function(
    backbone: keras.Model, preprocess
) -> tf.types.experimental.PolymorphicFunction:
    """Return ``images -> backbone(preprocess(images))`` in inference mode, as a ``tf.function``.

    Traced once for any batch size (a ``None`` batch dimension), and once per network: asking again
    for the same ``backbone`` and ``preprocess`` returns the same function, so a network that embeds
    three splits (or two datasets) is traced once, not three times. On small CPU batches this is several
    times faster than ``model.predict``, and far lighter than an eager call.
    """
    functions = backbone.__dict__.get(_EMBEDDERS)
    if functions is None:  # set past Keras' attribute tracking: not a layer, a weight or part of a saved model
        functions = {}
        object.__setattr__(backbone, _EMBEDDERS, functions)
    if preprocess not in functions:
        size = backbone.input_shape[1:]

        @tf.function(input_signature=[tf.TensorSpec((None, *size), tf.float32)])
        def embed(images: tf.Tensor) -> tf.Tensor:
            return backbone(preprocess(images), training=False)

        functions[preprocess] = embed
    return functions[preprocess]


def compute_features(
    backbone: keras.Model,
    preprocess,
    dataset: tf.data.Dataset,
    *,
    progress: bool = True,
    description: str = "features",
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``backbone`` (inference mode) over ``(images, labels)`` batches.

    Args:
        backbone: The network to run.
        preprocess: The backbone's pixel scaling, applied to each batch first.
        dataset: Batches of ``(images, labels)``.
        progress: Show a bar counting the batches when the pass takes more than a few
            seconds (:mod:`helpers.progress`); it changes no result.
        description: What the bar calls the work.

    Returns:
        ``(features, labels)`` as NumPy arrays.
    """
    embed = embedding_function(backbone, preprocess)
    feature_batches, label_batches = [], []
    for images, labels in progress_report.bar(dataset, description=description, unit="batch", enabled=progress):
        feature_batches.append(embed(images).numpy())
        label_batches.append(labels.numpy())
    if not feature_batches:
        raise ValueError("The dataset is empty: there is nothing to compute features of.")
    return np.concatenate(feature_batches), np.concatenate(label_batches)


def run_in_batches(function, inputs: np.ndarray, batch_size: int = 32, *, progress: bool = True) -> np.ndarray:
    """Apply ``function`` (e.g. from :func:`embedding_function`) to ``inputs`` in batches; stack the results.

    Inputs are cast to float32 batch by batch, so a large uint8 array is never copied whole.
    With ``progress``, a bar counts the batches when the work takes more than a few seconds.
    """
    if not len(inputs):
        raise ValueError("No inputs: there is nothing to run the function on.")
    starts = progress_report.bar(range(0, len(inputs), batch_size), description="batches", unit="batch",
                                 enabled=progress)
    return np.concatenate([
        np.asarray(function(tf.constant(inputs[start:start + batch_size], tf.float32))) for start in starts
    ])


@functools.lru_cache(maxsize=2)
def _backbone(name: str, weights: str | None, image_size: int, seed: int) -> keras.Model:
    if weights is None:
        keras.utils.set_random_seed(seed)  # random weights, but the same ones every run
    return models.build_backbone(name, weights=weights, image_size=image_size)


def cache_path(splits: ImageSplits, split: str, backbone: str, weights: str | None) -> Path:
    """Return the cache file for these features (the name says exactly what they are)."""
    models.backbone_spec(backbone)  # validate the name
    tag = weights or f"random{splits.seed}"
    return config.cache_dir() / "features" / f"{splits.cache_key(split)}-{backbone}-{tag}.npz"


def cached_features(
    splits: ImageSplits,
    split: str,
    backbone: str = "mobilenet_v2",
    weights: str | None = "imagenet",
    batch_size: int = 16,
    *,
    progress: bool = True,
) -> FeatureSet:
    """Return pooled features of ``split``, computing and caching them on first use.

    Args:
        splits: From :func:`helpers.data.load_image_splits`.
        split: ``"train"``, ``"validation"`` or ``"test"``.
        backbone: A name from :data:`helpers.models.BACKBONES`.
        weights: ``"imagenet"``, or ``None`` for a randomly initialised baseline.
        batch_size: Images per forward pass. On a small CPU a batch of 16 is faster and needs
            far less memory than 64 (``make bench`` measures the pipeline).
        progress: On a cache miss, show a bar counting the batches when the pass takes more
            than a few seconds (:mod:`helpers.progress`); it changes no result.
    """
    path = cache_path(splits, split, backbone, weights)
    start = time.perf_counter()
    if path.exists():
        with np.load(path) as stored:
            features, labels = stored["features"], stored["labels"]
        return FeatureSet(features, labels, time.perf_counter() - start, True, path)
    network = _backbone(backbone, weights, splits.image_size, splits.seed)
    features, labels = compute_features(
        network, models.preprocess_for(backbone), splits.batches(split, batch_size),
        progress=progress, description=f"{backbone} features of {split}" + ("" if weights else " (random weights)"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")
    np.savez(partial, features=features, labels=labels)
    partial.replace(path)  # atomic: a half-written file is never read as a cache
    return FeatureSet(features, labels, time.perf_counter() - start, False, path)
