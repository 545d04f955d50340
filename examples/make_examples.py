"""Regenerate the sample inputs in examples/ (needs a Hangul font: Debian's fonts-nanum).

    python examples/make_examples.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).parent
FONT = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"


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


def main() -> None:
    receipt().save(HERE / "receipt.png", optimize=True)
    first, *rest = report_pages()
    first.save(HERE / "report.pdf", save_all=True, append_images=rest, resolution=100)


if __name__ == "__main__":
    main()
