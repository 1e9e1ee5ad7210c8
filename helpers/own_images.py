"""Your own photos, one subfolder per class, to a classifier you can use, check and save.

Lay your images out like this (any names; JPEG, PNG, BMP, GIF or WebP)::

    my_photos/
        cats/  001.jpg  002.jpg ...
        dogs/  a.png    b.png   ...

then::

    folder = own_images.load_image_folder("my_photos")   # train / validation / test split
    print(folder.summary())                                # classes, counts, skipped files
    classifier = own_images.run_recipe(folder)             # feature extraction, then fine-tuning
    print(classifier.report)                               # test accuracy, per-class recall, confusion
    print(classifier.predict("new_photos"))                # a class and its probability per file
    classifier.save("my_classifier.keras")
    classifier = own_images.load_classifier("my_classifier.keras")

Photos are read by :mod:`helpers.photos` (upright, RGB, resized, streamed from disk). Files
that cannot be read are skipped and listed; a missing folder, a single class or a class with
too few photos stops with a message that says what to do.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from helpers import config, evaluation, features, models, photos, significance
from helpers.errors import CourseError, check_positive_int

IMAGE_SUFFIXES = photos.IMAGE_SUFFIXES
PARTS = ("train", "validation", "test")
IMBALANCE_RATIO = 3.0
"""Warn when the largest class has at least this many times the photos of the smallest."""
PROGRESS_AFTER_SECONDS = 5.0
"""Show a progress bar when reading the photos through the network should take longer."""


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
        """Classes, photo counts per part, warnings and skipped files, as lines of text."""
        sizes = ", ".join(f"{len(self.parts.get(part, []))} {part}" for part in PARTS)
        lines = [f"{self.directory}: {len(self.class_names)} classes, {sum(self.counts.values())} images ({sizes})"]
        lines += [f"  {name}: {self.counts[name]}" for name in self.class_names]
        lines += [f"  warning: {message}" for message in [self.imbalance()] if message]
        lines += [f"  skipped {path.relative_to(self.directory)}: {why}" for path, why in self.skipped]
        return "\n".join(lines)


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


@keras.saving.register_keras_serializable(package="helpers")
class ClassNames(keras.layers.Layer):
    """Passes its input through unchanged; keeps the class names inside a saved model."""

    def __init__(self, class_names: Sequence[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.class_names = list(class_names)

    def call(self, inputs):
        return inputs

    def get_config(self) -> dict:
        return {**super().get_config(), "class_names": self.class_names}


@dataclass(frozen=True)
class RecipeReport:
    """What :func:`run_recipe` measured: choices on validation, the verdict on test.

    Attributes:
        backbone: The pretrained network.
        images: Photos per part (``"train"``, ``"validation"``, ``"test"``).
        validation_accuracies: Per stage (``"feature extraction"``, ``"fine-tuned"``): these
            chose the epochs and the stage, so they are optimistic.
        chosen: The stage kept (the better validation accuracy; feature extraction on a tie).
        test: Per-class precision, recall and F1 of the kept model on the test photos.
        confusion: Test confusion matrix, row = true class, column = predicted class.
        warnings: e.g. class imbalance.
    """

    backbone: str
    images: dict[str, int]
    validation_accuracies: dict[str, float]
    chosen: str
    test: evaluation.ClassMetrics
    confusion: np.ndarray
    warnings: list[str] = field(default_factory=list)

    @property
    def test_accuracy(self) -> float:
        return self.test.accuracy

    @property
    def test_interval(self) -> tuple[float, float]:
        """Wilson 95 % interval of the test accuracy, for this many test photos."""
        total = self.images["test"]
        return significance.accuracy_interval(round(self.test_accuracy * total), total)

    def __str__(self) -> str:
        low, high = self.test_interval
        names = self.test.class_names
        width = max(len(n) for n in names)
        lines = [f"{self.backbone}: {', '.join(f'{n} {p}' for p, n in self.images.items())} photos",
                 "validation accuracy (chose epochs and stage): "
                 + ", ".join(f"{stage} {acc:.3f}" for stage, acc in self.validation_accuracies.items())
                 + f" -> kept {self.chosen}",
                 f"test accuracy (unseen until now): {self.test_accuracy:.3f}, 95% interval {low:.3f}-{high:.3f} "
                 f"for {self.images['test']} photos",
                 *(f"warning: {w}" for w in self.warnings), self.test.table(),
                 "confusion on test (rows: true class, columns: predicted, in the same order):"]
        lines += [f"{name:>{width}} {row.tolist()}" for name, row in zip(names, self.confusion)]
        return "\n".join(lines)


class Prediction(NamedTuple):
    """One file's predicted class and its probability."""

    path: Path
    class_name: str
    probability: float


@dataclass(frozen=True)
class Predictions:
    """What :meth:`Classifier.predict` returns: a prediction per readable file, and the others."""

    rows: list[Prediction]
    skipped: list[tuple[Path, str]]
    folder: Path | None = None
    """The folder predicted on, if one was given: files are shown relative to it."""

    def __str__(self) -> str:
        def shown(path: Path) -> Path:
            return path.relative_to(self.folder) if self.folder else path

        lines = [f"{shown(row.path)}: {row.class_name} ({row.probability:.3f})" for row in self.rows]
        lines += [f"could not read {shown(path)}: {why}" for path, why in self.skipped]
        return "\n".join(lines)


def _listed_files(files: str | Path | Sequence[str | Path]) -> list[Path]:
    """The files named, or all the files in a folder (recursively, sorted)."""
    if isinstance(files, (str, Path)):
        files = Path(files).expanduser()
        if files.is_dir():
            return sorted(p for p in files.rglob("*") if p.is_file() and not p.name.startswith("."))
        if not files.exists():
            raise ImageFolderError(f"No file or folder at {files.resolve()}: give a photo, a list of photos, "
                                   "or a folder of photos.")
        return [files]
    return [Path(p).expanduser() for p in files]


@dataclass
class Classifier:
    """A trained classifier: one Keras model from photos in [0, 255] to class probabilities.

    Attributes:
        model: Preprocessing, backbone (BatchNormalization frozen), head and softmax, in one model.
        class_names: Output ``i`` is the probability of ``class_names[i]``.
        report: What :func:`run_recipe` measured (``None`` for a reloaded classifier).
    """

    model: keras.Model
    class_names: list[str]
    report: RecipeReport | None = None

    @property
    def image_size(self) -> int:
        return int(self.model.input_shape[1])

    def predict(self, files: str | Path | Sequence[str | Path], batch_size: int = 16) -> Predictions:
        """Predict a class for a photo, a list of photos or every file of a folder.

        Files that cannot be read are listed in ``skipped`` with the reason, not raised.
        """
        rows, skipped, paths = [], [], _listed_files(files)
        for start in range(0, len(paths), batch_size):
            batch, images = [], []
            for path in paths[start:start + batch_size]:
                try:
                    images.append(photos.read_photo(path, self.image_size))
                    batch.append(path)
                except photos.UnreadablePhotoError as error:
                    skipped.append((path, str(error)))
            if images:
                probabilities = self.model(np.stack(images).astype(np.float32), training=False)
                rows += [Prediction(path, self.class_names[int(p.argmax())], float(p.max()))
                         for path, p in zip(batch, np.asarray(probabilities))]
        folder = Path(files).expanduser() if isinstance(files, (str, Path)) and Path(files).is_dir() else None
        return Predictions(rows, skipped, folder)

    def save(self, path: str | Path) -> Path:
        """Save the model (with its class names) as a ``.keras`` file; return the path."""
        path = Path(path).expanduser()
        if path.suffix != ".keras":
            raise ValueError(f"Save to a file ending in .keras (e.g. my_classifier.keras), got {path.name!r}.")
        self.model.save(path)
        return path

    def __str__(self) -> str:
        return str(self.report) if self.report else f"classifier for {self.class_names}"


def load_classifier(path: str | Path) -> Classifier:
    """Reload a classifier saved by :meth:`Classifier.save` (``safe_mode=True``: no arbitrary code)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No saved classifier at {path.resolve()}; save one with classifier.save(path).")
    model = keras.models.load_model(path, safe_mode=True)
    return Classifier(model, model.get_layer("class_names").class_names)


def _run_over(function, folder: ImageFolder, part: str) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``function`` to every batch of one part; a progress bar if it takes a while."""
    outputs, labels, bar, total = [], [], None, len(folder.parts[part])
    start = None  # timed from the end of the first batch, which includes tracing
    for images, batch_labels in folder.batches(part):
        outputs.append(np.asarray(function(images)))
        labels.append(batch_labels.numpy())
        done, first = sum(map(len, labels)), len(labels[0])
        if start is None:
            start = time.perf_counter()
        elif bar is None and (time.perf_counter() - start) / (done - first) * (total - first) > PROGRESS_AFTER_SECONDS:
            bar = keras.utils.Progbar(total, unit_name="photo")
            print(f"reading the {part} photos through the network:")
        if bar is not None:
            bar.update(done)
    return np.concatenate(outputs), np.concatenate(labels)


def _fine_tune(base: keras.Model, first_trainable: str, top: keras.Model, head: keras.Model, maps: dict,
               epochs: int, learning_rate: float, patience: int) -> float:
    """Train ``top`` (``base`` from ``first_trainable``, BatchNormalization frozen) and ``head`` on
    cached maps, keeping the best validation epoch; return its validation accuracy."""
    models.unfreeze_top_layers(base, first_trainable)
    inputs = keras.Input(maps["train"][0].shape[1:])
    tuner = models.compile_classifier(keras.Model(inputs, head(top(inputs))), learning_rate)
    best = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, restore_best_weights=True)
    tuner.fit(*maps["train"], validation_data=maps["validation"], epochs=epochs, batch_size=32,
              callbacks=[best], verbose=0)
    base.trainable = False
    return float(tuner.evaluate(*maps["validation"], verbose=0)[1])


def _choose(validation_accuracies: dict[str, float]) -> str:
    """The stage with the best validation accuracy; on a tie the simpler, feature extraction."""
    return max(validation_accuracies, key=lambda stage: (validation_accuracies[stage], stage == "feature extraction"))


def _classifier(base: keras.Model, head: keras.Model, backbone: str, class_names: list[str]) -> keras.Model:
    """Photos in [0, 255] -> preprocessing -> base (inference mode) -> head -> probabilities."""
    inputs = keras.Input(base.input_shape[1:], name="photos")
    logits = head(base(models.preprocess_for(backbone)(inputs), training=False))
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model(inputs, ClassNames(class_names, name="class_names")(probabilities), name="classifier")


def run_recipe(
    folder: ImageFolder,
    backbone: str = "mobilenet_v2",
    head_epochs: int = 20,
    fine_tune_epochs: int = 10,
    first_trainable: str = "block_16_expand",
    fine_tune_learning_rate: float = 1e-4,
    patience: int = 3,
) -> Classifier:
    """The course's recipe on ``folder``: a head on frozen features, then fine-tuning the top.

    1. Read every photo once through the backbone up to ``first_trainable`` and keep those
       outputs (chapter 05's cached fine-tuning: the frozen bottom never changes).
    2. Train a linear head on the pooled features, keeping its best validation epoch (chapter 04).
    3. Unless ``fine_tune_epochs`` is 0, train the top of the backbone (BatchNormalization
       frozen) with the head, stopping early on validation accuracy.
    4. Keep the stage with the better validation accuracy; score it once on the test photos.

    Returns:
        The :class:`Classifier`, with its :class:`RecipeReport` as ``.report``.
    """
    base = models.build_backbone(backbone, weights="imagenet", image_size=folder.image_size)
    base.trainable = False
    bottom, top = models.split_at(base, first_trainable)
    reader = features.embedding_function(bottom, models.preprocess_for(backbone))
    maps = {part: _run_over(reader, folder, part) for part in PARTS}
    pooled = {part: (features.run_in_batches(top, x, 64), y) for part, (x, y) in maps.items()}
    head, _ = models.train_head(pooled["train"], pooled["validation"], len(folder.class_names), head_epochs)
    accuracies = {"feature extraction": float(head.evaluate(*pooled["validation"], verbose=0)[1])}
    if fine_tune_epochs:
        before = [top.get_weights(), head.get_weights()]
        accuracies["fine-tuned"] = _fine_tune(base, first_trainable, top, head, maps, fine_tune_epochs,
                                              fine_tune_learning_rate, patience)
        if _choose(accuracies) == "feature extraction":
            top.set_weights(before[0])
            head.set_weights(before[1])
    chosen = _choose(accuracies)
    labels, predicted = maps["test"][1], features.run_in_batches(lambda x: head(top(x)), maps["test"][0]).argmax(1)
    report = RecipeReport(
        backbone, {part: len(y) for part, (_, y) in maps.items()}, accuracies, chosen,
        evaluation.class_metrics(labels, predicted, folder.class_names),
        evaluation.confusion(labels, predicted, len(folder.class_names)), [w for w in [folder.imbalance()] if w])
    return Classifier(_classifier(base, head, backbone, folder.class_names), folder.class_names, report)


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
