"""How sure is a measured accuracy, and is one model really better than another?

A test set of a few hundred photos measures accuracy with an error of a few points, so two
models a point apart may be equally good. The statistics come from SciPy:

* :func:`accuracy_interval` — Wilson's 95 % interval for one accuracy
  (``scipy.stats.binomtest(...).proportion_ci``).
* :func:`compare` — two classifiers on the **same** test examples: the exact McNemar test (a
  binomial test on the examples exactly one model gets right; Dietterich, 1998) and a paired
  bootstrap interval for the difference (``scipy.stats.bootstrap``).
* :func:`compare_scores` — two models' continuous scores per example (Dice of each image): the
  Wilcoxon signed-rank test (``scipy.stats.wilcoxon``) with its Hodges–Lehmann pseudo-median,
  and a BCa bootstrap interval of the mean difference.
* :func:`holm`, :func:`holm_adjusted` — several tests in one cell (one per training size): Holm's adjusted p-values,
  so that the chance of any false alarm among them stays at the stated level. SciPy has no
  Holm correction and statsmodels would bring pandas, so it is written here (a few lines,
  tested against a worked example).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np
from scipy import stats

from helpers import config

Key = TypeVar("Key")
Tested = TypeVar("Tested", "Comparison", "ScoreComparison")


def _whole(values: np.ndarray) -> bool:
    """Whether no value is a fraction: floats must be whole; integers, booleans and strings always pass."""
    if values.dtype.kind != "f":
        return True
    with np.errstate(invalid="ignore"):
        return bool(np.all(np.isfinite(values) & (values == np.round(values))))


def _correct(labels: np.ndarray, predictions: np.ndarray, name: str) -> np.ndarray:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.ndim != 1 or not _whole(labels):
        raise ValueError(
            f"labels: give one true class index per example, a 1-D vector of whole numbers; got shape {labels.shape}"
            + ("" if _whole(labels) else " with values that are not whole numbers")
            + " (one-hot labels: labels.argmax(axis=1); a column: labels.ravel())."
        )
    if predictions.ndim == 2 and predictions.shape[1] == 1:
        if _whole(predictions):
            raise ValueError(
                f"{name}: a column of {predictions.shape[0]} predicted classes, shape {predictions.shape}; "
                "pass them as a 1-D vector, e.g. predictions.ravel()."
            )
        if np.all((predictions >= 0) & (predictions <= 1)):
            raise ValueError(
                f"{name}: one column of scores per example (a sigmoid output?) has no class to take the largest of; "
                "threshold it first, e.g. (probabilities[:, 0] > 0.5).astype(int), and pass the predicted classes."
            )
        raise ValueError(
            f"{name}: one column of scores per example, outside 0..1 (a single logit?) has no class to take the "
            "largest of; threshold it first, e.g. (logits[:, 0] > 0).astype(int), and pass the predicted classes."
        )
    if predictions.ndim == 2:  # probabilities or logits: take the predicted class
        predictions = predictions.argmax(axis=1)
    elif not _whole(predictions):
        raise ValueError(
            f"{name}: predictions that are not whole numbers (probabilities?) are not classes; pass the predicted "
            "class index of each example, e.g. probabilities.argmax(axis=1), or the whole (n, classes) array of "
            "probabilities."
        )
    if predictions.shape != labels.shape:
        raise ValueError(
            f"{name}: {predictions.shape[0] if predictions.ndim else 0} predictions for {labels.shape[0]} "
            "labels; predict on the same test examples, in the same order, as the labels."
        )
    if labels.size == 0:
        raise ValueError(f"{name}: no test examples; accuracy needs at least one.")
    return predictions == labels


def accuracy_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for an accuracy of ``correct`` out of ``total``.

    Raises:
        ValueError: If ``total`` < 1, ``correct`` is outside 0..total, or either is not a whole number.
    """
    if not all(float(count).is_integer() for count in (correct, total)) or total < 1 or not 0 <= correct <= total:
        raise ValueError(f"Need whole numbers with 0 <= correct <= total and total >= 1, got {correct} of {total}; "
                         "count the correct examples, e.g. int((predictions == labels).sum()).")
    interval = stats.binomtest(int(correct), int(total)).proportion_ci(confidence, method="wilson")
    return float(interval.low), float(interval.high)


class _PairedVerdict:
    """What every paired comparison says in words; subclasses name the test's words."""

    names: tuple[str, str]
    p_value: float
    confidence: float
    difference_interval: tuple[float, float]
    family_size: int
    _higher = "beats"
    _none = "no significant difference"

    @property
    def difference(self) -> float:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    @property
    def significant(self) -> bool:
        """Whether the paired test rejects "neither is better" at level ``1 - confidence``."""
        return self.p_value < 1 - self.confidence

    def verdict(self) -> str:
        """"A beats B" (or the subclass's words), or "no ... difference between A and B"."""
        if not self.significant:
            return f"{self._none} between {self.names[0]} and {self.names[1]}"
        winner, loser = self.names if self.difference > 0 else self.names[::-1]
        return f"{winner} {self._higher} {loser}"

    def interval_text(self) -> str:
        """The paired interval of the difference in words, e.g. ``"95% paired interval +0.010 to +0.050"``.

        After :func:`holm_adjusted` only the p-value (and so the verdict) is adjusted, not the
        interval; the text then says so: ``"..., not adjusted for the 3 comparisons"``.
        """
        low, high = self.difference_interval
        text = f"{self.confidence * 100:.4g}% paired interval {low:+.3f} to {high:+.3f}"
        return text + (f", not adjusted for the {self.family_size} comparisons" if self.family_size > 1 else "")

    def __repr__(self) -> str:
        return self.summary()

    def summary(self) -> str:  # pragma: no cover - every subclass defines it
        raise NotImplementedError


def _p_text(test: Comparison | ScoreComparison) -> str:
    """``"p = 0.012"``, ``"p < 1e-300"`` where it underflows, with the correction if any."""
    text = "p < 1e-300" if test.p_value == 0 else f"p = {test.p_value:.3g}"
    return f"{text} ({test.correction})" if test.correction else text


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given (Holm, 1979).

    Sort the ``m`` p-values; multiply the ``i``-th smallest (from 0) by ``m - i``, make the
    results non-decreasing and cap them at 1. A test is significant at family level ``alpha``
    when its adjusted p-value is below ``alpha``: the chance of one or more false alarms among
    the ``m`` tests is then at most ``alpha``, whatever their dependence. Never less strict than
    the single tests, and never stricter than Bonferroni's ``m * p``.

    Raises:
        ValueError: No p-values, or one outside 0..1.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or p.size == 0 or np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError(f"holm needs a list of p-values between 0 and 1, got {p_values!r}.")
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted.tolist()


def holm_adjusted(comparisons: Mapping[Key, Tested]) -> dict[Key, Tested]:
    """The same paired comparisons with Holm-adjusted p-values: one family of tests.

    Their verdicts (``significant``, ``verdict()``, the printed summary) then keep the chance
    of any false alarm among them at the usual level; each summary names the correction.
    The intervals of the differences are left as they were, for one comparison each: an
    interval may exclude zero while the adjusted verdict finds no difference. Their printed
    text (``summary()``, ``interval_text()``) says "not adjusted for the N comparisons".

    Raises:
        ValueError: If there is no comparison.
    """
    if not comparisons:
        raise ValueError("holm_adjusted needs at least one comparison.")
    adjusted = holm([c.p_value for c in comparisons.values()])
    note = f"Holm-adjusted over {len(comparisons)} tests"
    return {key: replace(c, p_value=p, correction=note, family_size=len(comparisons))
            for (key, c), p in zip(comparisons.items(), adjusted)}


@dataclass(frozen=True, repr=False)
class Comparison(_PairedVerdict):
    """Two classifiers scored on the same test examples; "significant" is the exact McNemar test's."""

    names: tuple[str, str]
    accuracies: tuple[float, float]
    total: int
    only_first: int
    """Examples the first model gets right and the second wrong."""
    only_second: int
    difference_interval: tuple[float, float]
    """Paired bootstrap interval for accuracy(first) - accuracy(second)."""
    p_value: float
    """Exact McNemar test: the chance of a split of disagreements this uneven if neither is better."""
    confidence: float = 0.95
    correction: str = ""
    """How ``p_value`` was adjusted for several tests (:func:`holm_adjusted`), or empty."""
    family_size: int = 1
    """How many tests ``p_value`` was adjusted over (1: none); ``difference_interval`` is never adjusted."""

    @property
    def difference(self) -> float:
        """Accuracy of the first model minus that of the second."""
        return self.accuracies[0] - self.accuracies[1]

    def summary(self) -> str:
        """Both accuracies with their intervals, the paired difference and the test, as text."""
        level = f"{self.confidence * 100:.4g}%"
        lines = []
        for name, accuracy in zip(self.names, self.accuracies):
            low, high = accuracy_interval(round(accuracy * self.total), self.total, self.confidence)
            lines.append(f"{name}: {accuracy:.3f} ({level} interval {low:.3f}-{high:.3f}, n={self.total})")
        lines.append(f"difference {self.difference:+.3f} ({self.interval_text()}); "
                     f"disagreements {self.only_first} vs {self.only_second}, McNemar {_p_text(self)}")
        lines.append(f"=> {self.verdict()}")
        return "\n".join(lines)


def compare(
    labels: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    names: tuple[str, str] = ("first", "second"),
    confidence: float = 0.95,
    resamples: int = 2000,
) -> Comparison:
    """Compare two classifiers' predictions on the same test examples.

    Args:
        labels: True class index of each test example (a 1-D vector of whole numbers).
        first, second: Each model's predicted class index per example (a 1-D vector of whole
            numbers), or its probabilities or logits as an ``(n, classes)`` array (the largest
            counts). A 1-D vector of probabilities, or a single ``(n, 1)`` column, is refused:
            it names no class.
        names: How to call the two models in the summary.
        confidence: Level of the intervals; the test's level is ``1 - confidence``.
        resamples: Bootstrap resamples for the interval of the difference (seeded).

    Raises:
        ValueError: If the predictions do not match the labels in number, or labels or 1-D
            predictions are not whole numbers (pass ``probabilities.argmax(axis=1)``).
    """
    labels = np.asarray(labels)
    right_first = _correct(labels, first, names[0])
    right_second = _correct(labels, second, names[1])
    only_first = int(np.sum(right_first & ~right_second))
    only_second = int(np.sum(~right_first & right_second))
    disagreements = only_first + only_second
    p_value = 1.0 if disagreements == 0 else float(stats.binomtest(only_first, disagreements).pvalue)
    if disagreements == 0:
        interval = (0.0, 0.0)
    else:
        result = stats.bootstrap(
            (right_first.astype(float), right_second.astype(float)),
            lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
            paired=True, vectorized=True, n_resamples=resamples, confidence_level=confidence,
            method="percentile", rng=np.random.default_rng(config.SEED),
        )
        interval = (float(result.confidence_interval.low), float(result.confidence_interval.high))
    return Comparison(
        names=(str(names[0]), str(names[1])),
        accuracies=(float(right_first.mean()), float(right_second.mean())),
        total=int(labels.size), only_first=only_first, only_second=only_second,
        difference_interval=interval, p_value=p_value, confidence=confidence,
    )


def pseudo_median(differences: np.ndarray) -> float:
    """Hodges–Lehmann estimate: the median of the Walsh averages ``(d_i + d_j) / 2``, ``i <= j``.

    The location the Wilcoxon signed-rank test is about: it can differ from the mean, even in
    sign (thirty small gains and one huge loss: a positive pseudo-median, a negative mean).

    Raises:
        ValueError: Not a non-empty 1-D array of numbers.
    """
    values = np.asarray(differences, dtype=float)
    if values.ndim != 1 or not values.size:
        raise ValueError(f"Need one difference per example (a non-empty 1-D array), got shape {values.shape}.")
    first, second = np.triu_indices(values.size)
    return float(np.median((values[first] + values[second]) / 2))


def mean_interval(values: np.ndarray, confidence: float = 0.95, resamples: int = 10_000) -> tuple[float, float]:
    """Bias-corrected and accelerated (BCa) bootstrap interval for the mean of ``values`` (seeded).

    Each tail of a percentile interval rests on ``resamples * (1 - confidence) / 2`` resamples:
    at a family level of 0.05 / 4, 2,000 resamples leave about 12, so its bounds move from seed
    to seed; 10,000 leave about 62. BCa also corrects the bias and skew of the bootstrap
    distribution (``scipy.stats.bootstrap(method="BCa")``). Equal values give ``(value, value)``.

    Raises:
        ValueError: Fewer than two values, or not a 1-D array.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.size < 2:
        raise ValueError(f"A bootstrap interval needs a 1-D array of at least two values, got shape {values.shape}.")
    if np.ptp(values) <= 1e-12 * max(1.0, float(np.abs(values).max())):  # no spread (but rounding): every
        return float(values.mean()), float(values.mean())  # resample has the same mean; BCa would divide by zero
    result = stats.bootstrap((values,), np.mean, vectorized=True, n_resamples=resamples, confidence_level=confidence,
                             method="BCa", rng=np.random.default_rng(config.SEED))
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


@dataclass(frozen=True, repr=False)
class ScoreComparison(_PairedVerdict):
    """Two models scored example by example on the same test examples (Dice, IoU, any continuous score).

    ``p_value`` (Wilcoxon signed-rank) and ``pseudo_median`` (Hodges–Lehmann) support "example
    by example, the first scores higher"; ``difference_interval`` (BCa bootstrap,
    :func:`mean_interval`) supports a claim about the mean difference ("higher by at least 0.05
    on average").
    """

    names: tuple[str, str]
    means: tuple[float, float]
    total: int
    difference_interval: tuple[float, float]
    """BCa bootstrap interval for mean(first) - mean(second)."""
    p_value: float
    """Wilcoxon signed-rank test on the per-example differences (two-sided)."""
    confidence: float = 0.95
    correction: str = ""
    """How ``p_value`` was adjusted for several tests (:func:`holm_adjusted`), or empty."""
    family_size: int = 1
    """How many tests ``p_value`` was adjusted over (1: none); ``difference_interval`` is never adjusted."""
    pseudo_median: float = 0.0
    """Hodges–Lehmann estimate of the per-example differences (first minus second)."""

    _higher = "scores higher than"
    _none = "no detectable difference"

    @property
    def difference(self) -> float:
        """Mean score of the first model minus that of the second."""
        return self.means[0] - self.means[1]

    def verdict(self) -> str:
        """"A scores higher than B" in the direction of the pseudo-median (the test's own), or "no ..."."""
        if not self.significant or self.pseudo_median == 0:
            return f"{self._none} between {self.names[0]} and {self.names[1]}"
        winner, loser = self.names if self.pseudo_median > 0 else self.names[::-1]
        return f"{winner} {self._higher} {loser}"

    def summary(self) -> str:
        """Both means, the mean difference with its BCa interval, the pseudo-median with the test, the verdict."""
        means = ", ".join(f"{name} {mean:.3f}" for name, mean in zip(self.names, self.means))
        return (f"mean per example (n={self.total}): {means}\n"
                f"mean difference {self.difference:+.3f} ({self.interval_text()}, BCa bootstrap)\n"
                f"pseudo-median difference (Hodges–Lehmann) {self.pseudo_median:+.3f}, "
                f"Wilcoxon signed-rank {_p_text(self)}\n=> {self.verdict()}")


def compare_scores(
    first: np.ndarray,
    second: np.ndarray,
    names: tuple[str, str] = ("first", "second"),
    confidence: float = 0.95,
    resamples: int = 10_000,
) -> ScoreComparison:
    """Compare two models' continuous scores (e.g. Dice per image) on the same test examples.

    The Wilcoxon signed-rank test (``scipy.stats.wilcoxon``) asks whether the per-example
    differences lean one way; it uses their ranks, so a few examples with huge differences do not
    decide it alone, and its estimate is the pseudo-median (:func:`pseudo_median`) of the non-zero
    differences (the test, like ``scipy.stats.wilcoxon`` by default, leaves zeros out). The BCa
    bootstrap interval (:func:`mean_interval`, ``resamples`` resamples) says how large the mean
    difference is.

    Raises:
        ValueError: Score arrays of different lengths, empty, or not one score per example.
    """
    first, second = np.asarray(first, float), np.asarray(second, float)
    if first.ndim != 1 or first.shape != second.shape or not first.size:
        raise ValueError(f"Need one score per test example for both models, got shapes {first.shape} and "
                         f"{second.shape}; score the same examples, in the same order.")
    differences = first - second
    if not np.any(differences):
        p_value, interval = 1.0, (0.0, 0.0)
    else:
        p_value = float(stats.wilcoxon(first, second).pvalue)
        interval = mean_interval(differences, confidence, resamples) if differences.size > 1 else (
            float(differences[0]), float(differences[0]))
    return ScoreComparison(names=(str(names[0]), str(names[1])), means=(float(first.mean()), float(second.mean())),
                           total=int(first.size), difference_interval=interval, p_value=p_value,
                           confidence=confidence, pseudo_median=pseudo_median(differences[differences != 0]) if np.any(differences) else 0.0)
