"""The offline classroom kit: argument handling, and verification on what is already local.

No test downloads: the kit is built from the weights and data this machine already has
(``KERAS_HOME`` and ``TFDS_DATA_DIR``, which ``.ci/run`` points at the offline copies).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import config, prepare_offline


def _local_kit(tmp_path: Path) -> Path:
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "keras").symlink_to(config.keras_home().resolve(), target_is_directory=True)
    (kit / "tensorflow_datasets").symlink_to(config.tfds_data_dir().resolve(), target_is_directory=True)
    return kit


def test_verify_loads_what_is_in_the_kit_and_reports_what_is_not(tmp_path, capsys) -> None:
    kit = _local_kit(tmp_path)
    status = prepare_offline.main([str(kit), "--verify-only", "--only", "mobilenet_v2", "tf_flowers"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "ok   mobilenet_v2: loads" in printed and "ok   tf_flowers: loads" in printed
    assert f"export KERAS_HOME={kit.resolve() / 'keras'}" in printed
    assert "MiB" in printed


def test_verify_fails_for_an_asset_missing_from_the_kit(tmp_path, capsys) -> None:
    kit = tmp_path / "kit"
    (kit / "keras" / "models").mkdir(parents=True)
    (kit / "tensorflow_datasets").mkdir()
    status = prepare_offline.main([str(kit), "--verify-only", "--only", "mobilenet_v2", "bccd"])
    printed = capsys.readouterr().out
    assert status == 1
    # Nothing was downloaded: the network is blocked during verification.
    assert "BAD  mobilenet_v2: helpers.errors.ResourceNotAvailableError" in printed
    assert "BAD  bccd:" in printed and "not in the kit" in printed
    assert not any((kit / "keras" / "models").iterdir())


def test_kit_environment_points_the_standard_variables_at_the_kit(tmp_path) -> None:
    env = prepare_offline.kit_environment(tmp_path, offline=True)
    assert env["KERAS_HOME"] == str(tmp_path / "keras")
    assert env["TFDS_DATA_DIR"] == str(tmp_path / "tensorflow_datasets")
    assert env["HTTPS_PROXY"] == "http://127.0.0.1:9"
    online = prepare_offline.kit_environment(tmp_path, offline=False)
    assert online.get("HTTPS_PROXY") == os.environ.get("HTTPS_PROXY")


def test_every_asset_the_notebooks_load_is_in_the_kit() -> None:
    names = {asset.name.split()[0] for asset in prepare_offline.ASSETS}
    notebooks = "".join(p.read_text() for p in (config.project_dir() / "notebooks").glob("*.ipynb"))
    for dataset in ("tf_flowers", "bccd", "spoken_digit"):
        assert dataset in notebooks and dataset in names
    assert "load_kvasir" in notebooks and "kvasir-seg" in names
    for backbone in ("mobilenet_v2", "mobilenet_v2_0.35", "mobilenet_0.25", "vgg16"):
        assert backbone in notebooks.lower() and backbone in names


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--only", "resnet"], "Unknown asset(s) ['resnet']; choose from"),
        (["--verify-only"], "does not exist; run without --verify-only"),
    ],
)
def test_bad_arguments_exit_with_a_clear_message(tmp_path, capsys, arguments, message) -> None:
    with pytest.raises(SystemExit) as stopped:
        prepare_offline.main([str(tmp_path / "absent"), *arguments])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_a_file_is_not_a_kit_folder(tmp_path, capsys) -> None:
    file = tmp_path / "kit.txt"
    file.write_text("")
    with pytest.raises(SystemExit):
        prepare_offline.main([str(file)])
    assert "is a file; give a folder" in capsys.readouterr().err


def test_missing_directory_argument_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        prepare_offline.main([])
    assert stopped.value.code == 2
    assert "DIR" in capsys.readouterr().err
