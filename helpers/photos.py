"""Read real photos robustly: phone orientation, any colour mode, any size, streamed from disk.

``tf.io.decode_jpeg`` ignores the EXIF orientation tag that phones write instead of
rotating the pixels, so a portrait photo arrives lying on its side. Here Pillow decodes
each file, turns it upright (``PIL.ImageOps.exif_transpose``), makes it RGB (grayscale,
palette and RGBA images included; transparency becomes white) and resizes it; a large JPEG
is decoded at a reduced scale first (``Image.draft``), so a 50-megapixel photo costs little.
:func:`dataset` reads the files batch by batch, so a folder of thousands of photos is never
held in memory at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps, UnidentifiedImageError

from helpers import config
from helpers.errors import CourseError

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
"""File types read as photos (case does not matter)."""

CONVERT_FIRST = {".heic": "HEIC", ".heif": "HEIF", ".avif": "AVIF"}
"""Phone formats Pillow cannot read without plug-ins: the reason says to export them as JPEG."""


class UnreadablePhotoError(CourseError, ValueError):
    """A file that cannot be used as a photo; the message says why."""


def _upright_rgb(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, then make the image RGB (transparent parts white)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        white = Image.new("RGBA", image.size, "white")
        return Image.alpha_composite(white, image.convert("RGBA")).convert("RGB")
    return image.convert("RGB")


def read_photo(path: str | Path, image_size: int = config.IMAGE_SIZE) -> np.ndarray:
    """Return the photo at ``path`` upright, as ``(image_size, image_size, 3)`` uint8 RGB.

    The whole photo is squeezed to a square (no crop), as Keras'
    ``image_dataset_from_directory`` does by default.

    Raises:
        UnreadablePhotoError: Unsupported type, missing, broken or truncated file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CONVERT_FIRST:
        raise UnreadablePhotoError(f"{CONVERT_FIRST[suffix]} is not supported: export the photo as JPEG")
    if suffix not in IMAGE_SUFFIXES:
        raise UnreadablePhotoError(f"not an image type ({', '.join(IMAGE_SUFFIXES)})")
    try:
        with Image.open(path) as image:
            image.draft("RGB", (image_size, image_size))  # JPEG: decode at a reduced scale
            upright = _upright_rgb(image)
    except FileNotFoundError:
        raise UnreadablePhotoError("no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise UnreadablePhotoError(f"cannot be decoded as an image ({type(error).__name__})") from None
    return np.asarray(upright.resize((image_size, image_size), Image.Resampling.BILINEAR))


def problem(path: str | Path, image_size: int = config.IMAGE_SIZE) -> str | None:
    """Return why ``path`` cannot be used as a photo, or ``None`` if :func:`read_photo` reads it."""
    try:
        read_photo(path, image_size)
    except UnreadablePhotoError as error:
        return str(error)
    return None


def dataset(
    paths: Sequence[str | Path], labels: Sequence[int], image_size: int = config.IMAGE_SIZE, batch_size: int = 16
) -> tf.data.Dataset:
    """``(images, labels)`` batches read from ``paths`` as they are needed, in order.

    Images are float32 in [0, 255] (what the course's models take), labels int32. Files are
    read in parallel by :func:`read_photo` while the previous batch is being used.
    """
    if not len(paths):
        raise ValueError("No photos: there is nothing to read.")

    def load(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.numpy_function(lambda p: read_photo(p.decode(), image_size), [path], tf.uint8)
        image.set_shape((image_size, image_size, 3))
        return tf.cast(image, tf.float32), label

    files = tf.data.Dataset.from_tensor_slices(([str(p) for p in paths], np.asarray(labels, np.int32)))
    return files.map(load, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)
