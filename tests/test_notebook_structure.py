"""Every notebook follows the course's chapter shape (see shared conventions in README)."""

import io
import json
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TRANSLATED = sorted((ROOT / "notebooks" / "zh").glob("*.ipynb"))
"""The Chinese edition: its code is the English code (tools/translation_sync.py), its shape is checked here."""
MAX_CELL_LINES = 25
FIELDS = {"en": ("**Time:**", "**Questions**", "**Objectives**"), "zh": ("**时间**：讲授", "**问题**", "**学习目标**")}
SECTIONS = {"en": ("## Summary", "## Exercises"), "zh": ("## 小结", "## 练习")}  # docs/glossary.zh.md's fixed phrases


def _language(path):
    return "zh" if path.parent.name == "zh" else "en"


def _id(path):
    return f"{_language(path)}/{path.name}" if _language(path) == "zh" else path.name


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _source(cell):
    return "".join(cell["source"])


def test_notebooks_exist_and_are_numbered_uniquely():
    assert NOTEBOOKS, "no notebooks found"
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert all(re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", p.name) for p in NOTEBOOKS)
    assert len(numbers) == len(set(numbers))


def test_every_chapter_has_its_chinese_edition():
    assert [p.name for p in TRANSLATED] == [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS + TRANSLATED, ids=_id)
def test_title_cell_has_time_questions_and_objectives(path):
    title = _source(_cells(path)[0])
    assert title.startswith(f"# {path.name[:2]} · ")
    for field in FIELDS[_language(path)]:
        assert field in title, f"{_id(path)}: title cell lacks {field}"


@pytest.mark.parametrize("path", NOTEBOOKS + TRANSLATED, ids=_id)
def test_sections_parameters_and_seed(path):
    cells = _cells(path)
    text = "\n".join(_source(c) for c in cells)
    for heading in SECTIONS[_language(path)]:
        assert heading in text, f"{_id(path)}: no '{heading}' section"
    assert any("parameters" in c["metadata"].get("tags", []) for c in cells), "no cell tagged 'parameters'"
    assert "keras.utils.set_random_seed(" in text


@pytest.mark.parametrize("path", NOTEBOOKS + TRANSLATED, ids=_id)
def test_cells_are_short_and_outputs_stripped(path):
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        lines = _source(cell).count("\n") + 1
        assert lines <= MAX_CELL_LINES, f"{path.name} cell {index} has {lines} lines"
        if cell["outputs"]:
            assert cell["metadata"].get("keep_output"), f"{path.name} cell {index}: strip outputs (make strip)"


@pytest.mark.parametrize("path", NOTEBOOKS + TRANSLATED, ids=_id)
def test_solutions_are_hidden_checked_and_named(path):
    solutions = [c for c in _cells(path) if "solution" in c["metadata"].get("tags", [])]
    assert len(solutions) >= 2, f"{path.name}: at least two exercises with solutions"
    for cell in solutions:
        assert cell["metadata"].get("jupyter", {}).get("source_hidden"), "solution source must be collapsed"
        assert "assert exercises.check" in _source(cell)
        assert "_solution" in _source(cell)


@pytest.mark.parametrize("path", NOTEBOOKS + TRANSLATED, ids=_id)
def test_no_machine_paths(path):
    text = path.read_text()
    for needle in ("/work/", "/tmp/", "/home/", "offline-bundle"):
        assert needle not in text, f"{path.name} mentions {needle!r}"


# A figure typed into prose drifts from what the code measures. Markdown, and the comments of code
# cells, may hold a decimal, a percentage, a time, a size or a ratio (in symbols or spelled out: "about
# 15 minutes", "threefold") only where it is not a measurement: math ($...$), code (`...`), links, the
# planned teaching times in the title, or an entry below, each with its reason.
NUMBER_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty"
               r"|fifty|sixty|ninety|hundred|thousand)")
FIGURE = re.compile(
    r"(?<![\w$.^_{/-])("
    r"\d+\.\d+"  # 0.896
    r"|\d+(?:\.\d+)?\s?%"  # 90 %
    r"|\d+(?:[.,]\d+)?\s?(?:s|ms|µs|min|kB|KB|MB|GB|KiB|MiB|GiB)\b"  # 40 s, 58 MB
    r"|\d+(?:\.\d+)?\s?[×x](?!\s?\d)(?!\w)"  # 93×, 4x (not 3×3 or 224 × 224)
    r"|10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+"  # 10⁻¹²
    rf"|(?i:(?:\d+(?:[.,]\d+)?|{NUMBER_WORD})[\s-](?:milli|micro)?(?:seconds?|minutes?|hours?)\b)"  # 15 minutes
    r"|(?i:(?:a|an|half an?)\s(?:minute|hour)\b)"  # about a minute ("a second" is too often an ordinal)
    rf"|(?i:(?:\d+(?:[.,]\d+)?|{NUMBER_WORD})[\s-](?:kilo|mega|giga)bytes?\b)"  # 400 megabytes
    rf"|(?i:(?:\d+(?:\.\d+)?-?|{NUMBER_WORD})fold\b)"  # threefold, 3-fold (not k-fold)
    rf"|(?i:(?:\d+(?:\.\d+)?|{NUMBER_WORD})\stimes\s(?:faster|slower|larger|smaller|bigger|longer|shorter"
    r"|higher|lower|more|fewer|less|as\s\w+))"  # 5 times faster, ten times as long (not "three times the steps")
    r")"
)
VERSION = re.compile(r"(Keras|TensorFlow|TF|Python|tfds|version|v)\s*$", re.I)  # "Keras 3.15" is a version
NOT_PROSE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|`[^`]*`|\]\([^)]*\)|^\*\*Time:\*\*[^\n]*", re.S | re.M)
ALLOWED_EVERYWHERE = {"95 %": "the confidence level of the intervals (helpers.significance's parameter)"}
ALLOWED_FIGURES: dict[str, dict[str, str]] = {
    "00_setup_and_first_look": {"1.28": "ImageNet ILSVRC-2012 training set, 1,281,167 photos (Russakovsky et al., 2015)"},
    "01_convolution": {"10⁻⁵": "TOLERANCE, a parameter of the notebook",
                       "5 times faster": "the bound the timing cell asserts, not the ratio it measures"},
    "02_cross_entropy": {"10⁻⁶": "TOLERANCE, a parameter of the notebook",
                         "0.1": "parameter of exercise 1 (p = [0.1, 0.2, 0.7]) and of label smoothing",
                         "0.2": "parameter of exercise 1", "0.7": "parameter of exercise 1",
                         "0.9": "parameter of exercise 2 (p = 0.9) and of label smoothing (0.9 + 0.1/C)",
                         "6.2": "a section number (Goodfellow et al., Deep Learning, section 6.2.2)"},
    "03_what_is_transfer_learning": {"35 %": "DUSK_BRIGHTNESS, a parameter (0.35)"},
    "04_feature_extraction": {},
    "05_fine_tuning": {"100x": "FINE_TUNE_LEARNING_RATE (1e-5) against the head's 1e-3: two parameters",
                       "100 times lower": "the learning-rate parameters (1e-5 to 3e-4) against the head's 1e-3",
                       "hundred times lower": "FINE_TUNE_LEARNING_RATE (1e-5) against the head's 1e-3"},
    "06_classic_recipe": {"3.5": "MobileNetV2 parameters in millions, Keras Applications table (keras.io/api/applications)",
                          "49 times fewer": "the 7 · 7 positions Flatten keeps apart (arithmetic)",
                          "49 times more": "the 7 · 7 positions Flatten keeps apart (arithmetic)"},
    "07_choosing_a_backbone": {"0.25": "the width multiplier in the model's name, MobileNet 0.25",
                               "25 ms": "the latency budget exercise 2 sets"},
    "08_overfitting_and_data": {"100 times lower": "chapter 05's learning-rate parameters against the head's 1e-3"},
    "09_evaluation": {"four times as many": "a test set four times larger, imagined to show the square-root law"},
    "10_blood_cells": {},
    "11_domain_gap": {},
    "12_beyond_images": {"80 ms": "the speech embedding's published step (8 frames of 10 ms; Lin et al., 2020, openWakeWord)",
                         "10 ms": "the log-mel front end's hop, 160 samples at 16 kHz (a property of the model)",
                         "80 %": "the training fraction exercise 3 sets",
                         "2.0": "a licence's name (Apache 2.0)", "4.0": "a licence's name (CC BY-NC-SA 4.0)"},
    "13_segmentation": {"10.1007": "the dataset paper's DOI (doi:10.1007/978-3-030-37734-2_37)",
                        "10.1109": "the published results' DOI (doi:10.1109/ACCESS.2021.3063716)"},
    "14_to_a_phone": {"150 kB": "224 × 224 × 3 bytes, the size of one uint8 photo (arithmetic)"},
}


def _figures(prose: str, allowed: dict[str, str]) -> list[re.Match]:
    """The matches of ``FIGURE`` in ``prose`` that are neither allowed nor a version number."""
    return [m for m in FIGURE.finditer(prose)
            if m.group(1) not in allowed and not VERSION.search(prose[max(0, m.start() - 12):m.start()])]


def code_comments(source: str) -> list[str]:
    """The comments of a code cell, found by Python's tokenizer (a '#' inside a string is not one).

    IPython's shell and magic lines (``!git ...``, ``%pip ...``) are not Python: they are blanked first.
    """
    lines = ["\n" if line.lstrip().startswith(("!", "%")) else line for line in source.splitlines(True)]
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("".join(lines)).readline))
    except (tokenize.TokenError, SyntaxError) as error:
        raise ValueError(f"cannot read the comments of this code (fix its syntax): {error}") from error
    return [token.string for token in tokens if token.type == tokenize.COMMENT]


def typed_figures(path: Path) -> list[str]:
    """Figures in the markdown and the code comments of ``path`` that are not in ``ALLOWED_FIGURES``.

    Returned as 'cell N: figure' (markdown) or 'cell N, comment: figure'.
    """
    allowed = {**ALLOWED_EVERYWHERE, **ALLOWED_FIGURES.get(path.stem, {})}
    found = []
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "markdown":
            found += [f"cell {index}: {m.group(1)}" for m in _figures(NOT_PROSE.sub("", _source(cell)), allowed)]
        elif cell["cell_type"] == "code":
            try:
                comments = code_comments(_source(cell))
            except ValueError as error:
                raise ValueError(f"{path.name} cell {index}: {error}") from error
            for comment in comments:
                found += [f"cell {index}, comment: {m.group(1)}"
                          for m in _figures(NOT_PROSE.sub("", comment), allowed)]
    return found


def test_typed_figures_are_found(tmp_path):
    notebook = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [
        "**Time:** 30 min\n", "Keras 3.15 reaches 0.91 in 12 s, 93× faster, 90 % of $0.5$ and `1.5`; 3×3 kernels, "
        "224 × 224 px; 10⁻¹²; about 15 minutes, a minute, threefold, ten times slower; a second flower, "
        "three times the steps, k-fold."]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": [
            "!pip install x==1.5  # a shell line: 20 seconds\n",
            "label = 'photo #1 in 0.5 s'  # takes 46x longer, `0.25` is code\n",
            "x = 1  # about 50 minutes on 2 cores\n"]}]}
    path = tmp_path / "99_example.ipynb"
    path.write_text(json.dumps(notebook))
    assert typed_figures(path) == [
        "cell 0: 0.91", "cell 0: 12 s", "cell 0: 93×", "cell 0: 90 %", "cell 0: 10⁻¹²", "cell 0: 15 minutes",
        "cell 0: a minute", "cell 0: threefold", "cell 0: ten times slower",
        "cell 1, comment: 46x", "cell 1, comment: 50 minutes"]


def test_code_comments_skip_strings_and_magics():
    source = "%time x = '# not a comment'\ny = \"a # b\"  # the comment\n!echo '# shell'\n"
    assert code_comments(source) == ["# the comment"]
    with pytest.raises(ValueError, match="fix its syntax"):
        code_comments("x = (1,\n")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_measured_figures_typed_into_markdown_or_comments(path):
    found = typed_figures(path)
    assert not found, (
        f"{path.name}: figures typed into markdown or code comments ({'; '.join(found)}). Print measured "
        "figures from code (an f-string or IPython.display.Markdown), and word a comment without them (say "
        "where the figure is printed); for a published figure, a formula constant or a parameter, add it to "
        "ALLOWED_FIGURES with its reason."
    )


# The README and the instructor guide are prose too: outside the tables `make bench` writes (between its
# markers) and code blocks, a figure is allowed only where it is not a measurement.
ALLOWED_IN_DOCS: dict[str, dict[str, str]] = {
    "README.md": {
        "4 GB": "the memory of the laptop the course asks for (a requirement, not a measurement)",
        "2 GB": "the disk the packages need and Binder's memory (published specifications)",
        "3.11": "a Python version", "3.12": "a Python version",
        "2.0": "a licence's name (Apache 2.0)", "4.0": "a licence's name (CC BY-NC-SA 4.0)",
        "0.4": "a package version (openwakeword 0.4.0)", "0.1": "a package version (resemblyzer 0.1.4)",
        "10 min": "a planned teaching time in the course map", "15 min": "a planned teaching time",
        "20 min": "a planned teaching time",
        "three times as many": "helpers.own_images.IMBALANCE_RATIO, the class imbalance that triggers the warning",
    },
    "docs/instructor-guide.md": {
        "2 GB": "Binder's memory (a published specification)",
        "30 min": "a planned schedule (3 h 30 min)",
        "15-minute": "a planned schedule (a break)",
        "55 minutes": "chapter 13's planned teaching and exercise time (35 + 20 min)",
        "0.10": "chapter 04's EQUIVALENCE_MARGIN, a parameter",
        "100 times lower": "chapter 05's learning-rate parameters (1e-5 to 3e-4) against the head's 1e-3",
        "60 MB": "the size of a file to download (VGG16's weights), not a measurement of the course",
        "46 MB": "the size of a file to download (Kvasir-SEG), not a measurement of the course",
    },
}
BENCH_TABLES = re.compile(r"<!-- ([\w-]+):start.*?<!-- \1:end -->|```.*?```", re.S)


def typed_figures_in_markdown(text: str, allowed: dict[str, str]) -> list[str]:
    """Figures in a markdown document's prose that are not in ``allowed``, with some context."""
    prose = NOT_PROSE.sub("", BENCH_TABLES.sub("", text))
    return [f"{m.group(1)!r} in ...{prose[max(0, m.start() - 40):m.end() + 10]!r}" for m in _figures(prose, allowed)]


def test_typed_figures_in_docs_are_found():
    text = ("Peaks below 1.5 GiB.\n<!-- benchmarks:start -->\n| 00 | 60 s | 1.20 GiB |\n<!-- benchmarks:end -->\n"
            "```\npip install x==1.2\n```\nTakes 15 min (planned), about 400 MB, about 15 minutes on 2 cores, "
            "a 15-minute break (planned), a fraction of a second.")
    found = typed_figures_in_markdown(text, {"15 min": "planned", "15-minute": "planned"})
    assert [f.split(" in ")[0] for f in found] == ["'1.5'", "'400 MB'", "'15 minutes'"]  # the decimal is found first


@pytest.mark.parametrize("name", sorted(ALLOWED_IN_DOCS))
def test_no_measured_figures_typed_into_docs(name):
    found = typed_figures_in_markdown((ROOT / name).read_text(), ALLOWED_IN_DOCS[name])
    assert not found, (f"{name}: measured figures typed into prose drift from what the code measures; let make "
                       f"bench write them, or add an entry with its reason to ALLOWED_IN_DOCS: {found}")
