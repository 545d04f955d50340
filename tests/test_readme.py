"""The README as a new user reads it: every example on the shipped files runs as written, it
leads to every command's page of the manual, and every key of the JSON output is documented in
the manual (the output reference, where the README's field lists moved in 0.2.0)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from exaone_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def shipped_examples() -> list[str]:
    """Command lines in the README's code blocks that use the shipped examples/ files, each once."""
    lines = []
    for block in re.findall(r"```(?:bash|console)\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line.removeprefix("$ ")).strip()
            # --server lines need a server: tests/test_docs_examples.py runs them against its stand-in
            if "exaone " in line and "examples/" in line and "--server" not in line:
                lines.append(line)
    return list(dict.fromkeys(lines))


def test_the_readme_has_examples_on_the_shipped_files() -> None:
    assert len(shipped_examples()) >= 10


def test_the_readme_is_short_and_leads_into_the_manual() -> None:
    """Under 250 lines (issue #27), with the install line of every extra, the output reference,
    and a link to every command's page, each of which exists."""
    from exaone_cli.cli.app import COMMANDS

    assert len(README.splitlines()) <= 250
    for extra in ("local", "quant", "extract", "hwp", "mcp", "docs"):
        assert f'".[{extra}' in README or f",{extra}]" in README, extra
    assert "(docs/reference/output.md)" in README
    for name in COMMANDS:
        link = f"docs/commands/{name}.md"
        assert f"({link})" in README, link
        assert (ROOT / link).is_file(), link


@pytest.mark.parametrize("line", shipped_examples())
def test_readme_example_runs_as_written(tiny_model: Path, tmp_path: Path, line: str) -> None:
    """The line runs in a shell, in a folder holding examples/, with `exaone` on the PATH. Only two
    things differ from a user's machine: the model (EXAONE_MODEL, or the tiny checkpoint where the
    README builds one in /tmp), and limits on new and visual tokens, so the random tiny model is
    quick on a CPU."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "exaone"
    shim.write_text(
        "#!/usr/bin/env bash\n"
        'case "$1" in ocr|ask) cmd=$1; shift; set -- "$cmd" --max-new-tokens 8 --max-pixels 200704 "$@";; esac\n'
        f'exec {sys.executable} -m exaone_cli "$@"\n'
    )
    shim.chmod(0o755)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "EXAONE_MODEL": str(tiny_model),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    command = line.replace("/tmp/exaone-tiny", str(tiny_model))
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    cut = "cut short by the token limit" in proc.stderr  # a page or result: the README says to expect it
    if proc.returncode == 1 and "ask" in line:  # documented for the random tiny model's answers
        assert "(exit code 1)" in proc.stderr, proc.stderr  # an empty answer, or no \boxed{} with --final-only
    elif proc.returncode == 1 and cut and "exaone ocr" in line:  # the random model never ends a page itself
        assert "Error:" not in proc.stderr, proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert "Error:" not in proc.stderr
    assert "Traceback" not in proc.stderr
    if ">" in line or "-o " in line:  # the file it names was written
        written = (line.split(">")[-1] if ">" in line else line.split("-o ")[1]).split()[0]
        assert (tmp_path / written).stat().st_size > 0


def _keys(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict):
        found = set(value)
        for key, inner in value.items():
            if key not in ("preset", "sampling"):  # values of the model card's presets, listed in their table
                found |= _keys(inner)
        return found
    if isinstance(value, list):
        return set().union(*(_keys(item) for item in value)) if value else set()
    return set()


def test_every_json_key_is_documented(tiny_model: Path) -> None:
    receipt = str(ROOT / "examples" / "receipt.png")
    fast = ["--model", str(tiny_model), "--max-new-tokens", "4", "--max-pixels", str(160 * 28 * 28)]
    runner = CliRunner()
    outputs = [
        runner.invoke(app, ["ocr", receipt, "--jsonl", *fast]).stdout,
        runner.invoke(app, ["ocr", receipt, "--json", *fast]).stdout,
        runner.invoke(app, ["ask", receipt, "What is shown?", "--json", *fast]).stdout,
    ]
    keys = set().union(*(_keys(json.loads(output.splitlines()[0])) for output in outputs))
    assert {"grid", "visual_tokens", "sha256", "schema_version", "documents", "note"} <= keys
    reference = (ROOT / "docs" / "reference" / "output.md").read_text(encoding="utf-8")
    not_in_the_manual = sorted(key for key in keys if f"`{key}`" not in reference)
    assert not not_in_the_manual, "docs/reference/output.md does not document these JSON keys"


def test_hints_that_point_at_the_readme_name_a_section_it_has() -> None:
    """Error hints say "see the README's Install": the section they name must still be there."""
    headings = set(re.findall(r"^## (.+)$", README, flags=re.M))
    named = set()
    for module in (ROOT / "exaone_cli").rglob("*.py"):
        named |= set(re.findall(r"see the README's ([A-Z][\w ]*?)\)", module.read_text(encoding="utf-8")))
    assert named, "no hint names a README section any more: drop this test"
    assert named <= headings, f"hints name README sections it lacks: {sorted(named - headings)}"


def readme_jq_filters() -> list[str]:
    """The jq programs of the code blocks (`jq -c '...'`, `jq -r .final`) of the README and the
    manual, where the README's longer examples moved (the tax invoice's is in docs/commands/extract.md)."""
    filters = []
    pages = [README, *(page.read_text(encoding="utf-8") for page in sorted((ROOT / "docs").rglob("*.md")))]
    for block in (found for text in pages for found in re.findall(r"```(?:bash|console)\n(.*?)```", text, flags=re.S)):
        for line in block.splitlines():
            for match in re.finditer(r"\bjq(?: -[a-z]+)* (?:'([^']*)'|(\.[^\s|>]*))", line):
                filters.append(match[1] if match[1] is not None else match[2])
    return list(dict.fromkeys(filters))


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is installed by scripts/test.sh")
def test_every_jq_filter_in_the_readme_and_the_manual_compiles() -> None:
    # Issue #23: `{승인번호, ...}` is no jq: Hangul keys need .["승인번호"].
    filters = readme_jq_filters()
    assert len(filters) >= 6 and any("승인번호" in f for f in filters)
    for program in filters:
        proc = subprocess.run(["jq", "-n", program], capture_output=True, text=True, timeout=30)
        assert proc.returncode != 3 and "compile error" not in proc.stderr, (program, proc.stderr)
