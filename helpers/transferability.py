"""Rank pretrained feature extractors for a target task before fine-tuning anything.

LogME (You et al., *LogME: Practical Assessment of Pre-trained Models for Transfer
Learning*, ICML 2021) scores features by the **log marginal likelihood (evidence)** of a
Bayesian linear model that predicts the labels from them: high when a simple linear map
of the features explains the labels, without overfitting (the evidence penalises model
complexity by itself). It needs features of a small labelled sample and no training.

Here: one-hot labels, one evidence per class, averaged and divided by the number of
examples, as in the paper. The prior precision ``alpha`` and noise precision ``beta``
are set by MacKay's fixed-point updates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evidence:
    """Evidence of one class (per example), and the precisions it converged to."""

    value: float
    alpha: float
    beta: float
    iterations: int


def class_evidence(features: np.ndarray, target: np.ndarray, max_iterations: int = 50) -> Evidence:
    """Maximised evidence of ``target ≈ features @ w`` with ``w ~ N(0, I/alpha)``, noise ``N(0, 1/beta)``.

    Uses one eigendecomposition of ``features.T @ features``; every update is then O(D).
    """
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    n, d = f.shape
    eigenvalues, vectors = np.linalg.eigh(f.T @ f)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    projected = vectors.T @ (f.T @ y)  # f^T y in the eigenbasis
    alpha, beta, epsilon = 1.0, 1.0, 1e-10
    for iteration in range(1, max_iterations + 1):
        m_coefficients = beta * projected / (alpha + beta * eigenvalues)  # posterior mean, eigenbasis
        gamma = float(np.sum(beta * eigenvalues / (alpha + beta * eigenvalues)))
        mean_norm = float(m_coefficients @ m_coefficients)
        residual = float(np.sum((y - f @ (vectors @ m_coefficients)) ** 2))
        new_alpha = gamma / (mean_norm + epsilon)
        new_beta = max(n - gamma, epsilon) / (residual + epsilon)
        converged = abs(new_alpha / new_beta - alpha / beta) <= 1e-3 * (alpha / beta)
        alpha, beta = new_alpha, new_beta
        if converged:
            break
    value = _evidence(eigenvalues, projected, y, f, vectors, alpha, beta)
    return Evidence(value / n, alpha, beta, iteration)


def _evidence(eigenvalues, projected, y, f, vectors, alpha: float, beta: float) -> float:
    n, d = f.shape
    m = vectors @ (beta * projected / (alpha + beta * eigenvalues))
    residual = float(np.sum((y - f @ m) ** 2))
    return float(
        d / 2 * np.log(alpha) + n / 2 * np.log(beta) - n / 2 * np.log(2 * np.pi)
        - beta / 2 * residual - alpha / 2 * float(m @ m)
        - 0.5 * np.sum(np.log(alpha + beta * eigenvalues))
    )


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME score of ``features`` for integer class ``labels`` (higher: transfers better).

    Raises:
        ValueError: Mismatched lengths, fewer than two classes, or non-finite features.
    """
    features, labels = np.asarray(features), np.asarray(labels)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(
            f"Need features (n, d) and n labels; got {features.shape} and {labels.shape}."
        )
    if not np.all(np.isfinite(features)):
        raise ValueError("Features contain NaN or infinity; check the backbone's input scaling.")
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(f"LogME needs at least two classes in the sample, got {classes.tolist()}.")
    return float(np.mean([class_evidence(features, (labels == k).astype(float)).value for k in classes]))
