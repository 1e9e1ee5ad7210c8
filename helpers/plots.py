"""Figures the notebooks draw: image grids, learning curves."""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure


def image_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    columns: int = 4,
    size: float = 2.2,
    cmap: str | None = None,
) -> Figure:
    """Draw images in a grid with optional titles and return the figure.

    Float images in [0, 255] (as the data pipeline yields them) are shown as such;
    single-channel images use ``cmap`` (grey by default).

    Raises:
        ValueError: No images, a title count that does not match, or ``columns < 1``.
    """
    images = list(images)
    if not images:
        raise ValueError("image_grid needs at least one image.")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"Got {len(images)} images but {len(titles)} titles.")
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}.")
    columns = min(columns, len(images))
    rows = math.ceil(len(images) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        image = np.asarray(images[index])
        if image.ndim == 3 and image.shape[-1] == 3 and image.dtype != np.uint8 and image.max() > 1:
            image = np.clip(image, 0, 255).astype(np.uint8)
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        axis.imshow(image, cmap=cmap or ("gray" if image.ndim == 2 else None))
        if titles is not None:
            axis.set_title(titles[index], fontsize=9)
    figure.tight_layout()
    return figure


def show_examples(
    dataset: tf.data.Dataset, class_names: Sequence[str], count: int = 8, columns: int = 4
) -> Figure:
    """Draw the first ``count`` images of a batched ``(images, labels)`` dataset."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}.")
    images, labels = [], []
    for batch_images, batch_labels in dataset.unbatch().take(count):
        images.append(batch_images.numpy())
        labels.append(class_names[int(batch_labels)])
    return image_grid(images, labels, columns=columns)


def plot_history(history, metrics: Sequence[str] = ("loss", "accuracy"), title: str = "") -> Figure:
    """Plot training and validation curves from a Keras ``History`` (or its dict).

    Raises:
        ValueError: If a requested metric was not recorded.
    """
    logs = history.history if hasattr(history, "history") else dict(history)
    missing = [m for m in metrics if m not in logs]
    if missing:
        raise ValueError(f"History has no {missing}; it recorded {sorted(logs)}.")
    figure, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
    for axis, metric in zip(axes.flat, metrics):
        epochs = np.arange(1, len(logs[metric]) + 1)
        axis.plot(epochs, logs[metric], "o-", label="training")
        if f"val_{metric}" in logs:
            axis.plot(epochs, logs[f"val_{metric}"], "s--", label="validation")
        axis.set_xlabel("epoch")
        axis.set_ylabel(metric)
        axis.legend()
        axis.grid(alpha=0.3)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def overlay_heatmaps(
    images: Sequence[np.ndarray] | np.ndarray,
    heatmaps: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    columns: int = 4,
    alpha: float = 0.45,
) -> Figure:
    """Draw each image with its heatmap (values in [0, 1], any resolution) laid over it.

    Raises:
        ValueError: If the numbers of images and heatmaps differ.
    """
    images, heatmaps = list(images), list(heatmaps)
    if len(images) != len(heatmaps):
        raise ValueError(f"Got {len(images)} images but {len(heatmaps)} heatmaps.")
    figure = image_grid(images, titles, columns=columns)
    for axis, image, heatmap in zip(figure.axes, images, heatmaps):
        height, width = np.asarray(image).shape[:2]
        axis.imshow(heatmap, cmap="jet", alpha=alpha, extent=(0, width, height, 0),
                    interpolation="bilinear", vmin=0, vmax=1)
    return figure


def plot_data_efficiency(
    curves: dict[str, dict[str, dict[int, list[float]]]], chance: float | None = None,
    xlabel: str = "labelled examples per class", ylabel: str = "test accuracy",
) -> Figure:
    """Plot a test score against the number of labelled examples, one panel per domain.

    Args:
        curves: ``{panel title: curve}``, each curve ``{method: {size: [score per seed]}}``
            as :func:`helpers.efficiency.measure_curve` returns it. Error bars are the
            sample standard deviation over seeds (``ddof=1``; none where a size ran once).
        chance: Score of guessing, drawn as a dotted line when given.
        xlabel, ylabel: Axis labels (defaults: classification by examples per class).
    """
    figure, axes = plt.subplots(1, len(curves), figsize=(5.5 * len(curves), 3.8), squeeze=False, sharey=True)
    for axis, (title, curve) in zip(axes.flat, curves.items()):
        for method, by_size in curve.items():
            sizes = sorted(by_size)
            spread = [np.std(by_size[n], ddof=1) if len(by_size[n]) > 1 else 0.0 for n in sizes]
            axis.errorbar(sizes, [np.mean(by_size[n]) for n in sizes], yerr=spread,
                          marker="o", capsize=3, label=method)
        if chance is not None:
            axis.axhline(chance, color="grey", linestyle=":", label="chance")
        axis.set_xscale("log")
        axis.set_xticks(sizes, [str(n) for n in sizes])
        axis.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())  # no 6×10⁰ labels among the sizes
        axis.set(xlabel=xlabel, ylabel=ylabel, title=title)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return figure


def segmentation_overlays(
    images: np.ndarray, true_masks: np.ndarray, predicted_masks: np.ndarray, titles: Sequence[str], size: float = 2.4
) -> Figure:
    """One row per image: the image, the true mask (green outline) and the prediction (magenta outline).

    Raises:
        ValueError: Different numbers of images, masks and titles.
    """
    if not len(images) == len(true_masks) == len(predicted_masks) == len(titles) > 0:
        raise ValueError(f"Need as many true masks, predicted masks and titles as images ({len(images)}), "
                         f"got {len(true_masks)}, {len(predicted_masks)} and {len(titles)}.")
    figure, axes = plt.subplots(len(images), 2, figsize=(2 * size, size * len(images)), squeeze=False)
    for row, (image, truth, guess, title) in enumerate(zip(images, true_masks, predicted_masks, titles)):
        axes[row, 0].imshow(np.asarray(image, np.uint8))
        axes[row, 0].set_title(title, fontsize=9)
        axes[row, 1].imshow(np.asarray(image, np.uint8))
        for mask, colour in ((truth, "lime"), (guess, "magenta")):
            if np.any(mask) and not np.all(mask):
                axes[row, 1].contour(np.asarray(mask, float), levels=[0.5], colors=colour, linewidths=1.5)
        axes[row, 1].set_title("true (green), predicted (magenta)", fontsize=9)
    for axis in axes.flat:
        axis.axis("off")
    figure.tight_layout()
    return figure


def confusion_matrix(matrix: np.ndarray, names: Sequence[str], title: str = "", axis=None,
                     what: str = "") -> Figure:
    """Draw a confusion matrix with its counts: rows the truth, columns the prediction.

    Args:
        matrix: ``(k, k)`` counts (:func:`helpers.evaluation.confusion`).
        names: The ``k`` class names, in order.
        title: Axis title.
        axis: Draw into this matplotlib axis (for side-by-side matrices); a new figure otherwise.
        what: What the classes are, for the axis labels (e.g. ``"digit"``).

    Raises:
        ValueError: If the matrix is not square with one name per row.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or len(names) != len(matrix):
        raise ValueError(f"Need a square matrix with one name per row; got {matrix.shape} and {len(names)} names.")
    if axis is None:
        _, axis = plt.subplots(figsize=(0.45 * len(names) + 1, 0.4 * len(names) + 1))
    axis.imshow(matrix, cmap="Blues")
    for (row, column), count in np.ndenumerate(matrix):
        axis.text(column, row, count, ha="center", va="center", fontsize=7,
                  color="white" if count > matrix.max() / 2 else "black")
    axis.set(xticks=range(len(names)), yticks=range(len(names)), xticklabels=names, yticklabels=names,
             xlabel=f"predicted {what}".strip(), ylabel=f"true {what}".strip(), title=title)
    axis.tick_params(axis="x", labelrotation=45 if max(len(str(n)) for n in names) > 2 else 0)
    return axis.figure
