"""Images become the pages a person sees (issue #12 item 6): only multi-page formats make several
pages (an MPO phone JPEG is one photo), every pixel mode is converted by its data range, and a page
that conversion would leave blank is noticed: a better background, or a note saying what was done."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from replay_server import ReplayServer, case
from typer.testing import CliRunner

from exaone_cli.cli import app
from exaone_cli.errors import InputError
from exaone_cli.inputs import open_source
from exaone_cli.pages import Page, open_document, to_rgb


def pages(path: Path) -> list[Page]:
    with open_document(open_source(str(path))) as document:
        return [document.render(n) for n in range(1, document.page_count + 1)]


def one_page(path: Path) -> Page:
    (page,) = pages(path)
    return page


def grey(page: Page, x: int, y: int) -> int:
    return int(page.image.convert("L").getpixel((x, y)))  # type: ignore[arg-type]


# ---- a. only real multi-page formats become pages ---------------------------------------------


def _mpo(path: Path, stale: bool = False) -> Path:
    """A phone-style MPO: the photo, then a smaller preview in the MPF segment. `stale`: the MPF
    index points the preview past the end of the file (edited photos keep such indexes)."""
    Image.new("RGB", (64, 48), "red").save(path, "MPO", save_all=True, append_images=[Image.new("RGB", (32, 24))])
    if stale:
        data = bytearray(path.read_bytes())
        preview_offset = Image.open(path).mpinfo[0xB002][1]["DataOffset"]  # type: ignore[attr-defined]
        entry = data.find(struct.pack("<I", preview_offset), data.find(b"MPF\x00"))  # Pillow writes little-endian
        data[entry : entry + 4] = struct.pack("<I", 10**6)
        path.write_bytes(bytes(data))
    assert Image.open(path).format == "MPO" and Image.open(path).n_frames == 2  # Pillow sees two frames
    return path


@pytest.mark.parametrize("stale", [False, True], ids=["mpo", "mpo-stale-index"])
def test_an_mpo_phone_photo_is_one_page(tmp_path: Path, stale: bool) -> None:
    page = one_page(_mpo(tmp_path / "photo.jpg", stale))
    assert (page.width, page.height, page.image.getpixel((5, 5))) == (64, 48, (254, 0, 0))


def test_an_mpo_is_one_page_in_a_run_too(tmp_path: Path) -> None:
    photo = _mpo(tmp_path / "photo.jpg", stale=True)
    result = CliRunner().invoke(app, ["ocr", str(photo), "--dry-run", "--json"])
    assert result.exit_code == 0, result.stderr
    assert [(p["page"], p["error"]) for p in json.loads(result.stdout)["pages"]] == [(1, None)]


@pytest.mark.parametrize("suffix", ["webp", "png"], ids=["animated-webp", "apng"])
def test_animated_webp_and_png_frames_are_still_pages(tmp_path: Path, suffix: str) -> None:
    frames = [Image.new("RGB", (20, 20), colour) for colour in ("red", "lime", "blue")]
    path = tmp_path / f"anim.{suffix}"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    assert [page.image.getpixel((10, 10)) for page in pages(path)] == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


# ---- b. every mode by its data range ----------------------------------------------------------


def _scan(mode: str, paper: float, ink: float, size: tuple[int, int] = (60, 30)) -> Image.Image:
    """A grey `mode` image: `paper` everywhere, a block of `ink` where text would be."""
    image = Image.new(mode, size, paper)
    image.paste(ink, (10, 10, 50, 20))  # type: ignore[arg-type]
    return image


@pytest.mark.parametrize(
    ("mode", "paper", "ink", "suffix"),
    [
        ("F", 1.0, 0.0, "tiff"),  # the bug report: float 0..1 came out all black
        ("F", 0.9, 0.1, "tiff"),
        ("F", 255.0, 0.0, "tiff"),
        ("F", 65535.0, 0.0, "tiff"),
        ("I;16", 65535, 0, "png"),
        ("I;16", 65535, 0, "tiff"),
        ("I;16B", 65535, 0, "tiff"),  # big-endian 16-bit
        ("I", 255, 0, "tiff"),  # 32-bit int holding 8-bit values
        ("I", 65535, 0, "tiff"),  # ... holding 16-bit values
    ],
)
def test_wide_grey_is_mapped_by_its_data_range(
    tmp_path: Path, mode: str, paper: float, ink: float, suffix: str
) -> None:
    path = tmp_path / f"scan.{suffix}"
    _scan(mode, paper, ink).save(path)
    page = one_page(path)
    limit = 1.0 if paper <= 1 else 255.0 if paper <= 255 else 65535.0
    assert grey(page, 2, 2) == round(255 * paper / limit) and grey(page, 30, 15) == round(255 * ink / limit)
    assert page.note is None


def test_16_bit_grey_reads_the_same_in_both_byte_orders(tmp_path: Path) -> None:
    for mode in ("I;16", "I;16B"):
        image = Image.new(mode, (3, 1))
        image.putdata([0, 0x8080, 0xFFFF])
        image.save(tmp_path / f"{mode.replace(';', '')}.tiff")
    little, big = (one_page(tmp_path / f"{name}.tiff") for name in ("I16", "I16B"))
    assert [grey(little, x, 0) for x in range(3)] == [grey(big, x, 0) for x in range(3)] == [0, 128, 255]


@pytest.mark.parametrize(("mode", "paper", "ink"), [("F", 2.5, -1.5), ("I", 1_000_000, 200_000)])
def test_values_outside_the_usual_ranges_span_black_to_white_with_a_note(
    tmp_path: Path, mode: str, paper: float, ink: float
) -> None:
    _scan(mode, paper, ink).save(tmp_path / "data.tiff")
    page = one_page(tmp_path / "data.tiff")
    assert (grey(page, 2, 2), grey(page, 30, 15)) == (255, 0)
    assert page.note and "mapped to black..white" in page.note


def test_12_bit_values_in_a_16_bit_file_are_contrast_stretched_with_a_note(tmp_path: Path) -> None:
    """0..4095 scaled as 16-bit is 0..16 of 255: a black page with the text invisible."""
    _scan("I;16", 4095, 0).save(tmp_path / "xray.png")
    page = one_page(tmp_path / "xray.png")
    assert (grey(page, 2, 2), grey(page, 30, 15)) == (255, 0)
    assert page.note and "contrast stretched" in page.note and "0..4095" in page.note


def test_a_genuinely_blank_wide_image_is_not_stretched(tmp_path: Path) -> None:
    Image.new("I;16", (20, 20), 30000).save(tmp_path / "blank.png")
    page = one_page(tmp_path / "blank.png")
    assert grey(page, 5, 5) == round(30000 / 257) and page.note is None


def test_not_a_number_pixels_are_refused_with_a_named_error(tmp_path: Path) -> None:
    _scan("F", 1.0, float("nan")).save(tmp_path / "nan.tiff")
    with pytest.raises(InputError, match=r"nan\.tiff.*NaN or infinity"):
        one_page(tmp_path / "nan.tiff")


@pytest.mark.parametrize("mode", ["La", "RGBa", "LAB", "HSV", "YCbCr", "CMYK", "1", "P", "PA", "LA", "RGBX"])
def test_every_pillow_mode_becomes_rgb(mode: str) -> None:
    assert to_rgb(Image.new(mode, (4, 4))).mode == "RGB"


# ---- c. a page that conversion would blank is noticed -----------------------------------------


def _white_text_on_transparent(path: Path) -> Path:
    image = Image.new("RGBA", (120, 40), (255, 255, 255, 0))
    ImageDraw.Draw(image).rectangle((10, 10, 110, 30), fill=(255, 255, 255, 255))  # white "text"
    image.save(path)
    return path


def test_white_text_on_transparency_is_laid_on_black_with_a_note(tmp_path: Path) -> None:
    page = one_page(_white_text_on_transparent(tmp_path / "logo.png"))
    assert (grey(page, 2, 2), grey(page, 60, 20)) == (0, 255)
    assert page.note and "laid on black" in page.note


def test_dark_text_on_transparency_stays_on_white_paper(tmp_path: Path) -> None:
    image = Image.new("LA", (120, 40), (0, 0))
    ImageDraw.Draw(image).rectangle((10, 10, 110, 30), fill=(20, 255))
    image.save(tmp_path / "stamp.png")
    page = one_page(tmp_path / "stamp.png")
    assert (grey(page, 2, 2), grey(page, 60, 20), page.note) == (255, 20, None)


def test_the_model_gets_the_visible_page_and_the_record_says_why(tmp_path: Path) -> None:
    """Through a run: what reaches the server is not blank, and the record's note says so."""
    import base64
    import io

    seen: list[Image.Image] = []

    def remember(request: dict) -> bytes:
        url = next(p for p in request["messages"][0]["content"] if p["type"] == "image_url")["image_url"]["url"]
        seen.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("L"))
        return case("surrogate--ok.json")

    scan = tmp_path / "scan.tiff"
    _scan("F", 1.0, 0.0, (280, 140)).save(scan)
    logo = _white_text_on_transparent(tmp_path / "logo.png")
    with ReplayServer(remember) as server:
        result = CliRunner().invoke(
            app, ["ocr", str(scan), str(logo), "--server", server.url, "--jsonl", "--concurrency", "1"]
        )
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert records[0]["note"] is None and "laid on black" in records[1]["note"]
    for image in seen:
        low, high = image.getextrema()  # type: ignore[misc]
        assert high - low > 200  # paper and ink both there


def test_the_dry_run_decodes_images_as_the_run_does(tmp_path: Path) -> None:
    """No model, but the same refusals and notes as the run: NaN pixels and a truncated file are
    errors (exit 1), a 12-bit scan and white text on transparency get their notes."""
    _scan("F", 1.0, float("nan")).save(tmp_path / "nan.tiff")
    _scan("I;16", 4095, 0).save(tmp_path / "xray.png")
    logo = _white_text_on_transparent(tmp_path / "logo.png")
    whole = logo.read_bytes()
    (tmp_path / "truncated.png").write_bytes(whole[: len(whole) // 2])
    names = ["nan.tiff", "truncated.png", "xray.png", "logo.png"]
    result = CliRunner().invoke(app, ["ocr", *(str(tmp_path / n) for n in names), "--dry-run", "--json"])
    assert result.exit_code == 1
    nan, truncated, xray, transparent = json.loads(result.stdout)["pages"]
    assert "NaN or infinity" in nan["error"] and "truncated.png" in truncated["error"]
    assert "contrast stretched" in xray["note"] and "laid on black" in transparent["note"]
    assert xray["error"] is None and xray["visual_tokens"] > 0
