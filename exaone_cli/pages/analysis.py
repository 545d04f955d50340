"""What is drawn on a PDF page, from its objects, without rendering: the page images (how much of
the page each covers, at what pixel density) and which text objects a reader cannot see.

Two users: the text-layer verdict (text drawn invisibly or hidden under a page image is an
earlier OCR, not what the page shows) and the rasterizers (a page that is one scanned image is
rendered at no more than the scan's own pixel density). Raw pdfium calls, not pypdfium2's object
wrappers: a dense page has thousands of objects, and a wrapper per object costs ~10 µs. Callers
hold `PDFIUM_LOCK` (pages/pdfium.py) around every function here.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Any

# An image covering this share of the page is a page image: a scan, or a scan's page of a
# photographed document. 0.9 leaves room for scanners' and tools' margins and rounding.
PAGE_IMAGE_COVERAGE = 0.9


@dataclass(frozen=True)
class PageImage:
    """One image drawn on the page (at the top level of the content stream, or in a form XObject).

    `coverage`: the share of the page's visible box (crop box within media box) its bounds
    cover, 0..1. `dpi`: its own pixel density on the page, pixels per inch along its denser axis
    (None when the matrix is degenerate). `order`: its place among the page's top-level objects.
    `opaque`: drawn without transparency in its graphics state (a watermark drawn see-through
    hides nothing under it). pdfium does not report an image's own soft mask (/SMask), so an
    image transparent only through one counts as opaque: text under it is judged hidden, and
    the page goes to the model, the safe side."""

    coverage: float
    dpi: float | None
    order: int
    opaque: bool = True
    bounds: tuple[float, float, float, float] | None = None  # left, bottom, right, top in page space


@dataclass(frozen=True)
class PageContent:
    """A page's images, and its top-level text objects with how they are drawn.

    `text_modes` maps a text object's address to (its order, its text render mode);
    `visible_text` says whether any text object is drawn visibly (fill and/or stroke)."""

    images: tuple[PageImage, ...]
    text_modes: dict[int, tuple[int, int]]
    visible_text: bool

    @property
    def image_coverage(self) -> float:
        """The largest share of the page one image covers (0 without images)."""
        return max((image.coverage for image in self.images), default=0.0)

    @property
    def scan(self) -> PageImage | None:
        """The page image when the page is one scanned image and nothing a reader can see
        besides (invisible OCR text may lie over it); None otherwise."""
        covering = [image for image in self.images if image.coverage >= PAGE_IMAGE_COVERAGE]
        if len(covering) != 1 or self.visible_text:
            return None
        return covering[0]

    def hidden(self, text_object: Any) -> bool:
        """Whether a text object (pdfium's handle, as FPDFText_GetTextObject gives it) is invisible
        to a reader: drawn in render mode 3 (invisible) or 7 (clip only), or drawn before a page
        image that is painted over it (opaque). Text inside form XObjects is judged by its mode alone."""
        import pypdfium2.raw as pdfium_c

        address = address_of(text_object)
        order, mode = self.text_modes.get(address, (-1, int(pdfium_c.FPDFTextObj_GetTextRenderMode(text_object))))
        if mode in _INVISIBLE_MODES:
            return True
        return order >= 0 and any(
            image.order > order and image.opaque and image.coverage >= PAGE_IMAGE_COVERAGE for image in self.images
        )

    def invisible(self, text_object: Any) -> bool:
        """Whether a text object is drawn in render mode 3 (invisible) or 7 (clip only)."""
        import pypdfium2.raw as pdfium_c

        address = address_of(text_object)
        mode = self.text_modes.get(address, (-1, int(pdfium_c.FPDFTextObj_GetTextRenderMode(text_object))))[1]
        return mode in _INVISIBLE_MODES


_INVISIBLE_MODES = (3, 7)  # FPDF_TEXTRENDERMODE_INVISIBLE, FPDF_TEXTRENDERMODE_CLIP


def address_of(handle: Any) -> int:
    """A pdfium handle's address, to recognise the same object again (ctypes.cast is 5x slower)."""
    return ctypes.c_void_p.from_buffer(handle).value or 0


def page_content(page: Any, *, until_visible_text: bool = False) -> PageContent:
    """The images and text objects at the top level of `page` (a pypdfium2 PdfPage).
    Images inside form XObjects are found too (forms in forms, MAX_FORM_DEPTH deep), in page space;
    text inside them is judged by its render mode alone (PageContent.hidden).
    `until_visible_text` stops at the first visible text object (enough to tell a scan)."""
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = page.get_bbox()
    area = max(right - left, 0.0) * max(top - bottom, 0.0)
    images: list[PageImage] = []
    text_modes: dict[int, tuple[int, int]] = {}
    visible = False
    for order in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        obj = pdfium_c.FPDFPage_GetObject(page.raw, order)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            mode = int(pdfium_c.FPDFTextObj_GetTextRenderMode(obj))
            text_modes[address_of(obj)] = (order, mode)
            visible = visible or mode not in _INVISIBLE_MODES
            if visible and until_visible_text:
                break
        elif kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            images.append(_image(obj, order, (left, bottom, right, top), area))
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            images.extend(_form_images(obj, order, (left, bottom, right, top), area, _IDENTITY, 0))
    return PageContent(tuple(images), text_modes, visible)


Matrix = tuple[float, float, float, float, float, float]  # a b c d e f, as PDF writes it
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
MAX_FORM_DEPTH = 8  # forms inside forms: deeper nesting than any real file, and no cycles to follow


def _form_images(
    form: Any, order: int, box: tuple[float, float, float, float], area: float, outer: Matrix, depth: int
) -> list[PageImage]:
    """The images drawn inside a form XObject (and the forms inside it), in page space, each with
    the form's own place among the page's objects (`order`). A chart pasted as a picture often
    sits in a form, and counts for the pictures rule as it would at the top."""
    import pypdfium2.raw as pdfium_c

    found: list[PageImage] = []
    matrix = pdfium_c.FS_MATRIX()
    if depth >= MAX_FORM_DEPTH or not pdfium_c.FPDFPageObj_GetMatrix(form, matrix):
        return found
    total = _multiply((matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f), outer)
    for index in range(pdfium_c.FPDFFormObj_CountObjects(form)):
        obj = pdfium_c.FPDFFormObj_GetObject(form, index)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            found.append(_image(obj, order, box, area, total))
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM:
            found.extend(_form_images(obj, order, box, area, total, depth + 1))
    return found


def _multiply(first: Matrix, then: Matrix) -> Matrix:
    """The matrix that applies `first`, then `then` (PDF's row-vector convention)."""
    a, b, c, d, e, f = first
    a2, b2, c2, d2, e2, f2 = then
    return (
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    )


def _apply(matrix: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return a * x + c * y + e, b * x + d * y + f


def _image(
    obj: Any, order: int, box: tuple[float, float, float, float], area: float, outer: Matrix = _IDENTITY
) -> PageImage:
    """An image object as a PageImage; `outer`: the matrix of the forms it sits in (their space
    to the page's)."""
    import pypdfium2.raw as pdfium_c

    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    coverage = 0.0
    bounds = None
    if area > 0 and pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
        if outer != _IDENTITY:
            corners = [_apply(outer, x, y) for x in (left.value, right.value) for y in (bottom.value, top.value)]
            xs, ys = [x for x, _ in corners], [y for _, y in corners]
            bounds = (min(xs), min(ys), max(xs), max(ys))
        else:
            bounds = (left.value, bottom.value, right.value, top.value)
        width = min(bounds[2], box[2]) - max(bounds[0], box[0])
        height = min(bounds[3], box[3]) - max(bounds[1], box[1])
        coverage = max(width, 0.0) * max(height, 0.0) / area
    opaque = not pdfium_c.FPDFPageObj_HasTransparency(obj)
    return PageImage(coverage, _pixel_density(obj, outer), order, opaque, bounds)


def _pixel_density(obj: Any, outer: Matrix = _IDENTITY) -> float | None:
    """Pixels per inch of an image object along its denser axis. The object's matrix maps the
    image's unit square onto the page: its columns' lengths are the drawn width and height in
    points, whatever the rotation."""
    import pypdfium2.raw as pdfium_c

    matrix = pdfium_c.FS_MATRIX()
    px_w, px_h = ctypes.c_uint(), ctypes.c_uint()
    if not (pdfium_c.FPDFPageObj_GetMatrix(obj, matrix) and pdfium_c.FPDFImageObj_GetImagePixelSize(obj, px_w, px_h)):
        return None
    a, b, c, d, _, _ = _multiply((matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f), outer)
    width_pt, height_pt = math.hypot(a, b), math.hypot(c, d)
    if width_pt <= 0 or height_pt <= 0 or not px_w.value or not px_h.value:
        return None
    return max(px_w.value / width_pt, px_h.value / height_pt) * 72


def scan_dpi(page: Any) -> float | None:
    """The pixel density of the one scanned image that is the whole page, or None when the page
    is anything else (born-digital text, several images, an image with visible text over it)."""
    scan = page_content(page, until_visible_text=True).scan
    return scan.dpi if scan is not None else None
