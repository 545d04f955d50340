"""`exaone ask` against recorded server answers (tests/cases/, replayed byte for byte): what the
answer, its note and its exit code are for every way a server's answer can end, with thinking on
(the default) and off. The testers' findings on fresh clones (issue #16: ask)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import run_exaone
from docqa_fixtures import DocumentServer, coded, contract_pages, make_coded_pdf
from fake_openai import FakeServer
from pdf_fixtures import make_text_pdf
from PIL import Image
from replay_server import ReplayServer, case
from terminal import run_on_terminal
from test_server_answers import always, answer, run

from exaone_cli.engines import remote as remote_module

FIELDS = "상호, 합계금액:integer"


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_module, "_sleep", lambda seconds: None)


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    path = tmp_path / "receipt.png"
    Image.new("RGB", (56, 56), "white").save(path)
    return path


def ask_json(body: bytes, image: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    with ReplayServer(always(body)) as server:
        code, stdout, stderr = run(
            "ask", str(image), "합계는?", "--server", server.url, "--retries", "0", "--json", *args
        )
    assert stdout.strip(), f"no JSON on stdout; stderr: {stderr}"
    return code, json.loads(stdout), stderr


# ---- 1. no </think> and no reasoning, ended by a real stop: the server's prompt opened no think block


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("surrogate--bad.json", "price \ufffd 5000"),
        ("odd-server-answers--content-list.json", "hello 123"),
        ("terminal-escapes--body.json", "total \x1b[31mRED\x1b[0m \x1b]0;PWNED\x07 nul\x00end"),
        ("think-tags--unclosed.json", "hello 123"),
    ],
)
def test_a_stopped_server_answer_without_think_tags_is_the_answer_with_thinking_on(
    image: Path, name: str, expected: str
) -> None:
    """It was thrown away as reasoning "stopped at the token limit", rc 1, although the server said stop."""
    code, body, stderr = ask_json(case(name), image)
    assert code == 0, stderr
    assert (body["answer"], body["truncated"], body["finish_reason"]) == (expected, False, "stop")
    assert "taken as the answer" in body["note"] and "enable_thinking" in body["note"]
    assert "taken as the answer" in stderr
    assert "--max-new-tokens" not in stderr and "token limit" not in stderr
    if name.startswith("think-tags"):  # the unclosed <think> after the answer is still reasoning
        assert body["reasoning"] == "wait, is that a 1 or an l?"
    code, off, stderr = ask_json(case(name), image, "--no-think")  # asked for no reasoning: nothing to say
    assert (code, off["answer"], off["note"]) == (0, expected, None), stderr


def test_no_text_at_all_says_so_not_the_token_limit(image: Path) -> None:
    code, body, stderr = ask_json(case("odd-server-answers--content-null.json"), image)
    assert code == 1
    assert "the model returned no text" in body["note"] and "the model returned no text" in stderr
    assert "--max-new-tokens" not in stderr and "token limit" not in stderr


def test_only_the_token_limit_says_raise_max_new_tokens(image: Path) -> None:
    code, body, stderr = ask_json(answer("I add 4500 and", "length"), image)
    assert code == 1 and body["truncated"] and body["reasoning"] == "I add 4500 and"
    assert "stopped inside the reasoning at the token limit" in body["note"] and "--max-new-tokens" in stderr


def test_a_server_reasoning_field_still_goes_apart(image: Path) -> None:
    code, body, stderr = ask_json(answer("12,500원", reasoning_content="I add the lines."), image)
    assert code == 0, stderr
    assert (body["answer"], body["reasoning"], body["note"]) == ("12,500원", "I add the lines.", None)


def test_extract_with_thinking_takes_a_stopped_untagged_answer(image: Path) -> None:
    """extract --think --server with valid JSON, finish stop: "stopped inside the reasoning at the token limit"."""
    with ReplayServer(always(answer('{"상호": "카페", "합계금액": 4500}'))) as server:
        code, stdout, stderr = run(
            "extract", str(image), "--fields", FIELDS, "--server", server.url, "--think", "--json", "--retries", "0"
        )
    assert code == 0, stderr
    result = json.loads(stdout)
    assert result["valid"] and result["data"] == {"상호": "카페", "합계금액": 4500}
    assert "token limit" not in stderr


# ---- 2. ask --json prints its object whatever the server answered --------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (case("odd-server-answers--choices-empty.json"), "has no choices: `choices` is an empty list"),
        (case("odd-server-answers--error-in-200.json"), '"CUDA out of memory"'),
        (answer("half an ans", "abort"), "finish_reason 'abort'"),
    ],
    ids=["choices-empty", "error-in-200", "abort"],
)
def test_ask_json_always_prints_the_object_with_error(image: Path, body: bytes, says: str) -> None:
    """choices-empty and error-in-200 printed nothing on stdout (the error only on stderr)."""
    code, result, stderr = ask_json(body, image)
    assert code == 1
    assert says in result["error"] and says in stderr
    assert (result["answer"], result["final"], result["finish_reason"]) == ("", None, "error")
    assert "(" not in result["error"].split(says)[0]  # one sentence, no nested parentheses
    if "tries" in result["error"] or "try" in result["error"]:
        assert "after 1 try:" in result["error"]  # --retries 0: one try, said as such


def test_ask_json_keeps_the_hint_apart_from_the_error(image: Path) -> None:
    """`hint` is a field of its own in ask's object, as in ocr's records: the advice is not glued
    into `error`, and stderr prints it as a Hint: line."""
    code, result, stderr = ask_json(case("odd-server-answers--error-in-200.json"), image)
    assert code == 1
    assert result["hint"] and result["hint"] not in result["error"]
    assert f"Hint: {result['hint']}" in stderr


def _closed_port() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.server_close()
    return url


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["missing.pdf", "합계는?"], 1, "missing.pdf: no such file"),
        (["합계는?", "--server", "CLOSED", "--retries", "0"], 3, "cannot reach the server"),
        (["합계는?", "--pages", "2"], 2, "--pages needs a document"),
    ],
    ids=["missing-input", "server-unreachable", "usage"],
)
def test_ask_json_prints_an_error_object_when_nothing_was_asked(args: list[str], code: int, says: str) -> None:
    """`exaone ask missing.pdf "q" --json | jq` got nothing on stdout: a pipeline now reads an
    object with `error` and `hint`, with the exit code and the Error:/Hint: lines unchanged."""
    args = [_closed_port() if arg == "CLOSED" else arg for arg in args]
    got, stdout, stderr = run("ask", *args, "--json")
    assert got == code
    result = json.loads(stdout)
    assert set(result) == {"schema_version", "question", "error", "hint"}
    assert (result["schema_version"], result["question"]) == (1, "합계는?")
    assert says in result["error"] and result["hint"]
    assert f"Error: {result['error']}" in stderr and f"Hint: {result['hint']}" in stderr


# ---- 3. Ctrl-C keeps what was streamed ------------------------------------------------------------


class HangingStream:
    """A server that streams some reasoning, then `lines` as answer deltas, and then never
    finishes (a long answer)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.done = threading.Event()

    def __enter__(self) -> HangingStream:
        stream = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = json.dumps({"object": "list", "data": [{"id": "fake-exaone", "object": "model"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                answer = [{"content": f"{line}\n"} for line in stream.lines]
                deltas = [{"reasoning_content": "I read the receipt."}, *answer]
                for part in deltas:
                    delta = {"choices": [{"index": 0, "delta": part, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(delta)}\n\n".encode())
                    self.wfile.flush()
                stream.done.wait(60)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.mark.parametrize("think", ["--no-think", "--think"])
def test_ctrl_c_keeps_the_streamed_answer_on_the_terminal(image: Path, think: str) -> None:
    """After C-c the pane held only `Interrupted.`: the live view was cleared on the way out."""
    lines = [f"streamed line {n}" for n in range(1, 6)]
    with HangingStream(lines) as server:
        run = run_on_terminal(
            "ask", str(image), "합계?", "--server", server.url, think, stdout="terminal",
            interrupt_after=b"streamed line 5", timeout=60,
        )  # fmt: skip
    assert run.returncode == 130, run.text
    screen = [line.strip() for line in run.screen]
    assert all(line in screen for line in lines), run.text  # what was shown stays
    assert screen.index("Interrupted.") > screen.index("streamed line 5"), run.text  # then the word


# ---- 4. the loading step, as exaone ocr shows it --------------------------------------------------

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("mode", ["images", "document"])
def test_ask_says_what_it_loaded_with_stdout_redirected(mode: str) -> None:
    """`exaone ask ... > a.txt` showed no "Loaded ..." line (and in document mode, a progress
    line of 0 pages for over a minute with no word of loading)."""
    args = [str(EXAMPLES / "receipt.png")] if mode == "images" else [str(EXAMPLES / "report.pdf"), "--max-images", "1"]
    with ReplayServer(always(answer("12,500원"))) as server:
        run = run_on_terminal(
            "ask", *args, "합계?", "--server", server.url, "--no-think", "--no-cache", columns=200, timeout=120
        )
    assert run.returncode == 0, run.text
    assert f"Loading the model served at {server.url}" in run.raw.decode(errors="replace")  # the spinner
    loaded = [line for line in run.screen if line.startswith("Loaded ")]
    assert len(loaded) == 1 and f"the model served at {server.url} in" in loaded[0], run.text
    assert loaded[0].endswith("· model fake-exaone")
    assert b"Loaded" not in run.stdout and run.stdout.decode().strip() == "12,500원"
    if mode == "document":  # said before the pages are read
        reading = next(i for i, line in enumerate(run.screen) if line.startswith("Reading "))
        assert run.screen.index(loaded[0]) < reading, run.text


# ---- 5. document mode: the answer's limit and the transcription's -------------------------------


def test_page_tokens_and_page_retries_shape_the_transcription_and_max_new_tokens_the_answer(tmp_path: Path) -> None:
    """Every transcription request had max_tokens 4096 and 3 tries whatever --max-new-tokens said."""
    pages = contract_pages(12, 5, "위약금 3,700만원")
    pdf = make_coded_pdf(tmp_path / "계약서.pdf", pages, scanned=True)
    respond = lambda prompt: "3,700만원 [p. 5]. \\boxed{3,700만원}"  # noqa: E731
    with DocumentServer(texts=coded(pages), respond=respond, faults=["500"]) as server:
        proc = run_exaone(
            "ask", str(pdf), "위약금은?", "--server", server.url, "--dpi", "40", "--json", "--retries", "0",
            "--concurrency", "1", "--max-images", "2", "--no-think",
            "--max-new-tokens", "24", "--page-tokens", "300", "--page-retries", "0",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    transcribing = [r for r in server.requests if any(p["type"] == "image_url" for p in r["messages"][0]["content"])]
    asking = [r for r in server.requests if r not in transcribing]
    assert {r["max_tokens"] for r in transcribing} == {300} and len(transcribing) == 12  # page 1: one try, failed
    assert [r["max_tokens"] for r in asking] == [24]
    assert body["sampling"]["max_new_tokens"] == 24
    assert [p["page"] for p in body["pages_read"]] == list(range(2, 13))
    assert "page 1 is left out of the answer" in proc.stderr


def test_ask_help_says_which_limit_is_which() -> None:
    help_text = " ".join(run_exaone("ask", "--help", env={"COLUMNS": "200"}).stdout.split())
    assert "Token limit for the answer (and its reasoning); pages are transcribed with --page-tokens." in help_text
    assert "--page-tokens" in help_text and "--page-retries" in help_text
    assert "Token limit for each generation" not in help_text


# ---- 6. citations without a document label, with several documents -------------------------------


def test_a_bare_page_citation_goes_to_the_one_document_with_that_page_or_is_dropped_as_ambiguous(
    tmp_path: Path,
) -> None:
    """All 40 pages were in the prompt: [p. 3] was dropped as "not in the prompt", [p. 23] and the
    7 of [p. 3, 7] were given to the first document without a word."""
    contract = make_coded_pdf(tmp_path / "contract.pdf", contract_pages(30, 0, ""))
    minutes = [
        make_coded_pdf(tmp_path / f"minutes-{n}.pdf", contract_pages(5, 0, ""), first_code=100 * n) for n in (1, 2)
    ]
    reply = "위약금 조항 [p. 3], [p. 23], [p. 3, 7], [A p. 99], [D p. 1]. \\boxed{없음}"
    with DocumentServer(respond=lambda prompt: reply) as server:
        proc = run_exaone(
            "ask", str(contract), *map(str, minutes), "위약금 조항은 어떻게 되어 있나요?", "--server", server.url,
            "--json", "--no-think", "--context-tokens", "60000",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert len(body["pages_read"]) == 40  # every page was in the prompt
    assert body["citations"] == [
        {"source": str(contract), "page": 23, "label": None},
        {"source": str(contract), "page": 7, "label": None},
    ]
    assert body["dropped_citations"] == ["[p. 3]", "[A p. 99]", "[D p. 1]"]  # as written, first one first
    stderr = " ".join(proc.stderr.split())
    assert "[p. 3] without a document label" in stderr and "which document?" in stderr
    assert "[A p. 99], not in the prompt" in stderr and "[p. 3], not in the prompt" not in stderr
    assert "[D p. 1], a label of no document" in stderr
    assert f"[p. 23] as A p. 23 ({contract})" in stderr and f"[p. 7] as A p. 7 ({contract})" in stderr


# ---- 7. a cut answer is said, and an input's missing pages are on its images ---------------------


@pytest.mark.parametrize(
    ("content", "think"), [("12,500", "--no-think"), ("I add the lines.</think>\n\n12,500", "--think")]
)
def test_an_answer_cut_by_the_token_limit_is_a_warning_and_exit_1_in_both_thinking_modes(
    image: Path, content: str, think: str
) -> None:
    """--no-think stopped by --max-new-tokens gave no warning and exit 0."""
    code, body, stderr = ask_json(answer(content, "length"), image, think, "--max-new-tokens", "24")
    assert code == 1 and (body["answer"], body["finish_reason"]) == ("12,500", "length")
    says = "the answer stopped at the token limit, so it may be incomplete: raise --max-new-tokens (now 24)"
    assert body["note"] == says and f"Warning: {says}" in " ".join(stderr.split())
    with ReplayServer(always(answer(content, "length"))) as server:  # the text view says it too
        code, stdout, stderr = run(
            "ask", str(image), "합계는?", "--server", server.url, think, "--max-new-tokens", "24"
        )
    assert code == 1 and stdout.strip() == "12,500" and says in " ".join(stderr.split())


def test_pages_an_input_lacks_are_noted_on_its_images(tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "three.pdf", ["one", "two", "three"])
    code, body, stderr = ask_json(answer("two"), pdf, "--pages", "2,5", "--no-think")
    assert code == 0, stderr
    says = "no page 5 in this 3-page file (--pages 2,5)"
    assert [(ref["page"], ref["note"]) for ref in body["images"]] == [(2, says)]
    assert says in body["note"]


def test_reasoning_with_thinking_off_is_said_without_nested_parentheses(image: Path) -> None:
    code, body, _ = ask_json(case("reasoning-only--body.json"), image, "--no-think")
    assert code == 1 and "all 9 characters came as reasoning although thinking was off" in body["note"]
    assert "(" not in body["note"] and "may ignore enable_thinking=false" in body["note"]


def test_extract_says_an_interruption_once(image: Path) -> None:
    """Ctrl-C in `exaone extract` said "Interrupted after 0 of 1 results: ..." and then
    "Interrupted." again (ocr says it once since the first-contact fixes)."""
    with HangingStream(["x"]) as server:
        run = run_on_terminal(
            "extract", str(image), "--fields", "합계:integer", "--server", server.url, "--jsonl",
            stdout="file", interrupt_after=b"Extract", timeout=60,
        )  # fmt: skip
    assert run.returncode == 130, run.text
    assert run.text.count("Interrupted") == 1, run.text


# ---- issue #23: a server with a shorter context than --context-tokens ----------------------------


def test_a_server_that_reports_a_shorter_context_gets_pages_fitted_to_it(tmp_path: Path) -> None:
    from exaone_cli.ask.retrieval import estimate_tokens

    pages = contract_pages(12, 5, "위약금 3,700만원")
    pdf = make_coded_pdf(tmp_path / "계약서.pdf", pages, scanned=True)
    with DocumentServer(texts=coded(pages), max_model_len=1200) as server:
        proc = run_exaone(
            "ask", str(pdf), "위약금은?", "--server", server.url, "--dpi", "40", "--json", "--max-images", "2",
            "--no-think", "--max-new-tokens", "200", "--page-tokens", "300", "--page-retries", "0",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "the server takes at most 1,200 tokens (its max_model_len): fitting the pages to 1,000" in proc.stderr
    (question,) = server.questions
    assert estimate_tokens(question) <= 1000 < 16_384


def test_a_server_refusing_a_long_prompt_gets_a_hint_naming_context_tokens(image: Path) -> None:
    with FakeServer(faults=["context"]) as server:
        code, stdout, stderr = run("ask", str(image), "합계는?", "--server", server.url, "--retries", "0", "--json")
    assert code == 1
    assert "maximum context length is 8192" in json.loads(stdout)["error"]
    assert "--context-tokens" in stderr and "--max-model-len" in stderr


def test_a_question_that_is_not_utf8_is_said_at_once_not_retried_as_a_server_fault() -> None:
    """On Korean Windows a question typed or piped as cp949 reached the server as lone surrogates:
    four retries, then "check the server, or raise --retries"."""
    import os

    question = os.fsdecode("합계는?".encode("cp949"))  # the bytes a cp949 terminal passes
    with FakeServer() as server:
        proc = run_exaone("ask", question, "--server", server.url)
        assert proc.returncode == 2, proc.stderr
        assert "not UTF-8" in proc.stderr and "iconv -f cp949" in proc.stderr and "Traceback" not in proc.stderr
        assert not server.requests  # nothing was sent, nothing retried
