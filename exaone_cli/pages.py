"""Pages as images: PDFs rasterized (pypdfium2 or poppler), image files frame by frame, page ranges.

The pipeline opens a Document, asks `page_size` to plan (no pixels are made), then `render`s one
page at a time, so a 500-page PDF never sits in memory and a bad page is one error, not the run's end.

Threads: PDFium is not thread-safe. Every pypdfium2 call in this module holds `_PDFIUM_LOCK`, so a
document may be opened on one thread and rendered on another, but only one thread at a time uses
PDFium, and nothing else in the process may call pypdfium2 without that lock. Poppler runs as
subprocesses and image files go through Pillow; neither needs the lock.
"""

from __future__ import annotations

import math
import re
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, NamedTuple

from .errors import InputError, UsageError
from .inputs import Source

if TYPE_CHECKING:
    from PIL.Image import Image

Rasterizer = Literal["pdfium", "poppler"]
RASTERIZERS: tuple[Rasterizer, ...] = ("pdfium", "poppler")
# benchmarks/rasterize.py --pages 12 --repeat 3, A4 at 200 DPI, 2-core x86-64 container, side by side:
# text PDF pdfium 31.8 pages/s vs poppler 14.2 (2.2x); scanned PDF pdfium 19.0 vs poppler 4.7 (4.1x).
# Poppler's price includes pdf2image's two extra launches per page (pdfinfo, pdftoppm -v: ~14 ms).
DEFAULT_RASTERIZER: Rasterizer = "pdfium"
DEFAULT_DPI = 200
MIN_DPI, MAX_DPI = 10, 1200
DEFAULT_MAX_PAGE_PIXELS = 50_000_000
_POPPLER_TIMEOUT_S = 300
_PDFIUM_LOCK = threading.RLock()
_PASSWORD_HINT = "pass the document's password with --password"
_WRONG_PASSWORD_HINT = "check the password given with --password"


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
class PageRanges:
    """Which pages to take, as 1-based inclusive spans; `last=None` runs to the document's end."""

    spans: tuple[tuple[int, int | None], ...]

    @classmethod
    def all(cls) -> PageRanges:
        return cls(((1, None),))

    def select(self, count: int) -> list[int]:
        """The selected page numbers that exist in a `count`-page document, ascending, once each."""
        chosen: set[int] = set()
        for first, last in self.spans:
            chosen.update(range(first, min(count, last if last is not None else count) + 1))
        return sorted(chosen)

    def __str__(self) -> str:
        return ",".join(str(a) if a == b else f"{a}-{'' if b is None else b}" for a, b in self.spans)


_RANGE_HINT = "pages count from 1: e.g. 1-3,7,10- (10- means page 10 to the end)"
_RANGE_PART = re.compile(r"([0-9]+)\s*(?:(-)\s*([0-9]+)?)?")


def parse_page_ranges(spec: str | None) -> PageRanges:
    """`1-3,7,10-` as PageRanges; None means every page. Raises UsageError with a hint on junk."""
    if spec is None:
        return PageRanges.all()
    text = spec.replace("\u2013", "-").replace("\u2014", "-")  # en/em dashes pasted from documents
    if not text.strip():
        raise UsageError("page range is empty", hint=_RANGE_HINT)
    spans: list[tuple[int, int | None]] = []
    for part in (p.strip() for p in text.split(",")):
        match = _RANGE_PART.fullmatch(part)
        if not part:
            raise UsageError(f"page range {spec!r}: empty part (a stray comma?)", hint=_RANGE_HINT)
        if match is None:
            raise UsageError(f"page range {spec!r}: {part!r} is not a page number or range", hint=_RANGE_HINT)
        first = int(match[1])
        last = None if match[2] and not match[3] else int(match[3] or first)
        if first == 0 or last == 0:
            raise UsageError(f"page range {spec!r}: there is no page 0", hint=_RANGE_HINT)
        if last is not None and last < first:
            raise UsageError(f"page range {spec!r}: {part!r} runs backwards", hint=f"write {last}-{first}")
        spans.append((first, last))
    return PageRanges(tuple(spans))


@dataclass(frozen=True)
class RasterOptions:
    """How PDFs become pixels. `max_page_pixels` also caps image files (decompression bombs)."""

    rasterizer: Rasterizer = DEFAULT_RASTERIZER
    dpi: int = DEFAULT_DPI
    password: str | None = None
    max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS

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


class PdfiumDocument(Document):
    """A PDF through pypdfium2 (PDFium, in-process): the default rasterizer."""

    def __init__(self, source: Source, raster: RasterOptions) -> None:
        import pypdfium2 as pdfium
        import pypdfium2.raw as codes

        super().__init__(source, raster)
        password = raster.password or None
        with _PDFIUM_LOCK:
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

        with _PDFIUM_LOCK:
            try:
                width_pt, height_pt = self._pdf.get_page_size(number - 1)  # already turned by /Rotate
            except pdfium.PdfiumError:
                raise InputError(f"{self._what(number)}: PDFium cannot load this page (damaged)") from None
        return fit_dpi(width_pt, height_pt, self.raster.dpi, self.raster.max_page_pixels, what=self._what(number))

    def render(self, number: int) -> Page:
        import pypdfium2 as pdfium

        size = self.page_size(number)
        assert size.dpi is not None
        with _PDFIUM_LOCK:
            try:
                page = self._pdf[number - 1]
            except pdfium.PdfiumError:
                raise InputError(f"{self._what(number)}: PDFium cannot load this page (damaged)") from None
            try:
                image = page.render(scale=size.dpi / 72).to_pil()
            finally:
                page.close()
        return Page(self.source.display, number, _rgb(image), dpi=size.dpi, note=size.note)

    def close(self) -> None:
        with _PDFIUM_LOCK:
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
        return InputError(f"{name}: wrong password", hint=_WRONG_PASSWORD_HINT)
    if code == codes.FPDF_ERR_PASSWORD:
        return InputError(f"{name}: encrypted PDF (password required)", hint=_PASSWORD_HINT)
    if code == codes.FPDF_ERR_SECURITY:
        return InputError(f"{name}: unsupported PDF encryption", hint="try --rasterizer poppler")
    if code == codes.FPDF_ERR_FORMAT:
        return InputError(f"{name}: damaged or truncated PDF", hint="try --rasterizer poppler, or repair it (qpdf)")
    if code == codes.FPDF_ERR_FILE:
        return InputError(f"{name}: the PDF cannot be read", hint="check that the file is complete and readable")
    return InputError(
        f"{name}: PDFium cannot open this PDF (no pages, or a damaged page tree)", hint="try --rasterizer poppler"
    )


class PopplerDocument(Document):
    """A PDF through poppler (pdfinfo + pdftoppm subprocesses via pdf2image), one page per call.

    Page count and sizes come from one `pdfinfo` run, not from PDFium: users reach for poppler when
    PDFium fails on a file, so this path must not depend on PDFium parsing it."""

    def __init__(self, source: Source, raster: RasterOptions) -> None:
        super().__init__(source, raster)
        self._password = raster.password or None
        try:
            info = self._pdfinfo(self._password)
        except _PasswordRefused:
            if self._password is None:
                raise
            try:  # a password meant for other files must not lock out one that needs none (owner-only)
                info = self._pdfinfo(None)
            except _PasswordRefused:
                raise InputError(f"{source.display}: wrong password", hint=_WRONG_PASSWORD_HINT) from None
            self._password = None
        self._count = int(info["Pages"])
        if self._count == 0:
            raise InputError(f"{source.display}: the PDF has no pages")
        self._boxes: dict[int, tuple[float, float]] = {}
        rotations = {int(m[1]): int(v) for k, v in info.items() if (m := re.fullmatch(r"Page\s+(\d+) rot", k))}
        for key, value in info.items():
            if (m := re.fullmatch(r"Page\s+(\d+) size", key)) and (v := re.match(r"([\d.]+) x ([\d.]+)", value)):
                width, height = float(v[1]), float(v[2])
                turned = rotations.get(int(m[1]), 0) % 180 == 90
                self._boxes[int(m[1])] = (height, width) if turned else (width, height)

    def _pdfinfo(self, password: str | None) -> dict[str, Any]:
        from pdf2image import pdfinfo_from_path
        from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFPopplerTimeoutError

        name = self.source.display
        try:
            # pdfinfo clamps -l to the page count: one run lists every page's size and rotation.
            passwords: dict[str, Any] = {"userpw": password, "ownerpw": password}
            info = pdfinfo_from_path(
                str(self.source.path), first_page=1, last_page=10**9, timeout=_POPPLER_TIMEOUT_S, **passwords
            )
            return dict(info)
        except PDFInfoNotInstalledError:
            raise _poppler_missing() from None
        except PDFPopplerTimeoutError:
            raise InputError(f"{name}: poppler's pdfinfo timed out", hint="try --rasterizer pdfium") from None
        except PDFPageCountError as exc:
            stderr = str(exc)
        if "Incorrect password" in stderr:
            raise _PasswordRefused(f"{name}: encrypted PDF (password required)", hint=_PASSWORD_HINT)
        if "page count 0" in stderr or "Wrong page range" in stderr:
            raise InputError(f"{name}: the PDF has no pages")
        errors = [line for line in stderr.splitlines() if "Error" in line]
        why = f" ({errors[-1].strip()})" if errors else ""
        raise InputError(f"{name}: damaged or truncated PDF{why}", hint="try --rasterizer pdfium, or repair it (qpdf)")

    @property
    def page_count(self) -> int:
        return self._count

    def page_size(self, number: int) -> PageSize:
        self._check(number)
        if number not in self._boxes:
            raise InputError(f"{self.source.display}: page {number}: pdfinfo reported no size for it")
        width_pt, height_pt = self._boxes[number]
        what = f"{self.source.display}: page {number}"
        return fit_dpi(width_pt, height_pt, self.raster.dpi, self.raster.max_page_pixels, what=what)

    def render(self, number: int) -> Page:
        from pdf2image import convert_from_path
        from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFPopplerTimeoutError

        size = self.page_size(number)
        what = f"{self.source.display}: page {number}"
        try:
            # One page per call; the crop box, as PDFium and pdfinfo use.
            options: dict[str, Any] = {"dpi": size.dpi, "userpw": self._password, "ownerpw": self._password}
            images = convert_from_path(
                str(self.source.path),
                first_page=number,
                last_page=number,
                use_cropbox=True,
                timeout=_POPPLER_TIMEOUT_S,
                **options,
            )
        except PDFInfoNotInstalledError:
            raise _poppler_missing() from None
        except PDFPopplerTimeoutError:
            raise InputError(f"{what}: pdftoppm timed out", hint="try --rasterizer pdfium or a lower --dpi") from None
        except PDFPageCountError:
            raise InputError(f"{what}: poppler can no longer read the file") from None
        if not images:
            raise InputError(f"{what}: poppler could not render this page", hint="try --rasterizer pdfium")
        return Page(self.source.display, number, _rgb(images[0]), dpi=size.dpi, note=size.note)


class _PasswordRefused(InputError):
    """Poppler refused the password (or its absence); the caller decides which message fits."""


def _poppler_missing() -> UsageError:
    return UsageError(
        "poppler is not installed (pdfinfo/pdftoppm not found)",
        hint="install poppler-utils, or use the pdfium rasterizer",
    )


class ImageDocument(Document):
    """An image file through Pillow: every frame (multi-page TIFF, animated GIF) is a page.

    Sizes come from the header, and anything over `max_page_pixels` is refused before a pixel is
    decoded: a few-KiB PNG can declare 40000 x 40000 pixels (a decompression bomb)."""

    def __init__(self, source: Source, raster: RasterOptions) -> None:
        super().__init__(source, raster)
        self._file: BinaryIO = Path(source.path).open("rb")  # noqa: SIM115 (held until close())
        try:
            self._image = self._open()
            try:  # Pillow walks every frame here: a damaged later frame raises what it likes
                self._count = int(getattr(self._image, "n_frames", 1))
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
            with warnings.catch_warnings():
                warnings.simplefilter("error", PILImage.DecompressionBombWarning)
                return PILImage.open(self._file)
        except PILImage.UnidentifiedImageError:
            hint = "pass a PDF, PNG, JPEG, TIFF, GIF, BMP or WEBP file"
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
        return Page(self.source.display, number, _rgb(_upright(frame, orientation), what))

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
        hint=f"the cap is {cap:,} pixels a page; raise it only for files you trust",
    )


def _upright(image: Image, orientation: int) -> Image:
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
    return _rgb(_upright(image, orientation))


def _rgb(image: Image, what: str = "the image") -> Image:
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
