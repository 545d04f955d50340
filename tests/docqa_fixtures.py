"""Long documents for document-mode tests and benchmarks, and a fake server that can read them.

A fake server cannot run a vision model, but it can read a code: every page made here carries its
1-based page number as a strip of black and white squares along its top edge (binary, most
significant bit first), large enough to survive rendering at any DPI and resizing to any pixel
budget. The server reads the strip to "transcribe" a page (it answers with that page's known
text), and answers questions only from the page text it was actually sent.
"""

from __future__ import annotations

import base64
import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_openai import FakeServer
from pdf_fixtures import A4_MM, FONT, new_pdf

CODE_BITS = 10  # pages 1..1023
CODE_TOP_MM, CODE_SIZE_MM, CODE_STEP_MM, CODE_LEFT_MM = 4.0, 8.0, 12.0, 20.0

CLAUSES = [
    "계약 당사자는 본 계약의 내용을 신의에 따라 성실히 이행하여야 한다.",
    "대금은 매월 말일에 공급자가 지정한 계좌로 현금으로 지급한다.",
    "회의록은 참석자 전원의 서명을 받아 5년간 본사 문서고에 보관한다.",
    "납품 일정은 천재지변 등 부득이한 사유가 있는 경우 상호 협의하여 조정할 수 있다.",
    "비밀 유지 의무는 계약 종료 후에도 3년간 유지되며 위반 시 손해를 배상한다.",
    "분쟁이 발생하면 먼저 협의하고, 협의가 되지 않으면 서울중앙지방법원을 관할 법원으로 한다.",
    "보증 기간은 검수 완료일로부터 1년으로 하며, 그 기간 중의 하자는 무상으로 보수한다.",
    "공급자는 납품 전에 품질 검사 성적서를 제출하고 발주자의 확인을 받는다.",
    "발주자는 납품일로부터 10일 이내에 검수를 마치고 그 결과를 서면으로 통지한다.",
    "이 계약에 정하지 않은 사항은 관계 법령과 일반 상관례에 따른다.",
    "계약 내용의 변경은 양 당사자가 기명날인한 서면으로만 할 수 있다.",
    "The parties shall keep written records of every delivery and inspection.",
]


def contract_pages(count: int, answer_page: int, answer: str) -> list[str]:
    """`count` pages of plausible Korean contract text (about 450 characters each, a little less
    than a real page's), the same clauses shuffled per page, and `answer` on page `answer_page`
    only (0: nowhere)."""
    rng = random.Random(count)
    pages = []
    for number in range(1, count + 1):
        clauses = rng.sample(CLAUSES, 10)
        body = f"제{number}조\n" + "\n".join(clauses)
        if number == answer_page:
            body += "\n" + answer
        pages.append(body)
    return pages


def make_coded_pdf(
    path: Path | str, pages: Sequence[str], *, scanned: bool = False, dpi: int = 72, first_code: int = 1
) -> Path:
    """A PDF whose page i shows `pages[i]` and the code `first_code + i` (give a second file other
    codes than the first). `scanned`: every page is one image (no text layer), as a scanner makes
    it; otherwise real text in NanumGothic."""
    pdf = new_pdf(unit="mm", format=A4_MM)
    pdf.set_auto_page_break(False)
    pdf.add_font("Nanum", "", str(FONT))
    for number, text in enumerate(pages, start=first_code):
        pdf.add_page()
        if scanned:
            pdf.image(_scan(number, text, dpi), x=0, y=0, w=A4_MM[0], h=A4_MM[1])
            continue
        pdf.set_fill_color(0, 0, 0)
        for bit in _bits(number):
            if bit[1]:
                pdf.rect(CODE_LEFT_MM + bit[0] * CODE_STEP_MM, CODE_TOP_MM, CODE_SIZE_MM, CODE_SIZE_MM, style="F")
        pdf.set_font("Nanum", size=11)
        pdf.set_xy(20, 20)
        pdf.multi_cell(170, 6, text)
    path = Path(path)
    path.write_bytes(bytes(pdf.output()))
    return path


def coded(pages: Sequence[str], first_code: int = 1) -> dict[int, str]:
    """The texts of a coded PDF by code, for DocumentServer.texts."""
    return {first_code + i: text for i, text in enumerate(pages)}


def _bits(number: int) -> list[tuple[int, int]]:
    return [(i, (number >> (CODE_BITS - 1 - i)) & 1) for i in range(CODE_BITS)]


def _scan(number: int, text: str, dpi: int) -> Any:
    from PIL import Image, ImageDraw, ImageFont

    width, height = (round(mm / 25.4 * dpi) for mm in A4_MM)
    image = Image.new("L", (width, height), 235)
    draw = ImageDraw.Draw(image)
    px = dpi / 25.4
    for index, bit in _bits(number):
        if bit:
            left, top = (CODE_LEFT_MM + index * CODE_STEP_MM) * px, CODE_TOP_MM * px
            draw.rectangle((left, top, left + CODE_SIZE_MM * px, top + CODE_SIZE_MM * px), fill=0)
    font = ImageFont.truetype(str(FONT), max(8, round(11 / 72 * dpi)))
    draw.multiline_text((20 * px, 20 * px), text, fill=30, font=font)
    return image.convert("RGB")


def read_page_code(image: Any) -> int:
    """The page number in an image's code strip (the image may be resized, at any DPI)."""
    gray = image.convert("L")
    width, height = gray.size
    number = 0
    for index in range(CODE_BITS):
        x = (CODE_LEFT_MM + index * CODE_STEP_MM + CODE_SIZE_MM / 2) / A4_MM[0] * width
        y = (CODE_TOP_MM + CODE_SIZE_MM / 2) / A4_MM[1] * height
        number = number * 2 + (gray.getpixel((int(x), int(y))) < 128)
    return number


@dataclass
class DocumentServer(FakeServer):
    """A fake server for document mode. An image request (a transcription, or `--look`) is
    answered from the code strips: the known text of the page it shows (`texts`, by code). A
    text-only request goes to `respond(prompt_text)`; `None` from it means the default echo.
    `looks` records the codes of the pages each image question showed."""

    texts: dict[int, str] = field(default_factory=dict)
    respond: Callable[[str], str | None] = lambda prompt: None
    transcriptions: int = 0
    questions: list[str] = field(default_factory=list)
    looks: list[list[int]] = field(default_factory=list)

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        parts = body["messages"][-1]["content"]
        text = next(part["text"] for part in parts if part["type"] == "text")
        images = [_decode(part["image_url"]["url"]) for part in parts if part["type"] == "image_url"]
        reply = super().answer(body)
        message = reply["choices"][0]["message"]
        if images and "Transcribe everything" in text:
            self.transcriptions += 1
            message["content"] = self.texts[read_page_code(images[0])]
            message.pop("reasoning_content", None)
            return reply
        if images:
            self.looks.append([read_page_code(image) for image in images])
        else:
            self.questions.append(text)
        answer = self.respond(text)
        if answer is not None:
            thinking = body.get("chat_template_kwargs", {}).get("enable_thinking", True)
            message["content"] = f"I read the pages.</think>\n\n{answer}" if thinking else answer
        return reply


def _decode(url: str) -> Any:
    from PIL import Image

    data = base64.b64decode(url.split(",", 1)[1])
    return Image.open(io.BytesIO(data))
