"""rhwp's PDF output made readable: its page forms unscaled for PDFium's text layer, or, where
that output fails, every page as a picture in a PDF of its own (pages/hwp.py, which renders).

rhwp draws each page of a multi-page PDF as a form XObject at a scale of about 1/1000, scaled
back up by the page; PDFium's text layer loses the narrow glyphs (digits, punctuation) at that
scale, though it draws them. `unscale_page_forms` moves the scale into the page's own `cm`
(byte for byte the same length, so the cross-reference table stays right).

rhwp's PDF output fails on a whole document for one picture it cannot decode, where its PNG
output draws that picture as a grey box: `page_pictures` makes those PNGs the pages.
"""

from __future__ import annotations

import io
import re
from typing import Any

_OBJECT = re.compile(rb"\n(\d+) 0 obj\b(.*?)\nendobj", re.S)
_PAGE_FORM = re.compile(rb"/Contents (\d+) 0 R.*?/XObject\s*<<\s*/\w+ (\d+) 0 R\s*>>", re.S)
_MATRIX = re.compile(rb"/Matrix \[([-\d.]+) 0 0 ([-\d.]+) 0 0\]")
_DRAW_FORM = re.compile(rb"stream\r?\n(([-\d.]+) 0 0 ([-\d.]+) 0 0 cm)\s")


def unscale_page_forms(pdf: bytes) -> bytes:
    """rhwp's PDF with each page's form drawn at scale 1 (its /Matrix the identity) and the page's
    `cm` carrying the whole scale: what PDFium needs to keep every glyph in the text layer. Same
    length, and PDFium draws the same pixels; a PDF not shaped this way comes back as it was."""
    objects = {int(m[1]): (m.start(2), m.end(2)) for m in _OBJECT.finditer(pdf)}
    out = bytearray(pdf)
    for start, end in list(objects.values()):
        page = _PAGE_FORM.search(pdf, start, end)
        if page is None or int(page[1]) not in objects or int(page[2]) not in objects:
            continue
        matrix = _MATRIX.search(pdf, *objects[int(page[2])])
        draw = _DRAW_FORM.search(pdf, *objects[int(page[1])])
        if matrix is None or draw is None:
            continue
        width, height = float(draw[2]) * float(matrix[1]), float(draw[3]) * float(matrix[2])
        old_cm, old_matrix = draw[1], matrix[0]
        new_cm = next(
            (cm for n in (8, 6, 4) if len(cm := f"{width:.{n}g} 0 0 {height:.{n}g} 0 0 cm".encode()) <= len(old_cm)),
            None,
        )
        identity = b"/Matrix [1 0 0 1 0 0"
        if new_cm is None or len(identity) >= len(old_matrix):
            continue
        out[draw.start(1) : draw.end(1)] = new_cm.ljust(len(old_cm))
        out[matrix.start() : matrix.end()] = identity.ljust(len(old_matrix) - 1) + b"]"
    return bytes(out)


PICTURE_DPI = 200  # the pages rhwp draws as pictures when its PDF fails (the default --dpi; scale 1 is 96)


def page_pictures(document: Any, pages: int) -> bytes | None:
    """Every page as rhwp draws it in PNG (its PDF output failed: a picture it cannot decode is
    left out there, not here), as a PDF of those pictures; None when a page cannot be drawn."""
    from PIL import Image

    try:
        drawn = [
            Image.open(io.BytesIO(document.render_png(number, scale=PICTURE_DPI / 96))).convert("RGB")
            for number in range(pages)
        ]
        if not drawn:
            return None
        out = io.BytesIO()
        drawn[0].save(out, "PDF", save_all=True, append_images=drawn[1:], resolution=PICTURE_DPI, quality=90)
    except Exception:  # rhwp's own errors (ValueError, RuntimeError) and Pillow's: no pictures
        return None
    return out.getvalue()
