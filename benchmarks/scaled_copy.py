"""A prepared tfds image dataset with fewer or more photos, to measure how memory scales with size.

``make bench`` measures the course on the data it finds. To see which notebook's peak grows with
the number of photos, run it on copies of one dataset that differ only in size::

    .venv/bin/python -m benchmarks.scaled_copy tf_flowers 0.5 /tmp/flowers-half
    TFDS_DATA_DIR=/tmp/flowers-half make bench BENCH_ARGS="--only=06_* --no-write"

A fraction below 1 keeps a seeded sample of the examples. A factor above 1 appends copies of
them, each mirrored left to right (and re-encoded as JPEG) so that no two files are the same;
the copies are near-duplicates, so accuracies measured on such a copy mean nothing: it is for
memory and time only. The copy is written as one tfrecord shard with its ``dataset_info.json``
updated, and tfds reads it like the original.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np


def scaled_copy(source_dir: str | Path, name: str, factor: float, out_dir: str | Path, seed: int = 0) -> int:
    """Write ``name`` from the tfds folder ``source_dir`` to ``out_dir`` with ``factor`` times its examples.

    Args:
        source_dir: A ``TFDS_DATA_DIR`` holding one prepared version of ``name`` (one ``train`` split).
        name: The dataset, e.g. ``"tf_flowers"``.
        factor: Size of the copy relative to the source, above 0 (e.g. 0.25, 0.5 or 2).
        out_dir: The new ``TFDS_DATA_DIR``; emptied first.
        seed: Seed of the sample when ``factor`` is below 1.

    Returns:
        The number of examples written.

    Raises:
        ValueError: If ``factor`` is not positive, or the source is not one prepared version with
            a single ``train`` split.
    """
    import tensorflow as tf

    if not factor > 0:
        raise ValueError(f"factor must be above 0, got {factor}.")
    versions = sorted(p for p in (Path(source_dir) / name).glob("*") if (p / "dataset_info.json").is_file())
    if len(versions) != 1:
        raise ValueError(f"Expected one prepared version of {name} under {source_dir}, found {len(versions)}.")
    version = versions[0]
    info = json.loads((version / "dataset_info.json").read_text())
    if [s["name"] for s in info["splits"]] != ["train"]:
        raise ValueError(f"Expected one 'train' split in {version}, found {[s['name'] for s in info['splits']]}.")
    records = [bytes(r.numpy()) for r in tf.data.TFRecordDataset(sorted(map(str, version.glob(f"{name}-train.*"))))]
    keep = round(len(records) * factor)
    if factor <= 1:
        order = np.sort(np.random.default_rng(seed).permutation(len(records))[:keep])
        written = [records[i] for i in order]
    else:
        written = [records[i % len(records)] if i < len(records) else _mirrored(records[i % len(records)], i)
                   for i in range(keep)]
    target = Path(out_dir) / name / version.name
    shutil.rmtree(Path(out_dir) / name, ignore_errors=True)
    target.mkdir(parents=True)
    for path in version.iterdir():
        if path.suffix in {".json", ".txt"}:
            shutil.copyfile(path, target / path.name)
    shard = target / f"{name}-train.tfrecord-00000-of-00001"
    with tf.io.TFRecordWriter(str(shard)) as writer:
        for record in written:
            writer.write(record)
    info["splits"] = [{**info["splits"][0], "shardLengths": [str(len(written))], "numBytes": str(shard.stat().st_size)}]
    (target / "dataset_info.json").write_text(json.dumps(info, indent=1))
    return len(written)


def _mirrored(record: bytes, index: int) -> bytes:
    """The example ``record`` with its image mirrored left to right and a new file name."""
    import tensorflow as tf

    example = tf.train.Example.FromString(record)
    feature = example.features.feature
    image = tf.io.decode_image(feature["image"].bytes_list.value[0], channels=3, expand_animations=False)
    feature["image"].bytes_list.value[0] = tf.io.encode_jpeg(image[:, ::-1], quality=90).numpy()
    if "image/filename" in feature:
        feature["image/filename"].bytes_list.value[0] = f"mirrored_{index}.jpg".encode()
    return example.SerializeToString()


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.scaled_copy NAME FACTOR OUT_DIR``."""
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="tfds dataset name, e.g. tf_flowers")
    parser.add_argument("factor", type=float, help="size relative to the source, e.g. 0.25 or 2")
    parser.add_argument("out_dir", help="the new TFDS_DATA_DIR (emptied first)")
    parser.add_argument("--source", default=os.environ.get("TFDS_DATA_DIR", str(Path.home() / "tensorflow_datasets")),
                        help="the TFDS_DATA_DIR to copy from (default: $TFDS_DATA_DIR)")
    args = parser.parse_args(argv)
    try:
        count = scaled_copy(args.source, args.name, args.factor, args.out_dir)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.name}: {count} examples written to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
