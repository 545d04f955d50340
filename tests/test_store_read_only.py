"""The page store in a folder this user cannot write (issue #22 item 7): a read-only folder, or
another user's. Stored pages are still read (no page is transcribed again), new ones are not
kept, with one warning; `exaone cache clear` says in one line what to do, and what works.

Root ignores file permissions, so as root the runs drop the two capabilities that let it
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) with util-linux's setpriv: a real process that the
kernel refuses to write there, as it refuses any other user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import FakeServer
from pdf_fixtures import make_text_pdf

NO_OVERRIDE = ["--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


def exaone_as_another_user(*args: str) -> subprocess.CompletedProcess[str]:
    """`exaone ARGS` as a process that file permissions bind (root without its override)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "the tests run as root need util-linux's setpriv to drop the permission override"
        prefix = [setpriv, *NO_OVERRIDE, "--"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "exaone_cli", *args],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def ocr(server: FakeServer, pdf: Path, *, as_other: bool) -> tuple[int, list[dict], str]:
    args = ["ocr", "--server", server.url, "--jsonl", "--dpi", "40", str(pdf)]
    if as_other:
        proc = exaone_as_another_user(*args)
    else:
        proc = subprocess.run(
            [sys.executable, "-m", "exaone_cli", *args], capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


@pytest.fixture(params=["read-only-folder", "another-users-folder", "read-only-file"])
def locked_store(request: pytest.FixtureRequest, page_store: Path) -> Iterator[Path]:
    """The store's folder as this user cannot write it; its file readable."""
    yield page_store
    os.chmod(page_store.parent, 0o700)  # so pytest can clean up


def lock(store: Path, how: str) -> None:
    folder = store.parent
    for path in folder.iterdir():
        os.chmod(path, 0o444)
    if how == "read-only-folder":
        os.chmod(folder, 0o555)
    elif how == "read-only-file":  # the folder stays writable: SQLite opened the file and failed on the first write
        pass
    elif os.geteuid() == 0:  # another user's folder and file, readable by all
        for path in [*folder.iterdir(), folder]:
            os.chown(path, 65534, 65534)
        os.chmod(folder, 0o755)
    else:
        pytest.fail("another user's folder needs root to make here; the read-only folder covers non-root")


def test_a_store_this_user_cannot_write_is_still_read(
    locked_store: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    how = request.node.callspec.params["locked_store"]
    pdf = make_text_pdf(tmp_path / "계약서.pdf", ["페이지 1", "페이지 2"])
    with FakeServer() as server:
        code, first, _ = ocr(server, pdf, as_other=False)
        assert code == 0 and len(server.requests) == 2
        lock(locked_store, how)
        code, again, stderr = ocr(server, pdf, as_other=True)
    assert code == 0, stderr
    assert len(server.requests) == 2  # not one page transcribed again
    assert [r["cached"] for r in again] == [True, True] and [r["text"] for r in again] == [r["text"] for r in first]
    lines = [line for line in stderr.splitlines() if line.startswith(("Warning", "Error")) and "page store" in line]
    assert len(lines) == 1, stderr  # said once, not per page
    assert "cannot be written by this user" in lines[0] and "stored pages are read" in lines[0]
    assert "cache clear" not in stderr and "unexpected" not in stderr


def test_new_pages_are_not_kept_in_a_store_this_user_cannot_write(
    locked_store: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    how = request.node.callspec.params["locked_store"]
    with FakeServer() as server:
        assert ocr(server, make_text_pdf(tmp_path / "a.pdf", ["하나"]), as_other=False)[0] == 0
        lock(locked_store, how)
        code, records, stderr = ocr(server, make_text_pdf(tmp_path / "b.pdf", ["둘", "셋"]), as_other=True)
    assert code == 0, stderr
    assert [r["cached"] for r in records] == [False, False] and all(r["text"] for r in records)
    assert sum(line.startswith("Warning") and "page store" in line for line in stderr.splitlines()) == 1
    assert "Warning:" in stderr and "Error" not in stderr


def test_cache_clear_where_it_cannot_write_says_so_in_one_line(
    locked_store: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    how = request.node.callspec.params["locked_store"]
    with FakeServer() as server:
        assert ocr(server, make_text_pdf(tmp_path / "a.pdf", ["하나"]), as_other=False)[0] == 0
    lock(locked_store, how)
    proc = exaone_as_another_user("cache", "clear")
    assert proc.returncode == 1
    if how == "read-only-file":  # the hint was "run with --no-cache", which cache clear cannot take
        assert proc.stderr.splitlines() == [
            f"Error: the page store at {locked_store} cannot be changed: the file is not writable",
            f"Hint: if the file is yours, make it writable (chmod u+w {locked_store}*); else set EXAONE_CACHE_DIR to "
            "a folder of yours",
        ]
        for path in locked_store.parent.glob(f"{locked_store.name}*"):  # what the hint says: then clear works
            os.chmod(path, 0o644)
        assert exaone_as_another_user("cache", "clear").returncode == 0
        return
    assert proc.stderr.splitlines() == [
        f"Error: the page store at {locked_store} cannot be changed: its folder {locked_store.parent} is not writable"
        + (", another user's" if how == "another-users-folder" else ""),
        "Hint: its owner can run `exaone cache clear`; for your own store, set EXAONE_CACHE_DIR to a folder of yours",
    ]
    info = exaone_as_another_user("cache", "info", "--json")
    assert info.returncode == 0 and json.loads(info.stdout)["pages"] == 1  # still there, still readable


def test_cache_clear_of_an_unusable_file_it_cannot_remove(page_store: Path) -> None:
    page_store.parent.mkdir(parents=True, exist_ok=True)
    page_store.write_bytes(b"not a database, " * 100)
    os.chmod(page_store.parent, 0o555)
    try:
        proc = exaone_as_another_user("cache", "clear")
    finally:
        os.chmod(page_store.parent, 0o700)
    assert proc.returncode == 1
    assert "unexpected" not in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[0].startswith(f"Error: the page store at {page_store} cannot be")
    assert page_store.exists()


def test_a_store_file_this_user_cannot_read_says_what_works(page_store: Path, tmp_path: Path) -> None:
    """An unreadable store file: the run goes on without it, and `cache clear` says how to make
    it usable, not "run with --no-cache" (an option cache clear does not have)."""
    with FakeServer() as server:
        assert ocr(server, make_text_pdf(tmp_path / "a.pdf", ["하나"]), as_other=False)[0] == 0
        os.chmod(page_store, 0o000)
        code, records, stderr = ocr(server, make_text_pdf(tmp_path / "b.pdf", ["둘"]), as_other=True)
    assert code == 0 and records[0]["text"], stderr
    assert f"chmod u+rw {page_store}*" in stderr
    proc = exaone_as_another_user("cache", "clear")
    assert proc.returncode == 1 and "unexpected" not in proc.stderr
    assert proc.stderr.splitlines()[1] == (
        f"Hint: if the file is yours, make it readable (chmod u+rw {page_store}*); else set EXAONE_CACHE_DIR to a "
        "folder you can write, or run with --no-cache"
    )
