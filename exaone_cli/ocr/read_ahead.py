"""Pages rendered ahead of the model, in a background thread, so the engine never waits for input
and memory stays bounded (a bounded queue of rendered pages, however long the document)."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ..errors import InputError
from ..pages import Document, Page, RasterOptions, open_document
from ..vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, visual_tokens
from .plan import DocumentPlan


@dataclass(frozen=True)
class Rendered:
    """A page of a plan, rendered, or why it could not be."""

    plan: DocumentPlan
    number: int
    page: Page | None = None
    error: str | None = None
    hint: str | None = None


_DONE = object()


class ReadAhead:
    """Renders the pages of `jobs` in a background thread, `depth` pages ahead of the consumer.

    One thread renders, so pdfium (not thread-safe) is only ever used from it.
    """

    def __init__(
        self,
        jobs: Sequence[tuple[DocumentPlan, int]],
        raster: RasterOptions,
        depth: int,
        budget: tuple[int, int] = (DEFAULT_MIN_PIXELS, DEFAULT_MAX_PIXELS),
    ) -> None:
        self._jobs = jobs
        self._raster = raster
        self._budget = budget
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="exaone-read-ahead", daemon=True)

    def __enter__(self) -> ReadAhead:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)

    def __iter__(self) -> Iterator[Rendered]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            assert isinstance(item, Rendered)
            yield item

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        document: Document | None = None
        current: DocumentPlan | None = None
        open_error: InputError | None = None
        try:
            for plan, number in self._jobs:
                if self._stop.is_set():
                    return
                if current is not plan:  # next file: close the last one, open this one
                    if document is not None:
                        document.close()
                    document, current, open_error = None, plan, None
                    try:
                        assert plan.source is not None
                        document = open_document(plan.source, self._raster)
                    except InputError as exc:
                        open_error = exc
                item = self._render(plan, number, document, open_error, self._budget)
                if not self._put(item):
                    return
        finally:
            if document is not None:
                document.close()
            self._put(_DONE)

    @staticmethod
    def _render(
        plan: DocumentPlan,
        number: int,
        document: Document | None,
        open_error: InputError | None,
        budget: tuple[int, int],
    ) -> Rendered:
        return render_page(plan, number, document, open_error, budget)


def render_page(
    plan: DocumentPlan, number: int, document: Document | None, open_error: InputError | None, budget: tuple[int, int]
) -> Rendered:
    """Page `number` of `plan` as the model would get it (`budget`: min and max pixels), or the
    error a run would record for it (an unreadable page never raises). `--dry-run` decodes image
    files through this too, so it reports the same errors and notes as the run."""
    if document is None:
        if open_error is not None:
            return Rendered(plan, number, error=open_error.message, hint=open_error.hint)
        return Rendered(plan, number, error=f"{plan.display}: could not be opened")
    try:
        page = document.render(number)
        visual_tokens(page.width, page.height, *budget)  # refuses shapes the model cannot take
        return Rendered(plan, number, page=page)
    except InputError as exc:
        text = exc.message
        if not text.startswith(plan.display):
            text = f"{plan.display}: page {number}: {text}"
        return Rendered(plan, number, error=text, hint=exc.hint)
    except Exception as exc:  # a broken page must not end the run
        return Rendered(plan, number, error=f"{plan.display}: page {number}: {type(exc).__name__}: {exc}")
