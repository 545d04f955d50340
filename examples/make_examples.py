"""Regenerate the sample inputs in examples/ (needs a Hangul font: Debian's fonts-nanum, and
fpdf2, from the `dev` extra).

    python examples/make_examples.py

receipt.png is a photo-like image; report.pdf is two scanned pages (JPEGs, no text layer: the
model reads them); business-report.pdf is born digital (Korean text in its own text layer, which
`--text-layer prefer` reads with no model at all).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).parent
FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)  # fpdf2 subsets the font: one line a dropped table


def receipt() -> Image.Image:
    font, bold = ImageFont.truetype(FONT, 22), ImageFont.truetype(FONT.replace(".ttf", "Bold.ttf"), 26)
    image = Image.new("RGB", (420, 520), "white")
    draw = ImageDraw.Draw(image)
    lines = [
        ("카페 한결 (서울 종로구)", bold),
        ("2026-11-26 09:41  영수증", font),
        ("-" * 34, font),
        ("아메리카노 x2      9,000원", font),
        ("카페라떼 x1        5,000원", font),
        ("치즈케이크 x1      6,500원", font),
        ("-" * 34, font),
        ("공급가액          18,636원", font),
        ("부가세             1,864원", font),
        ("합계              20,500원", bold),
        ("카드 승인번호 0042", font),
    ]
    y = 24
    for text, face in lines:
        draw.text((24, y), text, fill="black", font=face)
        y += 42
    return image


def report_pages() -> list[Image.Image]:
    font, bold = ImageFont.truetype(FONT, 28), ImageFont.truetype(FONT.replace(".ttf", "Bold.ttf"), 40)
    pages = []
    for number, (title, body) in enumerate(
        [
            ("2023년 사업 보고서", ["매출액: 1,234억 원", "영업이익: 56억 원", "전년 대비 매출 12% 증가"]),
            ("표 1. 분기별 매출", ["1분기  280억 원", "2분기  301억 원", "3분기  318억 원", "4분기  335억 원"]),
        ],
        start=1,
    ):
        page = Image.new("RGB", (827, 1169), "white")  # A4 at 100 DPI
        draw = ImageDraw.Draw(page)
        draw.text((80, 90), title, fill="black", font=bold)
        for i, line in enumerate(body):
            draw.text((80, 200 + 60 * i), line, fill="black", font=font)
        draw.text((390, 1100), f"- {number} -", fill="gray", font=font)
        pages.append(page)
    return pages


def business_report(path: Path) -> None:
    """A born-digital PDF, as a word processor exports it: the text is in the file, so a user with
    no weights can see `--text-layer prefer` work, and ask its pages a question through a server."""
    from fpdf import FPDF

    pdf = FPDF(unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_creation_date(datetime(2024, 3, 29, tzinfo=timezone.utc))  # the same bytes on every run
    pdf.add_font("Nanum", "", FONT)
    pdf.add_font("Nanum", "B", FONT.replace(".ttf", "Bold.ttf"))
    for title, body in BUSINESS_REPORT:
        pdf.add_page()
        pdf.set_font("Nanum", "B", size=20)
        pdf.set_xy(20, 20)
        pdf.multi_cell(170, 12, title)
        pdf.set_font("Nanum", size=13)
        pdf.set_xy(20, 40)
        pdf.multi_cell(170, 8, body)
    path.write_bytes(bytes(pdf.output()))


BUSINESS_REPORT = [
    (
        "2023년 사업보고서",
        "1. 회사의 개요\n당사는 1995년에 설립되어 전자부품을 제조·판매하고 있습니다.\n\n"
        "2. 사업의 내용\n2023년 연결 기준 매출액은 12조 4,500억원, 영업이익은 1조 2,340억원입니다.",
    ),
    (
        "3. 재무에 관한 사항",
        "2022년 연결 기준 매출액은 11조 8,200억원, 영업이익은 1조 1,000억원이었습니다.\n"
        "영업이익은 전년 대비 12.2% 증가했습니다.",
    ),
]


def main() -> None:
    receipt().save(HERE / "receipt.png", optimize=True)
    first, *rest = report_pages()
    first.save(HERE / "report.pdf", save_all=True, append_images=rest, resolution=100)
    business_report(HERE / "business-report.pdf")


if __name__ == "__main__":
    main()
