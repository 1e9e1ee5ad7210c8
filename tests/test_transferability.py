"""LogME: the fast eigenbasis computation agrees with the textbook formulas, and it ranks sensibly."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import transferability


def _direct_evidence(f: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> float:
    """Log evidence of Bayesian linear regression, written with plain matrices (Bishop, eq. 3.86)."""
    n, d = f.shape
    a = alpha * np.eye(d) + beta * f.T @ f
    m = beta * np.linalg.solve(a, f.T @ y)
    e_m = beta / 2 * np.sum((y - f @ m) ** 2) + alpha / 2 * m @ m
    return (d / 2 * np.log(alpha) + n / 2 * np.log(beta) - e_m
            - 0.5 * np.linalg.slogdet(a)[1] - n / 2 * np.log(2 * np.pi))


@pytest.mark.parametrize(("n", "d"), [(60, 8), (20, 30)])  # more examples than features, and fewer
def test_class_evidence_matches_the_direct_formula(n, d) -> None:
    rng = np.random.default_rng(0)
    f = rng.normal(size=(n, d))
    y = (f[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(float)
    result = transferability.class_evidence(f, y)
    assert result.value * n == pytest.approx(_direct_evidence(f, y, result.alpha, result.beta), rel=1e-8)
    # At the fixed point the evidence is (locally) maximal: nudging alpha or beta lowers it.
    for a, b in [(result.alpha * 1.5, result.beta), (result.alpha, result.beta / 1.5)]:
        assert _direct_evidence(f, y, a, b) < result.value * n + 1e-9


def test_informative_features_score_higher_than_noise() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 3, 150)
    centres = rng.normal(scale=3.0, size=(3, 16))
    informative = centres[labels] + rng.normal(size=(150, 16))
    noise = rng.normal(size=(150, 16))
    assert transferability.logme(informative, labels) > transferability.logme(noise, labels) + 0.1


def test_more_noise_lowers_the_score_monotonically() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 200)
    signal = np.outer(labels * 2.0 - 1.0, np.ones(10))
    scores = [transferability.logme(signal + s * rng.normal(size=signal.shape), labels)
              for s in (0.5, 1.0, 2.0, 4.0)]
    assert scores == sorted(scores, reverse=True)


def test_bad_inputs_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="two classes"):
        transferability.logme(np.ones((5, 2)), np.zeros(5))
    with pytest.raises(ValueError, match=r"Need features \(n, d\)"):
        transferability.logme(np.ones((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="NaN or infinity"):
        transferability.logme(np.full((4, 2), np.nan), np.array([0, 1, 0, 1]))
