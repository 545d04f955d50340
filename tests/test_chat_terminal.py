"""`exaone chat` as a person uses it: typed at a real pseudo-terminal (pexpect), Korean input and
line editing, the arrow-key history, Ctrl-C mid-answer, Ctrl-D, and every slash command.

The servers are fakes (fake_openai.py, docqa_fixtures.py): they record what the prompt carried, so
the tests check what the model was asked as well as what the screen shows.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect
import pytest
from docqa_fixtures import DocumentServer, contract_pages, make_coded_pdf
from fake_openai import FakeServer
from test_ask_server import HangingStream
from test_chat import ANSWER, ANSWER_PAGE, CONTEXT, FIRST, FOLLOW_UP, from_the_pages

PROMPT = "\x1b[?2004h"  # prompt_toolkit turns bracketed paste on as each prompt opens


@contextmanager
def chat_terminal(*args: str, data: Path, env: dict[str, str] | None = None) -> Iterator[pexpect.spawn]:
    """`exaone chat ARGS` on a 120 x 50 pseudo-terminal, its history under `data`."""
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    environment.update(
        TERM="xterm-256color", XDG_DATA_HOME=str(data), PROMPT_TOOLKIT_NO_CPR="1", **(env or {})
    )  # no terminal answers cursor-position requests here
    # codec_errors: at Ctrl-C the terminal drops what it holds unread (no NOFLSH), and on a busy
    # machine that may end inside a character; a terminal shows a replacement character there.
    child = pexpect.spawn(
        sys.executable, ["-m", "exaone_cli", "chat", *args], env=environment, encoding="utf-8",
        codec_errors="replace", dimensions=(50, 120), timeout=60,
    )  # fmt: skip
    try:
        yield child
    finally:
        child.close(force=True)


def ask(child: pexpect.spawn, text: str) -> None:
    child.expect_exact(PROMPT)
    child.send(text + "\r")


def ended(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return int(child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0))


def question_of(request: dict) -> str:
    return next(p["text"] for p in request["messages"][-1]["content"] if p["type"] == "text")


def test_korean_typed_and_edited_reaches_the_model_and_ctrl_d_ends(receipt_png: Path, tmp_path: Path) -> None:
    with FakeServer() as server, chat_terminal(str(receipt_png), "--server", server.url, data=tmp_path) as child:
        child.expect_exact("shown to the model as images")
        ask(child, "얼마인가요?\x01합계는 ")  # typed, then Ctrl-A (line start) and more typed before it
        child.expect_exact("saw 1 image(s)")
        child.expect_exact(PROMPT)
        child.send("\x1b[A\r")  # the up arrow brings the question back; Enter asks it again
        child.expect_exact("saw 1 image(s)")
        child.expect_exact(PROMPT)
        child.sendcontrol("d")
        assert ended(child) == 0
    asked = [question_of(request) for request in server.requests]
    assert len(asked) == 2 and all("합계는 얼마인가요?" in text for text in asked)
    history = tmp_path / "exaone" / "chat_history"
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    assert "+합계는 얼마인가요?" in history.read_text(encoding="utf-8")


@pytest.mark.parametrize("switch", ["--no-history", "EXAONE_NO_HISTORY=1"])
def test_no_history_keeps_nothing_on_disk(receipt_png: Path, tmp_path: Path, switch: str) -> None:
    args, env = ([switch], {}) if switch.startswith("--") else ([], dict([switch.split("=")]))
    with FakeServer() as server, chat_terminal(str(receipt_png), "--server", server.url, *args, data=tmp_path,
                                               env=env) as child:  # fmt: skip
        ask(child, "합계는?")
        child.expect_exact("saw 1 image(s)")
        ask(child, "/exit")
        assert ended(child) == 0
    assert not (tmp_path / "exaone").exists()


def test_ctrl_c_stops_the_answer_and_comes_back_to_the_prompt(receipt_png: Path, tmp_path: Path) -> None:
    lines = [f"streamed line {n}" for n in range(1, 6)]
    with (
        HangingStream(lines) as server,
        chat_terminal(str(receipt_png), "--server", server.url, "--no-think", data=tmp_path) as child,
    ):
        ask(child, "합계는?")
        child.expect_exact("streamed line 5")
        child.sendcontrol("c")
        child.expect_exact("Stopped. That answer is not part of the conversation.")
        child.expect_exact(PROMPT)
        child.send("지울 글")
        child.sendcontrol("c")  # a line with text: cleared, the session goes on
        child.sendcontrol("c")  # an empty line: the end
        assert ended(child) == 0


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_coded_pdf(tmp_path_factory.mktemp("chat") / "계약서.pdf", contract_pages(40, ANSWER_PAGE, ANSWER))


def test_every_command(contract: Path, receipt_png: Path, tmp_path: Path) -> None:
    pdf = contract
    with (
        DocumentServer(respond=from_the_pages, texts={ANSWER_PAGE: ANSWER}) as server,
        chat_terminal(
            str(pdf), "--server", server.url, "--context-tokens", CONTEXT, "--no-history", data=tmp_path
        ) as child,
    ):
        child.expect_exact("40 page(s) (40 from the text layer), read as text")
        ask(child, "/help")
        child.expect_exact("/save FILE")
        ask(child, "/pages")
        child.expect_exact("No answer yet.")
        ask(child, FIRST)
        child.expect_exact("final answer")
        ask(child, "/pages")
        child.expect_exact(f"Read as text: {pdf} p. ")
        child.expect_exact(f"Cited: {pdf} p. 23")
        ask(child, "/look")
        child.expect_exact("after looking at")
        assert server.looks == [[ANSWER_PAGE]]
        ask(child, FOLLOW_UP)
        child.expect_exact("2,900만원")
        ask(child, f"/save {tmp_path / '대화.md'}")
        child.expect_exact("Saved 2 answer(s)")
        ask(child, f"/save {tmp_path / '대화.json'}")
        child.expect_exact("Saved 2 answer(s)")
        ask(child, "/save 대화.txt")
        child.expect_exact("say the format by the suffix")
        ask(child, "/clear")
        child.expect_exact("forgotten")
        ask(child, "/think off")
        child.expect_exact("Reasoning off.")
        ask(child, FOLLOW_UP)  # forgotten: the follow-up alone finds nothing
        child.expect_exact("찾을 수 없습니다")
        ask(child, f"/add {receipt_png}")
        child.expect_exact(f"{receipt_png.name}: 1 page(s)")
        ask(child, "/add 없는파일.pdf")
        child.expect_exact("없는파일.pdf")
        ask(child, "/nope")
        child.expect_exact("/nope: no such command")
        ask(child, "/exit")
        assert ended(child) == 0
    last = server.requests[-1]
    assert len(last["messages"]) == 1 and last["chat_template_kwargs"] == {"enable_thinking": False}
    markdown = (tmp_path / "대화.md").read_text(encoding="utf-8")
    assert f"## 1. {FIRST}" in markdown and f"## 2. {FOLLOW_UP}" in markdown
    assert markdown.count(f"Sources: {pdf} p. 23") >= 2 and "After looking at" in markdown
    saved = json.loads((tmp_path / "대화.json").read_text(encoding="utf-8"))
    for name in ("대화.json", "대화.md"):  # private, as the history is: it holds the documents' contents
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    assert [turn["turn"] for turn in saved["turns"]] == [1, 2] and saved["inputs"] == [str(pdf)]
    assert saved["turns"][0]["look"]["images"] and saved["turns"][1]["citations"] == [
        {"source": str(pdf), "page": ANSWER_PAGE, "label": None}
    ]
    assert not re.search(r"\x1b\[", json.dumps(saved))


def test_ctrl_c_stops_the_local_model_and_the_loaded_model_answers_on(
    tiny_model: Path, receipt_png: Path, tmp_path: Path
) -> None:
    """The local engine, interrupted inside generate: the session keeps the loaded model.

    The random tiny model's answer may end early (the repetition guard stops a loop after 64
    tokens; it may sample the end of turn): then the prompt comes back, the question is asked
    again, and Ctrl-C is sent only while an answer is still being written. A fixed two-second
    sleep sent it to an empty prompt now and then, which ends the session."""
    with chat_terminal(
        str(receipt_png), "--model", str(tiny_model), "--no-think", "--max-new-tokens", "100000", "--no-history",
        data=tmp_path,
    ) as child:  # fmt: skip
        child.expect_exact("Loaded ", timeout=180)
        ended_early = 0
        ask(child, "합계는?")
        while child.expect_exact([PROMPT, pexpect.TIMEOUT], timeout=2) == 0:  # the answer ended by itself
            ended_early += 1
            assert ended_early < 8, "every answer ended within two seconds"
            child.send("합계는?\r")
        child.sendcontrol("c")
        child.expect_exact("Stopped.")
        child.expect_exact(PROMPT)
        child.send("/pages\r")
        child.expect_exact("No answer yet." if not ended_early else "Read as images:")
        ask(child, "/exit")
        assert ended(child) == 0


def test_answers_sent_to_a_file_are_plain_and_the_prompt_stays_on_the_terminal(
    receipt_png: Path, tmp_path: Path
) -> None:
    """`exaone chat receipt.png > answers.txt`: the file holds the answers, no prompt, no escapes."""
    answers = tmp_path / "answers.txt"
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    environment.update(TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", EXAONE_NO_HISTORY="1")
    with FakeServer() as server:
        child = pexpect.spawn(
            "bash", ["-c", 'exec "$0" -m exaone_cli chat "$1" --server "$2" --no-think > "$3"', sys.executable,
                     str(receipt_png), server.url, str(answers)],
            env=environment, encoding="utf-8", codec_errors="replace", dimensions=(50, 120), timeout=60,
        )  # fmt: skip
        ask(child, "합계는?")
        child.expect_exact(PROMPT)  # the next prompt: on the terminal
        child.sendcontrol("d")
        assert ended(child) == 0
    text = answers.read_text(encoding="utf-8")
    assert text.startswith("saw 1 image(s): 합계는?") and "\x1b" not in text and ">" not in text


def test_a_file_added_with_add_is_part_of_the_next_question(receipt_png: Path, tmp_path: Path) -> None:
    """/add: the next question is asked about both images, after the conversation so far."""
    second = tmp_path / "두번째 영수증.png"
    second.write_bytes(receipt_png.read_bytes())
    with FakeServer() as server, chat_terminal(str(receipt_png), "--server", server.url, "--no-history",
                                               data=tmp_path) as child:  # fmt: skip
        ask(child, "합계는?")
        child.expect_exact("saw 1 image(s)")
        ask(child, f"/add {second}")
        child.expect_exact("두번째 영수증.png: 1 page(s), shown to the model as images")
        ask(child, "둘을 비교하면?")
        child.expect_exact("saw 2 image(s)")
        ask(child, "/exit")
        assert ended(child) == 0
    follow_up = server.requests[-1]
    images = [[p for p in r["messages"][-1]["content"] if p["type"] == "image_url"] for r in server.requests]
    assert [len(parts) for parts in images] == [1, 2]
    assert [m["role"] for m in follow_up["messages"]] == ["user", "assistant", "user"]
    assert follow_up["messages"][0]["content"] == "합계는?"  # the question as typed


def test_add_and_save_take_a_name_quoted_or_with_escaped_spaces_as_a_dragged_file_pastes_it(
    receipt_png: Path, tmp_path: Path
) -> None:
    """A file dragged onto a terminal arrives quoted (GNOME: '/a/내 영수증.png' ) or with escaped
    spaces (macOS: /a/내\\ 영수증.png); the hint for a missing file says to quote names with spaces.
    Both forms name the file, for /add and /save alike."""
    second = tmp_path / "내 영수증.png"
    second.write_bytes(receipt_png.read_bytes())
    escaped = str(second).replace(" ", "\\ ")
    with FakeServer() as server, chat_terminal(str(receipt_png), "--server", server.url, "--no-history",
                                               data=tmp_path) as child:  # fmt: skip
        ask(child, f"/add '{second}' ")
        child.expect_exact("내 영수증.png: 1 page(s), shown to the model as images")
        ask(child, f"/add {escaped}")
        child.expect_exact("내 영수증.png: 1 page(s), shown to the model as images")
        ask(child, "합계는?")
        child.expect_exact("saw 3 image(s)")
        ask(child, f'/save "{tmp_path / "대화 기록.md"}"')
        child.expect_exact("Saved 1 answer(s)")
        ask(child, "/exit")
        assert ended(child) == 0
    assert "합계는?" in (tmp_path / "대화 기록.md").read_text(encoding="utf-8")


def test_fresh_on_a_terminal_asks_each_question_alone_and_jsonl_says_it_is_for_pipes(
    receipt_png: Path, tmp_path: Path
) -> None:
    """`--fresh` was a piped-only flag that a terminal ignored without a word; `--jsonl` still is,
    and says so before the model loads."""
    with FakeServer() as server, chat_terminal(str(receipt_png), "--server", server.url, "--fresh", "--jsonl",
                                               "--no-history", data=tmp_path) as child:  # fmt: skip
        child.expect_exact("--jsonl writes records for questions piped in")
        child.expect_exact("Loaded ")
        ask(child, "합계는?")
        child.expect_exact("saw 1 image(s)")
        ask(child, "그럼 부가세는?")
        child.expect_exact("saw 1 image(s): 그럼 부가세는?")
        ask(child, "/exit")
        assert ended(child) == 0
    assert [len(request["messages"]) for request in server.requests] == [1, 1]


def test_a_history_file_that_cannot_be_made_is_a_warning_and_the_session_goes_on(
    receipt_png: Path, tmp_path: Path
) -> None:
    """A data folder that cannot hold the history (a file in the way, a read-only home in a
    container) ended the session as soon as the model had loaded: a minute lost for a file that
    only recalls questions."""
    (tmp_path / "exaone").write_text("a file where the folder should be", encoding="utf-8")
    with FakeServer() as server, chat_terminal(str(receipt_png), "--server", server.url, data=tmp_path) as child:
        child.expect_exact("the question history cannot be kept")
        ask(child, "합계는?")
        child.expect_exact("saw 1 image(s)")
        ask(child, "/exit")
        assert ended(child) == 0


def test_ctrl_c_as_a_finished_answer_is_written_comes_back_to_the_prompt(
    receipt_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C a moment late, while the whole answer is being written: the interrupt escaped the
    answer and ended the session (exit 130). The key is injected where the answer is written."""
    from io import StringIO

    from rich.console import Console

    from exaone_cli.chat.session import ChatOptions, ChatSession
    from exaone_cli.chat.terminal import ChatTerminal
    from exaone_cli.config import LoadOptions
    from exaone_cli.engines.remote import remote_options

    class CtrlC(StringIO):
        def write(self, text: str) -> int:
            raise KeyboardInterrupt

    err, warnings = StringIO(), []
    with FakeServer() as server:
        load = LoadOptions()
        remote = remote_options(server.url, None, None, 1, 0, 30.0, load)
        session = ChatSession([str(receipt_png)], ChatOptions(load, remote))
        session.open()
        view = ChatTerminal(Console(file=StringIO()), Console(file=err), history=None, show_reasoning=False,
                            warn=warnings.append)  # fmt: skip
        view.session = session
        monkeypatch.setattr(sys, "stdout", CtrlC())
        try:
            view.answer("합계는?")
        except KeyboardInterrupt:
            pytest.fail("Ctrl-C escaped the answer: the session would end")
        finally:
            monkeypatch.undo()
            session.close()
    assert "Stopped." in err.getvalue() and not warnings
    assert len(session.history) == 1  # the answer was whole: it is part of the conversation
