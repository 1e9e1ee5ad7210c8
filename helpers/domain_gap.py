"""Measure how far a target domain is from the source, on a backbone's features.

Three measures, each answering a slightly different question:

- :func:`mmd2`: maximum mean discrepancy. Do two samples of feature vectors come from the
  same distribution? Zero in expectation if they do, larger the more they differ.
- :func:`domain_classifier_accuracy`: can a linear classifier tell the two samples apart?
  It is trained and scored on equally many vectors from each sample, so chance is one in two;
  1 means perfectly. :func:`proxy_a_distance` turns its error into Ben-David et al.'s
  proxy A-distance, ``2 (1 - 2 error)``: 0 at chance, 2 for samples that never overlap.
- :func:`batchnorm_gap`: how far are a domain's activations from the statistics the
  network saw on ImageNet? Every BatchNormalization layer stores ImageNet's mean and
  variance of its inputs, so the source data is measured without a single ImageNet image.

And :func:`probe_accuracy`, the linear probe used to ask which layers transfer.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from helpers import config


def _check_samples(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"Expected two (n, features) arrays with the same number of features, got {x.shape} and {y.shape}.")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("Each sample needs at least 2 feature vectors.")
    return x, y


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def median_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """The median distance between all pooled vectors: the usual choice of RBF bandwidth."""
    both = np.concatenate(_check_samples(x, y))
    distances = _squared_distances(both, both)[np.triu_indices(len(both), k=1)]
    return float(np.sqrt(np.median(distances)))


def mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float | None = None) -> float:
    """Unbiased squared maximum mean discrepancy with the Gaussian kernel (Gretton et al., 2012).

    ``k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2))``;
    ``MMD^2 = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)``, diagonals excluded.

    Args:
        x, y: ``(n, features)`` and ``(m, features)`` samples.
        bandwidth: Kernel width; default :func:`median_bandwidth` of the two samples. Use
            one bandwidth for all the comparisons you want to rank.
    """
    x, y = _check_samples(x, y)
    bandwidth = median_bandwidth(x, y) if bandwidth is None else float(bandwidth)
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}.")
    gamma = 1.0 / (2 * bandwidth**2)
    kxx, kyy = np.exp(-gamma * _squared_distances(x, x)), np.exp(-gamma * _squared_distances(y, y))
    kxy = np.exp(-gamma * _squared_distances(x, y))
    n, m = len(x), len(y)
    return float(
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    )


def balanced(x: np.ndarray, y: np.ndarray, seed: int = config.SEED) -> tuple[np.ndarray, np.ndarray]:
    """Draw (seeded, without replacement) as many vectors from the larger sample as the smaller has.

    A classifier that tells two samples apart is only "at chance" at one in two when both are
    equally large: with 550 vectors against 200, always answering "the larger one" is already
    right 73 times in 100.
    """
    x, y = _check_samples(x, y)
    n = min(len(x), len(y))
    rng = np.random.default_rng(seed)
    pick = lambda a: a if len(a) == n else a[np.sort(rng.choice(len(a), n, replace=False))]  # noqa: E731
    return pick(x), pick(y)


def domain_classifier_accuracy(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = config.SEED) -> float:
    """Cross-validated accuracy of a logistic regression telling sample ``x`` from sample ``y``.

    The larger sample is first subsampled to the size of the smaller (:func:`balanced`), so the
    accuracy is 0.5 (chance) when the two samples come from one distribution, whatever their sizes.
    """
    x, y = balanced(x, y, seed)
    inputs = np.concatenate([x, y])
    domain = np.r_[np.zeros(len(x)), np.ones(len(y))]
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    splits = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(classifier, inputs, domain, cv=splits).mean())


def proxy_a_distance(accuracy: float) -> float:
    """Ben-David et al.'s proxy A-distance, ``2 (1 - 2 error)``, from a balanced domain classifier's accuracy.

    0 when the classifier is at chance (error 0.5), 2 when it is always right. Negative values
    (a classifier below chance, by noise) are clipped to 0.

    Raises:
        ValueError: For an accuracy outside [0, 1].
    """
    if not 0 <= accuracy <= 1:
        raise ValueError(f"An accuracy lies in [0, 1], got {accuracy}.")
    return max(0.0, 2 * (1 - 2 * (1 - float(accuracy))))


def channel_moments(activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and variance of ``(..., channels)`` activations, all positions pooled."""
    values = np.asarray(activations, np.float64)
    values = values.reshape(-1, values.shape[-1])
    return values.mean(0), values.var(0)


def batchnorm_gap(
    mean: np.ndarray, variance: np.ndarray, moving_mean: np.ndarray, moving_variance: np.ndarray
) -> float:
    """How far a domain's activations are from a BatchNormalization layer's stored (ImageNet) statistics.

    For each channel, the squared difference of means plus that of standard deviations
    (the Fréchet distance between two 1-D Gaussians), in units of the stored variance,
    averaged over channels. 0 when a domain matches the stored statistics; 1 when every
    channel is shifted by one stored standard deviation.

    Args:
        mean, variance: Per-channel moments of the layer's *inputs* on a domain
            (:func:`channel_moments`, or accumulated batch by batch).
        moving_mean, moving_variance: The layer's ``moving_mean`` and ``moving_variance``.
    """
    arrays = [np.asarray(a, np.float64) for a in (mean, variance, moving_mean, moving_variance)]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError(f"All four statistics need the same shape (channels,), got {[a.shape for a in arrays]}.")
    mean, variance, moving_mean, moving_variance = arrays
    frechet = (mean - moving_mean) ** 2 + (np.sqrt(np.maximum(variance, 0)) - np.sqrt(moving_variance)) ** 2
    return float(np.mean(frechet / np.maximum(moving_variance, 1e-12)))


def batchnorm_input_moments(maps: keras.Model, batchnorm_layers: Sequence[str]) -> keras.Model:
    """A model giving, per image and for each named BatchNormalization layer, the per-channel
    mean and mean square of the layer's input over all positions.

    Averaged over a domain's images they give the domain's channel means and variances
    (``variance = mean_square - mean**2``), ready for :func:`batchnorm_gap`, without ever
    holding the large early feature maps in memory.
    """
    outputs = []
    for name in batchnorm_layers:
        layer = maps.get_layer(name)
        if not isinstance(layer, keras.layers.BatchNormalization):
            raise ValueError(f"{name!r} is a {type(layer).__name__}, not a BatchNormalization layer.")
        axes = list(range(1, len(layer.input.shape) - 1))
        outputs += [keras.ops.mean(layer.input, axis=axes), keras.ops.mean(keras.ops.square(layer.input), axis=axes)]
    return keras.Model(maps.input, outputs, name=f"{maps.name}_batchnorm_moments")


def probe_accuracy(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray) -> float:
    """Test accuracy of a linear probe: logistic regression on standardised features.

    The cheapest honest measure of what a layer's features offer a new task: no network
    is trained, only a linear map on top of them.
    """
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    with threadpool_limits(limits=1, user_api="blas"):  # small problem: BLAS threads cost more than they save
        return float(probe.fit(train_x, train_y).score(test_x, test_y))
