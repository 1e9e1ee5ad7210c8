"""Keep a translation of the course in step with its English source.

Usage:
    python tools/translation_sync.py check
    python tools/translation_sync.py init notebooks/04_feature_extraction.ipynb
    python tools/translation_sync.py stamp notebooks/zh/04_feature_extraction.ipynb [--cell ID ...]
    python tools/translation_sync.py stamp README.zh.md [--section N ...]

English is the source; a translation is checked against it, never the other way round.

**Notebooks** (``notebooks/NN_*.ipynb`` and ``notebooks/zh/NN_*.ipynb``, paired by their number). A
translation starts as a copy of the English notebook, so its cells keep the English cell ids. Cells then
correspond one to one and in the same order. Each translated markdown cell records which English cell it
translates, and that cell's text at the time::

    metadata["translation"] = {"source_id": "<English cell id>", "source_sha256": "<sha256 of its source>"}

When the English cell changes, its hash no longer matches and the check calls the translation stale.
Code cells are not translated: their code must equal the English code once comments are removed (the
comments may be translated), and IPython magics (``%pip``, ``!git``) are compared as text. A code cell
may carry the same metadata; then a change of its English comments is reported too.

**Documents** (``README.md`` and ``README.zh.md``, ``docs/instructor-guide.md`` and
``docs/instructor-guide.zh.md``). They are compared by ``## `` section: each section of the translation
carries, on the line right after its heading, ``<!-- source: <sha256 of the English section> -->``. The text
before the first ``## `` heading counts as a section too; its marker goes right after its first line (the
``# `` title). Tables that ``make bench`` writes between ``<!-- name:start -->`` and ``<!-- name:end -->``
markers are left out of the hash: they are measurements, rewritten on every run, not prose to translate.

After translating or updating a cell or a section, a translator runs ``stamp`` on it (``--cell`` or
``--section`` picks which; without them every cell or section is stamped, which also marks as current
whatever was stale). A translation that does not exist yet is not checked; ``check`` lists the English
notebooks and documents that have none, for information, and exits 0 unless a translation is out of step.
(The course itself requires every chapter to have one: tests/test_notebook_structure.py and ``make book``
fail without it, so a new English chapter needs ``init`` at once.)

Beyond the pairing, ``check`` reports a cell or section still in English (no Chinese, or most of the English
words kept), and numbers that differ from the English: in markdown and sections as in code comments. Numbers
are compared as sets, by value where a word of scale follows them ("1.28 million" = "128 万"). The Colab setup
cell is not compared: tools/launch_links.py writes it for each folder.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import io
import re
import sys
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import launch_links  # tools/, beside this file: the Colab badge and setup cell of each folder
import nbformat

ROOT = Path(__file__).resolve().parent.parent
LANGUAGE = "zh"
METADATA_KEY = "translation"
DOCUMENTS = ("README.md", "docs/instructor-guide.md")
"""English documents that may have a translation next to them (``README.md`` -> ``README.zh.md``)."""

_NOTEBOOK_NAME = re.compile(r"(\d\d)_[A-Za-z0-9_]+\.ipynb")
_MARKER = re.compile(r"^<!--\s*source:\s*([0-9a-f]{64})\s*-->\s*$")
_GENERATED = re.compile(r"<!-- ([\w-]+):start.*?<!-- \1:end -->", re.S)
_FENCE = re.compile(r"^\s*(```|~~~)")


def sha256(text: str) -> str:
    """Hex sha256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _display(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it, for messages."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------------------------------


def key(cell: nbformat.NotebookNode) -> str | None:
    """The English cell id a translated cell corresponds to: its recorded ``source_id``, else its own id."""
    record = cell.get("metadata", {}).get(METADATA_KEY)
    if isinstance(record, dict) and isinstance(record.get("source_id"), str):
        return record["source_id"]
    return cell.get("id")


def _describe(index: int, cell: nbformat.NotebookNode) -> str:
    return f"cell {index} (id {cell.get('id')!r}, {cell.cell_type})"


def code_tokens(source: str) -> list[tuple[str, ...]]:
    """The code of a cell as comparable tokens, without comments.

    Comments and blank lines are dropped, so a translated comment (or one moved to its own line) changes
    nothing. Lines that start with ``%`` or ``!`` (IPython magics and shell commands) become one token
    each holding their text, so they are compared as text, comments included.

    Args:
        source: The source of a code cell.

    Returns:
        Tuples ``(kind, text, line)``: ``kind`` is a token type name or ``"MAGIC"``, ``line`` the 1-based
        line of the source where the token starts (for messages; not compared).

    Raises:
        tokenize.TokenError: When the code cannot be tokenized (for example an unclosed bracket).
        SyntaxError: When the code cannot be tokenized (for example bad indentation).
    """
    lines = source.splitlines()
    magics: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            magics[number] = stripped.rstrip()
            lines[number - 1] = line[: len(line) - len(stripped)] + "pass"
    tokens: list[tuple[str, ...]] = []
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    for token in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
        if token.type in skip:
            continue
        line = token.start[0]
        if line in magics and token.type == tokenize.NAME:
            tokens.append(("MAGIC", magics[line], str(line)))
        else:
            tokens.append((tokenize.tok_name[token.type], token.string, str(line)))
    return tokens


def _code_difference(english: str, translated: str) -> str | None:
    """None when the two cells hold the same code beyond comments, else where they first differ."""
    try:
        left, right = code_tokens(english), code_tokens(translated)
    except (tokenize.TokenError, SyntaxError):
        # Not Python (a %%bash cell, say): then the whole text must match.
        if english.strip() == translated.strip():
            return None
        return "not Python, so compared as text, and the text differs"
    if [t[:2] for t in left] == [t[:2] for t in right]:
        return None
    for a, b in zip(left, right):
        if a[:2] != b[:2]:
            return f"first difference at English line {a[2]} ({a[1]!r}), translated line {b[2]} ({b[1]!r})"
    if len(left) > len(right):
        return f"the translation ends before English line {left[len(right)][2]} ({left[len(right)][1]!r})"
    return f"the translation goes on after the English code, at its line {right[len(left)][2]}"


def _out_of_order(positions: list[int]) -> set[int]:
    """Indices into ``positions`` outside one longest increasing subsequence (the cells that moved)."""
    best: list[int] = []  # best[k]: index ending an increasing run of length k + 1 with the smallest tail
    parent = [-1] * len(positions)
    for i, value in enumerate(positions):
        low, high = 0, len(best)
        while low < high:
            middle = (low + high) // 2
            if positions[best[middle]] < value:
                low = middle + 1
            else:
                high = middle
        parent[i] = best[low - 1] if low else -1
        if low == len(best):
            best.append(i)
        else:
            best[low] = i
    kept: set[int] = set()
    i = best[-1] if best else -1
    while i != -1:
        kept.add(i)
        i = parent[i]
    return set(range(len(positions))) - kept


def _structure_problems(
    name: str, english: list[nbformat.NotebookNode], translated: list[nbformat.NotebookNode]
) -> list[str]:
    """Missing, added, duplicated and reordered cells, matched by cell id."""
    problems = []
    english_keys = [cell.get("id") for cell in english]
    if None in english_keys or len(set(english_keys)) != len(english_keys):
        return [f"{name}: the English notebook has cells without an id or with repeated ids: "
                "upgrade it with nbformat (nbformat.validator.normalize) and commit it first"]
    where = {cell_key: i for i, cell_key in enumerate(english_keys)}
    seen: set[str | None] = set()
    for j, cell in enumerate(translated):
        cell_key = key(cell)
        if cell_key in seen:
            problems.append(f"{name}: {_describe(j, cell)} translates English cell {cell_key!r} a second time")
        elif cell_key not in where:
            problems.append(f"{name}: {_describe(j, cell)} was added: it corresponds to no English cell "
                            f"(no English cell has id {cell_key!r}); remove it or give it the id of the cell it "
                            "translates")
        seen.add(cell_key)
    matched_keys = {key(cell) for cell in translated}
    for i, cell in enumerate(english):
        if cell.id not in matched_keys:
            problems.append(f"{name}: English {_describe(i, cell)} is missing from the translation: copy it "
                            "to the same place, translate it, and stamp it")
    pairs = [(j, where[key(c)]) for j, c in enumerate(translated) if key(c) in where]
    for k in sorted(_out_of_order([i for _, i in pairs])):
        j, i = pairs[k]
        problems.append(f"{name}: {_describe(j, translated[j])} is out of order: it translates English cell "
                        f"{i}, which comes elsewhere in the English order; move it there")
    return problems


_CJK = re.compile(r"[\u3400-\u9fff]")
_URL = re.compile(r"\]\([^)]*\)|https?://\S+|<!--.*?-->", re.S)
_MATH_OR_CODE = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$|```.*?```|`[^`\n]+`", re.S)
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])(\d+(?:\.\d+)?)(?:\s*(thousand|million|billion|千万|百万|千|万|亿)(?![A-Za-z]))?")
_SCALE = {"thousand": 3, "million": 6, "billion": 9, "千": 3, "万": 4, "百万": 6, "千万": 7, "亿": 8}
"""Words that multiply the number before them: "1.28 million" and "128 万" are the same number."""
_ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def _prose(text: str) -> str:
    """``text`` without link targets, addresses, HTML comments, math and code: what a translator rewrites."""
    return _MATH_OR_CODE.sub(" ", _URL.sub(" ", text))


def numbers(text: str) -> set[str]:
    """The numbers written in ``text`` with digits (link targets and addresses left out).

    A number followed by a word of scale is read as its value ("1.28 million" and "128 万" both give
    ``"1280000"``), so that each language can write large numbers its own way; other numbers are kept as
    written (``"08"`` stays ``"08"``).
    """
    found = set()
    for digits, scale in _NUMBER.findall(_URL.sub(" ", text)):
        found.add(format(Decimal(digits).scaleb(_SCALE[scale]).normalize(), "f") if scale else digits)
    return found


UNTRANSLATED_SHARE = 0.75
"""A translation that keeps this share of its English prose's words (or has no Chinese) is still English. Real
translations keep identifiers, names and titles: at most 0.56 of the words in any cell or section here."""


def untranslated(english: str, translated: str, share: float | None = UNTRANSLATED_SHARE) -> bool:
    """True when ``translated`` still reads as English: no Chinese, or (unless ``share`` is None) at least that
    share of the English prose's words. Comments pass None: they quote values and names more than prose does."""
    words = len(_ENGLISH_WORD.findall(_prose(english)))
    if words < 3:
        return False
    kept = len(_ENGLISH_WORD.findall(_prose(translated)))
    return not _CJK.search(translated) or (share is not None and kept >= share * words)


def _comments(source: str) -> str:
    """The comments of a code cell, one per line (empty when it cannot be tokenized)."""
    try:
        return "\n".join(t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
                         if t.type == tokenize.COMMENT)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return ""


def _content_problems(where: str, english: str, translated: str, what: str, stamp_hint: str) -> list[str]:
    """Text left in English, or with numbers that differ from the English (``what`` names the English text)."""
    if untranslated(english, translated):
        return [f"{where} is still in English: translate it, then stamp it ({stamp_hint})"]
    difference = _number_difference(english, translated)
    if difference:
        return [f"{where}: its numbers differ from {what}'s ({difference}): write every number as in the English "
                "(large ones may use 万 or 亿: \"1.28 million\" may be \"128 万\")"]
    return []


def _number_difference(english: str, translated: str) -> str | None:
    """None when both texts write the same numbers, else which are missing from and added to the translation."""
    lost, added = numbers(english) - numbers(translated), numbers(translated) - numbers(english)
    return f"missing {sorted(lost)}, added {sorted(added)}" if lost or added else None


def _cell_problems(name: str, j: int, cell: nbformat.NotebookNode, source: nbformat.NotebookNode) -> list[str]:
    """What is wrong with translated ``cell`` (position ``j``) against its English ``source`` cell."""
    where = f"{name}: {_describe(j, cell)}"
    if cell.cell_type != source.cell_type:
        return [f"{where} is {cell.cell_type}, but English cell {source.id!r} is {source.cell_type}"]
    if launch_links.SETUP_TAG in source.get("metadata", {}).get("tags", []):
        return []  # written per folder by tools/launch_links.py and checked by tests/test_launch_links.py
    record = cell.get("metadata", {}).get(METADATA_KEY)
    if cell.cell_type == "code":
        english_comments, comments = _comments(source.source), _comments(cell.source)
        if untranslated(english_comments, comments, share=None):
            return [f"{where}: its comments are still in English: translate them, then stamp it "
                    f"(--cell {source.id})"]
        difference = _number_difference(english_comments, comments)
        if difference:
            return [f"{where}: the numbers in its comments differ from the English comments' ({difference}): write "
                    "every number as in the English"]
        difference = _code_difference(source.source, cell.source)
        if difference:
            return [f"{where}: its code differs from the English beyond comments ({difference}); only "
                    "comments are translated in code cells: copy the English code"]
        if isinstance(record, dict) and record.get("source_sha256") != sha256(source.source):
            return [f"{where}: the English cell's comments changed since translation (stale): update the "
                    f"comments, then stamp it (--cell {source.id})"]
        return []
    if not isinstance(record, dict) or "source_sha256" not in record:
        return [f"{where} has no metadata[{METADATA_KEY!r}] saying which English text it translates: "
                f"translate English cell {source.id!r}, then stamp it (--cell {source.id})"]
    if record["source_sha256"] != sha256(source.source):
        return [f"{where} is stale: English cell {source.id!r} changed since it was translated; update the "
                f"translation, then stamp it (--cell {source.id})"]
    return _content_problems(where, source.source, cell.source, f"English cell {source.id!r}", f"--cell {source.id}")


def check_notebook(english: Path, translated: Path) -> list[str]:
    """Compare a translated notebook with its English source.

    Args:
        english: The English notebook.
        translated: Its translation.

    Returns:
        One message per problem, each naming the translated notebook and the cell (position, id, type):
        a stale markdown cell (its English cell changed since it was stamped), a markdown cell without the
        translation metadata, a missing, added, repeated or reordered cell, a cell whose type differs from
        its English cell's, and a code cell whose code differs from the English code beyond comments. An
        empty list means the translation is in step.
    """
    name = _display(translated)
    english_cells = nbformat.read(english, as_version=4).cells
    translated_cells = nbformat.read(translated, as_version=4).cells
    problems = _structure_problems(name, english_cells, translated_cells)
    by_id = {cell.get("id"): cell for cell in english_cells}
    for j, cell in enumerate(translated_cells):
        source = by_id.get(key(cell))
        if source is not None:
            problems.extend(_cell_problems(name, j, cell, source))
    return problems


def stamp(english: Path, translated: Path, cell_ids: Sequence[str] | None = None) -> list[str]:
    """Record in a translated notebook which English text its cells now translate.

    Each stamped cell gets ``metadata["translation"] = {"source_id": ..., "source_sha256": ...}`` from the
    English cell with the same id (or the ``source_id`` it already records). Run it after translating or
    updating a cell; the notebook is written back with its cell ids and other metadata unchanged.

    Args:
        english: The English notebook.
        translated: The translated notebook, rewritten in place.
        cell_ids: English ids of the cells to stamp; None stamps every cell that matches an English cell
            of the same type (which also marks as current any cell that was stale).

    Returns:
        The ids of the cells whose metadata changed.

    Raises:
        ValueError: When a requested id matches no translated cell of the same type as its English cell.
    """
    by_id = {cell.get("id"): cell for cell in nbformat.read(english, as_version=4).cells}
    notebook = nbformat.read(translated, as_version=4)
    matched = {key(c): c for c in notebook.cells if key(c) in by_id and c.cell_type == by_id[key(c)].cell_type}
    wanted = list(matched) if cell_ids is None else list(cell_ids)
    unknown = [cell_key for cell_key in wanted if cell_key not in matched]
    if unknown:
        raise ValueError(f"{_display(translated)}: no translated cell matches English cell(s) {unknown} with the "
                         "same type: copy the English cell (it keeps its id) to the same place first")
    changed = []
    for cell_key in wanted:
        record = {"source_id": cell_key, "source_sha256": sha256(by_id[cell_key].source)}
        if matched[cell_key].metadata.get(METADATA_KEY) != record:
            matched[cell_key].metadata[METADATA_KEY] = record
            changed.append(cell_key)
    if changed:
        nbformat.write(notebook, translated)
    return changed


# --------------------------------------------------------------------------------------------------
# Markdown documents
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One ``## `` section of a markdown document (or the text before the first one).

    Attributes:
        heading: The heading line (for the text before the first ``## ``, its first non-blank line).
        line: The 0-based number of the heading line in the document.
        text: The section's text, heading included, without surrounding blank lines.
        marker: The sha256 in the ``<!-- source: ... -->`` line right after the heading, if there is one.
    """

    heading: str
    line: int
    text: str
    marker: str | None

    @property
    def digest(self) -> str:
        """sha256 of the text, with the tables ``make bench`` writes left out."""
        return sha256(_GENERATED.sub("", self.text).strip())


def split_sections(text: str) -> list[Section]:
    """Split a markdown document at its ``## `` headings (headings inside code fences do not count).

    Args:
        text: The document.

    Returns:
        The sections in order; the first is the text before the first ``## `` heading, when there is any.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    starts = [0]
    fenced = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif line.startswith("## ") and not fenced and number:
            starts.append(number)
    sections = []
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        while start < end and not lines[start].strip():
            start += 1
        if start == end:
            continue
        found = _MARKER.match(lines[start + 1]) if start + 1 < end else None
        body = "\n".join(lines[start:end]).rstrip()
        sections.append(Section(lines[start], start, body, found.group(1) if found else None))
    return sections


def _section_name(number: int, section: Section) -> str:
    return f"section {number + 1} ({section.heading!r})"


def check_document(english: Path, translated: Path) -> list[str]:
    """Compare a translated markdown document with its English source, section by section.

    Sections are matched in order by the hash each translated section records (aligned as ``difflib``
    aligns two sequences). Where a translated section's hash matches no English section while an English
    section in the same place has no translation, that English section changed: the translation is stale.

    Args:
        english: The English document.
        translated: Its translation.

    Returns:
        One message per problem, each naming the translated document and the section (number and
        heading): a section without its marker, a stale section, a missing, added or reordered section.
    """
    name = _display(translated)
    source = split_sections(english.read_text(encoding="utf-8"))
    target = split_sections(translated.read_text(encoding="utf-8"))
    problems = [f"{name}: {_section_name(j, s)} has no '<!-- source: <sha256> -->' line right after its "
                "heading: stamp it" for j, s in enumerate(target) if s.marker is None]
    left = [s.digest for s in source]
    right = [s.marker for s in target]
    where = {digest: i for i, digest in enumerate(left)}
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        unmatched = []
        for j in range(j1, j2):
            if right[j] in where:
                i = where[right[j]]
                problems.append(f"{name}: {_section_name(j, target[j])} is out of order: it translates English "
                                f"{_section_name(i, source[i])}; move it there")
            else:
                unmatched.append(j)
        english_unmatched = [i for i in range(i1, i2) if left[i] not in right]
        for i, j in zip(english_unmatched, unmatched):
            if right[j] is not None:  # a missing marker is reported above
                problems.append(f"{name}: {_section_name(j, target[j])} is stale: English "
                                f"{_section_name(i, source[i])} changed since it was translated; update the "
                                "translation, then stamp it")
        for i in english_unmatched[len(unmatched):]:
            problems.append(f"{name}: English {_section_name(i, source[i])} is missing from the translation: "
                            "translate it in the same place, then stamp it")
        for j in unmatched[len(english_unmatched):]:
            if right[j] is not None:
                problems.append(f"{name}: {_section_name(j, target[j])} was added: it corresponds to no English "
                                "section (or to one that changed or was removed); remove it, or stamp it")
    for j, section in enumerate(target):  # a current section must also be translated, with the English numbers
        i = where.get(section.marker)
        if i is not None:
            english_text, text = (_GENERATED.sub("", x.text) for x in (source[i], section))
            problems.extend(_content_problems(f"{name}: {_section_name(j, section)}", english_text, text,
                                              f"English {_section_name(i, source[i])}", f"--section {j + 1}"))
    return problems


def stamp_document(english: Path, translated: Path, sections: Sequence[int] | None = None) -> list[int]:
    """Write each translated section's ``<!-- source: -->`` line from the English section in its place.

    Sections are paired by position, so the translation must have the English sections in the same order.
    Only the marker lines change; the rest of the document is kept byte for byte.

    Args:
        english: The English document.
        translated: The translated document, rewritten in place.
        sections: 1-based numbers of the sections to stamp; None stamps them all (which also marks as
            current any section that was stale).

    Returns:
        The numbers of the sections whose marker changed.

    Raises:
        ValueError: When the two documents have different numbers of sections, or a number is out of range.
    """
    source = split_sections(english.read_text(encoding="utf-8"))
    text = translated.read_text(encoding="utf-8")
    target = split_sections(text)
    if len(source) != len(target):
        raise ValueError(f"{_display(translated)} has {len(target)} sections and {_display(english)} has "
                         f"{len(source)}: give the translation the same sections in the same order first")
    wanted = list(range(1, len(target) + 1)) if sections is None else list(sections)
    bad = [n for n in wanted if not 1 <= n <= len(target)]
    if bad:
        raise ValueError(f"section numbers {bad} are out of range 1..{len(target)}")
    changed = [n for n in wanted if target[n - 1].marker != source[n - 1].digest]
    lines = text.replace("\r\n", "\n").split("\n")
    for n in sorted(changed, reverse=True):
        section = target[n - 1]
        marker = f"<!-- source: {source[n - 1].digest} -->"
        if section.marker is None:
            lines.insert(section.line + 1, marker)
        else:
            lines[section.line + 1] = marker
    if changed:
        translated.write_text("\n".join(lines), encoding="utf-8")
    return changed


# --------------------------------------------------------------------------------------------------
# The repository
# --------------------------------------------------------------------------------------------------


def notebook_pairs(root: Path = ROOT) -> tuple[list[tuple[Path, Path]], list[Path], list[str]]:
    """English notebooks paired with their translations by number.

    Args:
        root: The repository root.

    Returns:
        The pairs ``(english, translated)``, the English notebooks with no translation, and problems (a
        translation with no English notebook of its number, or two translations of one).
    """
    english = {p.name[:2]: p for p in sorted((root / "notebooks").glob("*.ipynb"))
               if _NOTEBOOK_NAME.fullmatch(p.name)}
    translated: dict[str, list[Path]] = {}
    for path in sorted((root / "notebooks" / LANGUAGE).glob("*.ipynb")):
        translated.setdefault(path.name[:2], []).append(path)
    problems = []
    for number, paths in translated.items():
        if number not in english or not _NOTEBOOK_NAME.fullmatch(paths[0].name):
            problems.extend(f"{_display(p)} has no English notebook notebooks/{number}_*.ipynb: name it after "
                            "the notebook it translates" for p in paths)
        elif len(paths) > 1:
            problems.append(f"{', '.join(map(_display, paths))} all translate {_display(english[number])}: "
                            "keep one")
    pairs = [(english[n], translated[n][0]) for n in english if len(translated.get(n, [])) == 1]
    missing = [english[n] for n in english if n not in translated]
    return pairs, missing, problems


def translated_document(english: Path) -> Path:
    """Where the translation of an English document lives: ``README.md`` -> ``README.zh.md``."""
    return english.with_name(f"{english.stem}.{LANGUAGE}{english.suffix}")


def check_repository(root: Path = ROOT) -> tuple[list[str], list[str]]:
    """Check every translation in the repository against its English source.

    Args:
        root: The repository root.

    Returns:
        The problems (empty when every translation is in step) and the English notebooks and documents
        that have no translation yet, relative to ``root``.
    """
    pairs, missing, problems = notebook_pairs(root)
    for english, translated in pairs:
        problems.extend(check_notebook(english, translated))
    untranslated = [str(p.relative_to(root)) for p in missing]
    for relative in DOCUMENTS:
        english = root / relative
        if not english.exists():
            continue
        if translated_document(english).exists():
            problems.extend(check_document(english, translated_document(english)))
        else:
            untranslated.append(relative)
    return problems, untranslated


def english_source(translated: Path, root: Path = ROOT) -> Path:
    """The English notebook or document that ``translated`` translates.

    Raises:
        ValueError: When ``translated`` is neither ``notebooks/zh/NN_*.ipynb`` nor ``<name>.zh.md``, or
            its English source does not exist.
    """
    if translated.suffix == ".ipynb":
        found = sorted((root / "notebooks").glob(f"{translated.name[:2]}_*.ipynb"))
        if translated.parent.name == LANGUAGE and _NOTEBOOK_NAME.fullmatch(translated.name) and found:
            return found[0]
    elif translated.name.endswith(f".{LANGUAGE}.md"):
        english = translated.with_name(translated.name.removesuffix(f".{LANGUAGE}.md") + ".md")
        if english.exists():
            return english
    raise ValueError(f"{translated} is not a translation whose English source exists: expected "
                     f"notebooks/{LANGUAGE}/NN_name.ipynb or a <name>.{LANGUAGE}.md next to <name>.md")


def start_translation(english: Path, root: Path = ROOT) -> Path:
    """Start the translation of an English notebook: ``notebooks/zh/<same name>``, a copy to translate.

    The copy keeps every cell id (so cells correspond), has no outputs, and gets its own Colab badge and
    setup cell (tools/launch_links.py: the setup cell opens ``notebooks/zh`` on Colab). Its markdown and
    its comments are still English: ``check`` lists each cell until it is translated and stamped.

    Raises:
        ValueError: When ``english`` is not an English chapter or its translation already exists.
    """
    english = english.resolve()
    if english.parent != (root / "notebooks").resolve() or not _NOTEBOOK_NAME.fullmatch(english.name):
        raise ValueError(f"{english} is not an English chapter notebooks/NN_name.ipynb")
    target = root / "notebooks" / LANGUAGE / english.name
    if target.exists():
        raise ValueError(f"{_display(target)} exists already: edit it, or delete it to start again")
    notebook = nbformat.read(english, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    launch_links.update(target)  # the badge and setup cell for the translation's folder
    return target


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    """The command line; returns the exit status (1 when a translation is out of step)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="check every translation against its English source")
    starting = commands.add_parser("init", help="start a translation: notebooks/zh/NN_name.ipynb from the English")
    starting.add_argument("path", type=Path, help="the English notebook, notebooks/NN_name.ipynb")
    stamping = commands.add_parser("stamp", help="record which English text a translation now translates")
    stamping.add_argument("path", type=Path, help="notebooks/zh/NN_name.ipynb or <name>.zh.md")
    stamping.add_argument("--cell", action="append", help="English cell id to stamp (repeatable)")
    stamping.add_argument("--section", action="append", type=int, help="section number to stamp (repeatable)")
    args = parser.parse_args(argv)
    if args.command == "check":
        problems, untranslated = check_repository(root)
        if untranslated:
            print(f"Not translated yet ({len(untranslated)}): {', '.join(untranslated)}")
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s)." if problems
              else "Every translation is in step with its English source.")
        return 1 if problems else 0
    if args.command == "init":
        try:
            print(f"started {_display(start_translation(args.path, root))}: translate its markdown cells and "
                  "comments, then stamp it")
        except ValueError as error:
            print(error, file=sys.stderr)
            return 2
        return 0
    notebook = args.path.suffix == ".ipynb"
    if (args.section and notebook) or (args.cell and not notebook):
        print("--cell picks cells of a notebook, --section sections of a markdown document", file=sys.stderr)
        return 2
    try:
        english = english_source(args.path.resolve(), root)
        changed: list[str] | list[int] = (stamp(english, args.path, args.cell) if notebook
                                          else stamp_document(english, args.path, args.section))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"stamped {len(changed)} against {_display(english)}: {changed}" if changed else "nothing to stamp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
