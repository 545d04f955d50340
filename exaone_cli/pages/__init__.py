"""Pages as images: PDFs rasterized (pypdfium2 or poppler), image files frame by frame, page ranges.
May import inputs and errors only; everything that turns pages into text sits above it.

The pipeline opens a Document, asks `page_size` to plan (no pixels are made), then `render`s one
page at a time, so a 500-page PDF never sits in memory and a bad page is one error, not the run's end.

Modules: document (Page, Document, RasterOptions), ranges (--pages), pdfium, poppler, images
(Pillow), pixels (RGB, EXIF orientation), hwp (HWP and HWPX documents rendered to PDF by rhwp).
Threads: every pypdfium2 call holds pdfium.PDFIUM_LOCK; poppler runs as subprocesses and image files
go through Pillow; neither needs the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..inputs import Source, open_source
from .document import (
    DEFAULT_DPI,
    DEFAULT_MAX_PAGE_PIXELS,
    DEFAULT_RASTERIZER,
    MAX_DPI,
    MIN_DPI,
    RASTERIZERS,
    Document,
    Page,
    PageSize,
    Rasterizer,
    RasterOptions,
    fit_dpi,
)
from .hwp import NoPages, as_pdf
from .images import ImageDocument
from .pdfium import PdfiumDocument
from .pixels import to_rgb
from .poppler import PopplerDocument
from .ranges import PageRanges, parse_page_ranges

__all__ = [
    "DEFAULT_DPI", "DEFAULT_MAX_PAGE_PIXELS", "DEFAULT_RASTERIZER", "MAX_DPI", "MIN_DPI", "RASTERIZERS", "Document",
    "ImageDocument", "NoPages", "Page", "PageRanges", "PageSize", "PdfiumDocument", "PopplerDocument", "RasterOptions",
    "Rasterizer", "as_pdf", "fit_dpi", "load_pages", "open_document", "open_input", "parse_page_ranges", "to_rgb",
]  # fmt: skip


def open_input(name: str, on_status: Callable[[str], None] | None = None) -> Source:
    """open_source, with an HWP or HWPX document rendered to a PDF source (hwp.py): what the
    commands read pages from; `on_status` hears when a rendering starts (seconds a page).
    Raises InputError (the file) or EngineError (rhwp missing)."""
    return as_pdf(open_source(name), on_status)


def open_document(source: Source, raster: RasterOptions | None = None) -> Document:
    """The Document for a sniffed source: PDFs through the chosen rasterizer, anything else through
    Pillow (which also reads formats the magic table does not know)."""
    raster = raster or RasterOptions()
    if source.kind == "pdf":
        return PdfiumDocument(source, raster) if raster.rasterizer == "pdfium" else PopplerDocument(source, raster)
    return ImageDocument(source, raster)


def load_pages(source: Source, ranges: PageRanges | None = None, raster: RasterOptions | None = None) -> Iterator[Page]:
    """The selected pages of one input, in order; the first bad page ends it with InputError.
    Callers that want per-page errors use open_document and render themselves."""
    with open_document(source, raster) as document:
        for number in (ranges or PageRanges.all()).select(document.page_count):
            yield document.render(number)
