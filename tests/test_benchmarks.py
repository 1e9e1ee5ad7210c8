"""The measurement helpers of ``make bench``, checked on tiny workloads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from benchmarks import measure, run

ALLOCATE = """
import numpy as np
from benchmarks.measure import peak_rss_bytes
before = peak_rss_bytes()
block = np.ones(300 * 2**20, dtype=np.uint8)  # 300 MiB, touched
del block
print(before, peak_rss_bytes())
"""


def test_peak_rss_sees_a_freed_300_mib_block() -> None:
    # A fresh interpreter, so the peak of this test process does not hide the block.
    output = subprocess.run(
        [sys.executable, "-c", ALLOCATE], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    before, after = map(int, output.split())
    assert after - before >= 290 * 2**20
    assert after < before + 600 * 2**20  # not double counted


def test_current_rss_is_below_peak() -> None:
    assert 0 < measure.current_rss_bytes() <= measure.peak_rss_bytes() + 2**20


def _notebook(tmp_path: Path, *sources: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    path = tmp_path / "tiny.ipynb"
    nbformat.write(notebook, path)
    return path


def test_run_notebook_measures_time_and_memory_in_its_own_kernel(tmp_path: Path) -> None:
    path = _notebook(
        tmp_path,
        "import time, numpy as np\nblock = np.ones(200 * 2**20, dtype=np.uint8)",
        "del block\ntime.sleep(0.5)\nopen('ran_here.txt', 'w').write('yes')",
    )
    before = path.read_text()
    result = measure.run_notebook(path, timeout_s=120)
    assert result.name == "tiny"
    assert result.seconds >= 0.5
    # The kernel's own peak: the block plus a bare kernel, not this (larger) test process's.
    assert 200 * 2**20 <= result.peak_rss_bytes <= 600 * 2**20
    assert (tmp_path / "ran_here.txt").exists()  # ran from the notebook's folder
    assert path.read_text() == before  # the file is not modified


def test_run_notebook_names_the_failing_notebook(tmp_path: Path) -> None:
    path = _notebook(tmp_path, "raise ValueError('planted failure')")
    with pytest.raises(RuntimeError, match=r"tiny.ipynb failed: .*planted failure"):
        measure.run_notebook(path, timeout_s=120)


def test_run_notebook_can_go_on_past_failing_cells_and_count_them(tmp_path: Path) -> None:
    path = _notebook(tmp_path, "raise ValueError('a claim that fails on this data')", "x = 1", "y = undefined_name")
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}))
    nbformat.write(notebook, path)
    result = measure.run_notebook(path, timeout_s=120, allow_errors=True)
    assert result.failed_cells == 2 and not result.error and result.peak_rss_bytes > 0  # the tagged cell is meant to
    with pytest.raises(RuntimeError, match="a claim that fails"):
        measure.run_notebook(path, timeout_s=120)


def test_run_notebook_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="No notebook"):
        measure.run_notebook(tmp_path / "absent.ipynb")


def test_peak_from_outputs_requires_the_marker() -> None:
    assert measure._peak_from_outputs([{"text": f"noise\n{measure.PEAK_MARKER}123\n"}]) == 123
    with pytest.raises(RuntimeError, match="printed nothing"):
        measure._peak_from_outputs([{"text": "noise"}])


def test_throughput_counts_items_over_timed_calls_only() -> None:
    calls = []

    def work() -> int:
        calls.append(1)
        time.sleep(0.05)
        return 10

    result = measure.measure_throughput(work, repeats=3)
    assert len(calls) == 4  # one warm-up, three timed
    assert result.items == 30
    assert 0.14 <= result.seconds < 1.0
    assert result.per_second == pytest.approx(30 / result.seconds)


def test_throughput_rejects_empty_work_and_bad_repeats() -> None:
    with pytest.raises(ValueError, match="no items"):
        measure.measure_throughput(lambda: 0)
    with pytest.raises(ValueError, match="at least 1"):
        measure.measure_throughput(lambda: 1, repeats=0)


def test_write_json_accepts_dataclasses(tmp_path: Path) -> None:
    path = measure.write_json(tmp_path / "r.json", {"runs": [measure.NotebookRun("a", 1.5, 2**30)]})
    assert json.loads(path.read_text()) == {
        "runs": [{"name": "a", "seconds": 1.5, "peak_rss_bytes": 2**30, "error": "", "failed_cells": 0}]
    }


def _report(notebook_seconds: list[float], peak_gib: float, ratio: float) -> dict:
    runs = [{"name": f"0{i}_x", "seconds": s, "peak_rss_bytes": int(peak_gib * 2**30)}
            for i, s in enumerate(notebook_seconds)]
    return {
        "machine": measure.machine_report(),
        "notebooks": runs,
        "pipeline": {"images": 64, "batch_size": 16, "pipeline_images_per_s": 50 * ratio, "rounds": 3,
                     "pipeline_vs_bare_per_round": [ratio - 0.01, ratio, ratio + 0.01],
                     "bare_forward_images_per_s": 50.0, "pipeline_vs_bare": ratio,
                     "mobilenet_v2_weight_bytes": 9 * 2**20, "mobilenet_v2_rss_increase_bytes": 2**25,
                     "in_memory_float32_batches_bytes": 2**24},
        "training": {"images": 64, "epochs": 10, "tutorial_seconds_per_epoch": 10.0,
                     "cached_seconds_per_epoch": 0.1, "cached_speedup_per_epoch": 100.0,
                     "tutorial_seconds_end_to_end": 100.0, "cached_seconds_end_to_end": 12.0,
                     "cached_speedup_end_to_end": 100 / 12, "tutorial_validation_accuracy": 0.8,
                     "cached_validation_accuracy": 0.81, "feature_cache_bytes_per_image": 5120,
                     "feature_cache_bytes_in_memory": 2**20},
        "cache": {"files": 3, "bytes": 2**23},
        "fine_tune_speed": [{"device": "CPU", "backend": "tensorflow", "policy": "float32",
                             "batch_size": 16, "images_per_second": 30.0}],
    }


def test_targets_are_judged_against_the_figures() -> None:
    met = run.targets_rows(_report([60, 120], 1.2, 0.95))
    assert [row[2] for row in met] == ["yes"] * 6
    missed = run.targets_rows(_report([400, 400], 1.8, 0.7))
    assert [row[2] for row in missed] == ["yes", "**no**", "**no**", "**no**", "yes", "yes"]


def test_a_pipeline_median_above_target_is_not_met_when_a_round_fell_short() -> None:
    report = _report([60, 120], 1.2, 0.92)
    report["pipeline"]["pipeline_vs_bare_per_round"] = [0.47, 0.92, 1.00]  # make bench, 2026-12-02
    row = [r for r in run.targets_rows(report) if r[0].startswith("pipeline")][0]
    assert row[1:] == ["median 92% (rounds 47% to 100%)", "**no**"]


def test_markdown_report_shows_the_course_total(tmp_path: Path) -> None:
    text = run.report_markdown(_report([60, 120], 1.2, 0.95))
    assert "**3.0 min**" in text and "| 00_x | 60 s | 1.20 GiB |" in text
    assert "**0.95**" in text and "**100×**" in text and "(median of 3 alternating rounds: 0.94, 0.95, 0.96)" in text
    assert "| CPU | tensorflow | float32 | 16 | 30.0 |" in text


def test_main_rejects_bad_arguments() -> None:
    with pytest.raises(SystemExit):
        run.main(["--epochs", "1", "--skip-notebooks"])
    with pytest.raises(SystemExit):
        run.main(["--update", "01_*", "--scaling", "06_*"])


def test_update_readme_replaces_only_the_marked_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Course\n\n## Benchmarks\n{run.README_START}\nold\n{run.README_END}\n\n## Next\n")
    table = run.report_markdown(_report([60, 120], 1.2, 0.95))
    run.update_readme(readme, table)
    text = readme.read_text()
    assert text.startswith("# Course\n\n## Benchmarks\n") and text.endswith(f"{run.README_END}\n\n## Next\n")
    assert "old" not in text and "| 00_x | 60 s | 1.20 GiB |" in text
    assert "\n#### Notebooks" in text and text.count("# Benchmarks\n") == 1
    run.update_readme(readme, table)
    assert readme.read_text() == text  # idempotent
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="lacks the lines"):
        run.update_readme(readme, table)


def test_guide_table_joins_planned_and_measured_times() -> None:
    notebooks = run.ROOT / "notebooks"
    first = sorted(notebooks.glob("0*.ipynb"))[:2]
    runs = [{"name": p.stem, "seconds": 30.0 * (i + 1), "peak_rss_bytes": 2**30} for i, p in enumerate(first)]
    table = run.guide_table(runs, notebooks)
    teaching, exercises = run.planned_minutes(first[0])
    assert f"| {first[0].stem} | {teaching} min | {exercises} min | 30 s | 1.00 GiB |" in table
    assert "**1.5 min**" in table


def test_every_notebook_announces_its_planned_time() -> None:
    for path in sorted((run.ROOT / "notebooks").glob("[0-9]*.ipynb")):
        teaching, exercises = run.planned_minutes(path)
        assert 5 <= teaching <= 90 and 5 <= exercises <= 60


def test_the_guide_and_readme_have_the_markers_make_bench_fills() -> None:
    guide = (run.ROOT / "docs" / "instructor-guide.md").read_text()
    assert run.GUIDE_START in guide and run.GUIDE_END in guide
    readme = (run.ROOT / "README.md").read_text()
    assert run.README_START in readme and run.README_END in readme


def test_fine_tune_speed_runs_the_recipe_on_this_machine() -> None:
    from benchmarks import fine_tune_speed

    import keras

    row = fine_tune_speed.measure(batch_size=2, policy="mixed_float16", steps=3)
    assert row["backend"] == "tensorflow" and row["batch_size"] == 2 and row["policy"] == "mixed_float16"
    assert row["images_per_second"] == pytest.approx(3 * 2 / row["seconds"])  # the rate is of the timed steps
    assert keras.mixed_precision.global_policy().name == "float32", "the policy must be restored"


def test_a_failing_notebook_is_recorded_and_the_others_still_run(tmp_path: Path, monkeypatch) -> None:
    def fake_run(path: Path) -> measure.NotebookRun:
        if path.name.startswith("01"):
            raise RuntimeError(f"{path.name} failed: AssertionError: planted")
        return measure.NotebookRun(path.stem, 10.0, 2**30)

    monkeypatch.setattr(run, "run_notebook", fake_run)
    runs = run.notebook_runs("0[0-2]_*.ipynb")
    assert [bool(r.error) for r in runs] == [False, True, False] and "planted" in runs[1].error
    report = _report([60, 120], 1.2, 0.95)
    report["notebooks"] = [json.loads(json.dumps(r, default=measure.asdict_default)) for r in runs]
    table = run.report_markdown(report)
    assert "**failed** after" in table and "planted" in table and "(1 failed, not counted)" in table
    assert ["every notebook runs to the end", "1 failed", "**no**"] in run.targets_rows(report)
    out = tmp_path / "bench"
    monkeypatch.setattr(run, "measure_pipeline", lambda report, args: report.update(
        {k: _report([1], 1.0, 1.0)[k] for k in ("pipeline", "training", "cache")}))
    assert run.main(["--notebooks", "0[0-2]_*.ipynb", "--out", str(out), "--no-readme"]) == 1


def test_notebooks_run_in_one_fresh_cache_as_on_a_first_pass(monkeypatch) -> None:
    seen = []

    def fake_run(path: Path) -> measure.NotebookRun:
        cache = Path(os.environ["TLHO_CACHE_DIR"])
        seen.append((cache, sorted(cache.iterdir())))
        (cache / path.stem).touch()  # what this notebook cached, for the next one
        return measure.NotebookRun(path.stem, 1.0, 2**30)

    monkeypatch.setattr(run, "run_notebook", fake_run)
    monkeypatch.setenv("TLHO_CACHE_DIR", "/the/learner/cache")
    run.notebook_runs("0[0-1]_*.ipynb")
    (first, before_first), (second, before_second) = seen
    first_notebook = sorted((run.ROOT / "notebooks").glob("00_*.ipynb"))[0].stem
    assert first == second and before_first == [] and [p.name for p in before_second] == [first_notebook]
    assert not first.exists() and os.environ["TLHO_CACHE_DIR"] == "/the/learner/cache"


def test_update_remeasures_one_notebook_and_keeps_the_rest(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "bench"
    out.mkdir()
    earlier = _report([60, 120], 1.2, 0.95)
    measure.write_json(out / "results.json", earlier)
    monkeypatch.setattr(run, "notebook_runs", lambda pattern: [measure.NotebookRun("01_x", 7.0, 2**29)])
    assert run.main(["--update", "01_*", "--out", str(out), "--no-readme"]) == 0
    report = json.loads((out / "results.json").read_text())
    assert [(r["name"], r["seconds"]) for r in report["notebooks"]] == [("00_x", 60), ("01_x", 7.0)]
    assert report["pipeline"] == earlier["pipeline"] and list(report["updated"]["notebooks"]) == ["01_x"]
    assert "Re-measured alone" in (out / "results.md").read_text()
    # A later update gives its date to its own notebooks only (older reports stored one date for a list).
    report["updated"] = {"date": "2026-01-01 00:00", "notebooks": ["00_x", "01_x"]}
    measure.write_json(out / "results.json", report)
    assert run.main(["--update", "01_*", "--out", str(out), "--no-readme"]) == 0
    line = next(line for line in (out / "results.md").read_text().splitlines() if line.startswith("Re-measured"))
    newest, oldest = line.split("; ")
    assert newest.endswith(", 01_x") and oldest == "on 2026-01-01 00:00, 00_x."
    with pytest.raises(SystemExit):
        run.main(["--update", "01_*", "--out", str(tmp_path / "empty"), "--no-readme"])


def test_scaled_copy_keeps_a_sample_or_adds_mirrored_photos_that_tfds_reads(tmp_path: Path) -> None:
    import numpy as np
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from benchmarks.scaled_copy import main, scaled_copy
    from helpers import config

    source = config.tfds_data_dir()
    installed = tfds.builder("tf_flowers", data_dir=str(source)).info.splits["train"].num_examples
    small = tmp_path / "small"
    count = scaled_copy(source, "tf_flowers", 20 / installed, small)
    assert count == 20
    assert scaled_copy(source, "tf_flowers", 20 / installed, tmp_path / "again") == 20
    shards = [next((folder / "tf_flowers").glob("*/*.tfrecord-*")).read_bytes() for folder in (small, tmp_path / "again")]
    assert shards[0] == shards[1]  # seeded: the same sample every time
    doubled = tmp_path / "doubled"
    assert scaled_copy(small, "tf_flowers", 2, doubled) == 40
    originals, copies = [np.stack([tf.image.resize(x["image"], (32, 32)).numpy() for x in
                                   tfds.load("tf_flowers", split=f"train[{part}]", data_dir=str(doubled))])
                         for part in (":20", "20:")]
    assert np.abs(copies - originals[:, :, ::-1]).mean() < 3  # the copies are the photos mirrored (JPEG aside)
    assert np.abs(copies - originals).mean() > 10  # and not the photos themselves
    for factor in (0, 2.5):
        with pytest.raises(ValueError, match="factor must be above 0 and at most 2"):
            scaled_copy(source, "tf_flowers", factor, tmp_path / "none")
    with pytest.raises(ValueError, match="would lack the classes"):
        scaled_copy(source, "tf_flowers", 2 / installed, tmp_path / "none")  # 2 photos, 5 classes
    for inside in (small, small / "tf_flowers", tmp_path):  # the source itself, a folder in it, one holding it
        with pytest.raises(ValueError, match="apart from"):
            scaled_copy(small, "tf_flowers", 0.5, inside)
    assert scaled_copy(small, "tf_flowers", 1, tmp_path / "same") == 20  # the source is still whole
    with pytest.raises(ValueError, match="one prepared version"):
        scaled_copy(tmp_path / "absent", "tf_flowers", 0.5, tmp_path / "none")
    assert main(["tf_flowers", "0.5", str(tmp_path / "x"), "--source", str(tmp_path / "absent")]) == 2
    assert main(["tf_flowers", str(20 / installed), str(tmp_path / "cli"), "--source", str(source)]) == 0


def test_scaling_runs_the_notebooks_on_every_copy_and_the_report_shows_the_peaks(tmp_path: Path, monkeypatch) -> None:
    seen = []

    def fake_run(path: Path, allow_errors: bool = False) -> measure.NotebookRun:
        import tensorflow_datasets as tfds

        photos = tfds.builder("tf_flowers", data_dir=os.environ["TFDS_DATA_DIR"]).info.splits["train"].num_examples
        seen.append((path.stem, photos, allow_errors))
        return measure.NotebookRun(path.stem, 1.0, photos * 2**20, failed_cells=int(photos < 30))

    monkeypatch.setattr(run, "run_notebook", fake_run)
    import tensorflow_datasets as tfds

    from helpers import config

    installed = tfds.builder("tf_flowers", data_dir=str(config.tfds_data_dir())).info.splits["train"].num_examples
    before = os.environ.get("TFDS_DATA_DIR")
    scaling = run.scaling_runs("00_*.ipynb", factors=(20 / installed, 40 / installed))
    assert os.environ.get("TFDS_DATA_DIR") == before  # given back
    assert [(photos, allowed) for _, photos, allowed in seen] == [(20, True), (40, True)]
    report = _report([60], 1.0, 0.95)
    report["scaling"] = json.loads(json.dumps(scaling, default=measure.asdict_default))
    text = run.report_markdown(report)
    assert "## Memory and the number of photos" in text
    assert f"| {seen[0][0]} | 0.02 GiB (1 cell raised) | 0.04 GiB |" in text
    assert "20 photos (x" in text and "40 photos (x" in text
