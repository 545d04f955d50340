"""Flag and input messages name the right flag and say each thing once: conflicting format flags
and an empty --pages are usage errors, --pages without a document is refused, a file given as
--model is called a file, and empty input is said plainly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exaone_cli.cli import app


def run(*args: str, stdin: bytes | None = None) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stderr.splitlines()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-pixels", "-1"], "Error: --max-pixels must be positive (it is -1)"),
        (["--min-pixels", "0"], "Error: --min-pixels must be positive (it is 0)"),
        (["--min-pixels", "5000", "--max-pixels", "4000"],
         "Error: --min-pixels (5,000) must be at most --max-pixels (4,000)"),
    ],
)  # fmt: skip
def test_pixel_budget_errors_name_the_flag_at_fault(receipt_png: Path, flags: list[str], message: str) -> None:
    code, lines = run("ocr", str(receipt_png), "--dry-run", *flags)
    assert code == 2 and lines[0] == message


@pytest.mark.parametrize(
    ("args", "conflict", "shorthands"),
    [
        (["ocr", "IMAGE", "--json", "--jsonl", "--dry-run"], "json and jsonl", "--json, --jsonl"),
        (["ocr", "IMAGE", "--format", "text", "--jsonl", "--dry-run"], "jsonl and text", "--json, --jsonl"),
        (["ask", "IMAGE", "합계는?", "--format", "text", "--json"], "json and text", "--json"),
    ],
)
def test_conflicting_format_flags_are_a_usage_error(
    receipt_png: Path, args: list[str], conflict: str, shorthands: str
) -> None:
    code, lines = run(*[str(receipt_png) if a == "IMAGE" else a for a in args])
    assert code == 2
    assert lines == [f"Error: conflicting output formats: {conflict}", f"Hint: give one: --format NAME or {shorthands}"]


def test_the_same_format_twice_is_no_conflict(receipt_png: Path) -> None:
    result = CliRunner().invoke(app, ["ocr", str(receipt_png), "--json", "--format", "json", "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["pages"][0]["source"] == str(receipt_png)


def test_an_empty_page_range_is_a_usage_error(receipt_png: Path) -> None:
    code, lines = run("ocr", str(receipt_png), "--pages", "", "--dry-run")
    assert code == 2 and lines[0] == "Error: page range is empty"


def test_pages_without_a_document_is_refused() -> None:
    code, lines = run("ask", "요약해줘", "--pages", "2")
    assert code == 2 and lines[0] == "Error: --pages needs a document, and no input was given"


def test_a_file_given_as_model_is_called_a_file(receipt_png: Path) -> None:
    code, lines = run("ocr", str(receipt_png), "--model", str(receipt_png))
    assert code == 3
    assert lines == [
        f"Error: {receipt_png}: a file, not a checkpoint folder",
        "Hint: pass the folder that holds config.json and the weights",
    ]


def test_empty_standard_input_is_said_plainly() -> None:
    result = CliRunner().invoke(app, ["ocr", "-", "--dry-run", "--json"], input=b"")
    (row,) = json.loads(result.stdout)["pages"]
    assert (row["error"], row["error_hint"]) == (
        "<stdin>: standard input was empty",
        "pipe a PDF or image in: exaone ... - < scan.pdf",
    )


def test_an_empty_file_is_said_once(tmp_path: Path) -> None:
    empty = tmp_path / "blank.png"
    empty.write_bytes(b"")
    result = CliRunner().invoke(app, ["ocr", str(empty), "--dry-run", "--json"])
    (row,) = json.loads(result.stdout)["pages"]
    assert (row["error"], row["error_hint"]) == (f"{empty}: empty file", "check that it was saved completely")


@pytest.mark.parametrize("command", ["ocr", "ask", "extract"])
def test_a_command_with_no_argument_is_one_error_and_hint_not_the_help(command: str) -> None:
    # Issue #23: `exaone ocr` alone printed the whole help to stdout.
    result = CliRunner().invoke(app, [command])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: ") and lines[1].startswith("Hint: ")


def test_a_file_whose_name_starts_with_a_dash_is_told_how_to_name_it(tmp_path: Path) -> None:
    """`exaone ocr -weird.png` was "No such option: -w" and "see --help", which never says that a
    file's name can be given as ./-weird.png or after --."""
    import subprocess
    import sys

    (tmp_path / "-weird.png").write_bytes(b"")
    run = subprocess.run(
        [sys.executable, "-m", "exaone_cli", "ocr", "-weird.png"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.splitlines() == [
        "Error: No such option: -w",
        "Hint: -weird.png is a file: write it as ./-weird.png, or put -- before it",
    ]
    (tmp_path / "-weird.png").unlink()  # no such file: the usual hint
    run = subprocess.run(
        [sys.executable, "-m", "exaone_cli", "ocr", "-weird.png"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.stderr.splitlines()[-1] == "Hint: see `exaone ocr --help`"
