"""The page store on its own: real SQLite files, real processes writing at once, real kills."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from exaone_cli.store import PageKey, PageStore, StoreError

ROOT = Path(__file__).resolve().parent.parent

# A writer in its own process: waits for the start file, then stores pages `first`..`last` of one
# document, one transaction each, printing each page number once it is committed.
WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from exaone_cli.store import PageKey, PageStore
    path, start, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[5]
    first, last = int(sys.argv[3]), int(sys.argv[4])
    while not start.exists():
        time.sleep(0.001)
    with PageStore.open(path) as store:
        for page in range(first, last + 1):
            key = PageKey.of("doc", page, "model", {"dpi": 200})
            store.put(key, {"page": page, "text": f"page {page} " + "가" * 500, "by": name}, "doc.pdf")
            print(page, flush=True)
    """
)


def writer(path: Path, start: Path, first: int, last: int, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(start), str(first), str(last), name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def rows(path: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return db.execute("SELECT key, page, record FROM pages ORDER BY page").fetchall()


def test_a_page_is_stored_once_under_everything_that_decided_it(tmp_path: Path) -> None:
    with PageStore.open(tmp_path / "pages.sqlite3") as store:
        key = PageKey.of("abc", 3, "model", {"dpi": 200, "model": "m"})
        store.put(key, {"text": "first"}, "a.pdf")
        store.put(PageKey.of("abc", 3, "model", {"model": "m", "dpi": 200}), {"text": "again"}, "b.pdf")  # same key
        other = PageKey.of("abc", 3, "model", {"dpi": 300, "model": "m"})
        assert store.get_many([key, other]) == {key: {"text": "again"}}
        store.put(other, {"text": "at 300 DPI"}, "a.pdf")
        assert store.get_many([key, other]) == {key: {"text": "again"}, other: {"text": "at 300 DPI"}}
        info = store.info()
    assert info.pages == 2 and [(d.sha256, d.pages) for d in info.documents] == [("abc", 2)]


def test_two_processes_writing_at_once_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    path, start = tmp_path / "pages.sqlite3", tmp_path / "go"
    # Both create the file at the same moment, then write overlapping pages as fast as they can.
    procs = [writer(path, start, 1, 1500, "a"), writer(path, start, 751, 2250, "b")]
    start.touch()
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (stdout, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
        assert len(stdout.split()) == 1500  # every page committed, none refused as "database is locked"
    stored = rows(path)
    assert [page for _, page, _ in stored] == list(range(1, 2251))  # each page exactly once
    assert all(json.loads(record)["text"].startswith(f"page {page} ") for _, page, record in stored)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_killed_writer_keeps_every_page_it_committed(tmp_path: Path) -> None:
    path, start = tmp_path / "pages.sqlite3", tmp_path / "go"
    start.touch()
    proc = writer(path, start, 1, 100_000, "killed")
    assert proc.stdout is not None
    committed = [int(proc.stdout.readline()) for _ in range(200)]
    proc.send_signal(signal.SIGKILL)  # no cleanup at all, possibly in the middle of a transaction
    proc.wait(timeout=30)
    stored = rows(path)
    pages = [page for _, page, _ in stored]
    assert set(committed) <= set(pages) and len(pages) == len(set(pages))
    # The next writer goes on from there: the file is whole, and the pages already in it stay once.
    again = writer(path, start, 1, max(pages) + 10, "again")
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert [page for _, page, _ in rows(path)] == list(range(1, max(pages) + 11))


def test_the_store_is_private_to_its_user(tmp_path: Path) -> None:
    path = tmp_path / "cache" / "exaone" / "pages.sqlite3"
    with PageStore.open(path) as store:
        store.put(PageKey.of("abc", 1, "model", {}), {"text": "사람의 문서"}, "a.pdf")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_dropped_and_cleared_text_leaves_the_disk(tmp_path: Path) -> None:
    path = tmp_path / "pages.sqlite3"
    secret, kept = "주민등록번호 900101-1234567", "공개된 회의록"
    with PageStore.open(path) as store:
        for page in range(1, 21):  # pages as long as real ones: SQLite keeps them in overflow pages
            store.put(PageKey.of("secret", page, "model", {}), {"text": f"{secret} {page} " * 400}, "a.pdf")
            store.put(PageKey.of("public", page, "model", {}), {"text": f"{kept} {page} " * 400}, "b.pdf")
        assert store.drop_document("secret") == 20
        files = b"".join(p.read_bytes() for p in tmp_path.iterdir())
        assert secret.encode() not in files and kept.encode() in files
        assert store.clear() == 20
    assert kept.encode() not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_a_file_that_is_not_a_store_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "pages.sqlite3"
    path.write_bytes(b"this is not a database, just bytes " * 100)
    with pytest.raises(StoreError) as caught:
        PageStore.open(path)
    assert str(path) in caught.value.message and "--no-cache" in (caught.value.hint or "")


def test_a_store_from_a_newer_exaone_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pages.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(StoreError) as caught:
        PageStore.open(path)
    assert "newer exaone" in caught.value.message


def test_a_failure_mid_run_is_one_warning_then_no_store(tmp_path: Path) -> None:
    warnings: list[str] = []
    store = PageStore.open(tmp_path / "pages.sqlite3", on_error=warnings.append)
    key = PageKey.of("abc", 1, "model", {})
    store.put(key, {"text": "kept"}, "a.pdf")
    with sqlite3.connect(tmp_path / "pages.sqlite3") as other:
        other.execute("DROP TABLE pages")  # what a broken disk or another program could leave
    store.put(key, {"text": "lost"}, "a.pdf")
    assert store.get_many([key]) == {}
    store.put(key, {"text": "lost again"}, "a.pdf")
    store.close()
    assert len(warnings) == 1 and "going on without it" in warnings[0]


def test_a_file_name_that_is_not_utf8_is_stored_and_read_back(tmp_path: Path) -> None:
    """`exaone ocr "r\xff.pdf"` died with UnicodeEncodeError when its first page was stored (the
    name arrives with a lone surrogate), losing the run's work."""
    name = os.fsdecode(b"r\xff.pdf")
    key = PageKey.of("abc", 1, "model", {"model": "m"})
    with PageStore.open(tmp_path / "pages.sqlite3") as store:
        store.put(key, {"source": name, "text": "합계 12,500원"}, name)
        assert store.get_many([key]) == {key: {"source": name, "text": "합계 12,500원"}}  # exact
        assert [d.source for d in store.info().documents] == ["r\ufffd.pdf"]  # shown, not crashed
