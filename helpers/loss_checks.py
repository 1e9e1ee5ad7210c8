"""Checks of the arguments of classification losses, with messages that say what to fix.

A loss that silently broadcasts a ``(N,)`` label vector against ``(N, C)`` probabilities
returns a number, just the wrong one. These checks turn such mistakes into errors.
"""

from __future__ import annotations

import numpy as np

_TOLERANCE = 1e-4


def check_probabilities(probabilities: np.ndarray, axis: int | None = -1) -> np.ndarray:
    """Return ``probabilities`` as an array after checking they lie in [0, 1].

    Args:
        probabilities: Predicted probabilities.
        axis: The class axis, whose entries must sum to 1; ``None`` for binary
            probabilities (one number per example).

    Raises:
        ValueError: Values outside [0, 1] (often logits passed by mistake), or rows that
            do not sum to 1.
    """
    p = np.asarray(probabilities, dtype=float)
    if p.size == 0:
        raise ValueError("probabilities are empty.")
    if np.any(p < 0) or np.any(p > 1) or not np.all(np.isfinite(p)):
        raise ValueError(
            "probabilities must lie in [0, 1]; got values from "
            f"{np.nanmin(p):.3g} to {np.nanmax(p):.3g}. Are these logits? Then use the "
            "from-logits form of the loss (or apply softmax/sigmoid first)."
        )
    if axis is not None and not np.allclose(p.sum(axis=axis), 1.0, atol=_TOLERANCE):
        raise ValueError(
            "each row of probabilities must sum to 1 (a softmax output); the sums range "
            f"from {p.sum(axis=axis).min():.3g} to {p.sum(axis=axis).max():.3g}."
        )
    return p


def check_one_hot(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Return one-hot ``labels`` as an array after checking them against ``predictions``.

    Raises:
        ValueError: A shape that differs from the predictions' (often integer labels
            given to the categorical loss), or rows that are not one-hot.
    """
    y, p = np.asarray(labels, dtype=float), np.asarray(predictions)
    if y.shape != p.shape:
        hint = (
            " These look like integer class labels: use the *sparse* categorical loss, or "
            "one-hot encode them with keras.utils.to_categorical."
            if y.ndim == p.ndim - 1
            else ""
        )
        raise ValueError(f"labels have shape {y.shape} but predictions {p.shape}.{hint}")
    if not (np.isin(y, (0.0, 1.0)).all() and np.allclose(y.sum(axis=-1), 1.0)):
        raise ValueError("labels must be one-hot: one 1 per row, zeros elsewhere.")
    return y


def check_class_indices(labels: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Return integer ``labels`` after checking they index the classes of ``predictions``.

    Raises:
        ValueError: Labels that are not whole numbers in ``[0, n_classes)``, or a number
            of labels that differs from the number of predictions.
    """
    y, p = np.asarray(labels), np.asarray(predictions)
    if y.ndim != 1 or p.ndim != 2 or len(y) != len(p):
        raise ValueError(
            f"expected labels of shape (N,) and predictions (N, classes); got {y.shape} and "
            f"{p.shape}."
        )
    if not np.all(np.equal(np.mod(y, 1), 0)) or y.min() < 0 or y.max() >= p.shape[1]:
        raise ValueError(
            f"labels must be whole numbers from 0 to {p.shape[1] - 1} (one per class); "
            f"got values from {y.min()} to {y.max()}."
        )
    return y.astype(int)
