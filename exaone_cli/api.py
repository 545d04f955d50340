"""The library entry points: what the CLI calls, and what other Python code can call:
`ask`, `dry_run`, and `ocr_run` (the run itself lives in ocr/run.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from .ask.docqa import MIN_PAGE_TOKENS, DocumentQuestion, answer_from_text, fits_as_images, plan_inputs
from .ask.history import fit_history
from .ask.page_texts import PageTextMemo
from .ask.retrieval import estimate_tokens
from .config import DEFAULT_CONTEXT_TOKENS, LoadOptions, SamplingFlags
from .engines import Engine, Prompt, RemoteOptions, Turn, describe_engine, describe_source, open_engine
from .engines.base import OnText
from .engines.finish import answer_or_cut_note, generate_answer, parse_generation
from .engines.remote import served_context
from .errors import InputError, UsageError
from .ocr.pipeline import DocumentPlan, plan_documents
from .ocr.read_ahead import render_page
from .ocr.retries import DEFAULT_PAGE_RETRIES
from .ocr.run import OcrRun, ProgressFactory, ocr_run
from .ocr.settings import OcrSettings
from .ocr.text_sources import takes_layer
from .pages import Document, Page, PageRanges, RasterOptions, open_document
from .prompts import ask_prompt
from .results import AskResult, ImageRef, PageRead
from .store import open_store
from .vision import visual_tokens

__all__ = ["AskResult", "DryRunPage", "DryRunPlan", "OcrRun", "ask", "dry_run", "ocr_run"]

OnStatus = Callable[[str], None]
OnLoaded = Callable[[str, float, str], None]  # (what was loaded, seconds, what the engine says)


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
    on_loaded: OnLoaded | None = None,
    page_tokens: int = 4096,
    page_retries: int = DEFAULT_PAGE_RETRIES,
    engine_opener: Callable[[], Engine] | None = None,
    history: Sequence[Turn] = (),
    memo: PageTextMemo | None = None,
) -> AskResult:
    """Answer `question` about the images/pages in `inputs` (none for a text-only question).

    When the selected pages fit in one prompt as images (at most `max_images`, and their visual
    tokens, the question and the answer within `context_tokens`), they go in as images. Otherwise
    document mode (ask/docqa.py) answers from the pages' text with cited pages; `look` then shows the
    cited pages as images for a second answer. `cache` uses the page store; `progress(total)` is
    entered around the transcription of pages (a context manager with `advance(record)`).
    In document mode, pages not in the page store are transcribed as `exaone ocr` does, with
    `page_tokens` as the token limit and `page_retries` more tries per page; `flags` (and its
    max_new_tokens) is the answer's. `on_loaded(what, seconds, detail)` is called once the
    model is loaded (or the server answered), as `exaone ocr`'s loading line says it.

    Inputs are read before the model loads, so a typo costs nothing. `engine` lets callers reuse
    a loaded engine, and `engine_opener` gives the caller's engine when the model is needed (a
    server keeps one open for its life); either is left open. Otherwise one is opened from `load`
    and closed again.

    A conversation (`exaone chat`) passes its earlier turns as `history` (the newest that fit
    beside the pages and the question go into the prompt: the result's `history_used`) and a
    `memo` that keeps each document's page texts for the next question.
    """
    _check_text(question)
    load, flags = load or LoadOptions(), flags or SamplingFlags()
    ranges, raster = ranges or PageRanges.all(), raster or RasterOptions()
    context_tokens = context_tokens or DEFAULT_CONTEXT_TOKENS
    plan = plan_inputs(inputs, ranges, raster, load, on_status)
    if remote is not None and (plan.page_count or plan.text_only):
        context_tokens = _fit_to_server(remote, context_tokens, flags.max_new_tokens, on_note)
    opener = engine_opener or partial(_open_engine, load, remote, on_status, on_warning, on_loaded)
    keep = engine is not None or engine_opener is not None
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
        room = context_tokens - plan.visual_tokens - estimate_tokens(question)
        result = _ask_images(question, pages, plan.page_count, flags, thinking, boxed_hint, engine,
                             on_text, on_status, on_warning, opener, keep, fit_history(history, room))  # fmt: skip
        images = [ref.with_note(plan.missing.get(ref.source)) for ref in result.images]
        printed = {
            (doc.display, number): plan.label(i, number) for i, doc in enumerate(plan.documents) for number in doc.pages
        }
        read = [replace(p, label=printed.get((p.source, p.page)) if p.page else None) for p in result.pages_read]
        return replace(result, input_notes=plan.notes, images=images, pages_read=read)
    document = DocumentQuestion(
        question, plan, load, raster, remote, flags, thinking, boxed_hint, context_tokens, limit, look,
        page_tokens=page_tokens, page_retries=page_retries, history=tuple(history),
    )  # fmt: skip
    document.text_budget()  # a budget too small for any page fails before anything loads
    if plan.text_only:
        on_note("A document without pages is read as text: answering from the documents' text")
    else:
        on_note(
            f"{plan.page_count} page(s) do not fit in one prompt as images (--max-images {limit}, --context-tokens "
            f"{context_tokens:,}): answering from their text"
        )
    if engine is None:
        engine = opener()
    store = open_store(cache, on_warning)
    try:
        result = answer_from_text(
            document, engine, store, on_text=on_text, on_status=on_status, on_warning=on_warning,
            on_note=on_note, progress=progress, memo=memo,
        )  # fmt: skip
        return replace(result, input_notes=plan.notes)
    finally:
        if store is not None:
            store.close()
        if not keep:
            engine.close()


def _check_text(question: str) -> None:
    """A question whose bytes were not UTF-8 (a cp949 terminal or file on Korean Windows) reaches
    Python as lone surrogates, which no server or tokenizer takes: said before any work, not
    retried as a server fault."""
    if any("\ud800" <= char <= "\udfff" for char in question):
        raise UsageError(
            "the question is not UTF-8 text (cp949/EUC-KR, as Korean Windows writes it?)",
            hint="type it in a UTF-8 terminal, or convert it first: iconv -f cp949 -t utf-8",
        )


def _fit_to_server(remote: RemoteOptions, context_tokens: int, answer_tokens: int, on_note: OnStatus) -> int:
    """--context-tokens, lowered to what the server takes (less the answer's --max-new-tokens)
    when it reports a shorter context: otherwise it answers a long prompt with HTTP 400."""
    served = served_context(remote)
    if served is None or served - answer_tokens >= context_tokens:
        return context_tokens
    if served - answer_tokens < MIN_PAGE_TOKENS:
        raise UsageError(
            f"the server takes at most {served:,} tokens (its max_model_len), and --max-new-tokens {answer_tokens:,} "
            "leaves no room for the question and pages",
            hint="lower --max-new-tokens, or start the server with a longer context (vLLM: --max-model-len)",
        )
    fitted = served - answer_tokens
    on_note(
        f"the server takes at most {served:,} tokens (its max_model_len): fitting the pages to {fitted:,} "
        f"(--context-tokens {context_tokens:,} less --max-new-tokens {answer_tokens:,} for the answer)"
    )
    return fitted


def _open_engine(
    load: LoadOptions,
    remote: RemoteOptions | None,
    on_status: OnStatus,
    on_warning: OnStatus,
    on_loaded: OnLoaded | None,
) -> Engine:
    """The engine, with the spinner saying what loads from where and `on_loaded` told how long
    it took and what the engine says about itself (device and dtype, or the served model)."""
    what = describe_source(load, remote)
    on_status(f"Loading {what}…")
    start = time.perf_counter()
    engine = open_engine(load, remote, on_warning)
    if on_loaded is not None:
        on_loaded(what, time.perf_counter() - start, describe_engine(engine))
    return engine


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
    flags: SamplingFlags,
    thinking: bool,
    boxed_hint: bool,
    engine: Engine | None,
    on_text: OnText | None,
    on_status: OnStatus,
    on_warning: OnStatus,
    opener: Callable[[], Engine],
    keep: bool,
    history: tuple[Turn, ...] = (),
) -> AskResult:
    """The question with every page as an image, in one prompt (after a conversation's turns); the
    engine is closed after unless `keep`."""
    has_document = any(page.dpi is not None for page in pages)  # rendered from a PDF
    preset, reason, sampling = flags.resolve(question, len(pages), has_document)
    if engine is None:
        engine = opener()
    try:
        on_status("Generating")
        images = [p.image for p in pages]
        prompt = Prompt(text=ask_prompt(question, boxed_hint), images=images, thinking=thinking, history=history)
        generation = generate_answer(engine, prompt, sampling, on_text)
    finally:
        if not keep:
            engine.close()
    parsed = parse_generation(generation, thinking)
    empty = answer_or_cut_note(parsed, generation, thinking, sampling.max_new_tokens)
    if generation.note:
        on_warning(generation.note)
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
        history_used=len(history),
    )


# ---- exaone ocr --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRunPage:
    """A page as it would be processed: its size at the DPI used, what it costs the model, and
    its text layer's verdict with where its text would come from (`text_source`: model or
    text-layer; `hint`: the layer goes into the prompt). Pages taken from their layer cost no
    visual tokens. `error` says what went wrong and `error_hint` what to do (`hint` was taken by
    the text layer's flag before errors had hints)."""

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
    error_hint: str | None = None


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
            rows.append(DryRunPage(plan.display, None, error=plan.error, error_hint=plan.hint))
            continue
        try:
            with open_document(plan.source, raster) as document:
                rows.extend(_dry_run_page(document, plan, number, settings) for number in plan.pages)
        except InputError as exc:
            rows.append(DryRunPage(plan.display, None, error=exc.message, error_hint=exc.hint))
        except Exception as exc:  # as in planning: one file's surprise is that file's error
            rows.append(DryRunPage(plan.display, None, error=f"{plan.display}: cannot be read ({exc})"))
    return DryRunPlan(rows)


def _dry_run_page(document: Document, plan: DocumentPlan, number: int, settings: OcrSettings) -> DryRunPage:
    load, mode = settings.load, settings.request.text_layer
    layer = plan.layer(number)
    verdict = {"text_layer": layer.verdict, "text_layer_reason": layer.reason} if layer else {}
    try:
        if plan.source is not None and plan.source.kind != "pdf":  # decoded as the run does: same errors, notes
            rendered = render_page(plan, number, document, None, (load.min_pixels, load.max_pixels))
            if rendered.error is not None or rendered.page is None:
                return DryRunPage(plan.display, number, error=rendered.error, error_hint=rendered.hint)
            page = rendered.page
            width, height, dpi, note = page.width, page.height, page.dpi, page.note
        else:  # PDF pages are sized, not rendered: a dry run of 300 pages stays quick
            width, height, dpi, note = document.page_size(number)
        budget = visual_tokens(width, height, load.min_pixels, load.max_pixels)
    except InputError as exc:
        text = exc.message if exc.message.startswith(plan.display) else f"{plan.display}: page {number}: {exc.message}"
        return DryRunPage(plan.display, number, error=text, error_hint=exc.hint, **verdict)  # type: ignore[arg-type]
    size = dict(width=width, height=height, dpi=dpi, note=note)
    if takes_layer(mode, layer):
        return DryRunPage(plan.display, number, **size, **verdict, text_source="text-layer")  # type: ignore[arg-type]
    resized = dict(resized_width=budget.width, resized_height=budget.height, visual_tokens=budget.tokens)
    hint = mode == "hint" and layer is not None and layer.good
    return DryRunPage(plan.display, number, **size, **resized, **verdict, hint=hint)  # type: ignore[arg-type]
