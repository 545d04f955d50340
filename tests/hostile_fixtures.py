"""Hostile inputs for `exaone ocr`, made on the spot (no downloads), each with what should become of it.

`write_hostile_inputs(folder)` writes every file and returns one row per command-line argument: the
argument (relative to `folder`, where the run starts), what the file is, and the outcome README.md
("exaone ocr", "Exit codes") and the messages of exaone_cli/inputs.py, pages/ and vision.py promise:

- `ok`: every page succeeds (`pages` of them, with `sizes` and `note` where they are known);
- `error`: the file cannot be opened (one record, page null), or, with `page_errors`, it opens and
  each of its `pages` fails; every message starts with the argument and contains `phrase`.

`dry_run` is what `--dry-run` says where it differs (nowhere now: it decodes image files as the
run does, so a file whose pixels are cut off is refused by both).
"""

from __future__ import annotations

import io
import math
import os
import random
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pdf_fixtures import SAMPLE_PAGES, make_text_pdf
from PIL import Image, ImageDraw

Outcome = Literal["ok", "error"]

DPI = 50  # the --dpi the runs use; the expected page sizes are at this DPI
BOMB_SIDE = 40_000
STRIP = (100_000, 10)
TINY_PAGES = 200

# What each failure says (exaone_cli/inputs.py, pages/, vision.py).
EMPTY = "empty file"
NOT_READABLE = "not an image or PDF exaone can read"
DAMAGED_PDF = "damaged or truncated PDF"
UNREADABLE_IMAGE = "unreadable image"
PASSWORD = "encrypted PDF (password required)"
NO_PAGES = "the PDF has no pages"
BOMB = "possible decompression bomb"
ASPECT = "the model takes at most 200:1"
FOLDER = "is a folder, not a file"
NOT_REGULAR = "not a regular file"
CANNOT_READ = "cannot be read"


@dataclass(frozen=True)
class Hostile:
    """One command-line argument of the hostile run and what must become of it."""

    arg: str  # as typed on the command line, relative to the folder; records' `source` repeats it
    path: Path
    what: str
    outcome: Outcome
    pages: int = 0  # ok: its pages; error with page_errors: how many page records fail
    phrase: str = ""  # error: every message contains it
    page_errors: bool = False  # error: it opens, and each page fails (records with page numbers)
    sizes: tuple[tuple[int, int], ...] | None = None  # ok: each page's (width, height) at DPI, where known
    note: str | None = None  # ok: every page's `note` contains it
    dry_run: Outcome | None = None  # --dry-run's outcome where it differs from `outcome`
    after_dashdash: bool = False  # must come after `--`: the name starts with '-'

    @property
    def dry_run_outcome(self) -> Outcome:
        return self.dry_run or self.outcome


def write_hostile_inputs(folder: Path) -> list[Hostile]:
    """Write every hostile input into `folder` (which must exist) and return the table, in the order
    the arguments are to be given. Takes about 3 s (fpdf2's font subsetting, the bomb's zlib)."""
    rows = _broken_files(folder) + _pdfs(folder) + _images(folder) + _not_files(folder) + _names(folder)
    assert len({row.arg for row in rows}) == len(rows), "arguments must be unique"
    return rows


# ---- files that are not what their names say, or are cut short ---------------------------------


def _broken_files(folder: Path) -> list[Hostile]:
    rng = random.Random(20240501)
    noise, other_noise = rng.randbytes(4096), rng.randbytes(4096)
    for data in (noise, other_noise):  # no magic number of any format at the start
        assert not data.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8", b"GIF", b"II", b"MM", b"BM", b"RIFF"))
    scan = Image.effect_noise((400, 400), 60).convert("RGB")
    png, jpeg = io.BytesIO(), io.BytesIO()
    scan.save(png, format="PNG")
    scan.save(jpeg, format="JPEG", quality=90)
    text_pdf = make_text_pdf(folder / "whole.tmp.pdf", SAMPLE_PAGES).read_bytes()
    (folder / "whole.tmp.pdf").unlink()
    return [
        _error(_write(folder, "zero-bytes.pdf", b""), "a zero-byte file named .pdf", EMPTY),
        _error(_write(folder, "zero-bytes.png", b""), "a zero-byte file named .png", EMPTY),
        _error(_write(folder, "random.pdf", noise), "4 KiB of random bytes named .pdf", NOT_READABLE),
        _error(_write(folder, "random.png", other_noise), "4 KiB of random bytes named .png", NOT_READABLE),
        _error(
            _write(folder, "garbage-after-header.pdf", b"%PDF-1.7\n" + noise),
            "a PDF header followed by random bytes",
            DAMAGED_PDF,
        ),
        _error(
            _write(folder, "truncated.pdf", text_pdf[: len(text_pdf) // 2]),
            "a 3-page text PDF cut in half (no page tree, no trailer)",
            DAMAGED_PDF,
        ),
        Hostile(
            "truncated.png",
            _write(folder, "truncated.png", png.getvalue()[:20_000]),
            "a 400x400 PNG cut after 20 KB: the header is whole, the pixels are not",
            "error",
            pages=1,
            phrase=UNREADABLE_IMAGE,
            page_errors=True,
        ),
        Hostile(
            "truncated.jpg",
            _write(folder, "truncated.jpg", jpeg.getvalue()[: len(jpeg.getvalue()) // 2]),
            "a 400x400 JPEG cut in half: the header is whole, the scan data is not",
            "error",
            pages=1,
            phrase=UNREADABLE_IMAGE,
            page_errors=True,
        ),
        _error(
            _write(folder, "text.png", b"this is text, not a picture\n" * 20), "a text file named .png", NOT_READABLE
        ),
        _error(
            _write(
                folder,
                "drawing.svg",
                b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
                b'<rect width="50" height="50" fill="red"/></svg>\n',
            ),
            "an SVG drawing (Pillow has no SVG reader)",
            NOT_READABLE,
        ),
    ]


# ---- PDFs ---------------------------------------------------------------------------------------


def _pdfs(folder: Path) -> list[Hostile]:
    mixed = [(8.5, 11, 0), (8.5, 11, 90), (4, 6, 270), (14, 8.5, 0), (11, 17, 90)]  # inches, /Rotate
    return [
        _ok(
            _write(folder, "broken-xref.pdf", _break_xref(pdf_bytes([(8.5, 11, 0)] * 2))),
            "a 2-page PDF whose xref table points at the wrong offsets (readers rebuild it)",
            pages=2,
            sizes=((425, 550),) * 2,
        ),
        _error(
            make_text_pdf(folder / "user-password.pdf", SAMPLE_PAGES[:2], password="열려라 참깨"),
            "an encrypted PDF with a user password (needs --password)",
            PASSWORD,
        ),
        _ok(
            make_text_pdf(folder / "owner-password.pdf", SAMPLE_PAGES[:2], owner_password="boss"),
            "an encrypted PDF with an owner password only (opens without one)",
            pages=2,
            sizes=((414, 585),) * 2,  # A4
        ),
        _error(_write(folder, "zero-pages.pdf", pdf_bytes([])), "a well-formed PDF with an empty page tree", NO_PAGES),
        _ok(
            _write(folder, "enormous-page.pdf", pdf_bytes([(200, 200, 0)])),
            "one 200 x 200 inch page (the PDF maximum): 100 megapixels at 50 DPI",
            pages=1,
            # pages.fit_dpi: the highest DPI whose render stays within 50,000,000 pixels is
            # floor(72 * sqrt(50e6 / 14400**2)) = 35, and 7000 x 7000 = 49e6 fits.
            sizes=((7000, 7000),),
            note=f"rendered at 35 DPI instead of {DPI}",
        ),
        _ok(
            _write(folder, "tiny-pages.pdf", pdf_bytes([(1, 1, 0)] * TINY_PAGES)),
            f"{TINY_PAGES} pages of 1 x 1 inch",
            pages=TINY_PAGES,
            sizes=((DPI, DPI),) * TINY_PAGES,
        ),
        _ok(
            _write(folder, "mixed-rotated.pdf", pdf_bytes(mixed)),
            "five pages of different sizes, some with /Rotate 90 or 270",
            pages=len(mixed),
            sizes=tuple(_pixels(w, h, rotate) for w, h, rotate in mixed),
        ),
    ]


def pdf_bytes(pages: Sequence[tuple[float, float, int]]) -> bytes:
    """A PDF with one page per (width in, height in, /Rotate), each with a box and a line of text
    in a base-14 font, written by hand so that sizes, rotations and the xref are exactly ours."""
    count = len(pages)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(count)), count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for number, (width_in, height_in, rotate) in enumerate(pages, start=1):
        width, height = width_in * 72, height_in * 72
        stream = b"0 0 0 RG 2 w 4 4 %g %g re S BT /F1 %g Tf 8 %g Td (Page %d) Tj ET" % (
            width - 8,
            height - 8,
            min(width, height) / 6,
            height / 2,
            number,
        )
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Rotate %d /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % (width, height, rotate, 5 + 2 * (number - 1))
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    table = b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    table += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, len(body))
    return body + table + trailer


def _break_xref(data: bytes) -> bytes:
    """Every in-use xref entry moved 7 bytes off its object, and startxref off the table too."""
    head, _, tail = data.partition(b"xref\n")
    entries = tail.split(b"\n")
    broken = [
        b"%010d 00000 n " % (int(line[:10]) + 7) if line.endswith(b" n ") and len(line) == 19 else line
        for line in entries
    ]
    fixed_tail = b"\n".join(broken).replace(b"startxref\n%d" % len(head), b"startxref\n%d" % (len(head) - 3))
    return head + b"xref\n" + fixed_tail


def _pixels(width_in: float, height_in: float, rotate: int) -> tuple[int, int]:
    """A page's pixel size at DPI as both rasterizers make it (rounded up), turned by /Rotate."""
    width, height = math.ceil(width_in * DPI), math.ceil(height_in * DPI)
    return (height, width) if rotate % 180 == 90 else (width, height)


# ---- images -------------------------------------------------------------------------------------


def _images(folder: Path) -> list[Hostile]:
    cmyk = Image.new("CMYK", (64, 32), (0, 0, 0, 0))
    cmyk.paste((255, 0, 0, 0), (32, 0, 64, 32))
    grey16 = Image.new("I;16", (120, 40))
    grey16.putdata([(x * 0xFFFF) // 119 for x in range(120)] * 40)
    palette = Image.new("P", (60, 30))
    palette.putpalette([0, 0, 0, 200, 0, 0])
    palette.paste(1, (0, 0, 30, 30))
    frames = [Image.new("RGB", (40 + 10 * i, 30), colour) for i, colour in enumerate(["red", "lime", "blue"])]
    gif = [Image.new("RGB", (40, 30), colour) for colour in ["red", "lime", "blue"]]
    photo = Image.new("RGB", (200, 100), "white")
    photo.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view"
    strip = Image.new("L", STRIP, 255)
    ImageDraw.Draw(strip).line((0, 5, STRIP[0], 5), fill=0)
    return [
        _error(
            _write(folder, "bomb.png", _png_bomb(BOMB_SIDE, BOMB_SIDE)),
            f"a real decompression bomb: a {BOMB_SIDE} x {BOMB_SIDE} 1-bit PNG of ~200 KB (1.6 gigapixels)",
            BOMB,
        ),
        _ok(_save(cmyk, folder / "cmyk.jpg", quality=95), "a CMYK JPEG", sizes=((64, 32),)),
        _ok(_save(grey16, folder / "grey16.png"), "a 16-bit greyscale PNG", sizes=((120, 40),)),
        _ok(
            _save(palette, folder / "palette-transparent.png", transparency=0),
            "a palette PNG with a transparent colour",
            sizes=((60, 30),),
        ),
        _ok(
            _save(gif[0], folder / "animated.gif", save_all=True, append_images=gif[1:], duration=100, loop=0),
            "an animated GIF of 3 frames",
            pages=3,
            sizes=((40, 30),) * 3,
        ),
        _ok(
            _save(frames[0], folder / "multipage.tiff", save_all=True, append_images=frames[1:]),
            "a multi-page TIFF of 3 pages of different widths",
            pages=3,
            sizes=((40, 30), (50, 30), (60, 30)),
        ),
        _ok(
            _save(photo, folder / "exif-rotated.jpg", exif=exif, quality=95),
            "a 200x100 JPEG whose EXIF orientation says 'turn 90 degrees clockwise'",
            sizes=((100, 200),),
        ),
        _ok(_save(Image.new("RGB", (1, 1), "black"), folder / "one-pixel.png"), "a 1x1 image", sizes=((1, 1),)),
        Hostile(
            "strip.png",
            _save(strip, folder / "strip.png"),
            f"a {STRIP[0]} x {STRIP[1]} strip (aspect ratio 10000:1)",
            "error",
            pages=1,
            phrase=ASPECT,
            page_errors=True,
        ),
    ]


def _png_bomb(width: int, height: int) -> bytes:
    """A complete, valid 1-bit greyscale PNG of `width` x `height` white pixels: zeros compress
    about 1000:1, so 1.6 gigapixels fit in ~200 KB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" + b"\0" * math.ceil(width / 8)  # filter byte "none", then the row's bits
    packer = zlib.compressobj(9)
    rows_at_once = 1000
    block = row * rows_at_once
    data = b"".join(packer.compress(block) for _ in range(height // rows_at_once))
    data += packer.compress(row * (height % rows_at_once)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# ---- things that are not files ------------------------------------------------------------------


def _not_files(folder: Path) -> list[Hostile]:
    (folder / "a folder.pdf").mkdir()
    os.mkfifo(folder / "fifo.pdf")
    os.symlink("loop-b.pdf", folder / "loop-a.pdf")
    os.symlink("loop-a.pdf", folder / "loop-b.pdf")
    return [
        _error(folder / "a folder.pdf", "a directory (named .pdf)", FOLDER),
        _error(folder / "fifo.pdf", "a FIFO with no writer (opening it would block)", NOT_REGULAR),
        _error(folder / "loop-a.pdf", "a symlink loop (loop-a.pdf -> loop-b.pdf -> loop-a.pdf)", CANNOT_READ),
    ]


# ---- awkward names ------------------------------------------------------------------------------


def _names(folder: Path) -> list[Hostile]:
    def page(text: str) -> Image.Image:
        image = Image.new("RGB", (160, 60), "white")
        ImageDraw.Draw(image).text((8, 24), text, fill="black")
        return image

    korean = _save(page("korean name"), folder / "한글 파일 이름 (사본).png")
    dash = _save(page("dash name"), folder / "-수상한 이름.png")
    return [
        _ok(korean, "a file name with Korean characters, spaces and parentheses", sizes=((160, 60),)),
        Hostile(f"./{dash.name}", dash, "a name starting with '-', given as ./-name", "ok", 1, sizes=((160, 60),)),
        Hostile(
            dash.name,
            dash,
            "the same name starting with '-', given bare after `--`",
            "ok",
            1,
            sizes=((160, 60),),
            after_dashdash=True,
        ),
    ]


# ---- found by fuzzing (test_hostile.py's mutation fuzzer) ----------------------------------------


def write_fuzz_findings(folder: Path) -> list[Hostile]:
    """Files whose first page is fine but whose later structure is damaged, as the mutation fuzzer
    found them, made deterministic. Each must be one file's error, not the end of the run: exaone
    names the file, says the data is damaged or unreadable, and goes on with the next input."""
    frame = Image.new("RGB", (40, 30), "red")
    gif, tiff = io.BytesIO(), io.BytesIO()
    frame.save(gif, format="GIF")
    frame.save(tiff, format="TIFF", save_all=True, append_images=[Image.new("RGB", (40, 30), "blue")])
    return [
        Hostile(
            "page-object-missing.pdf",
            _write(
                folder, "page-object-missing.pdf", pdf_bytes([(2, 3, 0)]).replace(b"/Kids [4 0 R]", b"/Kids [9 0 R]")
            ),
            "a PDF whose page tree counts one page and points at an object the file does not have",
            "error",
            pages=1,
            phrase="damaged",
            page_errors=True,
        ),
        _error(
            _write(folder, "cut-extension.gif", gif.getvalue()[:-1] + b"!"),
            "a GIF whose trailer byte became an extension introducer with nothing after it",
            "unreadable",
        ),
        _error(
            _write(folder, "second-frame-no-width.tiff", _drop_tiff_tag(tiff.getvalue(), ifd=1, tag=256)),
            "a 2-page TIFF whose second page has no ImageWidth tag",
            "unreadable",
        ),
    ]


def _drop_tiff_tag(data: bytes, ifd: int, tag: int) -> bytes:
    """A little-endian TIFF with `tag` of IFD number `ifd` (0-based) renamed to an unknown tag."""
    assert data[:4] == b"II*\x00"
    out = bytearray(data)
    (offset,) = struct.unpack_from("<I", data, 4)
    for _ in range(ifd):
        (count,) = struct.unpack_from("<H", data, offset)
        (offset,) = struct.unpack_from("<I", data, offset + 2 + 12 * count)
    (count,) = struct.unpack_from("<H", data, offset)
    for entry in range(offset + 2, offset + 2 + 12 * count, 12):
        if struct.unpack_from("<H", data, entry)[0] == tag:
            struct.pack_into("<H", out, entry, 0x7FFF)
            return bytes(out)
    raise AssertionError(f"tag {tag} not in IFD {ifd}")


# ---- helpers ------------------------------------------------------------------------------------


def _ok(path: Path, what: str, *, pages: int = 1, **expect: object) -> Hostile:
    return Hostile(path.name, path, what, "ok", pages, **expect)  # type: ignore[arg-type]


def _error(path: Path, what: str, phrase: str) -> Hostile:
    return Hostile(path.name, path, what, "error", phrase=phrase)


def _write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path
