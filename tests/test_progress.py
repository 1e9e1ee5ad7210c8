"""No silent waits: the progress bar, and the course's long-running helpers that report through it."""

from __future__ import annotations

import inspect
import random
import re
import tempfile
import time
from collections.abc import Callable

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers import efficiency, features, own_images, progress, recipe, speaker_encoder, speech, text

COUNT = re.compile(r"(\d+)/(\d+) \[")  # "22/46 [00:30<00:32, ...]": done/total, then the times


def _counts(printed: str) -> list[tuple[int, int]]:
    return [(int(done), int(total)) for done, total in COUNT.findall(printed)]


@pytest.fixture()
def no_delay(monkeypatch):
    """Bars appear at once and redraw at every update, as if every call were slow."""
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.0)
    monkeypatch.setattr(progress, "REFRESH_SECONDS", 0.0)


def test_a_slow_loop_shows_its_count_and_a_fast_one_prints_nothing(monkeypatch, capsys):
    for _ in progress.bar(range(1000), description="fast work", unit="step"):  # the default delay: silent
        pass
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(progress, "DELAY_SECONDS", 0.05)  # a "slow" loop: 5 steps of 30 ms
    monkeypatch.setattr(progress, "REFRESH_SECONDS", 0.0)
    for _ in progress.bar(range(5), description="slow work", unit="step"):
        time.sleep(0.03)
    printed = capsys.readouterr().out
    assert "slow work" in printed and printed.endswith("\n")
    assert (5, 5) in _counts(printed) and (0, 5) not in _counts(printed), "nothing before the delay, then the count"


def test_a_disabled_bar_prints_nothing(no_delay, capsys):
    with progress.bar(description="quiet", total=3, enabled=False) as steps:
        steps.update(3)
    assert list(progress.bar(range(3), description="quiet", enabled=False)) == [0, 1, 2]
    assert capsys.readouterr().out == ""


def test_a_bar_draws_no_random_numbers(no_delay, capsys):
    np.random.seed(3)
    random.seed(3)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    for _ in progress.bar(range(3), description="work"):
        pass
    assert random.getstate() == python_state
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state[1])
    assert _counts(capsys.readouterr().out)[-1] == (3, 3)


def test_fit_callback_counts_every_training_step(no_delay, capsys):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse", steps_per_execution=2)  # a call runs several steps
    x, y = np.zeros((12, 2), "float32"), np.zeros((12, 2), "float32")
    with progress.bar(description="fitting", unit="step") as steps:
        model.fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[progress.fit_callback(steps)])
    printed = capsys.readouterr().out
    assert _counts(printed)[-1] == (12, 12), printed  # 2 epochs of 6 steps
    assert "epoch 2/2" in printed


# --------------------------------------------------------------------------- the long-running helpers


def _tiny_network() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.GlobalAveragePooling2D()])


def _images(n: int, side: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, side, side, 3)).astype(np.uint8)


def _dataset() -> tf.data.Dataset:
    return _TinySplits().batches("test", 4)


class _TinySplits:
    """What cached_features needs of a data.ImageSplits: 10 tiny images per split."""

    seed, image_size = 0, 8

    def cache_key(self, split: str) -> str:
        return f"tiny-{split}"

    def batches(self, split: str, batch_size: int) -> tf.data.Dataset:
        return tf.data.Dataset.from_tensor_slices((_images(10).astype("float32"), np.arange(10))).batch(batch_size)


def _compute_features(**options):
    return features.compute_features(_tiny_network(), lambda x: x / 255.0, _dataset(), **options)


def _cached_features(**options):
    computed = features.cached_features(_TinySplits(), "test", "mobilenet_v2", batch_size=4, **options)
    computed.path.unlink()  # the next call computes again (a cache hit has nothing to report)
    return computed.features


def _run_in_batches(**options):
    return features.run_in_batches(lambda x: x * 2, _images(10), batch_size=4, **options)


def _measure_curve(**options):
    sampler = efficiency.PerClassSampler(np.array([0] * 6 + [1] * 6), seeds=2)
    methods = {"a": lambda indices, seed: len(indices) / 10, "b": lambda indices, seed: seed / 10}
    return efficiency.measure_curve(methods, sampler, [(2, 0), (2, 1), (4, 0)], **options)


def _scratch_by_input_size(**options):
    labels = {"train": np.arange(12) % 3, "validation": np.arange(6) % 3, "test": np.arange(9) % 3}
    images = {side: {split: _images(len(y), side, seed) for seed, (split, y) in enumerate(labels.items())}
              for side in (16,)}  # one size: the bar counts its steps
    # steps: a multiple of compile_classifier's steps_per_execution (10), or Keras trains up to the next one
    search = efficiency.scratch_by_input_size(images, labels, np.arange(12), steps=10, **options)
    return search.validation, search.predicted


def _run_over(**options):
    with tempfile.TemporaryDirectory() as directory:  # 2 classes of 5 photos: 3 of each for training
        own_images.write_example_folder(_images(10, 32), np.arange(10) % 2, ["a", "b"], directory)
        folder = own_images.load_image_folder(directory, image_size=32, batch_size=2)
        return recipe._run_over(lambda images: images[:, 0, 0], folder, "train", **options)


class _TinyPreprocessor:
    """What sentence_embeddings needs of a BERT preprocessor: one token id per word (from its length)."""

    sequence_length = 16

    def __call__(self, texts: tf.Tensor) -> dict[str, np.ndarray]:
        token_ids = np.zeros((len(texts), self.sequence_length), np.int32)
        for row, snippet in enumerate(texts.numpy()):
            words = snippet.decode().split()[: self.sequence_length]
            token_ids[row, : len(words)] = [1 + len(word) % 9 for word in words]
        return {"token_ids": token_ids, "padding_mask": token_ids > 0}


def _sentence_embeddings(**options):
    import keras_hub

    keras.utils.set_random_seed(0)
    encoder = keras_hub.models.BertBackbone(vocabulary_size=10, num_layers=1, num_heads=1, hidden_dim=4,
                                            intermediate_dim=8, max_sequence_length=16)
    snippets = np.array([" ".join(["word"] * (1 + k % 4) + ["and", "more"] * k) for k in range(10)])
    return text.sentence_embeddings(encoder, _TinyPreprocessor(), snippets, batch_size=4, cache=False, **options)


def _spoken_digit_features(**options):
    computed = speech.spoken_digit_features(batch_size=4, split="train[:6]", **options)  # batches of 4 and 2
    speech._cache_path("train[:6]").unlink()  # the next call computes again
    return computed.embeddings, computed.log_mel_statistics, computed.digits, computed.filenames


def _tiny_speaker_encoder() -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((None, speaker_encoder.MEL_BANDS)), keras.layers.GlobalAveragePooling1D(),
                             keras.layers.Dense(speaker_encoder.EMBEDDING_SIZE)])


def _embed_utterances(**options):
    rng = np.random.default_rng(3)
    wavs = [0.1 * rng.standard_normal(n) for n in (3000, 30_000, 8000)]  # 1, 1 and 3 partial windows
    return speaker_encoder.embed_utterances(_tiny_speaker_encoder(), wavs, batch_size=2, **options)


def _spoken_digit_speaker_embeddings(**options):
    computed = speech.spoken_digit_speaker_embeddings(_tiny_speaker_encoder(), "train[:5]", batch_size=2, **options)
    speech._speaker_cache_path("train[:5]").unlink()
    return computed.embeddings, computed.filenames


LONG_RUNNING: dict[str, tuple[Callable, Callable, str, tuple[int, int]]] = {
    # helper, a call on tiny inputs, what its bar says, its final count
    "features.compute_features": (features.compute_features, _compute_features, "features", (3, 3)),
    "features.cached_features": (features.cached_features, _cached_features, "mobilenet_v2 features of test", (3, 3)),
    "features.run_in_batches": (features.run_in_batches, _run_in_batches, "batches", (3, 3)),
    "efficiency.measure_curve": (efficiency.measure_curve, _measure_curve, "data-efficiency runs", (6, 6)),
    "efficiency.scratch_by_input_size": (efficiency.scratch_by_input_size, _scratch_by_input_size,
                                         "scratch CNN at each input size", (10, 10)),
    "recipe._run_over": (recipe._run_over, _run_over, "reading the train photos through the network", (6, 6)),
    "text.sentence_embeddings": (text.sentence_embeddings, _sentence_embeddings, "sentence embeddings of 10 snippets",
                                 (3, 3)),
    "speech.spoken_digit_features": (speech.spoken_digit_features, _spoken_digit_features,
                                     "speech embeddings of spoken_digit train[:6]", (6, 6)),
    "speaker_encoder.embed_utterances": (speaker_encoder.embed_utterances, _embed_utterances, "speaker embeddings",
                                         (3, 3)),
    "speech.spoken_digit_speaker_embeddings": (speech.spoken_digit_speaker_embeddings,
                                               _spoken_digit_speaker_embeddings,
                                               "speaker embeddings of spoken_digit train[:5]", (5, 5)),
}
"""The course's helpers that can run for more than a few seconds in a chapter: each must report."""


def _stand_in_speech_encoder(with_log_mel: bool):
    """Each 1.5 s clip's samples as 250 "embeddings" of 96 numbers and 750 "log-mel frames" of 32."""
    assert with_log_mel
    return lambda clips, training: (tf.reshape(clips, (-1, 250, 96)), tf.reshape(clips, (-1, 750, 32)))


@pytest.fixture()
def tiny_models(monkeypatch, tmp_cache):
    """A tiny network in place of MobileNetV2 (cached_features) and a stand-in for the speech
    embedding (spoken_digit_features), and a private cache."""
    monkeypatch.setattr(features, "_backbone", lambda *args: _tiny_network())
    monkeypatch.setattr(speech.speech_encoder, "_encoder", _stand_in_speech_encoder)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_helpers_report_progress_by_default(name, no_delay, tiny_models, capsys):
    helper, call, description, final = LONG_RUNNING[name]
    assert inspect.signature(helper).parameters["progress"].default is True, f"{name} must report by default"
    call()
    printed = capsys.readouterr().out
    assert description in printed and _counts(printed)[-1] == final, f"{name} printed {printed!r}"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_helpers_print_nothing_before_the_delay(name, tiny_models, monkeypatch, capsys):
    monkeypatch.setattr(progress, "DELAY_SECONDS", 60.0)  # longer than any call here, on any machine
    LONG_RUNNING[name][1]()  # so a fast cell stays quiet: only the delayed bar may print
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_progress_false_is_silent_and_changes_no_result(name, no_delay, tiny_models, capsys):
    call = LONG_RUNNING[name][1]
    keras.utils.set_random_seed(7)
    shown = call()
    assert capsys.readouterr().out
    keras.utils.set_random_seed(7)
    silent = call(progress=False)  # (a bar draws no random numbers: test_a_bar_draws_no_random_numbers)
    assert capsys.readouterr().out == "", f"{name}(progress=False) must print nothing"
    if isinstance(shown, tuple) and isinstance(shown[0], dict):  # scratch_by_input_size: (validation, predicted)
        assert shown[0] == silent[0]
        for side in shown[1]:
            np.testing.assert_array_equal(shown[1][side], silent[1][side])
    elif isinstance(shown, tuple):
        for a, b in zip(shown, silent):
            np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_equal(shown, silent)
