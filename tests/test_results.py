import json

import numpy as np
import pytest

from helpers import results


def test_record_merges_on_request_and_converts_numpy(tmp_path):
    results.record("04_demo", {"accuracy": np.float32(0.75), "sizes": (1, 2)}, tmp_path)
    path = results.record("04_demo", {"seconds": np.int64(3)}, tmp_path, merge=True)
    stored = json.loads(path.read_text())
    assert stored == {"accuracy": 0.75, "seconds": 3, "sizes": [1, 2]}
    assert results.load("04_demo", tmp_path) == stored


def test_record_replaces_an_earlier_run_by_default(tmp_path):
    results.record("04_demo", {"old": 1}, tmp_path)
    results.record("04_demo", {"new": 2}, tmp_path)
    assert results.load("04_demo", tmp_path) == {"new": 2}


def test_record_uses_the_results_dir_by_default(tmp_cache):
    path = results.record("00_demo", {"x": 1})
    assert path == tmp_cache / "results" / "00_demo.json"


@pytest.mark.parametrize("name", ["", "04_demo.ipynb", "../escape", "a b"])
def test_record_rejects_unusable_names(tmp_path, name):
    with pytest.raises(ValueError, match="without '.ipynb'"):
        results.record(name, {"x": 1}, tmp_path)


def test_record_rejects_non_finite_and_odd_values(tmp_path):
    with pytest.raises(ValueError, match="finite"):
        results.record("x", {"accuracy": float("nan")}, tmp_path)
    with pytest.raises(TypeError, match="Cannot record a object"):
        results.record("x", {"thing": object()}, tmp_path)


def test_load_missing_says_which_notebook_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"run notebooks/09_x.ipynb first"):
        results.load("09_x", tmp_path)
