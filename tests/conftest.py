"""Shared fixtures: one tiny EXAONE-4.5-shaped checkpoint per test session, and small images."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# The tiny model's matrices are too small to share between threads: on a busy 2-core machine two
# torch threads mostly wait for each other, and two runs at once (pytest-xdist's two workers, or a
# test's two processes) took 36-57 s as a pair with two threads each, 11-15 s with one. So every
# exaone the tests start, and torch in this process, uses one thread unless told otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")

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
    EXAONE_TEST_TINY_MODEL points at a prebuilt one to save the build (seconds) when iterating.

    Built once per run: under pytest-xdist (scripts/test.sh runs `-n 2`) the workers share the
    run's temporary folder, and the first to get there builds it while the others wait on a lock.
    Tests only read it."""
    prebuilt = os.environ.get("EXAONE_TEST_TINY_MODEL")
    if prebuilt:
        return Path(prebuilt)
    run_folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_folder = run_folder.parent  # each worker's base folder is popen-gwN in the run's
    folder = run_folder / "tiny" / "exaone-tiny"
    with (run_folder / "tiny.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "TINY_CHECKPOINT.json").exists():  # written last: a whole checkpoint
            build(folder)
    return folder


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
