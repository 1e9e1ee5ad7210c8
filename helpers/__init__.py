"""Helpers for the *Transfer Learning, Hands-On* notebooks.

One module per concern; notebooks import modules, not objects::

    from helpers import config, data, models, features, plots, results

Nothing here runs at import time (no seeds set, no downloads, no TensorFlow import
in this file), so ``import helpers`` is cheap.
"""

__all__ = [
    "availability",
    "claims",
    "config",
    "conv_arithmetic",
    "crops",
    "data",
    "domain_gap",
    "efficiency",
    "errors",
    "evaluation",
    "exercises",
    "features",
    "loss_checks",
    "memory",
    "models",
    "own_images",
    "photos",
    "plots",
    "prepare_offline",
    "progress",
    "recipe",
    "results",
    "segmentation",
    "significance",
    "speech",
    "speech_encoder",
    "text",
    "timing",
    "transferability",
]
