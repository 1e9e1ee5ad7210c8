"""The course website (``make book``), checked as a reader sees it: in headless Chromium.

A small book of the fastest chapters (01 and 02) is built with ``book/build.py`` into a temporary
folder, executed for real in the course's kernel. Chromium opens each page from disk (no
network: the site must carry its own MathJax, scripts and fonts) and hands back the DOM after
its scripts ran; the checks read that DOM: each chapter shows its title, its plots (as image
files that decode), rendered math where the notebook has formulas, no error output except in
cells meant to fail, no broken internal link; and the search page finds a chapter by a word.

Skips with one line when Chromium or the book's packages (requirements-book.txt) are missing;
``make test`` installs the packages and ``.ci/run`` installs Chromium, so CI runs it.
``TLHO_BOOK_OUT=book/_build pytest tests/test_book.py`` checks a book already built (all of
``make book``'s chapters) instead of building the small one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL_BOOK = ("01", "02")  # the quickest chapters that plot and have formulas: the suite must stay short
BUILT = os.environ.get("TLHO_BOOK_OUT")
"""Set to a built book's folder (``make book``: book/_build) to check it instead of building one."""
CHAPTERS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb")
                  if (Path(BUILT, "html", f"{p.stem}.html").exists() if BUILT else p.name[:2] in SMALL_BOOK))
TRANSLATED = [ROOT / "notebooks" / "zh" / p.name for p in CHAPTERS]
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
BOOK_PACKAGES = ("sphinx", "myst_nb", "sphinx_book_theme")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """What the checks need from a page's DOM: title, ids, links, images, math, errors, text."""

    def __init__(self, dom: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str]]] = []
        self.ids: set[str] = set()
        self.links: list[str] = []  # every href/src of a, img, link, script
        self.images: list[str] = []
        self.math = 0  # MathJax's rendered formulas
        self.math_errors = 0
        self.errors: list[str] = []  # classes of error outputs outside cells meant to fail
        self.titles: list[str] = []
        self.search_results: list[str] = []
        self.sidebar: list[str] = []
        self.text: list[str] = []
        self._h1: list[str] | None = None
        self.feed(dom)

    def _inside(self, cls: str) -> bool:
        return any(cls in classes for _, classes in self.stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        classes = set(attr.get("class", "").split())
        if "id" in attr:
            self.ids.add(attr["id"])
        for key in ("href", "src"):
            if key in attr and tag in {"a", "img", "link", "script"}:
                self.links.append(attr[key])
        if tag == "img":
            self.images.append(attr.get("src", ""))
        if tag == "mjx-container":
            self.math += 1
        if tag == "mjx-merror":
            self.math_errors += 1
        if "output" in classes and classes & {"traceback", "error"} and not self._inside("tag_raises-exception"):
            self.errors.append(" ".join(sorted(classes)))
        if tag == "a" and self._inside("search") and self._inside_tag("ul"):
            self.search_results.append(attr.get("href", ""))
        if tag == "a" and self._inside("bd-docs-nav"):
            self.sidebar.append(attr.get("href", ""))
        if tag == "h1" and self._h1 is None:
            self._h1 = []
        if tag not in VOID:
            self.stack.append((tag, classes))

    def _inside_tag(self, tag: str) -> bool:
        return any(t == tag for t, _ in self.stack)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1" and self._h1 is not None and not self.titles:
            self.titles.append(" ".join("".join(self._h1).split()).rstrip("#").strip())
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._h1 is not None and not self.titles:
            self._h1.append(data)
        if not any(t in {"script", "style"} for t, _ in self.stack):
            self.text.append(data)

    @property
    def title(self) -> str:
        return self.titles[0] if self.titles else ""

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


def dump_dom(url: str) -> str:
    """The page's DOM after its scripts (MathJax, search) ran in headless Chromium."""
    with tempfile.TemporaryDirectory() as profile:
        command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                   "--disable-extensions", f"--user-data-dir={profile}", "--virtual-time-budget=8000",
                   "--host-resolver-rules=MAP * ~NOTFOUND",  # no network: a CDN script would fail here
                   "--dump-dom", url]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "</html>" in done.stdout, f"Chromium failed on {url}: {done.stderr[-500:]}"
    return done.stdout


def broken_links(html: Path, page: str, dom: Page, pages: dict[str, Page]) -> list[str]:
    """Relative links of ``page`` whose file is missing, or whose #fragment is not an id there."""
    broken = []
    for link in dom.links:
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or not link or link.startswith("javascript:"):
            continue  # the web (Binder, Colab, GitHub) and localhost JupyterLab are not checked offline
        target = (html / page).parent / unquote(parts.path) if parts.path else html / page
        if not target.resolve().is_file():
            broken.append(link)
            continue
        if parts.fragment:
            name = target.resolve().relative_to(html.resolve()).as_posix()
            ids = pages[name].ids if name in pages else Page(target.read_text()).ids
            if unquote(parts.fragment) not in ids:
                broken.append(link)
    return broken


def display_formulas(notebook: Path) -> int:
    """How many $$...$$ formulas the notebook's Markdown cells hold."""
    cells = nbformat.read(notebook, as_version=4).cells
    return sum(len(re.findall(r"\$\$.+?\$\$", c.source, re.S)) for c in cells if c.cell_type == "markdown")


def plots(notebook: Path) -> bool:
    """Whether a code cell draws a figure (matplotlib directly or through helpers.plots)."""
    cells = nbformat.read(notebook, as_version=4).cells
    return any(re.search(r"\bplt\.|\bplots\.", c.source) for c in cells if c.cell_type == "code")


# --------------------------------------------------------------------------- the checkers can fail


def test_checkers_find_what_is_wrong(tmp_path):
    (tmp_path / "a.html").write_text('<html><body><h1 id="top">A</h1></body></html>')
    (tmp_path / "index.html").write_text("written by the browser")
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "p.png").write_bytes(b"")
    dom = Page('<html><body><h1 id="x">Title<a class="headerlink" href="#x">#</a></h1>'
               '<a href="a.html#top">ok</a><a href="a.html#nowhere">bad id</a><a href="gone.html">bad</a>'
               '<a href="https://colab.research.google.com/x">web</a><img src="_images/p.png">'
               '<div class="cell tag_raises-exception"><div class="output traceback">meant</div></div>'
               '<div class="cell"><div class="output traceback">not meant</div></div>'
               '<mjx-container></mjx-container><mjx-merror></mjx-merror></body></html>')
    assert dom.title == "Title"
    assert broken_links(tmp_path, "index.html", dom, {"index.html": dom}) == ["a.html#nowhere", "gone.html"]
    assert dom.errors == ["output traceback"]  # the one not in a cell meant to fail
    assert dom.math == 1 and dom.math_errors == 1
    assert display_formulas(ROOT / "notebooks" / "02_cross_entropy.ipynb") >= 3
    assert plots(ROOT / "notebooks" / "00_setup_and_first_look.ipynb")


def test_book_requirements_are_pinned_and_agree_with_the_course():
    def pins(name: str) -> dict[str, str]:
        lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
        assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line) for line in lines if line), name
        return {k.lower().replace("_", "-"): v for k, v in (line.split("==") for line in lines if line)}

    book, course = pins("requirements-book.txt"), pins("requirements.txt")
    assert {"sphinx-book-theme", "myst-nb", "sphinx-mathjax-offline"} <= set(book)
    assert {name: book[name] for name in book.keys() & course.keys()} == {
        name: course[name] for name in book.keys() & course.keys()}


def _builder():  # book/build.py is a script, not a package
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "book" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_executed_copies_are_reused_until_the_notebook_or_helpers_change(tmp_path, capsys):
    build = _builder()
    root = tmp_path / "course"
    shutil.copytree(ROOT / "helpers", root / "helpers", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "notebooks").mkdir()
    notebook = root / "notebooks" / "00_first.ipynb"
    shutil.copy(ROOT / "notebooks" / "00_setup_and_first_look.ipynb", notebook)
    key = build.cache_key(notebook, root)
    assert build.cache_key(notebook, root) == key
    (root / "helpers" / "plots.py").write_text((root / "helpers" / "plots.py").read_text() + "\n# changed\n")
    changed_helper = build.cache_key(notebook, root)
    notebook.write_text(notebook.read_text().replace("tf_flowers", "tf_flowers "))
    assert len({key, changed_helper, build.cache_key(notebook, root)}) == 3

    executed = tmp_path / "executed"
    executed.mkdir()
    copy = nbformat.read(notebook, as_version=4)
    copy.metadata["book"] = {"key": build.cache_key(notebook, root), "executed": "2026-01-01T00:00:00+00:00"}
    nbformat.write(copy, executed / notebook.name)
    assert build.executed_copies([notebook], executed, rerun=False, root=root) == {notebook: executed / notebook.name}
    assert "reuse" in capsys.readouterr().out  # no kernel was started


# --------------------------------------------------------------------------- the small book


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> tuple[Path, dict[str, Page]]:
    """Build the small book once, open every page of it in Chromium."""
    missing = [name for name in BOOK_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"book packages missing ({', '.join(missing)}): pip install -r requirements-book.txt (make test does)")
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does): the website is not checked")
    if BUILT:
        out = Path(BUILT)
    else:
        out = tmp_path_factory.mktemp("book")
        done = subprocess.run([sys.executable, str(ROOT / "book" / "build.py"), "--only", *SMALL_BOOK,
                               "--out", str(out)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"book/build.py failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    html = out / "html"
    names = ["index.html", *(f"{p.stem}.html" for p in CHAPTERS)]
    pages = {name: Page(dump_dom((html / name).as_uri())) for name in [*names, *(f"zh/{n}" for n in names)]}
    return html, pages


def _page_name(notebook: Path) -> str:
    return f"zh/{notebook.stem}.html" if notebook.parent.name == "zh" else f"{notebook.stem}.html"


@pytest.mark.parametrize("notebook", CHAPTERS + TRANSLATED,
                         ids=lambda p: ("zh/" if p.parent.name == "zh" else "") + p.stem[:2])
def test_chapter_page_shows_title_plots_math_and_no_errors(book, notebook):
    html, pages = book
    page = pages[_page_name(notebook)]
    title = nbformat.read(notebook, as_version=4).cells[0].source.split("\n")[0].lstrip("#").strip()
    assert page.title == title
    if plots(notebook):
        figures = [src for src in page.images if src.startswith("_images/")]
        assert figures, f"{notebook.name} draws figures but its page shows no image"
        from PIL import Image

        for src in figures:
            with Image.open((html / _page_name(notebook)).parent / src) as image:
                assert min(image.size) > 50, f"{src} is {image.size}"
    assert page.math >= display_formulas(notebook), "formulas left unrendered by MathJax"
    assert page.math_errors == 0
    assert not page.errors, f"error output on {_page_name(notebook)} outside cells meant to fail: {page.errors}"
    assert "$$" not in page.all_text


def test_no_broken_internal_links(book):
    html, pages = book
    for name, page in pages.items():
        assert page.links, name
        assert broken_links(html, name, page, pages) == [], name


def test_landing_page_has_the_course_map_and_chapters_in_order(book):
    _, pages = book
    index = pages["index.html"]
    assert index.title == "Transfer Learning, Hands-On"
    assert "Course map" in index.all_text and "Prerequisites" in index.all_text
    assert "30 + 20 min" in index.all_text  # the times of the README's course map
    assert [link for link in index.sidebar if link != "#"] == [f"{p.stem}.html" for p in CHAPTERS]


def test_chinese_landing_page_is_made_from_the_chinese_readme(book):
    _, pages = book
    index = pages["zh/index.html"]
    assert index.title == (ROOT / "README.zh.md").read_text(encoding="utf-8").split("\n", 1)[0].lstrip("#").strip()
    assert "课程地图" in index.all_text and "预备知识" in index.all_text  # the headings build.py writes
    assert "30 + 20 分钟" in index.all_text and "30 + 20 min" not in index.all_text  # the translated course map
    assert [link for link in index.sidebar if link != "#"] == [f"{p.stem}.html" for p in CHAPTERS]


@pytest.mark.parametrize("notebook", CHAPTERS[:1], ids=lambda p: p.stem[:2])
def test_chapter_page_records_its_run_and_launch_links(book, notebook):
    _, pages = book
    page = pages[f"{notebook.stem}.html"]
    assert re.search(rf"Executed on \d{{4}}-\d\d-\d\d \d\d:\d\d UTC in \d+ s on {os.cpu_count()} CPU cores",
                     page.all_text)
    assert re.search(r"; (offline|online)", page.all_text)
    web = [link for link in page.links if notebook.name in link]
    assert any("mybinder.org" in link for link in web) and any("colab.research.google.com" in link for link in web)
    assert any(link.startswith("http://localhost:8888/lab/tree/") for link in web)
    assert "Show solution" in page.all_text  # solutions collapsed behind a toggle


def test_search_finds_a_chapter_by_a_word_in_it(book):
    html, _ = book
    found = Page(dump_dom((html / "search.html").as_uri() + "?q=overflow")).search_results
    assert found and found[0] == "02_cross_entropy.html", found
    assert Page(dump_dom((html / "search.html").as_uri() + "?q=zyzzyvaqx")).search_results == []


def _switch(page: Page) -> list[str]:
    return sorted({link for link in page.links if link.startswith(("zh/", "../")) and link.endswith(".html")})


def test_every_page_links_to_the_same_page_in_the_other_language(book):
    html, pages = book
    english = [name for name in pages if not name.startswith("zh/")]
    for name in english:
        there = _switch(pages[name])
        assert there == [f"zh/{name}"], (name, there)
        back = _switch(pages[f"zh/{name}"])
        assert back == [f"../{name}"], (f"zh/{name}", back)  # and it leads back


@pytest.mark.parametrize("notebook", TRANSLATED[:1], ids=lambda p: p.stem[:2])
def test_chinese_chapter_page_is_in_chinese_with_the_english_outputs(book, notebook):
    _, pages = book
    page, english = pages[_page_name(notebook)], pages[f"{notebook.stem}.html"]
    assert re.search(r"[\u4e00-\u9fff]", page.title), page.title
    assert re.search(r"于 \d{4}-\d\d-\d\d \d\d:\d\d UTC 执行", page.all_text)
    assert "显示答案" in page.all_text
    web = [link for link in page.links if notebook.name in link]
    assert any("notebooks/zh/" + notebook.name in link for link in web)  # Colab opens the Chinese notebook
    assert any(link.startswith("http://localhost:8888/lab/tree/zh/") for link in web)
    # the outputs are the English run's: the same images, by content hash in their file names
    assert sorted(src.rsplit("/", 1)[-1] for src in page.images if "_images/" in src) == sorted(
        src.rsplit("/", 1)[-1] for src in english.images if "_images/" in src)


@pytest.mark.parametrize("term, chapter", [("交叉熵", "02_cross_entropy"), ("卷积核", "01_convolution")])
def test_chinese_search_finds_a_chapter_by_a_chinese_term(book, term, chapter):
    html, pages = book
    if f"zh/{chapter}.html" not in pages:
        pytest.skip(f"{chapter} is not in this book")
    found = Page(dump_dom((html / "zh" / "search.html").as_uri() + f"?q={term}")).search_results
    assert found and found[0] == f"{chapter}.html", found
