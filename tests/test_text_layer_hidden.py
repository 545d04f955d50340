"""Only what a reader sees is a page's text: white text, 0.5-point text, render mode 3, text under a
black box or an image drawn after it, clipped away, outside the crop box, or in an optional-content
layer that is off never reaches a layer's `text`, a prompt or `--text-layer prefer`'s output, and
the page says what was hidden (pages/visibility.py). PDFs written by hand, one page per way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_openai import FakeServer
from pdf_fixtures import FONT, new_pdf
from text_layer_fixtures import HIDDEN_KINDS, SECRET, SEEN_KINDS, SHOWN, make_helvetica_pdf, make_hidden_text_pdf
from typer.testing import CliRunner

from exaone_cli.ask.page_texts import good_text_layers
from exaone_cli.cli import app
from exaone_cli.inputs import open_source
from exaone_cli.ocr.pipeline import plan_documents
from exaone_cli.pages import PageRanges, RasterOptions
from exaone_cli.pages.text_layer import read_text_layers

CAUSE = {
    "white": "coloured like what is under it",
    "tiny": "too small to read",
    "invisible": "drawn invisibly",
    "covered": "coloured like what is under it",  # black text under a black box: the same colour
    "pictured": "under an image",
    "clipped": "covered, clipped or in a layer that is off",
    "outside": "outside the visible page",
    "layer-off": "covered, clipped or in a layer that is off",
    "on-picture": "coloured like what is under it",  # grey text on a picture of that grey, drawn before it
}


@pytest.fixture(scope="module")
def hidden_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kinds = [*HIDDEN_KINDS, *SEEN_KINDS]
    return make_hidden_text_pdf(tmp_path_factory.mktemp("hidden") / "contract.pdf", kinds)


def test_each_way_of_hiding_text_keeps_it_out_of_the_text_and_says_so(hidden_pdf: Path) -> None:
    layers = read_text_layers(open_source(str(hidden_pdf)), range(1, len(HIDDEN_KINDS) + 1))
    for kind, layer in zip(HIDDEN_KINDS, layers, strict=True):
        assert (kind, layer.text) == (kind, SHOWN)  # not a digit of 999,999
        assert layer.verdict == "good" and not layer.complete, kind
        assert layer.hidden == len(SECRET.replace(" ", "")), kind
        assert f"hidden character(s) left out of the text ({CAUSE[kind]}" in (layer.reason or ""), kind


def test_light_text_on_a_dark_bar_grey_text_and_black_text_on_a_picture_are_seen(hidden_pdf: Path) -> None:
    count = len(HIDDEN_KINDS)
    layers = read_text_layers(open_source(str(hidden_pdf)), range(count + 1, count + len(SEEN_KINDS) + 1))
    seen = [(layer.text, layer.complete, layer.reason) for layer in layers]
    assert seen == [(f"{SHOWN}\n{SECRET}", True, None)] * len(SEEN_KINDS)


def test_invisible_text_over_ink_is_hidden_all_the_same(tmp_path: Path) -> None:
    """An OCR layer lies on its scan's own letters: ink under every character, still not drawn."""
    hatch = b" ".join(b"70 %d 260 1 re" % y for y in range(592, 620, 3)) + b" f"
    shown = b"BT /F1 10 Tf 72 700 Td (%s) Tj ET" % SHOWN.encode()
    ocr = b"BT /F1 14 Tf 3 Tr 72 600 Td (%s) Tj ET" % SECRET.encode()
    (layer,) = read_text_layers(
        open_source(str(make_helvetica_pdf(tmp_path / "ocr.pdf", [b"\n".join([shown, hatch, ocr])])))
    )
    assert (layer.text, layer.hidden) == (SHOWN, len(SECRET.replace(" ", "")))
    assert "drawn invisibly" in (layer.reason or "")


def test_a_page_that_is_mostly_hidden_text_is_invisible(tmp_path: Path) -> None:
    pdf = make_hidden_text_pdf(tmp_path / "cv.pdf", ["white"], secret=SECRET * 8)
    (layer,) = read_text_layers(open_source(str(pdf)))
    assert layer.verdict == "invisible" and layer.text == SHOWN
    assert "of the text hidden (" in (layer.reason or "") and "coloured like what is under it" in (layer.reason or "")


def _photo_pdf(path: Path, colour: tuple[int, int, int]) -> Path:
    """A black photo with a bright line across it (a horizon) over the top of the page, a caption
    under it, and an account number written over the photo in `colour`, its baseline just above
    the line: the line runs through the characters' boxes (their descent) but under the digits."""
    from PIL import Image, ImageDraw

    photo = Image.new("RGB", (1900, 950), "black")  # 0.1 mm a pixel, placed at (10, 10) mm
    ImageDraw.Draw(photo).rectangle((0, 406, 1899, 411), fill=(230, 230, 230))  # 50.6 to 51.1 mm down the page
    pdf = new_pdf(unit="mm", format=(210, 297))
    pdf.add_font("Nanum", "", str(FONT))
    pdf.add_page()
    pdf.image(photo, x=10, y=10, w=190, h=95)
    pdf.set_font("Nanum", size=14)
    pdf.set_text_color(*colour)
    pdf.text(20, 50, "ACCOUNT 110234567890")
    pdf.set_text_color(0, 0, 0)
    pdf.text(20, 120, "사진 1. 야간 촬영")
    pdf.output(str(path))
    return path


def test_black_words_on_a_black_photo_are_hidden_and_white_words_on_it_are_seen(tmp_path: Path) -> None:
    """The photo's own edges hold ink in every character's box: only a render without the words
    tells whether they show (a tester's black text on a black picture passed as visible)."""
    (black,) = read_text_layers(open_source(str(_photo_pdf(tmp_path / "black.pdf", (0, 0, 0)))))
    assert (black.text, black.hidden) == ("사진 1. 야간 촬영", len("ACCOUNT110234567890"))
    assert not black.complete and "coloured like what is under it" in (black.reason or "")
    (white,) = read_text_layers(open_source(str(_photo_pdf(tmp_path / "white.pdf", (255, 255, 255)))))
    assert (white.text, white.hidden) == ("ACCOUNT 110234567890\n사진 1. 야간 촬영", 0)
    assert "hidden" not in (white.reason or "")  # only the pictures rule speaks: the photo is 29% of the page


def test_prefer_hint_and_document_mode_never_pass_hidden_text_on(tmp_path: Path) -> None:
    """The page hiding white text goes to the model under prefer (with a note saying why) and to
    ask's document mode's model too; under hint its prompt holds only the visible text; the
    page showing everything is taken from its layer; --dry-run says what was hidden."""
    pdf = make_hidden_text_pdf(tmp_path / "contract.pdf", ["white", "grey"])
    runner = CliRunner()
    for mode in ("prefer", "hint"):
        with FakeServer() as server:
            args = ["ocr", str(pdf), "--jsonl", "--dpi", "40", "--server", server.url, "--text-layer", mode]
            result = runner.invoke(app, args)
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert result.exit_code == 0, result.stderr
        prompts = [_text_of(body) for body in server.requests]
        if mode == "prefer":
            assert "999,999" not in prompts[0]
            assert [line["text_source"] for line in lines] == ["model", "text-layer"]
            assert "hidden character(s) left out of the text" in lines[0]["note"]
            assert len(server.requests) == 1
        else:
            layers = sorted(prompt.split("<text_layer>")[1].split("</text_layer>")[0].strip() for prompt in prompts)
            assert layers == [SHOWN, f"{SHOWN}\n{SECRET}"]  # the white page's hint holds only what it shows
    plans = plan_documents([str(pdf)], PageRanges.all(), RasterOptions(dpi=40), read_layers=True)
    assert list(good_text_layers(plans, None)) == [(0, 2)]
    dry = json.loads(runner.invoke(app, ["ocr", str(pdf), "--dry-run", "--json", "--text-layer", "prefer"]).stdout)
    first = dry["pages"][0]
    assert (first["text_layer"], first["text_source"]) == ("good", "model")
    reason = first["text_layer_reason"]
    assert "20 hidden character(s) left out of the text (coloured like what is under it: 20)" in reason


def _text_of(body: dict[str, object]) -> str:
    messages = body["messages"]
    assert isinstance(messages, list)
    return "".join(part["text"] for part in messages[0]["content"] if part["type"] == "text")


def test_a_glyph_squeezed_to_a_sliver_costs_neither_its_page_nor_the_file(tmp_path: Path) -> None:
    """A `W` drawn at 2% of its width (`2 Tz`) has a box under a point wide: measuring what lies
    under it asked pypdfium2 for a bitmap 0 pixels wide, and its ValueError left every page of
    the file "not read". The sliver is no word a reader can see; the rest of the page is read, and
    the other page is taken from its layer as usual."""
    sentence = b"BT /F1 12 Tf 72 700 Td (The total due is 12,500 won, payable by March.) Tj ET"
    squeezed = b"BT /F1 12 Tf 100.5 650 Td 2 Tz (W) Tj 100 Tz (ide) Tj ET"
    pdf = make_helvetica_pdf(tmp_path / "squeezed.pdf", [sentence + b"\n" + squeezed, sentence])
    first, second = read_text_layers(open_source(str(pdf)))
    assert first.verdict == "good" and first.text.startswith("The total due is 12,500 won, payable by March.\n")
    assert (second.verdict, second.complete) == ("good", True)
    dry = CliRunner().invoke(app, ["ocr", str(pdf), "--dry-run", "--json", "--text-layer", "prefer"])
    assert dry.exit_code == 0, dry.stderr
    pages = json.loads(dry.stdout)["pages"]
    assert [page["text_layer"] for page in pages] == ["good", "good"]
    assert pages[1]["text_source"] == "text-layer"


def test_a_page_whose_check_fails_is_none_and_the_files_other_pages_keep_their_layers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever else a check may trip on one day: that page goes to the model, with the reason."""
    from exaone_cli.pages import text_layer

    checked = text_layer.char_visibility
    calls = iter(range(10))

    def fails_once(*args: object) -> object:
        if next(calls) == 0:
            raise ValueError("something no page should do")
        return checked(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(text_layer, "char_visibility", fails_once)
    sentence = b"BT /F1 12 Tf 72 700 Td (The total due is 12,500 won.) Tj ET"
    first, second = read_text_layers(open_source(str(make_helvetica_pdf(tmp_path / "two.pdf", [sentence] * 2))))
    assert (first.verdict, first.text) == ("none", "")
    assert first.reason == "this page's text could not be checked (ValueError: something no page should do)"
    assert (second.verdict, second.text) == ("good", "The total due is 12,500 won.")
