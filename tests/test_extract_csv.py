"""`exaone extract --csv` for people and for programs (#22 item 8).

The byte-order mark Excel needs goes into files only (a program reading a pipe saw `\\ufeffsource`
as the first column's name); `>>` onto a file that has rows does not repeat the header; the
formula guard changes only cells a spreadsheet would run, never a phone number or an amount,
and can be turned off. Files and pipes are real (a subprocess writing to them)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest
from test_extract import FIELDS, JsonServer, run

from exaone_cli.extract.flatten import looks_like_formula, spreadsheet_safe

BOM = "\ufeff".encode()
HEADER = ["source", "pages", "valid", "errors", "상호", "합계금액", "거래일자"]
ROW = {"상호": "카페", "합계금액": 4500, "거래일자": None}


def extract_csv(image: Path, server: JsonServer, stdout: int | IO[bytes], *extra: str) -> bytes:
    """`exaone extract IMAGE --csv` as a real process, its stdout a pipe or a file."""
    done = subprocess.run(
        [sys.executable, "-m", "exaone_cli", "extract", str(image), "--fields", FIELDS, "--server", server.url,
         "--csv", *extra],
        stdout=stdout, stderr=subprocess.PIPE, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "EXAONE_NO_CACHE": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout or b""


def test_a_pipe_gets_no_byte_order_mark(receipt_png: Path) -> None:
    with JsonServer(contents=[json.dumps(ROW)]) as server:
        out = extract_csv(receipt_png, server, subprocess.PIPE)
    assert not out.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8"), newline="")))  # as csvkit or Python read it
    assert list(rows[0]) == HEADER and rows[0]["source"] == str(receipt_png) and rows[0]["상호"] == "카페"


def test_a_new_file_gets_the_mark_and_appending_does_not_repeat_the_header(receipt_png: Path, tmp_path: Path) -> None:
    target = tmp_path / "합계.csv"
    with JsonServer(contents=[json.dumps(ROW)]) as server:
        with target.open("wb") as handle:  # exaone extract ... --csv > 합계.csv
            extract_csv(receipt_png, server, handle)
        with target.open("ab") as handle:  # exaone extract ... --csv >> 합계.csv
            extract_csv(receipt_png, server, handle)
        extract_csv(receipt_png, server, subprocess.DEVNULL, "-o", str(tmp_path / "out.csv"))
    raw = target.read_bytes()
    assert raw.startswith(BOM) and raw.count(BOM) == 1
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER and len(rows) == 3
    assert rows[1] == rows[2] == [str(receipt_png), "1", "true", "", "카페", "4500", ""]
    assert (tmp_path / "out.csv").read_bytes().startswith(BOM + b"source,")  # -o: a file for people


def test_appending_to_an_empty_file_writes_the_header(receipt_png: Path, tmp_path: Path) -> None:
    target = tmp_path / "empty.csv"
    target.touch()
    with JsonServer(contents=[json.dumps(ROW)]) as server, target.open("ab") as handle:
        extract_csv(receipt_png, server, handle)
    assert target.read_bytes().startswith(BOM + b"source,")


DATA = ["+82 10-1234-5678", "+1 (555) 010-2030", "+821012345678", "-15,000", "-4500", "+3.5", "-0.25", "-12%",
        "카페 =", "", "1+1"]  # fmt: skip
FORMULAS = ['=HYPERLINK("http://evil","x")', "+1+1", "-2+3", "-cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1",
            "-", "+1-1", "-15,000원", "+82 10-1234-5678 ext. 2", "-1.5e3"]  # fmt: skip


@pytest.mark.parametrize("text", DATA)
def test_numbers_and_phone_numbers_are_left_alone(text: str) -> None:
    assert not looks_like_formula(text) and spreadsheet_safe(text) == text


@pytest.mark.parametrize("text", FORMULAS)
def test_what_a_spreadsheet_could_run_gets_a_quote(text: str) -> None:
    assert looks_like_formula(text) and spreadsheet_safe(text) == "'" + text


def test_the_guard_is_off_with_a_flag_or_the_environment(receipt_png: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    formula = "=1+1"
    value = {"상호": formula, "합계금액": -4500, "거래일자": None}
    with JsonServer(contents=[json.dumps(value)]) as server:
        guarded = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--csv")
        flag = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--csv", "--no-formula-guard")
        monkeypatch.setenv("EXAONE_FORMULA_GUARD", "0")
        env = run(str(receipt_png), "--fields", FIELDS, "--server", server.url, "--csv")
    cells = [list(csv.reader(io.StringIO(out, newline="")))[1][4:6] for _, out, _ in (guarded, flag, env)]
    assert cells == [["'=1+1", "-4500"], ["=1+1", "-4500"], ["=1+1", "-4500"]]
