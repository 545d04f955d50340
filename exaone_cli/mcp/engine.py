"""The server's one engine: opened by the first call that needs the model, kept for the server's
life, so the second question loads nothing. Tool calls that may use it (ocr, ask, extract) take
turns: one model, one batch at a time; inspect needs no model and never waits.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..config import LoadOptions
from ..engines import Engine, RemoteOptions, describe_engine, describe_source, open_engine
from ..render.progress import loaded_line

Say = Callable[[str], None]


def to_stderr(line: str) -> None:
    """One line for people on stderr (standard output is the protocol)."""
    sys.stderr.write(line.rstrip("\n") + "\n")
    sys.stderr.flush()


class KeptEngine:
    """The engine of `load`/`remote`, opened on first use; `loads` counts the openings (one per
    server, unless an opening failed and a later call tried again)."""

    def __init__(self, load: LoadOptions, remote: RemoteOptions | None, say: Say = to_stderr) -> None:
        self.load = load
        self.remote = remote
        self.say = say
        self.loads = 0
        self._engine: Engine | None = None
        self._opening = threading.Lock()
        self._turn = threading.Lock()
        self.on_loading: Callable[[str], None] | None = None  # told before a load starts (progress)

    @property
    def opened(self) -> bool:
        return self._engine is not None

    def get(self) -> Engine:
        """The engine, opened now if this is the first call that needs it."""
        with self._opening:
            if self._engine is None:
                what = describe_source(self.load, self.remote)
                if self.on_loading is not None:
                    self.on_loading(f"Loading {what}…")
                start = time.perf_counter()
                self._engine = open_engine(self.load, self.remote, lambda m: self.say(f"Warning: {m}"))
                self.loads += 1
                line = loaded_line(what, time.perf_counter() - start, describe_engine(self._engine))
                self.say(line.plain)
            return self._engine

    @contextmanager
    def turn(self, on_loading: Callable[[str], None] | None = None) -> Iterator[KeptEngine]:
        """Hold the model for one tool call; `on_loading` hears when the model starts loading."""
        with self._turn:
            self.on_loading = on_loading
            try:
                yield self
            finally:
                self.on_loading = None

    def close(self) -> None:
        with self._opening:
            if self._engine is not None:
                self._engine.close()
                self._engine = None
