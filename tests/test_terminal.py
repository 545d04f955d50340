"""Model text on a real terminal (a pseudo-terminal): control sequences are shown, never obeyed;
files and pipes get the exact text (issue #12 item 1). The page text comes from a recorded answer
(tests/cases/terminal-escapes--body.json): ESC colour codes, an OSC window-title sequence, a NUL.
`ocr` runs with -q: the progress display and stdout on a terminal are issue #11's."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PIL import Image
from replay_server import ReplayServer, case

ESCAPES = case("terminal-escapes--body.json")
EXACT = "total \x1b[31mRED\x1b[0m \x1b]0;PWNED\x07 nul\x00end"
SHOWN = "total ␛[31mRED␛[0m ␛]0;PWNED␇ nul␀end"


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side closed
            return
        if not chunk:
            return
        into.extend(chunk)


def in_terminal(*args: str, stdout_is_terminal: bool = True, cwd: Path | None = None) -> tuple[int, str, str]:
    """`exaone ARGS` with stderr (and stdout, unless told otherwise) on a pseudo-terminal, as a
    person runs it. Returns the exit code and what each stream received, CRLF as LF."""
    streams: list[tuple[int, int]] = [pty.openpty() for _ in range(2 if stdout_is_terminal else 1)]
    err_slave = streams[-1][1]
    out_target: int = streams[0][1] if stdout_is_terminal else subprocess.PIPE
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "exaone_cli", *args],
        stdin=subprocess.DEVNULL, stdout=out_target, stderr=err_slave, env=env, cwd=cwd,
    )  # fmt: skip
    for _, slave in streams:
        os.close(slave)
    received = [bytearray() for _ in streams]
    readers = [threading.Thread(target=_drain, args=(m, buf)) for (m, _), buf in zip(streams, received, strict=True)]
    for reader in readers:
        reader.start()
    piped = proc.stdout.read() if proc.stdout is not None else b""
    code = proc.wait(timeout=120)
    for reader in readers:
        reader.join(timeout=30)
    for master, _ in streams:
        os.close(master)
    out = bytes(received[0]) if stdout_is_terminal else piped
    err = bytes(received[-1])
    text = out.decode("utf-8", "strict")
    return code, text.replace("\r\n", "\n") if stdout_is_terminal else text, err.decode().replace("\r\n", "\n")


@pytest.fixture()
def page(tmp_path: Path) -> Path:
    path = tmp_path / "page.png"
    Image.new("RGB", (56, 56), "white").save(path)
    return path


@pytest.fixture()
def server():  # type: ignore[no-untyped-def]
    with ReplayServer(lambda request: ESCAPES) as replay:
        yield replay


def assert_inert(output: str) -> None:
    """Nothing of the model's sequences reaches the terminal raw; the text is there, visibly."""
    assert "\x1b]0;PWNED" not in output and "\x07" not in output and "\x00" not in output
    assert "\x1b[31mRED" not in output
    assert "RED" in output and "PWNED" in output and "end" in output


@pytest.mark.parametrize("fmt", ["rich", "text", "markdown"])
def test_ocr_views_on_a_terminal_show_control_sequences_instead_of_obeying_them(
    page: Path, server: ReplayServer, fmt: str
) -> None:
    code, out, err = in_terminal("ocr", str(page), "--server", server.url, "--format", fmt, "-q")
    assert code == 0, err
    assert_inert(out)
    if fmt != "rich":  # the rich view may wrap or style the line; the plain views show it whole
        assert SHOWN in out


def test_ocr_text_into_a_pipe_is_exact(page: Path, server: ReplayServer) -> None:
    code, out, err = in_terminal("ocr", str(page), "--server", server.url, "-f", "text", "-q", stdout_is_terminal=False)
    assert code == 0, err
    assert EXACT in out


@pytest.mark.parametrize("flag", ["--json", "--jsonl"])
def test_json_on_a_terminal_is_exact_and_inert(page: Path, server: ReplayServer, flag: str) -> None:
    code, out, err = in_terminal("ocr", str(page), "--server", server.url, flag, "-q")
    assert code == 0, err
    assert not any(c in out for c in "\x1b\x07\x00")  # escaped, so the terminal sees plain text
    body = json.loads(out.strip().splitlines()[-1] if flag == "--jsonl" else out)
    record = body if flag == "--jsonl" else body["documents"][0]["pages"][0]
    assert record["text"] == EXACT


@pytest.mark.parametrize("fmt", ["rich", "text"])
def test_ask_views_on_a_terminal_show_control_sequences(page: Path, server: ReplayServer, fmt: str) -> None:
    code, out, err = in_terminal("ask", str(page), "what?", "--server", server.url, "--no-think", "--format", fmt)
    assert code == 0, err
    assert_inert(out)
    if fmt == "text":
        assert out == SHOWN + "\n"


def test_ask_text_into_a_pipe_is_exact(page: Path, server: ReplayServer) -> None:
    code, out, err = in_terminal(
        "ask", str(page), "what?", "--server", server.url, "--no-think", stdout_is_terminal=False
    )
    assert code == 0, err
    assert out == EXACT + "\n"


def test_a_file_name_with_escapes_and_markup_is_shown_not_obeyed(tmp_path: Path, server: ReplayServer) -> None:
    """A neighbour: file names are data too, in the rich view's title and in error lines."""
    named = tmp_path / "\x1b]0;NAME\x07[bold]x[red].png"
    Image.new("RGB", (56, 56), "white").save(named)
    missing = tmp_path / "\x1b[2Jgone.png"
    code, out, err = in_terminal("ocr", str(named), str(missing), "--server", server.url, "-q")
    assert code == 1
    assert "\x1b]0;NAME" not in out and "␛]0;NAME␇[bold]x[red].png" in out
    assert "\x1b[2J" not in err and "␛[2Jgone.png" in err


def test_a_lone_surrogate_in_the_rich_view_is_a_replacement_character(page: Path) -> None:
    with ReplayServer(lambda request: case("surrogate--bad.json")) as server:
        code, out, err = in_terminal("ocr", str(page), "--server", server.url, "-q")
    assert code == 0, err
    assert "price \ufffd 5000" in out


def test_dry_run_table_shows_control_characters_in_file_names(tmp_path: Path) -> None:
    named = tmp_path / "\x1b]0;NAME\x07scan.png"
    Image.new("RGB", (56, 56), "white").save(named)
    code, out, err = in_terminal("ocr", named.name, "--dry-run", cwd=tmp_path)  # a short name: no wrapping
    assert code == 0, err
    assert "\x1b]0;NAME" not in out and "␛]0;NAME␇scan.png" in out
