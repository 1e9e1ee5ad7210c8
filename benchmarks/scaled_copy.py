"""A prepared tfds image dataset with fewer or more photos, to measure how memory scales with size.

``make bench`` measures the course on the data it finds. To see which notebook's peak grows with
the number of photos, run it on copies of one dataset that differ only in size.
``make bench BENCH_ARGS=--scaling=GLOB`` does so with copies x0.5, x1 and x2; by hand::

    .venv/bin/python -m benchmarks.scaled_copy tf_flowers 0.5 /tmp/flowers-half
    TFDS_DATA_DIR=/tmp/flowers-half make lab    # or any command that reads tf_flowers

A fraction below 1 keeps a seeded sample of the examples. A factor between 1 and 2 appends
copies of the first examples, each mirrored left to right and re-encoded as JPEG, so that no
two files are the same; the copies are near-duplicates, so accuracies measured on such a copy
mean nothing: it is for memory and time only. The copy is written as one tfrecord shard with
its ``dataset_info.json`` updated, and tfds reads it as a prepared dataset. tfds ids name the
shard, so from a source with several shards even a x1 copy splits differently in the course.
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
        ValueError: If ``factor`` is not above 0 and at most 2, the copy would lack a class, the
            source is not one prepared version with a single ``train`` split, or ``out_dir`` is
            the source folder or lies inside it (or holds it).
    """
    import tensorflow as tf

    if not 0 < factor <= 2:
        raise ValueError(f"factor must be above 0 and at most 2 (above 2 the mirrored copies would repeat), "
                         f"got {factor}.")
    source, target_root = Path(source_dir).resolve(), Path(out_dir).resolve()
    if source == target_root or source in target_root.parents or target_root in source.parents:
        raise ValueError(f"Write the copy to a folder apart from {source}: it is emptied first.")
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
        missing = set(map(_label, records)) - set(map(_label, written))
        if missing:
            raise ValueError(f"A x{factor:g} copy ({keep} examples) would lack the classes {sorted(missing)}: "
                             "keep more examples.")
    else:
        written = records + [_mirrored(record) for record in records[:keep - len(records)]]
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


def _label(record: bytes) -> int:
    import tensorflow as tf

    return int(tf.train.Example.FromString(record).features.feature["label"].int64_list.value[0])


def _mirrored(record: bytes) -> bytes:
    """The example ``record`` with its image mirrored left to right (re-encoded as JPEG)."""
    import tensorflow as tf

    example = tf.train.Example.FromString(record)
    feature = example.features.feature
    image = tf.io.decode_image(feature["image"].bytes_list.value[0], channels=3, expand_animations=False)
    feature["image"].bytes_list.value[0] = tf.io.encode_jpeg(image[:, ::-1], quality=90).numpy()
    return example.SerializeToString()


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m benchmarks.scaled_copy NAME FACTOR OUT_DIR``."""
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="tfds dataset name, e.g. tf_flowers")
    parser.add_argument("factor", type=float, help="size relative to the source, above 0 and at most 2, e.g. 0.5")
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
