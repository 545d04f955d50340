"""Rendered HWP pages whose text is not in the document's own order: a wrong layout, not a text.

rhwp lays some constructs out wrongly: rows of a table whose heights the file leaves to Hangul
collapse onto each other, multi-line cells interleave, so pdfium reads their glyphs in an order
that is no text at all ("구창중분업소기기업업"), while every character is a real, visible one and
the layer looks `good`. The document's own text (rhwp's model) is the check: a page whose
character trigrams (whitespace aside) are mostly not found in the document's text cannot be the
document's text, and `--text-layer prefer` must not hand it out as exact. Such a page's layer
is judged `garbled`, with a reason, and goes to the model like any other garbled layer.

Text the model does not hold (page numbers, generated numbering, text boxes of drawing objects
that rhwp's model leaves out) lowers a page's share a little; a document whose model holds no
text at all is not judged (there is nothing to check against). Measured on the real files and
the tests' documents: pages laid out right match 100%, a collapsed table page 15%.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

IN_ORDER_SHARE = 0.8  # at least this share of a page's trigrams must be in the document's text
_GRAM = 3
_FEWEST = 8  # a page with fewer trigrams than this (a page number, a short line) is not judged


def out_of_order(pages: Sequence[str], document: str) -> dict[int, str]:
    """Page number (1-based) -> the reason its text layer cannot be trusted, for each page of
    `pages` (the rendered layer's texts) whose text is mostly not in `document` as written."""
    known = set(_trigrams(document))
    if not known:
        return {}
    doubts = {}
    for number, text in enumerate(pages, 1):
        grams = _trigrams(text)
        if len(grams) < _FEWEST:
            continue
        share = sum(gram in known for gram in grams) / len(grams)
        if share < IN_ORDER_SHARE:
            doubts[number] = (
                f"only {share:.0%} of the rendered text is in the document's own order: rhwp laid this page "
                "out wrongly (overlapping table rows or cells)"
            )
    return doubts


def _trigrams(text: str) -> list[str]:
    shown = "".join(char for char in unicodedata.normalize("NFC", text) if not char.isspace())
    return [shown[at : at + _GRAM] for at in range(len(shown) - _GRAM + 1)]
