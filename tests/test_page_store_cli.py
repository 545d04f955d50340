"""`exaone ocr` with the page store, and `exaone cache`: re-runs served from the store (no model, no
torch), interrupted and concurrent runs, the switches that turn it off, and what a user can see
and remove. Real processes, a real SQLite file, the fake server or the tiny checkpoint."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import one_line, run_exaone
from fake_openai import FakeServer
from pdf_fixtures import SAMPLE_PAGES, make_scanned_pdf, make_text_pdf

FAST = ["--dpi", "50", "--max-pixels", str(160 * 28 * 28), "--max-new-tokens", "8", "--temperature", "0"]


@pytest.fixture()
def pdf(tmp_path: Path) -> Path:
    return make_text_pdf(tmp_path / "문서 a.pdf", [f"페이지 {i}" for i in range(1, 7)])


def ocr_server(server: FakeServer, *args: str, env: dict[str, str] | None = None) -> tuple[int, list[dict], str]:
    proc = run_exaone("ocr", "--server", server.url, "--jsonl", "--dpi", "40", *args, env=env)  # args win
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def stored_pages(store: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return db.execute("SELECT source, page FROM pages ORDER BY source, page").fetchall()


def test_the_same_ocr_command_twice_does_no_model_work_the_second_time(pdf: Path, page_store: Path) -> None:
    with FakeServer() as server:
        code, first, _ = ocr_server(server, str(pdf))
        assert code == 0 and len(server.requests) == 6
        code, second, stderr = ocr_server(server, str(pdf))
    assert code == 0 and len(server.requests) == 6  # not one more request
    assert [r["text"] for r in second] == [r["text"] for r in first]
    assert [r["cached"] for r in first] == [False] * 6 and [r["cached"] for r in second] == [True] * 6
    assert "6 from the page store" in stderr
    # Other settings are other text: a new DPI is new work.
    with FakeServer() as server:
        code, _, _ = ocr_server(server, str(pdf), "--dpi", "41")
    assert code == 0 and len(server.requests) == 6


def test_a_stored_run_loads_no_model_and_imports_no_torch(tiny_model: Path, tmp_path: Path, page_store: Path) -> None:
    pdf = make_scanned_pdf(tmp_path / "scan.pdf", SAMPLE_PAGES[:2])
    # A server serving the same checkpoint fills the store (the tiny random model itself never ends
    # a page well, and only pages that end well are stored).
    with FakeServer(models=[str(tiny_model)]) as server:
        first = run_exaone("ocr", str(pdf), *FAST, "--jsonl", "--server", server.url)
    assert first.returncode == 0, first.stderr
    args = ["ocr", str(pdf), "--model", str(tiny_model), *FAST, "--jsonl"]
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "exaone_cli", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "exaone_cli" in imported and not imported & {"torch", "transformers", "accelerate"}
    assert "no model needed" in proc.stderr and "2 from the page store" in proc.stderr
    before = [json.loads(line) for line in first.stdout.splitlines()]
    after = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [(r["page"], r["text"], r["tokens"]) for r in after] == [(r["page"], r["text"], r["tokens"]) for r in before]
    assert all(r["cached"] for r in after)


def test_no_cache_and_the_environment_switch_the_store_off(pdf: Path, page_store: Path) -> None:
    with FakeServer() as server:
        assert ocr_server(server, str(pdf), "--pages", "1", "--no-cache")[0] == 0
        assert not page_store.exists()  # nothing was written, not even an empty store
        assert ocr_server(server, str(pdf), "--pages", "1", env={"EXAONE_NO_CACHE": "1"})[0] == 0
        assert not page_store.exists()
        assert ocr_server(server, str(pdf), "--pages", "1")[0] == 0
        assert ocr_server(server, str(pdf), "--pages", "1", "--no-cache")[0] == 0  # off: asks again
    assert len(server.requests) == 4
    assert stored_pages(page_store) == [(str(pdf), 1)]


def test_errors_are_not_stored_and_are_tried_again(pdf: Path, page_store: Path) -> None:
    with FakeServer(faults=["500"]) as server:
        once = ("--retries", "0", "--page-retries", "0", "--text-layer", "off", "--concurrency", "1")
        code, lines, _ = ocr_server(server, str(pdf), *once)
        assert code == 1 and [r["error"] is not None for r in lines] == [True] + [False] * 5
        code, lines, _ = ocr_server(server, str(pdf))
    assert code == 0 and [r["cached"] for r in lines] == [False] + [True] * 5
    assert len(server.requests) == 7
    assert [page for _, page in stored_pages(page_store)] == [1, 2, 3, 4, 5, 6]


def test_a_page_that_failed_its_tries_is_tried_again_only_by_a_run_that_tries_harder(
    tiny_model: Path, tmp_path: Path, page_store: Path
) -> None:
    pdf = make_scanned_pdf(tmp_path / "scan.pdf", SAMPLE_PAGES[:1])
    args = ["ocr", str(pdf), "--model", str(tiny_model), *FAST, "--jsonl", "--presence-penalty", "0"]
    args += ["--max-new-tokens", "400", "--text-layer", "off"]  # the page loops (tests/test_ocr.py)

    def record(*more: str) -> dict:
        proc = run_exaone(*args, *more)
        assert proc.returncode == 0, proc.stderr
        (line,) = proc.stdout.splitlines()
        return json.loads(line)

    first = record("--page-retries", "0")
    assert (first["finish_reason"], first["attempts"], first["cached"]) == ("repetition", 1, False)
    assert stored_pages(page_store) == [(str(pdf), 1)]  # kept as it is, marked so
    again = record("--page-retries", "0")  # the same command: trying the same way again is waste
    assert again["cached"] is True and again["text"] == first["text"]
    # another chance: the model tries again, hotter, with a seed drawn from the file's bytes (the same
    # every run: tests/pdf_fixtures.py), and this page loops again; a looping page is exit 0
    harder = record("--page-retries", "1")
    assert harder["cached"] is False and harder["attempts"] == 2 and harder["finish_reason"] == "repetition"


def test_an_interrupted_run_keeps_its_pages_and_the_rerun_does_only_the_rest(tmp_path: Path, page_store: Path) -> None:
    pdf = make_text_pdf(tmp_path / "long.pdf", [f"페이지 {i}" for i in range(1, 13)])
    with FakeServer(delay=lambda body: 0.3) as server:
        proc = subprocess.Popen(
            [sys.executable, "-m", "exaone_cli", "ocr", str(pdf), "--server", server.url, "--jsonl", "--dpi", "40",
             "--concurrency", "1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None
        seen = [json.loads(proc.stdout.readline())["page"] for _ in range(4)]
        proc.send_signal(signal.SIGKILL)  # the harshest stop: no handler runs
        proc.wait(timeout=60)
        asked = len(server.requests)
        code, lines, _ = ocr_server(server, str(pdf), "--concurrency", "1")
    assert seen == [1, 2, 3, 4] and code == 0
    kept = [page for _, page in stored_pages(page_store)]
    assert kept == list(range(1, 13))  # every page once: none lost, none twice
    assert [r["page"] for r in lines] == list(range(1, 13))
    done_before = [r["page"] for r in lines if r["cached"]]
    assert set(seen) <= set(done_before)
    assert len(server.requests) - asked == 12 - len(done_before)  # the rerun asked only for the rest


def test_two_ocr_runs_at_once_share_the_store(tmp_path: Path, page_store: Path) -> None:
    one = make_text_pdf(tmp_path / "one.pdf", [f"하나 {i}" for i in range(1, 9)])
    two = make_text_pdf(tmp_path / "two.pdf", [f"둘 {i}" for i in range(1, 9)])
    with FakeServer(delay=lambda body: 0.02) as server:
        command = [sys.executable, "-m", "exaone_cli", "ocr", "--server", server.url, "--jsonl", "--dpi", "40"]
        procs = [
            subprocess.Popen([*command, *files], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for files in ([str(one), str(two)], [str(two), str(one)])
        ]
        results = [proc.communicate(timeout=300) for proc in procs]
        for proc, (stdout, stderr) in zip(procs, results, strict=True):
            assert proc.returncode == 0, stderr
            assert [json.loads(line)["error"] for line in stdout.splitlines()] == [None] * 16
        before = len(server.requests)
        code, lines, _ = ocr_server(server, str(one), str(two))
    assert code == 0 and len(server.requests) == before and all(r["cached"] for r in lines)
    assert len(stored_pages(page_store)) == 16


def test_cache_info_drop_and_clear(tmp_path: Path, pdf: Path, page_store: Path) -> None:
    other = make_text_pdf(tmp_path / "other.pdf", ["다른 문서"])
    with FakeServer() as server:
        assert ocr_server(server, str(pdf), str(other))[0] == 0
        info = json.loads(run_exaone("cache", "info", "--json").stdout)
        assert info["path"] == str(page_store) and info["pages"] == 7 and info["enabled"] is True
        assert info["schema_version"] == 1  # like every JSON object exaone prints
        assert sorted((d["source"], d["pages"]) for d in info["documents"]) == sorted([(str(pdf), 6), (str(other), 1)])
        human = run_exaone("cache", "info")
        assert str(page_store) in human.stdout and "7 page(s)" in human.stdout and "other.pdf" in human.stdout
        dropped = run_exaone("cache", "drop", str(pdf))
        assert dropped.returncode == 0 and "dropped 6 page(s)" in one_line(dropped.stderr)
        assert ocr_server(server, str(pdf), str(other))[0] == 0
        assert len(server.requests) == 7 + 6  # the dropped file was transcribed again, the other was not
        digest = next(d["sha256"] for d in info["documents"] if d["source"] == str(other))
        assert "dropped 1 page(s)" in one_line(run_exaone("cache", "drop", digest[:12]).stderr)  # a file gone from disk
        cleared = run_exaone("cache", "clear")
    assert cleared.returncode == 0 and "Cleared 6 page(s)" in one_line(cleared.stderr)
    assert json.loads(run_exaone("cache", "info", "--json").stdout)["pages"] == 0
    missing = run_exaone("cache", "drop", str(tmp_path / "nope.pdf"))
    assert missing.returncode == 1 and "no such file" in one_line(missing.stderr) and "Traceback" not in missing.stderr


def test_cache_info_json_carries_the_schema_version_before_anything_is_stored(page_store: Path) -> None:
    """docs/reference/output.md: every JSON object exaone prints carries `schema_version`;
    `exaone cache info --json` had none."""
    assert not page_store.exists()
    info = run_exaone("cache", "info", "--json")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout) == {
        "schema_version": 1, "path": str(page_store), "enabled": True, "file_bytes": 0, "pages": 0,
        "by_text_source": {}, "documents": [],
    }  # fmt: skip


def test_a_broken_store_is_a_warning_and_the_run_goes_on(pdf: Path, page_store: Path) -> None:
    page_store.parent.mkdir(parents=True, exist_ok=True)
    page_store.write_bytes(b"not a database " * 200)
    with FakeServer() as server:
        code, lines, stderr = ocr_server(server, str(pdf))
    assert code == 0 and [r["error"] for r in lines] == [None] * 6
    assert "Warning:" in stderr and str(page_store) in stderr and "Traceback" not in stderr


def test_cache_clear_removes_a_store_file_that_is_not_a_database(page_store: Path) -> None:
    page_store.parent.mkdir(parents=True, exist_ok=True)
    page_store.write_bytes(b"not a database " * 200)
    cleared = run_exaone("cache", "clear")
    assert cleared.returncode == 0 and "Traceback" not in cleared.stderr
    assert f"Removed {page_store}: it was not a usable page store" in one_line(cleared.stderr)
    assert not page_store.exists()
    assert json.loads(run_exaone("cache", "info", "--json").stdout)["pages"] == 0


def test_a_cache_folder_that_is_a_file_is_said(tmp_path: Path) -> None:
    a_file = tmp_path / "cache"
    a_file.write_text("x", encoding="utf-8")
    info = run_exaone("cache", "info", env={"EXAONE_CACHE_DIR": str(a_file)})
    assert info.returncode == 0 and "Warning:" in info.stderr
    assert f"{a_file} is a file, not a folder" in info.stderr and "EXAONE_CACHE_DIR" in info.stderr


@pytest.mark.parametrize(("value", "enabled", "warned"), [("banana", True, True), ("0", True, False),
                                                          ("no", True, False), ("false", True, False),
                                                          ("yes", False, False), ("1", False, False)])  # fmt: skip
def test_an_unknown_no_cache_value_is_warned_about(page_store: Path, value: str, enabled: bool, warned: bool) -> None:
    info = run_exaone("cache", "info", "--json", env={"EXAONE_NO_CACHE": value})
    assert json.loads(info.stdout)["enabled"] is enabled
    assert ("EXAONE_NO_CACHE='banana' is not understood" in info.stderr) is warned
    assert ("Warning:" in info.stderr) is warned


def test_drop_of_a_short_hash_says_both_readings(page_store: Path) -> None:
    page_store.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(page_store):
        pass  # an empty store: the command reaches the lookup
    dropped = run_exaone("cache", "drop", "3b8b")
    assert dropped.returncode == 1 and "no such file, and not a content hash (those are 8 to 64 hex digits)" in (
        dropped.stderr
    )


def test_a_stored_page_carries_the_text_layer_verdict_of_the_run_it_serves(pdf: Path, page_store: Path) -> None:
    with FakeServer() as server:
        _, off, _ = ocr_server(server, str(pdf), "--pages", "1-3", "--text-layer", "off")
        _, fresh, _ = ocr_server(server, str(pdf), "--pages", "1-3", "--text-layer", "fallback", "--no-cache")
        _, served, stderr = ocr_server(server, str(pdf), "--pages", "1-3", "--text-layer", "fallback")
    assert [r["text_layer"] for r in off] == [None] * 3 and all(r["cached"] for r in served), stderr
    assert [r["text_layer"] for r in served] == [r["text_layer"] for r in fresh] != [None] * 3


def _clear_on_a_terminal(answer: bytes, *args: str) -> str:
    """`exaone cache clear ARGS` with stdin and stderr on a pseudo-terminal, `answer` typed once it asks
    (or nothing, when it does not); what the terminal showed."""
    import pty
    import select
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "exaone_cli", "cache", "clear", *args],
        stdin=slave, stdout=subprocess.DEVNULL, stderr=slave, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    os.close(slave)
    shown, deadline, typed = b"", time.monotonic() + 120, False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not typed and b"[y/N]" in shown:
                os.write(master, answer)
                typed = True
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    return shown.decode(errors="replace")


def test_cache_clear_asks_on_a_terminal_and_yes_or_a_script_does_not(pdf: Path, page_store: Path) -> None:
    # Issue #23: `cache clear` deleted hours of GPU work without asking.
    with FakeServer() as server:
        assert ocr_server(server, str(pdf))[0] == 0
    declined = _clear_on_a_terminal(b"n\n")
    assert "Forget 6 stored page(s)" in declined and "Nothing was cleared." in declined
    assert json.loads(run_exaone("cache", "info", "--json").stdout)["pages"] == 6
    confirmed = _clear_on_a_terminal(b"y\n")
    assert "Cleared 6 page(s)" in confirmed
    with FakeServer() as server:
        assert ocr_server(server, str(pdf))[0] == 0
    unasked = _clear_on_a_terminal(b"", "--yes")
    assert "[y/N]" not in unasked and "Cleared 6 page(s)" in unasked
