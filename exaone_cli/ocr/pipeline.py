"""pages -> engine -> parse, for many pages: plans, read-ahead, batches, per-page errors as data.

Pages come out in input order. Rasterizing runs ahead of the model in a background thread
(read_ahead.py), so the engine never waits for input and memory stays bounded on a 900-page PDF.
A local engine gets batches of pages of similar size, picked from a window of a few batches, so
less of each batch is padding; records still come out in input order. A page whose generation
fails (a loop, the token limit, an empty answer, an error) is tried again, then its good text
layer stands in (retries.py); a page whose good layer --text-layer prefer takes never reaches the
model (text_sources.py). A page or file that fails becomes a record with `error` set; the run
goes on.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from ..config import Preset, Sampling
from ..engines.base import Engine, Generation, Prompt
from ..engines.finish import answer_note
from ..errors import EngineError, ExaoneError, GenerationError, InputError, error_text
from ..inputs import Source
from ..pages import NoPages, PageRanges, RasterOptions, open_document, open_input
from ..pages.text_layer import TextLayer, read_text_layers
from ..parse import parse_answer
from ..results import PageRecord
from ..vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS, visual_tokens
from .plan import DocumentPlan
from .read_ahead import ReadAhead, Rendered
from .retries import DEFAULT_PAGE_RETRIES, last_chance, retry_reason, retry_sampling
from .text_sources import DEFAULT_TEXT_LAYER_MODE, TextLayerMode, layer_note, page_prompt, takes_layer

__all__ = ["DocumentPlan", "OcrRequest", "SkipPage", "error_text", "plan_documents", "run_ocr"]


def plan_documents(
    names: Sequence[str],
    ranges: PageRanges,
    raster: RasterOptions,
    *,
    read_layers: bool = False,
    text_stand_in: bool = False,
    on_status: Callable[[str], None] | None = None,
) -> list[DocumentPlan]:
    """Open every input once to count its pages (and, with `read_layers`, read and judge the text
    layer of a PDF's selected pages: milliseconds a page); a file that fails is a plan with an error.
    An HWP document rhwp reads but cannot render as a PDF is a plan with its text and no pages
    with `text_stand_in` (extract), else with rhwp's pictures of its pages, when it could draw
    them; its note says why. `on_status` hears when an HWP document's rendering starts."""
    plans = []
    for name in names:
        drawn = None
        try:
            try:
                source = open_input(name, on_status)
            except NoPages as exc:  # no PDF from rhwp; its pages drawn as pictures go on (ocr)
                if text_stand_in or exc.pictures is None:
                    raise
                source, drawn = exc.pictures, exc.message.removeprefix(f"{exc.source.display}: ")
                drawn = f"{drawn}: its pages are rhwp's pictures of them, with no text layer"
            with open_document(source, raster) as document:
                count = document.page_count
            selected = tuple(ranges.select(count))
            if not selected:
                raise InputError(
                    f"{source.display}: --pages {ranges} selects none of its {count} page(s)",
                    hint="--pages applies to every input; give this file its own command, or widen --pages",
                )
            layers = _layers(source, selected, raster.password) if read_layers and source.kind == "pdf" else None
            note = join_notes(drawn, ranges.missing_note(count))
            plans.append(DocumentPlan(source.display, source, selected, count, layers=layers, note=note))
        except InputError as exc:
            if text_stand_in and isinstance(exc, NoPages):
                why = exc.message.removeprefix(f"{exc.source.display}: ")
                note = f"{why}; its text is read instead, without page numbers"
                plans.append(DocumentPlan(exc.source.display, exc.source, note=note, text=exc.text))
                continue
            plans.append(DocumentPlan("<stdin>" if name == "-" else name, error=exc.message, hint=exc.hint))
        except EngineError:  # a missing part (rhwp for an HWP file) ends the run: exit 3, the install line
            raise
        except Exception as exc:  # a file no reader expected: still only this file's error
            display = "<stdin>" if name == "-" else name
            plans.append(DocumentPlan(display, error=f"{display}: cannot be read ({type(exc).__name__}: {exc})"))
    return plans


def _layers(source: Source, pages: Sequence[int], password: str | None) -> dict[int, TextLayer] | None:
    """The pages' text layers, or None when PDFium cannot read the file (poppler may still render it)."""
    try:
        return {layer.page: layer for layer in read_text_layers(source, pages, password)}
    except Exception:
        return None


def join_notes(*notes: str | None) -> str | None:
    return "; ".join(note for note in notes if note) or None


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
    text_layer: TextLayerMode = DEFAULT_TEXT_LAYER_MODE  # text_sources.py
    page_retries: int = DEFAULT_PAGE_RETRIES  # more tries for a failed page (retries.py)

    @property
    def prompt_sha256(self) -> str:
        """Identifies the prompt for --resume (the thinking mode and a text-layer hint change it too)."""
        hint = "\0text-layer=hint" if self.text_layer == "hint" else ""
        return hashlib.sha256(f"{self.prompt}\0thinking={self.thinking}{hint}".encode()).hexdigest()

    def fingerprint(self, model: str) -> dict[str, object]:
        """What decides a page's text besides the page itself, for the page store's key. Batch size
        and order are left out: they change a greedy page only by floating-point noise (on the CPU
        not at all, tested), and a sampled page is one sample either way. Retries and the text
        layer mode only change failed pages, which the store does not keep (a hint changes the
        prompt: prompt_sha256)."""
        return {
            "dpi": self.raster.dpi,
            "rasterizer": self.raster.rasterizer,
            "max_page_pixels": self.raster.max_page_pixels,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "prompt_sha256": self.prompt_sha256,
            "preset": self.preset.name,
            "sampling": self.sampling.to_dict(),
            "model": model,
        }


def _record(
    request: OcrRequest, model: str | None, plan: DocumentPlan, number: int | None, **values: object
) -> PageRecord:
    layer = plan.layer(number) if number is not None else None
    passed_over = layer_note(request.text_layer, layer) if values.get("text_source", "model") == "model" else None
    values["note"] = join_notes(plan.note, values.get("note"), passed_over)  # type: ignore[arg-type]
    return PageRecord(
        source=plan.display,
        sha256=plan.sha256,
        page=number,
        preset=request.preset.name,
        model=model,
        prompt_sha256=request.prompt_sha256,
        text_layer=layer.verdict if layer else None,
        **values,  # type: ignore[arg-type]
    )


def _page_facts(request: OcrRequest, item: Rendered) -> dict[str, object]:
    """What is known about a rendered page before any generation: error records carry it too."""
    assert item.page is not None
    budget = visual_tokens(item.page.width, item.page.height, request.min_pixels, request.max_pixels)
    return dict(
        width=item.page.width,
        height=item.page.height,
        dpi=item.page.dpi,
        note=item.page.note,
        grid=budget.grid,
        visual_tokens=budget.tokens,
    )


def _page_record(request: OcrRequest, model: str, item: Rendered, generation: Generation) -> PageRecord:
    """A generation as the page's record: an error record when the engine says the generation is
    not an answer (engines/finish.py), with the reason for an empty answer in `note`."""
    facts = _page_facts(request, item)
    counts = dict(
        prompt_tokens=generation.prompt_tokens,
        completion_tokens=generation.completion_tokens,
        seconds=generation.seconds,
    )
    if generation.error:  # no half page passed off as text: the record says how much had come
        got = f"; {len(generation.text)} characters had arrived" if generation.text else ""
        error = f"{item.plan.display}: page {item.number}: {generation.error}{got}"
        return _record(
            request, model, item.plan, item.number, **facts, **counts, error=error, finish_reason="error", attempts=1
        )
    parsed = parse_answer(generation.text, generation.began_thinking(request.thinking))
    empty = answer_note(parsed, generation, request.thinking)
    facts["note"] = "; ".join(note for note in (item.page and item.page.note, generation.note, empty) if note) or None
    return _record(
        request,
        model,
        item.plan,
        item.number,
        **facts,
        **counts,
        replaced_characters=generation.replaced_characters,
        text=unicodedata.normalize("NFC", parsed.answer),
        reasoning=unicodedata.normalize("NFC", parsed.reasoning) if parsed.reasoning is not None else None,
        boxed=list(parsed.boxed),
        finish_reason=generation.finish_reason,
        attempts=1,
    )


def _generate(engine: Engine, request: OcrRequest, items: list[Rendered]) -> list[PageRecord]:
    """One batch; if the batch fails (say, out of memory), each page alone; a page that still
    fails is a record with the error."""
    prompts = [
        Prompt(
            text=page_prompt(request.prompt, request.text_layer, item.plan.layer(item.number)),
            images=[item.page.image],
            thinking=request.thinking,
        )
        for item in items
        if item.page
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
        reason = exc.message if isinstance(exc, ExaoneError) else f"{type(exc).__name__}: {exc}"
        hint = exc.hint if isinstance(exc, ExaoneError) else None
        item = items[0]
        message = f"{item.plan.display}: page {item.number}: generation failed: {reason}"
        facts = _page_facts(request, item)
        return [
            _record(
                request,
                engine.name,
                item.plan,
                item.number,
                **facts,
                error=message,
                hint=hint,
                finish_reason="error",
                attempts=1,
            )
        ]


def _second_chances(
    engine: Engine, request: OcrRequest, items: list[Rendered], records: list[PageRecord]
) -> list[PageRecord]:
    """`records` (the first tries of `items`) after up to `request.page_retries` more tries for
    the pages that failed, then their good text layers for those that failed every try. A
    retry round sends its pages in batches of at most `batch_size` (one request each on a server),
    at that round's temperature and seed (retries.retry_sampling)."""
    records = list(records)
    for attempt in range(1, request.page_retries + 1):
        failed = [i for i, record in enumerate(records) if retry_reason(record)]
        for k in range(0, len(failed), request.batch_size):
            chunk = failed[k : k + request.batch_size]
            first = items[chunk[0]]
            sampling = retry_sampling(request.sampling, attempt, f"{first.plan.sha256}:{first.number}")
            again = _generate(engine, replace(request, sampling=sampling), [items[i] for i in chunk])
            for i, record in zip(chunk, again, strict=True):
                seconds = records[i].seconds + record.seconds
                records[i] = replace(record, attempts=records[i].attempts + 1, seconds=seconds)
    return [last_chance(record, item.plan.layer(item.number)) for item, record in zip(items, records, strict=True)]


def _layer_record(request: OcrRequest, plan: DocumentPlan, number: int) -> PageRecord:
    """A page taken from its good text layer (--text-layer prefer): nothing rendered, no model
    (`model` null: naming the run's model would say one ran)."""
    layer = plan.layer(number)
    assert layer is not None
    return _record(request, None, plan, number, text=layer.text, text_source="text-layer")


SkipPage = Callable[[DocumentPlan, int], bool]
KnownPage = Callable[[DocumentPlan, int], "PageRecord | None"]  # a page's finished record, if there is one
_Slot = tuple[PageRecord, None] | tuple[None, Rendered]  # a finished record, or a page to generate


def run_ocr(
    plans: Sequence[DocumentPlan],
    engine: Engine,
    request: OcrRequest,
    skip: SkipPage | None = None,
    known: KnownPage | None = None,
) -> Iterator[PageRecord]:
    """Every selected page of every plan as a record, in input order, as soon as it is done
    (pages that `skip` accepts are left out: --resume; pages `known` has a record for come out as
    that record, neither rendered nor generated: the page store).

    A local engine gets pages in batches of `request.batch_size` (grouped by size within a
    window of `sort_window` batches); an engine with a `concurrency` (a server) gets that many
    single-page requests in flight. Rendering stays a window (or two requests each) ahead.
    Pages whose text comes from their layer are neither rendered nor generated."""
    jobs = [(plan, number) for plan in plans if plan.source for number in plan.pages]
    if skip is not None:
        jobs = [(plan, number) for plan, number in jobs if not skip(plan, number)]
    found = {(id(plan), n): record for plan, n in jobs if known and (record := known(plan, n)) is not None}
    layer = request.text_layer
    to_model = [(plan, n) for plan, n in jobs if not takes_layer(layer, plan.layer(n)) and (id(plan), n) not in found]
    concurrency: int | None = getattr(engine, "concurrency", None)  # servers take requests, not batches
    depth = 2 * concurrency if concurrency is not None else request.batch_size * max(2, request.sort_window)
    with ReadAhead(to_model, request.raster, depth, (request.min_pixels, request.max_pixels)) as pages:
        slots = _in_input_order(plans, jobs, iter(pages), request, found)
        if concurrency is not None:
            yield from _concurrent(slots, engine, request, concurrency)
        else:
            yield from _batched(slots, engine, request)


def _in_input_order(
    plans: Sequence[DocumentPlan],
    jobs: Sequence[tuple[DocumentPlan, int]],
    rendered: Iterator[Rendered],
    request: OcrRequest,
    found: Mapping[tuple[int, int], PageRecord] | None = None,
) -> Iterator[_Slot]:
    """The pages of `jobs` in input order: a record for each file that could not be opened at
    all (where the file stands), a record for each page taken from its text layer, and the
    rendered pages (`rendered` holds those, in the same order) or their rendering errors."""
    pages: dict[int, list[int]] = {}
    for plan, number in jobs:
        pages.setdefault(id(plan), []).append(number)
    for plan in plans:
        if plan.error:
            # no model saw it: its record names none (`model` is the one that made the pages)
            yield _record(request, None, plan, None, error=plan.error, hint=plan.hint, finish_reason="error"), None
        for number in pages.get(id(plan), []):
            if found and (id(plan), number) in found:
                yield found[id(plan), number], None
                continue
            if takes_layer(request.text_layer, plan.layer(number)):
                yield _layer_record(request, plan, number), None
                continue
            item = next(rendered)
            assert item.plan is plan and item.number == number, "read-ahead out of step with the plan"
            if item.error:
                failed = _record(request, None, plan, number, error=item.error, hint=item.hint, finish_reason="error")
                yield last_chance(failed, plan.layer(number)), None
            else:
                yield None, item


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
    attention per decoded token. The batch holding the earliest unfinished page runs first; its
    failed pages get their second chances right after it. Records come out in input order as
    soon as the ones before them are done. If the run is interrupted or the engine fails, the
    records already finished come out before the exception."""
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
            first = _generate(engine, request, [items[i] for i in batch]) if batch else []
            records = dict(zip(batch, first, strict=True))
            failed = [i for i in batch if retry_reason(records[i])]
            done.update((i, record) for i, record in records.items() if i not in failed)
            while head in done:
                yield done.pop(head)
                head += 1
            if failed:
                chances = _second_chances(engine, request, [items[i] for i in failed], [records[i] for i in failed])
                done.update(zip(failed, chances, strict=True))
            while head in done:
                yield done.pop(head)
                head += 1
    except GeneratorExit:
        raise
    except BaseException:
        for i in sorted(done):  # finished pages are not lost; the unfinished ones are missing
            yield done.pop(i)
        raise


def _one_page(engine: Engine, request: OcrRequest, item: Rendered) -> list[PageRecord]:
    """A page as a server request, and its retries as new requests."""
    return _second_chances(engine, request, [item], _generate(engine, request, [item]))


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
                pending.append(pool.submit(_one_page, engine, request, item))
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
