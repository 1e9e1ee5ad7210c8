"""Spoken-digit features from Google's pretrained speech embedding, and a split by speaker.

Each recording of the Free Spoken Digit Dataset (tfds ``spoken_digit``: 5 speakers, 8 kHz)
is resampled to 16 kHz and laid out as a fixed 1.5 s clip (:func:`prepare_clip`);
:func:`spoken_digit_features` runs every clip once through the Keras rebuild of the speech
embedding (:mod:`helpers.speech_encoder`) and caches the pooled features on disk.

The question is whether these features let a linear classifier recognise digits said by a
speaker it never heard: :func:`leave_one_speaker_out` trains on four speakers and predicts
the fifth. :func:`spoken_digit_speaker_embeddings` embeds the same recordings with a speaker
encoder (:mod:`helpers.speaker_encoder`), and :func:`predict_out_of_group` asks the opposite
question: who is speaking, in words the classifier never heard.
"""

from __future__ import annotations

import os
import pathlib
import re
import time
from collections.abc import Iterator
from typing import Any
from dataclasses import dataclass

import numpy as np

from helpers import config, speech_encoder
from helpers import progress as progress_report
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


def _compute(split: str, batch_size: int, progress: bool) -> dict[str, np.ndarray]:
    """One streamed pass: at most ``batch_size`` waveforms are held at a time."""
    import tensorflow as tf

    from helpers import data

    encoder = speech_encoder._encoder(with_log_mel=True)
    encode = tf.function(lambda x: encoder(x, training=False), reduce_retracing=True)
    builder = data.prepared_builder("spoken_digit")
    dataset = builder.as_dataset(split=split)
    pooled, digits, filenames, clips = [], [], [], []
    with progress_report.bar(description=f"speech embeddings of spoken_digit {split}", unit="recording",
                             total=builder.info.splits[split].num_examples, enabled=progress) as done:
        for example in dataset.as_numpy_iterator():
            clips.append(prepare_clip(example["audio"]))
            digits.append(int(example["label"]))
            filenames.append(example["audio/filename"].decode())
            if len(clips) == batch_size:
                pooled.append(_pooled(encode, clips))
                done.update(len(clips))
                clips = []
        if clips:
            pooled.append(_pooled(encode, clips))
            done.update(len(clips))
    if not digits:
        raise ValueError(f"The split {split!r} of spoken_digit is empty.")
    return {
        "embeddings": np.concatenate([embeddings for embeddings, _ in pooled]),
        "log_mel_statistics": np.concatenate([statistics for _, statistics in pooled]),
        "digits": np.asarray(digits),
        "speakers": np.asarray([speaker_of(name) for name in filenames]),
        "filenames": np.asarray(filenames),
    }


def spoken_digit_features(
    batch_size: int = 16, split: str = "train", *, progress: bool = True
) -> SpokenDigitFeatures:
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
        progress: On a cache miss, show a bar counting the recordings when the pass takes more
            than a few seconds (:mod:`helpers.progress`); it changes no result.

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
        arrays = _compute(split, batch_size, progress)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")
        np.savez(partial, **arrays)
        partial.replace(path)  # atomic: a half-written file is never read as a cache
    return SpokenDigitFeatures(**arrays, seconds=time.perf_counter() - start, from_cache=from_cache)


@dataclass(frozen=True)
class SpeakerEmbeddings:
    """Resemblyzer's speaker embedding of every spoken_digit recording, in dataset order.

    Attributes:
        embeddings: ``(n, 256)`` float32, L2-normalised (:mod:`helpers.speaker_encoder`).
        filenames: ``(n,)`` str, to line them up with :class:`SpokenDigitFeatures`.
        seconds: Time spent computing (cache miss) or loading (cache hit).
        from_cache: Whether the embeddings were loaded from disk.
    """

    embeddings: np.ndarray
    filenames: np.ndarray
    seconds: float = 0.0
    from_cache: bool = False


def _speaker_cache_path(split: str) -> pathlib.Path:
    from helpers import speaker_encoder

    tag = re.sub(r"[^A-Za-z0-9]+", "_", split).strip("_")
    front_end = f"resample_poly-vol{int(-speaker_encoder.TARGET_DBFS)}-mel{speaker_encoder.MEL_BANDS}"  # new port, new file
    return config.cache_dir() / "speech" / f"spoken_digit-{tag}-ge2e_speaker_encoder-{front_end}.npz"


def spoken_digit_speaker_embeddings(
    encoder: Any = None, split: str = "train", batch_size: int = 128, *, progress: bool = True
) -> SpeakerEmbeddings:
    """Embed every spoken_digit recording with the GE2E speaker encoder, cached on disk.

    Each recording is resampled from 8 kHz to 16 kHz (SciPy's polyphase filter), scaled to
    [-1, 1] and embedded as Resemblyzer embeds an utterance
    (:func:`helpers.speaker_encoder.embed_utterances`); no lead silence is added.

    Args:
        encoder: :func:`helpers.speaker_encoder.speaker_encoder`'s model (built here if not given
            and the cache misses; not used when the cache holds the embeddings).
        split: A tfds split of ``spoken_digit``.
        batch_size: Partial windows per forward pass.
        progress: On a cache miss, show a bar counting the recordings when the pass takes more
            than a few seconds (:mod:`helpers.progress`); it changes no result.

    Raises:
        ResourceNotAvailableError: The dataset is neither on disk nor downloadable.
        CourseError: The resemblyzer wheel is missing.
    """
    from scipy import signal

    from helpers import data, speaker_encoder

    batch_size = check_positive_int("batch_size", batch_size)
    path = _speaker_cache_path(split)
    start = time.perf_counter()
    if path.exists():
        with np.load(path) as stored:
            return SpeakerEmbeddings(stored["embeddings"], stored["filenames"], time.perf_counter() - start, True)
    encoder = encoder if encoder is not None else speaker_encoder.speaker_encoder()
    builder = data.prepared_builder("spoken_digit")
    filenames: list[str] = []

    def recordings() -> Iterator[np.ndarray]:  # one at a time: memory does not grow with the dataset
        for example in builder.as_dataset(split=split).as_numpy_iterator():
            filenames.append(example["audio/filename"].decode())
            yield signal.resample_poly(example["audio"] / 32768, SAMPLE_RATE // SOURCE_RATE, 1)

    total = builder.info.splits[split].num_examples  # (an unknown split raises here, naming the real ones)
    try:
        embeddings = speaker_encoder.embed_utterances(encoder, recordings(), batch_size, progress=progress, total=total,
                                                      description=f"speaker embeddings of spoken_digit {split}")
    except ValueError as empty:
        raise ValueError(f"The split {split!r} of spoken_digit is empty.") from empty
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.stem}.{os.getpid()}.npz")
    np.savez(partial, embeddings=embeddings, filenames=np.asarray(filenames))
    partial.replace(path)  # atomic: a half-written file is never read as a cache
    return SpeakerEmbeddings(embeddings, np.asarray(filenames), time.perf_counter() - start, False)


def _folds(
    labels: np.ndarray, groups: np.ndarray, per_label: int | None, seed: int, label_name: str = "label",
    group_name: str = "group",
) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """``(held-out group, training indices, test indices)`` for each group, sorted.

    With ``per_label``, the training set is ``per_label`` rows of each label drawn (seeded)
    from all the other groups together: the same draw for any features.
    """
    generator = np.random.default_rng(seed)
    for group in sorted(set(groups.tolist())):
        train = np.flatnonzero(groups != group)
        if per_label is not None:
            chosen = []
            for label in np.unique(labels):
                candidates = train[labels[train] == label]
                if candidates.size < per_label:
                    raise ValueError(
                        f"per_{label_name}={per_label} but only {candidates.size} recordings of {label_name} "
                        f"{label} lie outside the held-out {group_name} {group!r}; choose at most {candidates.size}."
                    )
                chosen.append(generator.choice(candidates, per_label, replace=False))
            train = np.sort(np.concatenate(chosen))
        yield group, train, np.flatnonzero(groups == group)


def predict_out_of_group(
    features: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    per_label: int | None = None,
    seed: int = config.SEED,
    label_name: str = "label",
    group_name: str = "group",
    regularisation: float = 1.0,
) -> np.ndarray:
    """Predict every row's label with a linear probe that never saw a row of its group.

    For each group, a linear probe (logistic regression on standardised features, as in
    :func:`helpers.domain_gap.probe_accuracy`) is trained on the other groups' rows and
    predicts the held-out group's. Returning predictions, not accuracies, lets two feature
    sets be compared on all rows, paired (:func:`helpers.significance.compare`). Digits by
    unheard speakers: labels are digits, groups speakers (:func:`leave_one_speaker_out`).
    Speakers by unheard words: labels are speakers, groups sets of digits.

    Args:
        features: ``(n, d)`` array, one row per recording.
        labels: ``(n,)`` true labels (integers or strings).
        groups: ``(n,)`` group of each row (at least two groups).
        per_label: If given, train on only this many rows per label, drawn (seeded) from the
            other groups; the same ``seed`` draws the same rows for any features.
        seed: Seed of that draw.
        label_name, group_name: What labels and groups are, for error messages.
        regularisation: The logistic regression's ``C`` (smaller: stronger regularisation).

    Returns:
        ``(n,)`` out-of-group predicted label of every row.

    Raises:
        ValueError: On mismatched lengths, fewer than two groups, or a bad ``per_label``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    features, labels, groups = np.asarray(features), np.asarray(labels), np.asarray(groups)
    if features.ndim != 2 or not len(features) == len(labels) == len(groups):
        raise ValueError(
            f"Give one feature row, {label_name} and {group_name} per recording; got features {features.shape}, "
            f"{len(labels)} {label_name}s, {len(groups)} {group_name}s."
        )
    if len(set(groups.tolist())) < 2:
        raise ValueError(f"Leaving one {group_name} out needs recordings from at least two {group_name}s.")
    if per_label is not None:
        per_label = check_positive_int(f"per_{label_name}", per_label)
    predictions = np.empty_like(labels)
    # One BLAS thread: for problems this small, waking OpenBLAS's threads costs far more than the arithmetic.
    with threadpool_limits(limits=1, user_api="blas"):
        for _, train, test in _folds(labels, groups, per_label, seed, label_name, group_name):
            probe = make_pipeline(StandardScaler(), LogisticRegression(C=regularisation, max_iter=2000))
            predictions[test] = probe.fit(features[train], labels[train]).predict(features[test])
    return predictions


def leave_one_speaker_out(
    features: np.ndarray,
    digits: np.ndarray,
    speakers: np.ndarray,
    per_digit: int | None = None,
    seed: int = config.SEED,
) -> np.ndarray:
    """Predict every recording's digit with a classifier that never heard its speaker.

    :func:`predict_out_of_group` with digits as labels and speakers as groups.

    Returns:
        ``(n,)`` out-of-fold predicted digit of every recording.

    Raises:
        ValueError: On mismatched lengths, fewer than two speakers, or a bad ``per_digit``.
    """
    return predict_out_of_group(features, digits, speakers, per_digit, seed, label_name="digit", group_name="speaker")
