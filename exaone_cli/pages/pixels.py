"""Any Pillow image as the upright RGB page the model sees."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ..errors import InputError

if TYPE_CHECKING:
    from PIL.Image import Image


def upright(image: Image, orientation: int) -> Image:
    """Turn/flip as EXIF orientation says, the way a photo viewer shows it (ImageOps.exif_transpose's
    table, without its extra copy)."""
    from PIL import Image as PILImage

    method = {
        2: PILImage.Transpose.FLIP_LEFT_RIGHT,
        3: PILImage.Transpose.ROTATE_180,
        4: PILImage.Transpose.FLIP_TOP_BOTTOM,
        5: PILImage.Transpose.TRANSPOSE,
        6: PILImage.Transpose.ROTATE_270,
        7: PILImage.Transpose.TRANSVERSE,
        8: PILImage.Transpose.ROTATE_90,
    }.get(orientation)
    return image.transpose(method) if method is not None else image


def to_rgb(image: Image) -> Image:
    """EXIF-upright RGB of any Pillow image (for callers holding images, not files)."""
    try:
        orientation = int(image.getexif().get(0x0112, 1))
    except (OSError, ValueError, SyntaxError, TypeError):
        orientation = 1
    return rgb(upright(image, orientation))


def rgb(image: Image, what: str = "the image") -> Image:
    """`page_rgb` without its note."""
    return page_rgb(image, what)[0]


# Pillow's single-channel modes wider than 8 bits: 16-bit grey in either byte order, 32-bit int, float.
_WIDE = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")
# The usual ranges of grey values, narrowest first: float 0..1, 8-bit, 16-bit.
_USUAL_RANGES = ((0.0, 1.0), (0.0, 255.0), (0.0, 65535.0))
# Grey levels (of 255) a page must span to show anything: less, and it reads as blank.
NEARLY_BLANK = 24
READABLE = 64  # a lighter background than this much contrast is worth trading for a dark one


def page_rgb(image: Image, what: str = "the image") -> tuple[Image, str | None]:
    """RGB the way the page looks, and a note when making it took a choice the user should know.

    Alpha is laid on white (documents are on paper), unless the content is light and would
    vanish there: then on black, with a note. Palettes, CMYK, LAB, HSV and YCbCr go through
    Pillow's conversions. Grey wider than 8 bits is mapped by its data range: the narrowest of
    0..1 (float), 0..255 and 0..65535 that holds the values, or the values' own minimum..maximum
    (with a note); a page that mapping leaves nearly blank is contrast-stretched to its values
    (with a note), as 12-bit scans in 16-bit files would otherwise be. InputError for values
    that are not finite numbers and for modes Pillow cannot convert.
    """
    if image.mode == "RGB":
        return image, None
    note = None
    if image.mode in _WIDE or image.mode.startswith("I;"):
        image, note = _grey(image, what)
    if image.mode in _ALPHA or "transparency" in image.info:
        flat, why = _flatten(image)
        return flat, "; ".join(n for n in (note, why) if n) or None
    try:
        return image.convert("RGB"), note
    except ValueError as exc:
        raise InputError(f"{what}: unsupported colour mode {image.mode}", hint="convert the image to RGB") from exc


def _grey(image: Image, what: str) -> tuple[Image, str | None]:
    """A wide grey image as 8-bit grey ("L"), by its data range (see `page_rgb`)."""
    values = image if image.mode in ("I", "F") else image.convert("I")
    low, high = _extrema(values)
    if not (math.isfinite(low) and math.isfinite(high)) or (values.mode == "F" and _has_nan(values)):
        raise InputError(
            f"{what}: its pixel values include NaN or infinity ({image.mode} image)",
            hint="save it with finite values, or as an 8- or 16-bit image",
        )
    usual = next(((a, b) for a, b in _USUAL_RANGES if a <= low and high <= b and (values.mode == "F" or b > 1)), None)
    grey = _scaled(values, *(usual or (low, high)))
    if usual is None:
        return grey, f"grey values {low:g}..{high:g} mapped to black..white"
    if high > low and _spread(grey) < NEARLY_BLANK:
        note = f"contrast stretched: its grey values {low:g}..{high:g} use a sliver of {usual[0]:g}..{usual[1]:g}"
        return _scaled(values, low, high), note
    return grey, None


def _has_nan(values: Image) -> bool:
    """Whether a float image holds NaN (getextrema skips NaN: no comparison with it is true)."""
    from PIL import ImageMath

    unequal = ImageMath.lambda_eval(lambda args: args["image"] != args["image"], image=values)
    return bool(_extrema(unequal)[1])


def _scaled(values: Image, low: float, high: float) -> Image:
    """`values` (mode I or F) with `low` as black and `high` as white, in mode L."""
    scale = 255 / (high - low) if high > low else 0.0
    return values.point(lambda v: v * scale + (0.5 - low * scale)).convert("L")


def _extrema(image: Image) -> tuple[float, float]:
    """The smallest and largest value of a one-channel image."""
    low, high = image.getextrema()
    return float(low), float(high)  # type: ignore[arg-type]


def _spread(image: Image) -> float:
    low, high = _extrema(image.convert("L"))
    return high - low


def _flatten(image: Image) -> tuple[Image, str | None]:
    """Alpha laid on white, or on black when only that shows the content (see `page_rgb`)."""
    from PIL import Image as PILImage

    rgba = (image.convert("LA") if image.mode == "La" else image).convert("RGBA")
    alpha = rgba.getchannel("A")
    on_white = PILImage.new("RGB", rgba.size, "white")
    on_white.paste(rgba, mask=alpha)
    white = _spread(on_white)
    if white >= READABLE:
        return on_white, None
    on_black = PILImage.new("RGB", rgba.size, "black")
    on_black.paste(rgba, mask=alpha)
    if _spread(on_black) > max(2 * white, NEARLY_BLANK):
        return on_black, "transparent image with light content: laid on black, as on white it would be (nearly) blank"
    return on_white, None
