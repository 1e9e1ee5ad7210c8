"""Chapter 12's text helpers: the review corpus, the split by movie, and the sentence encoder.

The encoder is checked against an independent reference: a BERT forward pass written here in
NumPy straight from the Hugging Face weight file (``model.safetensors``), with the exact
(erf) GELU of the original; KerasHub's BERT uses the tanh approximation, so the two agree to
rounding, not bit for bit.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import erf
from safetensors.numpy import load_file

from helpers import text
from helpers.errors import CourseError


@pytest.fixture(scope="module")
def reviews() -> text.Reviews:
    return text.rotten_tomatoes()


def test_corpus_has_the_published_counts_and_no_plot_summaries(reviews):
    assert len(reviews) == 2455 + 2411
    assert int(reviews.labels.sum()) == 2455  # fresh = 1
    assert set(np.unique(reviews.labels)) == {0, 1}
    assert len(np.unique(reviews.movies)) == 156
    assert all(isinstance(t, str) and t for t in reviews.texts[:50])


def test_split_by_movie_keeps_each_movie_in_one_split(reviews):
    splits = text.split_by_movie(reviews, test_fraction=0.4, validation_fraction=0.1)
    movies = {name: set(split.movies) for name, split in splits.items()}
    assert not movies["train"] & movies["test"]
    assert not movies["train"] & movies["validation"]
    assert not movies["validation"] & movies["test"]
    assert sum(len(split) for split in splits.values()) == len(reviews)
    assert len(movies["test"]) == round(0.4 * 156) and len(movies["validation"]) == round(0.1 * 156)
    again = text.split_by_movie(reviews, test_fraction=0.4, validation_fraction=0.1)
    assert np.array_equal(again["test"].texts, splits["test"].texts)  # seeded


@pytest.mark.parametrize("test_fraction, validation_fraction", [(0.0, 0.1), (0.6, 0.4), (0.5, -0.1)])
def test_split_by_movie_rejects_fractions_that_leave_nothing(reviews, test_fraction, validation_fraction):
    with pytest.raises(ValueError, match="fractions"):
        text.split_by_movie(reviews, test_fraction, validation_fraction)


def test_a_missing_package_says_how_to_install_it():
    with pytest.raises(CourseError, match="requirements-nodeps.txt"):
        text.package_dir("no_such_package_for_the_course")


def test_length_buckets_round_up_and_cap():
    assert text._length_buckets(np.array([1, 16, 17, 40, 70]), 16, 64).tolist() == [16, 16, 32, 48, 64]


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def reference_mean_pooled(token_ids: list[int]) -> np.ndarray:
    """all-MiniLM-L6-v2's mean-pooled vector of one unpadded token sequence, in NumPy (float64)."""
    folder = text.minilm_path()
    config = json.loads((folder / "config.json").read_text())
    w = {k: v.astype(np.float64) for k, v in load_file(folder / "model.safetensors").items()}
    heads, n = config["num_attention_heads"], len(token_ids)
    x = w["embeddings.word_embeddings.weight"][token_ids] + w["embeddings.position_embeddings.weight"][:n]
    x = _layer_norm(x + w["embeddings.token_type_embeddings.weight"][0], w["embeddings.LayerNorm.weight"],
                    w["embeddings.LayerNorm.bias"])

    def dense(name: str, v: np.ndarray) -> np.ndarray:
        return v @ w[f"{name}.weight"].T + w[f"{name}.bias"]

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        q, k, v = (dense(p + f"attention.self.{m}", x).reshape(n, heads, -1).transpose(1, 0, 2)
                   for m in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
        attention = np.exp(scores - scores.max(-1, keepdims=True))
        attention /= attention.sum(-1, keepdims=True)
        context = (attention @ v).transpose(1, 0, 2).reshape(n, -1)
        x = _layer_norm(x + dense(p + "attention.output.dense", context), w[p + "attention.output.LayerNorm.weight"],
                        w[p + "attention.output.LayerNorm.bias"])
        hidden = dense(p + "output.dense", _gelu(dense(p + "intermediate.dense", x)))
        x = _layer_norm(x + hidden, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    return x.mean(axis=0)


@pytest.fixture(scope="module")
def encoder_and_preprocessor():
    keras_hub = pytest.importorskip("keras_hub")
    preset = str(text.minilm_path())
    tokenizer = keras_hub.models.BertTokenizer.from_preset(preset)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=64)
    encoder = keras_hub.models.BertBackbone.from_preset(preset)
    return encoder, preprocessor


def test_tokenizer_gives_the_vocabulary_ids_with_cls_and_sep(encoder_and_preprocessor):
    _, preprocessor = encoder_and_preprocessor
    ids = np.asarray(preprocessor(["Hello world"])["token_ids"])[0]
    vocabulary = (text.minilm_path() / "vocab.txt").read_text().split("\n")
    expected = [vocabulary.index(t) for t in ("[CLS]", "hello", "world", "[SEP]")]
    assert ids[:4].tolist() == expected and not ids[4:].any()


def test_sentence_embeddings_match_a_numpy_bert_and_ignore_padding(encoder_and_preprocessor, tmp_path, monkeypatch):
    encoder, preprocessor = encoder_and_preprocessor
    monkeypatch.setenv("TLHO_CACHE_DIR", str(tmp_path))
    snippets = np.array([
        "A gorgeous, witty, seductive movie.",
        "The plot is nothing but boilerplate clichés from start to finish, and the script assumes that not only "
        "would subtlety be lost on the target audience, but that it is also too stupid to realize that they have "
        "already seen this exact same movie a hundred times.",
    ])
    vectors = text.sentence_embeddings(encoder, preprocessor, snippets, cache=False)
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    ids = np.asarray(preprocessor(snippets[:1])["token_ids"])[0]
    reference = reference_mean_pooled([int(i) for i in ids if i])
    cosine = reference @ vectors[0] / np.linalg.norm(reference) / np.linalg.norm(vectors[0])
    assert cosine > 0.9999
    np.testing.assert_allclose(vectors[0], reference, atol=2e-3)
    alone = text.sentence_embeddings(encoder, preprocessor, snippets[:1], cache=False)  # padded to 16, not 64
    np.testing.assert_allclose(alone[0], vectors[0], atol=1e-5)


def test_sentence_embeddings_are_cached(encoder_and_preprocessor, tmp_path, monkeypatch):
    encoder, preprocessor = encoder_and_preprocessor
    monkeypatch.setenv("TLHO_CACHE_DIR", str(tmp_path))
    first = text.sentence_embeddings(encoder, preprocessor, np.array(["fine", "awful"]))
    assert len(list(tmp_path.glob("sentence_embeddings_*.npy"))) == 1
    np.testing.assert_array_equal(text.sentence_embeddings(encoder, preprocessor, np.array(["fine", "awful"])), first)


def test_sentence_embeddings_reject_empty_input(encoder_and_preprocessor):
    with pytest.raises(ValueError, match="non-empty"):
        text.sentence_embeddings(*encoder_and_preprocessor, np.array([]))
