"""exaone against a REAL OpenAI-compatible server: `transformers serve` with the tiny checkpoint
on 127.0.0.1, started and stopped by the tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_exaone
from pdf_fixtures import make_text_pdf
from serve_fixture import transformers_serve

FAST = ["--dpi", "50", "--max-new-tokens", "8", "--temperature", "0", "--page-retries", "0"]  # 8 tokens: the limit


@pytest.fixture(scope="module")
def server(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with transformers_serve(tiny_model, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("serve-docs")
    return make_text_pdf(folder / "doc.pdf", [f"{i}쪽: 매출 {i * 100}억 원" for i in range(1, 7)])


def test_ask_answers_through_the_server(server: str, receipt_png: Path, tiny_model: Path) -> None:
    # Sampling (the ocr preset: top_k 20), so the server sees top_k.
    proc = run_exaone("ask", str(receipt_png), "합계 금액은?", "--server", server, "--json", "--max-new-tokens", "8")
    body = json.loads(proc.stdout)
    # 8 tokens usually end inside the reasoning: an empty answer, exit code 1 (issue #12 item 3).
    assert proc.returncode == (1 if body["note"] else 0), proc.stderr
    cut = body["finish_reason"] in ("length", "repetition")  # a cut answer: a note too (issue #16)
    assert (body["note"] is not None) == (not body["answer"].strip() or cut)
    assert body["model"] == str(tiny_model)  # discovered from /v1/models
    assert body["tokens"]["prompt"] > 10 and 0 < body["tokens"]["completion"] <= 8
    assert body["preset"]["name"] == "ocr" and body["thinking"] is True
    # transformers serve refuses top_k with a 422: dropped, said once, and the answer still came.
    assert proc.stderr.count("does not accept top_k") == 1


def test_ocr_concurrency_4_prints_one_line_per_page_in_order(server: str, pdf: Path) -> None:
    proc = run_exaone("ocr", str(pdf), "--server", server, "--jsonl", "--concurrency", "4", *FAST)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    cut = any(line["finish_reason"] == "length" and line["text_source"] == "model" for line in lines)
    assert proc.returncode == int(cut), proc.stderr  # a page the 8-token limit cut: exit 1 (issue #23 item 2)
    assert [line["page"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert all(line["error"] is None and line["tokens"]["completion"] > 0 for line in lines)
    assert all(line["reasoning"] is None for line in lines)  # thinking off for OCR


def test_server_stopped_half_way_keeps_finished_pages_and_exits_1(tiny_model: Path, pdf: Path, tmp_path: Path) -> None:
    out = tmp_path / "pages.jsonl"
    with transformers_serve(tiny_model, tmp_path / "serve.log") as url:
        run = subprocess.Popen(
            [sys.executable, "-m", "exaone_cli", "ocr", str(pdf), "--server", url, "-o", str(out),
             "--concurrency", "1", "--retries", "1", "--dpi", "50", "--max-new-tokens", "64", "--temperature", "0",
             "--page-retries", "0", "--text-layer", "off"],  # the failed pages stay failed: no text layer stands in
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 2):
            time.sleep(0.1)
    # The server is gone now; the run goes on without it.
    _, stderr = run.communicate(timeout=180)
    assert run.returncode == 1, stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["page"] for line in lines] == [1, 2, 3, 4, 5, 6]
    finished = [line for line in lines if line["error"] is None]
    failed = [line for line in lines if line["error"]]
    assert len(finished) >= 2 and failed
    assert lines[: len(finished)] == finished  # the finished pages are the first ones, kept
    assert all("failed after 2 tries" in line["error"] for line in failed)
    assert "Traceback" not in stderr


def test_extract_through_a_server_that_ignores_response_format(server: str, receipt_png: Path) -> None:
    """transformers serve takes `response_format` without complaint and ignores it (it logs
    "Ignoring unsupported fields"), so nothing constrains the tiny model's noise: 8 tokens cannot
    spell the schema's keys, the repair cannot either, and the result is an error record that
    keeps the raw text. Nothing unvalidated is printed as data."""
    proc = run_exaone("extract", str(receipt_png), "--fields", "상호, 합계금액:integer", "--server", server, "--json",
                      "--max-new-tokens", "8")  # fmt: skip
    assert proc.returncode == 1
    assert "does not accept response_format" not in proc.stderr  # accepted (and ignored), not refused
    result = json.loads(proc.stdout)
    assert result["valid"] is False and result["data"] is None and result["attempts"] == 2
    assert result["raw"] and result["errors"] and result["tokens"]["completion"] > 0
    assert "no valid JSON after 2 attempt(s)" in proc.stderr
