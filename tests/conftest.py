"""Shared fixtures: one tiny EXAONE-4.5-shaped checkpoint per test session, and small images."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from tiny_checkpoint import build

# A test run started in the background by a non-interactive shell (`bash .ci/run &`) inherits SIGINT
# ignored (POSIX), and every exaone the tests start would too: the Ctrl-C tests would then see a
# process that cannot be interrupted. With a handler here, the children start with the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def isolated_page_store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own page store folder, switched off: a test that runs the same pages
    twice (batch sizes, --resume, the repetition guard) must see the model work both times.
    Tests of the store turn it on with the `page_store` fixture."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EXAONE_CACHE_DIR", str(folder))
    monkeypatch.setenv("EXAONE_NO_CACHE", "1")
    return folder


@pytest.fixture()
def page_store(isolated_page_store: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The page store on, in this test's own folder; the path of its database file."""
    monkeypatch.delenv("EXAONE_NO_CACHE")
    return isolated_page_store / "pages.sqlite3"


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


def one_line(text: str) -> str:
    """`text` with every run of whitespace, line breaks included, made one space: what a message
    says, wherever the terminal width (COLUMNS=100 for run_exaone) wrapped it. A message that names
    a temporary path wraps at a place that moves with the path's length, and that length changes
    with the machine and the run (pytest-N, pytest-xdist's popen-gwN folder)."""
    return " ".join(text.split())
