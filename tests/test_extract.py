"""`exaone extract` through both engines: the tiny random checkpoint (noise, constrained by the
grammar: every result must still match the schema), and an OpenAI-compatible fake that checks
`response_format`, answers invalid JSON on demand and refuses fields. (tests/test_serve.py runs
it against a real `transformers serve`; tests/test_grammar.py proves the closing rule alone.)"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from extract_schemas import FEATURES, LOOSE
from fake_openai import REASONING, FakeServer
from pdf_fixtures import make_text_pdf
from test_terminal import in_terminal
from typer.testing import CliRunner

from exaone_cli.cli import app
from exaone_cli.config import LoadOptions, Sampling
from exaone_cli.engines import remote as remote_module
from exaone_cli.engines.base import Prompt
from exaone_cli.extract.flatten import spreadsheet_safe
from exaone_cli.extract.schema import load_template, parse_fields, template_names
from exaone_cli.extract.validate import check_generation

FIELDS = "상호, 합계금액:integer, 거래일자:date"
FIELDS_SCHEMA = parse_fields(FIELDS).schema
TINY = ["--max-pixels", "50176", "--dpi", "50"]  # small pages: the tiny model's prefill stays cheap
# The tiny model's matrices are too small to share between threads: on a busy 2-core machine two
# torch threads mostly wait for each other (a generation ran ~8x slower), so the tests that load
# it in this process use one.


@pytest.fixture()
def pdf(tmp_path: Path) -> Path:
    return make_text_pdf(tmp_path / "계산서.pdf", ["공급가액 10,000원", "세액 1,000원"])


# ---- the local engine: the tiny random checkpoint under the grammar ---------------------------


@pytest.fixture(scope="module")
def engine(tiny_model: Path) -> Iterator[Any]:
    import torch

    from exaone_cli.engines.local import LocalEngine

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see TINY
    loaded = LocalEngine.load(LoadOptions(model=str(tiny_model), dtype="float32", device_map="cpu"))
    yield loaded
    loaded.close()
    torch.set_num_threads(threads)


SAMPLINGS = {
    "ocr preset, seed 0": (Sampling(0.6, 0.95, 20, 1.5, 400, seed=0), False),
    "ocr preset, seed 1, thinking": (Sampling(0.6, 0.95, 20, 1.5, 400, seed=1), True),
    "temperature 1, no top-k, seed 2": (Sampling(1.0, 1.0, None, None, 400, seed=2), False),
}


@pytest.mark.parametrize("case", list(SAMPLINGS))
def test_tiny_model_noise_always_matches_the_schema(engine: Any, receipt_png: Path, case: str) -> None:
    """Seven schemas in one batch (the five templates, every feature they use and more, a loose
    hand-written one): random weights write noise, yet every answer parses and validates. (The
    prompt is short: what it says cannot change noise, and the schemas' text is long in the tiny
    tokenizer; the command's own prompt is used by the tests below.)"""
    from PIL import Image

    sampling, thinking = SAMPLINGS[case]
    schemas = [load_template(name).schema for name in template_names()] + [FEATURES, LOOSE]
    image = Image.open(receipt_png).convert("RGB")
    prompts = [Prompt("Extract the fields as JSON.", [image], thinking=thinking, schema=s) for s in schemas]
    generations = engine.generate(prompts, sampling)
    for schema, generation in zip(schemas, generations, strict=True):
        checked = check_generation(
            generation.text, schema, thinking=thinking, finish_reason=generation.finish_reason, max_new_tokens=400
        )
        assert checked.valid, (generation.text, checked.errors)
        assert generation.completion_tokens <= 400
        jsonschema.validate(checked.data, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        assert (checked.reasoning is not None) == thinking  # the reasoning is kept apart


@pytest.fixture()
def one_thread() -> Iterator[None]:
    """In-process runs of the command (the model loads in this process): one torch thread (see TINY)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def local(tiny_model: Path, *args: str, stdin: bytes | None = None) -> tuple[int, bytes, str]:
    """`exaone extract ARGS` in this process with the tiny checkpoint: stdout as bytes, stderr."""
    result = CliRunner().invoke(app, ["extract", *args, "--model", str(tiny_model), *TINY], input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.mark.usefixtures("one_thread")
def test_csv_has_dotted_columns_and_reads_back(tiny_model: Path, receipt_png: Path, pdf: Path) -> None:
    code, stdout, stderr = local(tiny_model, str(receipt_png), str(pdf), "--template", "contract", "--csv",
                                 "--max-new-tokens", "288", "--seed", "3")  # fmt: skip
    # A valid result the token limit closed is a warning, exit 1 (issue #23 item 2); the rows stay valid.
    cut = stderr.count("the answer was cut short by the token limit")
    assert code == int(cut > 0) and (not cut or f"({cut} cut by the token limit)" in stderr), stderr
    assert stdout.startswith(b"source,")  # a pipe: no byte-order mark (that is for files, for Excel)
    rows = list(csv.DictReader(io.StringIO(stdout.decode("utf-8"), newline="")))
    assert [(row["source"], row["pages"], row["valid"], row["errors"]) for row in rows] == [
        (str(receipt_png), "1", "true", ""),
        (str(pdf), "1,2", "true", ""),  # both pages in one prompt, one result
    ]
    header = list(rows[0])
    assert header[4:9] == ["계약명", "계약일자", "당사자", "계약기간.시작일", "계약기간.종료일"]
    for row in rows:
        assert isinstance(json.loads(row["당사자"]), list)  # lists as JSON text
        assert row["부가세포함"] in ("", "true", "false")


@pytest.mark.usefixtures("one_thread")
def test_one_input_is_one_object_several_are_wrapped(tiny_model: Path, receipt_png: Path, pdf: Path) -> None:
    common = ["--fields", FIELDS, "--max-new-tokens", "48", "--json"]
    code, stdout, stderr = local(tiny_model, str(receipt_png), *common)
    result = json.loads(stdout)
    assert code == int(result["finish_reason"] == "length"), stderr  # cut by the limit: exit 1 (issue #23)
    assert set(result) >= {"schema_version", "source", "pages", "data", "valid", "errors", "reasoning", "raw"}
    assert result["valid"] is True and result["errors"] == [] and result["pages"] == [1]
    jsonschema.validate(result["data"], FIELDS_SCHEMA)
    code, stdout, stderr = local(tiny_model, str(receipt_png), str(pdf), "missing.png", *common)
    assert code == 1  # missing.png
    body = json.loads(stdout)
    assert body["schema_version"] == 1 and body["schema"] == FIELDS_SCHEMA
    assert [r["source"] for r in body["results"]] == [str(receipt_png), str(pdf), "missing.png"]
    assert [r["valid"] for r in body["results"]] == [True, True, False]
    assert body["results"][2]["errors"] == ["missing.png: no such file"]
    assert body["results"][2]["hint"] == "check the path (quote names with spaces)"
    assert "Error: missing.png: no such file" in stderr


@pytest.mark.usefixtures("one_thread")
def test_per_page_jsonl_from_stdin_with_thinking(tiny_model: Path, pdf: Path) -> None:
    code, stdout, stderr = local(tiny_model, "-", "--pages", "2,1", "--per-page", "--jsonl", "--think", "--fields",
                                 FIELDS, "--max-new-tokens", "96", stdin=pdf.read_bytes())  # fmt: skip
    assert code == 0, stderr
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    assert [(line["source"], line["pages"]) for line in lines] == [("<stdin>", [1]), ("<stdin>", [2])]
    for line in lines:
        assert line["valid"] and isinstance(line["reasoning"], str)  # reasoning apart from the data
        jsonschema.validate(line["data"], FIELDS_SCHEMA)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize(("template", "budget", "shortest"), [("tax-invoice", "40", 315), ("receipt", "200", 202)])
def test_a_token_limit_below_the_shortest_json_is_said_before_generating(
    tiny_model: Path, receipt_png: Path, template: str, budget: str, shortest: int
) -> None:
    """The tax invoice needs 315 tokens of the tiny tokenizer even with every field null (the
    grammar's closing rule played out from the start): with less, no attempt (repair included)
    can end, so the run says so, with the number, before generating anything."""
    code, stdout, stderr = local(tiny_model, str(receipt_png), "--template", template, "--json",
                                 "--max-new-tokens", budget)  # fmt: skip
    assert code == 2 and stdout == b""
    assert f"takes at least {shortest} new tokens; --max-new-tokens is {budget}" in stderr
    assert "attempt" not in stderr and "Done" not in stderr
    code, stdout, stderr = local(tiny_model, str(receipt_png), "--template", template, "--json",
                                 "--max-new-tokens", str(shortest))  # fmt: skip
    result = json.loads(stdout)
    assert result["valid"], stderr  # exactly the shortest fits ...
    assert code == int(result["finish_reason"] == "length"), stderr  # ... closed by the limit: a warning, exit 1


def test_without_llguidance_the_local_engine_says_what_to_install(tiny_model: Path, receipt_png: Path) -> None:
    """Said before the model loads (with the real one, 67 GB), in one line with the fix."""
    missing = "import sys; sys.modules['llguidance'] = None; from exaone_cli.cli import main; main()"
    proc = subprocess.run(
        [sys.executable, "-c", missing, "extract", str(receipt_png), "--fields", FIELDS, "--model", str(tiny_model)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 3 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "Error: constrained decoding with the local engine needs llguidance",
        "Hint: pip install '.[local,extract]' in exaone's folder (see the README's Install), or pass --server URL",
    ]


# ---- an OpenAI-compatible server ------------------------------------------------------------


@dataclass
class JsonServer(FakeServer):
    """Answers each chat request with the next of `contents` (the last one again when they run
    out), after the reasoning the way the fake server gives it."""

    contents: list[str] = field(default_factory=lambda: ['{"상호": null, "합계금액": null, "거래일자": null}'])

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = super().answer(body)
        message = reply["choices"][0]["message"]
        content = self.contents.pop(0) if len(self.contents) > 1 else self.contents[0]
        thinking = body.get("chat_template_kwargs", {}).get("enable_thinking", True)
        message["content"] = f"{REASONING}</think>\n\n{content}" if thinking and not self.reasoning_parser else content
        return reply


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_module, "_sleep", lambda seconds: None)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["extract", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def prompt_text(body: dict[str, Any]) -> str:
    return next(part["text"] for part in body["messages"][0]["content"] if part["type"] == "text")


def test_server_gets_the_schema_as_response_format_and_one_repair(receipt_png: Path) -> None:
    valid = '{"상호": "스타벅스", "사업자등록번호": "123-45-67890", "합계금액": 12500}'
    schema = load_template("receipt").schema
    full = json.loads(valid) | {key: None for key in schema["properties"] if key not in json.loads(valid)}
    full["품목"] = []
    with JsonServer(
        contents=['{"상호": "스타벅스", "합계금액": "12,500원"', json.dumps(full, ensure_ascii=False)]
    ) as server:
        code, stdout, stderr = run(str(receipt_png), "--template", "receipt", "--server", server.url, "--json")
    assert code == 0, stderr
    first, second = server.requests
    assert first["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "extraction", "schema": schema, "strict": True},
    }
    assert second["response_format"] == first["response_format"]
    assert 'Your previous answer was:\n{"상호": "스타벅스", "합계금액": "12,500원"' in prompt_text(second)
    assert "It does not match the schema:\n- the answer is not JSON" in prompt_text(second)
    result = json.loads(stdout)
    assert result["valid"] and result["attempts"] == 2 and result["data"] == full
    assert (result["data"]["사업자등록번호"], result["data"]["합계금액"]) == ("123-45-67890", 12500)


def test_server_that_refuses_response_format_gets_the_prompt_alone(receipt_png: Path, pdf: Path) -> None:
    fenced = '```json\n{"상호": "카페", "합계금액": 4500, "거래일자": "2024-03-01"}\n```'
    with JsonServer(refuse_fields={"response_format"}, contents=[fenced]) as server:
        code, stdout, stderr = run(str(receipt_png), str(pdf), "--per-page", "--fields", FIELDS, "--server",
                                   server.url, "--jsonl", "--concurrency", "2")  # fmt: skip
    assert code == 0, stderr
    assert stderr.count("does not accept response_format") == 1
    assert "the JSON is asked for by the prompt alone (and still validated)" in stderr
    accepted = [body for body in server.requests if "response_format" not in body]
    assert len(accepted) == 3 and all("JSON Schema" in prompt_text(body) for body in accepted)
    results = [json.loads(line) for line in stdout.splitlines()]
    assert [(r["pages"], r["valid"]) for r in results] == [([1], True), ([1], True), ([2], True)]
    assert results[0]["data"] == {"상호": "카페", "합계금액": 4500, "거래일자": "2024-03-01"}


def test_server_answers_that_never_validate_are_error_records(receipt_png: Path) -> None:
    with JsonServer(contents=['{"상호": "카페", "합계금액": "사천오백원", "거래일자": "3월 1일"}']) as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    assert code == 1 and len(server.requests) == 2  # one repair, no more
    result = json.loads(stdout)
    assert result["valid"] is False and result["data"] is None and result["attempts"] == 2
    assert result["raw"] == '{"상호": "카페", "합계금액": "사천오백원", "거래일자": "3월 1일"}'
    assert result["errors"] == [
        "$.거래일자: '3월 1일' is not a 'date'",
        "$.합계금액: '사천오백원' is not of type 'integer', 'null'",
    ]
    assert "no valid JSON after 2 attempt(s): $.거래일자: '3월 1일' is not a 'date' (and 1 more)" in stderr


@pytest.mark.parametrize("parser", [True, False])
def test_server_reasoning_is_kept_apart(receipt_png: Path, parser: bool) -> None:
    with JsonServer(reasoning_parser=parser) as server:
        code, stdout, _ = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json", "--think")
    assert code == 0
    assert server.requests[0]["chat_template_kwargs"] == {"enable_thinking": True}
    result = json.loads(stdout)
    assert result["reasoning"] == REASONING and result["data"] == {"상호": None, "합계금액": None, "거래일자": None}


def test_thinking_is_off_by_default_and_the_document_preset_is_used(receipt_png: Path) -> None:
    with JsonServer() as server:
        code, stdout, _ = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json", "--seed", "7")
    body = server.requests[0]
    assert code == 0 and body["chat_template_kwargs"] == {"enable_thinking": False}
    assert (body["temperature"], body["top_p"], body["top_k"], body["presence_penalty"], body["seed"]) == (
        0.6, 0.95, 20, 1.5, 7,
    )  # fmt: skip
    assert json.loads(stdout)["preset"] == "ocr"


def test_show_schema_prints_the_schema_and_exits(tmp_path: Path) -> None:
    code, stdout, _ = run("--template", "tax-invoice", "--show-schema")
    assert code == 0 and json.loads(stdout) == load_template("tax-invoice").schema
    code, stdout, _ = run("--fields", FIELDS, "--show-schema")
    assert code == 0 and json.loads(stdout) == FIELDS_SCHEMA
    schema_file = tmp_path / "mine.schema.json"
    schema_file.write_text(json.dumps(LOOSE), encoding="utf-8")
    code, stdout, _ = run("--schema", str(schema_file), "--show-schema")
    assert code == 0 and json.loads(stdout) == LOOSE


def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    code, stdout, stderr = run("a.png", "--fields", "a", "--template", "receipt")
    assert (
        code == 2 and stdout == "" and "give exactly one of --schema FILE, --fields LIST or --template NAME" in stderr
    )
    code, _, stderr = run("a.png", "--template", "invoice")
    assert code == 2 and "unknown template 'invoice'" in stderr and "tax-invoice" in stderr
    code, _, stderr = run("--template", "receipt")
    assert code == 2 and "no input files" in stderr
    code, _, stderr = run("a.png", "--fields", "a:money")
    assert code == 2 and "unknown type 'money'" in stderr


@pytest.mark.parametrize("where", ["missing-folder", "folder", "an-input"])
def test_output_destination_is_checked_before_any_work(tmp_path: Path, receipt_png: Path, where: str) -> None:
    """As for ocr (#11 item 4): a bad -o fails at once, exit 2, before a model is looked for (the
    model path here does not exist, so any later check would say so instead)."""
    target = {"missing-folder": tmp_path / "nope" / "out.json", "folder": tmp_path, "an-input": receipt_png}[where]
    before = receipt_png.read_bytes()
    code, stdout, stderr = run(str(receipt_png), "--template", "receipt", "-o", str(target), "--model", "/no/model")
    assert code == 2 and stdout == "", stderr
    assert stderr.startswith(f"Error: -o {target}") and "model" not in stderr
    assert receipt_png.read_bytes() == before


def test_help_lists_the_templates() -> None:
    result = CliRunner().invoke(app, ["extract", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    for name, title in [("receipt", "영수증"), ("tax-invoice", "세금계산서"), ("business-card", "명함"),
                        ("business-registration", "사업자등록증"), ("contract", "계약서")]:  # fmt: skip
        assert f"{name} " in result.stdout and title in result.stdout


def test_server_mode_imports_no_torch_and_no_grammar_library(receipt_png: Path) -> None:
    with JsonServer() as server:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "exaone_cli", "extract", str(receipt_png), "--fields", FIELDS,
             "--server", server.url, "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "openai" in imported and "jsonschema" in imported
    assert not imported & {"torch", "transformers", "llguidance"}


def test_output_files_take_their_format_from_the_suffix(receipt_png: Path, pdf: Path, tmp_path: Path) -> None:
    with JsonServer() as server:
        for name in ("out.csv", "out.jsonl", "out.json"):
            code, stdout, stderr = run(str(receipt_png), str(pdf), "--fields", FIELDS, "--server", server.url,
                                       "-o", str(tmp_path / name))  # fmt: skip
            assert code == 0 and stdout == "", stderr
    raw = (tmp_path / "out.csv").read_bytes()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["source", "pages", "valid", "errors", "상호", "합계금액", "거래일자"]
    assert rows[1:] == [[str(receipt_png), "1", "true", "", "", "", ""], [str(pdf), "1,2", "true", "", "", "", ""]]
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["pages"] for line in lines] == [[1], [1, 2]]
    assert len(json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["results"]) == 2


def test_the_terminal_shows_a_table_of_fields_with_controls_made_visible(receipt_png: Path) -> None:
    """The rich view on a real (pseudo-)terminal: a heading and a table; a value's escape
    sequences (untrusted model text) are shown, never obeyed."""
    value = {"상호": "\u001b[31mRED\u001b]0;PWNED\u0007 카페", "합계금액": 4500, "거래일자": None}
    with JsonServer(contents=[json.dumps(value)]) as server:
        code, out, err = in_terminal("extract", str(receipt_png), "--fields", FIELDS, "--server", server.url)
        _, csv_out, _ = in_terminal("extract", str(receipt_png), "--fields", FIELDS, "--server", server.url, "--csv")
    assert "␛[31mRED␛]0;PWNED␇ 카페,4500," in csv_out and "\x1b" not in csv_out  # CSV on a terminal too
    assert code == 0, err
    assert f"{receipt_png} · page 1" in out and "✓ valid" in out
    assert "field" in out and "value" in out and "합계금액" in out and "4500" in out
    assert "␛[31mRED␛]0;PWNED␇ 카페" in out and "\x1b]0;PWNED" not in out and "\x07" not in out
    assert '"schema_version"' not in out  # a table, not JSON


def test_a_valid_result_cut_by_the_token_limit_is_a_warning_not_a_check_mark(receipt_png: Path) -> None:
    # Issue #23: "✓ valid" and exit 0 for a result the token limit closed early.
    value = {"상호": "카페", "합계금액": 4500, "거래일자": None}
    with JsonServer(contents=[json.dumps(value)], finish_reason="length") as server:
        code, out, err = in_terminal("extract", str(receipt_png), "--fields", FIELDS, "--server", server.url)
        piped, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    assert code == 1, err
    assert "✓ valid" not in out and "valid but cut short by the token limit" in out and "4500" in out
    assert piped == 1 and json.loads(stdout)["data"] == value and json.loads(stdout)["finish_reason"] == "length"
    assert f"Warning: {receipt_png}: the answer was cut short by the token limit" in stderr
    assert "Done: 1 result (1 cut by the token limit), no errors" in stderr


def test_csv_cells_that_would_run_as_spreadsheet_formulas_are_neutralised(receipt_png: Path) -> None:
    """Values come from untrusted documents and the CSV is made for Excel (the BOM): a string
    starting with = + - @ (or tab, CR) gets a leading ' (OWASP CSV injection); numbers stay
    numbers, and JSON keeps the value exact."""
    formula = '=HYPERLINK("http://evil","x")'
    value = {"상호": formula, "합계금액": -4500, "거래일자": None}
    with JsonServer(contents=[json.dumps(value)]) as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--csv")
        _, as_json, _ = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    assert code == 0, stderr
    rows = list(csv.reader(io.StringIO(stdout.lstrip("\ufeff"), newline="")))
    assert rows[1][4:] == ["'" + formula, "-4500", ""]
    assert json.loads(as_json)["data"]["상호"] == formula
    for text in ("+1+1", "-cmd", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_safe(text) == "'" + text
    assert spreadsheet_safe("카페 =") == "카페 =" and spreadsheet_safe(-3) == "-3" and spreadsheet_safe(2.5) == "2.5"


IMPOSSIBLE = {"type": "object", "properties": {"x": {"type": "integer", "minimum": 5, "maximum": 3}}, "required": ["x"]}
LOOKAHEAD = {"type": "object", "properties": {"x": {"type": ["string", "null"], "pattern": "^(?=x)x+$"}},
             "required": ["x"], "additionalProperties": False}  # fmt: skip


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (IMPOSSIBLE, "cannot be used for constrained decoding at $.x: Unsatisfiable schema: required property 'x'"),
        (
            {"properties": {"x": {"$ref": "#/$defs/missing"}}},
            "the $ref '#/$defs/missing' at properties/x points to nothing",
        ),
        ({"properties": {"x": {"$ref": "https://example.com/s.json"}}}, "names another document"),
    ],
)
def test_schemas_the_grammar_cannot_compile_fail_before_the_model_loads(
    tiny_model: Path, receipt_png: Path, tmp_path: Path, schema: dict[str, Any], message: str
) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(schema), encoding="utf-8")
    code, stdout, stderr = local(tiny_model, str(receipt_png), "--schema", str(path))
    assert code == 2 and stdout == b"", stderr
    assert message in stderr and "Loaded" not in stderr and "at 2(9)" not in stderr
    code, _, shown = run("--schema", str(path), "--show-schema")  # the check people can run alone
    assert code == 2 and message in shown


def test_a_bad_ref_is_refused_before_a_server_is_asked(receipt_png: Path, tmp_path: Path) -> None:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"properties": {"x": {"$ref": "#/$defs/x"}}}), encoding="utf-8")
    with JsonServer() as server:
        code, _, stderr = run(str(receipt_png), "--schema", str(path), "--server", server.url)
    assert code == 2 and "points to nothing in the schema" in stderr and server.requests == []


@pytest.mark.usefixtures("one_thread")
def test_a_pattern_llguidance_cannot_compile_is_left_to_validation(
    tiny_model: Path, receipt_png: Path, tmp_path: Path
) -> None:
    """Look-ahead is valid ECMA regex that llguidance's regex engine lacks: the run goes on with
    that one constraint dropped from the grammar (one warning) and jsonschema checks it after."""
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(LOOKAHEAD), encoding="utf-8")
    code, stdout, stderr = local(
        tiny_model, str(receipt_png), "--schema", str(path), "--json", "--max-new-tokens", "32"
    )
    assert stderr.count("cannot be enforced while decoding") == 1 and "'^(?=x)x+$' at $.x" in stderr
    record = json.loads(stdout)
    assert record["errors"] == [] or any("does not match" in error for error in record["errors"])
    if record["valid"]:
        jsonschema.validate(record["data"], LOOKAHEAD)
    assert code in (0, 1) and "Error" not in stderr.replace("errors", "")


def test_pages_past_the_end_are_said_and_noted_per_input(tmp_path: Path) -> None:
    three = make_text_pdf(tmp_path / "세쪽.pdf", ["하나", "둘", "셋"])
    with JsonServer() as server:
        code, stdout, stderr = run(str(three), "--per-page", "--pages", "2-5", "--fields", FIELDS,
                                   "--server", server.url, "--jsonl")  # fmt: skip
    records = [json.loads(line) for line in stdout.splitlines()]
    assert code == 0 and [r["pages"] for r in records] == [[2], [3]]
    assert stderr.count("no pages 4-5 in this 3-page file (--pages 2-5)") == 1
    assert {r["note"] for r in records} == {"no pages 4-5 in this 3-page file (--pages 2-5)"}


def test_an_error_record_from_a_server_run_names_no_local_model(pdf: Path) -> None:
    with JsonServer() as server:
        code, stdout, _ = run(str(pdf), "--pages", "20", "--fields", FIELDS, "--server", server.url, "--json")
        _, named, _ = run(str(pdf), "--pages", "20", "--fields", FIELDS, "--server", server.url, "--json",
                          "--served-model", "exaone-on-vllm")  # fmt: skip
    assert code == 1 and json.loads(stdout)["model"] is None and json.loads(named)["model"] == "exaone-on-vllm"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fields", ""], "--fields is empty"),
        (["--fields", "a", "--csv", "--jsonl"], "--jsonl and --csv ask for different output formats"),
        (["--fields", "a", "--format", "csv", "--json"], "--json and --format csv ask for different output formats"),
        (
            ["--fields", "a", "-o", "out.xlsx"],
            "extract writes JSON, JSON Lines or CSV, and cannot tell which from .xlsx",
        ),
        (["--fields", "a", "-o", "out.txt"], "cannot tell which from .txt"),
    ],
)
def test_contradictory_or_empty_flags_are_usage_errors(
    receipt_png: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with JsonServer() as server:
        code, stdout, stderr = run(str(receipt_png), *args, "--server", server.url)
    assert code == 2 and message in stderr and stdout == "" and server.requests == []
    assert not (tmp_path / "out.xlsx").exists() and not (tmp_path / "out.txt").exists()


def test_quoted_field_names_lose_their_quotes() -> None:
    schema = parse_fields("\"상호\":string, '합계':integer, “일자”").schema
    assert list(schema["properties"]) == ["상호", "합계", "일자"]


def test_an_answer_that_is_not_json_is_said_in_words(receipt_png: Path) -> None:
    with JsonServer(contents=["합계는 {12,500원 입니다"]) as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    record = json.loads(stdout)
    assert code == 1 and record["errors"][0].startswith("the answer is not JSON (")
    assert "substring" not in stderr and "character" in record["errors"][0]
    with JsonServer(contents=["죄송합니다. 읽을 수 없습니다."]) as server:
        _, stdout, _ = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    assert json.loads(stdout)["errors"] == [
        "the answer is not JSON (no JSON object in it: '죄송합니다. 읽을 수 없습니다.')"
    ]


def test_extract_takes_no_cache_as_ocr_and_ask_do(receipt_png: Path) -> None:
    # Issue #23: `extract --no-cache` was refused as an unknown option.
    with JsonServer() as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json", "--no-cache")
    assert code == 0, stderr
    assert json.loads(stdout)["valid"]
