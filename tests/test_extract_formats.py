"""Every `format` a schema uses is checked, or said not to be (#22 item 2).

jsonschema's FormatChecker silently skips `date-time`, `time`, `uri`, ... when their optional
packages are absent, so "어제 오후 2시쯤" passed as a date-time. exaone declares them
(`jsonschema[format-nongpl]`), says once which formats of a schema cannot be checked, and the
local grammar enforces date-time and time exactly as validation checks them."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import jsonschema
import pytest
from test_extract import JsonServer, run

from exaone_cli.engines.grammar import GrammarCompiler
from exaone_cli.engines.grammar_schema import DATE_TIME_PATTERN, TIME_PATTERN, decoding_schema, grammar_problems
from exaone_cli.extract.validate import STANDARD_FORMATS, check_generation, format_warnings


def one_field(fmt: str) -> dict:
    return {"type": "object", "properties": {"v": {"type": "string", "format": fmt}}, "required": ["v"]}


def errors(fmt: str, value: str) -> list[str]:
    answer = json.dumps({"v": value}, ensure_ascii=False)
    return check_generation(answer, one_field(fmt), thinking=False, finish_reason="stop", max_new_tokens=99).errors


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("date-time", "2024-03-01T14:00:00+09:00", "어제 오후 2시쯤"),
        ("date-time", "2024-02-29T14:00:00Z", "2023-02-29T14:00:00Z"),
        ("time", "14:00:00+09:00", "오후 2시"),
        ("uri", "https://www.hometax.go.kr/", "홈택스 누리집"),
        ("uri-reference", "/a/b?c=d", "\\\\server\\share"),
        ("duration", "P3M", "3개월"),
        ("hostname", "hometax.go.kr", "-bad-.kr"),
        ("date", "2024-03-01", "2024년 3월 1일"),
        ("email", "a@b.kr", "a at b"),
    ],
)
def test_each_standard_format_is_checked(fmt: str, good: str, bad: str) -> None:
    assert errors(fmt, good) == []
    assert errors(fmt, bad) == [f"$.v: {bad!r} is not a {fmt!r}"]


def test_this_install_checks_every_standard_format() -> None:
    """What `pip install exaone-cli` brings (jsonschema[format-nongpl]) checks them all."""
    assert set(jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers) >= STANDARD_FORMATS
    assert format_warnings({"properties": {f: {"format": f} for f in STANDARD_FORMATS}}, "s") == []


def test_a_format_that_cannot_be_checked_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    schema = {"type": "object", "properties": {"전화": {"format": "korean-phone"}, "팩스": {"format": "korean-phone"},
              "시각": {"format": "date-time"}, "목록": {"type": "array", "items": {"format": "uri"}}}}  # fmt: skip
    assert format_warnings(schema, "my.json") == [
        "my.json: the format 'korean-phone' (at $.전화) is not one JSON Schema defines, so values are not checked"
        " against it; use a `pattern` to check them"
    ]
    lacking = jsonschema.FormatChecker(["date", "email"])  # an install without the packages
    monkeypatch.setattr(jsonschema.Draft202012Validator, "FORMAT_CHECKER", lacking)
    said = format_warnings(schema, "my.json")
    assert len(said) == 3 and "'date-time' (at $.시각) is not checked" in said[1] and "$.목록[]" in said[2]
    assert "pip install 'jsonschema[format-nongpl]'" in said[1]


def test_a_run_says_an_unknown_format_once_and_checks_the_rest(tmp_path: Path, receipt_png: Path) -> None:
    schema = {"type": "object", "required": ["시각", "전화"], "properties": {
        "시각": {"type": ["string", "null"], "format": "date-time"},
        "전화": {"type": ["string", "null"], "format": "korean-phone"}}}  # fmt: skip
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    answer = json.dumps({"시각": "어제 오후 2시쯤", "전화": "02-123-4567"}, ensure_ascii=False)
    with JsonServer(contents=[answer]) as server:
        code, stdout, stderr = run(str(receipt_png), str(receipt_png), "--schema", str(path), "--server", server.url,
                                   "--jsonl")  # fmt: skip
    assert code == 1
    assert stderr.count("the format 'korean-phone'") == 1
    results = [json.loads(line) for line in stdout.splitlines()]
    assert [r["errors"] for r in results] == [["$.시각: '어제 오후 2시쯤' is not a 'date-time'"]] * 2


def test_the_grammar_patterns_agree_with_validation() -> None:
    """The decoding patterns for date-time and time accept exactly what jsonschema accepts, over
    a grid of edge values (leap days and seconds, year 0, hour 24, offsets, case)."""
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    dates = ["2024-02-29", "2023-02-29", "1900-02-29", "2000-02-29", "0000-01-01", "0001-01-01", "2024-04-31"]
    times = ["23:59:59", "23:59:60", "24:00:00", "00:00:00.5", "12:60:00", "12:00:00,5"]
    offsets = ["Z", "z", "+09:00", "-24:00", "+23:59", "+00:60", ""]
    for date, time, offset, sep in itertools.product(dates, times, offsets, ["T", "t", " "]):
        value = f"{date}{sep}{time}{offset}"
        assert bool(re.fullmatch(DATE_TIME_PATTERN[1:-1], value)) == checker.conforms(value, "date-time"), value
        value = time + offset
        assert bool(re.fullmatch(TIME_PATTERN[1:-1], value)) == checker.conforms(value, "time"), value
    narrowed = decoding_schema(one_field("date-time"))["properties"]["v"]
    assert narrowed == {"type": "string", "pattern": DATE_TIME_PATTERN}
    assert decoding_schema(one_field("uri"))["properties"]["v"] == {"type": "string", "format": "uri"}


def test_the_grammar_enforces_what_llguidance_can_and_says_the_rest(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    config = json.loads((tiny_model / "config.json").read_text())
    compiler = GrammarCompiler(AutoTokenizer.from_pretrained(tiny_model), config["text_config"]["vocab_size"])

    def allowed(fmt: str, value: str) -> bool:
        matcher = compiler.matcher(one_field(fmt), thinking=False)
        text = json.dumps({"v": value}, ensure_ascii=False, separators=(",", ":"))
        return bool(matcher.consume_tokens(compiler.tokenizer.tokenize_str(text))) and not matcher.is_error()

    assert allowed("uri", "https://www.hometax.go.kr/") and not allowed("uri", "홈택스 누리집")
    assert allowed("date-time", "2024-02-29T14:00:00Z") and not allowed("date-time", "2023-02-29T14:00:00Z")
    assert not allowed("date-time", "어제 오후 2시쯤") and not allowed("time", "23:59:60Z")
    said = grammar_problems({"type": "object", "properties": {"a": {"format": "iri"}, "b": {"format": "uri"}}}, "s")
    assert said == [
        "s: the format 'iri' at $.a cannot be enforced while decoding; answers are checked against it after"
    ]
