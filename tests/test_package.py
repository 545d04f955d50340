"""The package as users get it: console script, light start-up, prompts inside the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

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
