"""--server against an HTTP-level fake that fails on demand: retries, refused fields, order
under concurrency, reasoning fields, a server that goes away. (tests/test_serve.py runs the
same commands against a real `transformers serve`.)"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_openai import REASONING, FakeServer
from pdf_fixtures import make_text_pdf
from typer.testing import CliRunner

from exaone_cli.cli import app
from exaone_cli.engines import remote as remote_module


@pytest.fixture()
def pdf(tmp_path: Path) -> Path:
    return make_text_pdf(tmp_path / "doc.pdf", [f"페이지 {i}" for i in range(1, 7)])


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits are recorded, not slept, so fault tests stay fast."""
    waits: list[float] = []
    monkeypatch.setattr(remote_module, "_sleep", waits.append)
    return waits


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def ocr_jsonl(server: FakeServer, pdf: Path, *args: str) -> tuple[int, list[dict], str]:
    code, stdout, stderr = run("ocr", str(pdf), "--server", server.url, "--jsonl", "--dpi", "40", *args)
    return code, [json.loads(line) for line in stdout.splitlines()], stderr


def test_requests_carry_images_sampling_and_thinking(pdf: Path) -> None:
    with FakeServer() as server:
        code, lines, stderr = ocr_jsonl(server, pdf, "--pages", "1", "--seed", "3")
    assert code == 0, stderr
    body = server.requests[0]
    parts = body["messages"][0]["content"]
    assert parts[0]["type"] == "image_url" and parts[0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[1]["type"] == "text" and "reading order" in parts[1]["text"]
    assert (body["temperature"], body["top_p"], body["top_k"], body["presence_penalty"]) == (0.6, 0.95, 20, 1.5)
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert (body["max_tokens"], body["seed"], body["model"]) == (4096, 3, "exaone-fake")
    assert lines[0]["model"] == "exaone-fake" and lines[0]["tokens"] == {"prompt": 11, "completion": 7}


def test_refused_field_is_dropped_with_one_warning(pdf: Path) -> None:
    with FakeServer(refuse_fields={"top_k"}) as server:
        code, lines, stderr = ocr_jsonl(server, pdf, "--concurrency", "2")
    assert code == 0
    assert len(lines) == 6 and all(line["error"] is None for line in lines)
    assert stderr.count("does not accept top_k") == 1
    accepted = [body for body in server.requests if "top_k" not in body]
    assert len(accepted) == 6  # every page went through, without top_k


def test_transient_failures_are_retried_with_backoff(pdf: Path, no_real_sleep: list[float]) -> None:
    with FakeServer(faults=["500", "429", "bad-json", "drop"]) as server:
        code, lines, stderr = ocr_jsonl(server, pdf, "--pages", "1", "--retries", "4")
    assert code == 0, stderr
    assert lines[0]["error"] is None
    assert len(server.requests) == 5
    assert 0.2 in no_real_sleep  # the 429's Retry-After was honoured
    assert len(no_real_sleep) == 4


def test_a_page_that_keeps_failing_is_a_record_and_the_run_goes_on(pdf: Path) -> None:
    # 2 HTTP tries (--retries 1) for each of the page's 3 generations (--page-retries 2, the
    # default); no text layer to fall back on.
    with FakeServer(faults=["500"] * 6) as server:
        code, lines, stderr = ocr_jsonl(
            server, pdf, "--pages", "1-2", "--retries", "1", "--concurrency", "1", "--text-layer", "off"
        )
    assert code == 1
    assert [line["page"] for line in lines] == [1, 2]
    assert "failed after 2 tries" in lines[0]["error"] and "HTTP 500" in lines[0]["error"]
    assert (lines[0]["attempts"], len(server.requests)) == (3, 7)
    assert lines[1]["error"] is None
    assert "Error:" in stderr and "Traceback" not in stderr


def test_concurrent_requests_come_back_in_input_order(pdf: Path) -> None:
    """The first two pages' answers come last; the output is still in page order. They wait until
    another request is in flight (not for a time: a busy machine may send the next one late)."""
    active, peak, lock = [0], [0], threading.Lock()
    overlapped = threading.Event()

    def slower_for_early_pages(body: dict) -> float:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            if active[0] > 1:
                overlapped.set()
            early = len(server.requests) <= 2
        if early:
            overlapped.wait(timeout=60)  # a client that sends one request at a time fails below: peak 1
        time.sleep(0.3 if early else 0.05)
        with lock:
            active[0] -= 1
        return 0.0

    with FakeServer(delay=slower_for_early_pages) as server:
        code, lines, _ = ocr_jsonl(server, pdf, "--concurrency", "4")
    assert code == 0
    assert [line["page"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert peak[0] > 1  # really concurrent


@pytest.mark.parametrize("parser", [True, False])
def test_reasoning_with_and_without_a_reasoning_parser(tmp_path: Path, parser: bool) -> None:
    from PIL import Image

    image = tmp_path / "a.png"
    Image.new("RGB", (64, 64), "white").save(image)
    with FakeServer(reasoning_parser=parser) as server:
        code, stdout, _ = run("ask", str(image), "What is shown?", "--server", server.url, "--json")
    assert code == 0
    body = json.loads(stdout)
    assert body["reasoning"] == REASONING
    assert body["answer"].startswith("saw 1 image(s): What is shown?")
    assert body["thinking"] is True and body["model"] == "exaone-fake"


def test_several_served_models_need_a_choice(pdf: Path) -> None:
    with FakeServer(models=["exaone-a", "exaone-b"]) as server:
        code, _, stderr = ocr_jsonl(server, pdf)
        assert code == 2 and "exaone-a, exaone-b" in stderr and "--served-model" in stderr
        code, lines, _ = ocr_jsonl(server, pdf, "--served-model", "exaone-b", "--pages", "1")
    assert code == 0 and lines[0]["model"] == "exaone-b"


def test_unreachable_server_is_exit_3(pdf: Path) -> None:
    with FakeServer() as server:
        url = server.url
    code, stdout, stderr = run("ocr", str(pdf), "--server", url, "--jsonl", "--retries", "1")
    assert code == 3 and stdout == ""
    assert "cannot reach the server" in stderr


def test_server_gone_half_way_keeps_finished_pages_and_exits_1(pdf: Path) -> None:
    server = FakeServer()
    served = 0

    def stop_after_three(body: dict) -> float:
        nonlocal served
        served += 1
        if served == 3:
            threading.Thread(target=server.__exit__).start()
        return 0.0

    server.delay = stop_after_three
    with server:
        code, lines, stderr = ocr_jsonl(server, pdf, "--concurrency", "1", "--retries", "1", "--text-layer", "off")
    assert code == 1
    assert [line["page"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert [line["error"] is None for line in lines][:2] == [True, True]
    assert all(line["error"] for line in lines[3:])
    assert "Traceback" not in stderr


def test_server_mode_imports_no_torch(pdf: Path) -> None:
    with FakeServer() as server:
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "exaone_cli", "ocr", str(pdf), "--server", server.url,
             "--jsonl", "--pages", "1", "--dpi", "40"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "openai" in imported and not imported & {"torch", "transformers", "accelerate"}
    assert json.loads(proc.stdout)["error"] is None


def test_a_server_with_a_short_context_gets_requests_that_fit_it(pdf: Path) -> None:
    """vLLM refuses a request whose prompt and max_tokens pass its --max-model-len: an A4 page at
    200 DPI is 4,956 visual tokens, so with the default --max-new-tokens 4,096 an 8,192-token server
    answered every page with HTTP 400. exaone asks the server's max_model_len and asks for what each
    prompt leaves, saying so once."""
    with FakeServer(max_model_len=8192) as server:
        code, stdout, stderr = run("ocr", str(pdf), "--server", server.url, "--jsonl", "--pages", "1-3")
    assert code == 0 and len(stdout.splitlines()) == 3, stderr
    asked = [body["max_tokens"] for body in server.requests]
    assert len(asked) == 3 and all(2_500 < tokens <= 8192 - 4956 for tokens in asked)
    assert stderr.count("the server takes at most 8,192 tokens (its max_model_len)") == 1
    assert f"(here {asked[0]:,} new tokens, not --max-new-tokens 4,096)" in " ".join(stderr.split())
    with FakeServer(max_model_len=32768) as roomy:  # room enough: the flag as given, nothing said
        code, _, stderr = run("ocr", str(pdf), "--server", roomy.url, "--jsonl", "--pages", "1")
    assert code == 0 and roomy.requests[0]["max_tokens"] == 4096 and "max_model_len" not in stderr


def test_a_file_that_could_not_be_read_names_no_model_in_a_server_run(pdf: Path, tmp_path: Path) -> None:
    """No model saw an unreadable file or an empty page range: its record's `model` is null, as
    extract's are; it named the default Hub model, which this run never used."""
    junk = tmp_path / "junk.pdf"
    junk.write_text("not a pdf")
    with FakeServer() as server:
        code, lines, _ = ocr_jsonl(server, junk, "--pages", "1")
        mixed_code, mixed, _ = run("ocr", str(junk), str(pdf), "--pages", "1", "--server", server.url, "--json")
        _, both, _ = run("ocr", str(junk), str(pdf), "--pages", "1", "--server", server.url, "--jsonl")
        _, past_the_end, _ = ocr_jsonl(server, pdf, "--pages", "9")
    assert code == 1 and lines[0]["error"] and lines[0]["model"] is None
    assert past_the_end[0]["error"] and past_the_end[0]["model"] is None
    body = json.loads(mixed)
    assert mixed_code == 1 and body["model"] == "exaone-fake"  # the model that made the good page
    assert [json.loads(line)["model"] for line in both.splitlines()] == [None, "exaone-fake"]
