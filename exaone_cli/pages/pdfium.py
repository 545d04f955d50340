"""PDFs through pypdfium2 (PDFium, in-process): the default rasterizer.

PDFium is not thread-safe. Every pypdfium2 call holds `PDFIUM_LOCK`, so a document may be opened
on one thread and rendered on another, but only one thread at a time uses PDFium, and nothing else
in the process may call pypdfium2 without that lock.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from ..errors import InputError, debug_enabled
from ..inputs import Source
from .analysis import scan_dpi
from .document import MIN_DPI, PASSWORD_HINT, WRONG_PASSWORD_HINT, Document, Page, PageSize, RasterOptions, fit_dpi
from .passwords import password_forms
from .pixels import rgb

PDFIUM_LOCK = threading.RLock()
XFA_NOTE = "an XFA form: this PDFium cannot draw its dynamic content, so the page may show only a placeholder"


class _QuietXfa(logging.Filter):
    """pypdfium2 logs, on every `init_forms()` of an XFA PDF, two lines that end in a pip command
    (rebuild pypdfium2 with V8): a library's advice to its developers, not to exaone's users, who
    get XFA_NOTE on the page instead. Shown under --debug / EXAONE_DEBUG=1."""

    def filter(self, record: logging.LogRecord) -> bool:
        return debug_enabled() or "XFA" not in record.getMessage()


logging.getLogger("pypdfium2._helpers.document").addFilter(_QuietXfa())


class PdfiumDocument(Document):
    """A PDF through pypdfium2 (PDFium, in-process): the default rasterizer."""

    def __init__(self, source: Source, raster: RasterOptions) -> None:
        super().__init__(source, raster)
        with PDFIUM_LOCK:
            self._pdf = open_pdf(source, raster.password)
            init_forms(self._pdf)  # before any page is loaded, as pypdfium2 requires
            self._xfa = is_xfa(self._pdf)
            self._count = len(self._pdf)
        if self._count == 0:
            self.close()
            raise InputError(f"{source.display}: the PDF has no pages")

    @property
    def page_count(self) -> int:
        return self._count

    def page_size(self, number: int) -> PageSize:
        self._check(number)
        with PDFIUM_LOCK:
            page = self._load(number)
            try:
                return self._size(page, number)
            finally:
                page.close()

    def page_label(self, number: int) -> str | None:
        self._check(number)
        with PDFIUM_LOCK:
            return pdf_page_label(self._pdf, number)

    def render(self, number: int) -> Page:
        self._check(number)
        with PDFIUM_LOCK:
            page = self._load(number)
            try:
                size = self._size(page, number)
                assert size.dpi is not None
                image = page.render(scale=size.dpi / 72).to_pil()
            finally:
                page.close()
        note = "; ".join(n for n in (size.note, XFA_NOTE if self._xfa else None) if n) or None
        return Page(self.source.display, number, rgb(image), dpi=size.dpi, note=note)

    def _load(self, number: int) -> Any:
        import pypdfium2 as pdfium

        try:
            return self._pdf[number - 1]
        except pdfium.PdfiumError:
            raise InputError(f"{self._what(number)}: PDFium cannot load this page (damaged)") from None

    def _size(self, page: Any, number: int) -> PageSize:
        """The page's pixel size at the DPI asked for, or at the scan's own pixel density when the
        page is one scanned image of lower density (no upsampling a 72-DPI scan to 200 DPI)."""
        width_pt, height_pt = page.get_size()  # already turned by /Rotate
        dpi = scan_capped_dpi(page, self.raster)
        return fit_dpi(width_pt, height_pt, dpi, self.raster.max_page_pixels, what=self._what(number))

    def close(self) -> None:
        with PDFIUM_LOCK:
            if hasattr(self, "_pdf"):
                self._pdf.close()

    def _what(self, number: int) -> str:
        return f"{self.source.display}: page {number}"


def open_pdf(source: Source, password: str | None) -> Any:
    """The pypdfium2 PdfDocument for a PDF source, or an InputError a user can act on (encrypted,
    wrong password, damaged). A password is tried in each form the standard allows (as given, NFC,
    SASLprep'd, Latin-1: pages/passwords.py), then none: owner-only PDFs refuse a needless
    password. Call with PDFIUM_LOCK held."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as codes

    raw, code = None, 0
    for form in password_forms(password or "") if password else []:
        raw, code = _pdfium_load(source.path, form)
        if raw is not None or code != codes.FPDF_ERR_PASSWORD:
            break
    if raw is None and (code == codes.FPDF_ERR_PASSWORD or not password):
        raw, none_code = _pdfium_load(source.path, None)
        code = code or none_code
    if raw is None:
        raise _pdfium_error(source.display, code, bool(password))
    return pdfium.PdfDocument(raw)


def pdf_page_label(pdf: Any, number: int) -> str | None:
    """Page `number`'s /PageLabels label (FPDF_GetPageLabel), None when the PDF has none or it is
    empty. The document's text: printable characters only, at most 40. Call with PDFIUM_LOCK held."""
    label = pdf.get_page_label(number - 1)
    if not isinstance(label, str):
        return None
    return "".join(c for c in label if c.isprintable())[:40].strip() or None


def scan_capped_dpi(page: Any, raster: RasterOptions) -> int:
    """`raster.dpi`, or the pixel density of the one scanned image that is the whole page when
    that is lower (rounded; `raster.scan_resolution` off: always `raster.dpi`)."""
    if not raster.scan_resolution:
        return raster.dpi
    density = scan_dpi(page)
    if density is None or round(density) >= raster.dpi:
        return raster.dpi
    return max(MIN_DPI, round(density))


def is_xfa(pdf: Any) -> bool:
    """True for a PDF whose form is XFA (full or foreground), which this PDFium build cannot run."""
    import pypdfium2.raw as pdfium_c

    return bool(pdf.get_formtype() in (pdfium_c.FORMTYPE_XFA_FULL, pdfium_c.FORMTYPE_XFA_FOREGROUND))


def init_forms(pdf: Any) -> None:
    """A form environment for every document, so pages look as a viewer shows them: filled-in
    fields and widget annotations are drawn (FPDF_FFLDraw after the page; `render` does it when
    the document has a form environment). pypdfium2's `init_forms` makes one only for documents
    with an /AcroForm, but a page copied out of its form keeps widgets with appearance streams and
    no /AcroForm: poppler draws them, and so does pdfium once an environment exists."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    if pdf.get_formtype() != pdfium_c.FORMTYPE_NONE:
        pdf.init_forms()
        return
    config = pdfium_c.FPDF_FORMFILLINFO(version=2)
    handle = pdfium_c.FPDFDOC_InitFormFillEnvironment(pdf, config)
    if handle:  # no environment: the page still renders, without its widgets
        pdf.formenv = pdfium.PdfFormEnv(handle, config)


def _pdfium_load(path: Path, password: bytes | None) -> tuple[Any, int]:
    """FPDF_LoadDocument itself: pypdfium2's wrapper reports a zero-page PDF with PDFium's last,
    stale error code (a previous file's "wrong password"), and only the raw call tells them apart."""
    import pypdfium2.raw as pdfium_c

    encoded = (str(path) + "\0").encode("utf-8", errors="surrogateescape")
    raw = pdfium_c.FPDF_LoadDocument(encoded, None if password is None else password + b"\0")
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
