"""Which characters of a PDF page's text layer a reader can see, decided the way a reader's eyes
do: against a cheap render of the page.

A text layer holds every character a content stream draws, including the ones nobody sees:
white on white, 0.5-point text, text under a black box drawn after it (a failed redaction),
text outside the crop box or clipped away, text in an optional-content layer that is switched
off, text in render mode 3 (an earlier OCR) or under a page image. Such text must never become
the page's text: it is how prompt injections reach a model through a CV or a contract, and how
bad redactions leak.

The check: the page is rendered once at one pixel per point (pdfium draws what a
viewer draws: colours, clipping, optional content, annotations and form fields, so all of that is
settled by pdfium itself), and each character's box (FPDFText_GetLooseCharBox: the advance
width by the font's ascent and descent) must hold ink: a column of pixels whose grey levels span
more than INK_STEP. A glyph coloured like what is under it, or covered, or not drawn, leaves its
box flat. Two rules need no pixels: render modes 3 and 7 draw nothing, and a character whose box
is under TINY_PT points is too small to read. Text drawn over a picture is judged apart: a
picture's own edges would pass for ink, so the page is rendered again without that text, and a
character whose box the two renders agree on left no mark (black words on a black photo). The
cost is the render (a few milliseconds for a dense page), two more for a page with text over a
picture, and a few microseconds a character.

Only letters and digits are checked: a dot, a bullet or a rule carries no words, and a glyph that
small is where a render at 72 DPI errs. What the check does not see: text under a busy picture
drawn over it counts as covered only through the object rule (an opaque image drawn after it,
PageContent.hidden); a glyph differing from what is under it by less than INK_STEP levels in
every colour channel (near-white on white) is hidden, as a reader would have it.
Callers hold `PDFIUM_LOCK` (pages/pdfium.py).
"""

from __future__ import annotations

import ctypes
import math
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .analysis import PageContent, address_of

RENDER_SCALE = 1.0  # pixels per point: 72 DPI, a few ms for a dense A4 page ...
RENDER_PIXELS = 1_000_000  # ... and fewer points per pixel for pages larger than A3 (posters, plans)
INK_STEP = 24  # grey levels (0..255) a column of a character's box must span to hold ink
TINY_PT = 2.0  # a character box (ascent + descent, ~1.2 em) under this: text under ~1.6 pt
INVISIBLE_MODE = 3  # FPDF_TEXTRENDERMODE_INVISIBLE
SAME_COLOUR = 40  # grey levels between the text's fill and the flat box: "coloured like what is under it"

# Why a character is hidden, in the order the checks decide it; the names appear in reasons.
CAUSES = {
    "invisible": "drawn invisibly",
    "outside": "outside the visible page",
    "tiny": "too small to read",
    "under-image": "under an image",
    "same-colour": "coloured like what is under it",
    "covered": "covered, clipped or in a layer that is off",
}


@dataclass(frozen=True)
class Visibility:
    """The hidden characters of one text page: their indexes (pdfium's character indexes) and
    how many each cause hid (pdfium's own line breaks and spaces, whitespace, and punctuation or
    symbols away from hidden letters and digits are never hidden)."""

    hidden: frozenset[int] = frozenset()
    causes: Counter[str] = field(default_factory=Counter)

    def share(self, shown: str) -> float:
        """The hidden characters' share of the page's words: `shown` is the visible text."""
        visible = sum(1 for ch in shown if not ch.isspace())
        return len(self.hidden) / (len(self.hidden) + visible) if self.hidden else 0.0

    def describe(self) -> str:
        """The causes, most first: "coloured like what is under it: 20, too small to read: 14"."""
        return ", ".join(f"{CAUSES[cause]}: {n}" for cause, n in self.causes.most_common())


def char_visibility(page: Any, textpage: Any, content: PageContent) -> Visibility:
    """Which characters of `textpage` (pypdfium2 objects of `page`) a reader cannot see.

    One pdfium call per character (its box); everything else is asked only about the few
    characters the pixels single out (flat, tiny, outside, or under an image drawn later)."""
    import numpy as np
    import pypdfium2.raw as pdfium_c

    raw = textpage.raw
    rect = pdfium_c.FS_RECTF()
    boxes: list[tuple[float, float, float, float]] = []
    for index in range(pdfium_c.FPDFText_CountChars(raw)):
        if pdfium_c.FPDFText_GetLooseCharBox(raw, index, rect):
            boxes.append((rect.left, rect.bottom, rect.right, rect.top))
        else:
            boxes.append((0.0, 0.0, 0.0, 0.0))
    if not boxes:
        return Visibility()
    if min(page.get_size()) * _scale(page) < 1:  # a crop box beside the media box: no page to see
        outside = _words(dict.fromkeys(range(len(boxes)), "outside"), raw)
        return Visibility(frozenset(outside), Counter(outside.values()))
    candidates = _by_pixels(page, content, np.array(boxes, dtype=np.float64))
    # Render mode 3 draws nothing, whatever lies under it: an OCR layer over a scan sits on the
    # scan's own ink, and is hidden all the same (mode 7, a clip, shows what is painted through it).
    invisible = {address for address, (_, mode) in content.text_modes.items() if mode == INVISIBLE_MODE}
    if invisible:
        for index in range(len(boxes)):
            obj = pdfium_c.FPDFText_GetTextObject(raw, index)
            if obj and address_of(obj) in invisible:
                candidates[index] = "invisible"
    hidden: dict[int, str] = {}
    flat_causes: dict[int, str] = {}  # by text object: one small render per object, not per character
    on_images: dict[int, Any] = {}  # drawn over a picture: the picture's own ink says nothing
    for index, cause in candidates.items():
        obj = pdfium_c.FPDFText_GetTextObject(raw, index)
        if not obj:
            continue  # generated by pdfium (a line break, a space it inferred)
        if content.invisible(obj):
            hidden[index] = "invisible"
        elif cause == "under-image" and not _drawn_before(content, obj, boxes[index]):
            on_images[index] = obj  # the image is under the text, not over it: does the text show on it?
        elif cause in ("same-colour", "covered"):
            address = address_of(obj)
            if address not in flat_causes:
                flat_causes[address] = _flat_cause(obj, page, boxes[index])
            hidden[index] = flat_causes[address]
        else:
            hidden[index] = cause
    hidden = _words(hidden, raw)
    if any(cause in ("same-colour", "covered") for cause in hidden.values()):
        hidden = _recheck_in_colour(page, hidden, boxes)
    if on_images:  # decided in colour already, and a picture's edges may fool the one-render check
        unseen = _no_ink_over_pictures(page, on_images, boxes)
        causes = {index: "invisible" if _transparent(on_images[index]) else "same-colour" for index in unseen}
        hidden.update(_words(causes, raw))
    return Visibility(frozenset(hidden), Counter(hidden.values()))


def _words(hidden: dict[int, str], raw: Any) -> dict[int, str]:
    """`hidden` less what carries no words: whitespace, punctuation and symbols are let off unless
    they sit beside a hidden letter or digit ("999,999")."""
    import pypdfium2.raw as pdfium_c

    codes = {index: pdfium_c.FPDFText_GetUnicode(raw, index) for index in hidden}
    words = {index for index, code in codes.items() if _is_word(code)}
    near = {index + step for index in words for step in (-2, -1, 1, 2)}
    kept = {index for index in hidden if index in words or (index in near and not _is_space(codes[index]))}
    return {index: cause for index, cause in hidden.items() if index in kept}


def _is_space(code: int) -> bool:
    return code == 0 or code > 0x10FFFF or chr(code).isspace()


def _is_word(code: int) -> bool:
    """A letter or a digit (what a hidden instruction or number is made of)."""
    return 0 < code <= 0x10FFFF and unicodedata.category(chr(code))[0] in "LN"


def _scale(page: Any) -> float:
    width_pt, height_pt = page.get_size()
    return min(RENDER_SCALE, (RENDER_PIXELS / max(width_pt * height_pt, 1.0)) ** 0.5)


def _render(page: Any, *, colour: bool, region: tuple[int, int, int, int] | None = None) -> Any:
    """The page as pixels (height, width, channels: 1 grey or 3 BGR), at RENDER_SCALE or less; or
    only `region` of that bitmap (left, top, right, bottom pixels)."""
    scale = _scale(page)
    crop: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    if region is not None:  # pypdfium2 cuts ceil(points x scale) pixels off each side
        width, height = _bitmap_size(page)
        left, top, right, bottom = region
        crop = tuple(max(cut - 0.5, 0.0) / scale for cut in (left, height - bottom, width - right, top))
    pixels = page.render(scale=scale, crop=crop, may_draw_forms=True, grayscale=not colour).to_numpy()
    return pixels.reshape(*pixels.shape[:2], 1) if pixels.ndim == 2 else pixels[:, :, :3]


def _bitmap_size(page: Any) -> tuple[int, int]:
    """The width and height in pixels of the whole page's render (as pypdfium2 sizes it)."""
    import math

    scale = _scale(page)  # pdfium's page size is as shown: a /Rotate of 90 swaps it already
    return math.ceil(page.get_width() * scale), math.ceil(page.get_height() * scale)


def _pixel_boxes(page: Any, pixels: Any, boxes: Any) -> tuple[Any, Any, Any, Any, Any]:
    """Character boxes (page space) in pixels, clipped to the bitmap: x0, x1, y0, y1, and whether
    each box's centre lies outside it. `pixels`: the page's render, or its (height, width)."""
    import numpy as np

    height, width = pixels if isinstance(pixels, tuple) else pixels.shape[:2]
    # Device space from page space: an affine map (rotation, crop box), read off three points.
    origin, x_unit, y_unit = (_to_device(page, width, height, x, y) for x, y in ((0, 0), (1000, 0), (0, 1000)))
    ax, ay = (x_unit[0] - origin[0]) / 1000, (x_unit[1] - origin[1]) / 1000
    bx, by = (y_unit[0] - origin[0]) / 1000, (y_unit[1] - origin[1]) / 1000
    xs = np.stack([boxes[:, 0], boxes[:, 2], boxes[:, 0], boxes[:, 2]], axis=1)
    ys = np.stack([boxes[:, 1], boxes[:, 1], boxes[:, 3], boxes[:, 3]], axis=1)
    px, py = origin[0] + ax * xs + bx * ys, origin[1] + ay * xs + by * ys
    x0, x1 = np.floor(px.min(axis=1)), np.ceil(px.max(axis=1))
    y0, y1 = np.floor(py.min(axis=1)), np.ceil(py.max(axis=1))
    centre_x, centre_y = (x0 + x1) / 2, (y0 + y1) / 2
    outside = (centre_x < 0) | (centre_x >= width) | (centre_y < 0) | (centre_y >= height)
    cx0, cx1 = np.clip(x0, 0, width).astype(np.intp), np.clip(x1, 0, width).astype(np.intp)
    cy0, cy1 = np.clip(y0, 0, height).astype(np.intp), np.clip(y1, 0, height).astype(np.intp)
    return cx0, cx1, cy0, cy1, outside


def _by_pixels(page: Any, content: PageContent, boxes: Any) -> dict[int, str]:
    """The characters (boxes in page space: left, bottom, right, top) a grey render shows no ink
    for ("covered", refined later), that lie outside the page or are too small, or whose centre
    lies under an opaque image ("under-image", if drawn after them: checked later)."""
    import numpy as np

    pixels = _render(page, colour=False)
    x0, x1, y0, y1, outside = _pixel_boxes(page, pixels, boxes)
    tiny = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) < TINY_PT
    flat = _flat(pixels, x0, x1, y0, y1)
    covered = _under_images(content, boxes)
    found: dict[int, str] = {}
    for i in np.flatnonzero(outside | tiny | flat | covered).tolist():
        found[i] = "outside" if outside[i] else "tiny" if tiny[i] else "under-image" if covered[i] else "covered"
    return found


def _recheck_in_colour(
    page: Any, hidden: dict[int, str], boxes: list[tuple[float, float, float, float]]
) -> dict[int, str]:
    """`hidden` less the characters a colour render shows ink for (red on a dark red of the same
    grey): the grey render is cheaper, and a page rarely needs this second look."""
    import numpy as np

    flat_ones = [index for index, cause in hidden.items() if cause in ("same-colour", "covered")]
    pixels = _render(page, colour=True)
    x0, x1, y0, y1, _ = _pixel_boxes(page, pixels, np.array([boxes[i] for i in flat_ones], dtype=np.float64))
    seen = set(np.array(flat_ones)[~_flat(pixels, x0, x1, y0, y1)].tolist())
    return {index: cause for index, cause in hidden.items() if index not in seen}


def _no_ink_over_pictures(
    page: Any, objects: dict[int, Any], boxes: list[tuple[float, float, float, float]]
) -> list[int]:
    """Which of the characters drawn over a picture (index: its text object) leave no ink on it:
    the page is rendered in colour with those text objects and again without them (render mode 3
    for the second render, then put back), and a character whose box differs by no more than
    INK_STEP in every pixel and channel was not seen: black words on a black photo, words coloured
    like the picture under them. A picture's own edges inside a box (which fooled the one-render
    ink test) are in both renders and cancel out."""
    import numpy as np
    import pypdfium2.raw as pdfium_c

    drawn = {address_of(obj): obj for obj in objects.values()}
    modes = {address: int(pdfium_c.FPDFTextObj_GetTextRenderMode(obj)) for address, obj in drawn.items()}
    indexes = sorted(objects)
    width, height = _bitmap_size(page)
    x0, x1, y0, y1, _ = _pixel_boxes(page, (height, width), np.array([boxes[i] for i in indexes], dtype=np.float64))
    # Only the part of the page those characters lie in is drawn, twice: a line over a photo costs
    # a strip of pixels, not two pages of them.
    left, top, right, bottom = int(x0.min()), int(y0.min()), int(x1.max()), int(y1.max())
    if right <= left or bottom <= top:
        return []
    shown = _render(page, colour=True, region=(left, top, right, bottom)).astype(np.int16)
    try:
        for obj in drawn.values():
            pdfium_c.FPDFTextObj_SetTextRenderMode(obj, INVISIBLE_MODE)
        bare = _render(page, colour=True, region=(left, top, right, bottom)).astype(np.int16)
    finally:
        for address, obj in drawn.items():
            pdfium_c.FPDFTextObj_SetTextRenderMode(obj, modes[address])
    ink = np.abs(shown - bare).max(axis=2) > INK_STEP
    spans = zip(
        indexes, (x0 - left).tolist(), (x1 - left).tolist(), (y0 - top).tolist(), (y1 - top).tolist(), strict=True
    )
    return [index for index, x_0, x_1, y_0, y_1 in spans if not ink[y_0:y_1, x_0:x_1].any()]


def _flat_cause(obj: Any, page: Any, box: tuple[float, float, float, float]) -> str:
    """Why a character shows no ink: "same-colour" when its fill is the grey of what is under it
    (white on white, black under a black box), else "covered" (covered, clipped, layer off)."""
    fill = _fill_grey(obj)
    under = _grey_under(page, box)
    return "same-colour" if fill is not None and under is not None and abs(fill - under) < SAME_COLOUR else "covered"


def _grey_under(page: Any, box: tuple[float, float, float, float]) -> float | None:
    """The mean grey level of a small render of the page clipped to `box` (page space), or None
    when there is nothing to measure. The crop is whole points taken off each side, rounded down,
    so the render keeps at least the box: pypdfium2 rounds each side's crop up, and a glyph
    squeezed under a point wide (`2 Tz`) left a bitmap 0 pixels wide, its ValueError ("Crop
    exceeds page dimensions") the end of the page's text layer and every other page's."""
    left, bottom, right, top = box
    if right <= left or top <= bottom:
        return None
    page_left, page_bottom, page_right, page_top = page.get_bbox()
    crop = (left - page_left, bottom - page_bottom, page_right - right, page_top - top)
    if min(crop) < 0 or page.get_rotation():
        return None
    try:
        bitmap = page.render(scale=1, crop=tuple(math.floor(side) for side in crop), grayscale=True,
                             may_draw_forms=True)  # fmt: skip
    except ValueError:  # a page whose box pdfium and pypdfium2 size apart: one character unmeasured
        return None
    pixels = bitmap.to_numpy()
    return float(pixels.mean()) if pixels.size else None


def _flat(pixels: Any, x0: Any, x1: Any, y0: Any, y1: Any) -> Any:
    """Which boxes [y0, y1) x [x0, x1) of `pixels` (height, width, channels) hold no ink: no column
    of the box where a colour channel spreads by more than INK_STEP (red on a dark red of the same
    grey is ink). The characters of a line share their rows, so each distinct row
    band is reduced once (a column's range), and a running count of inked columns answers every
    box in the band: a few microseconds a line, not a summed-area table of the page."""
    import numpy as np

    flat = np.ones(len(x0), dtype=bool)
    bands: dict[tuple[int, int], list[int]] = {}
    for i, band in enumerate(zip(y0.tolist(), y1.tolist(), strict=True)):
        bands.setdefault(band, []).append(i)
    for (top, bottom), members in bands.items():
        if bottom <= top:
            continue
        rows = pixels[top:bottom]
        inked = ((rows.max(axis=0) - rows.min(axis=0)) > INK_STEP).any(axis=1)
        running = np.concatenate(([0], np.cumsum(inked)))
        chosen = np.array(members)
        flat[chosen] = running[x1[chosen]] - running[x0[chosen]] == 0
    return flat


def _under_images(content: PageContent, boxes: Any) -> Any:
    """Which characters have their box's centre under an opaque image (whether the image is drawn
    after them is asked of the few found: _drawn_before)."""
    import numpy as np

    covered = np.zeros(len(boxes), dtype=bool)
    centre_x, centre_y = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    for image in content.images:
        if image.opaque and image.bounds is not None:
            left, bottom, right, top = image.bounds
            covered |= (centre_x >= left) & (centre_x <= right) & (centre_y >= bottom) & (centre_y <= top)
    return covered


def _drawn_before(content: PageContent, obj: Any, box: tuple[float, float, float, float]) -> bool:
    """Whether a text object (at the page's top level) is drawn before an opaque image that
    covers the centre of `box`: that image hides it, whatever it shows there."""
    order = content.text_modes.get(address_of(obj), (-1, 0))[0]
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return order >= 0 and any(
        image.opaque
        and image.bounds is not None
        and image.order > order
        and image.bounds[0] <= centre_x <= image.bounds[2]
        and image.bounds[1] <= centre_y <= image.bounds[3]
        for image in content.images
    )


def _to_device(page: Any, width: int, height: int, x: float, y: float) -> tuple[int, int]:
    import pypdfium2.raw as pdfium_c

    dx, dy = ctypes.c_int(), ctypes.c_int()
    pdfium_c.FPDF_PageToDevice(page.raw, 0, 0, width, height, 0, x, y, dx, dy)
    return dx.value, dy.value


def _transparent(obj: Any) -> bool:
    """Whether a text object's fill is fully transparent (alpha 0): drawn, but invisibly."""
    import pypdfium2.raw as pdfium_c

    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    return bool(pdfium_c.FPDFPageObj_GetFillColor(obj, r, g, b, a)) and a.value == 0


def _fill_grey(obj: Any) -> float | None:
    """A text object's fill colour as a grey level (0..255, Rec. 601 luma), or None."""
    import pypdfium2.raw as pdfium_c

    r, g, b, a = (ctypes.c_uint() for _ in range(4))
    if not pdfium_c.FPDFPageObj_GetFillColor(obj, r, g, b, a):
        return None
    return 0.299 * r.value + 0.587 * g.value + 0.114 * b.value


def visible_text(textpage: Any, hidden: frozenset[int]) -> str:
    """The page's text with the `hidden` characters left out: the runs of characters between
    them, as pdfium gives them (its line breaks and spaces kept), blank lines and runs of spaces
    a removal leaves behind tidied away."""
    import re

    count = textpage.count_chars()
    parts: list[str] = []
    start = 0
    for index in [*sorted(hidden), count]:
        if index > start:
            parts.append(textpage.get_text_range(start, index - start))
        start = index + 1
    text = "".join(parts).replace("\r\n", "\n").replace("\r", "\n")
    lines = (re.sub(r"[ \t]{2,}", " ", line).strip(" ") for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
