"""Progress on stderr for long runs: pages done/total, tokens/s, ETA. Off when stderr is not a
terminal or with --quiet (then nothing is drawn at all)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..results import PageRecord


class PageProgress:
    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress = progress
        self._task = progress.add_task("OCR", total=total, rate="") if progress else None
        self._start = time.perf_counter()
        self._tokens = 0

    def advance(self, record: PageRecord) -> None:
        self._tokens += record.completion_tokens
        if self._progress is None or self._task is None:
            return
        elapsed = max(time.perf_counter() - self._start, 1e-6)
        self._progress.update(self._task, advance=1, rate=f"{self._tokens / elapsed:,.1f} tok/s")


@contextmanager
def page_progress(console: Console, total: int, enabled: bool) -> Iterator[PageProgress]:
    if not enabled or total == 0:
        yield PageProgress(None, total)
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("pages · {task.fields[rate]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    with progress:
        yield PageProgress(progress, total)
