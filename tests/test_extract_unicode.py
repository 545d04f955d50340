"""Property names in NFD (copied from macOS file names) match (#22 item 5).

exaone normalises an answer's strings to NFC, as page text is; it did that to the keys too, so a
schema whose names are in NFD failed every `required`, even for the answer the grammar forced
(which spells the keys exactly as the schema does). Keys now take the schema's spelling."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from pathlib import Path

import pytest
from test_extract import JsonServer, run

from exaone_cli.extract.validate import check_generation


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def schema_in(form: str) -> dict:
    """A receipt schema with its names and its enum written in NFD or NFC."""
    spell = nfd if form == "NFD" else nfc
    return {
        "type": "object",
        "properties": {
            spell("상호"): {"type": ["string", "null"]},
            spell("결제수단"): {"enum": [spell("현금"), spell("카드"), None]},
            spell("공급자"): {"type": "object", "properties": {spell("등록번호"): {"type": "string"}},
                              "required": [spell("등록번호")], "additionalProperties": False},
        },
        "required": [spell("상호"), spell("결제수단"), spell("공급자")],
        "additionalProperties": False,
    }  # fmt: skip


def answer_in(form: str) -> str:
    spell = nfd if form == "NFD" else nfc
    data = {spell("상호"): spell("상호"), spell("결제수단"): spell("카드"), spell("공급자"): {spell("등록번호"): "1"}}
    return json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize("answer", ["NFC", "NFD"])
@pytest.mark.parametrize("schema", ["NFC", "NFD"])
def test_keys_match_the_schema_whatever_the_forms(schema: str, answer: str) -> None:
    target = schema_in(schema)
    checked = check_generation(answer_in(answer), target, thinking=False, finish_reason="stop", max_new_tokens=99)
    assert checked.errors == []
    assert [list(key.encode()) for key in checked.data] == [list(key.encode()) for key in target["properties"]]
    assert checked.data == expected(schema)


def expected(form: str) -> dict:
    """What exaone reports: keys and the enum value as the schema spells them, free text in NFC."""
    spell = nfd if form == "NFD" else nfc
    return {spell("상호"): nfc("상호"), spell("결제수단"): spell("카드"), spell("공급자"): {spell("등록번호"): "1"}}


def test_an_nfd_schema_file_fills_its_csv_columns(tmp_path: Path, receipt_png: Path) -> None:
    path = tmp_path / nfd("영수증.json")
    path.write_text(json.dumps(schema_in("NFD"), ensure_ascii=False), encoding="utf-8")
    with JsonServer(contents=[answer_in("NFC")]) as server:
        code, out, stderr = run(str(receipt_png), "--schema", str(path), "--server", server.url, "--csv")
        code_json, as_json, _ = run(str(receipt_png), "--schema", str(path), "--server", server.url, "--json")
    assert code == 0 and code_json == 0, stderr
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert [nfc(name) for name in rows[0][4:]] == ["상호", "결제수단", "공급자.등록번호"]
    assert rows[1][2:] == ["true", "", "상호", nfd("카드"), "1"]
    assert json.loads(as_json)["data"] == expected("NFD")
