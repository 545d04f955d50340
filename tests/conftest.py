"""Shared fixtures: one tiny EXAONE-4.5-shaped checkpoint per test session, and small images."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tiny_checkpoint import build


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny checkpoint on disk, loaded by the tests through the same --model PATH users take.
    EXAONE_TEST_TINY_MODEL points at a prebuilt one to save the build (seconds) when iterating."""
    prebuilt = os.environ.get("EXAONE_TEST_TINY_MODEL")
    if prebuilt:
        return Path(prebuilt)
    return build(tmp_path_factory.mktemp("tiny") / "exaone-tiny")


@pytest.fixture()
def receipt_png(tmp_path: Path) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 100), "white")
    ImageDraw.Draw(image).text((10, 40), "TOTAL 12,500", fill="black")
    path = tmp_path / "영수증 1.png"
    image.save(path)
    return path


def run_exaone(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """`exaone ARGS` as a real process, stdout and stderr kept apart."""
    return subprocess.run(
        [sys.executable, "-m", "exaone_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "100", **(env or {})},
        stdin=subprocess.DEVNULL,
    )
