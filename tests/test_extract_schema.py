"""The schema side of `exaone extract`, no model: templates, --fields, schema files, answer
checking, CSV columns and the prompt."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from exaone_cli.errors import UsageError
from exaone_cli.extract.flatten import columns, flatten, header
from exaone_cli.extract.prompt import extract_prompt, repair_prompt
from exaone_cli.extract.schema import (
    load_schema_file,
    load_template,
    parse_fields,
    resolve_schema,
    template_names,
    template_titles,
)
from exaone_cli.extract.validate import check_generation, schema_errors

TEMPLATES = ["business-card", "business-registration", "contract", "receipt", "tax-invoice"]
HANGUL = re.compile(r"[가-힣]")


def leaves(schema: dict, path: str = "") -> list[tuple[str, dict]]:
    """(dotted name, subschema) of every property, objects and list items followed."""
    out = []
    for name, sub in schema.get("properties", {}).items():
        out.append((f"{path}{name}", sub))
        out += leaves(sub, f"{path}{name}.")
        if isinstance(sub.get("items"), dict):
            out += leaves(sub["items"], f"{path}{name}[].")
    return out


def test_the_five_templates_ship_in_the_package_with_korean_titles() -> None:
    assert template_names() == TEMPLATES
    assert template_titles() == {
        "business-card": "명함",
        "business-registration": "사업자등록증",
        "contract": "계약서",
        "receipt": "영수증",
        "tax-invoice": "세금계산서",
    }


@pytest.mark.parametrize("name", TEMPLATES)
def test_each_template_is_a_valid_strict_json_schema_in_korean(name: str) -> None:
    schema = load_template(name).schema
    jsonschema.Draft202012Validator.check_schema(schema)  # raises if not a valid JSON Schema
    fields = leaves(schema)
    assert len(fields) >= 8
    for dotted, sub in fields:
        assert HANGUL.search(dotted.split(".")[-1]), f"{name}: {dotted} has no Korean name"
        assert HANGUL.search(sub.get("description", "")), f"{name}: {dotted} has no Korean description"
    # strict structured outputs: every object lists all its properties as required, and no others
    for node in [schema, *(sub for _, sub in fields), *(sub["items"] for _, sub in fields if "items" in sub)]:
        if "properties" in node:
            assert node["required"] == list(node["properties"]) and node["additionalProperties"] is False


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_types_dates_amounts_and_registration_numbers(name: str) -> None:
    fields = dict(leaves(load_template(name).schema))
    for dotted, sub in fields.items():
        field = dotted.split(".")[-1]
        if "일자" in field or field in ("개업연월일", "생년월일", "시작일", "종료일"):
            assert sub["format"] == "date", dotted  # ISO 8601 full-date
        if "금액" in field or field in ("공급가액", "세액", "부가세", "단가"):
            assert sub["type"] == ["integer", "null"], dotted  # won as integers
        if field in ("사업자등록번호", "등록번호"):
            assert sub["pattern"] == "^[0-9]{3}-[0-9]{2}-[0-9]{5}$", dotted


def test_registration_number_pattern_and_dates_are_enforced_by_validation() -> None:
    schema = load_template("business-registration").schema
    good = dict.fromkeys(schema["properties"])
    good.update({"등록번호": "123-45-67890", "개업연월일": "2019-03-01", "업태": ["도매"], "종목": []})
    assert schema_errors(good, schema) == []
    bad = {**good, "등록번호": "1234567890", "개업연월일": "2019-02-30"}
    errors = schema_errors(bad, schema)
    assert any(e.startswith("$.등록번호:") for e in errors) and any(e.startswith("$.개업연월일:") for e in errors)


def test_fields_list_becomes_a_strict_nullable_schema() -> None:
    schema = parse_fields("상호, 사업자등록번호, 거래일자:date, 합계금액:integer, 품목:string[], 영업중:boolean").schema
    props = schema["properties"]
    assert list(props) == ["상호", "사업자등록번호", "거래일자", "합계금액", "품목", "영업중"]
    assert schema["required"] == list(props) and schema["additionalProperties"] is False
    assert props["상호"] == {"type": ["string", "null"]}
    assert props["거래일자"] == {"type": ["string", "null"], "format": "date"}
    assert props["합계금액"] == {"type": ["integer", "null"]}
    assert props["품목"] == {"type": ["array", "null"], "items": {"type": "string"}}
    ok = {"상호": "카페", "사업자등록번호": None, "거래일자": "2024-01-31", "합계금액": 12500}
    ok |= {"품목": ["커피"], "영업중": True}
    assert schema_errors(ok, schema) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "--fields is empty"),
        (" , ,", "--fields is empty"),
        ("a, b:money", "--fields: unknown type 'money' for 'b'"),
        ("a, a:integer", "--fields: 'a' is given twice"),
    ],
)
def test_bad_field_lists_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_fields(spec)
    assert caught.value.message == message


def test_schema_files_are_checked_before_anything_loads(tmp_path: Path) -> None:
    good = tmp_path / "receipt.schema.json"
    good.write_text('\ufeff{"type": "object", "properties": {"total": {"type": "integer"}}}', encoding="utf-8")
    assert load_schema_file(good).schema["properties"] == {"total": {"type": "integer"}}  # a BOM is fine
    not_json = tmp_path / "broken.json"
    not_json.write_text("{type: object}", encoding="utf-8")
    bad_schema = tmp_path / "bad.json"
    bad_schema.write_text('{"type": "objekt"}', encoding="utf-8")
    cases = ((not_json, "not JSON"), (bad_schema, "not a valid JSON Schema"), (tmp_path / "no", "cannot read"))
    for path, said in cases:
        with pytest.raises(UsageError) as caught:
            load_schema_file(path)
        assert caught.value.message.startswith(f"{path}: {said}")


def test_a_schema_file_saved_in_a_legacy_code_page_is_said_to_be_so(tmp_path: Path) -> None:
    """Notepad on Korean Windows saved 'ANSI' (cp949): the hint said "check the path"."""
    legacy = tmp_path / "영수증.json"
    legacy.write_bytes('{"type": "object", "properties": {"합계": {"type": "integer"}}}'.encode("cp949"))
    with pytest.raises(UsageError) as caught:
        load_schema_file(legacy)
    assert "not UTF-8" in caught.value.message and "save it as UTF-8" in (caught.value.hint or "")


def test_exactly_one_target() -> None:
    with pytest.raises(UsageError, match="exactly one"):
        resolve_schema(None, None, None)
    with pytest.raises(UsageError, match="--fields and --template"):
        resolve_schema(None, "a", "receipt")
    with pytest.raises(UsageError) as caught:
        resolve_schema(None, None, "invoice")
    assert caught.value.message == "unknown template 'invoice'; did you mean 'tax-invoice'?"
    assert "tax-invoice" in (caught.value.hint or "")


SCHEMA = parse_fields("name, total:integer, day:date").schema


def check(text: str, thinking: bool = False, finish: str = "stop") -> tuple[object, list[str], str | None]:
    checked = check_generation(text, SCHEMA, thinking=thinking, finish_reason=finish, max_new_tokens=64)  # type: ignore[arg-type]
    return checked.data, checked.errors, checked.reasoning


def test_answers_are_parsed_then_validated() -> None:
    valid = '{"name": "카페", "total": 12500, "day": "2024-01-31"}'
    assert check(valid) == ({"name": "카페", "total": 12500, "day": "2024-01-31"}, [], None)
    assert check(f"```json\n{valid}\n```")[1] == []  # a fenced answer (a server without response_format)
    assert check(f"Here it is: {valid} Done.")[1] == []
    assert check(f"\\boxed{{{valid}}}")[1] == []
    assert check(f"I read the receipt.</think>\n\n{valid}", thinking=True)[2] == "I read the receipt."
    # Hangul as separate jamo (U+1100...) comes out composed, as page text does
    jamo = '{"name": "\u1104\u1165\u11a8", "total": null, "day": null}'
    assert check(jamo)[0] == {"name": "떡", "total": None, "day": None}


def test_invalid_answers_are_errors_and_never_data() -> None:
    data, errors, _ = check('{"name": "카페", "total": "12,500원", "day": "2024-02-30"}')
    assert data is None
    assert errors == ["$.day: '2024-02-30' is not a 'date'", "$.total: '12,500원' is not of type 'integer', 'null'"]
    assert check('{"name": "카페"')[1][0].startswith("the answer is not JSON")
    assert check('{"name": null, "total": 1e400, "day": null}')[1][0] == "$.total: inf is not a finite number"
    assert check('{"name": "카페", "tot', finish="length")[1] == [
        "the output stopped at the token limit (--max-new-tokens 64) before the JSON ended"
    ]
    assert check("still thinking", thinking=True, finish="length")[1] == [
        "the output stopped inside the reasoning at the token limit (--max-new-tokens 64)"
    ]
    # A real stop inside the reasoning is the model's end of turn: no token limit to raise.
    (error,) = check("still thinking", thinking=True)[1]
    assert error.startswith("the model ended its turn inside its reasoning") and "--max-new-tokens" not in error


def test_csv_columns_follow_the_schema_with_dotted_names_and_lists_as_json() -> None:
    schema = load_template("contract").schema
    paths = columns(schema)
    names = [header(path) for path in paths]
    assert names[:5] == ["계약명", "계약일자", "당사자", "계약기간.시작일", "계약기간.종료일"]
    data = {"계약명": "용역", "당사자": [{"구분": "갑"}], "부가세포함": True}
    data["계약기간"] = {"시작일": "2024-01-01", "종료일": None}
    row = dict(zip(names, flatten(data, paths), strict=True))
    assert row["당사자"] == '[{"구분": "갑"}]' and row["계약기간.시작일"] == "2024-01-01"
    assert row["계약기간.종료일"] == "" and row["계약일자"] == "" and row["부가세포함"] == "true"
    assert [header(p) for p in columns({"type": "array"})] == ["value"]
    refs = {"$defs": {"p": {"type": "object", "properties": {"a": {}, "b": {}}}}, "type": "object",
            "properties": {"x": {"$ref": "#/$defs/p"}}}  # fmt: skip
    assert [header(p) for p in columns(refs)] == ["x.a", "x.b"]


def test_the_prompt_carries_the_schema_and_asks_for_null_not_guesses() -> None:
    schema = load_template("receipt").schema
    prompt = extract_prompt(schema)
    assert json.dumps(schema, ensure_ascii=False) in prompt  # Korean names and descriptions as they are
    assert "Use null for every field that is not on the document" in prompt and "Never guess" in prompt
    repair = repair_prompt(schema, '{"합계금액": "만원"}', ["$.합계금액: '만원' is not of type 'integer', 'null'"])
    assert repair.startswith(prompt)
    assert '{"합계금액": "만원"}' in repair and "- $.합계금액: '만원' is not of type 'integer', 'null'" in repair


def test_the_manuals_extract_examples_match_their_templates() -> None:
    """The manual's illustrative outputs are what the templates accept (every `jq -c .data` one of
    docs/commands/extract.md, where the README's examples moved)."""
    page = (Path(__file__).parent.parent / "docs" / "commands" / "extract.md").read_text(encoding="utf-8")
    examples = re.findall(r"--template (\S+) .*\| jq -c \.data\n(\{.*\})\n", page)
    assert sorted(name for name, _ in examples) == ["business-registration", "contract", "receipt"]
    for name, data in examples:
        assert schema_errors(json.loads(data), load_template(name).schema) == [], name


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--template", "reciept"], "Error: unknown template 'reciept'; did you mean 'receipt'?"),
        (["--fields", "합계:int"], "Error: --fields: unknown type 'int' for '합계'; did you mean 'integer'?"),
        (["--fields", "합계:numbr"], "Error: --fields: unknown type 'numbr' for '합계'; did you mean 'number'?"),
    ],
)
def test_a_near_miss_gets_a_did_you_mean(flags: list[str], said: str) -> None:
    from typer.testing import CliRunner

    from exaone_cli.cli import app

    result = CliRunner().invoke(app, ["extract", "receipt.png", *flags])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == said
