"""Scans render at their own resolution (pages/analysis.py): a page that is one scanned image is
rendered at no more than the image's pixel density, whatever --dpi asks, through both rasterizers."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from pdf_fixtures import SAMPLE_PAGES, make_scanned_pdf, make_text_pdf, scan_image
from PIL import Image, ImageChops, ImageStat
from text_layer_fixtures import make_layer_pdf

from exaone_cli.inputs import open_source
from exaone_cli.pages import PageSize, RasterOptions, open_document

rasterizers = pytest.mark.parametrize("rasterizer", ["pdfium", "poppler"])


def sizes(path: Path, rasterizer: str, **options: object) -> list[PageSize]:
    raster = RasterOptions(rasterizer=rasterizer, **options)  # type: ignore[arg-type]
    with open_document(open_source(str(path)), raster) as document:
        return [document.page_size(n) for n in range(1, document.page_count + 1)]


@pytest.fixture(scope="module")
def pillow_scan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Image.Image]:
    """What Pillow makes of a scan (as a public Korean OCR benchmark's PDFs were made): the page
    declares 72 DPI: a 595 x 842 px scan is an A4 page, pixel for point."""
    image = scan_image(SAMPLE_PAGES[0], dpi=72)
    path = tmp_path_factory.mktemp("pillow") / "scan72.pdf"
    image.save(path, "PDF", resolution=72)
    return path, image


@rasterizers
def test_a_scan_saved_at_72_dpi_is_rendered_at_its_own_pixels(
    pillow_scan: tuple[Path, Image.Image], rasterizer: str
) -> None:
    path, original = pillow_scan
    assert sizes(path, rasterizer) == [PageSize(original.width, original.height, 72, None)]
    with open_document(open_source(str(path)), RasterOptions(rasterizer=rasterizer)) as document:  # type: ignore[arg-type]
        page = document.render(1)
    assert (page.width, page.height, page.dpi) == (original.width, original.height, 72)
    difference = ImageStat.Stat(ImageChops.difference(page.image.convert("L"), original.convert("L"))).mean[0]
    assert difference < 4  # the scan's own pixels (JPEG round trip aside), not a resampled copy
    # Without the rule: upsampled 2.8x to 200 DPI (1653 x 2339), for the processor to shrink it again.
    upsampled = (math.ceil(original.width * 200 / 72), math.ceil(original.height * 200 / 72), 200)
    assert sizes(path, rasterizer, scan_resolution=False)[0][:3] == upsampled


@rasterizers
def test_a_scan_denser_than_the_dpi_asked_is_rendered_at_the_dpi_asked(tmp_path: Path, rasterizer: str) -> None:
    scan = make_scanned_pdf(tmp_path / "scan300.pdf", SAMPLE_PAGES[:1], dpi=300)
    assert sizes(scan, rasterizer) == [PageSize(1654, 2339, 200, None)]
    assert sizes(scan, rasterizer, dpi=100) == [PageSize(827, 1170, 100, None)]


@rasterizers
def test_only_a_page_that_is_one_scan_and_nothing_visible_besides_is_capped(tmp_path: Path, rasterizer: str) -> None:
    kinds = ["scan", "ocr-scan", "annotated", "text", "blank"]
    pdf = make_layer_pdf(tmp_path / "kinds.pdf", [(kind, SAMPLE_PAGES[0]) for kind in kinds], scan_dpi=100)
    found = [size.dpi for size in sizes(pdf, rasterizer)]
    # A scan, and a scan under an earlier OCR's invisible text: 100. Visible text over the scan
    # (a filled-in form), born-digital text, a blank page: the DPI asked for.
    assert found == [100, 100, 200, 200, 200]
    assert [size.dpi for size in sizes(pdf, rasterizer, scan_resolution=False)] == [200] * 5


def test_born_digital_pages_keep_the_dpi_asked(tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "text.pdf", SAMPLE_PAGES)
    assert {size[:3] for size in sizes(pdf, "pdfium", dpi=300)} == {(2481, 3508, 300)}
