"""The package as users get it: console script, light start-up, prompts inside the wheel."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import run_exaone

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "transformers", "accelerate", "bitsandbytes", "torchvision", "llguidance")


def test_help_imports_no_torch_or_transformers() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "exaone_cli", "--help"], capture_output=True, text=True, check=True
    )
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "exaone_cli" in imported and "typer" in imported  # the measurement itself works
    assert not imported & set(HEAVY)


def test_ask_help_lists_examples_and_exit_codes() -> None:
    proc = run_exaone("ask", "--help")
    assert proc.returncode == 0
    assert "exaone ask receipt.jpg" in proc.stdout
    assert "130 interrupted" in proc.stdout
    for flag in ("--think", "--no-think", "--preset", "--temperature", "--json", "--final-only", "--no-boxed-hint"):
        assert flag in proc.stdout


def test_version() -> None:
    proc = run_exaone("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("exaone ")


def test_wheel_carries_the_prompt_templates(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("exaone_cli-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for template in sorted((ROOT / "prompts").glob("*.txt")):
        assert f"exaone_cli/prompts/{template.name}" in names
    for schema in ("receipt", "tax-invoice", "business-card", "business-registration", "contract"):
        assert f"exaone_cli/extract/templates/{schema}.json" in names  # exaone extract --template
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "exaone = exaone_cli.cli:main" in entry_points


def _closure(requirements: list[str]) -> set[str]:
    """Every distribution `pip install` brings in for these requirements (no extras), here."""
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        requirement = Requirement(todo.pop())
        name = canonicalize_name(requirement.name)
        if name in seen or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        seen.add(name)
        with contextlib.suppress(PackageNotFoundError):
            todo += requires(name) or []
    return seen


def test_server_mode_needs_only_the_core_dependencies() -> None:
    """`pip install .` (the README's --server-only line) must bring everything a --server run imports."""
    from importlib.metadata import packages_distributions

    from fake_openai import FakeServer
    from packaging.utils import canonicalize_name

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+, as CI runs
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    allowed = _closure(core) | {"exaone-cli"}
    image = ROOT / "examples" / "receipt.png"
    with FakeServer() as server:
        code = (
            "import runpy, sys\n"
            f"sys.argv = ['exaone', 'ocr', {str(image)!r}, '--server', {server.url!r}, '--jsonl', '-q']\n"
            "try:\n    runpy.run_module('exaone_cli', run_name='__main__')\n"
            "except SystemExit as exit:\n    assert exit.code == 0, exit.code\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert '"page": 1' in proc.stdout  # it really ran against the server
    owners = packages_distributions()
    startup = subprocess.run(  # what the interpreter loads before any of our code (site hooks, ...)
        [sys.executable, "-c", "import sys; print('\\n'.join(sys.modules))"], capture_output=True, text=True, check=True
    ).stdout.split()
    modules = {line.split(".")[0] for line in proc.stderr.split()} - {m.split(".")[0] for m in startup}
    needed = {canonicalize_name(dist) for module in modules for dist in owners.get(module, [])}
    assert "openai" in needed and not (needed - allowed), needed - allowed
