"""The spaces pdfium invents in a rendered HWP page's text, taken out against the document's text.

rhwp draws every glyph as a text object of its own, where Hangul's layout puts it: digits and
letters stretched to their cells, other glyphs (a hyphen) at their font's width, which is
narrower than the cell. pdfium's text reader puts a space between two text objects when the gap
from the end of one glyph to the start of the next passes about a quarter of the wider glyph, so
the slack after a hyphen reads as a space: "02- 123- 4567". rhwp draws no space glyph at all:
every space in the layer is pdfium's guess, the document's real spaces too (a gap of their own).

The document's own text (rhwp's model) says where the spaces are. A space the layer puts between
two runs of characters on a line is taken out when the document holds the runs joined, and never
with whitespace between them, the run before them included ("전화 02-" + "123-"). A real space is
in the document text itself (the page's text came from it), so it always stays; text the model
does not hold (page numbers, numbering Hangul generates, a text box rhwp's model leaves out) stays
as pdfium read it, short runs ("- 3 -") being checked with the run before them.
"""

from __future__ import annotations

from collections.abc import Sequence


def drop_invented_spaces(pages: Sequence[str], document: str) -> list[str]:
    """`pages` (the rendered pages' layer texts) without the spaces `document` (the document's own
    text) shows are not there; lines and every other character as they were."""
    known = " ".join(document.split())  # every run of whitespace as one space: what a gap may stand for
    if not known:
        return list(pages)
    # The pairs of characters the document has side by side: a space between two characters it
    # never joins is kept without searching the document (most spaces are real).
    pairs = {known[i : i + 2] for i in range(len(known) - 1)}
    return ["\n".join(_joined(line, known, pairs) for line in page.split("\n")) for page in pages]


def _joined(line: str, known: str, pairs: set[str]) -> str:
    """One line, each single space between two runs dropped when `known` holds the runs only joined.
    The left side is what the line holds since the last space kept, so a number split twice
    ("02- 123- 4567") is checked whole as it is put back together, with the run before that
    space: a short run alone ("3", "-") is found somewhere in any document."""
    runs = line.split(" ")
    kept = [runs[0]]
    for run in runs[1:]:
        left = kept[-1]
        before = f"{kept[-2]} {left}" if len(kept) > 1 else left
        if left and run and left[-1] + run[0] in pairs and before + run in known and f"{before} {run}" not in known:
            kept[-1] = left + run
        else:
            kept.append(run)
    return " ".join(kept)
