"""The PDF text layer and its verdict (pages/text_layer.py), on PDFs made here the ways real ones
are: born-digital Korean and English, a CID font without /ToUnicode, a Korean font that is not
embedded, scans with an earlier OCR's invisible text, blank pages, all mixed in one file."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from pdf_fixtures import SAMPLE_PAGES, make_scanned_pdf, make_text_pdf
from text_layer_fixtures import make_helvetica_pdf, make_layer_pdf, make_unembedded_korean_pdf

from exaone_cli.errors import InputError
from exaone_cli.inputs import open_source
from exaone_cli.pages.text_layer import judge, read_text_layers, text_problem

KINDS = ["text", "unmapped", "ocr-scan", "buried", "scan", "blank"]


def layers(path: Path, pages: list[int] | None = None, password: str | None = None) -> list:
    return read_text_layers(open_source(str(path)), pages, password)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("layers")
    return make_layer_pdf(folder / "섞인 문서.pdf", [(kind, SAMPLE_PAGES[i % 3]) for i, kind in enumerate(KINDS)])


def test_born_digital_korean_and_english_text_is_good(tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "계약서.pdf", SAMPLE_PAGES)
    found = layers(pdf)
    assert [layer.verdict for layer in found] == ["good"] * 3
    assert [layer.text for layer in found] == SAMPLE_PAGES  # every character, lines kept, NFC
    assert all(layer.reason is None and layer.good for layer in found)


def test_a_cid_font_without_to_unicode_is_garbled(mixed: Path) -> None:
    (layer,) = layers(mixed, [2])
    assert layer.verdict == "garbled" and not layer.good
    assert "ToUnicode" in (layer.reason or "")
    assert "계약서" not in layer.text  # the layer really is garbage: glyph ids, not characters


def test_a_korean_font_that_is_not_embedded_reads_through_its_cmap(tmp_path: Path) -> None:
    pdf = make_unembedded_korean_pdf(tmp_path / "hwp.pdf", SAMPLE_PAGES)
    found = layers(pdf)
    assert [layer.verdict for layer in found] == ["good"] * 3
    assert [layer.text for layer in found] == SAMPLE_PAGES


def test_a_korean_font_not_embedded_and_without_any_map_is_garbled(tmp_path: Path) -> None:
    pdf = make_unembedded_korean_pdf(tmp_path / "careless.pdf", SAMPLE_PAGES, mapped=False)
    found = layers(pdf)
    assert [layer.verdict for layer in found] == ["garbled"] * 3
    assert all("영수증" not in layer.text and "계약서" not in layer.text for layer in found)


def test_a_scan_with_an_earlier_ocrs_invisible_text_is_invisible(mixed: Path) -> None:
    ocr_scan, buried = layers(mixed, [3, 4])
    assert ocr_scan.verdict == "invisible" and "invisible" in (ocr_scan.reason or "")
    assert ocr_scan.text == ""  # hidden text is never a page's text, not even an OCR's
    assert buried.verdict == "invisible"  # drawn, then painted over by the page image


def test_text_under_a_see_through_watermark_is_still_good(tmp_path: Path) -> None:
    pdf = make_layer_pdf(tmp_path / "draft.pdf", [("watermarked", SAMPLE_PAGES[1])])
    assert [(layer.verdict, layer.text) for layer in layers(pdf)] == [("good", SAMPLE_PAGES[1])]


def test_blank_pages_and_scans_without_text_have_none(mixed: Path, tmp_path: Path) -> None:
    assert [(layer.verdict, layer.text) for layer in layers(mixed, [5, 6])] == [("none", ""), ("none", "")]
    scan = make_scanned_pdf(tmp_path / "scan.pdf", SAMPLE_PAGES[:1])
    assert layers(scan)[0].verdict == "none"


def test_mixed_pages_in_one_file_are_judged_page_by_page_in_the_order_asked(mixed: Path) -> None:
    verdicts = [layer.verdict for layer in layers(mixed)]
    assert verdicts == ["good", "garbled", "invisible", "invisible", "none", "none"]
    assert [(layer.page, layer.verdict) for layer in layers(mixed, [6, 1])] == [(6, "none"), (1, "good")]


def test_the_password_is_honoured_and_bad_input_is_an_input_error(tmp_path: Path, receipt_png: Path) -> None:
    locked = make_text_pdf(tmp_path / "locked.pdf", SAMPLE_PAGES[:1], password="암호123")
    with pytest.raises(InputError, match="password"):
        layers(locked)
    assert layers(locked, password="암호123")[0].text == SAMPLE_PAGES[0]
    with pytest.raises(InputError, match="no page 2"):
        layers(locked, [2], password="암호123")
    with pytest.raises(InputError, match="not a PDF"):
        layers(receipt_png)


def test_reading_text_layers_imports_no_torch_nor_pillow(mixed: Path) -> None:
    code = (
        "import json, sys; from exaone_cli.inputs import open_source; "
        "from exaone_cli.pages.text_layer import read_text_layers; "
        f"found = read_text_layers(open_source({str(mixed)!r})); "
        "print(json.dumps([[l.verdict for l in found], sorted(m for m in ('torch', 'transformers', 'PIL.Image')"
        " if m in sys.modules)]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    verdicts, heavy = json.loads(proc.stdout)
    assert verdicts[0] == "good" and heavy == []  # the visibility render stays a numpy array


def test_a_hyphen_at_a_line_end_reads_as_the_page_shows_it_not_as_pdfiums_marker(tmp_path: Path) -> None:
    """pdfium joins a line ending in a hyphen to the next with U+0002 ("founda\\x02tional"), or
    U+FFFE through another call: the page shows a hyphen and a line break, and so does the text,
    visible-only text included (a page that hid something is read character run by run)."""
    lines = b"(This is about founda-) Tj T* (tional research and well-) Tj T* (known results.) Tj"
    plain = b"BT /F1 12 Tf 72 700 Td 14 TL %s ET" % lines
    hiding = plain + b" BT /F1 12 Tf 1 g 72 500 Td (white words) Tj ET"
    pdf = make_helvetica_pdf(tmp_path / "hyphens.pdf", [plain, hiding])
    expected = "This is about founda-\ntional research and well-\nknown results."
    assert [(layer.text, layer.hidden) for layer in layers(pdf)] == [(expected, 0), (expected, 10)]


def test_a_picture_inside_a_form_xobject_counts_for_the_pictures_rule(tmp_path: Path) -> None:
    text = b"BT /F1 12 Tf 72 760 Td (Figure 1. Revenue by quarter, as a chart.) Tj ET"
    pdf = make_helvetica_pdf(tmp_path / "chart.pdf", [text + b" /Fm1 Do", text])
    chart, plain = layers(pdf)
    assert chart.verdict == "good" and not chart.complete and chart.pictures == pytest.approx(300 * 400 / (595 * 800))
    assert "images cover 25% of the page" in (chart.reason or "")
    assert (plain.complete, plain.pictures) == (True, 0.0)


def test_no_control_character_but_newline_and_tab_is_in_any_text(mixed: Path, tmp_path: Path) -> None:
    careless = make_unembedded_korean_pdf(tmp_path / "careless.pdf", SAMPLE_PAGES, mapped=False)
    found = layers(mixed) + layers(careless)
    assert any(layer.verdict == "garbled" and layer.text for layer in found)  # garbage is still kept, cleaned
    for layer in found:
        assert not [ch for ch in layer.text if unicodedata.category(ch) == "Cc" and ch not in "\n\t"], layer


# ---- the verdict on text alone ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "제1조 (목적) 이 계약은 갑과 을 사이의 용역 제공에 관한 사항을 정한다. Article 1. Purpose",
        "大韓民國 憲法 제1조 ① 대한민국은 민주공화국이다.",
        "請求書 合計金額 12,500円 お支払い期限 2025年1月31日",
        "Договор аренды нежилого помещения № 12 от 1 января 2025 года",
        "\uf0b7 첫째 항목입니다\n\uf0b7 둘째 항목입니다\n\uf0b7 셋째 항목입니다",  # Wingdings bullets
        "ㄱ. 계약 기간은 1년으로 한다.\nㄴ. 계약 금액은 1,200만원으로 한다.\nㄷ. 대금은 매월 말일에 지급한다.",
        "α = 0.05 수준에서 유의하며 β 계수는 1.2이다. 표준편차 σ는 0.3이다.",
        unicodedata.normalize("NFD", "영수증 합계 12,500원"),  # decomposed Hangul: NFC composes it
        "\u1112\u119e\u11ab글 문서: \u1112\u119e\u11ab글과 \u1109\u119e\u11af 아래아",  # old Hangul (ᄒᆞᆫ글)
        "자음: ㄱ ㄲ ㄴ ㄷ ㄸ ㄹ ㅁ ㅂ ㅃ ㅅ ㅆ ㅇ\n모음: ㅏ ㅐ ㅑ ㅒ ㅓ ㅔ ㅕ ㅖ ㅗ ㅘ",  # a jamo chart
    ],
)
def test_real_text_passes(text: str) -> None:
    nfc = unicodedata.normalize("NFC", text)
    assert text_problem(nfc) is None
    assert judge(nfc) == ("good", None)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("영수증 \ufffd\ufffd 합계 \ufffd\ufffd\ufffd원 TOTAL", "replacement"),
        ("\ue001\ue002\ue003 \ue004\ue005 \ue006\ue007 12,500", "private-use"),
        ("\x01\x02\x03 \x04\x05 \x06\x07\x08\t\x0b\x0c\x0e\x0f", "control"),
        ("(cid:12)(cid:45)(cid:3) (cid:77)(cid:12) 합계", "(cid:N)"),
        ("ㅇㅕㅇㅅㅜㅈㅡㅇ ㅎㅏㅂㄱㅖ 12,500ㅇㅝㄴ", "jamo"),
        ("கᐁᬅ بఅა ሀកא අகᐁ ᬅبఅ 12 ሀ", "scripts"),  # glyph ids read as code points
    ],
)
def test_garbage_is_garbled(text: str, why: str) -> None:
    problem = text_problem(text)
    assert problem is not None and why in problem
    assert judge(text)[0] == "garbled"


def test_the_page_level_signals_decide_before_the_characters() -> None:
    text = "영수증 합계 12,500원"
    assert judge("  \n ") == ("none", "no text")
    assert judge(text, hidden=0.9)[0] == "invisible"
    assert judge(text, unmapped=0.5)[0] == "garbled"
    assert judge("- 3 -", image_coverage=0.95)[0] == "none"  # a page number stamped on a scan
    assert judge(text * 3, image_coverage=0.95)[0] == "good"  # text beside a large picture
