"""Spoken-digit features from Google's pretrained speech embedding, and a split by speaker.

Each recording of the Free Spoken Digit Dataset (tfds ``spoken_digit``: 5 speakers, 8 kHz)
is resampled to 16 kHz and laid out as a fixed 1.5 s clip (:func:`prepare_clip`);
:func:`spoken_digit_features` runs every clip once through the Keras rebuild of the speech
embedding (:mod:`helpers.speech_encoder`) and caches the pooled features on disk.

The question is whether these features let a linear classifier recognise digits said by a
speaker it never heard: :func:`leave_one_speaker_out` trains on four speakers and predicts
the fifth.
"""

from __future__ import annotations

import os
import pathlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from helpers import config, speech_encoder
from helpers.errors import check_positive_int
from helpers.speech_encoder import SAMPLE_RATE

SOURCE_RATE = 8_000
"""Sample rate of the Free Spoken Digit Dataset recordings (Hz)."""

# Clip layout. 99.9 % of the recordings last at most 1.25 s (median 0.40 s; a handful up to
# 2.3 s). Each clip is placed 0.25 s into 1.5 s of silence (cropped to 1.25 s if longer):
# 147 log-mel frames, so 9 windows of 0.78 s start every 80 ms. As in a wake-word stream,
# the word passes through the window: several windows hold all of a typical word, each at
# a different offset, and pooling over windows does not depend on where the word starts.
CLIP_SAMPLES = 24_000  # 1.5 s at 16 kHz
LEAD_SAMPLES = 4_000  # 0.25 s of silence before the word


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

    encoder = speech_encoder._encoder(with_log_mel=True)
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

    The first call streams the dataset once through the layers of
    :func:`helpers.speech_encoder.speech_encoder` (the chapter's run time is in the README's
    benchmarks); the result goes to an ``.npz`` file under :func:`helpers.config.cache_dir`,
    and later calls load it in milliseconds.

    Args:
        batch_size: Recordings per forward pass (9 windows each). On a small CPU 16 is as fast
            as 64 and needs less memory.
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
    # One BLAS thread: for problems this small, waking OpenBLAS's threads costs far more than the arithmetic.
    with threadpool_limits(limits=1, user_api="blas"):
        for _, train, test in _folds(digits, speakers, per_digit, seed):
            probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
            predictions[test] = probe.fit(features[train], digits[train]).predict(features[test])
    return predictions
