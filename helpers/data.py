"""Load a TensorFlow Datasets image dataset as seeded train/validation/test splits.

The lesson code stays plain ``tfds`` and ``tf.data``; this module only hides plumbing:
split arithmetic, JPEG decoding after shuffling (cheap), resizing to the course size,
batching and prefetching, and a clear error when the data cannot be had.

Typical use::

    flowers = data.load_image_splits("tf_flowers")
    train_ds = flowers.batches("train", shuffle=True)
"""

from __future__ import annotations

import difflib
import math
import socket
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from helpers import config
from helpers.errors import OFFLINE_HINT, ResourceNotAvailableError, check_positive_int

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.7, 0.15, 0.15)
_BUCKETS = 10_000  # split resolution: fractions are honoured to 0.01 %


def check_split_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """Validate ``(train, validation, test)`` fractions and return them as a tuple.

    Raises:
        ValueError: Unless there are three fractions, each in (0, 1), summing to 1.
    """
    if len(fractions) != 3:
        raise ValueError(
            f"Give three split fractions (train, validation, test), got {len(fractions)}: "
            f"{tuple(fractions)!r}. Example: (0.7, 0.15, 0.15)."
        )
    if any(not 0 < f < 1 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"Split fractions must each lie between 0 and 1 and add up to 1; got "
            f"{tuple(fractions)!r} (sum {sum(fractions):.3f}). Example: (0.7, 0.15, 0.15)."
        )
    return tuple(float(f) for f in fractions)  # type: ignore[return-value]


def check_positive(**sizes: int) -> None:
    """Raise ``ValueError`` naming the first argument that is not a positive integer."""
    for name, value in sizes.items():
        check_positive_int(name, value)


def network_available(host: str = "storage.googleapis.com", timeout: float = 3.0) -> bool:
    """Return whether ``host`` accepts an HTTPS connection within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def dataset_status(name: str) -> str:
    """Say, without downloading, whether dataset ``name`` can be loaded here and how.

    Returns:
        A one-line status: ready on disk, will be downloaded, or what to do.
    """
    try:
        builder = tfds.builder(name, data_dir=str(config.tfds_data_dir()))
    except tfds.core.registered.DatasetNotFoundError:
        return f"unknown dataset name {name!r}"
    if builder.is_prepared():
        return f"ready ({builder.data_dir})"
    if network_available():
        return "not on disk yet; it will be downloaded on first use"
    return f"MISSING and offline: {OFFLINE_HINT}"


def prepared_builder(name: str) -> tfds.core.DatasetBuilder:
    """Return the prepared builder for ``name``, downloading it if it is missing.

    Raises:
        ValueError: For an unknown dataset name (close matches are suggested).
        ResourceNotAvailableError: The data is not on disk and cannot be downloaded.
    """
    if name not in tfds.list_builders():
        close = difflib.get_close_matches(name, tfds.list_builders(), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"Unknown dataset {name!r}.{hint} The course uses 'tf_flowers' and 'bccd'; "
            "`tfds.list_builders()` lists every name."
        )
    builder = tfds.builder(name, data_dir=str(config.tfds_data_dir()))
    if builder.is_prepared():
        return builder
    # tfds retries a dead connection for minutes; fail in seconds instead.
    if not network_available():
        raise ResourceNotAvailableError(
            f"Dataset {name!r} is not in TFDS_DATA_DIR={config.tfds_data_dir()} and this "
            f"machine is offline, so it cannot be downloaded. {OFFLINE_HINT}"
        )
    try:
        builder.download_and_prepare()
    except OSError as error:  # requests' ConnectionError is an OSError
        raise ResourceNotAvailableError(
            f"Downloading dataset {name!r} failed ({error.__class__.__name__}). {OFFLINE_HINT}"
        ) from None
    return builder


def resize_image(image: tf.Tensor, image_size: int = config.IMAGE_SIZE) -> tf.Tensor:
    """Resize one decoded image to ``image_size`` x ``image_size`` (float32 in [0, 255]).

    Raises:
        ValueError: If the image is not ``(height, width, 3)``.
    """
    if image.shape.rank != 3 or image.shape[-1] != 3:
        raise ValueError(
            f"Expected one RGB image of shape (height, width, 3), got {tuple(image.shape)}. "
            "For a batch, map this function over the images."
        )
    return tf.image.resize(image, (image_size, image_size))


@dataclass
class ImageSplits:
    """A dataset split three ways, not yet decoded: call :meth:`batches` to iterate.

    Attributes:
        name: The tfds dataset name.
        class_names: Label names, index = label.
        image_size: Side length images are resized to.
        seed: Seed of the split and of the training shuffle.
        fractions: (train, validation, test) fractions that were asked for.
        sizes: Number of examples actually in each split.
        raw: Per split, a dataset of ``(jpeg_bytes, label)`` pairs.
    """

    name: str
    class_names: list[str]
    image_size: int
    seed: int
    fractions: tuple[float, float, float]
    sizes: dict[str, int] = field(default_factory=dict)
    raw: dict[str, tf.data.Dataset] = field(default_factory=dict, repr=False)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def cache_key(self, split: str) -> str:
        """A string naming exactly which examples ``split`` holds (for feature caches)."""
        self._check_split(split)
        f = "-".join(f"{x:g}" for x in self.fractions)
        return f"{self.name}-{split}{self.sizes[split]}-f{f}-s{self.seed}-{self.image_size}px"

    def _check_split(self, split: str) -> None:
        if split not in self.raw:
            raise ValueError(f"Unknown split {split!r}; choose one of {list(self.raw)}.")

    def labels(self, split: str) -> np.ndarray:
        """Return the labels of ``split`` in dataset order (no image is decoded)."""
        self._check_split(split)
        return np.fromiter((int(y) for _, y in self.raw[split]), dtype=np.int64)

    def class_counts(self, split: str) -> dict[str, int]:
        """Return the number of examples of each class in ``split``."""
        counts = np.bincount(self.labels(split), minlength=self.num_classes)
        return dict(zip(self.class_names, counts.tolist()))

    def batches(
        self,
        split: str,
        batch_size: int = 32,
        shuffle: bool = False,
        limit: int | None = None,
        cache: bool = False,
        indices: Sequence[int] | np.ndarray | None = None,
    ) -> tf.data.Dataset:
        """Return ``(images, labels)`` batches of ``split``, images float32 in [0, 255].

        Args:
            split: ``"train"``, ``"validation"`` or ``"test"``.
            batch_size: Images per batch.
            shuffle: Reshuffle every epoch (seeded), for training.
            limit: Use only the first ``limit`` examples of the split.
            cache: Keep the decoded, resized images in memory after the first pass (as
                uint8, 150 kB per 224 px image), so later epochs skip JPEG decoding.
            indices: Decode only the examples at these positions of the split (in split
                order, whatever the order given): cheaper than decoding all and indexing.

        Raises:
            ValueError: Unknown split, a non-positive size, or an index outside the split.
        """
        self._check_split(split)
        check_positive(batch_size=batch_size)
        dataset = self.raw[split]
        if indices is not None:
            wanted = np.unique(np.asarray(indices, dtype=np.int64))
            if wanted.size and (wanted[0] < 0 or wanted[-1] >= self.sizes[split]):
                raise ValueError(
                    f"indices must lie in 0..{self.sizes[split] - 1} (the {split} split has "
                    f"{self.sizes[split]} examples); got {wanted[0]}..{wanted[-1]}."
                )
            keep = tf.constant(wanted)
            dataset = (
                dataset.enumerate()
                .filter(lambda i, pair: tf.reduce_any(tf.equal(keep, i)))
                .map(lambda i, pair: pair)
            )
        count = self.sizes[split] if indices is None else int(wanted.size)
        if limit is not None:
            check_positive(limit=limit)
            dataset = dataset.take(limit)
            count = min(count, limit)
        # Filtering leaves the length unknown; Keras then warns "input ran out of data" at the end
        # of each epoch and cannot show progress. The length is known, so say it (tf.data checks it).
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
        size = self.image_size

        def decode(jpeg: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            image = tf.io.decode_image(jpeg, channels=3, expand_animations=False)
            return tf.image.resize(image, (size, size)), label

        if cache:
            to_bytes = lambda image, label: (tf.cast(tf.round(image), tf.uint8), label)  # noqa: E731
            dataset = dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE).map(to_bytes).cache()
            if shuffle:
                dataset = dataset.shuffle(min(self.sizes[split], limit or self.sizes[split]), seed=self.seed)
            dataset = dataset.map(lambda image, label: (tf.cast(image, tf.float32), label))
        else:
            if shuffle:  # shuffle compressed JPEG bytes, decode afterwards: cheap in memory
                dataset = dataset.shuffle(self.sizes[split], seed=self.seed)
            dataset = dataset.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _quiet_deprecations():  # noqa: ANN202
    """Silence TensorFlow's deprecation notices that tfds triggers inside its reader (not our calls)."""
    from tensorflow.python.util import deprecation  # the context manager TF's own tests use

    return deprecation.silence()


def _examples_and_ids(builder: tfds.core.DatasetBuilder) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """``(jpeg_bytes, label)`` pairs of the ``train`` split and, in the same order, their tfds ids."""
    full = builder.as_dataset(
        split="train",
        as_supervised=True,
        decoders={"image": tfds.decode.SkipDecoding()},
        read_config=tfds.ReadConfig(add_tfds_id=True, try_autocache=False),
    )
    # as_supervised drops tfds_id, so read it from a parallel, identically ordered copy.
    ids = builder.as_dataset(
        split="train",
        decoders={"image": tfds.decode.SkipDecoding()},
        read_config=tfds.ReadConfig(add_tfds_id=True, try_autocache=False),
    ).map(lambda example: example["tfds_id"])
    return full, ids


def load_image_splits(
    name: str = "tf_flowers",
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    image_size: int = config.IMAGE_SIZE,
    seed: int = config.SEED,
) -> ImageSplits:
    """Split the ``train`` split of a tfds image dataset into train/validation/test.

    Each example goes to a split by a keyed hash of its tfds id, so the split is
    disjoint, reproducible for a given ``seed``, different for another seed, and holds
    the asked fractions up to sampling noise, whatever the dataset's size.

    Args:
        name: tfds name of a dataset with ``image`` and ``label`` features.
        fractions: (train, validation, test) fractions summing to 1.
        image_size: Side length images are resized to.
        seed: Seed of the split and of training shuffles.

    Raises:
        ValueError: Unknown dataset name, bad fractions or a non-positive size.
        ResourceNotAvailableError: The data is not on disk and cannot be downloaded.
    """
    fractions = check_split_fractions(fractions)
    check_positive(image_size=image_size)
    builder = prepared_builder(name)
    with _quiet_deprecations():
        full, ids = _examples_and_ids(builder)
    bucketed = tf.data.Dataset.zip(ids, full).map(
        lambda tfds_id, pair: (
            tf.strings.to_hash_bucket_strong(tfds_id, _BUCKETS, key=[seed, 0]),
            pair,
        )
    )
    edges = np.round(np.cumsum((0.0,) + fractions) * _BUCKETS).astype(np.int64)
    splits = ImageSplits(
        name=name,
        class_names=builder.info.features["label"].names,
        image_size=image_size,
        seed=seed,
        fractions=fractions,
    )
    for split, low, high in zip(SPLITS, edges[:-1], edges[1:]):
        chosen = bucketed.filter(lambda b, _, lo=low, hi=high: (b >= lo) & (b < hi))
        splits.raw[split] = chosen.map(lambda _, pair: pair)
        splits.sizes[split] = int(splits.raw[split].reduce(0, lambda n, _: n + 1))
    return splits
