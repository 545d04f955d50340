"""Run `exaone` the way a person does: stderr (and, for the terminal views, stdout) on a
pseudo-terminal of a given size, the screen read back through pyte (a VT100 emulator), while
stdout may go to a file or a pipe, as it does in `exaone ocr doc.pdf > doc.txt`.

The suite's other tests never see these paths: their stderr is not a terminal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pyte

Stdout = Literal["terminal", "file", "pipe"]


@dataclass
class TerminalRun:
    returncode: int
    screen: list[str]  # the terminal's lines at the end, trailing blanks removed
    raw: bytes  # everything written to the terminal, escape sequences included
    stdout: bytes  # what went to stdout when it was a file or a pipe

    @property
    def text(self) -> str:
        return "\n".join(self.screen)


def _size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def run_on_terminal(
    *args: str,
    columns: int = 80,
    rows: int = 200,
    stdout: Stdout = "file",
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    tmp: Path | None = None,
    interrupt_after: bytes | None = None,
    ctrl_c_after: bytes | None = None,
    cwd: Path | None = None,
) -> TerminalRun:
    """`exaone ARGS` with stderr on a `columns` x `rows` terminal; stdout on the same terminal,
    in a file, or in a pipe; stdin from `stdin` bytes (a pipe) or /dev/null. `interrupt_after`:
    send SIGINT once the terminal has shown these bytes. `ctrl_c_after`: type Ctrl-C on the
    terminal then, as a person does: the terminal is then the run's controlling terminal, its
    line discipline sends the SIGINT and echoes "^C" where the cursor is (which `interrupt_after`
    never shows). `cwd`: where it runs (relative names keep a screen's layout the same wherever
    the checkout and the temporary folder are)."""
    master, slave = pty.openpty()
    _size(slave, columns, rows)
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    environment.update({"TERM": "xterm-256color", **(env or {})})
    out_path = (tmp or Path(os.environ.get("TMPDIR", "/tmp"))) / f"exaone-stdout-{os.getpid()}-{time.monotonic_ns()}"
    out_file = out_path.open("wb") if stdout == "file" else None
    target = slave if stdout == "terminal" else out_file if out_file else subprocess.PIPE
    proc = subprocess.Popen(
        [sys.executable, "-m", "exaone_cli", *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=target,
        stderr=slave,
        env=environment,
        cwd=cwd,
        start_new_session=True,  # its own session, as a shell's job
        preexec_fn=_take_terminal if ctrl_c_after is not None else None,
    )
    os.close(slave)
    if stdin is not None:  # fed from a thread, so a large input never blocks reading the terminal
        assert proc.stdin is not None
        pipe = proc.stdin

        def feed() -> None:
            with pipe:
                pipe.write(stdin)

        threading.Thread(target=feed, daemon=True).start()
    raw, piped = _drain(proc, master, timeout, interrupt_after, ctrl_c_after)
    os.close(master)
    if out_file is not None:
        out_file.close()
        piped = out_path.read_bytes()
        out_path.unlink()
    screen = pyte.Screen(columns, rows)
    stream = pyte.ByteStream(screen)
    stream.feed(raw)
    lines = [line.rstrip() for line in screen.display]
    while lines and not lines[-1]:
        lines.pop()
    return TerminalRun(proc.returncode, lines, raw, piped)


def _take_terminal() -> None:
    """In the child, after setsid: stderr's terminal becomes the controlling terminal and the
    child's process group its foreground group, so a typed Ctrl-C reaches it."""
    fcntl.ioctl(2, termios.TIOCSCTTY, 0)


def _drain(
    proc: subprocess.Popen[bytes],
    master: int,
    timeout: float,
    interrupt_after: bytes | None = None,
    ctrl_c_after: bytes | None = None,
) -> tuple[bytes, bytes]:
    """Everything the process writes to the terminal (and to a stdout pipe) until it exits;
    SIGINT once the terminal has shown `interrupt_after`; Ctrl-C typed once it has shown
    `ctrl_c_after`."""
    raw, piped = bytearray(), bytearray()
    sources = [master] + ([proc.stdout.fileno()] if proc.stdout else [])
    deadline = time.monotonic() + timeout
    while sources:
        if time.monotonic() > deadline:
            proc.kill()
            so_far = raw.decode(errors="replace")
            raise TimeoutError(f"exaone did not finish in {timeout} s; the terminal so far:\n{so_far}")
        ready, _, _ = select.select(sources, [], [], 0.2)
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the terminal's other end closed (EIO on Linux)
                chunk = b""
            if not chunk:
                sources.remove(fd)
            elif fd == master:
                raw += chunk
                if interrupt_after is not None and interrupt_after in raw:
                    proc.send_signal(signal.SIGINT)
                    interrupt_after = None
                if ctrl_c_after is not None and ctrl_c_after in raw:
                    os.write(master, b"\x03")
                    ctrl_c_after = None
            else:
                piped += chunk
        if not ready and proc.poll() is not None and master in sources:
            sources.remove(master)  # exited; nothing left to read
    proc.wait(timeout=10)
    return bytes(raw), bytes(piped)
