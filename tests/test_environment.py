"""The pinned package lists must agree, and the README must show the two commands."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
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
