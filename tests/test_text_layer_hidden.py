"""Only what a reader sees is a page's text: white text, 0.5-point text, render mode 3, text under a
black box or an image drawn after it, clipped away, outside the crop box, or in an optional-content
layer that is off never reaches a layer's `text`, a prompt or `--text-layer prefer`'s output, and
the page says what was hidden (pages/visibility.py). PDFs written by hand, one page per way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_openai import FakeServer
from text_layer_fixtures import HIDDEN_KINDS, SECRET, SHOWN, make_helvetica_pdf, make_hidden_text_pdf
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
}


@pytest.fixture(scope="module")
def hidden_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    kinds = [*HIDDEN_KINDS, "white-on-black", "grey"]
    return make_hidden_text_pdf(tmp_path_factory.mktemp("hidden") / "contract.pdf", kinds)


def test_each_way_of_hiding_text_keeps_it_out_of_the_text_and_says_so(hidden_pdf: Path) -> None:
    layers = read_text_layers(open_source(str(hidden_pdf)), range(1, len(HIDDEN_KINDS) + 1))
    for kind, layer in zip(HIDDEN_KINDS, layers, strict=True):
        assert (kind, layer.text) == (kind, SHOWN)  # not a digit of 999,999
        assert layer.verdict == "good" and not layer.complete, kind
        assert layer.hidden == len(SECRET.replace(" ", "")), kind
        assert f"hidden character(s) left out of the text ({CAUSE[kind]}" in (layer.reason or ""), kind


def test_light_text_on_a_dark_bar_and_grey_text_are_seen(hidden_pdf: Path) -> None:
    count = len(HIDDEN_KINDS)
    layers = read_text_layers(open_source(str(hidden_pdf)), [count + 1, count + 2])
    assert [(layer.text, layer.complete, layer.reason) for layer in layers] == [(f"{SHOWN}\n{SECRET}", True, None)] * 2


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
