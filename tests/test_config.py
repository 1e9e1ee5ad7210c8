import subprocess
import sys

import pytest

from helpers import config


@pytest.mark.parametrize(
    ("raw", "default", "expected"),
    [("7", 3, 7), ("0.5", 0.1, 0.5), ("vgg16", "mobilenet_v2", "vgg16"), ("yes", False, True), ("0", True, False),
     ("10, 30,100", [10, 300], [10, 30, 100]), ("a,b", ["x"], ["a", "b"]), ("1e-4, 3e-4", [0.1], [1e-4, 3e-4]),
     ("yes,0", [False], [True, False])],
)
def test_param_reads_and_casts_environment(monkeypatch, raw, default, expected):
    monkeypatch.setenv("TLHO_X", raw)
    value = config.param("X", default)
    assert value == expected and type(value) is type(default)


def test_param_defaults_when_unset(monkeypatch):
    monkeypatch.delenv("TLHO_EPOCHS", raising=False)
    assert config.param("EPOCHS", 3) == 3


@pytest.mark.parametrize(("raw", "default"), [("three", 3), ("maybe", True), ("1e", 0.5), ("10,x", [10]), ("", [10]),
                                              (" , ", ["a"]), ("1,maybe", [True])])
def test_param_rejects_unreadable_values_with_advice(monkeypatch, raw, default):
    monkeypatch.setenv("TLHO_X", raw)
    with pytest.raises(ValueError, match=r"TLHO_X=.*not a valid .*unset it"):
        config.param("X", default)


def test_list_error_shows_the_comma_separated_form(monkeypatch):
    monkeypatch.setenv("TLHO_SIZES", "[5, 10]")  # typed as Python, not as the variable expects
    with pytest.raises(ValueError, match=r"comma-separated list of int values; unset it or give a value like 5,10\.$"):
        config.param("SIZES", [5, 10])


def test_paths_follow_the_standard_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "t"))
    monkeypatch.setenv("TLHO_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("TLHO_CHECKPOINT_DIR", str(tmp_path / "m"))
    assert config.keras_home() == tmp_path / "k"
    assert config.tfds_data_dir() == tmp_path / "t"
    assert config.cache_dir() == tmp_path / "c"
    assert config.checkpoint_dir() == tmp_path / "m"
    assert (config.project_dir() / "helpers" / "config.py").exists()


def test_environment_report_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "helpers.config"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for key in ("tensorflow", "keras", "KERAS_HOME", "TFDS_DATA_DIR", "cpu cores"):
        assert key in done.stdout
