"""Answers real servers sent that broke exaone (issue #12 items 1-4, 7), replayed byte for byte:
a lone surrogate, reasoning that leaked past think tags, empty and cut answers, error bodies with
HTTP 200, empty choices, content parts. No content of one page may end a run or lose another
page's output; every shape gets a message in words; only a real stop counts as done."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pdf_fixtures import make_text_pdf
from PIL import Image, ImageDraw
from replay_server import ReplayServer, case, image_width
from typer.testing import CliRunner

from exaone_cli.cli import app
from exaone_cli.engines import remote as remote_module

OK = case("surrogate--ok.json")
BAD = case("surrogate--bad.json")
WIDTHS = (280, 336, 392, 448)  # multiples of 28: the server sees each page at its own width


@pytest.fixture(autouse=True)
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(remote_module, "_sleep", lambda seconds: None)


@pytest.fixture()
def four_pages(tmp_path: Path) -> Path:
    """A 4-page TIFF whose pages the server tells apart by width (WIDTHS)."""
    frames = []
    for number, width in enumerate(WIDTHS, 1):
        frame = Image.new("RGB", (width, 280), "white")
        ImageDraw.Draw(frame).text((20, 120), f"page {number}", fill="black")
        frames.append(frame)
    path = tmp_path / "scan.tiff"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    return path


def by_page(*bodies: bytes) -> Callable[[dict[str, Any]], bytes]:
    """Answer page n (found by the image's width) with bodies[n - 1]."""
    return lambda request: bodies[WIDTHS.index(image_width(request))]


def always(body: bytes) -> Callable[[dict[str, Any]], bytes]:
    return lambda request: body


def first_requests(n: int, body: bytes, then: bytes) -> Callable[[ReplayServer], Callable[[dict[str, Any]], bytes]]:
    """For a server: answer its first `n` requests with `body`, the rest with `then`."""
    return lambda server: lambda request: body if len(server.requests) <= n else then


def answer(content: object = "fine page", finish: object = "stop", **message: object) -> bytes:
    """A chat-completion body of our own making (the recorded ones are in tests/cases/)."""
    choice = {"index": 0, "message": {"role": "assistant", "content": content, **message}, "finish_reason": finish}
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    return json.dumps(
        {"id": "x", "object": "chat.completion", "created": 0, "choices": [choice], "usage": usage}
    ).encode()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def ocr(server: ReplayServer, path: Path, *args: str) -> tuple[int, str, str]:
    return run("ocr", str(path), "--server", server.url, "--retries", "0", *args)


def jsonl(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines()]


# ---- 1. model text is untrusted data ---------------------------------------------------------


@pytest.mark.parametrize("concurrency", ["1", "4"])
def test_a_lone_surrogate_on_one_page_costs_no_page_in_any_format(
    four_pages: Path, tmp_path: Path, concurrency: str
) -> None:
    """shared/cases/hardening/surrogate: served ok, bad, ok, ok, the run died with
    UnicodeEncodeError; -o out.json was never written and later pages were never requested."""
    with ReplayServer(by_page(OK, BAD, OK, OK)) as server:
        outputs = {}
        for fmt, suffix in (("json", "json"), ("jsonl", "jsonl"), ("text", "txt"), ("markdown", "md")):
            target = tmp_path / f"out.{suffix}"
            code, _, stderr = ocr(server, four_pages, "-f", fmt, "-o", str(target), "--concurrency", concurrency)
            assert code == 0, stderr
            outputs[fmt] = target.read_text(encoding="utf-8")  # valid UTF-8, or this raises
        code, stdout, stderr = ocr(server, four_pages, "--jsonl", "--concurrency", concurrency)
    assert code == 0 and "Traceback" not in stderr
    assert len(server.requests) == 5 * 4  # every page of every run was asked for
    for records in (jsonl(stdout), jsonl(outputs["jsonl"]), json.loads(outputs["json"])["documents"][0]["pages"]):
        assert [r["page"] for r in records] == [1, 2, 3, 4]
        assert [r["text"] for r in records] == ["fine page", "price \ufffd 5000", "fine page", "fine page"]
        assert [r["replaced_characters"] for r in records] == [0, 1, 0, 0]
        assert all(r["error"] is None for r in records)
    for fmt in ("text", "markdown"):
        assert outputs[fmt].count("fine page") == 3 and "price \ufffd 5000" in outputs[fmt]


def test_ask_json_with_a_lone_surrogate_prints_its_answer(tmp_path: Path) -> None:
    image = tmp_path / "receipt.png"
    Image.new("RGB", (56, 56), "white").save(image)
    with ReplayServer(always(BAD)) as server:
        code, stdout, stderr = run("ask", str(image), "Price?", "--server", server.url, "--no-think", "--json")
    assert code == 0, stderr
    body = json.loads(stdout)
    assert (body["answer"], body["replaced_characters"]) == ("price \ufffd 5000", 1)
    assert body["raw"] == "price \ufffd 5000"


def test_surrogates_in_reasoning_and_content_parts_are_replaced_and_pairs_joined(four_pages: Path) -> None:
    reasoning = answer("a\ud83d\ude00b", reasoning_content="think \udc00")  # a pair, then a lone low half
    parts = answer([{"type": "text", "text": "x\ud800"}, {"type": "text", "text": "y"}], reasoning="r")
    with ReplayServer(by_page(reasoning, parts, OK, OK)) as server:
        code, stdout, stderr = ocr(server, four_pages, "--jsonl", "--pages", "1-2", "--think")
    assert code == 0, stderr
    first, second = jsonl(stdout)
    assert (first["text"], first["reasoning"], first["replaced_characters"]) == ("a\U0001f600b", "think \ufffd", 1)
    assert (second["text"], second["replaced_characters"]) == ("x\ufffdy", 1)


def test_a_streamed_surrogate_pair_split_across_chunks_is_one_character(tmp_path: Path) -> None:
    """Streaming (ask's live view): the halves of a pair may arrive in two chunks."""
    from exaone_cli.api import ask
    from exaone_cli.engines import RemoteOptions

    deltas = [{"content": "\ud83d"}, {"content": "\ude00!"}, {}]
    finishes = [None, None, "stop"]
    events = [
        {"choices": [{"index": 0, "delta": d, "finish_reason": f}]} for d, f in zip(deltas, finishes, strict=True)
    ]
    stream = "".join(f"data: {json.dumps(event)}\n\n" for event in events) + "data: [DONE]\n\n"
    pieces: list[str] = []
    with ReplayServer(always(stream.encode())) as server:
        options = RemoteOptions(server.url, retries=0)
        result = ask("hi", remote=options, thinking=False, on_text=lambda _, t: pieces.append(t))
    assert result.parsed.answer == "\U0001f600!"
    assert result.generation.replaced_characters == 0
    for piece in pieces:  # what the live view was handed could be printed
        piece.encode("utf-8")


def test_a_file_name_that_is_not_utf8_keeps_json_exact_and_text_valid(four_pages: Path, tmp_path: Path) -> None:
    """A neighbour: a Latin-1 file name becomes lone surrogates in Python (surrogateescape)."""
    import os

    odd = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.tiff"))
    odd.write_bytes(four_pages.read_bytes())
    with ReplayServer(always(OK)) as server:
        code, _, stderr = ocr(server, odd, "--pages", "1", "-o", str(tmp_path / "out.json"))
        assert code == 0, stderr
        code, text_out, stderr = ocr(server, odd, "--pages", "1", "-f", "text")
    assert code == 0, stderr
    raw = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert "caf\\udce9.tiff" in raw  # escaped, not dropped
    assert json.loads(raw)["documents"][0]["source"] == str(odd)  # decodes to the exact name
    assert "caf\ufffd.tiff" in text_out and "fine page" in text_out


# ---- 2. reasoning never leaks into the answer ------------------------------------------------


@pytest.mark.parametrize(
    ("body", "text", "reasoning"),
    [
        ("think-tags--dangling.json", "hello 123", "The user wants a transcription. I will copy it."),
        ("think-tags--unclosed.json", "hello 123", "wait, is that a 1 or an l?"),
    ],
)
def test_think_tags_with_thinking_off_stay_out_of_the_text(
    four_pages: Path, body: str, text: str, reasoning: str
) -> None:
    with ReplayServer(always(case(body))) as server:
        code, stdout, stderr = ocr(server, four_pages, "--jsonl", "--pages", "1")
    assert code == 0, stderr
    (record,) = jsonl(stdout)
    assert (record["text"], record["reasoning"]) == (text, reasoning)


def test_a_reasoning_field_and_a_close_tag_in_the_content_split_as_one(four_pages: Path) -> None:
    """A server with a reasoning parser whose content still holds a second `</think>`."""
    body = answer("more thought</think>\n\nhello 123", reasoning_content="first thought")
    with ReplayServer(always(body)) as server:
        code, stdout, _ = ocr(server, four_pages, "--jsonl", "--pages", "1", "--think")
    (record,) = jsonl(stdout)
    assert code == 0
    assert (record["text"], record["reasoning"]) == ("hello 123", "first thought\n\nmore thought")


# ---- 3. a page is never silently empty or silently cut ----------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (case("reasoning-only--body.json"), "all 9 characters came as reasoning although thinking was off"),
        (case("odd-server-answers--content-null.json"), "the model returned no text"),
        (answer("   \n"), "the model returned no text"),
    ],
    ids=["reasoning-only", "content-null", "whitespace-only"],
)
def test_an_empty_answer_is_a_warning_with_its_reason_and_exit_1(four_pages: Path, body: bytes, says: str) -> None:
    with ReplayServer(by_page(OK, body, OK, OK)) as server:
        code, stdout, stderr = ocr(server, four_pages, "--jsonl")
    assert code == 1
    records = jsonl(stdout)
    empty = records[1]
    assert (empty["text"], empty["error"], empty["finish_reason"]) == ("", None, "stop")
    assert says in empty["note"]
    assert [r["note"] for r in records if r["page"] != 2] == [None, None, None]
    warnings = [line for line in stderr.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "page 2" in warnings[0] and says in stderr


@pytest.mark.parametrize(
    ("finish", "says"),
    [
        ("abort", "finish_reason 'abort': the server aborted the request"),
        ("content_filter", "finish_reason 'content_filter': the server's content filter"),
        ("made_up_reason", "finish_reason 'made_up_reason': exaone does not know this reason"),
        (None, "without a finish_reason"),
    ],
)
def test_only_a_real_stop_is_done_and_resume_retries_the_rest(
    four_pages: Path, tmp_path: Path, finish: object, says: str
) -> None:
    """vLLM's `abort` was mapped to `stop`, and --resume then skipped the cut page forever."""
    out = tmp_path / "pages.jsonl"
    with ReplayServer(by_page(OK, answer("half a pa", finish), OK, OK)) as server:
        code, _, stderr = ocr(server, four_pages, "-o", str(out))
    assert code == 1
    cut = jsonl(out.read_text())[1]
    assert cut["finish_reason"] == "error" and says in cut["error"] and cut["error"].startswith(str(four_pages))
    assert cut["text"] == "" and "9 characters had arrived" in cut["error"]  # no half page passed off as text
    assert cut["width"] == 336 and cut["sha256"]  # what was known about the page
    assert "Error:" in stderr and says in stderr
    with ReplayServer(always(OK)) as again:
        code, _, stderr = ocr(again, four_pages, "-o", str(out), "--resume")
    assert code == 0, stderr
    assert [image_width(request) for request in again.requests] == [336]  # only the cut page
    assert [r["page"] for r in jsonl(out.read_text()) if r["error"] is None] == [1, 3, 4, 2]


def test_a_page_the_server_cut_gets_a_second_try_in_the_same_run(four_pages: Path) -> None:
    """The classification feeds --page-retries: an aborted page is tried again, not kept as cut."""
    tries: dict[int, int] = {}

    def abort_page_2_once(request: dict[str, Any]) -> bytes:
        width = image_width(request)
        tries[width] = tries.get(width, 0) + 1
        return answer("half a pa", "abort") if (width, tries[width]) == (336, 1) else OK

    with ReplayServer(abort_page_2_once) as server:
        code, stdout, stderr = ocr(server, four_pages, "--jsonl")
    assert code == 0, stderr
    second = jsonl(stdout)[1]
    assert (second["text"], second["error"], second["finish_reason"], second["attempts"]) == (
        "fine page",
        None,
        "stop",
        2,
    )


@pytest.mark.parametrize("finish", ["eos_token", "stop_sequence"])
def test_hugging_face_names_for_a_stop_are_a_stop(four_pages: Path, finish: str) -> None:
    with ReplayServer(always(answer("hello", finish))) as server:
        code, stdout, _ = ocr(server, four_pages, "--jsonl", "--pages", "1")
    assert code == 0 and jsonl(stdout)[0]["finish_reason"] == "stop"


def test_a_page_cut_by_the_token_limit_on_every_try_is_a_warning_counted_and_exit_1(four_pages: Path) -> None:
    # Issue #23: cut pages passed as success (exit 0, "no errors"); `ask` already exits 1 for a cut.
    with ReplayServer(by_page(answer("long page, cut", "length"), answer("whole page"))) as server:
        code, stdout, stderr = ocr(server, four_pages, "--jsonl", "--pages", "1-2", "--page-retries", "1")
    first, second = jsonl(stdout)
    assert (first["finish_reason"], first["error"], first["text"], first["attempts"]) == (
        "length",
        None,
        "long page, cut",
        2,
    )
    assert second["finish_reason"] == "stop"
    assert code == 1, stderr
    assert "Warning: " in stderr and "page 1: the text was cut short by the token limit on every try" in stderr
    assert "--max-new-tokens" in stderr and "page 2:" not in stderr
    assert "Done: 2 pages (1 cut by the token limit), no errors" in stderr


CUT = "the text was cut short by the token limit"


@pytest.mark.parametrize(("fmt", "mark"), [("text", f"[{CUT}]"), ("markdown", f"> **{CUT}**")])
def test_a_cut_page_is_marked_where_its_text_is_written(four_pages: Path, fmt: str, mark: str) -> None:
    with ReplayServer(by_page(answer("long page, cut", "length"), answer("whole page"))) as server:
        code, stdout, _ = ocr(server, four_pages, "--format", fmt, "--pages", "1-2", "--page-retries", "0")
    assert code == 1
    cut, whole = stdout.split("whole page")[0], stdout.split("whole page")[1]
    assert "long page, cut" in cut and mark in cut and mark not in whole


def test_ask_says_when_the_server_cut_the_answer(tmp_path: Path) -> None:
    with ReplayServer(always(answer("half an ans", "abort"))) as server:
        code, stdout, stderr = run("ask", "what?", "--server", server.url, "--retries", "0", "--json")
    assert code == 1
    body = json.loads(stdout)  # still one JSON object for scripts
    assert body["finish_reason"] == "error" and "abort" in body["error"] and body["answer"] == ""
    assert "Error:" in stderr and "abort" in stderr


def test_ask_warns_about_an_answer_that_came_only_as_reasoning() -> None:
    with ReplayServer(always(case("reasoning-only--body.json"))) as server:
        code, stdout, stderr = run("ask", "what?", "--server", server.url, "--no-think", "--json")
    assert code == 1
    body = json.loads(stdout)
    assert body["answer"] == "" and body["reasoning"] == "hello 123" and "came as reasoning" in body["note"]
    assert "Warning:" in stderr and "came as reasoning" in stderr


# ---- 4. every server answer shape gets a message in words -------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (case("odd-server-answers--choices-empty.json"), "has no choices: `choices` is an empty list"),
        (case("odd-server-answers--error-in-200.json"), 'own error: "CUDA out of memory" (InternalError, 500)'),
        (b'{"error": "model is loading"}', 'the server\'s own error: "model is loading"'),
        (b"[1, 2]", "is a list, not a JSON object"),
        (b'{"choices": null}', "has no `choices` list (got null)"),
        (b'{"choices": [7]}', "first choice is a int, not an object"),
        (answer(42), "`content` is a int, not text"),
        (answer(None, refusal="I can't help with that"), 'refused to answer: "I can\'t help with that"'),
        (answer("x", reasoning={"oops": 1}), "`reasoning` is a dict, not text"),
    ],
    ids=["choices-empty", "error-in-200", "error-string", "not-an-object", "choices-null", "choice-not-object",
         "content-number", "refusal", "reasoning-object"],
)  # fmt: skip
def test_odd_answers_are_error_records_in_words_with_what_was_known(tmp_path: Path, body: bytes, says: str) -> None:
    pdf = make_text_pdf(tmp_path / "doc.pdf", ["one", "two"])
    server = ReplayServer(always(OK))
    server.pick = first_requests(2, body, OK)(server)  # page 1 and its one request retry get the odd answer
    with server:
        code, stdout, stderr = run(
            "ocr", str(pdf), "--server", server.url, "--jsonl", "--dpi", "40", "--concurrency", "1", "--retries", "1",
            "--page-retries", "0", "--text-layer", "off",  # the error itself, not a second try or the PDF's text
        )  # fmt: skip
    assert code == 1
    odd, good = jsonl(stdout)
    assert good["error"] is None and good["text"] == "fine page"  # the run went on
    assert says in odd["error"] and "after 2 tries" in odd["error"]  # retried like a 5xx, then given up
    for word in ("IndexError", "TypeError", "AttributeError", "KeyError", "NoneType"):
        assert word not in odd["error"]
    assert (odd["width"], odd["height"], odd["dpi"]) == (331, 468, 40)
    assert odd["sha256"] and odd["visual_tokens"] > 0 and odd["grid"]
    assert says in stderr and "Traceback" not in stderr


def test_content_as_a_list_of_parts_is_joined(four_pages: Path) -> None:
    with ReplayServer(always(case("odd-server-answers--content-list.json"))) as server:
        code, stdout, _ = ocr(server, four_pages, "--jsonl", "--pages", "1")
    assert code == 0 and jsonl(stdout)[0]["text"] == "hello 123"


def test_an_error_event_in_a_stream_is_quoted() -> None:
    from exaone_cli.api import ask
    from exaone_cli.engines import RemoteOptions

    body = always(case("odd-server-answers--error-in-200.json"))
    with ReplayServer(body) as server:  # the result carries it, as `ask --json` prints it
        result = ask("hi", remote=RemoteOptions(server.url, retries=0), on_text=lambda _, t: None)
    assert result.error is not None and "CUDA out of memory" in result.error
    assert result.generation.finish_reason == "error" and not result.parsed.answer and not result.parsed.truncated


# ---- 7. final answers are plain text for scripts -----------------------------------------------


@pytest.mark.parametrize("body", ["final-answer--text.json", "final-answer--body.json"])
def test_final_only_prints_plain_text(body: str) -> None:
    with ReplayServer(always(case(body))) as server:
        code, stdout, stderr = run("ask", "부가세는?", "--server", server.url, "--format", "text", "--final-only")
    assert code == 0, stderr
    assert stdout == "1,118원\n"


def test_final_only_takes_no_empty_box_for_the_answer() -> None:
    """A model that quotes the instruction's empty `\\boxed{}` after its answer: --final-only
    printed an empty line with exit code 0, and JSON's final was ""."""
    quoted = "</think>부가세는 \\boxed{1,118원}입니다. (지시대로 \\boxed{} 안에 적었습니다.)"
    with ReplayServer(always(answer(quoted))) as server:
        code, stdout, stderr = run("ask", "부가세는?", "--server", server.url, "--format", "text", "--final-only")
    assert (code, stdout) == (0, "1,118원\n"), stderr
    with ReplayServer(always(answer("</think>답은 \\boxed{} 안에 넣겠습니다."))) as server:
        code, stdout, stderr = run("ask", "부가세는?", "--server", server.url, "--format", "text", "--final-only")
    assert code == 1 and stdout.strip() == "" and "no \\boxed{} final answer" in stderr


def test_a_request_that_failed_once_says_one_try() -> None:
    with ReplayServer(always(b'{"error": "model is loading"}')) as server:
        code, stdout, stderr = run("ask", "what?", "--server", server.url, "--retries", "0", "--json")
    assert code != 0 and "failed after 1 try:" in stderr and "1 tries" not in stderr + stdout


def test_a_text_layer_fallback_counts_the_replaced_characters_of_the_text_it_keeps(tmp_path: Path) -> None:
    # Issue #23: replaced_characters counted the discarded model try's U+FFFD.
    pdf = make_text_pdf(tmp_path / "layer.pdf", ["계약 기간은 2년으로 한다. " * 8])
    with ReplayServer(always(answer("\ufffd\ufffd\ufffd garbled", "length"))) as server:
        code, stdout, _ = ocr(server, pdf, "--jsonl", "--page-retries", "0")
    (record,) = jsonl(stdout)
    assert record["text_source"] == "text-layer-fallback" and "계약 기간은" in record["text"]
    assert record["replaced_characters"] == 0
    assert code == 0  # the layer's text stood in: no page is cut, empty or failed
