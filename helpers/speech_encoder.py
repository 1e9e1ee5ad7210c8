"""Google's pretrained speech embedding as a Keras model, rebuilt from its ONNX files.

Transfer learning is not only for images. Google's ``speech_embedding`` model (TF Hub,
Apache-2.0) was trained on keyword spotting: it maps 0.775 s of speech to 96 numbers.
The ``openwakeword`` wheel (installed with ``--no-deps``) carries it as two small ONNX files:
openWakeWord's own log-mel front end (a fixed mel spectrogram scaled to what Google's network
expects) and Google's network with Google's weights, re-implemented by openWakeWord. Here
each ONNX node becomes a standard Keras layer (``Conv1D``, ``Dense``, ``Conv2D``, ...) whose
weights are copied out of the ONNX graph, so the course runs the model with TensorFlow alone;
``tests/test_speech_encoder.py`` checks the rebuild against ONNX's own reference implementation.

The audio path is openwakeword's, step by step: 16 kHz samples at 16-bit PCM scale
(-32768..32767), a 512-sample STFT every 160 samples (10 ms), 32 mel bands, 10·log10 of the
power floored 80 dB below the clip's peak, then ``x / 10 + 2``; 76-frame windows
(0.775 s) every 8 frames (80 ms) go through the embedding network.
"""

from __future__ import annotations

import functools
import importlib.util
import pathlib

import keras
import numpy as np
from keras import ops

from helpers.errors import CourseError

SAMPLE_RATE: int = 16_000
"""Sample rate the speech models expect (Hz)."""

ONNX_MODELS = ("melspectrogram", "embedding_model")
MEL_BANDS = 32
WINDOW_FRAMES = 76  # one embedding sees 76 frames: 75 hops of 160 + 512 samples = 0.782 s
WINDOW_STRIDE = 8  # a new embedding every 8 frames (80 ms), as openwakeword computes them
EMBEDDING_SIZE = 96
HOP_SAMPLES = 160
TOP_DB = 80.0

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
