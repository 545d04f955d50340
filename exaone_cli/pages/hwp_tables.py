"""An HWP document's tables as Markdown, put on the rendered pages where their text stands.

A rendered page's text layer gives a table as loose lines: a row per line at best, its cells
joined by spaces, merged and multi-line cells interleaved. The document's own model (rhwp's IR)
knows the grid. It does not know pages, so each table goes where its cells' text stands in a
page's layer, character for character (whitespace aside): the lines it covers become the table.
A table whose text is not found there as one run (it spans pages, or its multi-line cells
interleave in the layer) stays as the layer gives it: nothing is dropped, nothing is invented.

Markdown: a GitHub table when no cell spans rows or columns, else the table's HTML (rhwp's,
with rowspan and colspan), as rhwp's own Markdown view does; nested tables are flattened into
their cell's text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    """One table of the document: its cells' text in reading order, and its Markdown."""

    text: str
    markdown: str


def document_tables(body: Iterable[Any]) -> list[Table]:
    """The top-level tables of rhwp IR blocks (HwpDocument.body), in document order."""
    return [_table(block) for block in body if getattr(block, "kind", None) == "table"]


def place_tables(pages: Sequence[str], tables: Sequence[Table]) -> dict[int, str]:
    """Page texts (1-based page -> text) with each table found in a page's lines replaced by its
    Markdown; only the pages that changed."""
    changed: dict[int, str] = {}
    lines_by_page = [text.split("\n") for text in pages]
    start = 0  # tables come in document order: the next one is on this page or a later one
    for table in tables:
        target = _compact(table.text)
        if not target:
            continue
        for index in range(start, len(lines_by_page)):
            lines = lines_by_page[index]
            span = _find(lines, target)
            if span is not None:
                lines[span[0] : span[1]] = ["", table.markdown, ""]
                changed[index + 1] = _tidy(lines)
                start = index
                break
    return changed


def _find(lines: list[str], target: str) -> tuple[int, int] | None:
    """The run of whole lines whose text, whitespace aside, is `target`."""
    for first in range(len(lines)):
        seen = ""
        for last in range(first, len(lines)):
            seen += _compact(lines[last])
            if not target.startswith(seen):
                break
            if seen == target:
                return first, last + 1
    return None


def _table(block: Any) -> Table:
    cells = sorted(block.cells, key=lambda cell: (cell.row, cell.col))
    texts = {(cell.row, cell.col): _cell_text(cell.blocks) for cell in cells}
    spanned = any(cell.row_span > 1 or cell.col_span > 1 for cell in cells)
    if spanned or not cells:
        markdown = str(block.html)
    else:
        rows = [[_escape(texts.get((r, c), "")) for c in range(block.cols)] for r in range(block.rows)]
        header, *body = rows or [[]]
        lines = [_row(header), _row(["---"] * len(header)), *(_row(row) for row in body)]
        markdown = "\n".join(lines)
    return Table(" ".join(texts[key] for key in sorted(texts)), markdown)


def _cell_text(blocks: Iterable[Any]) -> str:
    parts: list[str] = []
    for block in blocks:
        kind = getattr(block, "kind", None)
        if kind == "table":
            parts.extend(_cell_text(cell.blocks) for cell in sorted(block.cells, key=lambda c: (c.row, c.col)))
        elif getattr(block, "text", None):
            parts.append(str(block.text))
    return "\n".join(part for part in parts if part)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def _compact(text: str) -> str:
    return "".join(text.split())


def _tidy(lines: list[str]) -> str:
    """Lines joined, with at most one blank line in a row and none at the ends."""
    out: list[str] = []
    for line in "\n".join(lines).split("\n"):
        if line.strip() or (out and out[-1].strip()):
            out.append(line)
    return "\n".join(out).strip("\n")
