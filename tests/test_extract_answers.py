"""Answers in the wrong place or with extra text are read, and what was ignored is said (#22 item 4).

A server's reasoning parser can take all of an answer into `reasoning_content` while thinking is
off (`ocr` explains that; `extract` said "not JSON (it is empty)"); a model without constrained
decoding may follow its JSON with a note that holds braces ("extra data"), and its repair failed
the same way. The first complete JSON value that validates is taken; the record's `note` and a
warning say what was ignored."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_extract import FIELDS, FIELDS_SCHEMA, JsonServer, run

from exaone_cli.extract.validate import check_generation

VALID = {"상호": "카페", "합계금액": 4500, "거래일자": "2024-03-01"}
TEXT = json.dumps(VALID, ensure_ascii=False)


@dataclass
class ReasoningOnlyServer(JsonServer):
    """A server whose reasoning parser takes the whole answer, thinking off or not."""

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = super().answer(body)
        message = reply["choices"][0]["message"]
        message["reasoning_content"], message["content"] = message["content"], ""
        return reply


def test_json_that_came_as_reasoning_is_taken_and_said(receipt_png: Path) -> None:
    with ReasoningOnlyServer(contents=[TEXT], reasoning_parser=True) as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["valid"] and result["data"] == VALID and result["attempts"] == 1
    assert "the answer came as reasoning although thinking was off" in result["note"]
    assert stderr.count("the answer came as reasoning although thinking was off") == 1


def test_json_followed_by_a_note_with_braces_is_taken(receipt_png: Path) -> None:
    answer = TEXT + "\n\n참고: {합계금액}은 부가세 포함 {4,500원} 기준입니다."
    with JsonServer(contents=[answer]) as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["valid"] and result["data"] == VALID and result["attempts"] == 1 and result["raw"] == answer
    ignored = "text around the JSON was ignored: after it '참고: {합계금액}은 부가세 포함 {4,500원} 기준입니다.'"
    assert result["note"] == ignored
    assert "ignored: after it" in stderr


def test_the_repair_answer_with_extra_text_is_taken_too(receipt_png: Path) -> None:
    wrong = '{"상호": "카페", "합계금액": "4,500원", "거래일자": null}'
    with JsonServer(contents=[wrong, f"수정했습니다: {TEXT} (금액은 {{정수}}로)"]) as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["valid"] and result["data"] == VALID and result["attempts"] == 2
    ignored = "text around the JSON was ignored: before it '수정했습니다:' and after it '(금액은 {정수}로)'"
    assert result["note"] == ignored


def check(answer: str, thinking: bool = False) -> Any:
    return check_generation(answer, FIELDS_SCHEMA, thinking=thinking, finish_reason="stop", max_new_tokens=99)


def test_the_first_value_that_validates_wins() -> None:
    first = '{"상호": "카페", "합계금액": "사천오백", "거래일자": null}'
    checked = check(f"{first}\n정정: {TEXT}")
    assert checked.valid and checked.data == VALID
    assert checked.note.startswith("text around the JSON was ignored, with 1 other JSON value(s): before it")
    none_valid = check(f"{first} 그리고 {{합계}}")  # no value validates: the first one's errors
    assert none_valid.errors == ["$.합계금액: '사천오백' is not of type 'integer', 'null'"]


@pytest.mark.parametrize(
    ("answer", "note"),
    [
        (TEXT, None),  # the answer is the JSON
        (f"```json\n{TEXT}\n```", None),  # a fence is not extra text
        (f"<think>{TEXT}</think>\n\n", "the answer came as reasoning"),
        (f'Sure: {TEXT} {{"상호":', "text around the JSON was ignored: before it 'Sure:' and after it '{\"상호\":'"),
    ],
)
def test_where_the_json_was_found_is_said_only_when_it_was_not_alone(answer: str, note: str | None) -> None:
    checked = check(answer)
    assert checked.valid and checked.data == VALID
    assert checked.note == note or (note is not None and checked.note.startswith(note))


def test_reasoning_is_not_taken_for_the_answer_when_thinking_is_on() -> None:
    checked = check(f"{TEXT}</think>\n\n", thinking=True)
    assert checked.errors == ["the answer is not JSON (it is empty)"] and checked.reasoning == TEXT
