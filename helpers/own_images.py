"""Run the course's recipe on your own photos, one subfolder per class.

Lay your images out like this (any names; JPEG, PNG, BMP or GIF)::

    my_photos/
        cats/  001.jpg  002.jpg ...
        dogs/  a.png    b.png   ...

then::

    folder = own_images.load_image_folder("my_photos")
    print(folder.summary())                      # classes, counts, skipped files
    report = own_images.run_recipe(folder)       # feature extraction, then fine-tuning
    print(report)

Files that cannot be decoded are skipped and listed, not fatal; a missing folder, a
single class, or a class with too few images stops with a message that says what to do.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers import config, features, models
from helpers.errors import CourseError, check_positive_int

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
"""What ``keras.utils.image_dataset_from_directory`` reads (case does not matter)."""


class ImageFolderError(CourseError, ValueError):
    """The folder cannot make a classification dataset (the message says how to fix it)."""


@dataclass
class ImageFolder:
    """A folder of images in class subfolders, split into training and validation batches.

    Attributes:
        directory: The folder given.
        class_names: Subfolder names, sorted; the label of an image is the index here.
        counts: Readable images per class.
        skipped: ``(file, reason)`` for every file left out.
        train: ``(images, labels)`` batches, images float32 in [0, 255].
        validation: The same for the held-out images.
    """

    directory: Path
    class_names: list[str]
    counts: dict[str, int]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    train: tf.data.Dataset | None = field(default=None, repr=False)
    validation: tf.data.Dataset | None = field(default=None, repr=False)

    def summary(self) -> str:
        """Classes, image counts and skipped files, as lines of text."""
        lines = [f"{self.directory}: {len(self.class_names)} classes, {sum(self.counts.values())} images"]
        lines += [f"  {name}: {self.counts[name]}" for name in self.class_names]
        lines += [f"  skipped {path.relative_to(self.directory)}: {why}" for path, why in self.skipped]
        return "\n".join(lines)


def _readable(path: Path) -> str | None:
    """Return why ``path`` cannot be used as an image, or ``None`` if it decodes."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return f"not an image type ({', '.join(IMAGE_SUFFIXES)})"
    try:
        tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError, OSError):
        return "cannot be decoded as an image"
    return None


def scan_image_folder(
    directory: str | Path, min_images_per_class: int = 5
) -> tuple[dict[str, list[Path]], list[tuple[Path, str]]]:
    """Find the readable images of each class subfolder of ``directory``.

    Returns:
        ``(images, skipped)``: readable files per class name (sorted), and every other
        file with the reason it was left out.

    Raises:
        ImageFolderError: Missing folder, fewer than two classes, or a class with fewer
            than ``min_images_per_class`` readable images.
    """
    check_positive_int("min_images_per_class", min_images_per_class)
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise ImageFolderError(
            f"No folder at {directory.resolve()}. Put your images in {directory}/<class name>/, "
            "one subfolder per class, e.g. my_photos/cats/*.jpg and my_photos/dogs/*.jpg."
        )
    classes = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        loose = sum(1 for p in directory.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        hint = f" {loose} images lie directly in the folder: move them into class subfolders." if loose else ""
        raise ImageFolderError(
            f"{directory} has {len(classes)} class subfolder(s) {[c.name for c in classes]}; a classifier "
            f"needs at least two, one per class (e.g. cats/ and dogs/).{hint}"
        )
    images: dict[str, list[Path]] = {}
    skipped: list[tuple[Path, str]] = []
    for folder in classes:
        images[folder.name] = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            reason = _readable(path)
            if reason is None:
                images[folder.name].append(path)
            else:
                skipped.append((path, reason))
    too_few = {name: len(files) for name, files in images.items() if len(files) < min_images_per_class}
    if too_few:
        raise ImageFolderError(
            f"Too few readable images in {too_few}; each class needs at least {min_images_per_class} "
            f"(some for training, some for validation). Add photos, or remove the class folder."
            + (f" {len(skipped)} file(s) were skipped as unreadable." if skipped else "")
        )
    return images, skipped


def _clean_copy(images: dict[str, list[Path]]) -> Path:
    """A folder holding only the readable images (links, or copies where links fail)."""
    digest = hashlib.sha256("\n".join(str(p.resolve()) for files in images.values() for p in files).encode())
    clean = config.cache_dir() / "image_folders" / digest.hexdigest()[:16]
    if clean.exists():
        return clean
    partial = clean.with_name(clean.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for name, files in images.items():
        (partial / name).mkdir(parents=True)
        for index, path in enumerate(files):
            target = partial / name / f"{index:05d}{path.suffix.lower()}"
            try:
                target.symlink_to(path.resolve())
            except OSError:  # Windows without the symlink privilege
                shutil.copy2(path, target)
    partial.rename(clean)
    return clean


def split_files(
    images: dict[str, list[Path]], validation_fraction: float, seed: int = config.SEED
) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """Split each class's files into training and validation, by a seeded draw.

    Every class with at least two files gives ``round(validation_fraction * n)`` of them
    (at least one, and never all) to validation, so a small folder keeps every class in both
    parts. The same files and seed always give the same split.

    Returns:
        ``(train, validation)``: files per class name, in the order of ``images``.
    """
    rng = np.random.default_rng(seed)
    train: dict[str, list[Path]] = {}
    validation: dict[str, list[Path]] = {}
    for name, files in images.items():
        held_out = min(max(round(validation_fraction * len(files)), 1), len(files) - 1)
        chosen = set(rng.permutation(len(files))[:held_out].tolist())
        validation[name] = [path for index, path in enumerate(files) if index in chosen]
        train[name] = [path for index, path in enumerate(files) if index not in chosen]
    return train, validation


def load_image_folder(
    directory: str | Path,
    validation_fraction: float = 0.2,
    image_size: int = config.IMAGE_SIZE,
    batch_size: int = 16,
    seed: int = config.SEED,
    min_images_per_class: int = 5,
) -> ImageFolder:
    """Scan ``directory``, split its readable images (:func:`split_files`) and load both parts.

    Each part is read with ``keras.utils.image_dataset_from_directory`` from a folder of its
    own (training shuffled with ``seed``, validation in order). The split is ours, not
    Keras' ``validation_split``, which prints "Using N files" even with ``verbose=False``.

    Raises:
        ImageFolderError: See :func:`scan_image_folder`.
        ValueError: For a ``validation_fraction`` outside (0, 1).
    """
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must lie between 0 and 1, got {validation_fraction!r}.")
    images, skipped = scan_image_folder(directory, min_images_per_class)
    parts = split_files(images, validation_fraction, seed)
    train, validation = (
        keras.utils.image_dataset_from_directory(
            _clean_copy(files),
            class_names=list(images),
            shuffle=shuffle,
            seed=seed,
            image_size=(image_size, image_size),
            batch_size=batch_size,
            verbose=False,
        )
        for files, shuffle in zip(parts, (True, False))
    )
    return ImageFolder(
        directory=Path(directory).expanduser(),
        class_names=list(images),
        counts={name: len(files) for name, files in images.items()},
        skipped=skipped,
        train=train.prefetch(tf.data.AUTOTUNE),
        validation=validation.prefetch(tf.data.AUTOTUNE),
    )


@dataclass(frozen=True)
class RecipeReport:
    """Validation accuracy after each stage of :func:`run_recipe`."""

    backbone: str
    train_images: int
    validation_images: int
    feature_extraction_accuracy: float
    fine_tuned_accuracy: float | None

    def __str__(self) -> str:
        tuned = "skipped" if self.fine_tuned_accuracy is None else f"{self.fine_tuned_accuracy:.3f}"
        return (
            f"{self.backbone} on {self.train_images} training / {self.validation_images} validation images: "
            f"feature extraction {self.feature_extraction_accuracy:.3f}, fine-tuned {tuned}"
        )


def run_recipe(
    folder: ImageFolder,
    backbone: str = "mobilenet_v2",
    head_epochs: int = 20,
    fine_tune_epochs: int = 2,
    first_trainable: str = "block_16_expand",
    fine_tune_learning_rate: float = 1e-5,
) -> RecipeReport:
    """The course's recipe on ``folder``: a head on frozen features, then fine-tuning.

    1. Compute the frozen backbone's pooled features once; train a linear head on them
       (chapter 04), keeping the epoch with the best validation accuracy.
    2. Unless ``fine_tune_epochs`` is 0, put base and head together, unfreeze the base from
       ``first_trainable`` on with BatchNormalization frozen, and train at a low learning
       rate (chapter 05).

    Returns:
        Validation accuracies (the folder has no separate test split: judge with care).
    """
    base = models.build_backbone(backbone, weights="imagenet")
    base.trainable = False
    preprocess = models.preprocess_for(backbone)
    train = features.compute_features(base, preprocess, folder.train)
    validation = features.compute_features(base, preprocess, folder.validation)
    head, _ = models.train_head(train, validation, num_classes=len(folder.class_names), epochs=head_epochs)
    extraction = float(head.evaluate(*validation, verbose=0)[1])
    tuned = None
    if fine_tune_epochs:
        inputs = keras.Input(base.input_shape[1:])
        model = keras.Model(inputs, head(base(preprocess(inputs), training=False)))
        models.unfreeze_top_layers(base, first_trainable)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=fine_tune_learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(folder.train, epochs=fine_tune_epochs, shuffle=False, verbose=0)  # already shuffled
        tuned = float(model.evaluate(folder.validation, verbose=0)[1])
    return RecipeReport(backbone, len(train[1]), len(validation[1]), extraction, tuned)


def write_example_folder(
    images: np.ndarray, labels: np.ndarray, class_names: list[str], directory: str | Path
) -> Path:
    """Save ``images`` (uint8-compatible, ``(n, h, w, 3)``) as JPEGs in class subfolders.

    Used to build a "your own photos" folder from course data; returns ``directory``.
    """
    directory = Path(directory)
    for index, (image, label) in enumerate(zip(images, labels)):
        folder = directory / class_names[int(label)]
        folder.mkdir(parents=True, exist_ok=True)
        jpeg = tf.io.encode_jpeg(tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8))
        tf.io.write_file(str(folder / f"{index:04d}.jpg"), jpeg)
    return directory
