"""exaone_cli.inputs: what a user's file names and piped bytes become, and the messages when they can't."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from pdf_fixtures import SAMPLE_PAGES, make_text_pdf
from PIL import Image

from exaone_cli.errors import InputError
from exaone_cli.inputs import open_source, sniff

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"%PDF-1.7\n", "pdf"),
        (b"\xef\xbb\xbfjunk from a mail gateway\n%PDF-1.4\n", "pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image"),
        (b"GIF89a", "image"),
        (b"II*\x00", "image"),
        (b"MM\x00*", "image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image"),
        (b"<svg xmlns=...>", "unknown"),
        (b"hello", "unknown"),
    ],
)
def test_sniff_reads_the_bytes(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


def test_a_pdf_named_png_is_a_pdf_and_a_png_named_pdf_is_an_image(tmp_path: Path) -> None:
    pdf = make_text_pdf(tmp_path / "scan.png", SAMPLE_PAGES[:1])
    png = tmp_path / "scan.pdf"
    Image.new("RGB", (8, 8), "white").save(png, format="PNG")
    assert open_source(str(pdf)).kind == "pdf"
    assert open_source(str(png)).kind == "image"


def test_source_shows_the_name_as_given_and_hashes_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data = b"%PDF-1.4\n" + os.urandom(3 * (1 << 20) + 123)  # several read chunks
    Path("영수증 1.pdf").write_bytes(data)
    source = open_source("영수증 1.pdf")
    assert source.display == source.name == "영수증 1.pdf"
    assert source.path == Path("영수증 1.pdf") and source.kind == "pdf"
    assert source.sha256 == hashlib.sha256(data).hexdigest()


def test_unknown_kind_is_not_an_error_at_open_time(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just text\n")
    assert open_source(str(path)).kind == "unknown"  # pages/ decides; Pillow reads more than the table


def test_missing_file(tmp_path: Path) -> None:
    name = str(tmp_path / "nope.pdf")
    with pytest.raises(InputError) as caught:
        open_source(name)
    assert caught.value.message == f"{name}: no such file"
    assert caught.value.hint


def test_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder, not a file") as caught:
        open_source(str(tmp_path))
    assert "DIR/*.pdf" in (caught.value.hint or "")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            open_source(str(fifo))
        except InputError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "open_source blocked opening a FIFO with no writer"
    assert outcome and "not a regular file" in str(outcome[0])


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.touch()
    with pytest.raises(InputError) as caught:
        open_source(str(path))
    assert caught.value.message == f"{path}: empty file"


def test_unreadable_file() -> None:
    """Run as an unprivileged user (root reads anything), in a forked child that reports back. The
    folder is a fresh one in /tmp that the user can enter (pytest's own tmp folders are root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="exaone-test-"))
    try:
        folder.chmod(0o755)
        path = folder / "secret.pdf"
        path.write_bytes(b"%PDF-1.4\n")
        path.chmod(0)
        message, hint = _open_as_nobody(path)
    finally:
        shutil.rmtree(folder)
    assert message == f"{path}: permission denied"
    assert hint == "check the file's permissions"


def _open_as_nobody(path: Path) -> tuple[str, str]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root if we have it, try, report, leave without pytest's cleanup
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            open_source(str(path))
            report = "opened"
        except InputError as exc:
            report = f"{exc.message}|{exc.hint}"
        except BaseException as exc:
            report = f"crashed: {exc!r}"
        os.write(write_end, report.encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as reader:
        message, _, hint = reader.read().decode().partition("|")
    return message, hint


def _fake_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes, tty: bool = False) -> None:
    class Stdin:
        buffer = io.BytesIO(data)

        def isatty(self) -> bool:
            return tty

    monkeypatch.setattr(sys, "stdin", Stdin())


def test_stdin_is_spooled_to_a_file_and_sniffed_from_its_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_text_pdf(tmp_path / "a.pdf", SAMPLE_PAGES[:2]).read_bytes()
    _fake_stdin(monkeypatch, data)
    source = open_source("-")
    assert source.display == "<stdin>" and source.kind == "pdf"
    assert source.path.is_file() and source.path.read_bytes() == data
    assert source.sha256 == hashlib.sha256(data).hexdigest()


def test_empty_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_stdin(monkeypatch, b"")
    with pytest.raises(InputError) as caught:
        open_source("-")
    assert caught.value.message == "<stdin>: standard input was empty"


def test_stdin_from_a_terminal_is_refused_instead_of_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_stdin(monkeypatch, b"", tty=True)
    with pytest.raises(InputError, match="nothing piped in"):
        open_source("-")


def test_real_stdin_pipe_and_the_temp_file_is_gone_at_exit(tmp_path: Path) -> None:
    png = tmp_path / "p.png"
    Image.new("RGB", (4, 4), "red").save(png)
    script = "from exaone_cli.inputs import open_source; s = open_source('-'); print(s.path, s.kind, s.display)"
    with png.open("rb") as stdin:
        proc = subprocess.run(
            [sys.executable, "-c", script], stdin=stdin, capture_output=True, text=True, check=True, cwd=ROOT
        )
    spooled, kind, display = proc.stdout.split()
    assert (kind, display) == ("image", "<stdin>")
    assert not Path(spooled).exists()
