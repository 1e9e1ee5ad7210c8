"""Tests for helpers.speech_encoder: the Keras rebuild against ONNX's reference runtime.

The reference is ``onnx.reference.ReferenceEvaluator``, ONNX's pure-NumPy implementation of
each operator, run on the original ONNX files: nothing in it comes from the Keras rebuild.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import tensorflow_datasets as tfds
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from helpers import speech, speech_encoder
from helpers.errors import CourseError

TOLERANCE = 1e-4  # largest error relative to the largest reference value


class BatchNormalization(OpRun):
    """Inference-mode batch normalisation, as the ONNX spec defines a one-output node.

    onnx 1.23's reference BatchNormalization-9 blends in the batch's own statistics
    whenever ``momentum`` is set, and the schema always sets it (default 0.9), so it
    normalises every inference node as if training (onnx/onnx pull request #8442).
    """

    op_domain = ""

    def _run(self, x, scale, bias, mean, var, epsilon=None, momentum=None, training_mode=None):  # noqa: ARG002
        shape = (1, -1) + (1,) * (x.ndim - 2)
        normalised = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + epsilon)
        return ((normalised * scale.reshape(shape) + bias.reshape(shape)).astype(x.dtype),)


def relative_error(actual, reference) -> float:
    actual, reference = np.asarray(actual), np.asarray(reference)
    assert actual.shape == reference.shape
    return float(np.max(np.abs(actual - reference)) / np.max(np.abs(reference)))


@pytest.fixture(scope="module")
def reference_log_mel():
    """``waveform (samples,) -> (frames, 32)``: melspectrogram.onnx, then openwakeword's ``x / 10 + 2``."""
    evaluator = ReferenceEvaluator(str(speech_encoder.onnx_path("melspectrogram")))
    return lambda clip: np.squeeze(evaluator.run(None, {"input": clip[None]})[0]) / 10 + 2


@pytest.fixture(scope="module")
def reference_embedding():
    """``windows (n, 76, 32, 1) -> (n, 96)`` by embedding_model.onnx."""
    evaluator = ReferenceEvaluator(str(speech_encoder.onnx_path("embedding_model")), new_ops=[BatchNormalization])
    return lambda windows: evaluator.run(None, {"input_1": windows})[0].reshape(len(windows), -1)


def openwakeword_windows(log_mel: np.ndarray) -> np.ndarray:
    """76-frame windows every 8 frames, short ones dropped: openwakeword's ``_get_embeddings``."""
    windows = [log_mel[i : i + 76] for i in range(0, len(log_mel), 8) if i + 76 <= len(log_mel)]
    return np.stack(windows)[..., None].astype(np.float32)


@pytest.fixture(scope="module")
def clips() -> np.ndarray:
    """Three real recordings laid out as the encoder's input, and one of seeded noise."""
    recordings = tfds.load("spoken_digit", split="train[:3]")
    real = [speech.prepare_clip(example["audio"]) for example in recordings.as_numpy_iterator()]
    noise = np.round(np.random.default_rng(0).normal(0, 3000, speech.CLIP_SAMPLES)).astype(np.float32)
    return np.stack([*real, noise])


@pytest.fixture(scope="module")
def models():
    return speech_encoder.mel_frontend(), speech_encoder.embedding_network(), speech_encoder.speech_encoder()


def test_onnx_path_finds_both_models_and_refuses_other_names():
    for name in speech_encoder.ONNX_MODELS:
        assert speech_encoder.onnx_path(name).stat().st_size > 500_000
    with pytest.raises(ValueError, match="embedding_model"):
        speech_encoder.onnx_path("embedding")


def test_onnx_path_says_how_to_install_when_openwakeword_is_missing(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "openwakeword" else find_spec(name, *a)
    )
    with pytest.raises(CourseError, match="requirements-nodeps.txt"):
        speech_encoder.onnx_path("melspectrogram")


def test_mel_frontend_matches_onnx_reference_per_clip(models, clips, reference_log_mel):
    log_mel = np.asarray(models[0](clips))  # the whole batch at once: the 80 dB floor is per clip
    assert log_mel.shape == (len(clips), (speech.CLIP_SAMPLES - 512) // 160 + 1, 32)
    for clip, frames in zip(clips, log_mel):
        assert relative_error(frames, reference_log_mel(clip)) < TOLERANCE


def test_embedding_network_matches_onnx_reference(models, clips, reference_log_mel, reference_embedding):
    windows = np.concatenate([openwakeword_windows(reference_log_mel(clip))[::4] for clip in clips])
    embeddings = np.asarray(models[1](windows))
    assert embeddings.shape == (len(windows), 96)
    assert relative_error(embeddings, reference_embedding(windows)) < TOLERANCE


def test_speech_encoder_matches_openwakeword_pipeline(models, clips, reference_log_mel, reference_embedding):
    expected = reference_embedding(openwakeword_windows(reference_log_mel(clips[0])))
    embeddings = np.asarray(models[2](clips[:2]))
    assert embeddings.shape == (2, 9, 96) == (2, *expected.shape)
    assert relative_error(embeddings[0], expected) < TOLERANCE


def test_speech_encoder_refuses_wrong_rank_and_too_short_clips(models):
    encoder = models[2]
    for wrong_rank in (np.zeros(speech.CLIP_SAMPLES), np.zeros((1, 2, speech.CLIP_SAMPLES))):
        with pytest.raises(ValueError, match=r"Expected shape \(None, None\)"):  # Keras's input check
            encoder(wrong_rank.astype(np.float32))
    with pytest.raises(ValueError, match="12512 samples"):
        encoder(np.zeros((1, 12_000), np.float32))
    assert encoder(np.zeros((1, 12_512), np.float32)).shape == (1, 1, 96)
