"""Every console example in README.md and the manual (docs/**/*.md) runs as written, or says
visibly that it cannot.

Sybil finds the blocks (```console, ```bash, ```sh, ```shell). Each one is either:

- **run**, the default: every command line in it (`$ ` lines in a console block, every line that is
  not a comment in a bash block; a trailing backslash continues a line) runs in a shell, in a
  fresh folder holding the shipped `examples/` and a few generated inputs (`scan.pdf`: three
  scanned pages, no text layer; `보고서.pdf`: three born-digital Korean pages; `영수증.jpg`), with
  `exaone` on the PATH running this tree (`python -m exaone_cli`) on the test suite's tiny
  checkpoint (EXAONE_MODEL; `/tmp/exaone-tiny` in a line means it too, unless the block builds it
  with tests/tiny_checkpoint.py), with one page store for all examples, and `--server` URLs
  (`http://gpu-box:8000/v1`, `http://localhost:8000/v1`) pointing at the fake OpenAI-compatible
  server of tests/fake_openai.py. `ask` without `--model` or `--server` of its own asks that
  server too (it answers in a second, where every `ask` on the tiny checkpoint loads it again;
  ocr and extract run on the checkpoint, whose pages the page store then serves to later
  examples). Only limits differ from a user's machine: ocr and a local ask get
  `--max-new-tokens 8 --max-pixels 200704` (and ocr `--page-retries 0`) first, so a line's own
  flags still win (`--dry-run` gets nothing: its numbers are the user's). README.md's blocks run
  in a folder holding only what a clone has (`examples/`, `tests/`), none of the generated inputs:
  a new user runs them as written. A line that says it needs no model (`no model` in its own
  comment, or in the comment lines above it) runs with none to be had: no EXAONE_MODEL, the Hub
  offline, an empty Hugging Face cache and an empty page store; it must exit 0 and print its
  product on stdout. Every other line exits 0,
  except the block's last line where `<!-- exit: N -->` sits right above the block (an `ask` cut
  short by the random model's token limit, or with no \\boxed{} for `--final-only`, may exit 1:
  documented, and said on stderr; so may `ocr` pages and `extract` results the token limit cut,
  with their warning and no error). Output lines under a `$ ` line must match what it printed
  (stdout, or stderr, or both in that order; a `...` line stands for any lines, `...` in a line
  for any text).
- **illustrative**: `<!-- illustrative: WHY -->` on the line right before the fence (real model
  output, a GPU, an install, a network). In the manual, the MkDocs hook (scripts/mkdocs_hooks.py)
  turns that marker into a labelled box, "Illustrative: WHY", so the test checks that the hook
  recognises it. README.md is read on GitHub, where a comment is invisible: until its blocks carry
  the marker, tests/docs_examples.toml classifies each of them by its first line.

A block that is neither run nor marked fails here, naming the file and line.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomllib
from fake_openai import FakeServer
from pdf_fixtures import make_scanned_pdf, make_text_pdf
from sybil import Document
from sybil.parsers.markdown import CodeBlockParser

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("console", "bash", "sh", "shell")
MARKER = re.compile(r"<!-- (?P<kind>illustrative|exit): ?(?P<value>.*?) -->")
SERVER_URLS = ("http://gpu-box:8000/v1", "http://localhost:8000/v1")
CLASSIFIED = tomllib.loads((Path(__file__).parent / "docs_examples.toml").read_text(encoding="utf-8"))


def _hooks() -> object:
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "scripts" / "mkdocs_hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


HOOKS = _hooks()


@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository root
    line: int
    language: str
    source: str
    start: int  # offset of the fence in the file
    markers: dict[str, str]

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.source.splitlines() if line.strip()), "")


def _markers(text: str, start: int) -> dict[str, str]:
    """The `<!-- kind: value -->` lines right above a fence (no blank line between)."""
    found: dict[str, str] = {}
    for line in reversed(text[:start].splitlines()[-3:]):
        match = MARKER.fullmatch(line.strip())
        if not match:
            break
        found[match["kind"]] = match["value"]
    return found


def blocks() -> Iterator[Block]:
    parsers = [CodeBlockParser(language) for language in LANGUAGES]
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for file in files:
        document = Document.parse(str(file), *parsers)
        for example in document.examples():
            language = example.region.lexemes["arguments"]
            yield Block(
                str(file.relative_to(ROOT)),
                example.line,
                language,
                example.parsed,
                example.start,
                _markers(document.text, example.start),
            )


ALL = list(blocks())


def _classification(block: Block) -> str:
    """'run' or 'illustrative: WHY'."""
    if "illustrative" in block.markers:
        return f"illustrative: {block.markers['illustrative']}"
    if block.path == "README.md" and "exit" not in block.markers:
        return CLASSIFIED["README.md"].get(block.first_line, "unclassified")
    return "run"


def test_the_manual_has_examples_of_both_kinds() -> None:
    kinds = [_classification(b).split(":")[0] for b in ALL if b.path.startswith("docs/")]
    assert kinds.count("run") >= 20, kinds
    assert kinds.count("illustrative") >= 5, kinds


@pytest.mark.parametrize("block", [b for b in ALL if _classification(b) != "run"], ids=lambda b: f"{b.path}:{b.line}")
def test_illustrative_examples_say_so(block: Block) -> None:
    kind = _classification(block)
    assert kind.startswith("illustrative: ") and len(kind) > len("illustrative: ") + 3, (
        f"{block.path}:{block.line}: this example is neither run by the tests nor marked illustrative. "
        "Make it runnable here, or put <!-- illustrative: WHY --> on the line before its fence"
        + (" (README.md: or classify its first line in tests/docs_examples.toml)" if block.path == "README.md" else "")
    )
    if block.path.startswith("docs/"):
        text = (ROOT / block.path).read_text(encoding="utf-8")
        comment = text.rfind("<!-- illustrative:", 0, block.start)
        assert HOOKS.ILLUSTRATIVE.match(text, comment), (  # type: ignore[attr-defined]
            f"{block.path}:{block.line}: the marker must sit unindented right above an unindented fence, "
            "where the MkDocs hook labels the block"
        )


def test_every_readme_classification_names_a_block_still_there() -> None:
    firsts = {b.first_line for b in ALL if b.path == "README.md"}
    stale = sorted(set(CLASSIFIED["README.md"]) - firsts)
    assert not stale, f"tests/docs_examples.toml classifies blocks README.md no longer has: {stale}"


# --- running ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    command: str
    expected: list[str]  # output lines shown under a `$ ` line (console blocks)
    no_model: bool = False  # its comment says it needs no model: it runs with none available


def _says_no_model(text: str) -> bool:
    """A comment (`# ...`, after a command or on its own line) that promises the line needs no model."""
    return "#" in text and "no model" in text[text.index("#") :]


def steps(block: Block) -> list[Step]:
    found: list[Step] = []
    continued = False  # the line before ended with a backslash
    comment = ""  # the comment lines above (bash blocks): they speak for the lines under them
    in_comment = False
    for line in block.source.splitlines():
        if continued:
            last = found[-1]
            found[-1] = Step(last.command[:-1].rstrip() + " " + line.strip(), [], last.no_model or _says_no_model(line))
        elif block.language == "console" and line.startswith("$ "):
            found.append(Step(line[2:], [], _says_no_model(line)))
        elif block.language == "console":
            if found:
                found[-1].expected.append(line)
            continue
        elif line.lstrip().startswith("#"):
            comment = (comment if in_comment else "") + line  # consecutive comment lines read as one
            in_comment = True
        elif line.strip():
            found.append(Step(line, [], _says_no_model(comment) or _says_no_model(line)))
            in_comment = False
        else:  # a blank line ends what the comment above speaks for
            comment, in_comment = "", False
        continued = bool(found) and found[-1].command.endswith("\\") and not found[-1].expected
    return found


def _matches(expected: list[str], output: str) -> bool:
    pattern = []
    for line in expected:
        if line.strip() == "...":
            pattern.append(r"(?:.*\n)*?")
        else:
            pattern.append(".*?".join(re.escape(part) for part in line.rstrip().split("...")) + r"[ \t]*\n")
    return re.fullmatch("".join(pattern), output if output.endswith("\n") else output + "\n") is not None


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated inputs every run block can use, made once."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("inputs")
    make_scanned_pdf(folder / "scan.pdf", ["제1조 목적", "제2조 위약금 3,700만원", "제3조 서명"], dpi=60)
    make_text_pdf(folder / "보고서.pdf", ["2023년 영업이익 1조 2,340억원", "2022년 영업이익 1조 1,000억원", "끝"])
    Image.open(ROOT / "examples" / "receipt.png").convert("RGB").save(folder / "영수증.jpg", quality=90)
    return folder


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One page store for the examples, on as for a user: a page one example transcribed is served
    to the next example that asks for it with the same settings (what the store is for)."""
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer() as fake:
        yield fake


@pytest.mark.parametrize("block", [b for b in ALL if _classification(b) == "run"], ids=lambda b: f"{b.path}:{b.line}")
def test_example_runs_as_written(
    block: Block, tiny_model: Path, inputs: Path, server: FakeServer, shared_store: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    if block.path == "README.md":  # what a new user has: a clone, no files of ours generated for them
        work.mkdir()
    else:
        shutil.copytree(inputs, work)
    (work / "examples").symlink_to(ROOT / "examples")
    (work / "tests").symlink_to(ROOT / "tests")
    tiny = work / "exaone-tiny"  # what `/tmp/exaone-tiny` means here; a block that builds it builds it
    if "tiny_checkpoint.py" not in block.source:
        tiny.symlink_to(tiny_model)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "exaone"
    shim.write_text(
        "#!/usr/bin/env bash\n"
        'case "$1 $*" in\n'
        '  *" --dry-run"*) ;;\n'
        '  ocr*) shift; set -- ocr --max-new-tokens 8 --max-pixels 200704 --page-retries 0 "$@";;\n'
        '  ask*" --model "*|ask*" --server "*) shift; set -- ask --max-new-tokens 8 --max-pixels 200704 "$@";;\n'
        f'  ask*) shift; set -- ask --server {server.url} "$@";;\n'
        "esac\n"
        f'exec {sys.executable} -m exaone_cli "$@"\n'
    )
    shim.chmod(0o755)
    python = bin_dir / "python"  # a script, not a link: a link would lose the virtual environment
    python.write_text(f'#!/usr/bin/env bash\nexec {sys.executable} "$@"\n')
    python.chmod(0o755)
    env = {
        **{key: value for key, value in os.environ.items() if key != "EXAONE_NO_CACHE"},
        "EXAONE_CACHE_DIR": str(shared_store),
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "EXAONE_MODEL": str(tiny_model),
        "COLUMNS": "100",
        "NO_COLOR": "1",
    }
    no_model = {  # nothing to load: no EXAONE_MODEL, an empty cache, the Hub offline, no stored pages
        **{key: value for key, value in env.items() if key != "EXAONE_MODEL"},
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "empty-hf-home"),
        "EXAONE_CACHE_DIR": str(tmp_path / "empty-store"),
    }
    block_steps = steps(block)
    for number, step in enumerate(block_steps, 1):
        expected_code = int(block.markers.get("exit", "0")) if number == len(block_steps) else 0
        command = step.command.replace("/tmp/exaone-tiny", str(tiny))
        for url in SERVER_URLS:
            command = command.replace(url, server.url)
        proc = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=work,
            env=no_model if step.no_model else env,
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
        )
        where = f"{block.path}:{block.line}: {step.command}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        # An answer cut at the random model's token limit, or with no \\boxed{} for --final-only: exit 1, said so;
        # pages and extract results the token limit cut: exit 1 with a warning, no error (issue #23).
        documented = proc.returncode == 1 and (
            ("exaone ask" in command and "(exit code 1)" in proc.stderr)
            or (
                ("exaone ocr" in command or "exaone extract" in command)
                and "cut short by the token limit" in proc.stderr
                and "Error:" not in proc.stderr
            )
        )
        if step.no_model:  # it says it needs no model, and there is none: it must not need one
            assert proc.returncode == expected_code and proc.stdout.strip(), f"needs a model after all: {where}"
        assert proc.returncode == expected_code or (expected_code == 0 and documented), where
        assert "Traceback" not in proc.stderr, where
        if step.expected:
            outputs = (proc.stdout, proc.stderr, proc.stdout + proc.stderr)
            assert any(_matches(step.expected, output) for output in outputs), where


def test_steps_and_matching() -> None:
    """The runner's own rules, on a block written for it."""
    block = Block("x.md", 1, "console", "$ exaone a \\\n  --b\nout 1\n...\nlast ... line\n$ exaone c\n", 0, {})
    assert steps(block) == [Step("exaone a --b", ["out 1", "...", "last ... line"]), Step("exaone c", [])]
    assert _matches(["out 1", "...", "last ... line"], "out 1\nx\ny\nlast of the line\n")
    assert not _matches(["out 1"], "out 2\n")
    bash = Block("x.md", 1, "bash", "# comment\nexaone a  # why\n\nexaone b \\\n  --c\n", 0, {})
    assert [s.command for s in steps(bash)] == ["exaone a  # why", "exaone b --c"]
    claims = Block(
        "x.md", 1, "bash", "# one\n# no model\nexaone a\nexaone b\n# two\nexaone c\n\nexaone d  # no model\n", 0, {}
    )
    assert [s.no_model for s in steps(claims)] == [True, True, False, True]


def test_the_command_reference_has_every_command_and_option() -> None:
    """reference/cli.md is generated at build time from the app `exaone` runs: every command,
    and every option a command's --help lists, is in it, with the command's first help line."""
    import typer

    from exaone_cli.cli.app import COMMANDS, app

    text = HOOKS.cli_reference()  # type: ignore[attr-defined]
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    for name, spec in COMMANDS.items():
        assert f"`exaone {name}`" in text
        assert f"* `{name}`: {spec.summary}".replace("'", "&#x27;") in text
        command = group.get_command(ctx, name)
        options = [opt for param in command.params for opt in param.opts if opt.startswith("--")]
        missing = [opt for opt in options if opt not in text]
        assert not missing, f"exaone {name}: {missing}"
    assert "```console\n$ exaone ocr examples/report.pdf\n" in text  # the help's examples, as a block
