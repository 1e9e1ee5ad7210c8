"""A pretrained speaker encoder as a Keras model, read from Resemblyzer's PyTorch file without PyTorch.

Chapter 12's speech embedding was trained to tell words apart whoever says them. A speaker
encoder was trained for the opposite question: who is speaking, whatever the words. The
``resemblyzer`` wheel (Apache-2.0, installed with ``--no-deps``) carries one in
``resemblyzer/pretrained.pt``: the speaker encoder of *Generalized End-to-End Loss for Speaker
Verification* (GE2E; Wan et al., 2018) as implemented by Corentin Jemine, a 3-layer LSTM (40 mel
bands in, 256 units) whose last hidden state goes through a 256 -> 256 linear layer, a ReLU and
L2 normalisation.

The file is PyTorch's legacy (non-zip) serialisation: a pickle whose tensors point to raw
storages written after it. :func:`read_torch_legacy` reads it with :mod:`pickle` and NumPy,
accepting only the few names such a state dict contains in any of its pickles (a pickle may
otherwise run code), and checking that every tensor fits in its storage.
:func:`speaker_encoder` copies the weights into Keras ``LSTM`` and ``Dense`` layers: PyTorch
and Keras order an LSTM's four gates the same way (input, forget, cell, output), PyTorch
stores ``(4 * units, inputs)`` matrices where Keras stores their transpose, and PyTorch has
two biases per layer where Keras has their sum. ``tests/test_speaker_encoder.py`` checks the
rebuild against a NumPy LSTM written from PyTorch's equations, and the front end against
librosa.

The audio path is Resemblyzer's (``resemblyzer/audio.py``, ``voice_encoder.py``), step by
step: samples in [-1, 1] at 16 kHz, quiet recordings raised to -30 dBFS (loud ones left
alone), a 400-sample STFT (25 ms, Hann window, centred with zero padding) every 160 samples
(10 ms), the power spectrum through 40 mel filters (Slaney's scale and area normalisation,
librosa's defaults): not a logarithm. An utterance is cut into partial windows of 160 frames
(1.6 s; shorter ones are padded with silence), each window is encoded, and the utterance's
embedding is the normalised mean. Two steps differ: Resemblyzer trims long silences with
WebRTC's voice activity detector (a C extension the course does not install; the spoken
digits are single short words) and resamples with librosa (here SciPy's polyphase filter, as
in :mod:`helpers.speech`).
"""

from __future__ import annotations

import collections
import functools
import importlib.util
import os
import pathlib
import pickle
import struct
from collections.abc import Iterable
from typing import Any

import numpy as np

from helpers import progress as progress_report
from helpers.errors import CourseError

SAMPLE_RATE = 16_000
"""Sample rate the encoder expects (Hz)."""
WINDOW_SAMPLES = 400  # 25 ms
HOP_SAMPLES = 160  # 10 ms
MEL_BANDS = 40
PARTIAL_FRAMES = 160  # frames per partial window: 1.6 s
PARTIALS_PER_SECOND = 1.3  # Resemblyzer's default rate of partial windows
MIN_COVERAGE = 0.75  # a last partial window is kept only if the utterance fills this much of it
TARGET_DBFS = -30.0
UNITS = 256
EMBEDDING_SIZE = 256
LAYERS = 3

INSTALL_HINT = (
    "Run `make setup`, or `pip install --no-deps -r requirements-nodeps.txt` in the course's "
    "environment (the resemblyzer wheel carries pretrained.pt; nothing is downloaded)."
)

_STORAGE_TYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
                  "LongStorage": np.int64, "IntStorage": np.int32}
_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of PyTorch's legacy format


def weights_path() -> pathlib.Path:
    """The path of ``pretrained.pt`` in the ``resemblyzer`` wheel, found without importing it.

    (Importing ``resemblyzer`` would import PyTorch, which the course does not install.)

    Raises:
        CourseError: If resemblyzer is not installed or lacks the file.
    """
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise CourseError(f"The resemblyzer package is not installed. {INSTALL_HINT}")
    path = pathlib.Path(spec.submodule_search_locations[0]) / "pretrained.pt"
    if not path.is_file():
        raise CourseError(f"{path} is missing (resemblyzer should be version 0.1.4). {INSTALL_HINT}")
    return path


def read_torch_legacy(path: str | pathlib.Path) -> dict[str, Any]:
    """Read a file written by ``torch.save`` in the legacy (non-zip) format, without PyTorch.

    The format is five pickles and raw bytes: a magic number, a protocol version, system
    information, the object itself (whose tensors name storages by key), the list of storage
    keys, then each storage as an 8-byte element count followed by its little-endian data.

    Returns:
        The saved object with every tensor as a NumPy array (dicts stay dicts).

    Raises:
        ValueError: If the file is not in that format, is big-endian, names anything but
            tensors, storages and ordered dicts, describes one storage in two ways, or is
            truncated or damaged (a storage longer than what is left of the file is refused
            before it is read).
    """
    try:
        return _read_torch_legacy(path)
    except (pickle.UnpicklingError, EOFError, TypeError, IndexError, KeyError, AttributeError, struct.error,
            OverflowError) as error:  # what a truncated or damaged pickle raises
        raise ValueError(f"{path} is not a readable legacy PyTorch file (truncated or damaged?): "
                         f"{type(error).__name__}: {error}") from error


def _read_torch_legacy(path: str | pathlib.Path) -> dict[str, Any]:
    """:func:`read_torch_legacy` without the translation of unpickling errors into ``ValueError``."""
    storages: dict[str, list[Any]] = {}

    class _Plain(pickle.Unpickler):
        """Numbers, strings, lists and dicts only: any class or function is refused."""

        def find_class(self, module: str, name: str) -> Any:
            raise ValueError(f"{path} names {module}.{name}: not a plain state dict; refusing to load it.")

        def persistent_load(self, pid: Any) -> Any:
            raise ValueError(f"{path} refers to outside data where none is expected; refusing to load it.")

    class _StateDict(_Plain):
        """Also tensors, their storages and ordered dicts: what a state dict is made of."""

        def find_class(self, module: str, name: str) -> Any:
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda storage, offset, size, stride, *_: ("tensor", storage, offset, tuple(size), tuple(stride))
            if module == "torch" and name in _STORAGE_TYPES:
                return name
            return super().find_class(module, name)

        def persistent_load(self, pid: Any) -> str:
            kind, storage_type, key, _location, count, *view = pid
            if kind != "storage" or storage_type not in _STORAGE_TYPES or any(v is not None for v in view):
                raise ValueError(f"{path}: an unsupported storage reference {pid!r}; refusing to load it.")
            known = storages.setdefault(key, [storage_type, int(count), None])
            if known[:2] != [storage_type, int(count)]:
                raise ValueError(f"{path}: storage {key!r} is described twice, as {known[1]} numbers of {known[0]} "
                                 f"and as {int(count)} of {storage_type}; refusing a damaged or forged file.")
            return key

    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        try:
            magic, _protocol, system = (_Plain(file).load() for _ in range(3))
        except ValueError:
            raise
        except Exception as error:  # noqa: BLE001 - any other unpickling failure means "not this format"
            raise ValueError(f"{path} is not a legacy PyTorch file: {error}") from error
        if magic != _MAGIC:
            raise ValueError(f"{path} is not a legacy PyTorch file (it may be the newer zip format).")
        if not isinstance(system, dict) or not system.get("little_endian", False):
            raise ValueError(f"{path} was written on a big-endian machine; this reader supports little-endian only.")
        saved = _StateDict(file).load()
        for key in _Plain(file).load():
            if key not in storages:
                raise ValueError(f"{path}: storage {key!r} is listed but no tensor uses it.")
            storage_type, count, data = storages[key]
            if data is not None:
                raise ValueError(f"{path}: storage {key!r} is listed twice (a damaged file).")
            dtype = np.dtype(_STORAGE_TYPES[storage_type]).newbyteorder("<")
            header = file.read(8)
            if len(header) < 8:
                raise ValueError(f"{path}: the file ends before storage {key!r} (a truncated file).")
            stored = int.from_bytes(header, "little", signed=True)
            left = size - file.tell()
            if stored != count or not 0 <= count * dtype.itemsize <= left:
                raise ValueError(f"{path}: storage {key!r} says it holds {stored} numbers, its tensors expect {count}, "
                                 f"and {left // dtype.itemsize} are left in the file (a truncated or damaged file).")
            storages[key][2] = np.frombuffer(file.read(count * dtype.itemsize), dtype)

    def rebuilt(value: Any) -> Any:
        if isinstance(value, tuple) and value and value[0] == "tensor":
            _, key, offset, size, stride = value
            data = storages[key][2]
            if data is None:
                raise ValueError(f"{path}: storage {key!r} was never written.")
            last = offset + sum((n - 1) * step for n, step in zip(size, stride)) if all(size) else offset - 1
            if offset < 0 or any(step < 0 for step in stride) or len(size) != len(stride) or last >= len(data):
                raise ValueError(f"{path}: a tensor of shape {size} at offset {offset} with strides {stride} does "
                                 f"not fit in its storage of {len(data)} numbers.")
            strides = [step * data.itemsize for step in stride]
            return np.lib.stride_tricks.as_strided(data[offset:], size, strides).astype(data.dtype.newbyteorder("="))
        if isinstance(value, dict):
            return {k: rebuilt(v) for k, v in value.items()}
        return value

    return rebuilt(saved)


@functools.lru_cache(maxsize=1)
def pretrained_state() -> dict[str, Any]:
    """The wheel's checkpoint: ``{"model_state": {name: array}, "step": training steps}``."""
    checkpoint = read_torch_legacy(weights_path())
    return {"model_state": checkpoint["model_state"], "step": int(checkpoint["step"])}


def speaker_encoder() -> Any:
    """The GE2E speaker encoder as a Keras model with Resemblyzer's pretrained weights.

    Input ``(batch, frames, 40)`` mel power frames (:func:`mel_frames`); output
    ``(batch, 256)`` L2-normalised embeddings of each sequence (the last hidden state of the
    third LSTM, then ``Dense(256, relu)``). Frozen: it is used as a feature extractor.
    """
    import keras

    state = pretrained_state()["model_state"]
    inputs = keras.Input((None, MEL_BANDS), name="mel_frames")
    x = inputs
    for layer in range(LAYERS):
        lstm = keras.layers.LSTM(UNITS, return_sequences=layer < LAYERS - 1, name=f"lstm_{layer}")
        x = lstm(x)
        lstm.set_weights([state[f"lstm.weight_ih_l{layer}"].T, state[f"lstm.weight_hh_l{layer}"].T,
                          state[f"lstm.bias_ih_l{layer}"] + state[f"lstm.bias_hh_l{layer}"]])
    dense = keras.layers.Dense(EMBEDDING_SIZE, activation="relu", name="linear")
    x = dense(x)
    dense.set_weights([state["linear.weight"].T, state["linear.bias"]])
    outputs = keras.layers.UnitNormalization(name="l2_normalise")(x)
    model = keras.Model(inputs, outputs, name="ge2e_speaker_encoder")
    model.trainable = False
    return model


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale (librosa's default): linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(hz, 1000.0) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@functools.lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """``(40, 201)`` triangular mel filters over the 400-point FFT's bins, as ``librosa.filters.mel``.

    Centres evenly spaced on Slaney's mel scale from 0 Hz to 8 kHz, each triangle scaled to
    unit area (``norm="slaney"``).
    """
    bins = np.fft.rfftfreq(WINDOW_SAMPLES, 1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), MEL_BANDS + 2))
    ramps = edges[:, None] - bins[None, :]
    widths = np.diff(edges)
    rising, falling = -ramps[:-2] / widths[:-1, None], ramps[2:] / widths[1:, None]
    filters = np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return filters.astype(np.float32)


def normalise_volume(wav: np.ndarray) -> np.ndarray:
    """Raise a quiet recording to -30 dBFS (root mean square); leave a louder one as it is."""
    wav = np.asarray(wav, dtype=np.float64)
    rms = np.sqrt(np.mean((wav * 32767) ** 2))
    if rms == 0:
        return wav
    change = TARGET_DBFS - 20 * np.log10(rms / 32767)
    return wav * 10 ** (change / 20) if change > 0 else wav


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """``(1 + len(wav) // 160, 40)`` float32 mel power frames of 16 kHz samples in [-1, 1].

    As ``librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400, hop_length=160, n_mels=40)``
    (transposed): centred frames (200 zeros added at each end), a periodic Hann window,
    power spectrum, mel filters.
    """
    wav = np.asarray(wav, dtype=np.float64)
    if wav.ndim != 1 or wav.size == 0:
        raise ValueError(f"Give one recording as a non-empty 1-D array; got shape {wav.shape}.")
    padded = np.pad(wav, WINDOW_SAMPLES // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, WINDOW_SAMPLES)[::HOP_SAMPLES]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW_SAMPLES) / WINDOW_SAMPLES)  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power @ mel_filters().T.astype(np.float64)).astype(np.float32)


def partial_windows(samples: int) -> list[slice]:
    """The frame ranges of the partial windows of an utterance of ``samples`` samples.

    Resemblyzer's rule: windows of 160 frames, a new one every ``round(16000 / 1.3 / 160)`` = 77
    frames, enough to cover the utterance; the last is dropped if the utterance fills less than
    three quarters of it, unless it is the only one. Windows may reach past the end: the
    recording is padded with silence up to the last window's end.
    """
    if samples < 1:
        raise ValueError(f"An utterance needs at least one sample, got {samples}.")
    frames = int(np.ceil((samples + 1) / HOP_SAMPLES))
    step = int(np.round(SAMPLE_RATE / PARTIALS_PER_SECOND / HOP_SAMPLES))
    windows = [slice(start, start + PARTIAL_FRAMES)
               for start in range(0, max(1, frames - PARTIAL_FRAMES + step + 1), step)]
    coverage = (samples - windows[-1].start * HOP_SAMPLES) / (PARTIAL_FRAMES * HOP_SAMPLES)
    if coverage < MIN_COVERAGE and len(windows) > 1:
        windows = windows[:-1]
    return windows


def utterance_windows(wav: np.ndarray) -> np.ndarray:
    """``(windows, 160, 40)`` mel frames of each partial window of one utterance (16 kHz, [-1, 1])."""
    wav = normalise_volume(wav)
    windows = partial_windows(len(wav))
    length = windows[-1].stop * HOP_SAMPLES
    if length >= len(wav):
        wav = np.pad(wav, (0, length - len(wav)))
    mel = mel_frames(wav)
    return np.stack([mel[window] for window in windows])


def embed_utterances(
    encoder: Any,
    wavs: Iterable[np.ndarray],
    batch_size: int = 128,
    *,
    progress: bool = True,
    total: int | None = None,
    description: str = "speaker embeddings",
) -> np.ndarray:
    """``(n, 256)`` speaker embeddings of ``n`` recordings: the normalised mean of each one's windows.

    Streams: recordings are turned into windows one at a time and encoded ``batch_size``
    windows at a time (the last batch padded), so memory does not grow with ``n``. The
    encoder runs compiled with XLA, one shape for every batch.

    Args:
        encoder: :func:`speaker_encoder`'s model.
        wavs: 16 kHz recordings with samples in [-1, 1] (a list, or a generator).
        batch_size: Windows per forward pass.
        progress: Show a bar counting the recordings when the work takes more than a few
            seconds (:mod:`helpers.progress`); it changes no result.
        total: How many recordings ``wavs`` holds, for the bar's percentage when it is a
            generator (a list gives its length).
        description: What the bar calls the work.

    Raises:
        ValueError: If there is no recording.
    """
    import tensorflow as tf

    @tf.function(jit_compile=True, reduce_retracing=True)
    def encode(windows: Any) -> Any:
        return encoder(windows, training=False)

    sums: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    owners: list[int] = []

    def flush(count: int) -> None:
        batch = np.zeros((batch_size, PARTIAL_FRAMES, MEL_BANDS), np.float32)
        batch[:count] = pending[:count]
        for owner, vector in zip(owners[:count], np.asarray(encode(batch))[:count]):
            sums[owner] += vector
        del pending[:count], owners[:count]

    with progress_report.bar(wavs, description=description, total=total, unit="recording",
                             enabled=progress) as recordings:
        for index, wav in enumerate(recordings):  # counted once its windows are cut (encoded by the batch)
            sums.append(np.zeros(EMBEDDING_SIZE, np.float64))
            windows = utterance_windows(wav)
            pending.extend(windows)
            owners.extend([index] * len(windows))
            while len(pending) >= batch_size:
                flush(batch_size)
        if not sums:
            raise ValueError("Give at least one recording.")
        if pending:
            flush(len(pending))
    summed = np.stack(sums)
    return (summed / np.linalg.norm(summed, axis=1, keepdims=True)).astype(np.float32)
