"""A --server-only install (`pip install .`, no torch) run without --server, and --quantize without
bitsandbytes: one line naming what is missing and the README's own install line, exit 3, before
any loading. The missing packages are made unimportable in the child process by a sitecustomize
module (a venv without torch would cost gigabytes): `sys.modules[name] = None` is what Python
itself uses to block an import, and importlib.util.find_spec then answers None, as it does when
the package was never installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOCAL = ["torch", "transformers", "accelerate", "huggingface_hub"]
BLOCKER = """import sys
for name in {names!r}:
    sys.modules[name] = None
"""


def without(tmp_path: Path, names: list[str], *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """`exaone ARGS` in a process where the packages `names` cannot be imported (and PATH is `path`)."""
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(BLOCKER.format(names=names))
    python_path = os.pathsep.join([str(shim), str(REPO), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "exaone_cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": python_path, "COLUMNS": "200", "PATH": path or os.environ["PATH"]},
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture()
def image(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "page.png"
    Image.new("RGB", (64, 48), "white").save(path)
    return path


def test_the_readme_install_lines_are_the_hints() -> None:
    readme = (REPO / "README.md").read_text()
    assert 'pip install ".[local]"' in readme and 'pip install ".[local,quant]"' in readme
    assert 'pip install ".[local,extract]"' in readme


@pytest.mark.parametrize("command", ["ask-hub-model", "ocr-model-folder", "extract-model-folder"])
def test_a_server_only_install_without_server_says_the_local_engine_is_missing(
    tmp_path: Path, tiny_model: Path, image: Path, command: str
) -> None:
    args = {
        "ask-hub-model": ["ask", str(image), "합계는?"],
        "ocr-model-folder": ["ocr", str(image), "--model", str(tiny_model)],
        "extract-model-folder": ["extract", str(image), "--template", "receipt", "--model", str(tiny_model)],
    }[command]
    result = without(tmp_path, LOCAL, *args)
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        "Error: the local engine is not installed (torch, transformers, accelerate and huggingface_hub missing)",
        "Hint: pip install '.[local]' in exaone's folder (see the README's Install), or pass --server URL",
    ]
    assert result.stdout == ""


def test_doctor_names_every_missing_package_of_the_local_engine(tmp_path: Path) -> None:
    result = without(tmp_path, ["torch", "transformers"], "doctor", "--model", "someone/EXAONE-4.5-33B-AWQ")
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines()[-2:] == [
        "Error: the local engine, which the memory plan of someone/EXAONE-4.5-33B-AWQ needs, is not installed (torch"
        " and transformers missing)",
        "Hint: pip install '.[local]' in exaone's folder (see the README's Install); without it, doctor plans only"
        " the models whose config ships with exaone",
    ]
    # Issue #23: no plan, but the machine report still comes (what a --server-only user has).
    assert result.stdout.startswith("Machine\n") and "GPUs" in result.stdout and "RAM" in result.stdout


def test_quantize_without_bitsandbytes_fails_before_loading(tmp_path: Path, tiny_model: Path, image: Path) -> None:
    result = without(tmp_path, ["bitsandbytes"], "ocr", str(image), "--model", str(tiny_model), "--quantize", "4bit")
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines() == [
        "Error: --quantize 4bit needs bitsandbytes, which is not installed",
        "Hint: pip install '.[local,quant]' in exaone's folder (see the README's Install), or drop --quantize",
    ]


def with_mismatched_torchvision(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`exaone ARGS` where torchvision 0.25 sits beside torch 2.14 (what the README's CPU-index line
    once gave, issue #23): its metadata says 0.25.0 and importing it fails the way a torchvision
    built for another torch fails (its compiled operators are missing)."""
    shim = tmp_path / "old-torchvision"
    (shim / "torchvision").mkdir(parents=True, exist_ok=True)
    (shim / "torchvision-0.25.0.dist-info").mkdir(exist_ok=True)
    (shim / "torchvision-0.25.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: torchvision\nVersion: 0.25.0\n"
    )
    (shim / "torchvision" / "__init__.py").write_text(
        'raise RuntimeError("operator torchvision::nms does not exist")\n'
    )
    path = os.pathsep.join([str(shim), str(REPO), os.environ.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "exaone_cli", *args],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": path, "COLUMNS": "200", "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip


def test_a_torchvision_that_does_not_match_torch_is_named_with_the_one_that_does(
    tmp_path: Path, image: Path, tiny_model: Path
) -> None:
    import torch

    wanted = f"0.{int(torch.__version__.split('.')[1]) + 15}"
    doctor = with_mismatched_torchvision(tmp_path, "doctor")
    assert doctor.returncode == 3, doctor.stderr
    assert f"0.25.0: NOT for torch {torch.__version__.split('+')[0]}" in doctor.stdout  # the machine report still comes
    assert "does not match torch" in doctor.stderr and f"torchvision=={wanted}.*" in doctor.stderr
    ocr = with_mismatched_torchvision(tmp_path, "ocr", str(image), "--model", str(tiny_model), "--no-cache")
    assert ocr.returncode == 3, ocr.stderr
    assert "Could not import module" not in ocr.stderr and "unexpected" not in ocr.stderr
    assert "Error: the local engine cannot load: torchvision 0.25.0 does not match torch" in ocr.stderr
    assert f"Hint: pip install 'torchvision=={wanted}.*'" in ocr.stderr
