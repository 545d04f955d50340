"""The product on standard output is UTF-8 whatever the locale (#22 item 1).

On Korean Windows a redirected stdout is cp949 (Python's default there, without UTF-8 mode); one
`₩` or `—` in a page ended `exaone ocr ... > out.txt` with "unexpected UnicodeEncodeError" and
nothing written. `PYTHONIOENCODING=cp949` reproduces that stdout here, and a C locale without
coercion gives an ASCII one. Every command and format runs as a real process against the fake
server, every page holding both characters; each must exit 0 with every page on stdout, in UTF-8.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeServer
from PIL import Image

WON = "합계 ₩12,500 — 끝"  # neither ₩ (U+20A9) nor — (U+2014) is in cp949
LEGACY = {
    "cp949": {"PYTHONIOENCODING": "cp949"},
    "ascii": {"PYTHONIOENCODING": "ascii"},  # what a C locale gave before Python coerced it
    "C-locale": {"LC_ALL": "C", "LANG": "C"},
}
FORMATS = [("ocr", "text"), ("ocr", "markdown"), ("ocr", "json"), ("ocr", "jsonl"),
           ("extract", "json"), ("extract", "jsonl"), ("extract", "csv")]  # fmt: skip
# Every format under cp949; the other locales on one format of each writer (text, JSON, CSV).
CASES = [(*case, "cp949") for case in FORMATS] + [
    (command, fmt, locale) for locale in ("ascii", "C-locale")
    for command, fmt in (("ocr", "text"), ("ocr", "jsonl"), ("extract", "csv"))
]  # fmt: skip


@dataclass
class WonServer(FakeServer):
    """Every answer holds `WON` and the request's number: plain text for ocr and ask, a JSON
    object for extract (its prompt names a JSON Schema)."""

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        reply = super().answer(body)
        prompt = next(part["text"] for part in body["messages"][0]["content"] if part["type"] == "text")
        text = f"{WON} {len(self.requests)}"
        content = json.dumps({"합계": text}, ensure_ascii=False) if "JSON Schema" in prompt else text
        reply["choices"][0]["message"]["content"] = content
        return reply


@pytest.fixture()
def pages(tmp_path: Path) -> list[str]:
    names = []
    for i in range(3):
        path = tmp_path / f"p{i}.png"
        Image.new("RGB", (64, 64), "white").save(path)
        names.append(str(path))
    return names


def exaone_bytes(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    """`exaone ARGS` with stdout as raw bytes (what lands in `> out.txt`)."""
    clean = {key: value for key, value in os.environ.items() if key not in ("PYTHONIOENCODING", "PYTHONUTF8")}
    return subprocess.run(
        [sys.executable, "-m", "exaone_cli", *args],
        capture_output=True,
        timeout=120,
        env={**clean, "COLUMNS": "100", "EXAONE_NO_CACHE": "1", **env},
        stdin=subprocess.DEVNULL,
    )


def texts(fmt: str, out: str) -> list[str]:
    """The page texts (or extracted values) of an output, in order."""
    if fmt == "jsonl":
        return [json.loads(line).get("text") or json.loads(line)["data"]["합계"] for line in out.splitlines()]
    if fmt == "json":
        body = json.loads(out)
        items = body.get("documents") or body.get("results")
        if "documents" in body:
            return [page["text"] for doc in items for page in doc["pages"]]
        return [result["data"]["합계"] for result in items]
    if fmt == "csv":
        return [row["합계"] for row in csv.DictReader(io.StringIO(out.removeprefix("\ufeff"), newline=""))]
    return [line for line in out.splitlines() if line.startswith(WON)]


@pytest.mark.parametrize(("command", "fmt", "locale"), CASES)
def test_every_page_reaches_a_legacy_stdout_as_utf8(pages: list[str], command: str, fmt: str, locale: str) -> None:
    extra = ["--fields", "합계"] if command == "extract" else []
    with WonServer() as server:
        done = exaone_bytes(command, *pages, *extra, "--server", server.url, "--concurrency", "1",
                            "--format", fmt, env=LEGACY[locale])  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    out = done.stdout.decode("utf-8")  # strict: UTF-8 or this raises
    assert texts(fmt, out) == [f"{WON} {n}" for n in (1, 2, 3)]
    assert b"UnicodeEncodeError" not in done.stderr


@pytest.mark.parametrize(("fmt", "locale"), [("text", "cp949"), ("json", "cp949"), ("text", "C-locale")])
def test_ask_answers_a_legacy_stdout_in_utf8(pages: list[str], fmt: str, locale: str) -> None:
    with WonServer() as server:
        done = exaone_bytes("ask", pages[0], "합계는?", "--no-think", "--server", server.url, "--format", fmt,
                            env=LEGACY[locale])  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    out = done.stdout.decode("utf-8")
    assert (json.loads(out)["answer"] if fmt == "json" else out.strip()) == f"{WON} 1"


def test_csv_into_a_legacy_stdout_file_keeps_its_bom_and_every_row(pages: list[str], tmp_path: Path) -> None:
    """`extract --csv > 합계.csv` on Korean Windows failed on its own byte-order mark."""
    target = tmp_path / "합계.csv"
    with WonServer() as server, target.open("wb") as handle:
        done = subprocess.run(
            [sys.executable, "-m", "exaone_cli", "extract", *pages, "--fields", "합계", "--server", server.url,
             "--concurrency", "1", "--csv"],
            stdout=handle, stderr=subprocess.PIPE, timeout=120, stdin=subprocess.DEVNULL,
            env={**os.environ, "EXAONE_NO_CACHE": "1", "PYTHONIOENCODING": "cp949"},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    raw = target.read_bytes()
    assert raw.startswith("\ufeff".encode())  # a file for people: Excel reads it as UTF-8
    assert texts("csv", raw.decode("utf-8")) == [f"{WON} {n}" for n in (1, 2, 3)]


def test_chat_reads_piped_questions_in_utf8_or_the_legacy_code_page(pages: list[str]) -> None:
    """`type questions.txt | exaone chat` on Korean Windows: stdin is cp949 there, and a UTF-8
    file ended the run with UnicodeDecodeError at its first Hangul; a line `echo` wrote in cp949
    is still read as such."""
    questions = f"{WON} 얼마?\n".encode() + "둘째 질문\n".encode("cp949")
    with WonServer() as server:
        done = subprocess.run(
            [sys.executable, "-m", "exaone_cli", "chat", pages[0], "--no-think", "--fresh", "--server", server.url,
             "--jsonl"],
            input=questions, capture_output=True, timeout=120,
            env={**os.environ, "EXAONE_NO_CACHE": "1", "PYTHONIOENCODING": "cp949"},
        )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    records = [json.loads(line) for line in done.stdout.decode("utf-8").splitlines()]
    assert [record["question"] for record in records] == [f"{WON} 얼마?", "둘째 질문"]
