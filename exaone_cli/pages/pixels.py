"""Any Pillow image as the upright RGB page the model sees."""

from __future__ import annotations

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
    """RGB the way the page looks: alpha laid on white (documents are on paper), palettes and CMYK
    through Pillow's rules, 16-bit grey scaled down (Pillow's own conversion clips it to white)."""
    from PIL import Image as PILImage

    if image.mode == "RGB":
        return image
    if image.mode.startswith("I"):  # I;16, I;16B, I;16L, I: 16-bit grey (PNG, TIFF)
        image = image.convert("I").point(lambda v: v / 257).convert("L")
    if image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        page = PILImage.new("RGB", rgba.size, "white")
        page.paste(rgba, mask=rgba.getchannel("A"))
        return page
    try:
        return image.convert("RGB")
    except ValueError as exc:
        raise InputError(f"{what}: unsupported colour mode {image.mode}", hint="convert the image to RGB") from exc
