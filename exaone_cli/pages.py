"""Pages as images: image files (every frame, EXIF orientation applied, converted to RGB)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InputError
from .inputs import Source

if TYPE_CHECKING:
    from PIL.Image import Image


@dataclass(frozen=True)
class Page:
    """One page of one input, 1-based, ready for the model."""

    source: str
    number: int
    image: Image

    @property
    def width(self) -> int:
        return int(self.image.width)

    @property
    def height(self) -> int:
        return int(self.image.height)


def to_rgb(image: Image) -> Image:
    """EXIF-upright RGB. Alpha is laid on white (documents are on paper), palettes, CMYK and
    16-bit modes are converted through Pillow's own rules."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda v: v / 256).convert("L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = PILImage.new("RGB", image.size, "white")
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def image_pages(source: Source) -> Iterator[Page]:
    """Every frame of an image file as a page (multi-page TIFF, animated GIF)."""
    from PIL import Image as PILImage
    from PIL import ImageSequence, UnidentifiedImageError

    try:
        with PILImage.open(source.path) as image:
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                yield Page(source=source.name, number=number, image=to_rgb(frame.copy()))
    except UnidentifiedImageError as exc:
        raise InputError(f"{source.name}: not an image Pillow can read", hint="pass a PNG, JPEG, TIFF, ...") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"{source.name}: unreadable image ({exc})", hint="the file may be truncated") from exc


def load_pages(source: Source) -> Iterator[Page]:
    """The pages of one input, in order."""
    if source.kind == "pdf":
        raise InputError(f"{source.name}: PDF input is not supported yet", hint="convert the pages to PNG")
    yield from image_pages(source)
