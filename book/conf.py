"""Sphinx settings of the course website; ``book/build.py`` (``make book``) runs Sphinx with them.

The pages are notebooks executed beforehand by build.py, so MyST-NB only renders them
(``nb_execution_mode = "off"``). Everything a page needs is served from the site itself:
MathJax comes from the ``sphinx-mathjax-offline`` package instead of a CDN, and the theme's
fonts and scripts ship with ``sphinx-book-theme``, so the site works without a network.
"""

import os

# build.py runs Sphinx twice: the English site, then the Chinese one (html/zh/) with TLHO_BOOK_LANGUAGE=zh.
LANGUAGE = os.environ.get("TLHO_BOOK_LANGUAGE", "en")

project = "Transfer Learning, Hands-On"
author = "the course authors"
copyright = "the course authors"
html_title = project
if LANGUAGE == "zh":
    language = "zh_CN"  # the theme's own words (search box, navigation) in Chinese too
    html_title = "迁移学习实战"
    # Sphinx's Chinese search cuts words with jieba (requirements-book.txt); without it no Chinese word is
    # indexed. build.py writes the glossary's terms as a jieba dictionary so that whole terms are found.
    html_search_language = "zh"
    if os.environ.get("TLHO_JIEBA_DICT"):
        html_search_options = {"dict": os.environ["TLHO_JIEBA_DICT"]}
    # Sphinx 9.0's Chinese search ships the English stemmer (for the Latin words on the pages) but names it
    # ChineseStemmer in language_data.js, which is undefined: the search page stopped with a ReferenceError
    # and found nothing (seen in Chromium). Under the English name the page loads the stemmer it ships.
    from sphinx import search as _search
    from sphinx.search.zh import SearchChinese as _SearchChinese

    class _ChineseSearch(_SearchChinese):
        language_name = "English"  # only used to name the stemmer's class in the generated JavaScript

    _search.languages["zh"] = _ChineseSearch
    try:  # jieba announces its dictionary on stderr at every build; only its warnings matter
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
    except ImportError:
        pass

extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "off"  # build.py executed them, with a cache keyed by notebook and helpers
nb_output_stderr = "show"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header"]  # chapters start at "#" and may skip levels in their prose

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme_options = {
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "use_download_button": True,  # the executed notebook, outputs included
    "navigation_with_keys": False,
    "footer_content_items": [],  # no author/copyright line: the landing page says what the course is
}
html_show_sourcelink = False
html_copy_source = True  # the download button serves the executed notebook

# sphinx-mathjax-offline copies all of MathJax 3 (24 MB); the pages load only tex-chtml.js and
# what it loads on demand (input/, output/chtml*, ui/, a11y/, sre/). The other bundles go.
UNUSED_MATHJAX = [
    "mml-chtml.js", "mml-svg.js", "tex-mml-chtml.js", "tex-mml-svg.js", "tex-svg.js", "tex-svg-full.js",
    "tex-chtml-full.js", "tex-chtml-full-speech.js", "output/svg", "output/svg.js", "node-main.js",
]


def _trim_mathjax(app, exception):  # type: ignore[no-untyped-def]
    import shutil
    from pathlib import Path

    folder = Path(app.outdir) / "_static" / "mathjax"
    if exception is not None or not folder.is_dir():
        return
    for name in UNUSED_MATHJAX:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


# Every page links to the same page in the other language: the English site is html/, the Chinese html/zh/,
# and both have the same page names (build.py builds the same chapters in both).
SWITCH = {
    "en": {"href": "zh/{page}.html", "label": "中文", "lang": "zh-CN", "title": "本页的中文版"},
    "zh": {"href": "../{page}.html", "label": "English", "lang": "en", "title": "This page in English"},
}


def _language_switch(app, pagename, templatename, context, doctree):  # type: ignore[no-untyped-def]
    other = SWITCH[LANGUAGE]
    href = other["href"].format(page=pagename)
    context["metatags"] = context.get("metatags", "") + (
        f'\n<link rel="alternate" hreflang="{other["lang"]}" href="{href}">')
    if "body" in context:  # content pages (chapters, the landing page); not search or genindex
        context["body"] = (f'<p class="language-switch"><a class="language-switch-link" href="{href}" '
                           f'hreflang="{other["lang"]}" lang="{other["lang"]}" title="{other["title"]}">'
                           f'{other["label"]}</a></p>\n' + context["body"])


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("build-finished", _trim_mathjax, priority=900)  # after the extension's copy (500)
    app.connect("html-page-context", _language_switch)
