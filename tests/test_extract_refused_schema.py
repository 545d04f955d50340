"""A server that cannot compile the schema (#22 item 3).

vLLM answers 400 or 500 with "Grammar error: ..." when its structured-output backend cannot
compile a schema, in a body that does not name `response_format`; exaone used to retry the 500s
and then fail every result. A refused schema is recognised by status and body: the run falls
back once (one warning) to the prompt alone, and every answer is still validated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_extract import FIELDS, JsonServer, prompt_text, run

from exaone_cli.engines import remote as remote_module

VALID = {"상호": "카페", "합계금액": 4500, "거래일자": "2024-03-01"}
REFUSALS = {
    "vllm-400": (400, '{"object": "error", "message": "Grammar error: Unsupported JSON Schema structure", '
                      '"type": "BadRequestError", "param": null, "code": 400}'),
    "vllm-500": (500, '{"object": "error", "message": "Grammar error: failed to compile the grammar", '
                      '"type": "InternalServerError", "param": null, "code": 500}'),
    "xgrammar": (400, '{"object": "error", "message": "The provided JSON schema contains features not supported '
                      'by xgrammar."}'),
    "llama.cpp": (500, '{"error": {"code": 500, "message": "JSON schema conversion failed: Unrecognized schema"}}'),
}  # fmt: skip


@pytest.fixture(autouse=True)
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []
    monkeypatch.setattr(remote_module, "_sleep", waited.append)
    return waited


@pytest.mark.parametrize("server_kind", list(REFUSALS))
def test_a_refused_schema_falls_back_once_to_the_prompt(
    receipt_png: Path, tmp_path: Path, server_kind: str, sleeps: list[float]
) -> None:
    second = tmp_path / "둘째.png"
    second.write_bytes(receipt_png.read_bytes())
    answers = [json.dumps(VALID, ensure_ascii=False), '{"상호": "카페", "합계금액": "4,500원", "거래일자": null}']
    with JsonServer(refuse_schema=REFUSALS[server_kind], contents=answers) as server:
        code, stdout, stderr = run(str(receipt_png), str(second), "--fields", FIELDS, "--server", server.url,
                                   "--jsonl", "--concurrency", "1")  # fmt: skip
    with_schema = [body for body in server.requests if "response_format" in body]
    assert len(with_schema) == 1 and sleeps == []  # refused once, never retried as a 5xx
    assert stderr.count("the server could not use the schema") == 1
    assert "sending without response_format for this run; the JSON is asked for by the prompt alone" in stderr
    assert all("JSON Schema" in prompt_text(body) for body in server.requests)
    results = [json.loads(line) for line in stdout.splitlines()]
    assert [r["valid"] for r in results] == [True, False] and code == 1  # still validated
    assert results[0]["data"] == VALID
    assert results[1]["errors"] == ["$.합계금액: '4,500원' is not of type 'integer', 'null'"]


def test_other_refusals_are_not_taken_for_a_refused_schema(receipt_png: Path, sleeps: list[float]) -> None:
    """A 400 about something else fails the result as before; a 500 without words about a
    grammar is retried (a server that fell over), then fails."""
    too_long = (400, '{"object": "error", "message": "max_tokens is too large: 4096", "code": 400}')
    with JsonServer(refuse_schema=too_long) as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json")
    assert code == 1 and len(server.requests) == 1 and "could not use the schema" not in stderr
    assert "the server refused the request (HTTP 400" in json.loads(stdout)["errors"][0]
    with JsonServer(refuse_schema=(500, '{"error": {"message": "CUDA out of memory"}}')) as server:
        code, stdout, stderr = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--json",
                                   "--retries", "2")  # fmt: skip
    assert code == 1 and len(server.requests) == 3 and len(sleeps) == 2 and "could not use the schema" not in stderr
