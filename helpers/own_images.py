"""Your own photos, one subfolder per class, checked and split for training, validation and test.

Lay your images out like this (any names; JPEG, PNG, BMP, GIF or WebP)::

    my_photos/
        cats/  001.jpg  002.jpg ...
        dogs/  a.png    b.png   ...

then::

    folder = own_images.load_image_folder("my_photos")   # train / validation / test split
    print(folder.summary())                                # classes, counts, skipped files

and :func:`helpers.recipe.run_recipe` turns the folder into a classifier.

Photos are read by :mod:`helpers.photos` (upright, RGB, resized, streamed from disk). Files
that cannot be read are skipped and listed; a missing folder, a single class or a class with
too few photos stops with a message that says what to do.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from helpers import config, photos
from helpers.errors import CourseError, check_positive_int

IMAGE_SUFFIXES = photos.IMAGE_SUFFIXES
PARTS = ("train", "validation", "test")
IMBALANCE_RATIO = 3.0
"""Warn when the largest class has at least this many times the photos of the smallest."""


class ImageFolderError(CourseError, ValueError):
    """The folder cannot make a classification dataset (the message says how to fix it)."""


class ImbalanceWarning(UserWarning):
    """One class has many times more photos than another."""


@dataclass
class ImageFolder:
    """A folder of photos in class subfolders, split into training, validation and test files.

    Attributes:
        directory: The folder given.
        class_names: Subfolder names, sorted; the label of a photo is the index here.
        counts: Readable photos per class.
        skipped: ``(file, reason)`` for every file left out.
        parts: For ``"train"``, ``"validation"`` and ``"test"``: ``(file, label)`` pairs.
        image_size: Side length photos are resized to.
        batch_size: Photos per batch.
    """

    directory: Path
    class_names: list[str]
    counts: dict[str, int]
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    parts: dict[str, list[tuple[Path, int]]] = field(default_factory=dict, repr=False)
    image_size: int = config.IMAGE_SIZE
    batch_size: int = 16

    def batches(self, part: str) -> tf.data.Dataset:
        """``(images, labels)`` batches of one part, read from disk as needed (images in [0, 255])."""
        paths, labels = zip(*self.parts[part])
        return photos.dataset(paths, labels, self.image_size, self.batch_size)

    @property
    def train(self) -> tf.data.Dataset:
        return self.batches("train")

    @property
    def validation(self) -> tf.data.Dataset:
        return self.batches("validation")

    @property
    def test(self) -> tf.data.Dataset:
        return self.batches("test")

    def imbalance(self) -> str | None:
        """A warning if the largest class has :data:`IMBALANCE_RATIO` times the photos of the smallest."""
        largest, smallest = max(self.counts, key=self.counts.get), min(self.counts, key=self.counts.get)
        ratio = self.counts[largest] / self.counts[smallest]
        if ratio < IMBALANCE_RATIO:
            return None
        return (f"class imbalance: {largest!r} has {self.counts[largest]} photos, {smallest!r} only "
                f"{self.counts[smallest]} ({ratio:.1f} times fewer). Accuracy then mostly measures the large "
                f"class: read the per-class recall, and add photos of {smallest!r} if you can.")

    def summary(self) -> str:
        """Classes, photo counts per part, warnings and skipped files, as lines of text.

        The folder is named as :func:`_shown_path` names it: relative to the current folder or
        the course's, else by its own name, never by where the machine keeps it.
        """
        sizes = ", ".join(f"{len(self.parts.get(part, []))} {part}" for part in PARTS)
        lines = [f"{_shown_path(self.directory)}: {len(self.class_names)} classes, {sum(self.counts.values())} "
                 f"images ({sizes})"]
        lines += [f"  {name}: {self.counts[name]}" for name in self.class_names]
        lines += [f"  warning: {message}" for message in [self.imbalance()] if message]
        lines += [f"  skipped {path.relative_to(self.directory)}: {why}" for path, why in self.skipped]
        return "\n".join(lines)


def _shown_path(directory: str | Path) -> Path:
    """``directory`` as printed for a reader, without the folders of the machine it runs on.

    Relative to the current folder, else to the course's folder, else only the folder's name.
    """
    resolved = Path(directory).expanduser().resolve()
    for base in (Path.cwd().resolve(), config.project_dir()):
        if len(base.parts) > 1 and resolved != base and resolved.is_relative_to(base):  # "/" names nothing
            return resolved.relative_to(base)
    return Path(resolved.name)


def _class_folders(directory: Path) -> list[Path]:
    """The class subfolders of ``directory``, sorted; errors that say how to lay the folder out."""
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
    return classes


def scan_image_folder(
    directory: str | Path, min_images_per_class: int = 5, image_size: int = config.IMAGE_SIZE
) -> tuple[dict[str, list[Path]], list[tuple[Path, str]]]:
    """Find the readable photos of each class subfolder of ``directory`` (each is decoded once).

    Returns:
        ``(images, skipped)``: readable files per class name (sorted), and every other
        file with the reason it was left out.

    Raises:
        ImageFolderError: Missing folder, fewer than two classes, or a class with fewer
            than ``min_images_per_class`` readable images.
    """
    if check_positive_int("min_images_per_class", min_images_per_class) < 3:
        raise ValueError("min_images_per_class must be at least 3: one each for training, validation and test.")
    directory = Path(directory).expanduser()
    images: dict[str, list[Path]] = {}
    skipped: list[tuple[Path, str]] = []
    for folder in _class_folders(directory):
        images[folder.name] = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            reason = photos.problem(path, image_size)
            if reason is None:
                images[folder.name].append(path)
            else:
                skipped.append((path, reason))
    too_few = {name: len(files) for name, files in images.items() if len(files) < min_images_per_class}
    if too_few:
        raise ImageFolderError(
            f"Too few readable images in {too_few}; each class needs at least {min_images_per_class} "
            f"(some for training, some for validation and test). Add photos, or remove the class folder."
            + (f" {len(skipped)} file(s) were skipped as unreadable." if skipped else "")
        )
    return images, skipped


def split_files(
    images: dict[str, list[Path]], validation_fraction: float, test_fraction: float, seed: int = config.SEED
) -> tuple[dict[str, list[Path]], dict[str, list[Path]], dict[str, list[Path]]]:
    """Split each class's files into training, validation and test, by a seeded draw.

    Each class with at least three files gives ``round(fraction * n)`` of them, at least one,
    to validation and to test, and keeps at least one for training, so every class is in every
    part. The same files and seed always give the same split.

    Returns:
        ``(train, validation, test)``: files per class name, in the order of ``images``.
    """
    rng = np.random.default_rng(seed)
    parts: tuple[dict[str, list[Path]], ...] = ({}, {}, {})
    for name, files in images.items():
        held = [min(max(round(fraction * len(files)), 1), max(len(files) - 2, 0))
                for fraction in (validation_fraction, test_fraction)]
        order = rng.permutation(len(files))
        bounds = [0, len(files) - sum(held), len(files) - held[1], len(files)]
        for part, start, stop in zip(parts, bounds, bounds[1:]):
            part[name] = [files[i] for i in sorted(order[start:stop])]
    return parts


def load_image_folder(
    directory: str | Path,
    validation_fraction: float = 0.2,
    test_fraction: float = 0.2,
    image_size: int = config.IMAGE_SIZE,
    batch_size: int = 16,
    seed: int = config.SEED,
    min_images_per_class: int = 5,
) -> ImageFolder:
    """Scan ``directory`` and split its readable photos (:func:`split_files`); nothing is loaded yet.

    Validation chooses the training epochs and the recipe's stage; test is scored only once,
    at the end. Warns (:class:`ImbalanceWarning`) when one class has many times more photos.

    Raises:
        ImageFolderError: See :func:`scan_image_folder`.
        ValueError: For fractions outside (0, 1) or adding up to 1 or more.
    """
    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1 and validation_fraction + test_fraction < 1):
        raise ValueError(f"validation_fraction and test_fraction must lie between 0 and 1 and leave photos "
                         f"for training, got {validation_fraction!r} and {test_fraction!r}.")
    images, skipped = scan_image_folder(directory, min_images_per_class, image_size)
    names = list(images)
    split = split_files(images, validation_fraction, test_fraction, seed)
    parts = {part: [(path, names.index(name)) for name, files in files_per_class.items() for path in files]
             for part, files_per_class in zip(PARTS, split)}
    folder = ImageFolder(Path(directory).expanduser(), names, {name: len(f) for name, f in images.items()},
                         skipped, parts, image_size, batch_size)
    if message := folder.imbalance():
        warnings.warn(message, ImbalanceWarning, stacklevel=2)
    return folder


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


def write_flower_folder(flowers, directory: str | Path, count: int, class_names: list[str],  # noqa: ANN001
                        split: str = "train") -> Path:
    """A stand-in for a folder of your own photos: tf_flowers photos of some classes, in class subfolders.

    Takes the first ``count`` photos of ``split`` (:class:`helpers.data.ImageSplits`) and keeps
    those of ``class_names``; the folder is emptied first, so every run writes the same one.
    """
    import shutil

    check_positive_int("count", count)
    unknown = set(class_names) - set(flowers.class_names)
    if unknown:
        raise ValueError(f"{sorted(unknown)} are not flower classes; choose among {flowers.class_names}.")
    shutil.rmtree(directory, ignore_errors=True)
    wanted = [flowers.class_names.index(name) for name in class_names]
    kept_images, kept_labels = [], []
    for images, labels in flowers.batches(split, batch_size=16, limit=count):  # 16 decoded photos at a time
        keep = np.isin(labels.numpy(), wanted)
        kept_images.append(np.clip(np.round(images.numpy()[keep]), 0, 255).astype(np.uint8))
        kept_labels.append(labels.numpy()[keep])
    return write_example_folder(np.concatenate(kept_images), np.concatenate(kept_labels), flowers.class_names,
                                directory)
