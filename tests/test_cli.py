"""The Typer app itself: commands imported only when they run, --debug wherever the hint says,
usage errors in the same Error:/Hint: style as every other error, help without type noise."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_exaone
from typer.testing import CliRunner

from exaone_cli.cli import app
from exaone_cli.cli.app import COMMANDS

ROOT = Path(__file__).resolve().parent.parent
RECEIPT = ROOT / "examples" / "receipt.png"
# What a command's module brings in; `exaone --help` must load none of it.
COMMAND_WEIGHT = ("exaone_cli.cli.ocr", "exaone_cli.cli.ask", "exaone_cli.cli.doctor", "exaone_cli.api",
                  "exaone_cli.ocr.pipeline", "PIL", "pypdfium2", "openai", "torch", "transformers")  # fmt: skip


def imported_by(*args: str) -> set[str]:
    """Every module loaded once `exaone ARGS` has run, as a fresh process sees it."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['exaone', *{list(args)!r}]\n"
        "try:\n    runpy.run_module('exaone_cli', run_name='__main__')\n"
        "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
        "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(proc.stderr.split())


def test_help_imports_no_command_module() -> None:
    modules = imported_by("--help")
    assert "exaone_cli.cli.app" in modules and "typer" in modules  # the measurement itself works
    loaded = {name for name in modules for heavy in COMMAND_WEIGHT if name == heavy or name.startswith(heavy + ".")}
    assert not loaded
    # A command's own help loads that command, and only that one.
    ocr_help = imported_by("ocr", "--help")
    assert "exaone_cli.cli.ocr" in ocr_help and "exaone_cli.cli.ask" not in ocr_help


def test_help_lists_every_command_with_the_first_line_of_its_help() -> None:
    for name, spec in COMMANDS.items():
        module = importlib.import_module(f"exaone_cli.cli.{spec.module}")
        assert getattr(module, spec.help).splitlines()[0] == spec.summary, name
        assert callable(getattr(module, spec.function))
    proc = run_exaone("--help", env={"COLUMNS": "200"})
    assert proc.returncode == 0
    for name, spec in COMMANDS.items():
        assert f"{name}  " in proc.stdout and spec.summary in proc.stdout


@pytest.fixture()
def failing_dry_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fault where no typed error catches it, to see the "unexpected" path."""
    import exaone_cli.cli.ocr

    def boom(settings: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(exaone_cli.cli.ocr, "dry_run", boom)
    # --debug sets EXAONE_DEBUG in this process: recorded here, so it is put back after the test.
    monkeypatch.setenv("EXAONE_DEBUG", "")


@pytest.mark.parametrize("where", ["after the command", "before the command"])
def test_debug_works_where_the_hint_says(failing_dry_run: None, where: str) -> None:
    args = ["ocr", str(RECEIPT), "--dry-run"]
    args = [*args, "--debug"] if where == "after the command" else ["--debug", *args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" in result.stderr and "Error: unexpected RuntimeError: boom" in result.stderr
    assert "run again with --debug" not in result.stderr  # it is on already


def test_without_debug_one_line_and_the_hint(failing_dry_run: None) -> None:
    result = CliRunner().invoke(app, ["ocr", str(RECEIPT), "--dry-run"])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "Error: unexpected RuntimeError: boom",
        "Hint: run again with --debug for the traceback",
    ]


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["ocr", "x.pdf", "--bogus"], "No such option: --bogus", "see `exaone ocr --help`"),
        (["ocr", "x.pdf", "--batch-size", "0"], "Invalid value for '--batch-size' / '-b'", "see `exaone ocr --help`"),
        (["nosuch"], "No such command 'nosuch'", "see `exaone --help`"),
        (["ask", "--json"], "Missing argument", "see `exaone ask --help`"),
    ],
)
def test_usage_errors_are_one_error_line_and_a_hint(args: list[str], message: str, hint: str) -> None:
    proc = run_exaone(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[0].startswith(f"Error: {message}"), proc.stderr
    assert lines[1] == f"Hint: {hint}" and len(lines) == 2
    assert "╭" not in proc.stderr  # no boxes: the same style as every other error


HELP_PAGES = [[], *([name] for name in COMMANDS), ["cache", "info"], ["cache", "drop"], ["cache", "clear"]]


@pytest.mark.parametrize("columns", ["80", "120"])
def test_every_help_page_reads_whole_at_terminal_widths(columns: str) -> None:
    """No Typer type labels (`<str>`, `<int range>`, `<bool>`, `<list[str]>`): options name their
    value in words; no option name cut to `…`; no example broken over two lines."""
    for command in HELP_PAGES:
        proc = run_exaone(*command, "--help", env={"COLUMNS": columns})
        page = " ".join(["exaone", *command, "--help"])
        assert proc.returncode == 0, page
        assert not re.findall(r"<[a-z][a-z \[\]]*>", proc.stdout), page
        assert "…" not in proc.stdout, page
        examples = proc.stdout.split("Examples:")[1].split("╭")[0] if "Examples:" in proc.stdout else ""
        for line in examples.splitlines():
            assert not line.strip() or re.match(r"   (exaone|cat|claude) ", line), f"{page}: {line.strip()!r} wrapped"


def test_help_has_usage_lines_people_can_read() -> None:
    env = {"COLUMNS": "200"}
    ocr, ask, top = run_exaone("ocr", "--help", env=env), run_exaone("ask", "--help", env=env), run_exaone("--help")
    assert "Usage: exaone ocr [OPTIONS] FILE..." in ocr.stdout
    assert "Usage: exaone ask [OPTIONS] [IMAGE|PDF]... QUESTION" in ask.stdout
    for proc in (ocr, ask, top):
        assert proc.returncode == 0
        for noise in ("<bool>", "<list[str]>", "{FILE", "{[IMAGE"):
            assert noise not in proc.stdout
    for name in COMMANDS:  # every command takes --debug, where the hint says to put it
        assert "--debug" in run_exaone(name, "--help", env=env).stdout, name


@pytest.mark.parametrize("args", [["--help"], ["ocr", "--help"], ["doctor"], ["cache", "info"]])
def test_a_closed_stdout_is_exit_code_141_for_rich_views_too(args: list[str], tmp_path: Path) -> None:
    """`exaone doctor | head -1`: rich's own broken-pipe handler exits with 1 ("some inputs
    failed"); exaone says 141 for a reader that went away, whichever view was printing."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader is gone before the first byte
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "exaone_cli", *args], stdout=writer, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, env=env, text=True, timeout=120)  # fmt: skip
    os.close(writer)
    assert proc.returncode == 141, proc.stderr
    for noise in ("Error", "BrokenPipe", "Exception ignored", "Traceback"):
        assert noise not in proc.stderr
