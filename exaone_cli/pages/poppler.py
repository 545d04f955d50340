"""PDFs through poppler: pdfinfo (via pdf2image) and pdftoppm subprocesses, one page per call."""

from __future__ import annotations

import io
import os
import re
import subprocess
from typing import Any

from ..errors import InputError, UsageError
from ..inputs import Source
from .document import PASSWORD_HINT, WRONG_PASSWORD_HINT, Document, Page, PageSize, RasterOptions, fit_dpi
from .passwords import password_forms
from .pixels import rgb

_POPPLER_TIMEOUT_S = 300  # pdfinfo: one run for the whole file
# pdftoppm, per page: a JBIG2 or Flate "content bomb" makes poppler allocate gigabytes and work for
# minutes on a page PDFium renders in seconds, so the child gets an address-space limit (the page
# itself at the pixel cap, 3 bytes a pixel, fits many times over) and a time limit; either ends
# that page with an error, not the run or the machine.
PAGE_TIMEOUT_S = 120
BASE_MEMORY_BYTES = 1 << 30
BYTES_PER_CAPPED_PIXEL = 16


class PopplerDocument(Document):
    """A PDF through poppler (pdfinfo + pdftoppm subprocesses), one page per call, each page's
    pdftoppm bounded in memory and time.

    Page count and sizes come from one `pdfinfo` run, not from PDFium: users reach for poppler when
    PDFium fails on a file, so this path must not depend on PDFium parsing it."""

    def __init__(self, source: Source, raster: RasterOptions) -> None:
        super().__init__(source, raster)
        self._password: str | None = None
        self._pdfium: Any = None  # opened when a page's scan resolution is first asked for
        info = None
        # each byte form the standard allows (pages/passwords.py), as poppler reads its arguments
        forms = [form.decode("utf-8", "surrogateescape") for form in password_forms(raster.password or "")]
        for form in [form for form in forms if form]:
            try:
                info, self._password = self._pdfinfo(form), form
                break
            except _PasswordRefused:
                continue
        if info is None:
            try:  # a password meant for other files must not lock out one that needs none (owner-only)
                info = self._pdfinfo(None)
            except _PasswordRefused:
                if raster.password:
                    raise InputError(f"{source.display}: wrong password", hint=WRONG_PASSWORD_HINT) from None
                raise
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
            raise _PasswordRefused(f"{name}: encrypted PDF (password required)", hint=PASSWORD_HINT)
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
        return fit_dpi(width_pt, height_pt, self._dpi(number), self.raster.max_page_pixels, what=what)

    def _dpi(self, number: int) -> int:
        """`raster.dpi`, or a scanned page's own lower pixel density, as the PDFium rasterizer does
        (pages/analysis.py). Best effort: a file PDFium cannot read is rendered at `raster.dpi`."""
        if not self.raster.scan_resolution:
            return self.raster.dpi
        from .pdfium import PDFIUM_LOCK, open_pdf, scan_capped_dpi

        with PDFIUM_LOCK:
            try:
                if self._pdfium is None:
                    self._pdfium = open_pdf(self.source, self._password)
                page = self._pdfium[number - 1]
                try:
                    return scan_capped_dpi(page, self.raster)
                finally:
                    page.close()
            except Exception:  # the point of poppler is to read what PDFium cannot
                return self.raster.dpi

    def page_label(self, number: int) -> str | None:
        """Read through PDFium, best effort as `_dpi`: a file PDFium cannot read has no labels here."""
        self._check(number)
        from .pdfium import PDFIUM_LOCK, open_pdf, pdf_page_label

        with PDFIUM_LOCK:
            try:
                if self._pdfium is None:
                    self._pdfium = open_pdf(self.source, self._password)
                return pdf_page_label(self._pdfium, number)
            except Exception:  # the point of poppler is to read what PDFium cannot
                return None

    def close(self) -> None:
        if self._pdfium is not None:
            from .pdfium import PDFIUM_LOCK

            with PDFIUM_LOCK:
                self._pdfium.close()
            self._pdfium = None

    def render(self, number: int) -> Page:
        size = self.page_size(number)
        what = f"{self.source.display}: page {number}"
        assert size.dpi is not None
        # One page per call; the crop box, as PDFium and pdfinfo use; PPM on stdout.
        args = ["pdftoppm", "-f", str(number), "-l", str(number), "-r", str(size.dpi), "-cropbox"]
        if self._password is not None:
            args += ["-upw", self._password, "-opw", self._password]
        args.append(str(self.source.path))
        limit = BASE_MEMORY_BYTES + BYTES_PER_CAPPED_PIXEL * self.raster.max_page_pixels
        try:
            done = subprocess.run(
                args, capture_output=True, timeout=PAGE_TIMEOUT_S, check=False,
                preexec_fn=_memory_limit(limit) if os.name == "posix" else None,
            )  # fmt: skip
        except FileNotFoundError:
            raise _poppler_missing() from None
        except subprocess.TimeoutExpired:
            raise InputError(
                f"{what}: pdftoppm took more than {PAGE_TIMEOUT_S} s and was stopped",
                hint="try --rasterizer pdfium or a lower --dpi",
            ) from None
        stderr = done.stderr.decode("utf-8", "replace")
        if "Out of memory" in stderr or done.returncode < 0:
            raise InputError(
                f"{what}: pdftoppm needed more than its {_size(limit)} memory limit (a damaged or hostile page?)",
                hint="try --rasterizer pdfium",
            )
        try:
            from PIL import Image

            image = Image.open(io.BytesIO(done.stdout))
            image.load()
        except Exception:
            errors = [line.strip() for line in stderr.splitlines() if line.strip()]
            why = f" ({errors[-1]})" if errors else ""
            raise InputError(
                f"{what}: poppler could not render this page{why}", hint="try --rasterizer pdfium"
            ) from None
        return Page(self.source.display, number, rgb(image), dpi=size.dpi, note=size.note)


def _size(limit: int) -> str:
    return f"{limit / 2**30:.1f} GiB" if limit >= 1 << 30 else f"{limit >> 20} MiB"


def _memory_limit(limit: int) -> Any:
    """A preexec_fn that caps the child's address space at `limit` bytes (never above its own
    hard limit), so an allocation past it fails in the child instead of swapping the machine."""

    def apply() -> None:
        try:  # an exception here would fail the launch itself; a system without the limit runs unbounded
            import resource

            _, hard = resource.getrlimit(resource.RLIMIT_AS)
            cap = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        except (ImportError, ValueError, OSError):
            pass

    return apply


class _PasswordRefused(InputError):
    """Poppler refused the password (or its absence); the caller decides which message fits."""


def _poppler_missing() -> UsageError:
    return UsageError(
        "poppler is not installed (pdfinfo/pdftoppm not found)",
        hint="install poppler-utils, or use the pdfium rasterizer",
    )
