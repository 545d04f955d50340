"""exaone_cli.pages and exaone_cli.vision: real PDFs through real PDFium and real poppler, real image files
through Pillow, and the visual-token math checked against transformers' own."""

from __future__ import annotations

import io
import json
import math
import struct
import sys
import threading
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pdf_fixtures import (
    SAMPLE_PAGES,
    TEXT_ORIGIN_MM,
    make_scanned_pdf,
    make_text_pdf,
    make_zero_page_pdf,
)
from PIL import Image, ImageOps

from exaone_cli.errors import InputError, UsageError
from exaone_cli.inputs import open_source
from exaone_cli.pages import (
    DEFAULT_RASTERIZER,
    RASTERIZERS,
    Document,
    PageRanges,
    PageSize,
    RasterOptions,
    load_pages,
    open_document,
    parse_page_ranges,
    to_rgb,
)
from exaone_cli.vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, smart_resize, visual_tokens

LINE_MM = 12  # pdf_fixtures sets text in 12 mm lines
# Page n carries n lines, so where the ink stops tells which page was rendered.
COUNTED_PAGES = ["\n".join(f"{n}쪽 {i}번째 줄 line {i}" for i in range(1, n + 1)) for n in range(1, 13)]
rasterizers = pytest.mark.parametrize("rasterizer", RASTERIZERS)


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pdfs")
    text = make_text_pdf(folder / "text.pdf", COUNTED_PAGES)
    return {
        "text": text,
        "scanned": make_scanned_pdf(folder / "scanned.pdf", SAMPLE_PAGES * 4),
        "rotated": make_text_pdf(folder / "rotated.pdf", SAMPLE_PAGES, rotate=[0, 90, 270]),
        "huge": make_text_pdf(folder / "huge.pdf", ["200 x 200 inch"], page_size=(5080, 5080)),
        "locked": make_text_pdf(folder / "locked.pdf", SAMPLE_PAGES, password="열려라 참깨", owner_password="boss"),
        "owner_only": make_text_pdf(folder / "owner.pdf", SAMPLE_PAGES, owner_password="boss"),
        "empty": make_zero_page_pdf(folder / "empty.pdf"),
        "truncated": _write(folder / "truncated.pdf", text.read_bytes()[:7000]),
        "pdf_named_png": _write(folder / "really-a-pdf.png", text.read_bytes()),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _open(path: Path, rasterizer: str = DEFAULT_RASTERIZER, **options: object) -> Document:
    return open_document(open_source(str(path)), RasterOptions(rasterizer=rasterizer, **options))  # type: ignore[arg-type]


def _ink(image: Image.Image, threshold: int = 128) -> tuple[int, int, int, int] | None:
    """The bounding box of dark pixels."""
    return ImageOps.invert(image.convert("L")).point(lambda v: 255 if v > 255 - threshold else 0).getbbox()


def _input_error(path: Path, rasterizer: str = DEFAULT_RASTERIZER, **options: object) -> InputError:
    with pytest.raises(InputError) as caught:
        _open(path, rasterizer, **options).close()
    return caught.value


# ---- page ranges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "count", "pages"),
    [
        ("1-3,7,10-", 12, [1, 2, 3, 7, 10, 11, 12]),
        (" 2 - 4 , 3 ", 12, [2, 3, 4]),
        ("7,1,1,2-3", 12, [1, 2, 3, 7]),
        ("10-", 3, []),
        ("2-99", 4, [2, 3, 4]),
        ("1\u20133", 5, [1, 2, 3]),  # an en dash pasted from a document
        ("5", 5, [5]),
    ],
)
def test_page_ranges_select_existing_pages_in_order_once(spec: str, count: int, pages: list[int]) -> None:
    assert parse_page_ranges(spec).select(count) == pages


def test_no_spec_means_every_page() -> None:
    assert parse_page_ranges(None) == PageRanges.all()
    assert PageRanges.all().select(4) == [1, 2, 3, 4]
    assert PageRanges.all().select(0) == []
    assert str(parse_page_ranges("1-3, 7 ,10-")) == "1-3,7,10-"


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("0", "no page 0"),
        ("0-3", "no page 0"),
        ("3-1", "runs backwards"),
        ("1,,2", "empty part"),
        ("1,", "empty part"),
        ("abc", "not a page number or range"),
        ("1-2-3", "not a page number or range"),
        ("-3", "not a page number or range"),
        ("1.5", "not a page number or range"),
    ],
)
def test_bad_page_ranges_are_usage_errors_with_a_hint(spec: str, reason: str) -> None:
    with pytest.raises(UsageError, match=reason) as caught:
        parse_page_ranges(spec)
    assert caught.value.hint


@given(
    st.lists(st.tuples(st.integers(1, 30), st.one_of(st.none(), st.integers(0, 30))), min_size=1, max_size=6),
    st.integers(0, 40),
)
def test_page_ranges_agree_with_counting_by_hand(parts: list[tuple[int, int | None]], count: int) -> None:
    spans = [(a, None if b is None else a + b) for a, b in parts]
    spec = ",".join(f"{a}-" if b is None else f"{a}-{b}" for a, b in spans)
    wanted = {n for n in range(1, count + 1) for a, b in spans if a <= n and (b is None or n <= b)}
    assert parse_page_ranges(spec).select(count) == sorted(wanted)


def test_load_pages_renders_the_selected_pages(pdfs: dict[str, Path]) -> None:
    pages = list(load_pages(open_source(str(pdfs["text"])), parse_page_ranges("2,11-"), RasterOptions(dpi=50)))
    assert [page.number for page in pages] == [2, 11, 12]


# ---- options ---------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [{"rasterizer": "ghostscript"}, {"dpi": 0}, {"dpi": 5000}, {"max_page_pixels": 0}])
def test_bad_raster_options_are_usage_errors(options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        RasterOptions(**options)  # type: ignore[arg-type]


# ---- PDFs, through both rasterizers ----------------------------------------------------------


@rasterizers
def test_page_count_of_text_and_scanned_pdfs(pdfs: dict[str, Path], rasterizer: str) -> None:
    for kind in ("text", "scanned"):
        with _open(pdfs[kind], rasterizer) as document:
            assert document.page_count == 12


@rasterizers
@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_a4_page_size_at_dpi_without_rendering(pdfs: dict[str, Path], rasterizer: str, dpi: int) -> None:
    with _open(pdfs["text"], rasterizer, dpi=dpi) as document:
        expected = (math.ceil(595.28 * dpi / 72), math.ceil(841.89 * dpi / 72))
        assert document.page_size(5) == PageSize(*expected, dpi, None)
    if dpi == 200:
        assert expected == (1654, 2339)


@rasterizers
@pytest.mark.parametrize("number", [1, 7, 12])
def test_rendering_one_page_of_many_gives_that_page(pdfs: dict[str, Path], rasterizer: str, number: int) -> None:
    with _open(pdfs["text"], rasterizer) as document:
        page = document.render(number)
        assert (page.width, page.height) == document.page_size(number)[:2] == (1654, 2339)
    assert (page.source, page.number, page.dpi, page.note, page.image.mode) == (
        str(pdfs["text"]),
        number,
        200,
        None,
        "RGB",
    )
    ink = _ink(page.image)
    assert ink is not None
    left, top, _, bottom = (v / 200 * 25.4 for v in ink)  # in mm
    assert TEXT_ORIGIN_MM[0] - 1 < left < TEXT_ORIGIN_MM[0] + 3
    assert TEXT_ORIGIN_MM[1] < top < TEXT_ORIGIN_MM[1] + LINE_MM
    assert TEXT_ORIGIN_MM[1] + LINE_MM * (number - 1) < bottom <= TEXT_ORIGIN_MM[1] + LINE_MM * number + 1
    assert page.image.crop((0, page.height // 2 + 300, page.width, page.height)).getextrema() == ((255, 255),) * 3


def test_poppler_renders_one_page_per_call_never_the_document(
    pdfs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    calls: list[tuple[str, str]] = []
    real = subprocess.run

    def spy(args: list[str], **kwargs: object) -> object:
        if args[0] == "pdftoppm":
            calls.append((args[args.index("-f") + 1], args[args.index("-l") + 1]))
        return real(args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "run", spy)
    with _open(pdfs["text"], "poppler", dpi=50) as document:
        document.render(9)
        document.render(3)
    assert calls == [("9", "9"), ("3", "3")]


@rasterizers
def test_scanned_page_keeps_its_paper_and_text(pdfs: dict[str, Path], rasterizer: str) -> None:
    with _open(pdfs["scanned"], rasterizer) as document:
        page = document.render(4)
    # The scan is a 100-DPI image: rendered at its own resolution, not upsampled to 200 DPI.
    assert (page.width, page.height, page.dpi) == (827, 1170, 100)
    ink = _ink(page.image)
    assert ink is not None and ink[1] < 150  # the text near the top, in dark grey
    paper = page.image.convert("L").crop((50, 800, 750, 1100))
    assert 220 < sum(paper.histogram()[i] * i for i in range(256)) / (700 * 300) < 250


@rasterizers
def test_rotated_pages_come_out_upright(pdfs: dict[str, Path], rasterizer: str) -> None:
    with _open(pdfs["rotated"], rasterizer) as document:
        sizes = [document.page_size(n)[:2] for n in (1, 2, 3)]
        turned_right, turned_left = document.render(2), document.render(3)
    assert sizes == [(1654, 2339), (2339, 1654), (2339, 1654)]
    assert (turned_right.width, turned_right.height) == (2339, 1654)
    # /Rotate 90 turns the page clockwise: the text from the top-left runs down the right edge.
    right = _ink(turned_right.image)
    assert right is not None and right[0] > 2339 * 0.7 and right[1] < 1654 * 0.3
    assert right[3] - right[1] > right[2] - right[0]
    # /Rotate 270 turns it anticlockwise: the text runs up the left edge, near the bottom.
    left = _ink(turned_left.image)
    assert left is not None and left[2] < 2339 * 0.3 and left[3] > 1654 * 0.7


def test_both_rasterizers_agree_on_a_rotated_page(pdfs: dict[str, Path]) -> None:
    boxes = []
    for rasterizer in RASTERIZERS:
        with _open(pdfs["rotated"], rasterizer) as document:
            boxes.append(_ink(document.render(2).image))
    assert all(a is not None for a in boxes)
    assert all(abs(a - b) <= 4 for a, b in zip(boxes[0], boxes[1], strict=True))  # type: ignore[arg-type]


@rasterizers
def test_a_page_past_the_pixel_cap_is_rendered_at_a_lower_dpi_with_a_note(
    pdfs: dict[str, Path], rasterizer: str
) -> None:
    note = "rendered at 35 DPI instead of 200: the page would pass the 50,000,000-pixel cap"
    with _open(pdfs["huge"], rasterizer) as document:  # 200 x 200 inches, the PDF maximum
        assert document.page_size(1) == PageSize(7000, 7000, 35, note)
        page = document.render(1)
    assert (page.width, page.height, page.dpi, page.note) == (7000, 7000, 35, note)


@rasterizers
def test_a_lower_pixel_cap_picks_the_highest_dpi_that_fits(pdfs: dict[str, Path], rasterizer: str) -> None:
    with _open(pdfs["text"], rasterizer, max_page_pixels=2_000_000) as document:
        size = document.page_size(1)
        page = document.render(1)
    assert size.dpi == 143 and size.width * size.height <= 2_000_000
    assert math.ceil(595.28 * 144 / 72) * math.ceil(841.89 * 144 / 72) > 2_000_000
    assert (page.width, page.height, page.dpi) == (size.width, size.height, 143)
    assert page.note and "143 DPI instead of 200" in page.note


@rasterizers
def test_encrypted_pdf_needs_its_password(pdfs: dict[str, Path], rasterizer: str) -> None:
    missing = _input_error(pdfs["locked"], rasterizer)
    assert missing.message == f"{pdfs['locked']}: encrypted PDF (password required)"
    assert "--password" in (missing.hint or "")
    wrong = _input_error(pdfs["locked"], rasterizer, password="열려라 보리")
    assert wrong.message == f"{pdfs['locked']}: wrong password"
    assert "--password" in (wrong.hint or "")
    with _open(pdfs["locked"], rasterizer, password="열려라 참깨", dpi=50) as document:
        assert document.page_count == 3
        assert _ink(document.render(2).image) is not None


@rasterizers
@pytest.mark.parametrize("password", [None, "meant for another file"])
def test_owner_password_only_pdf_opens_without_one(
    pdfs: dict[str, Path], rasterizer: str, password: str | None
) -> None:
    with _open(pdfs["owner_only"], rasterizer, password=password, dpi=50) as document:
        assert document.page_count == 3
        assert _ink(document.render(1).image) is not None


@rasterizers
def test_zero_page_and_truncated_pdfs(pdfs: dict[str, Path], rasterizer: str) -> None:
    assert _input_error(pdfs["empty"], rasterizer).message == f"{pdfs['empty']}: the PDF has no pages"
    truncated = _input_error(pdfs["truncated"], rasterizer)
    assert truncated.message.startswith(f"{pdfs['truncated']}: damaged or truncated PDF")
    assert truncated.hint


def test_zero_page_pdf_after_a_password_failure_is_still_a_zero_page_pdf(pdfs: dict[str, Path]) -> None:
    """PDFium's last-error code is stale for zero-page files; a previous file's error must not leak."""
    _input_error(pdfs["locked"], "pdfium")
    assert _input_error(pdfs["empty"], "pdfium").message.endswith("the PDF has no pages")


@rasterizers
def test_a_pdf_named_png_is_read_as_a_pdf(pdfs: dict[str, Path], rasterizer: str) -> None:
    with _open(pdfs["pdf_named_png"], rasterizer, dpi=50) as document:
        assert document.page_count == 12 and document.render(1).dpi == 50


@rasterizers
def test_a_page_that_does_not_exist(pdfs: dict[str, Path], rasterizer: str) -> None:
    with _open(pdfs["rotated"], rasterizer) as document, pytest.raises(InputError, match="no page 4 \\(it has 3\\)"):
        document.render(4)


def test_pdf_from_stdin(pdfs: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    class Stdin:
        buffer = io.BytesIO(pdfs["rotated"].read_bytes())

        def isatty(self) -> bool:
            return False

    monkeypatch.setattr(sys, "stdin", Stdin())
    with open_document(open_source("-"), RasterOptions(dpi=50)) as document:
        page = document.render(2)
    assert page.source == "<stdin>" and (page.width, page.height) == (585, 414)


def test_pdfium_document_opened_on_one_thread_renders_on_another(pdfs: dict[str, Path]) -> None:
    """What the pipeline does: plan on the main thread, render in a background one."""
    document = _open(pdfs["text"], "pdfium", dpi=50)
    rendered: list[int] = []
    worker = threading.Thread(target=lambda: rendered.extend(document.render(n).number for n in (1, 2)))
    worker.start()
    worker.join()
    document.close()
    assert rendered == [1, 2]


# ---- image files -----------------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring `width` x `height`, with one tiny IDAT: a bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [8000, 10_000, 40_000])  # past our cap; past Pillow's warning; past its error
def test_decompression_bomb_is_refused_from_its_header(tmp_path: Path, side: int) -> None:
    path = _write(tmp_path / "bomb.png", _png_header_only(side, side))
    error = _input_error(path)
    assert error.message == f"{path}: too large: {side * side:,} pixels; refusing (possible decompression bomb)"
    assert "50,000,000" in (error.hint or "")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.png", b"this is text, not a picture\n" * 4),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'),
    ],
)
def test_files_pillow_cannot_identify(tmp_path: Path, name: str, data: bytes) -> None:
    path = _write(tmp_path / name, data)
    assert _input_error(path).message == f"{path}: not an image or PDF exaone can read"


def test_a_zip_that_is_no_archive_is_named_as_damaged(tmp_path: Path) -> None:
    path = _write(tmp_path / "report.docx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64)
    assert _input_error(path).message.startswith(f"{path}: a damaged or truncated ZIP archive")


def test_a_format_missing_from_the_magic_table_is_still_read(tmp_path: Path) -> None:
    Image.new("RGB", (32, 32), "blue").save(tmp_path / "favicon.ico")
    assert open_source(str(tmp_path / "favicon.ico")).kind == "unknown"
    assert _render_image(tmp_path / "favicon.ico").getpixel((16, 16)) == (0, 0, 255)


def test_a_truncated_image_fails_at_its_page_not_before(tmp_path: Path) -> None:
    Image.effect_noise((400, 400), 60).convert("RGB").save(tmp_path / "whole.png")
    cut = _write(tmp_path / "cut.png", (tmp_path / "whole.png").read_bytes()[:20_000])
    with _open(cut) as document:
        assert document.page_size(1) == PageSize(400, 400, None, None)
        with pytest.raises(InputError, match=r"cut\.png: unreadable image") as caught:
            document.render(1)
    assert "truncated" in (caught.value.hint or "")


def _render_image(path: Path, number: int = 1) -> Image.Image:
    with _open(path) as document:
        page = document.render(number)
    assert (page.dpi, page.note, page.image.mode) == (None, None, "RGB")
    return page.image


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    image = Image.new("CMYK", (64, 32), (0, 0, 0, 0))  # paper white
    image.paste((255, 0, 0, 0), (32, 0, 64, 32))  # pure cyan
    image.save(tmp_path / "print.jpg", quality=95)
    rgb = _render_image(tmp_path / "print.jpg")
    white, cyan = rgb.getpixel((8, 16)), rgb.getpixel((56, 16))
    assert all(v >= 250 for v in white)  # type: ignore[union-attr]
    assert cyan[0] <= 5 and cyan[1] >= 250 and cyan[2] >= 250  # type: ignore[index]


def test_16_bit_grey_png_keeps_its_grey_levels(tmp_path: Path) -> None:
    image = Image.new("I;16", (3, 1))
    image.putdata([0, 0x8080, 0xFFFF])
    image.save(tmp_path / "scan16.png")
    assert Image.open(tmp_path / "scan16.png").mode.startswith("I")  # really 16-bit on disk
    rgb = _render_image(tmp_path / "scan16.png")
    assert [rgb.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (128, 128, 128), (255, 255, 255)]


def test_palette_png_with_transparency_lies_on_white(tmp_path: Path) -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 200, 0, 0])  # index 0 black (made transparent), index 1 red
    image.putdata([0, 1])
    image.save(tmp_path / "logo.png", transparency=0)
    rgb = _render_image(tmp_path / "logo.png")
    assert [rgb.getpixel((x, 0)) for x in range(2)] == [(255, 255, 255), (200, 0, 0)]


def test_rgba_is_composited_on_white(tmp_path: Path) -> None:
    image = Image.new("RGBA", (3, 1))
    image.putdata([(0, 0, 0, 0), (0, 0, 0, 255), (0, 0, 0, 128)])
    image.save(tmp_path / "stamp.png")
    rgb = _render_image(tmp_path / "stamp.png")
    assert rgb.getpixel((0, 0)) == (255, 255, 255) and rgb.getpixel((1, 0)) == (0, 0, 0)
    assert all(125 <= v <= 129 for v in rgb.getpixel((2, 0)))  # type: ignore[union-attr]


def test_multi_page_tiff_frames_are_pages(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (40 + 10 * i, 30), colour) for i, colour in enumerate(["red", "lime", "blue"])]
    frames[0].save(tmp_path / "fax.tiff", save_all=True, append_images=frames[1:])
    with _open(tmp_path / "fax.tiff") as document:
        assert document.page_count == 3
        assert [document.page_size(n) for n in (1, 2, 3)] == [PageSize(40 + 10 * i, 30, None, None) for i in range(3)]
        page = document.render(2)
        first = document.render(1)
    assert (page.number, page.width, page.image.getpixel((5, 5))) == (2, 50, (0, 255, 0))
    assert first.image.getpixel((5, 5)) == (255, 0, 0)


def test_animated_gif_frames_are_pages(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ["red", "lime", "blue"]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=100)
    with _open(tmp_path / "anim.gif") as document:
        assert document.page_count == 3
        colours = [document.render(n).image.getpixel((10, 10)) for n in (3, 1, 2)]
    assert colours == [(0, 0, 255), (255, 0, 0), (0, 255, 0)]


def test_exif_rotated_jpeg_comes_out_upright(tmp_path: Path) -> None:
    stored = Image.new("RGB", (200, 100), "white")
    stored.paste((255, 0, 0), (0, 0, 100, 100))  # the left half red, as the camera stored it
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90 degrees clockwise to view"
    stored.save(tmp_path / "photo.jpg", exif=exif, quality=95)
    with _open(tmp_path / "photo.jpg") as document:
        assert document.page_size(1) == PageSize(100, 200, None, None)
        upright = document.render(1).image
    assert upright.size == (100, 200)
    top, bottom = upright.getpixel((50, 40)), upright.getpixel((50, 160))
    assert top[0] > 240 and top[1] < 15  # type: ignore[index]
    assert min(bottom) > 240  # type: ignore[arg-type]
    assert to_rgb(Image.open(tmp_path / "photo.jpg")).size == (100, 200)


# ---- visual tokens ---------------------------------------------------------------------------


def test_a4_at_200_dpi_is_not_scaled_down_by_the_default_budget() -> None:
    budget = visual_tokens(1654, 2339)
    assert (budget.width, budget.height) == (1652, 2352)  # only snapped to the 28 px grid
    assert budget.grid == (1, 168, 118) and budget.tokens == 84 * 59 == 4956
    assert budget.width * budget.height <= DEFAULT_MAX_PIXELS < 1654 * 2339 * 1.05


def test_aspect_ratio_past_200_is_an_input_error() -> None:
    with pytest.raises(InputError, match="200:1"):
        smart_resize(28, 28 * 201)


@settings(deadline=None, max_examples=500)  # the first example pays for importing transformers
@given(
    st.integers(1, 12_000),
    st.integers(1, 12_000),
    st.sampled_from([(DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS), (56 * 56, 28 * 28 * 1280), (3136, 200_000)]),
)
def test_smart_resize_matches_transformers(height: int, width: int, budget: tuple[int, int]) -> None:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize as reference

    try:
        expected: object = reference(height, width, 28, *budget)
    except ValueError:
        expected = ValueError
    try:
        actual: object = smart_resize(height, width, 28, *budget)
    except InputError:
        actual = ValueError
    assert actual == expected


@pytest.mark.parametrize("size", [(1654, 2339), (300, 200), (57, 4000)])
def test_token_count_matches_the_real_image_processor(size: tuple[int, int]) -> None:
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    processor = Qwen2VLImageProcessorPil(size={"shortest_edge": DEFAULT_MIN_PIXELS, "longest_edge": DEFAULT_MAX_PIXELS})
    grid = processor(images=[Image.new("RGB", size, "white")], return_tensors="np")["image_grid_thw"][0]
    budget = visual_tokens(*size)
    assert budget.grid == tuple(int(v) for v in grid)
    assert budget.tokens == int(grid.prod()) // processor.merge_size**2


@pytest.mark.parametrize(
    ("spec", "count", "missing"),
    [("2,5", 3, "5"), ("2-9", 3, "4-9"), ("5", 3, "5"), ("2-", 3, None), ("5-", 3, "5-"), ("1-3", 3, None),
     ("3-4,7,9-", 5, "7,9-"), ("4", 3, "4")],
)  # fmt: skip
def test_requested_pages_a_document_lacks(spec: str, count: int, missing: str | None) -> None:
    assert parse_page_ranges(spec).missing(count) == missing


def test_the_page_pixel_cap_can_be_raised_by_option_and_environment_for_files_you_trust(tmp_path: Path) -> None:
    # Issue #23: a 600-DPI A3 scan (about 70 MP) could never be read; the message named no way out.
    # 9,500 x 9,500 (90 MP) is past our cap and past Pillow's own warning (89.5 MP) too.
    from typer.testing import CliRunner

    from exaone_cli.cli import app

    path = tmp_path / "a3-scan.png"
    Image.new("1", (9500, 9500), 1).save(path)
    args = ["ocr", str(path), "--dry-run", "--json", "--server", "http://127.0.0.1:9/v1"]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1
    row = json.loads(refused.stdout)["pages"][0]
    error = f"{row['error']}; {row['error_hint']}"
    assert (
        "too large: 90,250,000 pixels" in error and "--max-page-pixels" in error and "EXAONE_MAX_PAGE_PIXELS" in error
    )
    by_option = CliRunner().invoke(app, [*args, "--max-page-pixels", "100000000"])
    by_variable = CliRunner().invoke(app, args, env={"EXAONE_MAX_PAGE_PIXELS": "100000000"})
    for result in (by_option, by_variable):
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["pages"][0]["width"] == 9500
