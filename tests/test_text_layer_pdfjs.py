"""The text layer and its verdict on real PDFs no one here wrote: a handful of Mozilla pdf.js's
regression files (tests/cases/pdfjs/README.md says where each comes from and what it shows)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exaone_cli.inputs import open_source
from exaone_cli.pages.text_layer import TextLayer, read_text_layers

CASES = Path(__file__).parent / "cases" / "pdfjs"


def first_page(name: str) -> TextLayer:
    return read_text_layers(open_source(str(CASES / name)), [1])[0]


def test_text_in_optional_content_a_viewer_does_not_draw_is_not_the_pages_text() -> None:
    layer = first_page("issue11144_reduced.pdf")  # pdfium's layer: "Group it up and weight 5 ..."
    assert layer.text == "" and layer.hidden == 32 and layer.verdict == "invisible"
    assert "covered, clipped or in a layer that is off" in (layer.reason or "")


def test_a_hyphenated_line_end_reads_as_printed_without_pdfiums_marker() -> None:
    layer = first_page("bug1873345.pdf")
    assert "a particular founda-\ntional approach" in layer.text
    assert "\x02" not in layer.text and layer.complete


@pytest.mark.parametrize("name", ["french_diacritics.pdf", "Type3WordSpacing.pdf"])
def test_fonts_without_to_unicode_that_decode_right_are_good(name: str) -> None:
    layer = first_page(name)
    assert (layer.verdict, layer.reason) == ("good", None)
    assert "à À â Â" in layer.text or "ab ba abba" in layer.text


def test_a_chart_of_hangul_jamo_is_text() -> None:
    layer = first_page("issue8424.pdf")
    assert layer.verdict == "good" and layer.text.startswith("ㄱ\nㄲ\nㄳ\nㄴ")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("annotation-freetext.pdf", "2 FreeText note(s)"),
        ("annotation-stamp.pdf", "1 stamp(s)"),
        ("annotation-text-widget.pdf", "6 filled-in form field(s)"),
    ],
)
def test_a_page_showing_form_values_or_annotations_is_not_complete(name: str, shown: str) -> None:
    layer = first_page(name)
    assert layer.verdict == "good" and not layer.complete
    assert f"the page shows {shown} the text layer does not hold" in (layer.reason or "")


def test_a_transparent_layer_over_a_picture_of_its_words_is_not_the_pages_text() -> None:
    """The words show, but as the picture's pixels: the text drawn over them leaves no mark, so it
    is no better than an earlier OCR's guess (what `prefer` must not print as the page)."""
    layer = first_page("issue14627.pdf")  # its layer: "Please refresh your browser ..."
    assert (layer.text, layer.verdict, layer.hidden) == ("", "invisible", 103)
    assert "an earlier OCR" in (layer.reason or "")


def test_labels_drawn_over_a_picture_are_seen() -> None:
    layers = read_text_layers(open_source(str(CASES / "knockout_groups_test.pdf")))
    assert [(layer.verdict, layer.hidden, layer.reason) for layer in layers] == [("good", 0, None)] * 3
    assert "Non-isolated Knockout (I=false, K=true)\nKNOCKOUT" in layers[0].text


def test_a_page_whose_crop_box_misses_its_media_box_shows_nothing() -> None:
    """pdfium gives page 3 a size of 0 x 0 points: its words are outside what a viewer shows (the
    check once failed to render it, and the page was 'not checked')."""
    layers = read_text_layers(open_source(str(CASES / "boundingBox_invalid.pdf")))
    shown = [(layer.verdict, layer.text) for layer in layers[:2]]
    assert shown == [("good", "Empty /MediaBox"), ("good", "Empty /CropBox")]
    assert (layers[2].verdict, layers[2].text, layers[2].hidden) == ("invisible", "", 37)
    assert "outside the visible page: 37" in (layers[2].reason or "")
