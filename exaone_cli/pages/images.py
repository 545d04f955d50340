"""Image files through Pillow: every page of a multi-page format a page, EXIF orientation applied,
bombs refused."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import InputError
from ..inputs import Source
from .document import Document, Page, PageSize, RasterOptions
from .pixels import page_rgb, upright

if TYPE_CHECKING:
    from PIL.Image import Image


# Formats whose frames are pages a person sees one after another: TIFF pages, animated GIF, WebP
# and PNG (APNG) frames. Other formats with "frames" are one picture: an MPO phone JPEG carries a
# second, preview image in its MPF segment (Pillow counts it as a frame, and a stale MPF index
# makes it an error); a PSD's frames are its layers, frame 0 the composite.
MULTI_PAGE_FORMATS = frozenset({"TIFF", "GIF", "WEBP", "PNG"})


class ImageDocument(Document):
    """An image file through Pillow: every page of a multi-page format (MULTI_PAGE_FORMATS) is a
    page; any other image is one page, whatever frames it holds.

    Sizes come from the header, and anything over `max_page_pixels` is refused before a pixel is
    decoded: a few-KiB PNG can declare 40000 x 40000 pixels (a decompression bomb)."""

    def __init__(self, source: Source, raster: RasterOptions) -> None:
        super().__init__(source, raster)
        self._file: BinaryIO = Path(source.path).open("rb")  # noqa: SIM115 (held until close())
        try:
            self._image = self._open()
            try:  # Pillow walks every frame here: a damaged later frame raises what it likes
                multi = self._image.format in MULTI_PAGE_FORMATS
                self._count = int(getattr(self._image, "n_frames", 1)) if multi else 1
            except (OSError, ValueError, TypeError, IndexError, EOFError, SyntaxError) as exc:
                raise InputError(f"{source.display}: unreadable image ({exc})", hint=None) from exc
            self._check_pixels(self._image.size, 1)
        except BaseException:
            self.close()
            raise

    def _open(self) -> Image:
        """Pillow's open (headers only), its failures as InputErrors."""
        from PIL import Image as PILImage

        name = self.source.display
        try:
            # Pillow's own bomb check only warns below 2x its limit; make that an error too. (The
            # filter is process-wide while it lasts: Python 3.11 has no per-thread warning filters.)
            cap = self.raster.max_page_pixels
            if PILImage.MAX_IMAGE_PIXELS is not None and cap > PILImage.MAX_IMAGE_PIXELS:
                PILImage.MAX_IMAGE_PIXELS = cap  # a cap raised past Pillow's own: ours is the check (_check_pixels)
            with warnings.catch_warnings():
                warnings.simplefilter("error", PILImage.DecompressionBombWarning)
                return PILImage.open(self._file)
        except PILImage.UnidentifiedImageError:
            hint = "pass a PDF, HWP, HWPX, PNG, JPEG, TIFF, GIF, BMP or WEBP file"
            raise InputError(f"{name}: not an image or PDF exaone can read", hint=hint) from None
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
            pixels = re.search(r"\((\d+) pixels\)", str(exc))
            raise _bomb(name, int(pixels[1]) if pixels else None, self.raster.max_page_pixels) from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InputError(f"{name}: unreadable image ({exc})", hint="the file may be truncated or damaged") from None

    @property
    def page_count(self) -> int:
        return self._count

    def page_size(self, number: int) -> PageSize:
        self._seek(number)
        width, height = self._image.size
        if self._orientation() in (5, 6, 7, 8):  # EXIF quarter turns swap the sides
            width, height = height, width
        return PageSize(width, height, None, None)

    def render(self, number: int) -> Page:
        self._seek(number)
        orientation = self._orientation()
        what = f"{self.source.display}: page {number}" if self._count > 1 else self.source.display
        try:
            frame = self._image.copy()  # decodes this frame only
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InputError(f"{what}: unreadable image ({exc})", hint="the file may be truncated or damaged") from None
        image, note = page_rgb(upright(frame, orientation), what)
        return Page(self.source.display, number, image, note=note)

    def close(self) -> None:
        if hasattr(self, "_image"):
            self._image.close()
        if hasattr(self, "_file"):
            self._file.close()

    def _seek(self, number: int) -> None:
        self._check(number)
        try:
            self._image.seek(number - 1)
        except (OSError, ValueError, EOFError) as exc:
            raise InputError(f"{self.source.display}: page {number}: unreadable frame ({exc})") from None
        self._check_pixels(self._image.size, number)

    def _check_pixels(self, size: tuple[int, int], number: int) -> None:
        if size[0] * size[1] > self.raster.max_page_pixels:
            name = self.source.display if self._count == 1 else f"{self.source.display}: page {number}"
            raise _bomb(name, size[0] * size[1], self.raster.max_page_pixels)

    def _orientation(self) -> int:
        try:
            return int(self._image.getexif().get(0x0112, 1))
        except (OSError, ValueError, SyntaxError, TypeError):
            return 1  # a damaged EXIF block should not cost the page


def _bomb(name: str, pixels: int | None, cap: int) -> InputError:
    size = f"{pixels:,} pixels" if pixels else "more pixels than Pillow allows"
    return InputError(
        f"{name}: too large: {size}; refusing (possible decompression bomb)",
        hint=f"the cap is {cap:,} pixels a page; raise it with --max-page-pixels (or EXAONE_MAX_PAGE_PIXELS) "
        "only for files you trust",
    )
