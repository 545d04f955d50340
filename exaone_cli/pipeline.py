"""pages -> engine -> parse, for many pages: plans, read-ahead, batches, per-page errors as data.

Pages come out in input order. Rasterizing runs ahead of the model in a background thread
(bounded queue), so the engine never waits for input and memory stays bounded on a 900-page PDF.
A local engine gets batches of pages of similar size, picked from a window of a few batches, so
less of each batch is padding; records still come out in input order. A page or file that fails
becomes a record with `error` set; the run goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from .config import Preset, Sampling
from .engines.base import Engine, Generation, Prompt
from .errors import ExaoneError, GenerationError, InputError
from .inputs import Source, open_source
from .pages import Document, Page, PageRanges, RasterOptions, open_document
from .parse import parse_answer
from .results import PageRecord
from .vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, visual_tokens


@dataclass(frozen=True)
class DocumentPlan:
    """One input: its selected pages, or why it cannot be read at all."""

    display: str
    source: Source | None = None
    pages: tuple[int, ...] = ()
    page_count: int = 0
    error: str | None = None

    @property
    def sha256(self) -> str | None:
        return self.source.sha256 if self.source else None


def plan_documents(names: Sequence[str], ranges: PageRanges, raster: RasterOptions) -> list[DocumentPlan]:
    """Open every input once to count its pages; a file that fails is a plan with an error."""
    plans = []
    for name in names:
        try:
            source = open_source(name)
            with open_document(source, raster) as document:
                count = document.page_count
            selected = tuple(ranges.select(count))
            if not selected:
                raise InputError(f"{source.display}: no page of its {count} in the --pages selection")
            plans.append(DocumentPlan(source.display, source, selected, count))
        except InputError as exc:
            plans.append(DocumentPlan("<stdin>" if name == "-" else name, error=error_text(exc)))
        except Exception as exc:  # a file no reader expected: still only this file's error
            display = "<stdin>" if name == "-" else name
            plans.append(DocumentPlan(display, error=f"{display}: cannot be read ({type(exc).__name__}: {exc})"))
    return plans


@dataclass(frozen=True)
class OcrRequest:
    """Everything that decides a page's output, besides the page itself."""

    prompt: str
    thinking: bool
    preset: Preset
    sampling: Sampling
    raster: RasterOptions
    batch_size: int = 4
    sort_window: int = 4  # batches of pages looked at together to group pages of similar size; 1: input order
    min_pixels: int = DEFAULT_MIN_PIXELS  # the visual-token budget, as the engine applies it
    max_pixels: int = DEFAULT_MAX_PIXELS

    @property
    def prompt_sha256(self) -> str:
        """Identifies the prompt for --resume (the thinking mode changes the prompt too)."""
        return hashlib.sha256(f"{self.prompt}\0thinking={self.thinking}".encode()).hexdigest()


@dataclass(frozen=True)
class _Rendered:
    plan: DocumentPlan
    number: int
    page: Page | None = None
    error: str | None = None


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

    def __iter__(self) -> Iterator[_Rendered]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            assert isinstance(item, _Rendered)
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
        open_error: str | None = None
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
                        open_error = error_text(exc)
                item = self._render(plan, number, document, open_error, self._budget)
                if not self._put(item):
                    return
        finally:
            if document is not None:
                document.close()
            self._put(_DONE)

    @staticmethod
    def _render(
        plan: DocumentPlan, number: int, document: Document | None, open_error: str | None, budget: tuple[int, int]
    ) -> _Rendered:
        if document is None:
            return _Rendered(plan, number, error=open_error or f"{plan.display}: could not be opened")
        try:
            page = document.render(number)
            visual_tokens(page.width, page.height, *budget)  # refuses shapes the model cannot take
            return _Rendered(plan, number, page=page)
        except InputError as exc:
            text = error_text(exc)
            if not text.startswith(plan.display):
                text = f"{plan.display}: page {number}: {text}"
            return _Rendered(plan, number, error=text)
        except Exception as exc:  # a broken page must not end the run
            return _Rendered(plan, number, error=f"{plan.display}: page {number}: {type(exc).__name__}: {exc}")


def error_text(exc: ExaoneError) -> str:
    """An error as one line for a record and for stderr: what went wrong, then what to do."""
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message


def _record(request: OcrRequest, model: str, plan: DocumentPlan, number: int | None, **values: object) -> PageRecord:
    return PageRecord(
        source=plan.display,
        sha256=plan.sha256,
        page=number,
        preset=request.preset.name,
        model=model,
        prompt_sha256=request.prompt_sha256,
        **values,  # type: ignore[arg-type]
    )


def _page_record(request: OcrRequest, model: str, item: _Rendered, generation: Generation) -> PageRecord:
    assert item.page is not None
    parsed = parse_answer(generation.text, request.thinking)
    budget = visual_tokens(item.page.width, item.page.height, request.min_pixels, request.max_pixels)
    return _record(
        request,
        model,
        item.plan,
        item.number,
        width=item.page.width,
        height=item.page.height,
        dpi=item.page.dpi,
        note=item.page.note,
        grid=budget.grid,
        visual_tokens=budget.tokens,
        text=unicodedata.normalize("NFC", parsed.answer),
        reasoning=unicodedata.normalize("NFC", parsed.reasoning) if parsed.reasoning is not None else None,
        boxed=list(parsed.boxed),
        finish_reason=generation.finish_reason,
        prompt_tokens=generation.prompt_tokens,
        completion_tokens=generation.completion_tokens,
        seconds=generation.seconds,
    )


def _generate(engine: Engine, request: OcrRequest, items: list[_Rendered]) -> list[PageRecord]:
    """One batch; if the batch fails (say, out of memory), each page alone; a page that still
    fails is a record with the error."""
    prompts = [
        Prompt(text=request.prompt, images=[item.page.image], thinking=request.thinking) for item in items if item.page
    ]
    try:
        generations = engine.generate(prompts, request.sampling)
        return [_page_record(request, engine.name, item, gen) for item, gen in zip(items, generations, strict=True)]
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if isinstance(exc, ExaoneError) and not isinstance(exc, GenerationError):
            raise  # the engine itself is unusable (bad API key, ...): no page can succeed
        if len(items) > 1:
            return [record for item in items for record in _generate(engine, request, [item])]
        reason = error_text(exc) if isinstance(exc, ExaoneError) else f"{type(exc).__name__}: {exc}"
        message = f"{items[0].plan.display}: page {items[0].number}: generation failed ({reason})"
        return [_record(request, engine.name, items[0].plan, items[0].number, error=message, finish_reason="error")]


SkipPage = Callable[[DocumentPlan, int], bool]
_Slot = tuple[PageRecord, None] | tuple[None, _Rendered]  # a finished record, or a page to generate


def run_ocr(
    plans: Sequence[DocumentPlan], engine: Engine, request: OcrRequest, skip: SkipPage | None = None
) -> Iterator[PageRecord]:
    """Every selected page of every plan as a record, in input order, as soon as it is done
    (pages that `skip` accepts are left out: --resume).

    A local engine gets pages in batches of `request.batch_size` (grouped by size within a
    window of `sort_window` batches); an engine with a `concurrency` (a server) gets that many
    single-page requests in flight. Rendering stays a window (or two requests each) ahead."""
    jobs = [(plan, number) for plan in plans if plan.source for number in plan.pages]
    if skip is not None:
        jobs = [(plan, number) for plan, number in jobs if not skip(plan, number)]
    concurrency: int | None = getattr(engine, "concurrency", None)  # servers take requests, not batches
    depth = 2 * concurrency if concurrency is not None else request.batch_size * max(2, request.sort_window)
    with ReadAhead(jobs, request.raster, depth, (request.min_pixels, request.max_pixels)) as pages:
        slots = _in_input_order(plans, pages, request, engine.name)
        if concurrency is not None:
            yield from _concurrent(slots, engine, request, concurrency)
        else:
            yield from _batched(slots, engine, request)


def _in_input_order(
    plans: Sequence[DocumentPlan], pages: Iterator[_Rendered] | ReadAhead, request: OcrRequest, model: str
) -> Iterator[_Slot]:
    """Rendered pages, with a record for each file that could not be opened at all, placed
    where the file stands in the input order."""
    todo = iter(plans)

    def failed_files_before(plan: DocumentPlan | None) -> Iterator[_Slot]:
        for candidate in todo:
            if candidate is plan:
                return
            if candidate.error:
                yield _record(request, model, candidate, None, error=candidate.error, finish_reason="error"), None

    current: DocumentPlan | None = None
    for item in pages:
        if item.plan is not current:
            current = item.plan
            yield from failed_files_before(item.plan)
        if item.error:
            yield _record(request, model, item.plan, item.number, error=item.error, finish_reason="error"), None
        else:
            yield None, item
    yield from failed_files_before(None)


def _batched(slots: Iterator[_Slot], engine: Engine, request: OcrRequest) -> Iterator[PageRecord]:
    """Windows of `sort_window` batches; see `_run_window`. A window is always full (or the end of
    the input), never cut short because rendering lags: which pages share a batch then depends on
    the input alone, and a rerun gives the same batches (in bf16 on a GPU, batch composition can
    change the numbers slightly, and with them a greedy output)."""
    size = request.batch_size * (request.sort_window if request.batch_size > 1 else 1)
    window: list[_Slot] = []
    pages = 0
    for slot in slots:
        window.append(slot)
        pages += slot[1] is not None
        if pages >= size:
            yield from _run_window(window, engine, request)
            window, pages = [], 0
    if window:
        yield from _run_window(window, engine, request)


def _run_window(window: list[_Slot], engine: Engine, request: OcrRequest) -> Iterator[PageRecord]:
    """The window's pages sorted by visual tokens and cut into batches: a batch pads every prompt
    to its longest, so a receipt batched with a full A4 page costs a full page of prefill and of
    attention per decoded token. The batch holding the earliest unfinished page runs first, and
    records come out in input order as soon as the ones before them are done. If the run is
    interrupted or the engine fails, the records already finished come out before the exception."""
    done: dict[int, PageRecord] = {i: record for i, (record, _) in enumerate(window) if record is not None}
    items = {i: item for i, (_, item) in enumerate(window) if item is not None}

    def tokens(i: int) -> int:
        page = items[i].page
        assert page is not None
        return visual_tokens(page.width, page.height, request.min_pixels, request.max_pixels).tokens

    by_size = sorted(items, key=lambda i: (tokens(i), i))
    step = request.batch_size
    batches = sorted((by_size[k : k + step] for k in range(0, len(by_size), step)), key=min)
    head = 0
    try:
        for batch in [[], *batches]:  # [] first: records before the first page need no batch
            records = _generate(engine, request, [items[i] for i in batch]) if batch else []
            done.update(zip(batch, records, strict=True))
            while head in done:
                yield done.pop(head)
                head += 1
    except GeneratorExit:
        raise
    except BaseException:
        for i in sorted(done):  # finished pages are not lost; the unfinished ones are missing
            yield done.pop(i)
        raise


def _concurrent(slots: Iterator[_Slot], engine: Engine, request: OcrRequest, concurrency: int) -> Iterator[PageRecord]:
    """`concurrency` single-page requests in flight; results still come out in input order."""
    pending: deque[Future[list[PageRecord]] | list[PageRecord]] = deque()
    in_flight = 0

    def take_head() -> list[PageRecord]:
        nonlocal in_flight
        head = pending.popleft()
        if isinstance(head, list):
            return head
        in_flight -= 1
        return head.result()

    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="exaone-request")
    try:
        for record, item in slots:
            if item is not None:
                pending.append(pool.submit(_generate, engine, request, [item]))
                in_flight += 1
            else:
                assert record is not None
                pending.append([record])
            # Stream every finished head; block on the head only when the window is full.
            while pending and (in_flight >= concurrency or not isinstance(pending[0], Future) or pending[0].done()):
                yield from take_head()
        while pending:
            yield from take_head()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
