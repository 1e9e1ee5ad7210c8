"""Convolution arithmetic: output sizes, SAME padding, and checks of conv arguments.

Conventions follow ``tf.nn.conv2d``: inputs are ``(batch, height, width, channels)``
(NHWC), kernels ``(kernel_height, kernel_width, in_channels, out_channels)``.
"""

from __future__ import annotations

import math

import numpy as np

from helpers.errors import check_positive_int

PADDINGS = ("VALID", "SAME")


def check_padding(padding: str | int) -> str | int:
    """Return ``"VALID"``/``"SAME"`` (any case) or a non-negative int; else raise ``ValueError``."""
    if isinstance(padding, str) and padding.upper() in PADDINGS:
        return padding.upper()
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        return int(padding)
    raise ValueError(
        f"padding must be 'VALID', 'SAME' or a non-negative number of pixels, got {padding!r}."
    )


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: str | int = "VALID") -> int:
    """Output length along one axis: ``floor((n + 2p - k) / s) + 1``.

    ``"VALID"`` means ``p = 0``; ``"SAME"`` pads so that the output is ``ceil(n / s)``
    (TensorFlow's definition, which may pad one pixel more at the end than the start).

    Raises:
        ValueError: Non-positive sizes or stride, a bad padding, or a kernel larger
            than the padded input.
    """
    size = check_positive_int("size", size)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    stride = check_positive_int("stride", stride)
    padding = check_padding(padding)
    if padding == "SAME":
        return math.ceil(size / stride)
    pixels = 0 if padding == "VALID" else padding
    if size + 2 * pixels < kernel_size:
        raise ValueError(
            f"A {kernel_size}-pixel kernel does not fit in {size} pixels with padding {pixels}; "
            "use a smaller kernel, more padding, or padding='SAME'."
        )
    return (size + 2 * pixels - kernel_size) // stride + 1


def same_padding(size: int, kernel_size: int, stride: int = 1) -> tuple[int, int]:
    """Pixels TensorFlow adds (before, after) along one axis for ``padding="SAME"``."""
    output = conv_output_size(size, kernel_size, stride, "SAME")
    total = max((output - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def check_conv_inputs(inputs: np.ndarray, kernel: np.ndarray, stride: int, padding: str) -> None:
    """Raise a ``ValueError`` that says what to change if these cannot be convolved.

    Args:
        inputs: ``(batch, height, width, in_channels)``.
        kernel: ``(kernel_height, kernel_width, in_channels, out_channels)``.
        stride: Positive step between windows.
        padding: ``"VALID"`` or ``"SAME"``.
    """
    inputs, kernel = np.asarray(inputs), np.asarray(kernel)
    if inputs.ndim != 4:
        raise ValueError(
            f"inputs must have 4 axes (batch, height, width, channels), got shape {inputs.shape}; "
            "for one grey image x use x[None, :, :, None]."
        )
    if kernel.ndim != 4:
        raise ValueError(
            f"kernel must have 4 axes (height, width, in_channels, out_channels), got shape "
            f"{kernel.shape}; for one 2-D filter w use w[:, :, None, None]."
        )
    if inputs.shape[-1] != kernel.shape[2]:
        raise ValueError(
            f"inputs have {inputs.shape[-1]} channels but the kernel expects {kernel.shape[2]}."
        )
    padding = check_padding(padding)
    if not isinstance(padding, str):
        raise ValueError("padding must be 'VALID' or 'SAME' here.")
    for axis, name in ((1, "height"), (2, "width")):
        conv_output_size(inputs.shape[axis], kernel.shape[axis - 1], stride, padding)
