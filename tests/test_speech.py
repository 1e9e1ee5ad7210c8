"""Tests for helpers.speech: the Keras rebuild against ONNX's reference runtime, and the speaker split.

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

from helpers import speech
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
    evaluator = ReferenceEvaluator(str(speech.onnx_path("melspectrogram")))
    return lambda clip: np.squeeze(evaluator.run(None, {"input": clip[None]})[0]) / 10 + 2


@pytest.fixture(scope="module")
def reference_embedding():
    """``windows (n, 76, 32, 1) -> (n, 96)`` by embedding_model.onnx."""
    evaluator = ReferenceEvaluator(str(speech.onnx_path("embedding_model")), new_ops=[BatchNormalization])
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
    return speech.mel_frontend(), speech.embedding_network(), speech.speech_encoder()


def test_onnx_path_finds_both_models_and_refuses_other_names():
    for name in speech.ONNX_MODELS:
        assert speech.onnx_path(name).stat().st_size > 500_000
    with pytest.raises(ValueError, match="embedding_model"):
        speech.onnx_path("embedding")


def test_onnx_path_says_how_to_install_when_openwakeword_is_missing(monkeypatch):
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "openwakeword" else find_spec(name, *a)
    )
    with pytest.raises(CourseError, match="requirements-nodeps.txt"):
        speech.onnx_path("melspectrogram")


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


def test_prepare_clip_resamples_and_places_the_recording():
    audio = np.arange(1, 801) * 10  # 0.1 s at 8 kHz
    clip = speech.prepare_clip(audio)
    assert clip.shape == (speech.CLIP_SAMPLES,) and clip.dtype == np.float32
    start, stop = speech.LEAD_SAMPLES, speech.LEAD_SAMPLES + 1600
    assert not clip[:start].any() and not clip[stop:].any()
    assert np.all(clip == np.round(clip))
    np.testing.assert_allclose(clip[start + 200 : stop - 200 : 2], audio[100:-100], rtol=0.02)
    long = speech.prepare_clip(np.ones(40_000), sample_rate=16_000)
    assert long[: speech.LEAD_SAMPLES].sum() == 0 and long[speech.LEAD_SAMPLES :].all()
    with pytest.raises(ValueError, match="1-D"):
        speech.prepare_clip(np.ones((2, 800)))
    with pytest.raises(ValueError, match="sample_rate"):
        speech.prepare_clip(audio, sample_rate=44_100)


def test_speaker_of_reads_str_and_bytes():
    assert speech.speaker_of("7_jackson_32.wav") == "jackson"
    assert speech.speaker_of(b"0_yweweler_0.wav") == "yweweler"
    with pytest.raises(ValueError, match="7_jackson_32.wav"):
        speech.speaker_of("jackson.wav")


def metadata(per_speaker_digit: int = 6):
    """Digits and speakers of a small balanced design: 5 speakers x 10 digits x ``per_speaker_digit``."""
    speakers = np.repeat(np.array(["a", "b", "c", "d", "e"]), 10 * per_speaker_digit)
    digits = np.tile(np.repeat(np.arange(10), per_speaker_digit), 5)
    return digits, speakers


def test_leave_one_speaker_out_never_trains_on_the_held_out_speaker():
    digits, speakers = metadata()
    # Columns 10 s .. 10 s + 9 hold the one-hot digit for speaker s only: they tell the
    # digit of speaker s's recordings to a classifier that has seen speaker s, and nothing
    # to one that has not.
    names = sorted(set(speakers))
    features = np.zeros((len(digits), 10 * len(names)))
    for index, (digit, speaker) in enumerate(zip(digits, speakers)):
        features[index, 10 * names.index(speaker) + digit] = 1.0
    mixed = np.where(np.arange(len(digits)) % 2, "odd", "even")  # folds that mix the speakers
    seen = speech.leave_one_speaker_out(features, digits, mixed)
    assert np.mean(seen == digits) == 1.0  # a classifier that has seen a speaker reads its digits
    predictions = speech.leave_one_speaker_out(features, digits, speakers)
    assert predictions.shape == digits.shape and predictions.dtype == digits.dtype
    assert np.mean(predictions == digits) <= 0.2  # chance is 0.1


def test_leave_one_speaker_out_learns_from_other_speakers():
    digits, speakers = metadata()
    features = np.eye(10)[digits] + np.random.default_rng(0).normal(0, 0.2, (len(digits), 10))
    for per_digit in (None, 5):
        predictions = speech.leave_one_speaker_out(features, digits, speakers, per_digit=per_digit)
        assert np.mean(predictions == digits) > 0.9


def test_per_digit_draws_that_many_per_digit_from_other_speakers_only():
    digits, speakers = metadata()
    folds = list(speech._folds(digits, speakers, per_digit=3, seed=1))
    assert [speaker for speaker, _, _ in folds] == ["a", "b", "c", "d", "e"]
    for speaker, train, test in folds:
        assert np.all(speakers[test] == speaker) and len(test) == 60
        assert not np.any(speakers[train] == speaker)
        np.testing.assert_array_equal(np.bincount(digits[train]), np.full(10, 3))
    again = list(speech._folds(digits, speakers, per_digit=3, seed=1))
    other = list(speech._folds(digits, speakers, per_digit=3, seed=2))
    assert all(np.array_equal(f[1], g[1]) for f, g in zip(folds, again))
    assert not all(np.array_equal(f[1], g[1]) for f, g in zip(folds, other))
    full = list(speech._folds(digits, speakers, per_digit=None, seed=1))
    assert all(len(train) == 240 for _, train, _ in full)


def test_leave_one_speaker_out_refuses_bad_input():
    digits, speakers = metadata(2)
    features = np.ones((len(digits), 3))
    with pytest.raises(ValueError, match="choose at most 8"):
        speech.leave_one_speaker_out(features, digits, speakers, per_digit=9)
    with pytest.raises(ValueError, match="per_digit"):
        speech.leave_one_speaker_out(features, digits, speakers, per_digit=0)
    with pytest.raises(ValueError, match="one feature row"):
        speech.leave_one_speaker_out(features[:-1], digits, speakers)
    with pytest.raises(ValueError, match="two speakers"):
        speech.leave_one_speaker_out(features, digits, np.full(len(digits), "a"))


def test_spoken_digit_features_streams_batches_and_caches(tmp_cache, models):
    split = "train[:10]"
    first = speech.spoken_digit_features(batch_size=4, split=split)  # batches of 4, 4 and 2
    assert not first.from_cache
    assert first.embeddings.shape == (10, 192) and first.log_mel_statistics.shape == (10, 64)
    examples = list(tfds.load("spoken_digit", split=split).as_numpy_iterator())
    assert list(first.filenames) == [example["audio/filename"].decode() for example in examples]
    assert list(first.digits) == [int(example["label"]) for example in examples]
    assert list(first.speakers) == [speech.speaker_of(name) for name in first.filenames]
    clip = speech.prepare_clip(examples[9]["audio"])[None]
    windows = np.asarray(models[2](clip))[0]
    np.testing.assert_allclose(first.embeddings[9], np.concatenate([windows.mean(0), windows.max(0)]), atol=1e-4)
    log_mel = np.asarray(models[0](clip))[0]
    np.testing.assert_allclose(first.log_mel_statistics[9, 32:], log_mel.std(0), atol=1e-4)
    again = speech.spoken_digit_features(split=split)
    assert again.from_cache
    np.testing.assert_array_equal(again.embeddings, first.embeddings)
    np.testing.assert_array_equal(again.speakers, first.speakers)
    with pytest.raises(ValueError, match="batch_size"):
        speech.spoken_digit_features(batch_size=0)
