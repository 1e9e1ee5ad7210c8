"""Segmentation: Kvasir-SEG polyp images and masks, per-image Dice and IoU, the U-Net loss.

Kvasir-SEG (Jha et al., "Kvasir-SEG: A Segmented Polyp Dataset", MMM 2020,
doi:10.1007/978-3-030-37734-2_37) holds 1,000 colonoscopy images with a mask drawn by
experts around each polyp. Its terms: research and educational use; cite the paper.
:func:`load_kvasir` fetches the official archive through ``keras.utils.get_file`` (Keras'
download cache, ``KERAS_HOME``), reads the authors' official split (880 training and 120
test ids, carried in ``helpers/kvasir_seg_split/`` because the archive does not hold it),
resizes every image and mask once and caches the arrays.

A segmentation is scored image by image: Dice ``2|A∩B| / (|A|+|B|)`` and IoU
``|A∩B| / |A∪B|`` of the predicted and the true polyp pixels, averaged over images.
:func:`helpers.significance.compare_scores` compares two networks' scores on the same images.
"""

from __future__ import annotations

import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

from helpers import config
from helpers.errors import OFFLINE_HINT, ResourceNotAvailableError

KVASIR_URL = "https://datasets.simula.no/downloads/kvasir-seg.zip"
"""The official download (about 46 MB); ``keras.utils.get_file`` caches it under ``KERAS_HOME``."""

SPLIT_DIR = Path(__file__).resolve().parent / "kvasir_seg_split"
"""The authors' official split: ``train.txt`` (880 ids) and ``val.txt`` (120 ids)."""

_ENCODERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""encoder -> (preprocess, traced function); an entry goes when its encoder is deleted."""

MASK_THRESHOLD = 127
"""Masks are stored as JPEG, whose compression blurs the edge: a pixel above this is polyp."""


@dataclass(frozen=True)
class SegmentationSet:
    """Images with one binary mask each, resized to a square.

    Attributes:
        images: ``(n, size, size, 3)`` uint8 RGB.
        masks: ``(n, size, size)`` bool, True on the polyp.
        ids: The Kvasir-SEG id of each image (its file name without ``.jpg``).
    """

    images: np.ndarray
    masks: np.ndarray
    ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, indices: np.ndarray) -> SegmentationSet:
        """The images at ``indices``, in that order."""
        indices = np.asarray(indices)
        return SegmentationSet(self.images[indices], self.masks[indices], tuple(self.ids[i] for i in indices))


def official_split(directory: Path = SPLIT_DIR) -> dict[str, list[str]]:
    """Return ``{"train": [...880 ids], "test": [...120 ids]}``: the published split.

    The authors call the 120 images "val"; the course scores them once, at the end, and never
    chooses anything on them, so it calls them the test images.
    """
    split = {}
    for name, file_name in (("train", "train.txt"), ("test", "val.txt")):
        lines = (directory / file_name).read_text().splitlines()
        split[name] = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return split


def kvasir_folder() -> Path:
    """Return the extracted ``Kvasir-SEG`` folder, downloading the archive on first use.

    Raises:
        ResourceNotAvailableError: The archive is not in Keras' cache and cannot be downloaded.
    """
    try:
        extracted = Path(keras.utils.get_file("kvasir-seg.zip", KVASIR_URL, extract=True))
    except Exception as error:  # Keras raises a bare Exception on a failed download
        if "URL fetch failure" not in str(error):
            raise
        raise ResourceNotAvailableError(
            f"Kvasir-SEG (kvasir-seg.zip) is not in KERAS_HOME={config.keras_home()}/datasets and could not "
            f"be downloaded. {OFFLINE_HINT}"
        ) from None
    folder = extracted / "Kvasir-SEG" if (extracted / "Kvasir-SEG").is_dir() else extracted
    if not (folder / "images").is_dir():
        raise ResourceNotAvailableError(
            f"{extracted} holds no Kvasir-SEG/images folder: the archive is incomplete. Delete it and "
            f"kvasir-seg.zip from {config.keras_home()}/datasets, then run again to download it afresh."
        )
    return folder


def _read(path: Path, mode: str, size: int) -> np.ndarray:
    with Image.open(path) as image:
        image.draft(mode, (size, size))  # JPEG: decode at a reduced scale, much faster
        return np.asarray(image.convert(mode).resize((size, size), Image.Resampling.BILINEAR))


def read_pairs(folder: Path, ids: list[str], size: int) -> SegmentationSet:
    """Read ``images/<id>.jpg`` and ``masks/<id>.jpg`` of each id, squeezed to ``size`` x ``size``.

    Raises:
        FileNotFoundError: An id has no image or no mask in ``folder`` (the message lists them).
    """
    missing = [i for i in ids if not (folder / "images" / f"{i}.jpg").exists()
               or not (folder / "masks" / f"{i}.jpg").exists()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} id(s) of the official split have no image or mask in {folder} (first: {missing[:3]}); "
            "the archive is not the official Kvasir-SEG: delete it and download it again."
        )
    images = np.stack([_read(folder / "images" / f"{i}.jpg", "RGB", size) for i in ids])
    masks = np.stack([_read(folder / "masks" / f"{i}.jpg", "L", size) > MASK_THRESHOLD for i in ids])
    return SegmentationSet(images, masks, tuple(ids))


def load_kvasir(image_size: int = 128) -> dict[str, SegmentationSet]:
    """Kvasir-SEG's official split as ``{"train": 880 images, "test": 120 images}``.

    Read once from the archive and cached in ``cache/kvasir-seg_<size>.npz``.

    Raises:
        ResourceNotAvailableError: The archive cannot be had (see the message).
        ValueError: ``image_size`` is not a multiple of 32 (the U-Net halves it five times).
    """
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 32 or image_size % 32:
        raise ValueError(f"image_size must be a multiple of 32 (the encoder halves it five times), got {image_size!r}.")
    split = official_split()
    path = config.cache_dir() / f"kvasir-seg_{image_size}.npz"
    if not path.exists():
        folder = kvasir_folder()
        both = read_pairs(folder, split["train"] + split["test"], image_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, images=both.images, masks=both.masks, ids=np.array(both.ids))
    with np.load(path) as stored:
        both = SegmentationSet(stored["images"], stored["masks"], tuple(str(i) for i in stored["ids"]))
    if list(both.ids) != split["train"] + split["test"]:
        raise ValueError(f"{path} does not hold the official split: delete it and run again.")
    count = len(split["train"])
    return {"train": both.subset(np.arange(count)), "test": both.subset(np.arange(count, len(both)))}


def _flat(masks: np.ndarray) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3:
        raise ValueError(f"Expected masks of shape (images, height, width), got {masks.shape}.")
    if masks.dtype != bool and not np.isin(masks, (0, 1)).all():
        raise ValueError("Masks must be True/False (or 0/1), not probabilities or logits: threshold them first, "
                         "e.g. logits > 0 or probabilities > 0.5.")
    return masks.reshape(len(masks), -1).astype(bool)


def _overlap(true_masks: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    truth, guess = _flat(true_masks), _flat(predicted)
    if truth.shape != guess.shape:
        raise ValueError(f"{guess.shape[0]} predicted masks of {guess.shape[1]} pixels for {truth.shape[0]} true "
                         f"masks of {truth.shape[1]}: predict the same images at the same size.")
    return (truth & guess).sum(1), truth.sum(1), guess.sum(1)


def dice_scores(true_masks: np.ndarray, predicted_masks: np.ndarray) -> np.ndarray:
    """Dice ``2|A∩B| / (|A|+|B|)`` of each image (1.0 where both masks are empty)."""
    both, truth, guess = _overlap(true_masks, predicted_masks)
    total = truth + guess
    return np.where(total > 0, 2 * both / np.maximum(total, 1), 1.0)


def iou_scores(true_masks: np.ndarray, predicted_masks: np.ndarray) -> np.ndarray:
    """Intersection over union ``|A∩B| / |A∪B|`` of each image (1.0 where both masks are empty)."""
    both, truth, guess = _overlap(true_masks, predicted_masks)
    union = truth + guess - both
    return np.where(union > 0, both / np.maximum(union, 1), 1.0)


def pixel_accuracy(true_masks: np.ndarray, predicted_masks: np.ndarray) -> np.ndarray:
    """Share of each image's pixels labelled correctly (polyp or not)."""
    truth, guess = _flat(true_masks), _flat(predicted_masks)
    return (truth == guess).mean(1)


def dice_cross_entropy(y_true: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """The loss of the chapter: binary cross-entropy on the logits plus soft Dice on their sigmoid.

    Cross-entropy gives every pixel a gradient; Dice (``keras.losses.Dice``, 1 - soft Dice over
    the batch) does not let the many background pixels drown the polyp.
    """
    y_true = keras.ops.cast(y_true, logits.dtype)
    cross_entropy = keras.ops.mean(keras.losses.binary_crossentropy(y_true, logits, from_logits=True))
    return cross_entropy + keras.losses.Dice()(y_true, keras.ops.sigmoid(logits))


def batches(
    inputs: list[np.ndarray], masks: np.ndarray, batch_size: int = 16, seed: int | None = config.SEED
) -> tf.data.Dataset:
    """``(inputs, mask)`` batches taken from in-memory arrays, reshuffled every epoch when ``seed`` is set.

    Each batch is gathered and cast to float32 on its own, so float16 caches and uint8 images are
    never copied whole (``model.fit`` on arrays would). The dataset knows its length. A shuffled
    epoch drops the last, incomplete batch: a batch of another size would make TensorFlow trace
    the training step again (tens of seconds for a whole MobileNetV2); the order changes every
    epoch, so every example is still used.

    Args:
        inputs: One array per model input, all with the same first dimension.
        masks: ``(n, height, width)`` booleans.
        batch_size: Examples per batch.
        seed: Shuffle with this seed; ``None`` keeps the order (for predicting).
    """
    count = len(masks)
    if not count or any(len(array) != count for array in inputs):
        raise ValueError(f"Every input needs one entry per mask ({count}); got {[len(a) for a in inputs]}.")
    shapes = [array.shape[1:] for array in inputs]

    def gather(indices: np.ndarray) -> list[np.ndarray]:
        return [array[indices].astype(np.float32) for array in inputs] + [masks[indices, ..., None].astype(np.float32)]

    def load(indices: tf.Tensor) -> tuple[tuple[tf.Tensor, ...], tf.Tensor]:
        tensors = tf.numpy_function(gather, [indices], [tf.float32] * (len(inputs) + 1))
        for tensor, shape in zip(tensors, [*shapes, (*masks.shape[1:], 1)]):
            tensor.set_shape((None, *shape))
        features = tensors[0] if len(inputs) == 1 else tuple(tensors[:-1])  # one input: the tensor itself
        return features, tensors[-1]

    order = tf.data.Dataset.range(count)
    if seed is not None:  # training: a new order every epoch, and only full batches (one traced step)
        order = order.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    return order.batch(batch_size, drop_remainder=seed is not None and count >= batch_size).map(load).prefetch(2)


def encode(encoder: keras.Model, preprocess, images: np.ndarray, batch_size: int = 32) -> list[np.ndarray]:
    """Run a frozen multi-output ``encoder`` over ``images`` once; return each output as a float16 array.

    Batch by batch inside one ``tf.function`` (traced once per encoder), so only one batch of
    float32 maps exists at a time, written into preallocated arrays; float16 halves what the cache
    keeps (the decoder computes in float32 again).
    """
    if encoder not in _ENCODERS or _ENCODERS[encoder][0] is not preprocess:
        reference = weakref.ref(encoder)  # the cache must not keep a deleted encoder alive
        _ENCODERS[encoder] = (preprocess, tf.function(lambda batch: reference()(preprocess(batch), training=False)))
    run = _ENCODERS[encoder][1]
    maps: list[np.ndarray] = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        padding = batch_size - len(batch)  # a full last batch: one tracing for every size of input
        batch = np.concatenate([batch, np.zeros((padding, *batch.shape[1:]), batch.dtype)])
        outputs = run(tf.constant(batch, tf.float32))
        if not maps:  # the arrays are filled in place: no second copy while concatenating
            maps = [np.empty((len(images), *output.shape[1:]), np.float16) for output in outputs]
        for array, output in zip(maps, outputs):
            array[start:start + batch_size] = np.asarray(output)[:batch_size - padding]
    return maps


def predict_logits(model: keras.Model, inputs: list[np.ndarray], batch_size: int = 16) -> np.ndarray:
    """The model's logits for every example, ``(n, height, width)`` float32, in order.

    Batch by batch with ``model.predict_on_batch`` (its prediction step is traced once per model and
    freed with it); the last batch is padded to full size, so no second tracing is needed.
    """
    count, outputs = len(inputs[0]), []
    for start in range(0, count, batch_size):
        batch = [array[start:start + batch_size].astype(np.float32) for array in inputs]
        padding = batch_size - len(batch[0])
        batch = [np.concatenate([b, np.zeros((padding, *b.shape[1:]), np.float32)]) for b in batch]
        batch = batch[0] if len(batch) == 1 else batch  # a one-input model takes the array itself
        outputs.append(np.asarray(model.predict_on_batch(batch))[:batch_size - padding, ..., 0])
    return np.concatenate(outputs)


def restart_optimizer(model: keras.Model, learning_rate: float) -> None:
    """Start the compiled model's optimizer afresh (zero moments, step 0) at ``learning_rate``.

    The same as compiling with a new optimizer, without tracing the training step again (tens of
    seconds for a whole MobileNetV2 on a CPU).
    """
    for variable in model.optimizer.variables:
        variable.assign(np.zeros(variable.shape, variable.dtype))
    model.optimizer.learning_rate.assign(learning_rate)


class ValidationDice(keras.callbacks.Callback):
    """Record the mean Dice on validation images after every epoch (logit threshold 0)."""

    def __init__(self, inputs: list[np.ndarray], masks: np.ndarray) -> None:
        super().__init__()
        self.inputs, self.masks = inputs, masks
        self.scores: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:  # noqa: ARG002
        predicted = predict_logits(self.model, self.inputs) > 0
        self.scores.append(float(dice_scores(self.masks, predicted).mean()))

    def on_train_end(self, logs: dict | None = None) -> None:  # noqa: ARG002
        self.set_model(None)  # keep the scores, not the network: `del model` then frees its memory


def size_share(masks: np.ndarray) -> np.ndarray:
    """Share of each image covered by its mask (the polyp's size)."""
    return _flat(masks).mean(1)


def archive_ids(archive: Path) -> set[str]:
    """Ids of the images inside a Kvasir-SEG zip (to check a split against the archive)."""
    with zipfile.ZipFile(archive) as opened:
        return {Path(name).stem for name in opened.namelist() if "/images/" in name and name.endswith(".jpg")}
