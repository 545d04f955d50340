"""Images for the wire: resized to the visual-token budget, then PNG or JPEG, whichever is
smaller (benchmarks/image_encoding.py measured the choice: rendered text pages have few colours
and are smallest as PNG, scans and photos as JPEG; JPEG at quality 90 keeps text edges intact)."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING

from ..vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, smart_resize

if TYPE_CHECKING:
    from PIL.Image import Image

JPEG_QUALITY = 90


def fit_budget(image: Image, min_pixels: int | None, max_pixels: int | None) -> Image:
    """The image at the size the model's processor would resize it to anyway, so no bytes are
    sent that the server would throw away."""
    from PIL import Image as PILImage

    height, width = smart_resize(
        image.height,
        image.width,
        min_pixels=min_pixels or DEFAULT_MIN_PIXELS,
        max_pixels=max_pixels or DEFAULT_MAX_PIXELS,
    )
    if (width, height) == image.size:
        return image
    return image.resize((width, height), PILImage.Resampling.BICUBIC)


# A rendered page: its 256 most frequent colours cover this share of its pixels. pdfium draws
# form-field text with a few hundred tinted edge pixels (0.2% of a page) that poppler does not;
# counted strictly, the same black-on-white form went as JPEG through one and PNG through the
# other. Scans and photos have thousands of colours (sensor noise) and stay JPEG.
RENDERED_SHARE = 0.995


def encode(image: Image) -> tuple[str, bytes]:
    """(MIME type, bytes): PNG when the image has few colours (rendered text: RENDERED_SHARE of
    its pixels in 256 colours, at most 4096 in all), else JPEG q90."""
    rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=4096)
    common = sum(sorted((count for count, _ in colours), reverse=True)[:256]) if colours else 0
    few_colours = common >= RENDERED_SHARE * rgb.width * rgb.height
    buffer = io.BytesIO()
    if few_colours:
        rgb.save(buffer, format="PNG", optimize=False)
        return "image/png", buffer.getvalue()
    rgb.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "image/jpeg", buffer.getvalue()


def data_url(image: Image, min_pixels: int | None = None, max_pixels: int | None = None) -> str:
    mime, data = encode(fit_budget(image, min_pixels, max_pixels))
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
