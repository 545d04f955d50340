"""What every input becomes: a Document that knows its pages' sizes up front and renders one
Page at a time, under RasterOptions."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Literal, NamedTuple

from ..errors import InputError, UsageError
from ..inputs import Source

if TYPE_CHECKING:
    from PIL.Image import Image

Rasterizer = Literal["pdfium", "poppler"]
RASTERIZERS: tuple[Rasterizer, ...] = ("pdfium", "poppler")
# benchmarks/rasterize.py --pages 12 --repeat 3, A4 at 200 DPI, 2-core x86-64 VM, side by side (2026-11-29):
# text PDF pdfium 41.7 pages/s vs poppler 16.8 (2.5x); scanned PDF pdfium 24.5 vs poppler 7.9 (3.1x).
# Poppler's price includes pdf2image's two extra launches per page (pdfinfo, pdftoppm -v: ~14 ms).
DEFAULT_RASTERIZER: Rasterizer = "pdfium"
DEFAULT_DPI = 200
MIN_DPI, MAX_DPI = 10, 1200
DEFAULT_MAX_PAGE_PIXELS = 50_000_000
PASSWORD_HINT = "pass the document's password with --password"
WRONG_PASSWORD_HINT = "check the password given with --password"


@dataclass(frozen=True)
class Page:
    """One page of one input, 1-based, as an RGB image ready for the model."""

    source: str
    number: int
    image: Image
    dpi: int | None = None  # None for image files: they have pixels, not a page size
    note: str | None = None  # what the user should know about how this page was made

    @property
    def width(self) -> int:
        return int(self.image.width)

    @property
    def height(self) -> int:
        return int(self.image.height)


class PageSize(NamedTuple):
    """A page's pixel size as `render` will make it, and the DPI and note that go with it."""

    width: int
    height: int
    dpi: int | None
    note: str | None


@dataclass(frozen=True)
class RasterOptions:
    """How PDFs become pixels. `max_page_pixels` also caps image files (decompression bombs).

    `scan_resolution`: a page that is one scanned image is rendered at no more than the image's
    own pixel density (a scan saved as a 72-DPI page is not upsampled to `dpi` only for the
    processor to shrink it again); off, every page is rendered at `dpi` (benchmarks compare)."""

    rasterizer: Rasterizer = DEFAULT_RASTERIZER
    dpi: int = DEFAULT_DPI
    password: str | None = None
    max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS
    scan_resolution: bool = True

    def __post_init__(self) -> None:
        if self.rasterizer not in RASTERIZERS:
            raise UsageError(f"unknown rasterizer {self.rasterizer!r}", hint="use pdfium or poppler")
        if not MIN_DPI <= self.dpi <= MAX_DPI:
            raise UsageError(f"DPI {self.dpi} is out of range", hint=f"use {MIN_DPI} to {MAX_DPI}; 200 suits OCR")
        if self.max_page_pixels < 1:
            raise UsageError("the page pixel cap must be positive", hint="the default is 50,000,000")


class Document(ABC):
    """An opened input: page count and sizes up front, pixels one page at a time. Close it (or use
    `with`) to release the file; a closed document cannot render."""

    def __init__(self, source: Source, raster: RasterOptions) -> None:
        self.source = source
        self.raster = raster

    @property
    @abstractmethod
    def page_count(self) -> int: ...

    @abstractmethod
    def page_size(self, number: int) -> PageSize:
        """The size `render(number)` will produce, without rendering."""

    def page_label(self, number: int) -> str | None:
        """The page's printed label (/PageLabels: "iii", "3-12", "A-1"), None when the file has
        none. Only a PDF has them; a viewer shows it in its page box instead of the index."""
        return None

    @abstractmethod
    def render(self, number: int) -> Page:
        """Page `number` (1-based) as RGB pixels; InputError if that page cannot be made."""

    def close(self) -> None:  # noqa: B027 (documents without resources need not override it)
        """Release the file; calling it twice is harmless."""

    def __enter__(self) -> Document:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _check(self, number: int) -> None:
        if not 1 <= number <= self.page_count:
            raise InputError(f"{self.source.display}: no page {number} (it has {self.page_count})")


def fit_dpi(width_pt: float, height_pt: float, dpi: int, max_pixels: int, *, what: str) -> PageSize:
    """The pixel size of a `width_pt` x `height_pt` page at `dpi`, or at the highest lower DPI whose
    render stays within `max_pixels` (with a note saying so). Sizes round up as both rasterizers do."""
    if not (width_pt > 0 and height_pt > 0):
        raise InputError(f"{what}: the page has no area ({width_pt:g} x {height_pt:g} pt)")

    def area(d: int) -> tuple[int, int]:
        return math.ceil(width_pt * (d / 72)), math.ceil(height_pt * (d / 72))

    width, height = area(dpi)
    if width * height <= max_pixels:
        return PageSize(width, height, dpi, None)
    fit = min(dpi - 1, math.floor(72 * math.sqrt(max_pixels / (width_pt * height_pt))))
    while fit >= 1 and math.prod(area(fit)) > max_pixels:
        fit -= 1
    if fit < 1:
        raise InputError(f"{what}: the page is too large to render under the {max_pixels:,}-pixel cap")
    note = f"rendered at {fit} DPI instead of {dpi}: the page would pass the {max_pixels:,}-pixel cap"
    return PageSize(*area(fit), fit, note)
