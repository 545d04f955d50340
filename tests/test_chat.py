"""`exaone chat` with questions piped in: one engine for every question, the conversation in the
prompt, a follow-up that finds the pages of the question before it, records as `ask --json`'s plus
`turn`, a failed question as a record with `error`, and `/save`'s transcript formats.

The document server (docqa_fixtures.py) answers only from the pages it was sent, so a follow-up
reaches the right page only if the retrieval took the conversation into account.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_exaone
from docqa_fixtures import DocumentServer, coded, contract_pages, make_coded_pdf
from fake_openai import FakeServer
from replay_server import ReplayServer, case

from exaone_cli.ask.retrieval import choose_pages, estimate_tokens

ANSWER_PAGE = 23
ANSWER = (
    "제23조의2 (위약금) 계약을 해지하는 자는 상대방에게 위약금 3,700만원을 지급한다. "
    "2022년 기준 금액은 2,900만원이었다."
)
FIRST = "위약금은 얼마인가요?"
FOLLOW_UP = "그럼 작년에는?"  # no word of the subject: only the question before it names it
CONTEXT = "6000"


def from_the_pages(prompt: str) -> str:
    """The model: the answer when the page that holds it was in the prompt, else 'not found'
    citing the first page it was shown."""
    question = prompt.rsplit("질문:", 1)[-1]
    if "위약금 3,700만원" not in prompt:
        shown = next((line for line in prompt.splitlines() if line.startswith("[p. ")), "[p. 1]")
        return f"문서에서 찾을 수 없습니다 {shown}. \\boxed{{없음}}"
    if "작년" in question:
        return f"작년에는 2,900만원이었습니다 [p. {ANSWER_PAGE}]. \\boxed{{2,900만원}}"
    return f"위약금은 3,700만원입니다 [p. {ANSWER_PAGE}]. \\boxed{{3,700만원}}"


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A 40-page born-digital contract (its pages come from the text layer, no transcription)."""
    pages = contract_pages(40, ANSWER_PAGE, ANSWER)
    return make_coded_pdf(tmp_path_factory.mktemp("chat") / "계약서.pdf", pages), pages


def chat(server: DocumentServer, pdf: Path, questions: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`exaone chat` with `questions` on standard input (a pipe), as a person's script runs it."""
    return subprocess.run(
        [sys.executable, "-m", "exaone_cli", "chat", str(pdf), "--server", server.url, "--context-tokens", CONTEXT,
         "--retries", "0", *args],
        input=questions, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip


def records(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_the_follow_up_alone_would_not_find_its_page(contract: tuple[Path, list[str]]) -> None:
    """The premise of the next test: ranked by itself, the follow-up misses the answer page."""
    _, pages = contract
    budget = int(CONTEXT) - 600
    assert ANSWER_PAGE - 1 not in choose_pages(FOLLOW_UP, pages, budget)
    assert sum(map(estimate_tokens, pages)) > budget  # the document does not fit whole


def test_a_follow_up_reaches_the_page_of_the_question_before_it(contract: tuple[Path, list[str]]) -> None:
    pdf, _ = contract
    with DocumentServer(respond=from_the_pages) as server:
        proc = chat(server, pdf, f"{FIRST}\n\n{FOLLOW_UP}\n", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    first, second = records(proc.stdout)
    assert (first["turn"], second["turn"]) == (1, 2)
    assert first["final"] == "3,700만원" and second["final"] == "2,900만원"
    for body in (first, second):  # per answer: its own citations, of pages it read
        assert body["citations"] == [{"source": str(pdf), "page": ANSWER_PAGE, "label": None}]
        assert ANSWER_PAGE in [page["page"] for page in body["pages_read"]]
        assert body["mode"] == "text" and body["schema_version"] == 1 and "reasoning" in body
    # The follow-up went to the server after the first exchange, the answer without its reasoning.
    earlier = server.requests[-1]["messages"][:-1]
    assert [m["role"] for m in earlier] == ["user", "assistant"]
    assert earlier[0]["content"] == FIRST
    assert earlier[1]["content"] == f"위약금은 3,700만원입니다 [p. {ANSWER_PAGE}]. \\boxed{{3,700만원}}"
    assert len(server.requests) == 2  # no page transcribed: the text layer, read once
    assert proc.stderr.count("Loaded ") == 1 and "40 page(s) (40 from the text layer), read as text" in proc.stderr
    assert proc.stderr.count("answering from their text") == 1  # said once, not at every question


def test_fresh_answers_each_question_on_its_own(contract: tuple[Path, list[str]]) -> None:
    pdf, _ = contract
    with DocumentServer(respond=from_the_pages) as server:
        proc = chat(server, pdf, f"{FIRST}\n{FOLLOW_UP}\n", "--jsonl", "--fresh")
    assert proc.returncode == 0, proc.stderr
    _, second = records(proc.stdout)
    assert second["final"] == "없음" and ANSWER_PAGE not in [p["page"] for p in second["pages_read"]]
    assert all(len(request["messages"]) == 1 for request in server.requests)


def test_text_output_is_each_answer_as_it_finishes(contract: tuple[Path, list[str]]) -> None:
    pdf, _ = contract
    with DocumentServer(respond=from_the_pages) as server:
        proc = chat(server, pdf, f"{FIRST}\n{FOLLOW_UP}\n", "--no-think")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        f"위약금은 3,700만원입니다 [p. {ANSWER_PAGE}]. \\boxed{{3,700만원}}\n\n"
        f"작년에는 2,900만원이었습니다 [p. {ANSWER_PAGE}]. \\boxed{{2,900만원}}\n\n"
    )


def test_a_failed_question_is_a_record_and_the_session_goes_on(contract: tuple[Path, list[str]]) -> None:
    pdf, _ = contract
    with DocumentServer(respond=from_the_pages, faults=["none", "500"]) as server:
        proc = chat(server, pdf, f"{FIRST}\n{FOLLOW_UP}\n{FIRST}\n", "--jsonl")
    assert proc.returncode == 1, proc.stderr
    first, failed, third = records(proc.stdout)
    assert failed["turn"] == 2 and failed["question"] == FOLLOW_UP and "500" in failed["error"]
    assert first["error"] is None and third["final"] == "3,700만원" and third["turn"] == 3
    assert "question 2:" in proc.stderr
    # The failed question left no turn behind: the third question follows the first.
    earlier = server.requests[-1]["messages"][:-1]
    assert [m["role"] for m in earlier] == ["user", "assistant"] and earlier[0]["content"] == FIRST


def test_a_question_too_long_for_the_server_is_an_error_record_in_chats_own_words(
    contract: tuple[Path, list[str]],
) -> None:
    """vLLM refuses a prompt longer than its context with HTTP 400: the question got no answer at
    all, so its record is the error record, and the advice names chat's ways out, not ask's."""
    pdf, _ = contract
    with DocumentServer(respond=from_the_pages, faults=["context"]) as server:
        proc = chat(server, pdf, f"{FIRST}\n{FIRST}\n", "--jsonl")
    assert proc.returncode == 1, proc.stderr
    failed, answered = records(proc.stdout)
    assert set(failed) == {"schema_version", "turn", "question", "error"}
    assert (failed["turn"], failed["question"]) == (1, FIRST)
    assert "maximum context length is 8192" in failed["error"]
    assert "/clear" in failed["error"] and "--fresh" in failed["error"] and "(ask)" not in failed["error"]
    assert "question 1:" in proc.stderr and "(ask)" not in proc.stderr
    assert answered["turn"] == 2 and answered["final"] == "3,700만원"


def test_a_byte_order_mark_before_the_first_line_is_no_part_of_the_question(
    contract: tuple[Path, list[str]],
) -> None:
    """Notepad and PowerShell write UTF-8 with a byte-order mark: the first question is the same."""
    pdf, _ = contract
    with DocumentServer(respond=from_the_pages) as server:
        proc = chat(server, pdf, f"\ufeff{FIRST}\n{FOLLOW_UP}\n", "--jsonl")
    assert proc.returncode == 0, proc.stderr
    first, second = records(proc.stdout)
    assert (first["question"], second["question"]) == (FIRST, FOLLOW_UP)
    assert not any("\ufeff" in json.dumps(body, ensure_ascii=False) for body in server.requests)
    assert server.requests[-1]["messages"][0]["content"] == FIRST  # the follow-up's history too


def test_a_missing_document_is_one_line_before_anything_loads(tmp_path: Path) -> None:
    proc = run_exaone("chat", str(tmp_path / "없는.pdf"), "--server", "http://127.0.0.1:9/v1")
    assert proc.returncode == 1 and proc.stderr.count("Error:") == 1 and "없는.pdf" in proc.stderr  # as ask
    assert "Traceback" not in proc.stderr and "Loading" not in proc.stderr


def test_the_tiny_model_loads_once_for_every_question(tiny_model: Path, receipt_png: Path) -> None:
    """The local engine: three questions, one load, three records; the second prompt holds the
    first exchange when the first answer was whole (random weights rarely end one)."""
    proc = subprocess.run(
        [sys.executable, "-m", "exaone_cli", "chat", str(receipt_png), "--model", str(tiny_model), "--no-think",
         "--max-new-tokens", "3", "--jsonl", "--no-cache"],
        input="합계는?\n부가세는?\n카드 번호는?\n", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    bodies = records(proc.stdout)
    assert [body["turn"] for body in bodies] == [1, 2, 3], proc.stderr
    assert proc.stderr.count("Loaded ") == 1
    assert all(body["mode"] == "images" and body["images"][0]["source"] == str(receipt_png) for body in bodies)
    cut = [body for body in bodies if body["finish_reason"] == "length"]
    assert proc.returncode == (1 if cut else 0)  # a cut answer fails its question, as with exaone ask
    assert "<|user|>\n합계는?" not in bodies[1]["prompt"] or bodies[0]["finish_reason"] == "stop"


def long_answers(prompt: str) -> str:
    if "길게" in prompt.rsplit("질문:", 1)[-1]:
        return "설명 " * 600 + "\\boxed{끝}"  # about 1,200 tokens
    return from_the_pages(prompt)


def test_a_conversation_too_long_for_the_context_drops_its_oldest_turns_and_says_so_once(
    contract: tuple[Path, list[str]],
) -> None:
    pdf, _ = contract
    questions = [FIRST] + ["길게 설명해 주세요"] * 4
    with DocumentServer(respond=long_answers) as server:
        proc = chat(server, pdf, "\n".join(questions) + "\n", "--jsonl", "--no-think")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("the oldest") == 1, proc.stderr  # told once, not at every question
    earlier = [request["messages"][:-1] for request in server.requests]
    assert [len(messages) // 2 for messages in earlier[:3]] == [0, 1, 2]  # all of it, while it fits
    assert 0 < len(earlier[-1]) // 2 < 4  # the newest turns only
    assert earlier[-1][0]["content"] != FIRST and earlier[-1][-2]["content"] == questions[-2]


def test_fit_history_keeps_the_newest_turns_whole() -> None:
    from exaone_cli.ask.history import fit_history, turn_tokens
    from exaone_cli.engines import Turn

    turns = [Turn(f"질문 {n}", "답 " * 50) for n in range(5)]
    cost = turn_tokens(turns[0])
    assert fit_history(turns, cost * 5) == tuple(turns)
    assert fit_history(turns, cost * 2 + cost // 2) == tuple(turns[3:])
    assert fit_history(turns, cost - 1) == ()


def test_the_local_engine_asks_a_follow_up_after_the_earlier_turns(tiny_model: Path, receipt_png: Path) -> None:
    """A conversation over an image on the local engine: the prompt the model saw holds the
    earlier exchange (the answer without its reasoning) before the follow-up and its image. The
    random tiny model seldom ends an answer whole, so the first exchange is the session's own
    record of one that was."""
    from exaone_cli.chat.session import ChatOptions, ChatSession
    from exaone_cli.config import LoadOptions, SamplingFlags
    from exaone_cli.engines import Turn

    options = ChatOptions(load=LoadOptions(model=str(tiny_model)), flags=SamplingFlags(max_new_tokens=2), cache=False)
    session = ChatSession([str(receipt_png)], options, thinking=False)
    session.open()
    try:
        session.history.append(Turn("합계는?", "합계는 12,000원입니다. \\boxed{12,000원}"))
        result = session.ask("그럼 부가세는?")
    finally:
        session.close()
    assert result.error is None and result.mode == "images" and result.history_used == 1
    assert result.generation.prompt_text.startswith(
        "<|user|>\n합계는?<|endofturn|>\n<|assistant|>\n합계는 12,000원입니다. \\boxed{12,000원}<|endofturn|>\n"
        "<|user|>\n<vision><|image_pad|></vision>\n그럼 부가세는?"
    )


def test_scanned_pages_are_transcribed_once_for_the_whole_session(tmp_path: Path) -> None:
    """A scanned document, the page store off: its 12 pages are transcribed when the session
    opens, and three questions later still 12 times, not 36."""
    pages = contract_pages(12, 5, ANSWER)
    pdf = make_coded_pdf(tmp_path / "스캔.pdf", pages, scanned=True)
    with DocumentServer(respond=from_the_pages, texts=coded(pages)) as server:
        proc = chat(server, pdf, f"{FIRST}\n{FOLLOW_UP}\n{FIRST}\n", "--jsonl", "--no-cache", "--max-images", "2")
    assert proc.returncode == 0, proc.stderr
    assert "12 page(s) (12 transcribed), read as text" in proc.stderr
    assert server.transcriptions == 12 and len(server.questions) == 3
    assert [body["final"] for body in records(proc.stdout)] == ["3,700만원", "2,900만원", "3,700만원"]


@pytest.mark.parametrize("form", ["text", "--jsonl"])
def test_each_answer_is_out_before_the_next_question_comes(receipt_png: Path, form: str) -> None:
    """A script that asks, reads the answer, then decides what to ask next (a coprocess): the
    first answer must reach the pipe while standard input is still open."""
    args = [] if form == "text" else [form]
    with FakeServer() as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "exaone_cli", "chat", str(receipt_png), "--server", server.url, "--no-think", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write("합계는?\n")
            proc.stdin.flush()
            readable, _, _ = select.select([proc.stdout], [], [], 60)
            assert readable, "no answer while the next question was awaited"
            assert "합계는?" in proc.stdout.readline()
            proc.stdin.write("부가세는?\n")
            proc.stdin.close()
            assert "부가세는?" in proc.stdout.read() and proc.wait(timeout=60) == 0
        finally:
            proc.kill()


def test_the_spinner_says_the_pages_are_read_once_the_model_is_loaded(contract: tuple[Path, list[str]]) -> None:
    """Reading a long document's pages after the load (its text layer, or transcription) is said
    as such: the spinner went on saying "Loading the model ..." after "Loaded ..." was printed."""
    from exaone_cli.chat.session import ChatCallbacks, ChatOptions, ChatSession
    from exaone_cli.config import LoadOptions
    from exaone_cli.engines.remote import remote_options

    pdf, _ = contract
    said: list[str] = []
    callbacks = ChatCallbacks(on_status=said.append, on_loaded=lambda what, seconds, detail: said.append("LOADED"))
    with DocumentServer(respond=from_the_pages) as server:
        load = LoadOptions()
        options = ChatOptions(load, remote_options(server.url, None, None, 1, 0, 30.0, load), context_tokens=6000)
        session = ChatSession([str(pdf)], options, callbacks=callbacks)
        try:
            session.open()
        finally:
            session.close()
    after = said[said.index("LOADED") + 1 :]
    assert after and after[0] == f"Reading {pdf}", said


def test_a_conversation_about_an_image_drops_its_oldest_turns_when_they_no_longer_fit(tmp_path: Path) -> None:
    """Image mode keeps the conversation within --context-tokens too: an 840 x 840 image is about
    900 visual tokens of the 1,024, so only the newest turns go in beside it, and that is said once."""
    from PIL import Image

    image = tmp_path / "큰 영수증.png"
    Image.new("RGB", (840, 840), "white").save(image)
    questions = [f"{what} 무엇인가요?" for what in ("합계는", "부가세는", "상호는", "날짜는", "주소는")]
    with FakeServer() as server:
        proc = subprocess.run(
            [sys.executable, "-m", "exaone_cli", "chat", str(image), "--server", server.url, "--jsonl", "--no-think",
             "--context-tokens", "1024"],
            input="\n".join(questions) + "\n", capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [body["mode"] for body in records(proc.stdout)] == ["images"] * 5
    assert proc.stderr.count("the oldest") == 1, proc.stderr
    turns = [(len(request["messages"]) - 1) // 2 for request in server.requests]
    assert turns[:2] == [0, 1] and 0 < turns[-1] < 4, turns  # the newest turns only, never none
    assert server.requests[-1]["messages"][-3]["content"] == questions[-2]


def test_a_warning_every_question_repeats_is_said_once_for_the_session(receipt_png: Path) -> None:
    """A server that drops enable_thinking answers every question without reasoning: exaone
    says so at the first question, not after each of them (it is the server's, not the answer's)."""
    with ReplayServer(lambda request: case("surrogate--ok.json")) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "exaone_cli", "chat", str(receipt_png), "--server", server.url, "--jsonl"],
            input="하나?\n둘?\n셋?\n", capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [record["answer"] for record in records(proc.stdout)] == ["fine page"] * 3
    assert proc.stderr.count("does not seem to pass enable_thinking") == 1, proc.stderr


def test_standard_input_as_the_document_is_refused_before_anything_loads(receipt_png: Path) -> None:
    """`cat scan.png | exaone chat -`: standard input is where the questions come from. The image
    was read from it, the model loaded, and the session ended at once with no question, exit 0."""
    with FakeServer() as server:
        proc = subprocess.run(
            [sys.executable, "-m", "exaone_cli", "chat", "-", "--server", server.url],
            input=receipt_png.read_bytes(), capture_output=True, timeout=120,
        )  # fmt: skip
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert "Error: '-' (standard input): exaone chat reads its questions there" in stderr
    assert "Loaded" not in stderr and not server.requests
