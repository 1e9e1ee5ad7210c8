"""Binder and Colab: every notebook has its own Colab badge and a setup cell that is a no-op here."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import launch_links  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "notebooks" / "zh").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_notebook_links_are_up_to_date(tmp_path, path) -> None:
    copy = tmp_path / path.relative_to(ROOT / "notebooks")  # a translation's copy stays in a zh/ folder
    copy.parent.mkdir(exist_ok=True)
    shutil.copy(path, copy)
    assert not launch_links.update(copy), f"run: python tools/launch_links.py {path.relative_to(ROOT)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_colab_badge_opens_this_notebook(path) -> None:
    title = nbformat.read(path, as_version=4).cells[0].source
    assert f"blob/main/{path.parent.relative_to(ROOT)}/{path.name})" in title
    assert title.startswith("# ") and "[![Open in Colab]" in title.split("\n")[2]


@pytest.mark.parametrize("name, extra, folder", [
    ("04_feature_extraction.ipynb", [], "notebooks"),
    ("12_beyond_images.ipynb", ["%pip install --quiet onnx safetensors keras-hub",
                                "%pip install --quiet --no-deps -r /content/course/requirements-nodeps.txt"],
     "notebooks"),
    ("zh/04_feature_extraction.ipynb", [], "notebooks/zh"),  # the Chinese edition works from its own folder
])
def test_setup_cell_does_nothing_outside_colab(monkeypatch, name, extra, folder) -> None:
    python = TransformerManager().transform_cell(launch_links.setup_source(Path("notebooks", name)))
    calls = []

    class FakeShell:
        def system(self, command: str) -> None:
            calls.append(command)

        def run_line_magic(self, name: str, line: str) -> None:
            calls.append(f"%{name} {line}")

    path_before = list(sys.path)
    exec(python, {"get_ipython": FakeShell})  # noqa: S102
    assert calls == [] and sys.path == path_before
    monkeypatch.setitem(sys.modules, "google.colab", object())
    exec(python, {"get_ipython": FakeShell})  # noqa: S102
    assert calls[0].startswith("git clone --quiet --depth 1 https://github.com/")
    assert [call.split("  #")[0] for call in calls[1:]] == [
        "%pip install --quiet importlib_resources", *extra, f"%cd /content/course/{folder}"]
    assert sys.path[0] == "/content/course"
    sys.path.remove("/content/course")


@pytest.mark.parametrize("readme, folder", [("README.md", "notebooks"), ("README.zh.md", "notebooks/zh")])
def test_readme_has_the_binder_badge_and_colab_links(readme, folder) -> None:
    text = (ROOT / readme).read_text()
    assert launch_links.binder_url() + folder.removeprefix("notebooks") + ")" in text  # the badge opens its folder
    for path in (p for p in NOTEBOOKS if str(p.parent.relative_to(ROOT)) == folder):
        assert launch_links.colab_url(path) in text, f"{readme} lacks the Colab link of {path.name}"


def test_repository_address_is_read_from_pyproject() -> None:
    assert launch_links.repository().startswith("https://github.com/")
    assert not launch_links.repository().endswith((".git", "/"))
