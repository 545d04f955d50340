"""The library entry points: what the CLI calls, and what other Python code can call."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from .config import DEFAULT_CONTEXT_TOKENS, LoadOptions, Sampling, SamplingFlags
from .engines import Engine, Prompt, RemoteOptions, open_engine
from .engines.base import Generation, OnText
from .engines.checkpoint import looks_like_path
from .engines.finish import empty_answer_note
from .errors import InputError
from .ocr_settings import OcrSettings
from .output import Sink, finished_pages
from .pages import Document, Page, PageRanges, RasterOptions, open_document
from .parse import parse_answer
from .pipeline import DocumentPlan, SkipPage, error_text, plan_documents, run_ocr
from .prompts import ask_prompt
from .results import AskResult, ImageRef, PageRead, PageRecord
from .retries import retry_reason
from .store import PageKey, PageStore, open_store
from .text_sources import takes_layer
from .vision import visual_tokens

OnStatus = Callable[[str], None]


class Progress(Protocol):
    """What a progress display needs: one call per finished page."""

    def advance(self, record: PageRecord) -> None: ...


ProgressFactory = Callable[[int], AbstractContextManager[Progress]]  # total pages -> a display around the work


def _quiet(_: str) -> None:
    pass


def ask(
    question: str,
    inputs: Sequence[str] = (),
    *,
    load: LoadOptions | None = None,
    flags: SamplingFlags | None = None,
    thinking: bool = True,
    boxed_hint: bool = True,
    engine: Engine | None = None,
    on_text: OnText | None = None,
    on_status: OnStatus = _quiet,
    on_warning: OnStatus = _quiet,
    ranges: PageRanges | None = None,
    raster: RasterOptions | None = None,
    max_images: int | None = 8,
    remote: RemoteOptions | None = None,
    context_tokens: int | None = None,
    look: bool = False,
    cache: bool = True,
    progress: ProgressFactory | None = None,
    on_note: OnStatus = _quiet,
) -> AskResult:
    """Answer `question` about the images/pages in `inputs` (none for a text-only question).

    When the selected pages fit in one prompt as images (at most `max_images`, and their visual
    tokens, the question and the answer within `context_tokens`), they go in as images. Otherwise
    document mode (docqa.py) answers from the pages' text with cited pages; `look` then shows the
    cited pages as images for a second answer. `cache` uses the page store; `progress(total)` is
    entered around the transcription of pages (a context manager with `advance(record)`).

    Inputs are read before the model loads, so a typo costs nothing. `engine` lets callers reuse
    a loaded engine; otherwise one is opened from `load` and closed again.
    """
    from .docqa import DocumentQuestion, answer_from_text, fits_as_images, plan_inputs

    load, flags = load or LoadOptions(), flags or SamplingFlags()
    ranges, raster = ranges or PageRanges.all(), raster or RasterOptions()
    context_tokens = context_tokens or DEFAULT_CONTEXT_TOKENS
    plan = plan_inputs(inputs, ranges, raster, load)
    for note in plan.notes:  # requested pages an input lacks: said, and in the result's `note`
        on_warning(note)
    limit = plan.page_count if max_images is None else max_images
    if fits_as_images(plan, question, limit, context_tokens):
        if look:
            on_note("--look: the pages already go into the prompt as images")
        pages = _render_all(plan.documents, raster, load)
        for page in pages:
            if page.note:  # how the image was made (a lower DPI, a dark background): also in `images`
                on_warning(f"{page.source}: page {page.number}: {page.note}")
        result = _ask_images(question, pages, plan.page_count, load, flags, thinking, boxed_hint, engine,
                             on_text, on_status, on_warning, remote)  # fmt: skip
        return replace(result, input_notes=plan.notes)
    document = DocumentQuestion(
        question, plan, load, raster, remote, flags, thinking, boxed_hint, context_tokens, limit, look
    )
    document.text_budget()  # a budget too small for any page fails before anything loads
    on_note(
        f"{plan.page_count} page(s) do not fit in one prompt as images (--max-images {limit}, --context-tokens "
        f"{context_tokens:,}): answering from their text"
    )
    own_engine = engine is None
    if engine is None:
        on_status(f"Connecting to {remote.server}" if remote else f"Loading {load.model}")
        engine = open_engine(load, remote, on_warning)
    store = open_store(cache, on_warning)
    try:
        result = answer_from_text(
            document, engine, store, on_text=on_text, on_status=on_status, on_warning=on_warning,
            on_note=on_note, progress=progress,
        )  # fmt: skip
        return replace(result, input_notes=plan.notes)
    finally:
        if store is not None:
            store.close()
        if own_engine:
            engine.close()


def _render_all(documents: Sequence[DocumentPlan], raster: RasterOptions, load: LoadOptions) -> list[Page]:
    """Every selected page as an image; a shape the model cannot take fails here, named, not
    inside the model."""
    pages: list[Page] = []
    for plan in documents:
        assert plan.source is not None
        with open_document(plan.source, raster) as document:
            for number in plan.pages:
                page = document.render(number)
                try:
                    visual_tokens(page.width, page.height, load.min_pixels, load.max_pixels)
                except InputError as exc:
                    raise InputError(f"{page.source}: page {page.number}: {exc.message}", exc.hint) from exc
                pages.append(page)
    return pages


def _ask_images(
    question: str,
    pages: list[Page],
    total: int,
    load: LoadOptions,
    flags: SamplingFlags,
    thinking: bool,
    boxed_hint: bool,
    engine: Engine | None,
    on_text: OnText | None,
    on_status: OnStatus,
    on_warning: OnStatus,
    remote: RemoteOptions | None,
) -> AskResult:
    """The question with every page as an image, in one prompt."""
    has_document = any(page.dpi is not None for page in pages)  # rendered from a PDF
    preset, reason, sampling = flags.resolve(question, len(pages), has_document)
    own_engine = engine is None
    if engine is None:
        on_status(f"Connecting to {remote.server}" if remote else f"Loading {load.model}")
        engine = open_engine(load, remote, on_warning)
    try:
        on_status("Generating")
        prompt = Prompt(text=ask_prompt(question, boxed_hint), images=[p.image for p in pages], thinking=thinking)
        generation = engine.generate([prompt], sampling, on_text=on_text)[0]
    finally:
        if own_engine:
            engine.close()
    parsed = parse_answer("" if generation.error else generation.text, thinking)  # an error is no answer
    empty = None if generation.error else empty_answer_note(parsed.answer, parsed.reasoning, parsed.truncated, thinking)
    return AskResult(
        question=question,
        images=[ImageRef.of(page) for page in pages],
        parsed=parsed,
        thinking=thinking,
        preset=preset,
        preset_reason=reason,
        sampling=sampling,
        model=engine.name,
        generation=generation,
        note=empty,
        pages_total=total,
        pages_read=[PageRead(page.source, page.number) for page in pages],
    )


# ---- exaone ocr --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunPage:
    """A page as it would be processed: its size at the DPI used, what it costs the model, and
    its text layer's verdict with where its text would come from (`text_source`: model or
    text-layer; `hint`: the layer goes into the prompt). Pages taken from their layer cost no
    visual tokens."""

    source: str
    page: int | None
    width: int = 0
    height: int = 0
    dpi: int | None = None
    note: str | None = None
    resized_width: int = 0
    resized_height: int = 0
    visual_tokens: int = 0
    text_layer: str | None = None
    text_layer_reason: str | None = None
    text_source: str = "model"
    hint: bool = False
    error: str | None = None


@dataclass(frozen=True)
class DryRunPlan:
    pages: list[DryRunPage]

    @property
    def failed(self) -> bool:
        return any(page.error for page in self.pages)

    @property
    def visual_tokens(self) -> int:
        return sum(page.visual_tokens for page in self.pages)


def dry_run(settings: OcrSettings) -> DryRunPlan:
    """Every page that would be processed, with pixel size, visual tokens and text-layer verdict;
    no model."""
    raster, mode = settings.request.raster, settings.request.text_layer
    rows: list[DryRunPage] = []
    for plan in plan_documents(settings.files, settings.ranges, raster, read_layers=mode != "off"):
        if plan.source is None:
            rows.append(DryRunPage(plan.display, None, error=plan.error))
            continue
        try:
            with open_document(plan.source, raster) as document:
                rows.extend(_dry_run_page(document, plan, number, settings) for number in plan.pages)
        except InputError as exc:
            rows.append(DryRunPage(plan.display, None, error=error_text(exc)))
        except Exception as exc:  # as in planning: one file's surprise is that file's error
            rows.append(DryRunPage(plan.display, None, error=f"{plan.display}: cannot be read ({exc})"))
    return DryRunPlan(rows)


def _dry_run_page(document: Document, plan: DocumentPlan, number: int, settings: OcrSettings) -> DryRunPage:
    load, mode = settings.load, settings.request.text_layer
    layer = plan.layer(number)
    verdict = {"text_layer": layer.verdict, "text_layer_reason": layer.reason} if layer else {}
    try:
        width, height, dpi, note = document.page_size(number)
        budget = visual_tokens(width, height, load.min_pixels, load.max_pixels)
    except InputError as exc:
        text = error_text(exc)
        if not text.startswith(plan.display):
            text = f"{plan.display}: page {number}: {text}"
        return DryRunPage(plan.display, number, error=text, **verdict)  # type: ignore[arg-type]
    size = dict(width=width, height=height, dpi=dpi, note=note)
    if takes_layer(mode, layer):
        return DryRunPage(plan.display, number, **size, **verdict, text_source="text-layer")  # type: ignore[arg-type]
    resized = dict(resized_width=budget.width, resized_height=budget.height, visual_tokens=budget.tokens)
    hint = mode == "hint" and layer is not None and layer.good
    return DryRunPage(plan.display, number, **size, **resized, **verdict, hint=hint)  # type: ignore[arg-type]


class OcrRun:
    """An `exaone ocr` run as an iterator of page records, in input order. Each record is
    handed to the sink as it is done; the sink is closed (files written) however the run ends,
    so an interrupted run keeps every finished page.

    The text layers are read and the engine is opened here, before iterating, so the model name
    a server reports is known for --resume and the totals are right from the first progress
    update. Pages already in the page store come out of it; no engine is opened when no page needs
    one (every page in the store, or --text-layer prefer with every layer good): no model is
    loaded and torch is never imported. A page is stored before the sink gets it, so a page a
    user saw is never lost.

    `plans` replaces the planning of `settings.files` (ask's document mode transcribes only the
    pages it needs); `store` is the page store to use (default: opened from `settings.cache`)."""

    def __init__(
        self,
        settings: OcrSettings,
        sink: Sink,
        engine: Engine | None = None,
        warn: OnStatus = _quiet,
        plans: list[DocumentPlan] | None = None,
        store: PageStore | Literal["open"] | None = "open",
    ) -> None:
        self.settings = settings
        self.sink = sink
        mode, raster = settings.request.text_layer, settings.request.raster
        self.plans = (
            plans
            if plans is not None
            else plan_documents(settings.files, settings.ranges, raster, read_layers=mode != "off")
        )
        if plans is None:
            for plan in self.plans:
                if plan.note:
                    warn(f"{plan.display}: {plan.note}")
        self._own_engine = engine is None and self.model_pages > 0
        if engine is None and self._own_engine and settings.remote is not None:
            engine = open_engine(settings.load, settings.remote, warn)  # cheap: it asks the server its model
        self.model_key = model_key(settings.load, engine.name if engine and settings.remote else None)
        self._own_store = store == "open"
        self.store = open_store(settings.cache, warn) if store == "open" else store
        self.skipped = 0
        self.failed = 0
        self.warned = 0  # pages without error whose answer is empty (record.warning)
        self._skip = self._resume_filter(engine.name if engine else settings.load.model) if settings.resume else None
        self._stored = self._stored_pages()
        if engine is None and self._own_engine and self._needs_model():
            engine = open_engine(settings.load, None, warn)
        self.engine: Engine = engine or _NoEngine(settings.load.model)

    @property
    def pages(self) -> int:
        """Pages to generate: the selected pages of every readable input, less those --resume skips."""
        return sum(len(plan.pages) for plan in self.plans) - self.skipped

    @property
    def unreadable(self) -> int:
        """Named inputs that could not be opened at all (each becomes one error record)."""
        return sum(1 for plan in self.plans if plan.error)

    @property
    def total(self) -> int:
        """Records the run will hand over: one per page to generate, one per unreadable input."""
        return self.pages + self.unreadable

    @property
    def layer_pages(self) -> int:
        """Selected pages whose text comes from their good layer (--text-layer prefer)."""
        mode = self.settings.request.text_layer
        return sum(takes_layer(mode, plan.layer(n)) for plan in self.plans if plan.source for n in plan.pages)

    @property
    def model_pages(self) -> int:
        """Selected pages that go to the model (before --resume skips any, and the page store serves any)."""
        return sum(len(plan.pages) for plan in self.plans if plan.source) - self.layer_pages

    @property
    def cached(self) -> int:
        """Pages that will come out of the page store."""
        return len(self._stored)

    def _model_jobs(self) -> list[tuple[DocumentPlan, int]]:
        """The pages the model would have to do: not skipped by --resume, not taken from a layer."""
        mode = self.settings.request.text_layer
        jobs = [(plan, n) for plan in self.plans if plan.source for n in plan.pages]
        return [
            (plan, n)
            for plan, n in jobs
            if (self._skip is None or not self._skip(plan, n)) and not takes_layer(mode, plan.layer(n))
        ]

    def _needs_model(self) -> bool:
        return any((plan.sha256, number) not in self._stored for plan, number in self._model_jobs())

    def _key(self, sha256: str, number: int) -> PageKey:
        return PageKey.of(sha256, number, "model", self.settings.request.fingerprint(self.model_key))

    def _stored_pages(self) -> dict[tuple[str | None, int], dict[str, object]]:
        """The stored records of the pages the model would have to do, by (content hash, page): a
        page the model finished well, or one that failed after at least as many tries as this run
        would give it (1 + --page-retries: trying again the same way would change nothing; more
        retries are another chance, so the page is done again)."""
        if self.store is None:
            return {}
        keys = {(plan.sha256, n): self._key(plan.sha256, n) for plan, n in self._model_jobs() if plan.sha256}
        found = self.store.get_many(keys.values())
        tries = 1 + self.settings.request.page_retries
        return {
            where: found[key]
            for where, key in keys.items()
            if key in found
            and (not retry_reason(PageRecord.from_dict(found[key])) or int(found[key].get("attempts", 0) or 0) >= tries)
        }

    def _known(self, plan: DocumentPlan, number: int) -> PageRecord | None:
        body = self._stored.get((plan.sha256, number))
        return None if body is None else PageRecord.from_dict(body, source=plan.display, cached=True)

    def _keep(self, record: PageRecord) -> None:
        """Store a page's text: the model's, unless it is an error (a page cut by the token limit or
        stopped by the repetition guard after its tries is stored as it is, marked so, just as
        --resume counts it done), or a good text layer's. A page whose text layer stood in for a
        failed model is not stored: the next run gives the model another try."""
        if self.store is None or record.cached or record.sha256 is None or record.page is None:
            return
        if record.text_source == "model" and record.error is None:
            self.store.put(self._key(record.sha256, record.page), record.to_dict(), record.source)
        elif record.text_source == "text-layer":
            self.store.put(text_layer_key(record.sha256, record.page), record.to_dict(), record.source)

    def summary(self) -> str:
        """One line for stderr before the work starts: what will be done, at what token budget.
        A file named twice counts twice: each named input gets its own result."""
        request, remote = self.settings.request, self.settings.remote
        readable = len(self.plans) - self.unreadable
        where = (
            f"{remote.concurrency} request(s) in flight to {remote.server}" if remote else f"batch {request.batch_size}"
        )
        cannot = f" ({self.unreadable} of {len(self.plans)} inputs cannot be read)" if self.unreadable else ""
        return (
            f"{_count(self.pages, 'page')} from {_count(readable, 'file')}{cannot}{self._layer_summary()} · "
            f"{request.raster.rasterizer} at {request.raster.dpi} DPI · up to {request.max_pixels // (28 * 28):,} "
            f"visual tokens per page (--max-pixels {request.max_pixels:,}) · {where}"
            f"{'' if self.model_pages - self.cached > 0 else ' · no model needed'}"
            f" · preset {request.preset.name} · thinking {'on' if request.thinking else 'off'}"
            + (f" · {self.cached} from the page store" if self.cached else "")
        )

    def _layer_summary(self) -> str:
        """How many selected pages have a good text layer, and what the mode does with them."""
        mode = self.settings.request.text_layer
        layers = [plan.layer(n) for plan in self.plans if plan.layers is not None for n in plan.pages]
        if mode == "off" or not layers:
            return ""
        good = sum(1 for layer in layers if layer is not None and layer.good)
        if mode == "prefer":
            return f" · {self.layer_pages} from the text layer, {self.model_pages} to the model"
        use = "in the prompt" if mode == "hint" else "as the fallback"
        return f" · text layer good on {good} of {len(layers)} PDF page(s), used {use}"

    @property
    def opened_engine(self) -> bool:
        """This run loaded the model (or connected to the server) itself."""
        return self._own_engine and not isinstance(self.engine, _NoEngine)

    def _resume_filter(self, model: str) -> SkipPage:
        """Pages the output file holds already: transcribed by the same model with the same prompt
        and preset, or (under prefer) taken from the same file's layer. Pages where the layer
        stood in for a failed model are not done: they get another try. Counted, not just looked
        up: a file named twice has its pages done twice, so a page is skipped as often as the file
        holds it, first occurrences first."""
        assert self.settings.output is not None
        done = finished_pages(self.settings.output)
        request = self.settings.request
        skip: set[tuple[int, int]] = set()
        for plan in self.plans:
            for number in plan.pages:
                key = (str(plan.sha256), number, request.prompt_sha256, request.preset.name, model)
                layer = (str(plan.sha256), number)
                if done.model[key] > 0:
                    done.model[key] -= 1
                elif takes_layer(request.text_layer, plan.layer(number)) and done.text_layer[layer] > 0:
                    done.text_layer[layer] -= 1
                else:
                    continue
                skip.add((id(plan), number))
        self.skipped = len(skip)
        return lambda plan, number: (id(plan), number) in skip

    def __iter__(self) -> Iterator[PageRecord]:
        try:
            for record in run_ocr(self.plans, self.engine, self.settings.request, self._skip, self._known):
                self._keep(record)
                self.sink.write(record)
                self.failed += record.error is not None
                self.warned += record.warning is not None
                yield record
        finally:
            self.sink.close()
            if self._own_engine:
                self.engine.close()
            if self._own_store and self.store is not None:
                self.store.close()


class _NoEngine:
    """Stands in when every input failed before a model was needed: nothing is generated."""

    def __init__(self, name: str) -> None:
        self.name = name

    def generate(
        self, prompts: Sequence[Prompt], sampling: Sampling, on_text: OnText | None = None
    ) -> list[Generation]:
        raise AssertionError("no page to generate")

    def close(self) -> None:
        pass


def _count(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def ocr_run(settings: OcrSettings, sink: Sink, engine: Engine | None = None, warn: OnStatus = _quiet) -> OcrRun:
    """Plan the run now (files are opened and counted); pages are processed when iterated."""
    return OcrRun(settings, sink, engine, warn)


def text_layer_key(sha256: str, page: int) -> PageKey:
    """The page store's key for a page's good text layer: it depends on the file alone."""
    return PageKey.of(sha256, page, "text-layer", {"reader": "pdfium"})


def model_key(load: LoadOptions, served: str | None = None) -> str:
    """The model as the page store knows it: a server's model name; a local checkpoint's Hub id or
    absolute folder, with the loading options that change its output (revision, --quantize,
    --dtype). --device-map and --max-memory only move the same weights, so they are left out."""
    if served is not None:  # a server: the name it serves the model under
        return served
    model = os.path.abspath(os.path.expanduser(load.model)) if looks_like_path(load.model) else load.model
    return "".join(
        (model, f"@{load.revision}" if load.revision else "", f"+{load.quantize}" if load.quantize != "none" else "",
         f":{load.dtype}" if load.dtype != "auto" else "")
    )  # fmt: skip
