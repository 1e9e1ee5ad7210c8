"""``make bench``: measure the course on this machine, write benchmarks/results.{md,json}.

Run from the project root with the same variables as ``.ci/run`` (offline copies)::

    make bench                                  # everything, about 15 minutes on 2 cores
    .venv/bin/python -m benchmarks.run --skip-notebooks   # only the pipeline measurements

Ratios (pipeline vs bare model, cached vs tutorial training) are measured side by side in
one run, because absolute times on a shared machine drift by 10 % or more.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.measure import (
    NotebookRun,
    current_rss_bytes,
    machine_report,
    markdown_table,
    measure_throughput,
    run_notebook,
    write_json,
)

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "course_minutes": 10.0,
    "notebook_peak_gib": 1.5,
    "pipeline_vs_bare": 0.90,
    "cached_speedup_per_epoch": 50.0,
    "cached_speedup_end_to_end": 5.0,
}


def notebook_runs(pattern: str, allow_errors: bool = False) -> list[NotebookRun]:
    """Execute each matching notebook in a fresh kernel, in course order, as on a learner's first pass.

    The runs share one new, empty cache folder (``TLHO_CACHE_DIR``): each notebook computes what
    it needs or takes it from an earlier notebook of the same run (chapter 05 reuses chapter 04's
    features), never from an earlier session on this machine. A notebook measured alone
    (``--update``) therefore also computes what earlier chapters would have cached for it.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="tlho-bench-cache-") as cache, \
            mock.patch.dict(os.environ, {"TLHO_CACHE_DIR": cache}):  # the kernels inherit it; restored after
        return _runs(pattern, allow_errors)


def _runs(pattern: str, allow_errors: bool = False) -> list[NotebookRun]:
    runs = []
    for path in sorted((ROOT / "notebooks").glob(pattern)):
        start = time.perf_counter()
        try:
            run = run_notebook(path, allow_errors=True) if allow_errors else run_notebook(path)
        except RuntimeError as error:  # record it and go on: one failure must not hide the others' figures
            run = NotebookRun(path.stem, time.perf_counter() - start, 0, error=str(error))
            print(f"  {run.name}: FAILED after {run.seconds:.0f} s: {run.error}", flush=True)
        else:
            print(f"  {run.name}: {run.seconds:6.1f} s, peak {run.peak_rss_gib:.2f} GiB", flush=True)
        runs.append(run)
    return runs


SCALING_FACTORS = (0.5, 1.0, 2.0)
"""Sizes of the tf_flowers copies ``--scaling`` runs on, relative to the one installed."""


def scaling_runs(pattern: str, factors: tuple[float, ...] = SCALING_FACTORS) -> dict[str, Any]:
    """Peak memory of the matching notebooks on copies of tf_flowers with fewer or more photos.

    Each copy (:func:`benchmarks.scaled_copy.scaled_copy` of the tf_flowers in ``TFDS_DATA_DIR``)
    becomes ``TFDS_DATA_DIR`` for one round of fresh kernels that share one new, empty cache (as
    :func:`notebook_runs` runs the course: a later notebook may reuse an earlier one's features). The notebooks run
    past failing cells: their claims were written for the real dataset, and a copy of another size
    (or with mirrored duplicates) may break one; how many cells raised is recorded with the peak.
    """
    import tempfile

    from benchmarks.scaled_copy import scaled_copy
    from helpers import config

    source = config.tfds_data_dir()
    rows = []
    for factor in factors:
        with tempfile.TemporaryDirectory(prefix="tlho-bench-flowers-") as data_dir:
            examples = scaled_copy(source, "tf_flowers", factor, data_dir)
            print(f"tf_flowers x {factor:g}: {examples} photos", flush=True)
            with mock.patch.dict(os.environ, {"TFDS_DATA_DIR": data_dir}):  # the kernels inherit it
                rows.append({"factor": factor, "photos": examples,
                             "notebooks": notebook_runs(pattern, allow_errors=True)})
    return {"dataset": "tf_flowers", "date": machine_report()["date"], "rows": rows}


def scaling_section(report: dict[str, Any]) -> list[str]:
    """The table of peak memory against the number of photos, if ``--scaling`` measured one."""
    scaling = report.get("scaling")
    if not scaling:
        return []
    names = sorted({run["name"] for row in scaling["rows"] for run in row["notebooks"]})

    def cell(row: dict[str, Any], name: str) -> str:
        run = next((r for r in row["notebooks"] if r["name"] == name), None)
        if run is None or run.get("error"):
            return "failed" if run else "-"
        failed = run.get("failed_cells", 0)
        return f"{run['peak_rss_bytes'] / 2**30:.2f} GiB" + (f" ({failed} cell{'s' if failed > 1 else ''} raised)" if failed else "")

    header = ["notebook", *(f"{row['photos']} photos (x{row['factor']:g})" for row in scaling["rows"])]
    return [
        f"## Memory and the number of photos (`--scaling`, {scaling['date']})",
        "",
        "Peak resident memory of the same notebooks on copies of the installed tf_flowers with fewer or more "
        "photos (`python -m benchmarks.scaled_copy`), each notebook in a fresh kernel, each copy with a new, empty "
        "cache that its notebooks share, as on a first pass through the course. Copies above x1 "
        "add mirrored duplicates, so accuracies on them mean nothing; cells whose claims fail on a copy are "
        "counted and the run goes on.",
        "",
        markdown_table(header, [[name, *(cell(row, name) for row in scaling["rows"])] for name in names]),
        "",
    ]


def remeasured(report: dict[str, Any]) -> dict[str, str]:
    """Return ``{notebook: date}`` for the notebooks re-measured alone since the last full run.

    Older reports stored one date for a list of names; each name then gets that date.
    """
    updated = report.get("updated", {})
    names = updated.get("notebooks", {})
    return dict.fromkeys(names, updated.get("date", "")) if isinstance(names, list) else dict(names)


def _completed(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if not r.get("error")]


def pipeline_throughput(images: int, batch_size: int, rounds_count: int = 3) -> dict[str, Any]:
    """Images/s of the course's input pipeline + frozen MobileNetV2 vs the bare forward pass.

    Both run the same ``tf.function`` on the same images at the same batch size; the bare
    pass reads them from tensors already in memory, the pipeline from the tfds files
    (read, JPEG decode, resize, batch, prefetch).
    """
    import numpy as np
    import tensorflow as tf

    from helpers import data, features, models

    flowers = data.load_image_splits("tf_flowers")
    before = current_rss_bytes()
    backbone = models.build_backbone("mobilenet_v2", weights="imagenet")
    model_bytes = current_rss_bytes() - before
    embed = features.embedding_function(backbone, models.preprocess_for("mobilenet_v2"))

    def through_pipeline() -> int:
        count = 0
        for batch, _ in flowers.batches("train", batch_size, limit=images):
            count += int(embed(batch).shape[0])
        return count

    in_memory = [batch for batch, _ in flowers.batches("train", batch_size, limit=images)]

    def bare_forward() -> int:
        return sum(int(embed(batch).shape[0]) for batch in in_memory)

    # Alternate the two, round after round, so that drift of the (shared) machine hits both alike;
    # the median of the per-round ratios is robust to one disturbed round.
    bare_forward(), through_pipeline()  # warm-up: tracing, file cache
    rounds = [(measure_throughput(bare_forward, 1, warm_up=False),
               measure_throughput(through_pipeline, 1, warm_up=False)) for _ in range(rounds_count)]
    ratios = sorted(p.per_second / b.per_second for b, p in rounds)
    bare_rate = float(np.median([b.per_second for b, _ in rounds]))
    pipeline_rate = float(np.median([p.per_second for _, p in rounds]))
    tensor_bytes = sum(int(np.prod(b.shape)) * 4 for b in in_memory)
    del in_memory
    gc.collect()
    return {
        "images": images,
        "batch_size": batch_size,
        "rounds": rounds_count,
        "pipeline_images_per_s": pipeline_rate,
        "bare_forward_images_per_s": bare_rate,
        "pipeline_vs_bare": float(np.median(ratios)),
        "pipeline_vs_bare_per_round": ratios,
        "mobilenet_v2_parameters": backbone.count_params(),
        "mobilenet_v2_weight_bytes": backbone.count_params() * 4,
        "mobilenet_v2_rss_increase_bytes": model_bytes,
        "in_memory_float32_batches_bytes": tensor_bytes,
        "tf_version": tf.__version__,
    }


def training_speed(images: int, epochs: int, batch_size: int) -> dict[str, Any]:
    """Head training per epoch: cached features vs the frozen base inside the model."""
    import keras
    import numpy as np

    from helpers import config, data, features, models, timing

    keras.utils.set_random_seed(config.SEED)
    flowers = data.load_image_splits("tf_flowers")
    base = models.build_backbone("mobilenet_v2", weights="imagenet")
    base.trainable = False
    preprocess = models.preprocess_for("mobilenet_v2")
    train_images = flowers.batches("train", batch_size, limit=images, cache=True)
    val_images = flowers.batches("validation", batch_size)

    def new_head() -> keras.Model:
        head = keras.Sequential([keras.Input((base.output_shape[-1],)), keras.layers.Dropout(0.2),
                                 keras.layers.Dense(flowers.num_classes)])
        return head

    def compiled(model: keras.Model) -> keras.Model:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), metrics=["accuracy"],
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    inputs = keras.Input((config.IMAGE_SIZE, config.IMAGE_SIZE, 3))
    tutorial = compiled(keras.Model(inputs, new_head()(base(preprocess(inputs), training=False))))
    tutorial_timer = timing.epoch_timer()
    tutorial.fit(train_images, epochs=epochs, callbacks=[tutorial_timer], shuffle=False, verbose=0)
    tutorial_accuracy = tutorial.evaluate(val_images, verbose=0)[1]

    with timing.Stopwatch() as extraction:
        train_x, train_y = features.compute_features(base, preprocess, train_images)
    val_x, val_y = features.compute_features(base, preprocess, val_images)
    cached = compiled(new_head())
    cached_timer = timing.epoch_timer()
    cached.fit(train_x, train_y, epochs=epochs, batch_size=batch_size, callbacks=[cached_timer], verbose=0)
    cached_accuracy = cached.evaluate(val_x, val_y, verbose=0)[1]

    # The first epoch also traces the training graph: steady state is the mean of the rest.
    tutorial_epoch = float(np.mean(tutorial_timer.seconds[1:]))
    cached_epoch = float(np.mean(cached_timer.seconds[1:]))
    tutorial_total = float(np.sum(tutorial_timer.seconds))
    cached_total = extraction.seconds + float(np.sum(cached_timer.seconds))
    return {
        "images": images,
        "epochs": epochs,
        "batch_size": batch_size,
        "tutorial_seconds_per_epoch": tutorial_epoch,
        "cached_seconds_per_epoch": cached_epoch,
        "cached_speedup_per_epoch": tutorial_epoch / cached_epoch,
        "feature_extraction_seconds": extraction.seconds,
        "tutorial_seconds_end_to_end": tutorial_total,
        "cached_seconds_end_to_end": cached_total,
        "cached_speedup_end_to_end": tutorial_total / cached_total,
        "tutorial_validation_accuracy": tutorial_accuracy,
        "cached_validation_accuracy": cached_accuracy,
        "feature_cache_bytes_per_image": int(train_x[0].nbytes),
        "feature_cache_bytes_in_memory": int(train_x.nbytes + train_y.nbytes),
    }


def feature_cache_on_disk() -> dict[str, Any]:
    """Size of the feature cache the notebooks left under cache/features."""
    from helpers import config

    files = sorted((config.cache_dir() / "features").glob("*.npz"))
    return {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}


def report_markdown(report: dict[str, Any]) -> str:
    """Render the report as the table the README shows."""
    machine = report["machine"]
    gib = lambda b: f"{b / 2**30:.2f} GiB"  # noqa: E731
    mib = lambda b: f"{b / 2**20:.1f} MiB"  # noqa: E731
    lines = [
        "# Benchmarks",
        "",
        f"Measured by `make bench` on {machine['date']}: {machine['cpu_cores']} CPU cores "
        f"({machine['processor']}), {machine['memory_gib']} GiB, Python {machine['python']}, "
        f"{machine['system']}. Regenerate with `make bench`; do not edit by hand.",
        "",
    ]
    by_date: dict[str, list[str]] = {}
    for name, date in remeasured(report).items():
        by_date.setdefault(date, []).append(name)
    if by_date:
        dates = "; ".join(f"on {date}, {', '.join(sorted(names))}" for date, names in sorted(by_date.items(), reverse=True))
        lines[-1:] = [f"Re-measured alone (`make bench BENCH_ARGS=--update=...`): {dates}.", ""]
    runs = report.get("notebooks")
    if runs:
        done = _completed(runs)
        total = sum(r["seconds"] for r in done)
        peak = max((r["peak_rss_bytes"] for r in done), default=0)
        lines += ["## Notebooks (each in a fresh kernel)", "",
                  "In course order, as on a first pass: the run starts with an empty cache, so each notebook computes "
                  "its features or reuses those of an earlier notebook of the same run. A notebook re-measured alone "
                  "also computes what earlier chapters would have cached for it.", ""]
        rows = [[r["name"], f"{r['seconds']:.0f} s", gib(r["peak_rss_bytes"])] if not r.get("error")
                else [r["name"], f"**failed** after {r['seconds']:.0f} s: {r['error']}", "-"] for r in runs]
        failed = len(runs) - len(done)
        rows.append([f"**whole course**{f' ({failed} failed, not counted)' if failed else ''}",
                     f"**{total / 60:.1f} min**", f"**{gib(peak)}** (largest)"])
        lines += [markdown_table(["notebook", "wall time", "peak resident memory"], rows), ""]
    p, t = report["pipeline"], report["training"]
    rows = [
        ["course pipeline (tfds → decode → resize → preprocess → MobileNetV2)",
         f"{p['pipeline_images_per_s']:.1f} images/s"],
        ["bare forward pass on in-memory tensors (same `tf.function`)",
         f"{p['bare_forward_images_per_s']:.1f} images/s"],
        [f"**pipeline / bare** (median of {p['rounds']} alternating rounds: "
         + ", ".join(f"{r:.2f}" for r in p["pipeline_vs_bare_per_round"]) + ")",
         f"**{p['pipeline_vs_bare']:.2f}**"],
        ["head epoch, frozen base inside the model (tutorial)", f"{t['tutorial_seconds_per_epoch']:.2f} s"],
        ["head epoch, cached features", f"{t['cached_seconds_per_epoch'] * 1000:.0f} ms"],
        ["**speed-up per epoch**", f"**{t['cached_speedup_per_epoch']:.0f}×**"],
        [f"{t['epochs']} epochs end to end, tutorial", f"{t['tutorial_seconds_end_to_end']:.0f} s"],
        [f"{t['epochs']} epochs end to end, cached (feature extraction included)",
         f"{t['cached_seconds_end_to_end']:.0f} s"],
        ["**speed-up end to end**", f"**{t['cached_speedup_end_to_end']:.1f}×**"],
        ["validation accuracy, tutorial / cached",
         f"{t['tutorial_validation_accuracy']:.3f} / {t['cached_validation_accuracy']:.3f}"],
    ]
    lines += [
        f"## Speed ({p['images']} pipeline images, {t['images']} training images, batch {p['batch_size']})",
        "",
        markdown_table(["measurement", "value"], rows),
        "",
        *fine_tune_section(report),
        *scaling_section(report),
        "## Memory",
        "",
        markdown_table(["what", "size"], [
            ["MobileNetV2 weights (float32)", mib(p["mobilenet_v2_weight_bytes"])],
            ["resident memory added by loading MobileNetV2", mib(p["mobilenet_v2_rss_increase_bytes"])],
            ["one cached feature vector", f"{t['feature_cache_bytes_per_image'] / 1024:.1f} KiB"],
            [f"cached features of {t['images']} images in memory", mib(t["feature_cache_bytes_in_memory"])],
            [f"feature cache on disk ({report['cache']['files']} files)", mib(report["cache"]["bytes"])],
            [f"the same {p['images']} images as float32 tensors", mib(p["in_memory_float32_batches_bytes"])],
        ]),
        "",
        "## Targets",
        "",
        markdown_table(["target", "measured", "met"], targets_rows(report)),
        "",
    ]
    return "\n".join(lines)


def fine_tune_section(report: dict[str, Any]) -> list[str]:
    """Fine-tuning images/s here (CPU, this run) and on a GPU if one was recorded."""
    rows = [[r["device"], r["backend"], r["policy"], r["batch_size"], f"{r['images_per_second']:.1f}"]
            for r in report.get("fine_tune_speed", []) + report.get("fine_tune_speed_gpu", [])]
    if not rows:
        return []
    return [
        "## Fine-tuning speed (notebook 05's recipe, random in-memory images)",
        "",
        markdown_table(["device", "Keras backend", "precision", "batch", "training images/s"], rows),
        "",
        "GPU rows are another loop, not the course's: `python -m benchmarks.fine_tune_speed` with Keras' JAX "
        "backend on one GPU, no distribution strategy, saved as "
        f"`{GPU_RESULTS.relative_to(ROOT)}`; `make bench` adds them to this table.",
        "",
    ]


def targets_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row per target of the performance issue: the bound, the figure, met or not."""
    p, t = report["pipeline"], report["training"]
    rows = []
    runs = report.get("notebooks")
    if runs:
        done = _completed(runs)
        minutes = sum(r["seconds"] for r in done) / 60
        peak = max((r["peak_rss_bytes"] for r in done), default=0) / 2**30
        rows += [
            ["every notebook runs to the end", f"{len(runs) - len(done)} failed", len(done) == len(runs)],
            [f"whole course ≤ {TARGETS['course_minutes']:g} min", f"{minutes:.1f} min",
             minutes <= TARGETS["course_minutes"]],
            [f"every notebook ≤ {TARGETS['notebook_peak_gib']:g} GiB", f"{peak:.2f} GiB",
             peak <= TARGETS["notebook_peak_gib"]],
        ]
    rounds = p.get("pipeline_vs_bare_per_round") or [p["pipeline_vs_bare"]]
    rows += [  # met only if every round was: a median hides a round that fell short
        [f"pipeline ≥ {TARGETS['pipeline_vs_bare']:.0%} of bare in every round",
         f"median {p['pipeline_vs_bare']:.0%} (rounds {min(rounds):.0%} to {max(rounds):.0%})",
         min(rounds) >= TARGETS["pipeline_vs_bare"]],
        [f"cached ≥ {TARGETS['cached_speedup_per_epoch']:g}× per epoch",
         f"{t['cached_speedup_per_epoch']:.0f}×",
         t["cached_speedup_per_epoch"] >= TARGETS["cached_speedup_per_epoch"]],
        [f"cached ≥ {TARGETS['cached_speedup_end_to_end']:g}× end to end",
         f"{t['cached_speedup_end_to_end']:.1f}×",
         t["cached_speedup_end_to_end"] >= TARGETS["cached_speedup_end_to_end"]],
    ]
    return [[name, value, "yes" if met else "**no**"] for name, value, met in rows]


ALL_NOTEBOOKS = "[0-9]*.ipynb"
GPU_RESULTS = ROOT / "benchmarks" / "fine_tune_speed_gpu.json"
README_START = "<!-- benchmarks:start (written by make bench) -->"
README_END = "<!-- benchmarks:end -->"


GUIDE_START = "<!-- guide-times:start (written by make bench) -->"
GUIDE_END = "<!-- guide-times:end -->"
_PLANNED = re.compile(r"\*\*Time:\*\* (\d+) min teaching, (\d+) min exercises")


def replace_between(path: Path, start: str, end: str, body: str) -> None:
    """Replace the text between the marker lines ``start`` and ``end`` of ``path`` with ``body``.

    Raises:
        ValueError: If the markers are missing (the message says what to add).
    """
    text = path.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{path} lacks the lines {start!r} and {end!r}; add them.")
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{start}\n{body.rstrip()}\n{end}{tail}")


def update_readme(readme: Path, table: str) -> None:
    """Put the benchmark report (less its title) between the README's benchmark markers."""
    body = table.split("\n", 1)[1].lstrip("\n").replace("\n## ", "\n#### ")  # below the README's heading
    replace_between(readme, README_START, README_END, body)


def planned_minutes(notebook: Path) -> tuple[int, int]:
    """The teaching and exercise minutes a notebook's header announces.

    Raises:
        ValueError: If the header lacks ``**Time:** N min teaching, M min exercises``.
    """
    import nbformat

    title = nbformat.read(notebook, as_version=4).cells[0].source
    match = _PLANNED.search(title)
    if not match:
        raise ValueError(f"{notebook.name}: the first cell lacks '**Time:** N min teaching, M min exercises'.")
    return int(match.group(1)), int(match.group(2))


def guide_table(runs: list[dict[str, Any]], notebooks: Path) -> str:
    """Per notebook: planned teaching and exercise time, measured CPU run time and peak memory."""
    rows, teaching_total, exercise_total = [], 0, 0
    for run in runs:
        teaching, exercise = planned_minutes(notebooks / f"{run['name']}.ipynb")
        teaching_total, exercise_total = teaching_total + teaching, exercise_total + exercise
        measured = ([f"{run['seconds']:.0f} s", f"{run['peak_rss_bytes'] / 2**30:.2f} GiB"] if not run.get("error")
                    else ["failed", "-"])
        rows.append([run["name"], f"{teaching} min", f"{exercise} min", *measured])
    seconds = sum(r["seconds"] for r in _completed(runs))
    rows.append(["**all**", f"**{teaching_total} min**", f"**{exercise_total} min**",
                 f"**{seconds / 60:.1f} min**", ""])
    header = ["notebook", "teaching", "exercises", "CPU run time (2 cores)", "peak memory"]
    return markdown_table(header, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", default=ALL_NOTEBOOKS, help="glob under notebooks/")
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--images", type=int, default=640, help="training images, tutorial vs cached")
    parser.add_argument("--pipeline-images", type=int, default=320, help="images per pipeline round")
    parser.add_argument("--epochs", type=int, default=10, help="head epochs of both recipes")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks", help="folder for results.*")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    parser.add_argument("--update", metavar="GLOB", help="re-measure only these notebooks; keep the rest "
                        "of the last run's figures (after editing one notebook)")
    parser.add_argument("--scaling", metavar="GLOB", help="measure only how these notebooks' peak memory changes "
                        f"with the number of photos (tf_flowers x {', '.join(f'{f:g}' for f in SCALING_FACTORS)}); "
                        "keep the rest of the last run's figures")
    args = parser.parse_args(argv)
    if args.update and args.scaling:
        parser.error("--update and --scaling are separate runs: give one of them.")
    for name in ("images", "pipeline_images", "epochs", "batch_size"):
        if getattr(args, name) < (2 if name == "epochs" else 1):
            parser.error(f"--{name.replace('_', '-')} is too small: {getattr(args, name)}")

    previous = args.out / "results.json"
    partial = args.update or args.scaling
    if partial and not previous.exists():
        parser.error(f"--{'update' if args.update else 'scaling'} needs an earlier full run in {previous}; "
                     "run make bench first.")
    report: dict[str, Any] = json.loads(previous.read_text()) if partial else {}
    if not partial and previous.exists():  # a full run measures everything but the scaling: keep the last one
        report.update({k: v for k, v in json.loads(previous.read_text()).items() if k == "scaling"})
    report["targets"] = TARGETS
    if args.scaling:
        report["scaling"] = scaling_runs(args.scaling)
    elif args.update:  # re-measure the matching notebooks only, keep every other figure
        fresh = {run.name: run for run in notebook_runs(args.update)}
        dates = remeasured(report)
        dates.update(dict.fromkeys(fresh, machine_report()["date"]))
        report["updated"] = {"notebooks": dict(sorted(dates.items()))}
        report["notebooks"] = [fresh.pop(r["name"], r) for r in report["notebooks"]] + list(fresh.values())
        report["notebooks"].sort(key=lambda r: r.name if isinstance(r, NotebookRun) else r["name"])
    else:
        report["machine"] = machine_report()
        if not args.skip_notebooks:
            print("notebooks, each in a fresh kernel:", flush=True)
            report["notebooks"] = notebook_runs(args.notebooks)
        measure_pipeline(report, args)
    report = _plain(report)
    write_json(args.out / "results.json", report)
    table = report_markdown(report)
    (args.out / "results.md").write_text(table)
    complete = not args.skip_notebooks and (partial or args.notebooks == ALL_NOTEBOOKS)
    if not args.no_readme and complete:  # the README shows complete runs only
        guide = guide_table(report["notebooks"], ROOT / "notebooks")
        for suffix in (".md", ".zh.md"):  # the Chinese README and guide show the same tables
            if (ROOT / f"README{suffix}").exists():
                update_readme(ROOT / f"README{suffix}", table)
            if (ROOT / "docs" / f"instructor-guide{suffix}").exists():
                replace_between(ROOT / "docs" / f"instructor-guide{suffix}", GUIDE_START, GUIDE_END, guide)
    print(table)
    failed = [r["name"] for r in report.get("notebooks", []) if r.get("error")]
    if args.scaling:
        failed += [f"{r['name']} (x{row['factor']:g})" for row in report["scaling"]["rows"]
                   for r in row["notebooks"] if r.get("error")]
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)} (their rows say why).", file=sys.stderr)
    return 1 if failed else 0


def measure_pipeline(report: dict[str, Any], args: argparse.Namespace) -> None:
    """Add the pipeline, training, cache and fine-tuning measurements to ``report``."""
    print("pipeline throughput ...", flush=True)
    report["pipeline"] = pipeline_throughput(args.pipeline_images, args.batch_size)
    print("head training, tutorial vs cached ...", flush=True)
    report["training"] = training_speed(args.images, args.epochs, args.batch_size)
    report["cache"] = feature_cache_on_disk()
    print("fine-tuning speed on this machine ...", flush=True)
    from benchmarks.fine_tune_speed import measure as fine_tune_measure

    report["fine_tune_speed"] = [fine_tune_measure(args.batch_size, "float32", steps=10)]
    if GPU_RESULTS.exists():
        report["fine_tune_speed_gpu"] = json.loads(GPU_RESULTS.read_text())


def _plain(report: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.measure import asdict_default

    return json.loads(json.dumps(report, default=asdict_default))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(main())
