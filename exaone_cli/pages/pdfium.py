"""PDFs through pypdfium2 (PDFium, in-process): the default rasterizer.

PDFium is not thread-safe. Every pypdfium2 call holds `PDFIUM_LOCK`, so a document may be opened
on one thread and rendered on another, but only one thread at a time uses PDFium, and nothing else
in the process may call pypdfium2 without that lock.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..inputs import Source
from .document import PASSWORD_HINT, WRONG_PASSWORD_HINT, Document, Page, PageSize, RasterOptions, fit_dpi
from .pixels import rgb

PDFIUM_LOCK = threading.RLock()


class PdfiumDocument(Document):
    """A PDF through pypdfium2 (PDFium, in-process): the default rasterizer."""

    def __init__(self, source: Source, raster: RasterOptions) -> None:
        import pypdfium2 as pdfium
        import pypdfium2.raw as codes

        super().__init__(source, raster)
        password = raster.password or None
        with PDFIUM_LOCK:
            raw, code = _pdfium_load(source.path, password)
            if raw is None and code == codes.FPDF_ERR_PASSWORD and password:
                raw, _ = _pdfium_load(source.path, None)  # owner-only PDFs refuse a needless password
            if raw is None:
                raise _pdfium_error(source.display, code, bool(password))
            self._pdf = pdfium.PdfDocument(raw)
            self._count = len(self._pdf)
            if self._count and self._pdf.get_formtype():  # filled-in form fields are part of the page
                self._pdf.init_forms()
        if self._count == 0:
            self.close()
            raise InputError(f"{source.display}: the PDF has no pages")

    @property
    def page_count(self) -> int:
        return self._count

    def page_size(self, number: int) -> PageSize:
        self._check(number)
        import pypdfium2 as pdfium

        with PDFIUM_LOCK:
            try:
                width_pt, height_pt = self._pdf.get_page_size(number - 1)  # already turned by /Rotate
            except pdfium.PdfiumError:
                raise InputError(f"{self._what(number)}: PDFium cannot load this page (damaged)") from None
        return fit_dpi(width_pt, height_pt, self.raster.dpi, self.raster.max_page_pixels, what=self._what(number))

    def render(self, number: int) -> Page:
        import pypdfium2 as pdfium

        size = self.page_size(number)
        assert size.dpi is not None
        with PDFIUM_LOCK:
            try:
                page = self._pdf[number - 1]
            except pdfium.PdfiumError:
                raise InputError(f"{self._what(number)}: PDFium cannot load this page (damaged)") from None
            try:
                image = page.render(scale=size.dpi / 72).to_pil()
            finally:
                page.close()
        return Page(self.source.display, number, rgb(image), dpi=size.dpi, note=size.note)

    def close(self) -> None:
        with PDFIUM_LOCK:
            if hasattr(self, "_pdf"):
                self._pdf.close()

    def _what(self, number: int) -> str:
        return f"{self.source.display}: page {number}"


def _pdfium_load(path: Path, password: str | None) -> tuple[Any, int]:
    """FPDF_LoadDocument itself: pypdfium2's wrapper reports a zero-page PDF with PDFium's last,
    stale error code (a previous file's "wrong password"), and only the raw call tells them apart."""
    import pypdfium2.raw as pdfium_c

    encoded = (str(path) + "\0").encode("utf-8", errors="surrogateescape")
    raw = pdfium_c.FPDF_LoadDocument(encoded, None if password is None else (password + "\0").encode("utf-8"))
    return (raw, 0) if raw else (None, int(pdfium_c.FPDF_GetLastError()))


def _pdfium_error(name: str, code: int, had_password: bool) -> InputError:
    """PDFium's load error codes as messages a user can act on."""
    import pypdfium2.raw as codes

    if code == codes.FPDF_ERR_PASSWORD and had_password:
        return InputError(f"{name}: wrong password", hint=WRONG_PASSWORD_HINT)
    if code == codes.FPDF_ERR_PASSWORD:
        return InputError(f"{name}: encrypted PDF (password required)", hint=PASSWORD_HINT)
    if code == codes.FPDF_ERR_SECURITY:
        return InputError(f"{name}: unsupported PDF encryption", hint="try --rasterizer poppler")
    if code == codes.FPDF_ERR_FORMAT:
        return InputError(f"{name}: damaged or truncated PDF", hint="try --rasterizer poppler, or repair it (qpdf)")
    if code == codes.FPDF_ERR_FILE:
        return InputError(f"{name}: the PDF cannot be read", hint="check that the file is complete and readable")
    return InputError(
        f"{name}: PDFium cannot open this PDF (no pages, or a damaged page tree)", hint="try --rasterizer poppler"
    )
