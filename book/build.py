"""Build the course as a website: every notebook executed once, rendered with its outputs.

Why: the notebooks are stored without outputs (clean diffs, strict comparison by nbval), so
someone reading them on the web sees only code. This script runs each chapter in the course's
own kernel, keeps the executed copy, and renders the copies with Sphinx + MyST-NB
(``book/conf.py``) into a static site: a landing page made from the README's course map, one
page per chapter with its plots, tables and printed figures, MathJax served from the site
itself (no CDN), a sidebar in chapter order and Sphinx's search.

* Execution uses the interpreter running this script (``make book`` runs ``.venv/bin/python``)
  and the kernel ``make setup`` installed there (``tools/install_kernel.py``), with ``notebooks/``
  as working directory and the offline variables of the caller (``KERAS_HOME``, ``TFDS_DATA_DIR``),
  as ``make test`` does. One difference: figures must be kept, so the kernel uses Jupyter's inline
  plotting backend even where ``MPLBACKEND=Agg`` is set for the tests.
* An executed copy is reused while its key holds: a hash of the notebook, every file in
  ``helpers/`` and the pinned requirements. Change any of them and that chapter runs again.
* Each page says when, in how long and on what its chapter was executed (date, CPU cores,
  versions, offline or online), since every figure on it was measured then.
* The Chinese edition (``notebooks/zh/``, ``README.zh.md``) is built beside the English one, in
  ``html/zh/``: its chapters are not executed again. Their code is the English code (checked by
  ``tools/translation_sync.py``), so each Chinese page shows the outputs of the English execution,
  cell by cell. Every page links to the same page in the other language, and the Chinese search
  segments words with jieba, using the course glossary (``docs/glossary.zh.md``) as its dictionary.

Usage::

    python book/build.py                 # every chapter -> book/_build/html/index.html
    python book/build.py --only 00 01    # a small book (chapters whose name starts so)
    python book/build.py --out /tmp/b    # another output folder (executed/, src/, html/)
    python book/build.py --rerun         # ignore the executed copies
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DEFAULT_OUT = ROOT / "book" / "_build"
KEYED_FILES = ("requirements.txt", "requirements-nodeps.txt")
"""Besides the notebook and helpers/, files whose change makes a chapter run again."""
CELL_TIMEOUT_S = 1800
TRANSLATIONS = NOTEBOOKS / "zh"
GLOSSARY = ROOT / "docs" / "glossary.zh.md"
DOWNLOAD_HOST = "storage.googleapis.com"
"""Where Keras and TensorFlow Datasets download from: reachable means the build ran online."""

sys.path.insert(0, str(ROOT / "tools"))
import launch_links  # noqa: E402  (the Colab and Binder addresses)
import translation_sync  # noqa: E402  (README sections, matched between the languages)


class BookError(RuntimeError):
    """A build that cannot go on; the message says what to do."""


# --------------------------------------------------------------------------- execution


def cache_key(notebook: Path, root: Path = ROOT) -> str:
    """Hash of what an executed copy depends on: the notebook, helpers/ and the pins."""
    digest = hashlib.sha256()
    files = [notebook, *sorted((root / "helpers").rglob("*.py"))]
    files += [root / name for name in KEYED_FILES if (root / name).exists()]
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _online(host: str = DOWNLOAD_HOST, timeout: float = 3.0) -> bool:
    # Like helpers.data.network_available, written again on purpose: importing helpers.data would load
    # TensorFlow into this process, which stays alive (hundreds of MB) while every kernel runs.
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_record() -> dict[str, str]:
    """What an execution ran on: CPU, versions, and whether the downloads came from the network."""
    online = _online()
    return {
        "cpu_cores": str(os.cpu_count()),
        "machine": platform.machine(),
        "system": platform.system(),  # not the kernel release: a build string of the machine, no use to a reader
        "python": platform.python_version(),
        "tensorflow": _version("tensorflow"),
        "keras": _version("keras"),
        "tensorflow_datasets": _version("tensorflow-datasets"),
        "network": "online" if online else "offline",
        "keras_home": os.environ.get("KERAS_HOME", "~/.keras (default)"),
        "tfds_data_dir": os.environ.get("TFDS_DATA_DIR", "~/tensorflow_datasets (default)"),
    }


def _kernel_manager():  # type: ignore[no-untyped-def]
    """The course's kernel of *this* environment (not one a user folder might shadow)."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernels = Path(sys.prefix) / "share" / "jupyter" / "kernels"
    if not (kernels / "python3" / "kernel.json").exists():
        raise BookError(f"No course kernel in {kernels}: run `make setup` (or python tools/install_kernel.py).")
    specs = KernelSpecManager(kernel_dirs=[str(kernels)])
    return KernelManager(kernel_name="python3", kernel_spec_manager=specs)


def execute(notebook: Path, target: Path, key: str, record: dict[str, str]) -> float:
    """Run ``notebook`` in the course's kernel with cwd notebooks/, write it to ``target``."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(notebook, as_version=4)
    # Keep the figures: the tests' MPLBACKEND=Agg would make plt.show() draw nothing.
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")  # as conftest.py: lower peak memory
    kernel = _kernel_manager()
    client = NotebookClient(nb, km=kernel, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(NOTEBOOKS)}},
                            coalesce_streams=True)  # a progress bar's redraws (\r) become its last state
    target.parent.mkdir(parents=True, exist_ok=True)
    log = target.with_suffix(".log")  # the kernel's own terminal output (TensorFlow's start-up lines)
    started_at = dt.datetime.now(dt.timezone.utc)
    start = time.monotonic()
    try:
        with log.open("w") as terminal:
            client.execute(stdout=terminal, stderr=terminal)
    except CellExecutionError as error:
        raise BookError(f"{notebook.name} failed while executing; fix it (make test shows the same):\n{error}") from None
    finally:
        if kernel.has_kernel:
            kernel.shutdown_kernel(now=True)  # we own it: nbclient leaves a passed-in kernel running
    seconds = time.monotonic() - start
    nb.metadata["book"] = {"key": key, "executed": started_at.isoformat(timespec="seconds"),
                           "seconds": round(seconds, 1), **record}
    nbformat.write(nb, target)
    return seconds


def executed_copies(notebooks: list[Path], folder: Path, rerun: bool, root: Path = ROOT) -> dict[Path, Path]:
    """Execute what has changed, reuse the rest; return notebook -> executed copy."""
    copies: dict[Path, Path] = {}
    record: dict[str, str] | None = None
    for notebook in notebooks:
        target = folder / notebook.name
        key = cache_key(notebook, root)
        if not rerun and target.exists():
            old = nbformat.read(target, as_version=4).metadata.get("book", {})
            if old.get("key") == key:
                print(f"  reuse    {notebook.name} (executed {old['executed']})", flush=True)
                copies[notebook] = target
                continue
        record = record or machine_record()
        print(f"  execute  {notebook.name} ...", end=" ", flush=True)
        print(f"{execute(notebook, target, key, record):.0f} s", flush=True)
        copies[notebook] = target
    return copies


# --------------------------------------------------------------------------- pages


def _chapter_title(nb: nbformat.NotebookNode) -> str:
    first = nb.cells[0].source.split("\n", 1)[0]
    return first.lstrip("#").strip()


def _when(meta: dict) -> str:
    executed = dt.datetime.fromisoformat(meta["executed"])
    return executed.strftime("%Y-%m-%d %H:%M UTC")


TEXT = {
    "en": {
        "run_yourself": "Run this chapter yourself",
        "lab_note": "(on your machine, after `make lab`)",
        "binder_note": "(nothing to install)",
        "made": "How this page was made",
        "from_run": "Every figure and number below comes from that run.",
        "solution": ("Show solution", "Hide solution"),
    },
    "zh": {
        "run_yourself": "自己运行这一章",
        "lab_note": "（在你自己的电脑上，先运行 `make lab`）",
        "binder_note": "（无需安装）",
        "made": "本页是怎样生成的",
        "from_run": "下面的每个图和数字都来自那次运行；中文版的代码与英文版相同，输出就是英文版执行的输出。",
        "solution": ("显示答案", "隐藏答案"),
    },
}
"""The words build.py itself writes on a page, per language."""


def execution_line(meta: dict, language: str = "en") -> str:
    """One sentence saying when, in how long and on what a chapter was executed."""
    if language == "zh":
        network = "离线：权重和数据来自本地副本" if meta["network"] == "offline" else "在线"
        return (f"于 {_when(meta)} 执行，用时 {meta['seconds']:.0f} 秒，{meta['cpu_cores']} 个 CPU 核心"
                f"（{meta['machine']}，{meta['system']}），Python {meta['python']}，"
                f"TensorFlow {meta['tensorflow']}，Keras {meta['keras']}，"
                f"tensorflow-datasets {meta['tensorflow_datasets']}；{network}。")
    network = ("offline: weights and data from local copies" if meta["network"] == "offline"
               else "online")
    return (f"Executed on {_when(meta)} in {meta['seconds']:.0f} s on {meta['cpu_cores']} CPU cores "
            f"({meta['machine']}, {meta['system']}), Python {meta['python']}, "
            f"TensorFlow {meta['tensorflow']}, Keras {meta['keras']}, "
            f"tensorflow-datasets {meta['tensorflow_datasets']}; {network}.")


def _language(notebook: Path) -> str:
    return "zh" if notebook.parent.name == "zh" else "en"


def launch_box(notebook: Path) -> str:
    """The MyST markdown of the "run this chapter yourself" box under a chapter's title."""
    text = TEXT[_language(notebook)]
    folder = "zh/" if _language(notebook) == "zh" else ""
    lab = f"http://localhost:8888/lab/tree/{folder}{notebook.name}"
    binder = f"{launch_links.binder_url()}/{folder}{notebook.name}"
    return "\n".join([
        f"```{{admonition}} {text['run_yourself']}",
        ":class: tip launch-links",
        f"[JupyterLab]({lab}) {text['lab_note']} · "
        f"[Binder]({binder}) {text['binder_note']} · [Colab]({launch_links.colab_url(notebook)})",
        "```",
    ])


def translated_copy(translation: Path, executed: Path) -> nbformat.NotebookNode:
    """The translated notebook with the outputs of the executed English copy, matched by cell id.

    Raises:
        BookError: When a code cell of the translation has no executed English cell with its id (run
            ``python tools/translation_sync.py check``: the translation is out of step).
    """
    english = nbformat.read(executed, as_version=4)
    nb = nbformat.read(translation, as_version=4)
    outputs = {cell.id: cell for cell in english.cells if cell.cell_type == "code"}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = outputs.get(translation_sync.key(cell))  # the English cell it translates, as the sync check pairs them
        if source is None:
            raise BookError(f"{translation.name} (Chinese) has code cell {cell.id!r}, which the English "
                            "chapter lacks: run python tools/translation_sync.py check and fix what it reports.")
        cell.outputs, cell.execution_count = source.outputs, source.execution_count
    nb.metadata["book"] = english.metadata["book"]
    return nb


def chapter_page(notebook: Path, executed: Path) -> nbformat.NotebookNode:
    """The executed notebook as the site shows it.

    * The Colab badge (an image from the web) gives way to a box with the three launch links
      and the execution record.
    * The Colab setup cell, which does nothing outside Colab, is left out.
    * Solution cells stay collapsed as in JupyterLab (a "Show solution" toggle); check cells show.
    * A translated chapter (``notebooks/zh/``) shows the outputs of the English execution.
    """
    language = _language(notebook)
    text = TEXT[language]
    nb = translated_copy(notebook, executed) if language == "zh" else nbformat.read(executed, as_version=4)
    meta = nb.metadata["book"]
    title = nb.cells[0]
    lines = title.source.split("\n")
    badge = [i for i, line in enumerate(lines) if "colab-badge.svg" in line]
    if badge:
        lines[badge[0]] = launch_box(notebook)
    else:
        lines[1:1] = ["", launch_box(notebook)]
    title.source = "\n".join(line for line in lines if "colab-badge.svg" not in line)
    note = nbformat.v4.new_markdown_cell(
        f"```{{admonition}} {text['made']}\n:class: note execution-record\n"
        + execution_line(meta, language) + " " + text["from_run"] + "\n```")
    note["id"] = "book-launch-links"
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if launch_links.SETUP_TAG in tags:
            tags.append("remove-cell")
        hidden = cell.metadata.get("jupyter", {})
        if hidden.get("source_hidden") and hidden.get("outputs_hidden"):
            tags.append("hide-cell")
        elif hidden.get("source_hidden"):
            tags.append("hide-input")
        elif hidden.get("outputs_hidden"):
            tags.append("hide-output")
        if "solution" in tags:
            show, hide = text["solution"]
            cell.metadata["mystnb"] = {"code_prompt_show": show, "code_prompt_hide": hide}
    nb.cells.insert(1, note)
    return nb


def _readme_section(readme: str, heading: str, translated: str | None = None) -> str:
    """The body of README.md's ``## heading`` section, or of its translation in ``translated``.

    A translation's headings are translated, so its section is found by the English section's hash, which
    each translated section records (tools/translation_sync.py): a stale section is an error, not a guess.
    """
    sections = translation_sync.split_sections(readme)
    english = next((section for section in sections if section.heading == f"## {heading}"), None)
    if english is None:
        raise BookError(f"README.md has no '## {heading}' section; the landing page is made from it.")
    section = english
    if translated is not None:  # the translated section that records this English section's hash
        section = next((s for s in translation_sync.split_sections(translated) if s.marker == english.digest), None)
        if section is None:
            raise BookError(f"README.zh.md has no current translation of '## {heading}': run "
                            "python tools/translation_sync.py check and fix what it reports.")
    body = section.text.split("\n", 1)[1] if "\n" in section.text else ""
    return "\n".join(line for line in body.split("\n") if not line.startswith("<!-- source:")).strip()


def _relink(markdown: str, built: dict[str, str], readme_name: str = "README.md") -> str:
    """Point README links at chapter pages (if built) or at the repository on GitHub."""
    repo = launch_links.repository() + f"/blob/{launch_links.BRANCH}/"

    def fix(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        if re.match(r"[a-z]+:", target):
            return match.group(0)
        name = Path(target.split("#")[0]).stem
        if target.startswith("notebooks/") and name in built:
            return f"{{doc}}`{text} <{name}>`"
        if target.startswith("#"):
            return f"[{text}]({repo}{readme_name}{target})"
        return f"[{text}]({repo}{target})"

    return re.sub(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)", fix, markdown)


LANDING = {
    "en": {
        "run": "Run the course yourself",
        "launch": "[JupyterLab]({lab}) (on your machine: `make lab`) · [Binder]({binder}) (nothing to install) · "
                  "Colab: the link in each chapter's row below, or under its title.",
        "prerequisites": "Prerequisites", "map": "Course map", "made": "How these pages were made",
        "made_text": "Each chapter was executed once in the course's own kernel, as `make book` does, and its "
                     "outputs are shown as that run produced them. Chapters are executed again only when the "
                     "notebook, `helpers/` or the pinned requirements change, so dates can differ. Machine: "
                     "{cores} CPU cores ({machine}), Python {python}, TensorFlow {tensorflow}, Keras {keras}.",
        "columns": "| chapter | executed | run time | network |", "seconds": "{:.0f} s",
        "network": {"online": "online", "offline": "offline"}, "caption": "Chapters",
    },
    "zh": {
        "run": "自己运行这门课",
        "launch": "[JupyterLab]({lab}/tree/zh)（在你自己的电脑上：`make lab`）· [Binder]({binder}/zh)（无需安装）· "
                  "Colab：见下表每一章那一行的链接，或每章标题下的链接。",
        "prerequisites": "预备知识", "map": "课程地图", "made": "这些页面是怎样生成的",
        "made_text": "每一章都像 `make book` 那样，在课程自己的内核中执行过一次，页面展示的就是那次运行的输出。"
                     "中文版各章的代码与英文版相同，因此不再执行，直接展示英文版执行的输出。只有当 notebook、"
                     "`helpers/` 或固定版本的依赖改变时，章节才会重新执行，所以各章的日期可能不同。"
                     "机器：{cores} 个 CPU 核心（{machine}），Python {python}，TensorFlow {tensorflow}，"
                     "Keras {keras}。",
        "columns": "| 章节 | 执行时间 | 运行时长 | 网络 |", "seconds": "{:.0f} 秒",
        "network": {"online": "在线", "offline": "离线"}, "caption": "章节",
    },
}
"""The words of the landing page that build.py writes (the rest comes from the README), per language."""


def landing_page(readme: str, chapters: dict[str, dict], translated: str | None = None) -> str:
    """index.md: the README's introduction, prerequisites and course map, and the toctree.

    With ``translated`` (README.zh.md's text), the page is the Chinese edition's, made from the translated
    README's sections that correspond to the English ones.
    """
    language = "en" if translated is None else "zh"
    words, readme_name = LANDING[language], "README.md" if translated is None else "README.zh.md"
    source = readme if translated is None else translated
    heading, intro = source.split("\n", 1)[0].lstrip("#").strip(), source.split("\n## ", 1)[0]
    language_line = ("**English** ·", "[English](README.md)")  # the site has its own switch on every page
    intro = "\n".join(line for line in intro.split("\n")[1:]
                      if "badge_logo.svg" not in line and not line.startswith(("<!-- source:", *language_line))).strip()
    built = chapters
    table = _relink(_readme_section(readme, "Course map", translated), built, readme_name)
    rows = [words["columns"], "|---|---|---|---|"]
    for name, meta in chapters.items():
        rows.append(f"| {{doc}}`{name}` | {_when(meta)} | {words['seconds'].format(meta['seconds'])} | "
                    f"{words['network'][meta['network']]} |")
    first = next(iter(chapters.values()))
    lab, binder = "http://localhost:8888/lab", launch_links.binder_url()
    parts = [
        f"# {heading}", "",
        _relink(intro, built, readme_name), "",
        f"```{{admonition}} {words['run']}", ":class: tip launch-links",
        words["launch"].format(lab=lab, binder=binder), "```", "",
        f"## {words['prerequisites']}", "",
        _relink(_readme_section(readme, "Prerequisites", translated), built, readme_name), "",
        f"## {words['map']}", "", table, "",
        f"## {words['made']}", "",
        words["made_text"].format(cores=first["cpu_cores"], machine=first["machine"], python=first["python"],
                                  tensorflow=first["tensorflow"], keras=first["keras"]), "",
        *rows, "",
        "```{toctree}", ":hidden:", f":caption: {words['caption']}", ":maxdepth: 1", "", *chapters, "```", "",
    ]
    return "\n".join(parts)


def jieba_dictionary(glossary: Path = GLOSSARY) -> str:
    """A jieba user dictionary of the glossary's Chinese terms, so that the search finds them whole.

    jieba alone cuts 预训练模型 into 预 / 训练 / 模型; with the glossary's terms it also indexes the whole
    term. One term per line with a high frequency, as jieba's ``load_userdict`` reads it.
    """
    terms: set[str] = set()
    for line in glossary.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] == "English" or not re.search(r"[\u3400-\u9fff]", cells[1]):  # term rows
            continue
        for part in re.split(r"[/／；;、，,（）()★*：\s]+", cells[1]):
            if len(re.findall(r"[\u3400-\u9fff]", part)) >= 2 and not re.search(r"[A-Za-z0-9`]", part):
                terms.add(part)
    return "".join(f"{term} 100000\n" for term in sorted(terms))


def _sphinx(src: Path, html: Path, language: str, dictionary: Path | None = None) -> None:
    environment = dict(os.environ, TLHO_BOOK_LANGUAGE=language)
    if dictionary is not None:
        environment["TLHO_JIEBA_DICT"] = str(dictionary)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(ROOT / "book"), str(src), str(html)]
    if subprocess.run(command, check=False, env=environment).returncode:
        raise BookError("Sphinx failed (its messages are above).")


def build(only: list[str], out: Path, rerun: bool = False) -> Path:
    """Execute (or reuse) the chosen chapters and render the site; return its index.html.

    The Chinese edition goes to ``html/zh/``: the translated chapters of the chosen ones, with the
    English outputs. A chosen chapter without a translation is an error (run translation_sync init).
    """
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    if only:
        notebooks = [nb for nb in notebooks if any(nb.name.startswith(prefix) for prefix in only)]
        if not notebooks:
            raise BookError(f"No notebook in {NOTEBOOKS} starts with {' or '.join(only)}.")
    missing = [nb.name for nb in notebooks if not (TRANSLATIONS / nb.name).exists()]
    if missing:
        raise BookError(f"No Chinese edition of {', '.join(missing)} in {TRANSLATIONS}: start one with "
                        "python tools/translation_sync.py init notebooks/<name>.ipynb")
    if not (ROOT / "README.zh.md").exists():
        raise BookError("README.zh.md is missing: the Chinese landing page is made from it.")
    # A Chinese page shows the English run's outputs: only where its code is the English code.
    problems = [p for nb in notebooks for p in translation_sync.check_notebook(nb, TRANSLATIONS / nb.name)]
    problems += translation_sync.check_document(ROOT / "README.md", ROOT / "README.zh.md")
    if problems:
        raise BookError("the Chinese edition is out of step with the English (python tools/translation_sync.py "
                        "check):\n" + "\n".join(problems))
    print(f"Executing {len(notebooks)} notebooks (executed copies in {out / 'executed'}):", flush=True)
    copies = executed_copies(notebooks, out / "executed", rerun)

    src, html = out / "src", out / "html"
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(html, ignore_errors=True)
    (src / "zh").mkdir(parents=True)
    (src / "en").mkdir()
    chapters: dict[str, dict] = {}
    for notebook, executed in copies.items():
        page = chapter_page(notebook, executed)
        nbformat.write(page, src / "en" / notebook.name)
        nbformat.write(chapter_page(TRANSLATIONS / notebook.name, executed), src / "zh" / notebook.name)
        chapters[notebook.stem] = page.metadata["book"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (src / "en" / "index.md").write_text(landing_page(readme, chapters), encoding="utf-8")
    translated = ROOT / "README.zh.md"
    (src / "zh" / "index.md").write_text(landing_page(readme, chapters, translated.read_text(encoding="utf-8")),
                                         encoding="utf-8")
    dictionary = out / "jieba-glossary.txt"
    dictionary.write_text(jieba_dictionary(), encoding="utf-8")

    print("Rendering with Sphinx (English, then Chinese) ...", flush=True)
    _sphinx(src / "en", html, "en")
    _sphinx(src / "zh", html / "zh", "zh", dictionary)
    index = html / "index.html"
    print(f"Built {index} and {html / 'zh' / 'index.html'} ({len(copies)} chapters each). Open it in a browser.")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=[], metavar="PREFIX",
                        help="build only the chapters whose file name starts with these (e.g. 00 01 02)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--rerun", action="store_true", help="execute every chosen chapter again")
    args = parser.parse_args(argv)
    try:
        build(args.only, args.out.resolve(), args.rerun)
    except BookError as error:
        print(f"make book: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
