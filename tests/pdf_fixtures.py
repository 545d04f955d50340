"""PDFs and images the tests make for themselves: real text PDFs (embedded Korean font), scans, oddities.

Plain functions, not pytest fixtures, so benchmarks/ and other test modules can call them too. Every
helper writes a real file a PDF reader would open, quickly (a 12-page text PDF takes ~0.2 s).

The same arguments give the same bytes, whenever and in whatever order they are called: a file's
SHA-256 seeds its page retries (exaone_cli/ocr/retries.py) and the tiny model's answer depends on
every pixel, so a file that changed with the clock (fpdf2's CreationDate) or with the calls made
before it in the process (Pillow's noise draws on C's rand()) made a test's outcome change with
them.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

FONT = Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf")  # Debian's fonts-nanum
A4_MM = (210.0, 297.0)
TEXT_ORIGIN_MM = (20.0, 20.0)  # where the first line of text starts on every page
TEXT_SIZE_PT = 24
SAMPLE_PAGES = [
    "영수증 합계 12,500원\nTOTAL 12,500 KRW",
    "계약서 제2조 (목적)\nArticle 2. Purpose",
    "회의록: 다음 회의는 월요일\nMinutes: next meeting Monday",
]

CREATION_DATE = datetime(2024, 5, 1, tzinfo=timezone.utc)  # every fixture PDF's, so its bytes never change

# fpdf2 subsets the TTF through fontTools, which logs every hinting table it drops.
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)


def new_pdf(**options: Any) -> Any:
    """An fpdf2 document (FPDF(**options)) dated CREATION_DATE: the same pages give the same bytes."""
    from fpdf import FPDF

    pdf = FPDF(**options)
    pdf.set_creation_date(CREATION_DATE)
    return pdf


def make_text_pdf(
    path: Path | str,
    pages: Sequence[str],
    *,
    page_size: tuple[float, float] = A4_MM,
    password: str | None = None,
    owner_password: str | None = None,
    rotate: Sequence[int] | None = None,
) -> Path:
    """A text PDF, one string per page, set in NanumGothic 24 pt from TEXT_ORIGIN_MM.

    `page_size` is in millimetres (the PDF limit is 200 inches = 5080 mm a side). `password` is the
    user password (needed to open); `owner_password` alone gives a PDF that opens without one but
    is still encrypted. `rotate` sets each page's /Rotate (0, 90, 180, 270).

    Encryption is RC4 (fpdf2's AES needs the cryptography package), whose passwords are bytes:
    they are written as UTF-8, as qpdf does, which PDFium and poppler accept as typed, Korean too."""
    pdf = new_pdf(unit="mm", format=page_size)
    pdf.set_auto_page_break(False)
    pdf.add_font("Nanum", "", str(FONT))
    for text in pages:
        pdf.add_page()
        pdf.set_font("Nanum", size=TEXT_SIZE_PT)
        pdf.set_xy(*TEXT_ORIGIN_MM)
        pdf.multi_cell(page_size[0] - 2 * TEXT_ORIGIN_MM[0], 12, text)
    if password is not None or owner_password is not None:
        owner, user = (_as_bytes(p) for p in (owner_password or password or "", password))
        pdf.set_encryption(owner_password=owner or "", user_password=user)
    data = bytes(pdf.output())
    if rotate:
        data = _with_rotation(data, list(rotate))
    return _write(path, data)


def make_scanned_pdf(path: Path | str, pages: Sequence[str], dpi: int = 100) -> Path:
    """What a scanner produces: every page one full-page JPEG of slightly grey, noisy paper with
    text on it, and no text layer."""
    pdf = new_pdf(unit="mm", format=A4_MM)
    pdf.set_auto_page_break(False)
    pdf.set_image_filter("DCTDecode")
    for text in pages:
        pdf.add_page()
        pdf.image(scan_image(text, dpi), x=0, y=0, w=A4_MM[0], h=A4_MM[1])
    return _write(path, bytes(pdf.output()))


def scan_image(text: str, dpi: int = 100) -> Image.Image:
    """An A4 'scan' at `dpi`: grey-white paper with sensor noise and dark text at TEXT_ORIGIN_MM."""
    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    page = _paper(width, height).copy()
    font = ImageFont.truetype(str(FONT), round(TEXT_SIZE_PT / 72 * dpi))
    origin = (TEXT_ORIGIN_MM[0] / 25.4 * dpi, TEXT_ORIGIN_MM[1] / 25.4 * dpi)
    ImageDraw.Draw(page).multiline_text(origin, text, fill=(30, 30, 30), font=font, spacing=round(dpi / 8))
    return page


@functools.lru_cache(maxsize=4)
def _paper(width: int, height: int) -> Image.Image:
    """Grey-white paper with sensor noise, made once per size (the noise costs ~50 ms a page). The
    noise is Image.effect_noise's (Gaussian, sigma 6 around 128, then 236 + (v - 128) // 8), drawn
    from a generator seeded by the size: Pillow's own draws on C's rand(), whose state is whatever
    the process did before, so a page's pixels changed with the tests that ran before it."""
    import numpy as np

    drawn = np.random.default_rng([width, height]).normal(128.0, 6.0, (height, width))
    values = 236 + (np.clip(np.rint(drawn), 0, 255).astype(np.int16) - 128) // 8
    noise = Image.fromarray(values.astype(np.uint8), "L")
    return Image.merge("RGB", (noise, noise, noise))


def make_zero_page_pdf(path: Path | str) -> Path:
    """A well-formed PDF whose page tree is empty (fpdf2 refuses to write one)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    return _write(path, _with_xref(body, offsets, b"/Root 1 0 R"))


def _as_bytes(password: str | None) -> str | None:
    """`password`'s UTF-8 bytes in the str fpdf2 wants (it encodes passwords as Latin-1)."""
    return None if password is None else password.encode("utf-8").decode("latin-1")


def _with_rotation(data: bytes, rotate: list[int]) -> bytes:
    """`data` (as fpdf2 writes it) with /Rotate added to each page object in order and a new xref:
    fpdf2 has no per-page /Rotate, and pypdfium2 would drop the encryption when saving."""
    pages = iter(rotate)

    def add_rotate(match: re.Match[bytes]) -> bytes:
        angle = next(pages, 0)
        return match.group(0).replace(b"/Type /Page\n", b"/Type /Page\n/Rotate %d\n" % angle)

    body, _, _ = data.partition(b"xref\n")
    body = re.sub(rb"\d+ 0 obj\n<<\n(?:(?!endobj).)*?/Type /Page\n", add_rotate, body, flags=re.S)
    offsets = [m.start() for m in re.finditer(rb"(?m)^\d+ 0 obj\n", body)]
    trailer = re.search(rb"trailer\n<<\n(.*?)>>", data, flags=re.S)
    assert trailer is not None, "fpdf2 output without a trailer"
    size = re.search(rb"/Size (\d+)", trailer.group(1))
    assert size is not None and len(offsets) == int(size.group(1)) - 1, "unexpected fpdf2 object layout"
    return _with_xref(body, offsets, re.sub(rb"/Size \d+\n", b"", trailer.group(1)))


def _with_xref(body: bytes, offsets: list[int], trailer_keys: bytes) -> bytes:
    """`body` (objects 1..N in order at `offsets`) followed by a classic xref table and trailer."""
    table = b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    table += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, trailer_keys, len(body))
    return body + table + trailer


def _write(path: Path | str, data: bytes) -> Path:
    path = Path(path)
    path.write_bytes(data)
    return path
