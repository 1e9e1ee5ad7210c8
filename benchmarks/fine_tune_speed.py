"""Training images/s of the course's fine-tuning recipe, on whatever device Keras finds.

The recipe of notebook 05: MobileNetV2 at 224 px, unfrozen from ``block_16_expand`` with
BatchNormalization frozen, a linear head, Adam, sparse cross-entropy from logits. Inputs
are random tensors held in memory: speed does not depend on the pixels, and this isolates
the model from the input pipeline (measured separately by ``benchmarks.run``).

Backend-neutral Keras 3, so it runs where TensorFlow is not installed (``KERAS_BACKEND=jax``)::

    python -m benchmarks.fine_tune_speed --batch-sizes 16 64 --policies float32 mixed_float16

Prints one JSON object per setting and, with ``--out``, writes them all to a file.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def measure(batch_size: int, policy: str, steps: int, classes: int = 5) -> dict[str, Any]:
    """Images/s of ``steps`` training steps after two warm-up steps (compilation)."""
    import keras
    import numpy as np

    from helpers import models

    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(42)
    base = models.build_backbone("mobilenet_v2", weights=None)
    models.unfreeze_top_layers(base, "block_16_expand")
    inputs = keras.Input((224, 224, 3))
    outputs = keras.layers.Dense(classes, dtype="float32")(base(inputs, training=False))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch_size, 224, 224, 3)).astype("float32")
    labels = rng.integers(0, classes, batch_size)
    for _ in range(2):
        model.train_on_batch(images, labels)
    start = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(images, labels)
    float(np.asarray(loss))  # wait for the device to finish
    seconds = time.perf_counter() - start
    keras.mixed_precision.set_global_policy("float32")
    return {
        "backend": keras.backend.backend(),
        "device": _device(),
        "batch_size": batch_size,
        "policy": policy,
        "steps": steps,
        "seconds": seconds,
        "images_per_second": steps * batch_size / seconds,
    }


def _device() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return str(jax.devices()[0].device_kind)
    if backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        return gpus[0].name if gpus else "CPU"
    return backend


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16])
    parser.add_argument("--policies", nargs="+", default=["float32"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.steps < 1 or min(args.batch_sizes) < 1:
        parser.error("--steps and --batch-sizes must be positive")
    rows = []
    for policy in args.policies:
        for batch_size in args.batch_sizes:
            rows.append(measure(batch_size, policy, args.steps))
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
