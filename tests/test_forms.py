"""Pages look as they do in a viewer: filled-in form fields and annotations are drawn by pdfium
(the default rasterizer) as poppler draws them (issue #12 item 5). Compared where the value is,
by dark pixels, not pixel for pixel: the two draw fonts and anti-aliasing differently."""

from __future__ import annotations

from pathlib import Path

import pytest
from form_fixtures import FORM_CASES, VALUE_RECT, FormCase, write_form_pdf
from PIL import Image
from replay_server import CASES

from exaone_cli.inputs import open_source
from exaone_cli.pages import RasterOptions, open_document

DPI = 100
SHOWN = 200  # dark pixels in the value's box: "FILLED-42" in 18 pt at 100 DPI makes 540-640


def render(path: Path, rasterizer: str) -> Image.Image:
    with open_document(open_source(str(path)), RasterOptions(rasterizer=rasterizer, dpi=DPI)) as document:  # type: ignore[arg-type]
        return document.render(1).image


def dark_pixels_in_value_box(image: Image.Image) -> int:
    """Dark pixels inside VALUE_RECT, 3 pt in from its edges (a field's border is not its value)."""
    scale = DPI / 72
    x0, y0, x1, y1 = VALUE_RECT
    box = (
        round((x0 + 3) * scale),
        round((792 - y1 + 3) * scale),
        round((x1 - 3) * scale),
        round((792 - y0 - 3) * scale),
    )
    return sum(1 for value in image.convert("L").crop(box).get_flattened_data() if value < 128)  # type: ignore[operator]


def test_a_form_page_copied_out_of_its_document_shows_its_value() -> None:
    """tests/cases/form-fields--extracted-page.pdf: widgets with appearance streams, no /AcroForm.
    pdfium rendered the field blank; poppler showed FILLED-42."""
    case = CASES / "form-fields--extracted-page.pdf"
    pdfium, poppler = (dark_pixels_in_value_box(render(case, name)) for name in ("pdfium", "poppler"))
    assert poppler > SHOWN
    assert pdfium > SHOWN and 0.5 < pdfium / poppler < 2


@pytest.mark.parametrize("case", FORM_CASES, ids=[case.name for case in FORM_CASES])
def test_pdfium_draws_forms_and_annotations_as_poppler_does(tmp_path: Path, case: FormCase) -> None:
    path = write_form_pdf(tmp_path, case)
    pdfium, poppler = (dark_pixels_in_value_box(render(path, name)) for name in ("pdfium", "poppler"))
    assert (poppler > SHOWN, pdfium > SHOWN) == (case.shows, case.shows)
    if case.shows:
        assert 0.5 < pdfium / poppler < 2  # the same kind of mark, not just any


def test_the_label_outside_the_form_is_drawn_once(tmp_path: Path) -> None:
    """Drawing forms after the page must not draw the page's own content twice or over it."""
    path = write_form_pdf(tmp_path, FORM_CASES[2])
    image = render(path, "pdfium").convert("L")
    label = image.crop((round(72 * DPI / 72), round(80 * DPI / 72), round(140 * DPI / 72), round(100 * DPI / 72)))
    assert 30 < sum(1 for value in label.get_flattened_data() if value < 128) < 600  # type: ignore[operator]


@pytest.mark.parametrize("case", FORM_CASES[:3], ids=lambda case: case.name)
def test_both_rasterizers_send_a_black_on_white_form_page_as_png(tmp_path: Path, case: FormCase) -> None:
    """What a server gets for the same page does not depend on the rasterizer: rendered text
    goes as PNG (pdfium's few tinted edge pixels in form fields do not make it a photo)."""
    from exaone_cli.engines.images import data_url

    pdf = write_form_pdf(tmp_path, case)
    kinds = []
    for rasterizer in ("pdfium", "poppler"):
        with open_document(open_source(str(pdf)), RasterOptions(dpi=200, rasterizer=rasterizer)) as document:
            kinds.append(data_url(document.render(1).image).split(";", 1)[0])
    assert kinds == ["data:image/png", "data:image/png"]


def test_a_noisy_scan_still_goes_as_jpeg() -> None:
    from exaone_cli.engines.images import encode

    noise = Image.merge("RGB", [Image.effect_noise((400, 300), 40) for _ in range(3)])  # sensor noise in colour
    assert encode(noise)[0] == "image/jpeg"
