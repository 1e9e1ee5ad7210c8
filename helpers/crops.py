"""Turn an object-detection dataset into a classification set by cropping its labelled boxes.

Chapter 10 uses it on BCCD (blood-smear microscopy): every box around a red cell, white
cell or platelet becomes one small image labelled with the cell type. The crops of a
split come only from that split's images, so the official train/validation/test split
carries over and no microscope image leaks across splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from helpers import config
from helpers.data import prepared_builder
from helpers.errors import check_positive_int


def box_to_pixels(box: Sequence[float], height: int, width: int, margin: float = 0.0) -> tuple[int, int, int, int]:
    """Convert a relative ``(ymin, xmin, ymax, xmax)`` box to pixel rows and columns.

    Args:
        box: Corners as fractions of the image height and width (tfds ``BBoxFeature``).
        height: Image height in pixels.
        width: Image width in pixels.
        margin: Grow the box by this fraction of its size on every side (context around a
            cell), clipped to the image.

    Returns:
        ``(top, left, bottom, right)``: the crop is ``image[top:bottom, left:right]``.

    Raises:
        ValueError: If the box is empty (no pixel inside) or its corners are swapped.
    """
    ymin, xmin, ymax, xmax = (float(v) for v in box)
    if not (ymax > ymin and xmax > xmin):
        raise ValueError(
            f"Empty box {tuple(round(v, 4) for v in box)}: (ymin, xmin, ymax, xmax) needs ymax > ymin and "
            "xmax > xmin. Drop such boxes before cropping (load_box_crops skips and counts them)."
        )
    dy, dx = (ymax - ymin) * margin, (xmax - xmin) * margin
    eps = 1e-6  # so that 0.15 * 100 is 15 pixels, not 16 after floating-point rounding
    top, bottom = int(np.floor(max(ymin - dy, 0.0) * height + eps)), int(np.ceil(min(ymax + dy, 1.0) * height - eps))
    left, right = int(np.floor(max(xmin - dx, 0.0) * width + eps)), int(np.ceil(min(xmax + dx, 1.0) * width - eps))
    if bottom <= top or right <= left:
        raise ValueError(f"Empty box {tuple(round(v, 4) for v in box)}: it covers no pixel of a {height}x{width} image.")
    return top, left, bottom, right


def crop_boxes(image: np.ndarray, boxes: np.ndarray, size: int, margin: float = 0.0) -> np.ndarray:
    """Cut every box out of ``image`` and resize it to ``size`` x ``size``.

    Args:
        image: ``(height, width, 3)`` uint8 array.
        boxes: ``(n, 4)`` relative ``(ymin, xmin, ymax, xmax)`` boxes.
        size: Side of the square crops (stretched: cells are roughly round).
        margin: See :func:`box_to_pixels`.

    Returns:
        ``(n, size, size, 3)`` uint8 array.
    """
    check_positive_int("size", size)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"Expected one (height, width, 3) image, got shape {image.shape}.")
    height, width = image.shape[:2]
    crops = np.zeros((len(boxes), size, size, 3), np.uint8)
    for i, box in enumerate(boxes):
        top, left, bottom, right = box_to_pixels(box, height, width, margin)
        resized = tf.image.resize(image[top:bottom, left:right], (size, size))
        crops[i] = np.clip(np.round(resized.numpy()), 0, 255).astype(np.uint8)
    return crops


def cap_per_class(labels: np.ndarray, max_per_class: int, seed: int = config.SEED) -> np.ndarray:
    """Return sorted indices keeping at most ``max_per_class`` random examples of each class.

    Classes with fewer examples keep them all, so a rare class stays rare: the cap only
    trims the abundant ones (in BCCD, red cells).
    """
    check_positive_int("max_per_class", max_per_class)
    rng = np.random.default_rng(seed)
    keep = [
        rng.permutation(np.flatnonzero(labels == k))[:max_per_class] for k in np.unique(labels)
    ]
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


@dataclass(frozen=True)
class BoxCrops:
    """Crops of one split of a detection dataset.

    Attributes:
        images: ``(n, size, size, 3)`` uint8 crops.
        labels: ``(n,)`` class index of each crop.
        sources: ``(n,)`` file name of the image each crop comes from.
        class_names: Label names, index = label.
        skipped_empty: Boxes dropped because they held no pixel.
        box_sizes: ``(n, 2)`` height and width in pixels of each crop's box in its image
            (without the margin), i.e. the cell's size before the crop was stretched to a square.
    """

    images: np.ndarray
    labels: np.ndarray
    sources: np.ndarray
    class_names: list[str]
    skipped_empty: int
    box_sizes: np.ndarray

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    def class_counts(self) -> dict[str, int]:
        """Crops of each class."""
        counts = np.bincount(self.labels, minlength=self.num_classes)
        return dict(zip(self.class_names, counts.tolist()))


def load_box_crops(
    name: str = "bccd",
    split: str = "train",
    size: int = config.IMAGE_SIZE,
    max_per_class: int | None = None,
    margin: float = 0.1,
    seed: int = config.SEED,
) -> BoxCrops:
    """Crop every labelled box of a tfds detection split into a classification set.

    Args:
        name: A tfds dataset with ``image`` and ``objects`` (``bbox``, ``label``) features.
        split: One of the dataset's own splits (no re-splitting: images never leak).
        size: Side of the square crops.
        max_per_class: Keep at most this many random crops per class (see :func:`cap_per_class`).
        margin: Context around each box, as a fraction of its size.
        seed: Seed of the cap's random choice.

    Raises:
        ValueError: Unknown split, or a non-positive size.
        ResourceNotAvailableError: The data is not on disk and cannot be downloaded.
    """
    builder = prepared_builder(name)
    if split not in builder.info.splits:
        raise ValueError(f"{name} has no split {split!r}; choose one of {sorted(builder.info.splits)}.")
    class_names = builder.info.features["objects"]["label"].names
    rows = []  # (image index, box, label, source), without decoding any image
    dataset = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()},
                                 read_config=tfds.ReadConfig(try_autocache=False))
    jpegs, skipped = [], 0
    for index, example in enumerate(dataset.as_numpy_iterator()):
        jpegs.append(example["image"])
        for box, label in zip(example["objects"]["bbox"], example["objects"]["label"]):
            if box[2] > box[0] and box[3] > box[1]:
                rows.append((index, box, int(label), example["image/filename"].decode().strip()))
            else:
                skipped += 1
    labels = np.array([row[2] for row in rows], np.int64)
    chosen = cap_per_class(labels, max_per_class, seed) if max_per_class else np.arange(len(rows))
    images = np.zeros((len(chosen), size, size, 3), np.uint8)
    box_sizes = np.zeros((len(chosen), 2), np.int64)
    by_image: dict[int, list[int]] = {}
    for position, row in enumerate(chosen):
        by_image.setdefault(rows[row][0], []).append(position)
    for index, positions in by_image.items():  # decode each image once, crop all its chosen boxes
        image = tf.io.decode_jpeg(jpegs[index], channels=3).numpy()
        boxes = np.array([rows[chosen[p]][1] for p in positions])
        images[positions] = crop_boxes(image, boxes, size, margin)
        for position, box in zip(positions, boxes):
            top, left, bottom, right = box_to_pixels(box, *image.shape[:2])
            box_sizes[position] = (bottom - top, right - left)
    return BoxCrops(
        images=images,
        labels=labels[chosen],
        sources=np.array([rows[row][3] for row in chosen]),
        class_names=list(class_names),
        skipped_empty=skipped,
        box_sizes=box_sizes,
    )
