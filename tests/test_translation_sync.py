"""tools/translation_sync.py: a translation that drifts from its English source is caught, cell by cell."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import translation_sync  # noqa: E402

ENGLISH_CELLS = [
    ("md-title", "markdown", "# 04 · Feature extraction\n\nA frozen network computes the features once."),
    ("code-setup", "code", "import numpy as np  # arrays\n\nx = np.arange(3)\nx.sum()"),
    ("md-cache", "markdown", "## 1. Cache the features\n\nThe **cache** makes each epoch faster."),
    ("code-magic", "code", "%pip install --quiet numpy\n# keep the sum\ntotal = x.sum() * 2\ntotal"),
    ("md-summary", "markdown", "## Summary\n\n- Feature extraction trains only the head."),
]
CHINESE = {
    "md-title": "# 04 · 特征提取\n\n冻结的网络只计算一次特征。",
    "code-setup": "import numpy as np  # 数组\n\nx = np.arange(3)\nx.sum()",
    "md-cache": "## 1. 缓存特征\n\n**缓存**（cache）让每一轮更快。",
    "code-magic": "%pip install --quiet numpy\n# 保留总和\ntotal = x.sum() * 2  # 乘以二\ntotal",
    "md-summary": "## 小结\n\n- 特征提取只训练分类头。",
}


def write_notebook(path: Path, cells: list[nbformat.NotebookNode]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    notebook = new_notebook(cells=cells)
    nbformat.validate(notebook)
    nbformat.write(notebook, path)
    return path


def english_cells() -> list[nbformat.NotebookNode]:
    make = {"markdown": new_markdown_cell, "code": new_code_cell}
    return [make[kind](source, id=cell_id) for cell_id, kind, source in ENGLISH_CELLS]


def chinese_cells() -> list[nbformat.NotebookNode]:
    """A faithful translation: Chinese markdown and comments, the English code, stamped by hand."""
    cells = []
    for cell_id, kind, source in ENGLISH_CELLS:
        cell = (new_markdown_cell if kind == "markdown" else new_code_cell)(CHINESE[cell_id], id=cell_id)
        if kind == "markdown":
            cell.metadata["translation"] = {"source_id": cell_id, "source_sha256": translation_sync.sha256(source)}
        cells.append(cell)
    return cells


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    english = write_notebook(tmp_path / "notebooks" / "04_feature_extraction.ipynb", english_cells())
    translated = write_notebook(tmp_path / "notebooks" / "zh" / "04_feature_extraction.ipynb", chinese_cells())
    return english, translated


def edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    notebook = nbformat.read(path, as_version=4)
    change(notebook.cells)
    nbformat.write(notebook, path)


def test_a_faithful_translation_passes(pair) -> None:
    assert translation_sync.check_notebook(*pair) == []


def test_a_changed_english_markdown_cell_makes_its_translation_stale(pair) -> None:
    english, translated = pair
    edit(english, lambda cells: setattr(cells[2], "source", cells[2].source + " Twice as fast."))
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 1
    assert "04_feature_extraction.ipynb" in problems[0] and "cell 2 (id 'md-cache', markdown)" in problems[0]
    assert "stale" in problems[0]


def test_code_that_differs_beyond_comments_is_reported(pair) -> None:
    english, translated = pair
    edit(translated, lambda cells: setattr(cells[3], "source", cells[3].source.replace("* 2", "* 3")))
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 1 and "cell 3 (id 'code-magic', code)" in problems[0]
    assert "differs from the English beyond comments" in problems[0] and "'2'" in problems[0]


def test_a_changed_magic_line_is_compared_as_text(pair) -> None:
    english, translated = pair
    edit(translated, lambda cells: setattr(cells[3], "source", cells[3].source.replace("numpy", "numpy scipy", 1)))
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 1 and "id 'code-magic'" in problems[0] and "%pip install" in problems[0]


@pytest.mark.parametrize("change, expected", [
    (lambda cells: cells.pop(2), "English cell 2 (id 'md-cache', markdown) is missing"),
    (lambda cells: cells.insert(3, new_markdown_cell("译者注：额外的说明。", id="extra-note")),
     "cell 3 (id 'extra-note', markdown) was added"),
    (lambda cells: cells.insert(1, cells.pop(2)),  # md-cache moved before code-setup
     "cell 1 (id 'md-cache', markdown) is out of order"),
    (lambda cells: cells.__setitem__(4, new_code_cell("# 小结", id="md-summary")),
     "cell 4 (id 'md-summary', code) is code, but English cell 'md-summary' is markdown"),
    (lambda cells: cells[0].metadata.pop("translation"), "cell 0 (id 'md-title', markdown) has no metadata"),
], ids=["missing", "added", "out of order", "type mismatch", "no metadata"])
def test_a_cell_missing_added_moved_retyped_or_unstamped_is_reported(pair, change, expected) -> None:
    english, translated = pair
    edit(translated, change)
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 1 and expected in problems[0], problems


def test_stamp_brings_a_stale_cell_back_in_step_and_only_the_cell_asked_for(pair) -> None:
    english, translated = pair
    edit(english, lambda cells: [setattr(c, "source", c.source + "!") for c in (cells[0], cells[2])])
    assert len(translation_sync.check_notebook(english, translated)) == 2
    assert translation_sync.stamp(english, translated, ["md-cache"]) == ["md-cache"]
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 1 and "id 'md-title'" in problems[0]
    with pytest.raises(ValueError, match="no translated cell matches"):
        translation_sync.stamp(english, translated, ["no-such-cell"])


def test_stamp_records_the_english_cells_but_a_copy_left_in_english_is_still_reported(tmp_path: Path, pair) -> None:
    english, _ = pair
    copy = tmp_path / "copy.ipynb"
    shutil.copy(english, copy)
    assert len(translation_sync.check_notebook(english, copy)) == 4  # three markdown cells unstamped, one comment
    assert translation_sync.stamp(english, copy) == ["md-title", "code-setup", "md-cache", "code-magic", "md-summary"]
    problems = translation_sync.check_notebook(english, copy)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "cell 0 (id 'md-title', markdown) is still in English: translate it, then stamp it (--cell md-title)",
        "cell 2 (id 'md-cache', markdown) is still in English: translate it, then stamp it (--cell md-cache)",
        "cell 3 (id 'code-magic', code): its comments are still in English: translate them, then stamp it "
        "(--cell code-magic)",
        "cell 4 (id 'md-summary', markdown) is still in English: translate it, then stamp it (--cell md-summary)",
    ]
    assert [c.id for c in nbformat.read(copy, as_version=4).cells] == [c[0] for c in ENGLISH_CELLS]


@pytest.mark.parametrize("chinese, expected", [
    ("## 2. 缓存特征\n\n**缓存**让每一轮更快。", "missing ['1'], added ['2']"),  # a mistyped number
    ("## 缓存特征\n\n**缓存**让每一轮更快。", "missing ['1'], added []"),  # a number dropped
    ("## 1. 缓存特征\n\n**缓存**让每 3 轮更快。", "missing [], added ['3']"),  # a number added
], ids=["changed", "dropped", "added"])
def test_a_translation_whose_numbers_differ_from_the_english_is_reported(pair, chinese, expected) -> None:
    english, translated = pair
    edit(translated, lambda cells: setattr(cells[2], "source", chinese))
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 1 and "id 'md-cache'" in problems[0] and "numbers differ" in problems[0], problems
    assert expected in problems[0]


def test_numbers_in_link_targets_identifiers_and_chinese_text_are_read_as_written() -> None:
    text = "第 08 章的 ResNet50 和 float16 见[链接](https://x.org/v2/a1)，准确率 0.5，top-1。"
    assert translation_sync.numbers(text) == {"08", "0.5", "1"}


def test_large_numbers_are_compared_by_value_whichever_words_of_scale_each_language_uses() -> None:
    english = translation_sync.numbers("1.28 million photos; 138 million against 3.5 million; 100 thousand")
    assert english == translation_sync.numbers("128 万张照片；1.38 亿对 350 万；10 万")
    assert english != translation_sync.numbers("12.8 万张照片；1.38 亿对 350 万；10 万")  # a slip of the point
    assert translation_sync.numbers("2 millionaires") == {"2"}  # a word that only starts like one


def test_a_cell_or_comment_left_in_english_is_reported_but_identifiers_alone_are_not(pair) -> None:
    english, translated = pair
    edit(translated, lambda cells: setattr(cells[2], "source", ENGLISH_CELLS[2][2]))
    edit(translated, lambda cells: setattr(cells[3], "source", ENGLISH_CELLS[3][2]))
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 2 and "id 'md-cache', markdown) is still in English" in problems[0]
    assert "id 'code-magic', code): its comments are still in English" in problems[1]
    assert not translation_sync.untranslated("`model.fit` and `keras.Model`", "`model.fit` and `keras.Model`")
    assert not translation_sync.untranslated("$$L = -\\sum_k y_k \\log p_k$$", "$$L = -\\sum_k y_k \\log p_k$$")


def test_init_starts_a_translation_with_its_own_colab_links_and_the_sync_check_lists_what_to_translate(
        tmp_path: Path) -> None:
    english = ROOT / "notebooks" / "04_feature_extraction.ipynb"
    (tmp_path / "notebooks").mkdir()
    shutil.copy(english, tmp_path / "notebooks" / english.name)
    started = translation_sync.start_translation(tmp_path / "notebooks" / english.name, tmp_path)
    assert started == tmp_path / "notebooks" / "zh" / english.name
    cells, source = nbformat.read(started, as_version=4).cells, nbformat.read(english, as_version=4).cells
    assert [c.id for c in cells] == [c.id for c in source]
    assert all(c.outputs == [] for c in cells if c.cell_type == "code")
    assert "/notebooks/zh/04_feature_extraction.ipynb)" in cells[0].source
    assert "%cd /content/course/notebooks/zh" in cells[1].source  # the setup cell differs and is not reported
    problems = translation_sync.check_notebook(tmp_path / "notebooks" / english.name, started)
    markdown = [c for c in source if c.cell_type == "markdown"]
    assert sum("has no metadata['translation']" in p for p in problems) == len(markdown)
    assert not any("id 'colab-setup'" in p for p in problems)
    with pytest.raises(ValueError, match="exists already"):
        translation_sync.start_translation(tmp_path / "notebooks" / english.name, tmp_path)
    with pytest.raises(ValueError, match="not an English chapter"):
        translation_sync.start_translation(started, tmp_path)


def test_a_stamped_code_cell_reports_changed_english_comments(pair) -> None:
    english, translated = pair
    translation_sync.stamp(english, translated, ["code-setup"])
    edit(english, lambda cells: setattr(cells[1], "source", cells[1].source.replace("# arrays", "# NumPy arrays")))
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 1 and "id 'code-setup'" in problems[0] and "comments changed" in problems[0]


def test_every_real_notebook_checks_clean_against_a_stamped_copy_of_itself(tmp_path: Path, monkeypatch) -> None:
    """No false alarm on the course's own cells (magics, f-strings, Colab setup, numbers): a stamped English copy
    passes every check once the still-English check, which it fails by design, is switched off (that check
    comes first, so otherwise it would hide the code and number comparisons)."""
    monkeypatch.setattr(translation_sync, "untranslated", lambda *args, **kwargs: False)
    for english in sorted((ROOT / "notebooks").glob("*.ipynb")):
        copy = tmp_path / english.name
        shutil.copy(english, copy)
        translation_sync.stamp(english, copy)
        assert translation_sync.check_notebook(english, copy) == [], english.name


def test_a_number_changed_in_a_translated_comment_is_reported(pair) -> None:
    english, translated = pair
    edit(translated, lambda cells: setattr(cells[3], "source", cells[3].source.replace("乘以二", "乘以 3")))
    problems = translation_sync.check_notebook(english, translated)
    assert len(problems) == 1 and "id 'code-magic'" in problems[0] and "numbers in its comments" in problems[0]


ENGLISH_DOC = """# Course

Intro paragraph.

## Prerequisites

Python and NumPy.

```bash
## not a heading: inside a code block
```

## Benchmarks

<!-- benchmarks:start (written by make bench) -->
| notebook | time |
<!-- benchmarks:end -->

## Layout

Files and folders.
"""
CHINESE_BODIES = ["# 课程\n\n简介。", "## 预备知识\n\nPython 和 NumPy。\n\n```bash\n## 代码块里的不是标题\n```",
                  "## 基准测试\n\n见英文版的表格。", "## 目录结构\n\n文件和文件夹。"]


def chinese_document(english_text: str, bodies: list[str] = CHINESE_BODIES) -> str:
    """A translation with each section's marker written after its heading."""
    sections = translation_sync.split_sections(english_text)
    parts = []
    for section, body in zip(sections, bodies):
        heading, _, rest = body.partition("\n")
        parts.append(f"{heading}\n<!-- source: {section.digest} -->{chr(10) + rest if rest else ''}")
    return "\n\n".join(parts) + "\n"


@pytest.fixture()
def documents(tmp_path: Path) -> tuple[Path, Path]:
    english = tmp_path / "README.md"
    english.write_text(ENGLISH_DOC, encoding="utf-8")
    translated = tmp_path / "README.zh.md"
    translated.write_text(chinese_document(ENGLISH_DOC), encoding="utf-8")
    return english, translated


def test_sections_ignore_headings_in_code_blocks_and_generated_tables() -> None:
    sections = translation_sync.split_sections(ENGLISH_DOC)
    assert [s.heading for s in sections] == ["# Course", "## Prerequisites", "## Benchmarks", "## Layout"]
    remeasured = ENGLISH_DOC.replace("| notebook | time |", "| notebook | time |\n| 00 | 61 s |")
    assert translation_sync.split_sections(remeasured)[2].digest == sections[2].digest


def test_a_faithful_document_translation_passes(documents) -> None:
    assert translation_sync.check_document(*documents) == []


def test_a_changed_english_section_makes_its_translation_stale(documents) -> None:
    english, translated = documents
    english.write_text(ENGLISH_DOC.replace("Python and NumPy.", "Python, NumPy and a laptop."), encoding="utf-8")
    problems = translation_sync.check_document(english, translated)
    assert len(problems) == 1
    assert "README.zh.md: section 2 ('## 预备知识') is stale" in problems[0] and "'## Prerequisites'" in problems[0]


def test_a_missing_section_is_reported(documents) -> None:
    english, translated = documents
    english.write_text(ENGLISH_DOC + "\n## Licence\n\nMIT.\n", encoding="utf-8")
    problems = translation_sync.check_document(english, translated)
    assert len(problems) == 1 and "English section 5 ('## Licence') is missing" in problems[0]


def test_an_added_section_is_reported(documents) -> None:
    english, translated = documents
    extra = "\n## 译者说明\n<!-- source: " + "0" * 64 + " -->\n\n本译文的约定。\n"
    translated.write_text(translated.read_text(encoding="utf-8") + extra, encoding="utf-8")
    problems = translation_sync.check_document(english, translated)
    assert len(problems) == 1 and "section 5 ('## 译者说明') was added" in problems[0]


def test_sections_out_of_order_are_reported(tmp_path: Path, documents) -> None:
    english, translated = documents
    bodies = [CHINESE_BODIES[0], CHINESE_BODIES[2], CHINESE_BODIES[1], CHINESE_BODIES[3]]
    sections = translation_sync.split_sections(ENGLISH_DOC)
    text = "\n\n".join(
        f"{body.partition(chr(10))[0]}\n<!-- source: {sections[k].digest} -->\n{body.partition(chr(10))[2]}"
        for k, body in zip([0, 2, 1, 3], bodies))
    translated.write_text(text, encoding="utf-8")
    problems = translation_sync.check_document(english, translated)
    assert len(problems) == 1 and "is out of order" in problems[0]
    assert "section 2 ('## 基准测试')" in problems[0] or "section 3 ('## 预备知识')" in problems[0]


def test_a_section_without_marker_is_reported_and_stamp_adds_it(documents) -> None:
    english, translated = documents
    text = translated.read_text(encoding="utf-8")
    marker = f"<!-- source: {translation_sync.split_sections(ENGLISH_DOC)[3].digest} -->\n"
    translated.write_text(text.replace(marker, ""), encoding="utf-8")
    problems = translation_sync.check_document(english, translated)
    assert len(problems) == 1 and "section 4 ('## 目录结构') has no '<!-- source" in problems[0]
    assert translation_sync.stamp_document(english, translated) == [4]
    assert translated.read_text(encoding="utf-8") == text  # only the marker line was written back
    assert translation_sync.check_document(english, translated) == []


def test_stamp_document_updates_only_the_sections_asked_for(documents) -> None:
    english, translated = documents
    english.write_text(ENGLISH_DOC.replace("Intro paragraph.", "Intro.").replace("Files", "The files"),
                       encoding="utf-8")
    assert len(translation_sync.check_document(english, translated)) == 2
    assert translation_sync.stamp_document(english, translated, [4]) == [4]
    problems = translation_sync.check_document(english, translated)
    assert len(problems) == 1 and "section 1 ('# 课程') is stale" in problems[0]
    with pytest.raises(ValueError, match="out of range"):
        translation_sync.stamp_document(english, translated, [9])


def test_repository_check_pairs_translations_and_lists_what_is_untranslated(tmp_path: Path, pair) -> None:
    root = tmp_path
    write_notebook(root / "notebooks" / "05_fine_tuning.ipynb", english_cells())
    (root / "README.md").write_text(ENGLISH_DOC, encoding="utf-8")
    assert translation_sync.check_repository(root) == ([], ["notebooks/05_fine_tuning.ipynb", "README.md"])
    edit(root / "notebooks" / "04_feature_extraction.ipynb", lambda cells: cells.pop())
    write_notebook(root / "notebooks" / "zh" / "07_orphan.ipynb", chinese_cells())
    problems, _ = translation_sync.check_repository(root)
    assert len(problems) == 2
    assert "notebooks/zh/07_orphan.ipynb has no English notebook" in problems[0]
    assert "04_feature_extraction.ipynb: cell 4 (id 'md-summary', markdown) was added" in problems[1]
    assert translation_sync.main(["check"], root=root) == 1


def test_the_repository_translations_are_in_step(capsys) -> None:
    assert translation_sync.main(["check"]) == 0, capsys.readouterr().out
    assert "Every translation is in step" in capsys.readouterr().out


@pytest.mark.parametrize("body, expected", [
    ("## 目录结构\n\nFiles and folders, listed one by one here.", "section 4 ('## 目录结构') is still in English"),
    ("## 目录结构\n\n文件和 3 个文件夹。", "section 4 ('## 目录结构'): its numbers differ from English section 4"),
], ids=["left in English", "a number added"])
def test_a_current_section_left_in_english_or_with_other_numbers_is_reported(documents, body, expected) -> None:
    english, translated = documents
    translated.write_text(chinese_document(ENGLISH_DOC, [*CHINESE_BODIES[:3], body]), encoding="utf-8")
    problems = translation_sync.check_document(english, translated)
    assert len(problems) == 1 and expected in problems[0], problems
    assert problems[0].endswith("(--section 4)") or "numbers differ" in problems[0]
