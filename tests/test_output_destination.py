"""-o destinations: refused before any work when nothing can be created there, written honestly
when they are devices or pipes, and a write that fails later (a full disk, a file-size limit) is
one line naming the file, with every whole JSON Lines record kept. --resume appends only to
exaone's own JSON Lines."""

from __future__ import annotations

import json
import os
import resource
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_openai import FakeServer
from pdf_fixtures import make_text_pdf
from typer.testing import CliRunner

from exaone_cli.cli import app

FAST = ["--max-new-tokens", "4", "--temperature", "0", "--page-retries", "0", "--text-layer", "off"]


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    from PIL import Image, ImageDraw

    picture = Image.new("RGB", (160, 100), "white")
    ImageDraw.Draw(picture).text((10, 40), "TOTAL 12,500", fill="black")
    path = tmp_path / "receipt.png"
    picture.save(path)
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("target", ["/proc/version", "/proc/exaone-out.json", "/proc/exaone-out.jsonl"])
def test_a_destination_where_no_file_can_be_created_is_refused_before_any_work(
    image: Path, tmp_path: Path, target: str
) -> None:
    # No model is needed to refuse: this one does not even exist, so any work would fail otherwise.
    code, stdout, stderr = invoke("ocr", str(image), "-o", target, "--model", str(tmp_path / "none"))
    assert code == 2, stderr
    assert stderr.splitlines()[0].startswith(f"Error: -o {target}: cannot create a file in /proc")
    assert stderr.count("Error:") == 1 and "unexpected" not in stderr and stdout == ""


def _limited(max_bytes: int) -> None:
    """In the child: files may grow to `max_bytes` (writes past it fail with EFBIG, as on a full
    disk), and the signal that limit sends is ignored, as a shell's `ulimit -f` user would see it."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def run_limited(max_bytes: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exaone_cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: _limited(max_bytes),
    )


def test_a_json_file_that_cannot_be_written_is_one_line_naming_it(
    tiny_model: Path, image: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pages.json"
    out.write_text("the earlier run's output\n")
    result = run_limited(600, "ocr", str(image), str(image), "-o", str(out), "--model", str(tiny_model), *FAST)
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [f"Error: -o {out}: cannot write (File too large)"]
    assert "Hint: the file was left as it was" in result.stderr and "Done:" not in result.stderr
    assert out.read_text() == "the earlier run's output\n"
    assert not list(tmp_path.glob(".*.tmp"))


def test_json_lines_written_before_a_write_error_are_kept_whole(tiny_model: Path, image: Path, tmp_path: Path) -> None:
    out = tmp_path / "pages.jsonl"
    files = [str(image)] * 5
    result = run_limited(2048, "ocr", *files, "-o", str(out), "--model", str(tiny_model), *FAST)
    assert result.returncode == 1, result.stderr
    assert f"Error: -o {out}: cannot write (File too large)" in result.stderr.splitlines()
    data = out.read_bytes()
    assert data.endswith(b"\n")  # the line cut by the limit is gone, the whole ones are not
    records = [json.loads(line) for line in data.decode().splitlines()]
    assert 1 <= len(records) < 5 and all(r["source"] == str(image) for r in records)
    assert f"Hint: the {len(records)} line(s) written before are kept" in result.stderr


def test_a_pipe_as_destination_is_written_in_place_not_replaced(tiny_model: Path, image: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pages.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    code, _, stderr = invoke("ocr", str(image), "--json", "-o", str(fifo), "--model", str(tiny_model), *FAST)
    reader.join(timeout=60)
    assert code in (0, 1), stderr  # 1: the random tiny model may answer nothing readable
    assert json.loads(received[0])["documents"][0]["source"] == str(image)
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still the pipe, not a plain file renamed over it


def test_a_symbolic_link_as_destination_stays_a_link(tiny_model: Path, image: Path, tmp_path: Path) -> None:
    target = tmp_path / "real.md"
    link = tmp_path / "link.md"
    link.symlink_to(target)
    code, _, stderr = invoke("ocr", str(image), "-o", str(link), "--model", str(tiny_model), *FAST)
    assert code in (0, 1), stderr
    assert link.is_symlink() and target.read_text().startswith(f"<!-- {image} · page 1 -->")


@pytest.mark.parametrize("content", ["garbage line\n", '{"x": 1}\n'])
def test_resume_refuses_a_file_that_is_not_exaones_json_lines(image: Path, tmp_path: Path, content: str) -> None:
    out = tmp_path / "r4.jsonl"
    out.write_text(content)
    code, _, stderr = invoke("ocr", str(image), "-o", str(out), "--resume", "--model", str(tmp_path / "none"))
    assert code == 2, stderr
    assert stderr.startswith(f"Error: -o {out}: line 1 is not a page record of exaone ocr")
    assert "Hint:" in stderr and "drop --resume" in stderr
    assert out.read_text() == content


def test_resume_still_takes_a_file_whose_last_line_was_cut(tiny_model: Path, image: Path, tmp_path: Path) -> None:
    out = tmp_path / "pages.jsonl"
    code, _, stderr = invoke("ocr", str(image), str(image), "-o", str(out), "--model", str(tiny_model), *FAST)
    assert code in (0, 1), stderr
    first, second = out.read_text().splitlines()
    out.write_text(first + "\n" + second[:30])
    args = ("ocr", str(image), str(image), "-o", str(out), "--resume", "--model", str(tiny_model), *FAST)
    code, _, stderr = invoke(*args)
    assert code in (0, 1), stderr
    assert "Resumed: 1 page(s)" in stderr
    assert [json.loads(line)["source"] for line in out.read_text().splitlines()] == [str(image)] * 2


def _ocr_in_background(server: FakeServer, pdf: Path, out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "exaone_cli", "ocr", str(pdf), "--server", server.url, "-o", str(out), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip


@pytest.mark.parametrize("extra", [[], ["--resume"], ["--format", "json"]])
def test_a_second_run_writing_the_same_file_is_refused_and_the_first_one_s_file_stays_whole(
    tmp_path: Path, extra: list[str]
) -> None:
    pdf = make_text_pdf(tmp_path / "doc.pdf", [f"page {i}" for i in range(1, 5)])
    out = tmp_path / "pages.jsonl"
    second_done = threading.Event()  # the server answers the first run only then: it is still writing

    def after_the_second_run(body: dict) -> float:
        second_done.wait(timeout=120)
        return 0.0

    with FakeServer(delay=after_the_second_run) as server:
        first = _ocr_in_background(server, pdf, out, "--dpi", "40", "--text-layer", "off", *extra)
        lock = tmp_path / ".pages.jsonl.lock"
        deadline = time.monotonic() + 120
        while not lock.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            code, stdout, stderr = invoke(
                "ocr", str(pdf), "--server", server.url, "-o", str(out), "--dpi", "40", *extra
            )
        finally:
            second_done.set()
        first_stderr = first.communicate(timeout=120)[1]
    assert first.returncode == 0, first_stderr
    assert code == 2, stderr
    assert stderr.splitlines()[0] == f"Error: -o {out} is being written by another exaone run (process {first.pid})"
    assert "another -o file" in stderr and stdout == ""
    text = out.read_text()
    pages = json.loads(text)["documents"][0]["pages"] if "json" in extra else [json.loads(x) for x in text.splitlines()]
    assert [page["page"] for page in pages] == [1, 2, 3, 4]
    assert not lock.exists()  # removed when the run ended


def test_extract_holds_its_output_file_too(tmp_path: Path) -> None:
    from exaone_cli.ocr.output import exclusive_output

    out = tmp_path / "fields.jsonl"
    with exclusive_output(out):
        code, _, stderr = invoke("extract", str(tmp_path / "any.png"), "--template", "receipt", "-o", str(out))
    assert code == 2, stderr
    assert f"Error: -o {out} is being written by another exaone run (process {os.getpid()})" in stderr


@pytest.mark.parametrize("target", ["/dev/stdout", "/dev/fd/1"])
@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_standard_output_named_as_the_file_is_written_in_place_when_it_is_a_pipe(
    tmp_path: Path, target: str, fmt: str
) -> None:
    # Issue #23: "cannot create a file in /proc/N/fd" when stdout was a pipe.
    pdf = make_text_pdf(tmp_path / "doc.pdf", ["page 1", "page 2"])
    with FakeServer() as server:
        result = subprocess.run(
            [sys.executable, "-m", "exaone_cli", "ocr", str(pdf), "--server", server.url, "--dpi", "40",
             "--format", fmt, "-o", target],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    pages = (
        json.loads(result.stdout)["documents"][0]["pages"]
        if fmt == "json"
        else [json.loads(line) for line in result.stdout.splitlines()]
    )
    assert [page["page"] for page in pages] == [1, 2]
    assert f"{fmt} written to {target}" in result.stderr


@pytest.mark.parametrize(
    ("command", "writes"),
    [(["ocr"], "ocr writes text, Markdown, JSON or JSON Lines"), (["extract", "--template", "receipt"], "extract")],
)
def test_one_suffix_rule_for_ocr_and_extract(image: Path, tmp_path: Path, command: list[str], writes: str) -> None:
    # Issue #23: `ocr -o out.xlsx` wrote plain text into it while extract refused the suffix.
    out = tmp_path / "out.xlsx"
    code, stdout, stderr = invoke(command[0], str(image), *command[1:], "-o", str(out))
    assert code == 2 and stdout == "" and not out.exists()
    assert (
        stderr.splitlines()[0]
        == f"Error: -o {out}: {writes}"
        + ("" if command[0] == "ocr" else " writes JSON, JSON Lines or CSV")
        + ", and cannot tell which from .xlsx"
    )
    assert "--format" in stderr


def test_ocr_takes_txt_as_text_and_a_name_without_a_suffix_as_a_pipe_would() -> None:
    from exaone_cli.ocr.settings import OCR_FORMATS

    assert OCR_FORMATS.resolve("auto", Path("out.txt"), False) == "text"
    assert OCR_FORMATS.resolve("auto", Path("/dev/stdout"), False) == "text"
    assert OCR_FORMATS.resolve("auto", Path("pages.JSONL"), False) == "jsonl"
