"""State a claim about a measurement and check it in one line.

The prose of a notebook says what a measurement shows ("fine-tuning beats scratch by at least
20 points"). Numbers change with the machine, the dataset copy and the seed, so the claim is
checked where it is shown::

    claims.check("transfer beats scratch by at least 20 points at 20 photos per class",
                 gain >= 0.20, gain=gain)

prints ``✓ transfer beats scratch ... (gain=0.27)`` and, when the claim does not hold on this
run, raises :class:`ClaimError` with the measured values, so the text never outruns the data.
"""

from __future__ import annotations

import numbers

from helpers.errors import CourseError


class ClaimError(CourseError, AssertionError):
    """A claim the notebook makes about its own measurements does not hold on this run."""


def _format(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    return f"{float(value):.3g}" if abs(float(value)) < 1e4 else f"{float(value):,.0f}"


def check(statement: str, holds: object, **measured: object) -> None:
    """Print ``statement`` with the ``measured`` values when ``holds``; raise otherwise.

    Args:
        statement: The claim in words, as the prose makes it.
        holds: The claim's test, evaluated by the caller (e.g. ``gain >= 0.20``); any value
            that is true or false (NumPy booleans included).
        **measured: The values the claim rests on, shown in both cases.

    Prints ``"✓ statement (name=value, ...)"``; returns nothing, so a notebook cell that ends
    with a check shows the line once.

    Raises:
        ClaimError: If ``holds`` is false: the message names the claim and the values.
        ValueError: For an empty statement.
    """
    if not statement.strip():
        raise ValueError("A claim needs a statement: say in words what the measurement shows.")
    values = ", ".join(f"{name}={_format(value)}" for name, value in measured.items())
    shown = f"{statement} ({values})" if values else statement
    if not bool(holds):
        raise ClaimError(
            f"Claim does not hold on this run: {shown}. The text around this cell says otherwise: "
            "check the parameters (config.param) and the data; a changed setting can change the result."
        ) from None
    print(f"✓ {shown}")


def check_on_cpu(statement: str, holds: object, **measured: object) -> None:
    """Like :func:`check`, for a claim about timings measured on a CPU.

    On a GPU (Colab, a workstation) the slow side of a comparison shrinks far more than the
    overhead-bound fast side, so a bound chosen for CPUs does not apply: the claim and its values
    are printed as "not checked on a GPU" instead.
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        values = ", ".join(f"{name}={_format(value)}" for name, value in measured.items())
        print(f"– not checked on a GPU (the bound is for CPUs): {statement} ({values})")
        return
    check(f"on this CPU, {statement}", holds, **measured)
