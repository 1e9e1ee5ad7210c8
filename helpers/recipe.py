"""The course's recipe on a folder of your own photos: a classifier you can use, check and save.

Given a folder of photos in class subfolders (:mod:`helpers.own_images`)::

    folder = own_images.load_image_folder("my_photos")   # train / validation / test split
    classifier = recipe.run_recipe(folder)                 # feature extraction, then fine-tuning
    print(classifier.report)                               # test accuracy, per-class recall, confusion
    print(classifier.predict("new_photos"))                # a class and its probability per file
    classifier.save("my_classifier.keras")
    classifier = recipe.load_classifier("my_classifier.keras")
    classifier.export("my_classifier.tflite", quantize="int8", representative=folder)  # for a phone

Or from a terminal, without a notebook (``python -m helpers.recipe --help``)::

    python -m helpers.recipe train my_photos --out my_classifier.keras
    python -m helpers.recipe predict my_classifier.keras new_photo.jpg more_photos/
    python -m helpers.recipe export my_classifier.keras --quantize int8 --representative my_photos

The class names are saved inside the ``.keras`` file, in the ``metadata.json`` that Keras
writes into every ``.keras`` archive and does not read back: the file loads with
``keras.models.load_model`` alone, on a machine without this course, and
:func:`load_classifier` returns the names with the model.
"""

from __future__ import annotations

if __name__ == "__main__":  # a terminal command: keep TensorFlow's native start-up lines out of its output
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json
import shutil
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

from helpers import config, evaluation, features, memory, models, own_images, photos, significance
from helpers import progress as progress_report
from helpers.errors import CourseError


_METADATA = "metadata.json"
"""The member of a ``.keras`` archive that holds the class names (Keras writes it, never reads it back)."""


@keras.saving.register_keras_serializable(package="helpers")
class ClassNames(keras.layers.Layer):
    """Passes its input through unchanged; kept the class names in classifiers saved by earlier
    versions of the course (those need this module imported to load; new ones do not use it)."""

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
    trained_on: str = "train"
    """The photos the final model was trained on: ``"train"``, or ``"train + validation"`` (refit)."""
    epochs: dict[str, int] = field(default_factory=dict)
    """Epochs validation chose: ``"head"``, and ``"fine-tuning"`` when it ran."""

    @property
    def retrained_epochs(self) -> dict[str, int]:
        """The epochs the final model was trained for: the head's, and fine-tuning's if it was kept."""
        return {k: e for k, e in self.epochs.items() if k == "head" or self.chosen == "fine-tuned"}

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
                 f"final model trained on the {self.trained_on} photos"
                 + (f" ({', '.join(f'{k} {e} epochs' for k, e in self.retrained_epochs.items())}, chosen on "
                    "validation)" if self.trained_on != "train" else ""),
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
    """The files named, with every folder among them replaced by its files (recursively, sorted)."""
    if isinstance(files, (str, Path)):
        if not Path(files).expanduser().exists():
            raise own_images.ImageFolderError(f"No file or folder at {Path(files).expanduser().resolve()}: give a "
                                              "photo, a list of photos, or a folder of photos.")
        files = [files]
    listed = []
    for path in (Path(f).expanduser() for f in files):
        if path.is_dir():
            listed += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            listed.append(path)
    return listed


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
    _forward: object = field(default=None, init=False, repr=False, compare=False)

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
                if not path.exists():
                    skipped.append((path, "no such file or folder"))
                    continue
                try:
                    images.append(photos.read_photo(path, self.image_size))
                    batch.append(path)
                except photos.UnreadablePhotoError as error:
                    skipped.append((path, str(error)))
            if images:
                probabilities = self._probabilities(np.stack(images).astype(np.float32))
                rows += [Prediction(path, self.class_names[int(p.argmax())], float(p.max()))
                         for path, p in zip(batch, np.asarray(probabilities))]
        folder = Path(files).expanduser() if isinstance(files, (str, Path)) and Path(files).is_dir() else None
        return Predictions(rows, skipped, folder)

    def _probabilities(self, images: np.ndarray) -> np.ndarray:
        """The model's output for a batch, through one compiled function (rebuilt if ``model`` is replaced).

        An eager call of a functional model keeps every layer's output until it returns; the
        compiled graph frees each one once the next layer has used it.
        """
        if self._forward is None or self._forward[0] is not self.model:
            self._forward = (self.model, features.embedding_function(self.model, lambda batch: batch))
        return np.asarray(self._forward[1](images))

    def __getstate__(self) -> dict:
        """Copies and pickles leave the compiled function behind (it is rebuilt on first use)."""
        return {**self.__dict__, "_forward": None}

    def save(self, path: str | Path) -> Path:
        """Save the model as a ``.keras`` file, its class names in the archive's metadata; return the path.

        The file loads with ``keras.models.load_model`` alone (the names are then ignored), or
        with :func:`load_classifier` (model and names).
        """
        path = Path(path).expanduser()
        if path.suffix != ".keras":
            raise ValueError(f"Save to a file ending in .keras (e.g. my_classifier.keras), got {path.name!r}.")
        if len(self.class_names) != self.model.output_shape[-1]:
            raise ValueError(f"{len(self.class_names)} class names for a model with {self.model.output_shape[-1]} "
                             "outputs: give one name per output, in the order of the outputs.")
        self.model.save(path)
        _store_class_names(path, self.class_names)
        return path

    def export(self, path: str | Path, format: str = "litert", quantize: str | None = None,  # noqa: A002
               representative: own_images.ImageFolder | np.ndarray | None = None,
               representative_photos: int = 100) -> Path:
        """Export the classifier for a phone or an app: a LiteRT (TensorFlow Lite) ``.tflite`` file.

        Photos in [0, 255] go in and class probabilities come out, as with :meth:`predict`; the
        class names are not in the file (an app keeps them next to it). Quantization stores
        numbers in fewer bits, each int8 number ``q`` standing for ``scale * (q - zero_point)``:

        - ``None`` keeps float32;
        - ``"float16"`` stores the weights in float16 (a CPU turns them back into float32);
        - ``"dynamic"`` (dynamic range) stores the weights in int8. Activations stay float
          between layers; at run time the layers with integer kernels (fully connected and
          convolution layers) quantize their input to int8 on the fly, from that input's own
          range, compute in integer arithmetic and turn their output back into float; the other
          layers compute in float. No photos are needed;
        - ``"int8"`` (full integer) stores weights and activations in int8, every layer
          computing in integers, with a fixed range per activation calibrated beforehand on
          ``representative`` photos (the training photos); input and output stay float.

        Args:
            path: Where to write; must end in ``.tflite``.
            format: ``"litert"``, the only one the course installs a converter for.
            quantize: ``None``, ``"float16"``, ``"dynamic"`` or ``"int8"``.
            representative: For ``"int8"``: an :class:`~helpers.own_images.ImageFolder` (its
                training part is used) or an array of photos ``(n, size, size, 3)`` in [0, 255].
            representative_photos: At most this many of them.

        Returns:
            The path written.

        Raises:
            ValueError: For another format, quantization or file name, or ``"int8"`` without
                representative photos.
        """
        import tensorflow as tf

        if format != "litert":
            raise ValueError(f"format={format!r}: only 'litert' (a .tflite file) is available here; ONNX would need "
                             "the tf2onnx converter, which the course does not install.")
        if quantize not in QUANTIZATIONS:
            raise ValueError(f"quantize={quantize!r}: choose one of {list(QUANTIZATIONS)}.")
        path = Path(path).expanduser()
        if path.suffix != ".tflite":
            raise ValueError(f"Export to a file ending in .tflite (e.g. my_classifier.tflite), got {path.name!r}.")
        options: dict = {}
        if quantize is not None:
            options["optimizations"] = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            options["target_spec"] = {"supported_types": [tf.float16]}
        if quantize == "int8":
            calibration = _representative(representative, self.image_size, representative_photos)
            options["representative_dataset"] = lambda: ([photo[None]] for photo in calibration)
            options["target_spec"] = {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}
        elif representative is not None:
            raise ValueError("representative photos are only used by int8 quantization (quantize='int8', "
                             "--quantize int8).")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.model.export(str(path), format="litert", verbose=False, **options)
        memory.release()  # the converter's working memory, back to the system before the next step
        return path

    def __str__(self) -> str:
        return str(self.report) if self.report else f"classifier for {self.class_names}"


QUANTIZATIONS = (None, "float16", "dynamic", "int8")
"""What :meth:`Classifier.export` can do to the numbers: keep float32, or store fewer bits."""


def _calibration_sample(labels: Sequence[int], limit: int, seed: int = config.SEED) -> np.ndarray:
    """Positions (sorted) of up to ``limit`` photos, drawn from each class in turn: a seeded sample.

    Each round takes one photo, at random, from every class that has one left, so the classes get
    equal numbers as far as each has photos, and every class is represented once ``limit`` reaches
    the number of classes (below that, a seeded choice of classes gets one photo each).
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == label)) for label in rng.permutation(np.unique(labels))]
    rounds = [rows[k] for k in range(max(map(len, per_class), default=0)) for rows in per_class if k < len(rows)]
    return np.sort(np.asarray(rounds[:limit], dtype=int))


def _representative(photos_given: own_images.ImageFolder | np.ndarray | None, size: int, limit: int) -> np.ndarray:
    """Up to ``limit`` photos ``(n, size, size, 3)`` float32 for int8 calibration.

    From a folder: a seeded sample of its training photos with every class represented, in
    equal numbers as far as each class has photos (:func:`_calibration_sample`).
    """
    from helpers.errors import check_positive_int

    check_positive_int("representative_photos", limit)
    if photos_given is None:
        raise ValueError("int8 measures the range of every activation on real photos: give the training photos "
                         "(representative=folder in Python, --representative FOLDER on the command line).")
    if isinstance(photos_given, own_images.ImageFolder):
        rows = photos_given.parts["train"]
        chosen = _calibration_sample([label for _, label in rows], limit)
        paths, labels = zip(*(rows[i] for i in chosen))
        photos_given = np.concatenate([images.numpy() for images, _ in photos.dataset(paths, labels, size)])
    array = np.asarray(photos_given, dtype=np.float32)[:limit]
    if array.ndim != 4 or array.shape[1:] != (size, size, 3) or len(array) == 0:
        raise ValueError(f"representative photos must be an array (n, {size}, {size}, 3); got {array.shape}.")
    return array


def _store_class_names(path: Path, class_names: Sequence[str]) -> None:
    """Add ``class_names`` to the ``metadata.json`` of the ``.keras`` archive at ``path`` (a copy, then a swap)."""
    partial = path.with_name(f"{path.name}.partial")
    names = {"class_names": [str(name) for name in class_names]}
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(partial, "w") as target:
            for member in source.infolist():
                copied = zipfile.ZipInfo(member.filename, member.date_time)
                copied.compress_type, copied.external_attr = member.compress_type, member.external_attr
                with source.open(member) as data:
                    if member.filename == _METADATA:
                        target.writestr(copied, json.dumps({**json.load(data), **names}))
                    else:
                        with target.open(copied, "w", force_zip64=True) as written:  # weights over 2 GiB too
                            shutil.copyfileobj(data, written)
            if _METADATA not in source.namelist():  # a Keras that stops writing it: the names still go in
                target.writestr(_METADATA, json.dumps(names))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _stored_class_names(path: Path) -> list[str] | None:
    """The class names :meth:`Classifier.save` put in the archive's metadata, or ``None``."""
    with zipfile.ZipFile(path) as archive:
        try:
            metadata = json.loads(archive.read(_METADATA))
        except (KeyError, ValueError):  # no metadata.json, or not JSON
            return None
    names = metadata.get("class_names") if isinstance(metadata, dict) else None
    return [str(name) for name in names] if isinstance(names, list) else None


def load_classifier(path: str | Path) -> Classifier:
    """Reload a classifier saved by :meth:`Classifier.save` (``safe_mode=True``: no arbitrary code).

    Raises:
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If it is not a ``.keras`` archive, or holds no class names (not saved by the
            recipe), or not one per output.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No saved classifier at {path.resolve()}; save one with classifier.save(path).")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ValueError(f"{path.name} is not a classifier saved by the recipe: give the .keras file written by "
                         "classifier.save(...) or `python -m helpers.recipe train`.")
    class_names = _stored_class_names(path)
    model = keras.models.load_model(path, safe_mode=True)
    if class_names is None:  # saved by an earlier version of the course: a ClassNames layer
        class_names = next((layer.class_names for layer in model.layers if isinstance(layer, ClassNames)), None)
    if class_names is None or len(class_names) != model.output_shape[-1]:
        raise ValueError(f"{path.name} is a Keras model without the recipe's class names (one per output): save "
                         "it with classifier.save(...) or `python -m helpers.recipe train`, or load it with "
                         "keras.models.load_model.")
    return Classifier(model, class_names)


def _run_over(
    function, folder: own_images.ImageFolder, part: str, *, progress: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``function`` to every batch of one part; with ``progress``, a bar counting the photos
    when the pass takes more than a few seconds (:mod:`helpers.progress`; it changes no result)."""
    outputs, labels = [], []
    with progress_report.bar(description=f"reading the {part} photos through the network",
                             total=len(folder.parts[part]), unit="photo", enabled=progress) as done:
        for images, batch_labels in folder.batches(part):
            outputs.append(np.asarray(function(images)))
            labels.append(batch_labels.numpy())
            done.update(len(labels[-1]))
    return np.concatenate(outputs), np.concatenate(labels)


def _fine_tune(base: keras.Model, first_trainable: str, top: keras.Model, head: keras.Model, maps: dict,
               epochs: int, learning_rate: float, patience: int) -> tuple[float, int]:
    """Train ``top`` (``base`` from ``first_trainable``, BatchNormalization frozen) and ``head`` on
    cached maps, keeping the best validation epoch; return its validation accuracy and epoch
    (from 1). Without ``maps["validation"]``, train exactly ``epochs`` epochs (a refit)."""
    models.unfreeze_top_layers(base, first_trainable)
    inputs = keras.Input(maps["train"][0].shape[1:])
    tuner = models.compile_classifier(keras.Model(inputs, head(top(inputs))), learning_rate)
    if "validation" not in maps:
        tuner.fit(*maps["train"], epochs=epochs, batch_size=32, verbose=0)
        base.trainable = False
        return float("nan"), epochs
    best = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience, restore_best_weights=True)
    history = tuner.fit(*maps["train"], validation_data=maps["validation"], epochs=epochs, batch_size=32,
                        callbacks=[best], verbose=0)
    base.trainable = False
    return float(tuner.evaluate(*maps["validation"], verbose=0)[1]), _best_epoch(history)


def _best_epoch(history: keras.callbacks.History) -> int:
    """The epoch (from 1) whose weights early stopping kept: the first with the best validation accuracy."""
    return int(np.argmax(history.history["val_accuracy"])) + 1


def _joined(*parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([x for x, _ in parts]), np.concatenate([y for _, y in parts])


def _choose(validation_accuracies: dict[str, float]) -> str:
    """The stage with the best validation accuracy; on a tie the simpler, feature extraction."""
    return max(validation_accuracies, key=lambda stage: (validation_accuracies[stage], stage == "feature extraction"))


def _classifier(base: keras.Model, head: keras.Model, backbone: str) -> keras.Model:
    """Photos in [0, 255] -> preprocessing -> base (inference mode) -> head -> probabilities."""
    inputs = keras.Input(base.input_shape[1:], name="photos")
    logits = head(base(models.preprocess_for(backbone)(inputs), training=False))
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    return keras.Model(inputs, probabilities, name="classifier")


def run_recipe(
    folder: own_images.ImageFolder,
    backbone: str = "mobilenet_v2",
    head_epochs: int = 20,
    fine_tune_epochs: int = 10,
    first_trainable: str = "block_16_expand",
    fine_tune_learning_rate: float = 1e-4,
    patience: int = 3,
    refit: bool = False,
    *,
    progress: bool = True,
) -> Classifier:
    """The course's recipe on ``folder``: a head on frozen features, then fine-tuning the top.

    1. Read every photo once through the backbone up to ``first_trainable`` and keep those
       outputs (chapter 05's cached fine-tuning: the frozen bottom never changes).
    2. Train a linear head on the pooled features, keeping its best validation epoch (chapter 04).
    3. Unless ``fine_tune_epochs`` is 0, train the top of the backbone (BatchNormalization
       frozen) with the head, stopping early on validation accuracy.
    4. Keep the stage with the better validation accuracy; score it once on the test photos.

    With ``refit=True``, step 4 first trains the kept configuration again from fresh weights
    (the head, and the top from ImageNet's weights if fine-tuning was kept) on the training
    *and* validation photos, for the epochs validation chose; the report says so.

    With ``progress``, the passes over the photos show a bar when they take more than a few
    seconds (:mod:`helpers.progress`); it changes no result.

    Returns:
        The :class:`Classifier`, with its :class:`RecipeReport` as ``.report``.
    """
    base = models.build_backbone(backbone, weights="imagenet", image_size=folder.image_size)
    base.trainable = False
    bottom, top = models.split_at(base, first_trainable)
    reader = features.embedding_function(bottom, models.preprocess_for(backbone))
    maps = {part: _run_over(reader, folder, part, progress=progress) for part in own_images.PARTS}
    pooled = {part: (features.run_in_batches(top, x, 64, progress=progress), y) for part, (x, y) in maps.items()}
    keras.utils.set_random_seed(config.SEED)
    head, history = models.train_head(pooled["train"], pooled["validation"], len(folder.class_names), head_epochs)
    epochs = {"head": _best_epoch(history)}
    accuracies = {"feature extraction": float(head.evaluate(*pooled["validation"], verbose=0)[1])}
    imagenet_top = top.get_weights()
    if fine_tune_epochs:
        before = head.get_weights()
        accuracies["fine-tuned"], epochs["fine-tuning"] = _fine_tune(
            base, first_trainable, top, head, maps, fine_tune_epochs, fine_tune_learning_rate, patience)
        if _choose(accuracies) == "feature extraction":
            top.set_weights(imagenet_top)
            head.set_weights(before)
    chosen = _choose(accuracies)
    trained_on = "train"
    if refit:  # the same configuration, fresh weights, all labelled photos
        keras.utils.set_random_seed(config.SEED)
        top.set_weights(imagenet_top)
        head, _ = models.train_head(_joined(pooled["train"], pooled["validation"]), None, len(folder.class_names),
                                    epochs["head"])
        if chosen == "fine-tuned":
            _fine_tune(base, first_trainable, top, head, {"train": _joined(maps["train"], maps["validation"])},
                       epochs["fine-tuning"], fine_tune_learning_rate, patience)
        trained_on = "train + validation"
    labels = maps["test"][1]
    predicted = features.run_in_batches(lambda x: head(top(x)), maps["test"][0], progress=progress).argmax(1)
    report = RecipeReport(
        backbone, {part: len(y) for part, (_, y) in maps.items()}, accuracies, chosen,
        evaluation.class_metrics(labels, predicted, folder.class_names),
        evaluation.confusion(labels, predicted, len(folder.class_names)), [w for w in [folder.imbalance()] if w],
        trained_on=trained_on, epochs=epochs)
    return Classifier(_classifier(base, head, backbone), folder.class_names, report)


def _epochs(text: str) -> int:
    """An argparse type: a whole number of epochs, 0 or more."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of epochs") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} epochs: give 0 (feature extraction only) or more")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """The recipe from a terminal: ``train``, ``predict`` and ``export`` (``--help`` for each).

    Returns the exit status: 0, or 2 after printing what went wrong and what to do.
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m helpers.recipe",
        description="Train an image classifier on your own photos (one subfolder per class), use it, export it.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{train,predict,export}")
    train = commands.add_parser("train", help="train on a folder of photos and save the classifier",
                                description="Feature extraction, then fine-tuning the top block; choices on the "
                                            "validation photos, a report on the test photos.")
    train.add_argument("folder", help="a folder with one subfolder of photos per class")
    train.add_argument("--out", default="my_classifier.keras", help="where to save (default: %(default)s)")
    train.add_argument("--backbone", default="mobilenet_v2", help="pretrained network (default: %(default)s)")
    train.add_argument("--fine-tune-epochs", type=_epochs, default=10, help="0: feature extraction only")
    train.add_argument("--refit", action="store_true",
                       help="after the choices, train the kept configuration again on training + validation photos")
    predict = commands.add_parser("predict", help="predict the class of photos with a saved classifier")
    predict.add_argument("model", help="a .keras file saved by train")
    predict.add_argument("photos", nargs="*", help="photos, or folders of photos")  # checked below, after the model
    export = commands.add_parser("export", help="export a saved classifier for a phone or an app (.tflite)")
    export.add_argument("model", help="a .keras file saved by train")
    export.add_argument("--format", default="litert", choices=["litert"], help="(default: %(default)s)")
    export.add_argument("--quantize", choices=[q for q in QUANTIZATIONS if q], help="store fewer bits (default: float32)")
    export.add_argument("--representative", help="for --quantize int8: the folder of training photos")
    export.add_argument("--out", help="where to write (default: the model's name, -QUANTIZE if any, .tflite)")
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            out = Path(args.out).expanduser()
            if out.suffix != ".keras" or not out.parent.is_dir():
                raise ValueError(f"--out must be a .keras file in an existing folder (e.g. my_classifier.keras), "
                                 f"got {args.out!r}; checked now, before the training.")
            folder = own_images.load_image_folder(args.folder)
            print(folder.summary())
            classifier = run_recipe(folder, backbone=args.backbone, fine_tune_epochs=args.fine_tune_epochs,
                                    refit=args.refit)
            print(f"{classifier.report}\nsaved {classifier.save(out)}")
        elif args.command == "predict":
            if Path(args.model).suffix != ".keras":
                raise ValueError(f"predict's first argument must be a classifier saved by train (a .keras file), got "
                                 f"{args.model!r}; the photos come after it: predict my_classifier.keras PHOTOS...")
            if not args.photos:
                raise ValueError("give at least one photo or folder after the classifier: "
                                 "predict my_classifier.keras PHOTOS...")
            classifier = load_classifier(args.model)
            print(classifier.predict(args.photos[0] if len(args.photos) == 1 else args.photos))
        else:
            classifier = load_classifier(args.model)
            representative = own_images.load_image_folder(args.representative) if args.representative else None
            tag = f"-{args.quantize}" if args.quantize else ""
            out = args.out or Path(args.model).expanduser().with_name(f"{Path(args.model).stem}{tag}.tflite")
            path = classifier.export(out, args.format, args.quantize, representative)
            print(f"exported {path} ({path.stat().st_size / 2**20:.1f} MiB); class names in order: "
                  f"{', '.join(classifier.class_names)}")
    except (CourseError, OSError, ValueError) as error:  # OSError: missing files, folders one cannot write to
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
