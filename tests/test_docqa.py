"""`exaone ask` on documents longer than one prompt: pages as text, the relevant pages chosen,
cited pages parsed, a second look at them, through a server and through the local engine.

The server is a fake that reads each page's code strip (docqa_fixtures.py) to "transcribe" it and
answers a question correctly only when the page holding the answer is in the prompt it was sent."""

from __future__ import annotations

import json
import os
import pty
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_exaone
from docqa_fixtures import DocumentServer, coded, contract_pages, make_coded_pdf
from pdf_fixtures import SAMPLE_PAGES, make_text_pdf

from exaone_cli.ask.docqa import neutralize

ANSWER_PAGE = 87
ANSWER = "제87조의2 (위약금) 계약을 해지하는 자는 상대방에게 위약금 3,700만원을 지급한다."
QUESTION = "위약금은 얼마인가요?"  # worded unlike the page: the particle 은 is attached
RIGHT = "위약금은 3,700만원입니다 [p. 87]. \\boxed{3,700만원}"


def knows_the_answer(prompt: str) -> str:
    if "위약금 3,700만원" in prompt:
        return RIGHT
    return "문서에서 위약금을 찾을 수 없습니다 [p. 1]. \\boxed{없음}"


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A 150-page scanned contract: no text layer, so every page's text must be transcribed."""
    pages = contract_pages(150, ANSWER_PAGE, ANSWER)
    return make_coded_pdf(tmp_path_factory.mktemp("contract") / "계약서.pdf", pages, scanned=True), pages


@pytest.fixture(scope="module")
def digital_contract(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The same contract, born digital: every page has a good text layer."""
    pages = contract_pages(150, ANSWER_PAGE, ANSWER)
    return make_coded_pdf(tmp_path_factory.mktemp("digital") / "계약서.pdf", pages), pages


def ask_server(server: DocumentServer, *args: str) -> tuple[int, dict, str]:
    proc = run_exaone("ask", "--server", server.url, "--dpi", "40", "--json", *args)
    return proc.returncode, json.loads(proc.stdout) if proc.returncode == 0 else {}, proc.stderr


def test_a_long_document_is_answered_from_the_page_that_holds_the_answer(
    contract: tuple[Path, list[str]], page_store: Path
) -> None:
    pdf, pages = contract
    with DocumentServer(texts=coded(pages), respond=knows_the_answer) as server:
        code, body, stderr = ask_server(server, str(pdf), QUESTION)
    assert code == 0, stderr
    assert body["final"] == "3,700만원" and body["mode"] == "text"
    assert (
        body["citations"] == [{"source": str(pdf), "page": ANSWER_PAGE, "label": None}]
        and body["dropped_citations"] == []
    )
    read = [page["page"] for page in body["pages_read"]]
    assert ANSWER_PAGE in read and {ANSWER_PAGE - 1, ANSWER_PAGE + 1} <= set(read)  # with its neighbours
    assert body["pages_total"] == 150 and len(read) < 150 // 3  # the budget is far smaller than the document
    assert read == sorted(read) and body["images"] == []
    # The model saw exactly those pages, each under its marker, and the rule for citing them.
    (prompt,) = server.questions
    assert [n for n in range(1, 151) if f"[p. {n}]\n" in prompt] == read
    assert "[p. N]" in prompt and "인쇄된 쪽 번호" in prompt
    assert server.transcriptions == 150  # every page read once, in one batch of requests
    assert "answering from their text" in stderr and "Reading" in stderr


def test_a_born_digital_document_is_read_from_its_text_layer(
    digital_contract: tuple[Path, list[str]], page_store: Path
) -> None:
    pdf, pages = digital_contract
    with DocumentServer(texts=coded(pages), respond=knows_the_answer) as server:
        code, body, stderr = ask_server(server, str(pdf), QUESTION)
    assert code == 0, stderr
    assert server.transcriptions == 0  # no page went to the model: the layers are good
    assert body["final"] == "3,700만원" and body["citations"] == [
        {"source": str(pdf), "page": ANSWER_PAGE, "label": None}
    ]
    assert {page["text_source"] for page in body["pages_read"]} == {"text-layer"}
    assert len(body["pages_read"]) < 150 // 3
    with sqlite3.connect(page_store) as db:  # kept in the store like every page text exaone reads
        assert db.execute("SELECT COUNT(*) FROM pages WHERE text_source = 'text-layer'").fetchone() == (150,)


def test_the_second_question_reads_no_page_again(contract: tuple[Path, list[str]], page_store: Path) -> None:
    pdf, pages = contract
    with DocumentServer(texts=coded(pages), respond=knows_the_answer) as server:
        assert ask_server(server, str(pdf), "비밀 유지 의무는 언제까지인가요?")[0] == 0
        code, body, stderr = ask_server(server, str(pdf), QUESTION)
    assert code == 0 and body["final"] == "3,700만원"
    assert server.transcriptions == 150  # the first question's transcriptions only
    assert all(page["cached"] and page["text_source"] == "model" for page in body["pages_read"])
    read = len(body["pages_read"])  # issue #23: the note counted all 150 stored pages as read
    assert f"Reading {read} of 150 page(s) as text ({read} from the page store)" in stderr


def test_without_the_store_each_question_reads_every_page(contract: tuple[Path, list[str]]) -> None:
    pdf, pages = contract
    with DocumentServer(texts=coded(pages), respond=knows_the_answer) as server:
        assert ask_server(server, str(pdf), QUESTION, "--pages", "80-95")[0] == 0
        code, body, _ = ask_server(server, str(pdf), QUESTION, "--pages", "80-95")
    assert code == 0 and server.transcriptions == 32  # the test suite runs with EXAONE_NO_CACHE=1
    assert [p["page"] for p in body["pages_read"]] == list(range(80, 96))  # 16 pages: all fit as text


def test_citations_of_pages_not_in_the_prompt_are_dropped_with_a_warning(
    contract: tuple[Path, list[str]], page_store: Path
) -> None:
    pdf, pages = contract

    def cites_too_much(prompt: str) -> str:
        return "3,700만원입니다 [p. 87], [p. 149]와 [p. 900]도 보세요 [p. 87]."

    with DocumentServer(texts=coded(pages), respond=cites_too_much) as server:
        code, body, stderr = ask_server(server, str(pdf), QUESTION)
    assert code == 0
    assert body["citations"] == [{"source": str(pdf), "page": 87, "label": None}]  # once, though cited twice
    assert body["dropped_citations"] == ["[p. 149]", "[p. 900]"]
    assert "Warning: the answer cites [p. 149], [p. 900], not in the prompt" in stderr


def test_several_documents_are_cited_by_label(tmp_path: Path, page_store: Path) -> None:
    first, second = contract_pages(30, 0, ""), contract_pages(30, 12, ANSWER)
    one = make_coded_pdf(tmp_path / "계약서.pdf", first)
    two = make_coded_pdf(tmp_path / "회의록.pdf", second, first_code=501)

    def answer(prompt: str) -> str:
        return "위약금은 3,700만원입니다 [B p. 12] ([A p. 12]는 관계없음, [C p. 1]은 없음)."

    with DocumentServer(texts={**coded(first), **coded(second, 501)}, respond=answer) as server:
        code, body, stderr = ask_server(server, str(one), str(two), QUESTION, "--context-tokens", "6000")
    assert code == 0, stderr
    assert f"A = {one}, B = {two}" in server.questions[0] and "[B p. 12]\n" in server.questions[0]
    assert "[A p. N]" in server.questions[0]
    assert body["citations"][0] == {"source": str(two), "page": 12, "label": None}
    assert "[C p. 1]" in body["dropped_citations"]


def add_page_labels(pdf: Path) -> Path:
    """Give `pdf` printed page labels as reports have them: i, ii, iii, iv, then 1, 2, 3, ..."""
    import pikepdf

    with pikepdf.open(pdf, allow_overwriting_input=True) as doc:
        roman, decimal = pikepdf.Dictionary(S=pikepdf.Name.r), pikepdf.Dictionary(S=pikepdf.Name.D)
        doc.Root.PageLabels = pikepdf.Dictionary(Nums=pikepdf.Array([0, roman, 4, decimal]))
        doc.save(pdf)
    return pdf


def test_printed_page_labels_are_shown_beside_the_index(tmp_path: Path, page_store: Path) -> None:
    """Issue #22 item 6: page 9 of a report whose front matter is i-iv is printed "5". The prompt
    shows both and says which to cite; JSON and the rich view give the label beside the index; a
    citation of a printed roman label cannot be read, and the user is told instead of silence."""
    pages = contract_pages(12, 9, ANSWER)
    pdf = add_page_labels(make_coded_pdf(tmp_path / "보고서.pdf", pages))

    def answer(prompt: str) -> str:
        return "위약금은 3,700만원입니다 (p. 9). 머리말은 [p. iv]에 있습니다."

    with DocumentServer(texts=coded(pages), respond=answer) as server:
        code, body, stderr = ask_server(server, str(pdf), QUESTION, "--max-images", "1")
    assert code == 0, stderr
    prompt = server.questions[0]
    assert "[p. 9] (printed: 5)\n" in prompt and "[p. 1] (printed: i)\n" in prompt
    assert (
        "[p. 3] (printed: iii)처럼 함께 적혀 있습니다. 인용에는 인쇄된 번호가 아니라 표시의 순서 N([p. 3])을" in prompt
    )
    assert body["citations"] == [{"source": str(pdf), "page": 9, "label": "5"}]
    read = {page["page"]: page["label"] for page in body["pages_read"]}
    assert read[2] == "ii" and read[9] == "5"
    assert "[p. iv], which looks like a citation but names no page index exaone can read" in " ".join(stderr.split())


def test_pages_sent_as_images_carry_their_printed_labels_too(tmp_path: Path, page_store: Path) -> None:
    """Issue #22 item 6, image mode: a short labelled PDF goes to the model as images, and its
    pages_read gave `label: null` where document mode gave the printed label."""
    pages = contract_pages(6, 5, ANSWER)
    pdf = add_page_labels(make_coded_pdf(tmp_path / "보고서.pdf", pages))
    with DocumentServer(texts=coded(pages), respond=lambda _: "3,700만원입니다.") as server:
        code, body, stderr = ask_server(server, str(pdf), QUESTION, "--max-images", "6", "--dpi", "40")
    assert code == 0, stderr
    assert body["mode"] == "images"
    assert [(page["page"], page["label"]) for page in body["pages_read"]] == [
        (1, "i"), (2, "ii"), (3, "iii"), (4, "iv"), (5, "1"), (6, "2")
    ]  # fmt: skip


def test_a_document_without_labels_says_nothing_of_them(tmp_path: Path, page_store: Path) -> None:
    pages = contract_pages(6, 2, ANSWER)
    pdf = make_coded_pdf(tmp_path / "계약서.pdf", pages)
    with DocumentServer(texts=coded(pages), respond=lambda _: "3,700만원입니다 【p. 2】.") as server:
        code, body, stderr = ask_server(server, str(pdf), QUESTION, "--max-images", "1")
    assert code == 0, stderr
    assert "printed" not in server.questions[0] and "[p. 2]\n" in server.questions[0]
    assert body["citations"] == [{"source": str(pdf), "page": 2, "label": None}]
    assert "looks like a citation" not in stderr


def test_look_shows_the_cited_pages_as_images_and_keeps_both_answers(
    contract: tuple[Path, list[str]], page_store: Path
) -> None:
    pdf, pages = contract

    def answer(prompt: str) -> str:
        return (
            RIGHT if "이미지" not in prompt else "도장을 보니 3,800만원으로 고쳐져 있습니다 [p. 87]. \\boxed{3,800만원}"
        )

    with DocumentServer(texts=coded(pages), respond=answer) as server:
        code, body, stderr = ask_server(server, str(pdf), QUESTION, "--look")
    assert code == 0, stderr
    assert server.looks == [[ANSWER_PAGE]]  # one image question, showing page 87 and only it
    assert body["final"] == "3,700만원"  # the text answer stays where it was
    look = body["look"]
    assert look["final"] == "3,800만원" and look["citations"] == [{"source": str(pdf), "page": 87, "label": None}]
    assert [(i["source"], i["page"]) for i in look["images"]] == [(str(pdf), ANSWER_PAGE)]
    assert "3,700만원입니다 [p. 87]" in look["prompt"]  # the model was shown its text answer
    assert "Looking at the cited pages as images" in stderr


def test_a_context_too_small_for_any_page_is_a_usage_error_before_anything_loads(
    contract: tuple[Path, list[str]],
) -> None:
    pdf, pages = contract
    with DocumentServer(texts=coded(pages)) as server:
        question = "위약금은 " + "정말로 " * 400 + "얼마인가요?"
        code, _, stderr = ask_server(server, str(pdf), question, "--context-tokens", "1024")
    assert code == 2 and "--context-tokens 1,024 leaves no room" in stderr and "Traceback" not in stderr
    assert server.requests == []


def test_pages_that_fit_still_go_in_as_images(tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "short.pdf", SAMPLE_PAGES[:2])
    with DocumentServer() as server:
        code, body, _ = ask_server(server, str(pdf), "합계는?")
    assert code == 0 and body["mode"] == "images" and server.transcriptions == 0
    assert body["pages_read"] == [
        {"source": str(pdf), "page": 1, "text_source": "image", "cached": False, "label": None},
        {"source": str(pdf), "page": 2, "text_source": "image", "cached": False, "label": None},
    ]
    assert body["citations"] == [] and body["look"] is None and body["pages_total"] == 2


def test_a_page_that_cannot_be_transcribed_is_left_out_with_a_warning(tmp_path: Path) -> None:
    pages = contract_pages(12, 5, ANSWER)
    pdf = make_coded_pdf(tmp_path / "짧은 계약서.pdf", pages, scanned=True)
    faults = ["500"] * 3  # the first page's first try and both of its retries
    with DocumentServer(texts=coded(pages), respond=knows_the_answer, faults=faults) as server:
        code, body, stderr = ask_server(server, str(pdf), QUESTION, "--retries", "0", "--concurrency", "1")
    assert code == 0 and body["final"] == "3,700만원"
    assert [p["page"] for p in body["pages_read"]] == list(range(2, 13))
    assert "page 1 is left out of the answer" in stderr


def test_the_rich_view_names_the_cited_pages(contract: tuple[Path, list[str]], page_store: Path) -> None:
    """Through a pseudo-terminal: progress while pages are transcribed, then `file p. N`."""
    pdf, pages = contract
    with DocumentServer(texts=coded(pages), respond=knows_the_answer) as server:
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "exaone_cli", "ask", str(pdf), QUESTION, "--server", server.url, "--dpi", "40"],
            stdin=follower, stdout=follower, stderr=follower, env={**os.environ, "COLUMNS": "120"},
        )  # fmt: skip
        os.close(follower)
        screen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        proc.wait(timeout=120)
        os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.decode("utf-8", errors="replace"))  # colours off
    assert proc.returncode == 0, text[-2000:]
    assert "OCR" in text and "pages" in text  # the transcription progress bar
    assert f"Sources: {pdf} p. 87" in text
    assert "3,700만원" in text and "Traceback" not in text


# ---- the local engine ---------------------------------------------------------------------------

FAST = ["--dpi", "50", "--max-pixels", str(160 * 28 * 28), "--temperature", "0"]


def answered(proc: subprocess.CompletedProcess[str]) -> bool:
    """Exit 0 with an answer, or the documented exit 1 for the empty answer of a random model whose
    few tokens end inside its reasoning, or for its answer cut by the token limit; the JSON is on
    stdout either way."""
    cut = "empty answer" in proc.stderr or "the answer stopped at the token limit" in proc.stderr
    return proc.returncode == 0 or (proc.returncode == 1 and cut)


def test_the_local_engine_answers_from_the_text_layer(tiny_model: Path, tmp_path: Path) -> None:
    from exaone_cli.inputs import open_source
    from exaone_cli.pages.text_layer import read_text_layers

    pdf = make_text_pdf(tmp_path / "계약서.pdf", SAMPLE_PAGES)
    proc = run_exaone(
        "ask", str(pdf), "계약서의 목적은?", "--model", str(tiny_model), *FAST, "--max-new-tokens", "8",
        "--max-images", "1", "--json",
    )  # fmt: skip
    # The random tiny model's 8 tokens stop inside its reasoning: an empty answer, exit code 1.
    assert answered(proc), proc.stderr
    body = json.loads(proc.stdout)
    assert body["mode"] == "text" and body["model"] == str(tiny_model)
    assert body["pages_read"] == [
        {"source": str(pdf), "page": n, "text_source": "text-layer", "cached": False, "label": None} for n in (1, 2, 3)
    ]
    # The prompt the tiny model saw: the chat template around the pages' own text.
    assert body["prompt"].startswith("<|user|>\n아래는 문서의 페이지 텍스트입니다.")
    assert body["prompt"].endswith("<|endofturn|>\n<|assistant|>\n<think>\n")
    for layer in read_text_layers(open_source(str(pdf)), [1, 2, 3]):
        assert f"[p. {layer.page}]\n{neutralize(layer.text)}\n" in body["prompt"]
    assert "영수증 합계 12,500원" in body["prompt"]
    assert body["tokens"]["prompt"] > 0 and body["tokens"]["completion"] <= 8


def test_server_and_local_engine_give_the_same_json(tiny_model: Path, tmp_path: Path, page_store: Path) -> None:
    pages = contract_pages(3, 2, ANSWER)
    pdf = make_coded_pdf(tmp_path / "계약서.pdf", pages)
    common = [str(pdf), QUESTION, *FAST, "--max-new-tokens", "8", "--max-images", "1", "--json"]
    with DocumentServer(texts=coded(pages), respond=lambda prompt: "3,700만원 [p. 2]") as server:
        remote = run_exaone("ask", *common, "--server", server.url)
    local = run_exaone("ask", *common, "--model", str(tiny_model))
    assert remote.returncode == 0 and answered(local), remote.stderr + local.stderr
    a, b = json.loads(remote.stdout), json.loads(local.stdout)

    def shape(value: object) -> object:
        if isinstance(value, dict):
            return {key: shape(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shape(item) for item in value[:1]]
        return type(value).__name__ if value is not None else None

    assert set(a) == set(b)
    assert shape(a["pages_read"]) == shape(b["pages_read"]) and a["mode"] == b["mode"] == "text"
    assert [p["page"] for p in a["pages_read"]] == [p["page"] for p in b["pages_read"]] == [1, 2, 3]
    assert {p["text_source"] for p in a["pages_read"] + b["pages_read"]} == {"text-layer"}
    assert a["citations"] == [{"source": str(pdf), "page": 2, "label": None}]


def test_a_long_text_prompt_is_prefilled_in_chunks_with_the_same_answer(tiny_model: Path) -> None:
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from exaone_cli.config import PRESETS, LoadOptions, Sampling
    from exaone_cli.engines import Prompt, open_engine
    from exaone_cli.engines.local import PREFILL_CHUNK_TOKENS

    words = ["계약서", "위약금", "대금", "지급", "납품", "일정", "보증", "기간", "the", "parties", "shall"]
    words += ["keep", "records", "2023", "매출", "영업이익"]
    text = " ".join(words[(i * 7) % len(words)] for i in range(900))
    engine = open_engine(LoadOptions(model=str(tiny_model)))
    calls: list[dict] = []
    generate = engine.model.generate  # type: ignore[attr-defined]

    def recording(**kwargs: object) -> object:
        calls.append(kwargs)
        return generate(**kwargs)

    engine.model.generate = recording  # type: ignore[attr-defined]
    sampling = Sampling.from_preset(PRESETS["text"], max_new_tokens=12, temperature=0, repetition_guard=False)
    (chunked,) = engine.generate([Prompt(text=text, thinking=False)], sampling)
    assert chunked.prompt_tokens > PREFILL_CHUNK_TOKENS and calls[0]["prefill_chunk_size"] == PREFILL_CHUNK_TOKENS
    # The same prompt prefilled whole, by transformers alone: the same tokens.
    processor = AutoProcessor.from_pretrained(tiny_model)
    model = AutoModelForImageTextToText.from_pretrained(tiny_model)
    inputs = processor(text=[chunked.prompt_text], return_tensors="pt")
    with torch.inference_mode():
        whole = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    assert processor.decode(whole[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True) == chunked.text
