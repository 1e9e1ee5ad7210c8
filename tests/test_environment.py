"""The pinned package lists must agree, and the README must show the two commands."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _requirements(path: Path = ROOT / "requirements.txt") -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def _conda_pip_pins() -> dict[str, str]:
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict))
    pins = {}
    for entry in pip_block:
        if "==" in entry:
            name, version = entry.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_requirements_are_all_pinned():
    lines = [ln.split("#")[0].strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", ln) for ln in lines if ln)


def test_environment_yml_pins_the_same_packages_as_requirements():
    assert _conda_pip_pins() == _requirements()


def test_required_packages_are_present():
    for name in ("tensorflow", "keras", "tensorflow-datasets", "jupyterlab", "matplotlib", "nbval",
                 "importlib-resources", "pytest"):
        assert name in _requirements()


def test_readme_and_ci_use_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def _requirement_names(package: str) -> set[str]:
    """Names of the installed ``package``'s declared dependencies, extras left out."""
    from importlib import metadata

    names = set()
    for requirement in metadata.requires(package) or []:
        if "extra ==" not in requirement:
            names.add(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_binder_pins_the_same_packages_with_cpu_only_tensorflow():
    binder = _requirements(ROOT / "binder" / "requirements.txt")
    expected = dict(_requirements())
    expected["tensorflow-cpu"] = expected.pop("tensorflow")
    expected.pop("keras-hub")  # postBuild installs it without dependencies (next test)
    assert {name: binder[name] for name in expected if name in binder} == expected
    assert set(expected) <= set(binder)
    # What binder pins beyond requirements.txt is exactly what keras-hub needs besides tensorflow-text,
    # minus what TensorFlow brings anyway.
    extra = set(binder) - set(expected)
    needed = _requirement_names("keras-hub") - {"tensorflow-text"} - _requirement_names("tensorflow") - set(expected)
    assert extra == needed


def test_binder_installs_keras_hub_and_the_nodeps_wheels_without_dependencies():
    from importlib import metadata

    post_build = (ROOT / "binder" / "postBuild").read_text()
    pins = _requirements()
    line = next(ln for ln in post_build.splitlines() if "keras-hub==" in ln)
    assert line.split()[3:5] == ["install", "--no-deps"]
    assert f"keras-hub=={pins['keras-hub']}" in line.split()
    assert f"tensorflow-text=={metadata.version('tensorflow-text')}" in line.split()
    assert "tensorflow" in _requirement_names("tensorflow-text")  # why --no-deps: it asks for the full build
    assert "python -m pip install --no-deps -r requirements-nodeps.txt" in post_build


def test_nodeps_wheels_are_pinned_and_installed_without_dependencies_everywhere():
    nodeps = _requirements(ROOT / "requirements-nodeps.txt")
    assert nodeps and all(re.fullmatch(r"[0-9][0-9A-Za-z.]*", v) for v in nodeps.values())
    assert not set(nodeps) & set(_requirements()), "a package is either installed with its dependencies or without"
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet --no-deps -r requirements-nodeps.txt" in makefile
    assert "pip install --no-deps -r requirements-nodeps.txt" in (ROOT / "environment.yml").read_text()
    from importlib import metadata

    for name, version in nodeps.items():
        assert metadata.version(name) == version, f"{name} {metadata.version(name)} installed, {version} pinned"


def test_binder_scripts_stop_on_errors_and_use_the_prefetched_data():
    post_build = ROOT / "binder" / "postBuild"
    start = ROOT / "binder" / "start"
    assert post_build.stat().st_mode & 0o111 and start.stat().st_mode & 0o111  # executable
    build_lines = post_build.read_text().splitlines()
    assert build_lines[0] == "#!/bin/bash"
    assert "set -euo pipefail" in build_lines[:5]  # before any command
    prefetch = next(line for line in build_lines if "helpers.prepare_offline" in line)
    kit = prefetch.split()[3]
    assert kit.strip('"') == "${HOME}/course-data"
    from helpers import prepare_offline

    prefetched = prefetch.split("--only")[1].split()
    assert {a.kind for a in prepare_offline.select(prefetched)} == {"weights", "dataset"}
    text = start.read_text()
    assert 'export KERAS_HOME="${HOME}/course-data/keras"' in text
    assert 'export TFDS_DATA_DIR="${HOME}/course-data/tensorflow_datasets"' in text
    assert text.rstrip().endswith('exec "$@"')


def test_binder_python_is_one_tensorflow_supports():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.1[0-2]", runtime)
