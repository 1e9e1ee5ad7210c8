"""Checks for the exercises: a learner runs one and reads "correct" or a hint.

A check never raises on a wrong answer: it returns a :class:`Verdict`, which Jupyter
displays as "Correct!" or "Not yet. Hint: ..." and which is truthy only when correct.
An answer left as ``None`` means "not attempted yet". Solution cells ``assert`` the
same checks, so CI proves that every published solution passes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from helpers.data import ImageSplits


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check; displays as its message, truthy only when correct."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __repr__(self) -> str:
        return self.message


def report(correct: bool | None, hint: str) -> Verdict:
    """Turn a comparison into a :class:`Verdict`.

    Args:
        correct: ``True``/``False``, or ``None`` when nothing was attempted yet.
        hint: What to look at again when the answer is wrong.
    """
    if correct is None:
        return Verdict(False, "Not attempted yet: replace `None` with your answer and run this cell again.")
    if correct:
        return Verdict(True, "Correct!")
    return Verdict(False, f"Not yet. Hint: {hint}")


def _attempted(answer: Any) -> bool:
    return answer is not None


def check_class_count(answer: int | None, splits: ImageSplits, split: str, class_name: str) -> Verdict:
    """Check the number of images of ``class_name`` in ``split``."""
    if not _attempted(answer):
        return report(None, "")
    truth = splits.class_counts(split)[class_name]
    return report(
        int(answer) == truth,
        f"count labels equal to class_names.index({class_name!r}) in the {split!r} split, "
        "for example with `splits.class_counts(...)` or `np.bincount`.",
    )


def check_names_in_imagenet(answer: set[str] | list[str] | None, our_classes: list[str],
                            imagenet_classes: list[str]) -> Verdict:
    """Check which of ``our_classes`` are also ImageNet class names (exact match)."""
    if not _attempted(answer):
        return report(None, "")
    truth = {name for name in our_classes if name in set(imagenet_classes)}
    return report(
        {str(a) for a in answer} == truth,
        "compare the two lists of names with a set intersection; ImageNet writes its "
        "names in lower case with underscores.",
    )


def check_close(answer: float | np.ndarray | None, truth: float | np.ndarray,
                hint: str, tolerance: float = 1e-6) -> Verdict:
    """Check a numeric answer (scalar or array) against ``truth`` to ``tolerance``."""
    if not _attempted(answer):
        return report(None, hint)
    answer, truth = np.asarray(answer, dtype=float), np.asarray(truth, dtype=float)
    if answer.shape != truth.shape:
        return report(False, f"expected shape {truth.shape}, got {answer.shape}; {hint}")
    return report(bool(np.allclose(answer, truth, atol=tolerance, rtol=0)), hint)
