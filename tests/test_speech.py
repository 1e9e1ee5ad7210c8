"""Tests for helpers.speech: clip layout, speaker names, the speaker split and the feature cache."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_datasets as tfds

from helpers import speech, speech_encoder


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
    folds = list(speech._folds(digits, speakers, per_label=3, seed=1))
    assert [speaker for speaker, _, _ in folds] == ["a", "b", "c", "d", "e"]
    for speaker, train, test in folds:
        assert np.all(speakers[test] == speaker) and len(test) == 60
        assert not np.any(speakers[train] == speaker)
        np.testing.assert_array_equal(np.bincount(digits[train]), np.full(10, 3))
    again = list(speech._folds(digits, speakers, per_label=3, seed=1))
    other = list(speech._folds(digits, speakers, per_label=3, seed=2))
    assert all(np.array_equal(f[1], g[1]) for f, g in zip(folds, again))
    assert not all(np.array_equal(f[1], g[1]) for f, g in zip(folds, other))
    full = list(speech._folds(digits, speakers, per_label=None, seed=1))
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


def test_spoken_digit_features_streams_batches_and_caches(tmp_cache):
    split = "train[:10]"
    first = speech.spoken_digit_features(batch_size=4, split=split)  # batches of 4, 4 and 2
    assert not first.from_cache
    assert first.embeddings.shape == (10, 192) and first.log_mel_statistics.shape == (10, 64)
    examples = list(tfds.load("spoken_digit", split=split).as_numpy_iterator())
    assert list(first.filenames) == [example["audio/filename"].decode() for example in examples]
    assert list(first.digits) == [int(example["label"]) for example in examples]
    assert list(first.speakers) == [speech.speaker_of(name) for name in first.filenames]
    clip = speech.prepare_clip(examples[9]["audio"])[None]
    windows = np.asarray(speech_encoder.speech_encoder()(clip))[0]
    np.testing.assert_allclose(first.embeddings[9], np.concatenate([windows.mean(0), windows.max(0)]), atol=1e-4)
    log_mel = np.asarray(speech_encoder.mel_frontend()(clip))[0]
    np.testing.assert_allclose(first.log_mel_statistics[9, 32:], log_mel.std(0), atol=1e-4)
    again = speech.spoken_digit_features(split=split)
    assert again.from_cache
    np.testing.assert_array_equal(again.embeddings, first.embeddings)
    np.testing.assert_array_equal(again.speakers, first.speakers)
    with pytest.raises(ValueError, match="batch_size"):
        speech.spoken_digit_features(batch_size=0)


def test_out_of_group_predicts_speakers_from_words_never_heard():
    digits, speakers = metadata()
    voice = {s: np.random.default_rng(k).normal(0, 1, 6) for k, s in enumerate("abcde")}
    features = np.stack([voice[s] for s in speakers]) + np.random.default_rng(9).normal(0, 0.3, (len(digits), 6))
    halves = digits < 5
    predicted = speech.predict_out_of_group(features, speakers, halves, label_name="speaker", group_name="half")
    assert predicted.dtype == speakers.dtype and np.mean(predicted == speakers) > 0.9
    few = speech.predict_out_of_group(features, speakers, halves, per_label=4, label_name="speaker", group_name="half")
    assert np.mean(few == speakers) > 0.8
    with pytest.raises(ValueError, match="per_speaker=99 but only 30 recordings of speaker a lie outside the held-out half"):
        speech.predict_out_of_group(features, speakers, halves, per_label=99, label_name="speaker", group_name="half")
