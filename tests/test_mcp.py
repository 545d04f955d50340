"""`exaone mcp` through the SDK's own client, the way an agent's client starts and uses it: tools
listed and called, progress, paging, root confinement, readable errors, a clean standard output,
and one model load per server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import run_exaone
from fake_openai import FakeServer
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_client import error_text, payload, stdio_session
from pdf_fixtures import make_scanned_pdf, make_text_pdf

TINY = ["--max-pixels", "50176", "--dpi", "50", "--max-new-tokens", "24", "--dtype", "float32", "--device-map", "cpu"]


@pytest.fixture()
def docs(tmp_path: Path, receipt_png: Path) -> Path:
    """The root: two announcements (a 2-page PDF, an image), a broken PDF, and a link that leads
    out of the root to a secret beside it."""
    root = tmp_path / "문서"
    (root / "공고").mkdir(parents=True)
    make_text_pdf(root / "공고" / "공고 1.pdf", ["신청 마감일: 2026년 3월 2일", "문의: 민원실"])
    (root / "공고" / "영수증.png").write_bytes(receipt_png.read_bytes())
    (root / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<\ngarbage, no xref, no trailer\n")
    (tmp_path / "secret.txt").write_text("not for agents")
    (root / "link.pdf").symlink_to(tmp_path / "secret.txt")
    return root


def run(test: Any) -> None:
    anyio.run(test)


def stderr_of(logs: Path) -> str:
    return (logs / "stderr.txt").read_text(encoding="utf-8")


def wire_is_protocol_only(logs: Path) -> list[dict[str, Any]]:
    """Every line the server wrote to standard output is one JSON-RPC 2.0 message."""
    lines = (logs / "wire.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""
    messages = [json.loads(line) for line in lines[:-1]]
    assert all(message.get("jsonrpc") == "2.0" for message in messages)
    return messages


def test_an_answer_longer_than_a_part_comes_in_parts_that_join_to_it() -> None:
    """ask's result is paged as ocr's is: an answer past the budget (a large --max-new-tokens)
    was one result an agent would refuse."""
    from exaone_cli.mcp.paging import TOKEN_BUDGET, Pager, estimate_tokens
    from exaone_cli.mcp.tools import answer_parts

    answer = "\n".join(f"{n}. 신청 마감일은 공고일로부터 14일 이내이며 서류는 우편으로 냅니다." for n in range(2000))
    head = {"question": "요약해 줘", "final": None, "citations": [], "pages_read": [], "mode": "text"}
    pager = Pager()
    parts = [pager.first("ask", head, [{"text": answer}], answer_parts)]
    while parts[-1]["paging"]["next_cursor"]:
        parts.append(pager.next("ask", parts[-1]["paging"]["next_cursor"]))
    assert len(parts) > 2
    assert "".join(part["answer"] for part in parts) == answer
    assert [part["answer_part"] for part in parts] == [f"{n}-{n} of {len(parts)}" for n in range(1, len(parts) + 1)]
    assert all(part["question"] == "요약해 줘" for part in parts)
    assert all(estimate_tokens(json.dumps(part, ensure_ascii=False)) <= TOKEN_BUDGET for part in parts)
    whole = Pager().first("ask", head, [{"text": "짧은 답"}], answer_parts)
    assert whole == {**head, "answer": "짧은 답"}  # a short answer is the result as it always was


def test_every_tool_over_stdio_with_a_server_progress_and_a_clean_stdout(docs: Path, tmp_path: Path) -> None:
    """The four tools through --server; progress per page; and bytes that a native library or a
    stray print writes to fd 1 during a call land on stderr, not on the protocol stream."""
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "sitecustomize.py").write_text(
        "import os\n"
        "from exaone_cli.engines import remote\n"
        "generate = remote.RemoteEngine.generate\n"
        "def noisy(self, *args, **kwargs):\n"
        "    print('a stray print')\n"
        "    os.write(1, b'native library chatter\\n')\n"
        "    return generate(self, *args, **kwargs)\n"
        "remote.RemoteEngine.generate = noisy\n"
    )
    env = {"PYTHONPATH": os.pathsep.join([str(stray), os.environ.get("PYTHONPATH", "")])}
    logs = tmp_path / "logs"

    async def test() -> None:
        with FakeServer() as fake:
            async with stdio_session(["--server", fake.url, "--root", str(docs)], tmp_path, logs, env) as session:
                # What the agent is told, and may tell its user: the pages go to the server.
                assert f"through the EXAONE server at {fake.url}" in (session.instructions or "")
                tools = {tool.name: tool for tool in (await session.list_tools()).tools}
                assert sorted(tools) == ["ask", "extract", "inspect", "ocr"]
                assert "locally" not in (tools["ocr"].description or "")
                for tool in tools.values():
                    assert len(tool.description or "") > 200
                    for name, prop in tool.input_schema["properties"].items():  # plain arguments only
                        types = {t["type"] for t in prop.get("anyOf", [prop])}
                        assert types <= {"string", "integer", "boolean", "null"}, (tool.name, name)

                inspected = payload(await session.call_tool("inspect", {"path": "공고/공고 1.pdf"}))
                assert inspected["pages"] == 2 and inspected["to_model"] == 2
                assert [p["text_layer"] for p in inspected["documents"][0]["pages"]] == ["good", "good"]
                assert inspected["model_loaded"] is False  # a dry run loads nothing

                seen: list[tuple[float, float | None, str | None]] = []

                async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                    seen.append((progress, total, message))

                result = payload(await session.call_tool("ocr", {"path": "공고", "pages": "1-2"}, None, on_progress))
                files = [doc["file"] for doc in result["documents"]]
                assert files == [str(docs / "공고" / "공고 1.pdf"), str(docs / "공고" / "영수증.png")]
                assert [p["page"] for p in result["documents"][0]["pages"]] == [1, 2]
                assert all(p["text"].startswith("saw 1 image(s)") for doc in result["documents"] for p in doc["pages"])
                page_steps = [(p, t) for p, t, m in seen if t == 3 and p >= 1]
                assert page_steps == [(1, 3), (2, 3), (3, 3)]
                assert [p for p, _, _ in seen] == sorted(p for p, _, _ in seen)  # always rising

                answer = payload(await session.call_tool("ask", {"question": "마감일은?", "path": "공고/공고 1.pdf"}))
                assert answer["answer"].startswith("saw 2 image(s)")
                assert "paging" not in answer and "answer_part" not in answer  # it fits: whole
                stale = error_text(await session.call_tool("ask", {"question": "마감일은?", "cursor": "0000:1"}))
                assert "cursor '0000:1' is not one this server holds for ask" in stale
                assert answer["pages_read"] == [
                    {"file": str(docs / "공고" / "공고 1.pdf"), "page": n, "as": "image"} for n in (1, 2)
                ]
                extracted = payload(
                    await session.call_tool(
                        "extract", {"path": "공고/영수증.png", "fields": "상호, 합계:integer", "per_page": True}
                    )
                )
                # The fake server answers prose: not JSON, so the result says so and keeps what it wrote.
                assert extracted["results"] == 1 and extracted["valid"] == 0
                item = extracted["items"][0]
                assert item["errors"] and item["raw"].startswith("saw 1 image(s)") and "data" not in item
                # Said once, in its item: a head's warnings are repeated in every part of a paged result.
                assert item["note"].startswith("text around the JSON was ignored") and "warnings" not in extracted
        assert fake.requests  # the server really answered every page

    run(test)
    wire_is_protocol_only(logs)
    stderr = stderr_of(logs)
    assert "a stray print" in stderr and "native library chatter" in stderr
    assert "Traceback" not in stderr


def test_ocr_says_model_and_cached_as_exaone_ocr_json_does(docs: Path, tmp_path: Path, page_store: Path) -> None:
    """The tool's `model` and each page's `cached` as `exaone ocr --json` gives them: the model
    that made the pages (those from the page store too), null when none did; `cached` true or
    false, never left out."""
    pdf = docs / "공고" / "공고 1.pdf"
    results: list[dict[str, Any]] = []

    async def test() -> None:
        async with stdio_session(["--server", fake.url, "--root", str(docs)], tmp_path, tmp_path / "logs") as session:
            for text_layer in ("fallback", "fallback", "prefer"):
                arguments = {"path": "공고/공고 1.pdf", "text_layer": text_layer}
                results.append(payload(await session.call_tool("ocr", arguments)))

    with FakeServer() as fake:
        run(test)
        cli = json.loads(run_exaone("ocr", str(pdf), "--json", "--server", fake.url).stdout)
    made, stored, from_layer = results
    assert [page["cached"] for page in made["documents"][0]["pages"]] == [False, False]
    assert [page["cached"] for page in stored["documents"][0]["pages"]] == [True, True]
    assert made["model"] == stored["model"] == cli["model"] == "exaone-fake"
    assert [p["cached"] for p in cli["documents"][0]["pages"]] == [p["cached"] for p in stored["documents"][0]["pages"]]
    assert [page["text_source"] for page in from_layer["documents"][0]["pages"]] == ["text-layer", "text-layer"]
    assert from_layer["model"] is None and "model" in from_layer


def test_paths_outside_the_roots_urls_and_broken_files_are_readable_errors(docs: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    refused: dict[str, str] = {}

    async def test() -> None:
        async with stdio_session(["--root", str(docs)], tmp_path, logs) as session:
            for path in ["../secret.txt", str(tmp_path / "secret.txt"), "link.pdf", "~/../../etc/passwd"]:
                refused[path] = error_text(await session.call_tool("inspect", {"path": path}))
            refused["url"] = error_text(await session.call_tool("ocr", {"path": "https://example.com/a.pdf"}))
            refused["missing"] = error_text(await session.call_tool("ocr", {"path": "없는 파일.pdf"}))
            refused["cursor"] = error_text(await session.call_tool("ocr", {"path": "", "cursor": "feedbeef:40"}))
            # a guessed argument (a list of paths) was dropped unseen: a question about no document
            guessed = {"question": "마감일은?", "paths": ["공고/공고 1.pdf"]}
            refused["guessed"] = error_text(await session.call_tool("ask", guessed))
            refused["inspect"] = error_text(await session.call_tool("inspect", {"file": "공고/공고 1.pdf"}))
            broken = payload(await session.call_tool("inspect", {"path": "broken.pdf"}))
            refused["broken"] = broken["documents"][0]["pages"][0]["error"]
            read = payload(await session.call_tool("ocr", {"path": "broken.pdf"}))["documents"][0]["pages"][0]
            refused["broken ocr"] = f"{read['error']}\nHint: {read['hint']}"  # what to do, as the CLI's record says
            # The server goes on after every one of them.
            assert payload(await session.call_tool("inspect", {"path": "공고"}))["pages"] == 3

    run(test)
    for path in ["../secret.txt", str(tmp_path / "secret.txt"), "link.pdf", "~/../../etc/passwd"]:
        assert f"outside the folders this server may read ({docs})" in refused[path]
        assert "Hint: " in refused[path] and "--root" in refused[path]
    assert "URLs are not fetched" in refused["url"]
    assert "없는 파일.pdf: no such file or folder" in refused["missing"]
    assert "call ocr again with the same arguments" in refused["cursor"]
    assert "ask has no argument 'paths'" in refused["guessed"] and "path, pages, thinking" in refused["guessed"]
    assert "inspect has no argument 'file'" in refused["inspect"] and "ctx" not in refused["inspect"]
    assert refused["broken"].startswith(str(docs / "broken.pdf"))
    assert (
        refused["broken ocr"].startswith(str(docs / "broken.pdf"))
        and "\nHint: try --rasterizer poppler" in refused["broken ocr"]
    )
    for name, text in refused.items():
        assert "Traceback" not in text
        assert name == "broken" or "\nHint: " in text  # one line, then what to do
    assert "Traceback" not in stderr_of(logs)
    wire_is_protocol_only(logs)


def test_a_long_result_comes_in_parts_that_add_up_to_all_of_it(tmp_path: Path) -> None:
    """Pages taken from their text layers (no model): about 36,000 tokens of Korean, handed over in
    parts under Claude Code's 25,000-token limit, every page once, in order."""
    root = tmp_path / "root"
    root.mkdir()
    line = "가나다라마바사아자차카타파하 " * 5
    texts = [f"{n}쪽 " + "\n".join([line] * 40) for n in range(1, 13)]
    make_text_pdf(
        root / "긴 문서.pdf", texts, page_size=(600, 1100)
    )  # every wrapped line on the page: text past its edge is hidden
    parts: list[dict[str, Any]] = []

    async def test() -> None:
        async with stdio_session(["--root", str(root)], tmp_path, tmp_path / "logs") as session:
            arguments: dict[str, Any] = {"path": "긴 문서.pdf", "text_layer": "prefer"}
            while True:
                result = await session.call_tool("ocr", arguments)
                text = result.content[0].text  # type: ignore[union-attr]
                assert len(text) < 25_000  # characters: each Hangul syllable is a token or more
                parts.append(payload(result))
                cursor = parts[-1]["paging"]["next_cursor"]
                if cursor is None:
                    break
                arguments = {"cursor": cursor}  # as the result says: the cursor alone

    run(test)
    assert len(parts) >= 2
    assert all(part["pages"] == 12 for part in parts)  # the head repeats in every part
    pages = [page for part in parts for doc in part["documents"] for page in doc["pages"]]
    assert [page["page"] for page in pages] == list(range(1, 13))
    assert all(page["text_source"] == "text-layer" for page in pages)
    whole = json.loads(run_exaone("ocr", str(root / "긴 문서.pdf"), "--text-layer", "prefer", "--json").stdout)
    assert [page["text"] for page in pages] == [page["text"] for page in whole["documents"][0]["pages"]]
    assert sum(page["text"].count("가") for page in pages) > 25_000 // 14  # more than one part could hold
    assert "cursor=" in parts[0]["paging"]["how"]


def test_extract_takes_a_schema_as_json_text_a_schema_file_or_a_template(docs: Path, tmp_path: Path) -> None:
    """The schema as the tool describes it: JSON text (the SDK had parsed it into an object that
    the string argument then refused with a pydantic error), a file under the root, a template;
    and a client that sends every optional argument as null."""
    (docs / "마감.json").write_text(json.dumps({"type": "object", "properties": {"마감일": {"type": "string"}}}))
    schema = json.dumps({"type": "object", "properties": {"마감일": {"type": "string"}}}, ensure_ascii=False)
    results: dict[str, dict[str, Any]] = {}
    refused: dict[str, str] = {}
    past_the_end: dict[str, Any] = {}

    async def test() -> None:
        async with stdio_session(["--server", fake.url, "--root", str(docs)], tmp_path, tmp_path / "logs") as session:
            two = {"path": "공고/공고 1.pdf", "fields": "마감일", "template": "receipt"}
            refused["two"] = error_text(await session.call_tool("extract", two))
            layer = {"path": "공고/공고 1.pdf", "text_layer": "always"}
            refused["layer"] = error_text(await session.call_tool("ocr", layer))
            past_the_end.update(payload(await session.call_tool("ocr", {"path": "공고", "pages": "9"})))
            for name, arguments in {
                "text": {"schema": schema},
                "file": {"schema": "마감.json"},
                "template": {"template": "receipt"},
                "nulls": {"schema": schema, "fields": None, "template": None, "pages": None, "cursor": None},
            }.items():
                call = {"path": "공고/공고 1.pdf", **arguments}
                results[name] = payload(await session.call_tool("extract", call))

    with FakeServer() as fake:
        run(test)
    assert results["text"]["schema"] == results["nulls"]["schema"] == "the schema argument"
    assert results["file"]["schema"] == str(docs / "마감.json")
    assert results["template"]["schema"] == "template receipt"
    for result in results.values():
        assert result["results"] == 1 and result["items"][0]["pages"] == [1, 2]
    # The schema reached the model: its field is in the prompt the server was sent.
    assert any("마감일" in json.dumps(body, ensure_ascii=False) for body in fake.requests)
    # A refused call names the tool's arguments, not the command line's flags the agent has not got.
    assert "give exactly one of schema, fields or template (got fields and template)" in refused["two"]
    assert "unknown text_layer 'always'" in refused["layer"]
    assert "--" not in refused["two"] + refused["layer"]
    # So does a page's own error in a result: the pages argument, a call of its own.
    failed = [page for doc in past_the_end["documents"] for page in doc["pages"]]
    assert len(failed) == 2 and all(": pages 9 selects none of its" in page["error"] for page in failed)
    assert all(page["hint"] == "pages applies to every input; give this file a call of its own, or widen pages"
               for page in failed)  # fmt: skip
    assert "--" not in json.dumps(failed, ensure_ascii=False)


def test_the_page_size_cap_and_page_retries_are_the_servers_options_too(docs: Path, tmp_path: Path) -> None:
    """--max-page-pixels (the page-size error's own hint names it) and --page-retries reach the
    tools as they reach exaone ocr: a 16,000-pixel image over a 10,000-pixel cap is refused, and
    a page cut at the token limit is not tried again with no retries."""
    results: dict[str, dict[str, Any]] = {}

    async def test() -> None:
        args = ["--server", fake.url, "--max-page-pixels", "10000", "--page-retries", "0", "--root", str(docs)]
        async with stdio_session(args, tmp_path, tmp_path / "logs") as session:
            results["inspect"] = payload(await session.call_tool("inspect", {"path": "공고/영수증.png"}))
            results["ocr"] = payload(await session.call_tool("ocr", {"path": "공고/공고 1.pdf", "pages": "1"}))

    with FakeServer(finish_reason="length") as fake:
        run(test)
    refused = results["inspect"]["documents"][0]["pages"][0]["error"]
    assert "영수증.png: too large: 16,000 pixels" in refused
    assert results["ocr"]["documents"][0]["pages"][0]["page"] == 1
    assert len(fake.requests) == 1  # one try: with the default two retries it was three


def test_the_local_model_loads_once_for_every_call(tiny_model: Path, docs: Path, tmp_path: Path) -> None:
    """ocr, ask, extract and ocr again on the tiny checkpoint: one "Loaded" line on stderr; the
    server's inspect says the model is loaded."""
    logs = tmp_path / "logs"

    async def test() -> None:
        args = ["--model", str(tiny_model), *TINY, "--root", str(docs)]
        async with stdio_session(args, docs, logs, {"OMP_NUM_THREADS": "1"}) as session:
            assert "on this machine (the documents do not leave it)" in (session.instructions or "")
            first = payload(await session.call_tool("ocr", {"path": "공고/영수증.png"}))
            assert first["documents"][0]["pages"][0]["text_source"] == "model"
            answer = payload(await session.call_tool("ask", {"question": "합계는?", "path": "공고/영수증.png"}))
            assert answer["pages_read"][0]["file"].endswith("영수증.png")
            extracted = payload(
                await session.call_tool("extract", {"path": "공고/영수증.png", "fields": "합계:integer"})
            )
            assert extracted["results"] == 1
            again = payload(await session.call_tool("ocr", {"path": "공고/공고 1.pdf", "pages": 1}))
            assert again["documents"][0]["pages"][0]["page"] == 1
            assert payload(await session.call_tool("inspect", {"path": "공고"}))["model_loaded"] is True

    run(test)
    stderr = stderr_of(logs)
    assert stderr.count("Loaded ") == 1, stderr
    wire_is_protocol_only(logs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_port_in_use_is_one_error_line_before_it_says_it_serves(docs: Path) -> None:
    """It said "serving http://127.0.0.1:PORT/mcp", then the web server's own ERROR line, exit 3."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "exaone_cli", "mcp", "--transport", "streamable-http", "--port", str(port),
             "--root", str(docs)],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"Error: --host 127.0.0.1 --port {port}: cannot listen there"), proc.stderr
    assert "serving" not in proc.stderr and "ERROR" not in proc.stderr and "Hint: choose another --port" in proc.stderr


def test_streamable_http_serves_the_tools_on_localhost_and_refuses_a_foreign_host(docs: Path) -> None:
    import httpx2

    port = _free_port()
    with FakeServer() as fake:
        server = subprocess.Popen(
            [sys.executable, "-m", "exaone_cli", "mcp", "--transport", "streamable-http", "--port", str(port),
             "--server", fake.url, "--root", str(docs)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            deadline = time.monotonic() + 120  # until it listens; a busy machine starts it slowly
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert server.poll() is None, server.stderr.read() if server.stderr else ""
                    assert time.monotonic() < deadline, "exaone mcp did not listen in 120 s"
                    time.sleep(0.1)

            async def test() -> None:
                async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
                    await session.initialize()
                    names = sorted(tool.name for tool in (await session.list_tools()).tools)
                    assert names == ["ask", "extract", "inspect", "ocr"]
                    result = payload(await session.call_tool("ocr", {"path": "공고/영수증.png"}))
                    assert result["documents"][0]["pages"][0]["text"].startswith("saw 1 image(s)")

            run(test)
            # DNS rebinding: a page on another site that resolves its name to 127.0.0.1 is refused.
            foreign = httpx2.post(url, headers={"Host": "evil.example", "Content-Type": "application/json"}, json={})
            assert foreign.status_code in (400, 403, 421)
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_ends_a_stdio_server_whose_client_keeps_the_pipe_open(tmp_path: Path, sig: int) -> None:
    """A person trying `exaone mcp` in a terminal presses Ctrl-C; `kill` sends SIGTERM. The server
    stopped neither way while standard input stayed open (the SDK's read of it waits for a line),
    holding its model; now it ends within seconds, with exit code 130 and one word on stderr."""
    server = subprocess.Popen(
        [sys.executable, "-m", "exaone_cli", "mcp", "--server", "http://127.0.0.1:9/v1", "--root", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert server.stdin is not None and server.stdout is not None and server.stderr is not None
    hello = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}
    server.stdin.write(json.dumps(initialize).encode() + b"\n")
    server.stdin.flush()
    try:
        assert json.loads(server.stdout.readline())["id"] == 1  # serving, and reading standard input
        server.send_signal(sig)
        assert server.wait(timeout=30) == 130
    finally:
        server.kill()
        server.wait()
    stderr = server.stderr.read().decode()
    assert stderr.count("Interrupted.") == 1 and "Traceback" not in stderr


def test_in_a_terminal_it_says_it_waits_for_a_client_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    """A person who types `exaone mcp` to try it saw nothing at all, and Ctrl-C did not stop it."""
    import pty
    import select

    master, slave = pty.openpty()
    server = subprocess.Popen(
        [sys.executable, "-m", "exaone_cli", "mcp", "--server", "http://127.0.0.1:9/v1"],
        stdin=slave, stdout=subprocess.PIPE, stderr=slave, cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 120
        while b"Ctrl-C stops it" not in screen:
            assert time.monotonic() < deadline and server.poll() is None, screen
            if select.select([master], [], [], 0.2)[0]:
                screen += os.read(master, 4096)
        server.send_signal(signal.SIGINT)  # what the terminal sends for a typed Ctrl-C
        assert server.wait(timeout=30) == 130
    finally:
        server.kill()
        server.wait()
        os.close(master)
    assert b"waiting for an MCP client on standard input" in screen
    assert server.stdout is not None and server.stdout.read() == b""


def test_without_the_sdk_it_says_how_to_install_it(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['mcp'] = None\n")
    proc = run_exaone("mcp", env={"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])})
    assert proc.returncode == 3
    assert "exaone mcp needs the MCP SDK" in proc.stderr and "pip install '.[mcp]'" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_ask_about_a_long_document_transcribes_its_pages_with_progress(tmp_path: Path) -> None:
    """Ten scanned pages do not go in as images (at most 8): ask transcribes them through the server's
    kept engine, one progress notification a page, and answers from their text."""
    root = tmp_path / "root"
    root.mkdir()
    make_scanned_pdf(root / "보고서.pdf", [f"{n}: {n * 10}" for n in range(1, 11)], dpi=50)
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async def test() -> dict[str, Any]:
        with FakeServer() as fake:
            async with stdio_session(["--server", fake.url, "--root", str(root)], root, tmp_path / "logs") as session:
                arguments = {"question": "영업이익은?", "path": "보고서.pdf", "thinking": False}
                return payload(await session.call_tool("ask", arguments, None, on_progress))

    answer: dict[str, Any] = {}

    async def keep() -> None:
        answer.update(await test())

    run(keep)
    assert answer["mode"] == "text" and answer["pages_total"] == 10
    assert {(page["as"], page["file"]) for page in answer["pages_read"]} == {("model", str(root / "보고서.pdf"))}
    assert [p for p, t in seen if t == 10 and p >= 1] == list(range(1, 11))


def test_a_page_longer_than_a_part_is_split_into_numbered_parts_not_cut() -> None:
    from exaone_cli.mcp.paging import TOKEN_BUDGET, Pager, estimate_tokens

    page = "\n".join(f"{n}번째 줄: 신청 마감일은 공고일로부터 14일 이내입니다." for n in range(3000))
    pager = Pager()
    parts = [pager.first("ocr", {"files": 1}, [{"file": "a.pdf", "page": 1, "text": page}], lambda i: {"items": i})]
    while parts[-1]["paging"]["next_cursor"]:
        parts.append(pager.next("ocr", parts[-1]["paging"]["next_cursor"]))
    assert len(parts) > 2
    pieces = [item for part in parts for item in part["items"]]
    assert "".join(piece["text"] for piece in pieces) == page
    assert [piece["part"] for piece in pieces] == list(range(1, len(pieces) + 1))
    assert {piece["parts"] for piece in pieces} == {len(pieces)}
    assert all(estimate_tokens(json.dumps(part, ensure_ascii=False)) <= TOKEN_BUDGET for part in parts)


def test_a_folder_stands_for_its_hwp_and_hwpx_documents_too(tmp_path: Path) -> None:
    """A folder of 공고문 is mostly HWP: the fresh-eyes trial found a folder of .hwp files refused
    ("no PDF or image") and a mixed folder's HWP files skipped without a word. Other office files
    stay out (exaone does not read them)."""
    import shutil
    import zipfile

    from exaone_cli.mcp.roots import Roots, folder_documents

    cases = Path(__file__).resolve().parents[1] / "../shared/cases/hwp"
    if not cases.is_dir():
        cases = Path("/work/shared/cases/hwp")
    root = tmp_path / "공고"
    root.mkdir()
    shutil.copy(cases / "hello_world.hwp", root / "공고문.hwp")
    with zipfile.ZipFile(root / "공고문2.hwpx", "w") as archive:  # an HWPX is told by its mimetype entry
        archive.writestr("mimetype", "application/hwp+zip")
    with zipfile.ZipFile(root / "보고서.docx", "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    make_text_pdf(root / "안내.pdf", ["안내"])
    (root / "메모.txt").write_text("메모")
    found = [path.name for path in folder_documents(root, Roots.of([root]))]
    assert found == sorted(["공고문.hwp", "공고문2.hwpx", "안내.pdf"])


def test_ocr_of_an_hwp_document_reports_rhwps_rendering_as_progress(tmp_path: Path) -> None:
    """rhwp takes about a second a page: the client hears that it renders, before the pages."""
    import shutil

    root = tmp_path / "공고"
    root.mkdir()
    cases = Path(__file__).resolve().parents[1] / "../shared/cases/hwp"
    shutil.copy((cases if cases.is_dir() else Path("/work/shared/cases/hwp")) / "hello_world.hwp", root / "공고문.hwp")
    seen: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message)

    async def test() -> None:
        async with stdio_session(["--root", str(root)], tmp_path, tmp_path / "logs") as session:
            arguments = {"path": "공고문.hwp", "text_layer": "prefer"}
            result = payload(await session.call_tool("ocr", arguments, None, on_progress))
            assert result["documents"][0]["pages"][0]["text"] == "Hello World!"

    run(test)
    assert f"Rendering {root / '공고문.hwp'} with rhwp: 1 page…" in seen
    assert seen.index(f"Rendering {root / '공고문.hwp'} with rhwp: 1 page…") < seen.index("1 page(s) to read")
