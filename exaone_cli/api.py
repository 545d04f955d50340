"""The library entry points: what the CLI calls, and what other Python code can call."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .config import LoadOptions, Sampling, SamplingFlags
from .engines import Engine, Prompt, RemoteOptions, open_engine
from .engines.base import Generation, OnText
from .engines.finish import empty_answer_note
from .errors import InputError
from .inputs import open_source
from .ocr_settings import OcrSettings
from .output import Sink, finished_pages
from .pages import Document, Page, PageRanges, RasterOptions, open_document
from .parse import parse_answer
from .pipeline import DocumentPlan, SkipPage, error_text, plan_documents, run_ocr
from .prompts import ask_prompt
from .results import AskResult, ImageRef, PageRecord
from .text_sources import takes_layer
from .vision import visual_tokens

OnStatus = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class LoadedInputs:
    pages: list[Page]
    available: int  # pages selected before --max-images cut the list
    notes: tuple[str, ...] = ()  # per input, the requested pages it does not have

    @property
    def dropped(self) -> int:
        return self.available - len(self.pages)


def load_inputs(
    names: Sequence[str],
    ranges: PageRanges | None = None,
    raster: RasterOptions | None = None,
    max_images: int | None = None,
) -> LoadedInputs:
    """The selected pages of every named input, in order, at most `max_images` of them rendered.
    Raises InputError on the first bad input, and on an input --pages leaves no page of: a
    question about several images cannot be answered with one missing. Requested pages an input
    does not have are noted per input."""
    ranges, raster = ranges or PageRanges.all(), raster or RasterOptions()
    pages: list[Page] = []
    notes: list[str] = []
    available = 0
    for name in names:
        source = open_source(name)
        with open_document(source, raster) as document:
            count = document.page_count
            selected = ranges.select(count)
            if not selected:
                raise InputError(
                    f"{source.display}: --pages {ranges} selects none of its {count} page(s)",
                    hint="--pages applies to every input; ask about this file separately, or widen --pages",
                )
            note = ranges.missing_note(count)
            if note:
                notes.append(f"{source.display}: {note}")
            for number in selected:
                available += 1
                if max_images is None or len(pages) < max_images:
                    pages.append(document.render(number))
    return LoadedInputs(pages, available, tuple(notes))


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
) -> AskResult:
    """Answer `question` about the images/pages in `inputs` (none for a text-only question).

    Inputs are read before the model loads, so a typo costs nothing. `engine` lets callers reuse
    a loaded engine; otherwise one is opened from `load` and closed again.
    """
    load = load or LoadOptions()
    flags = flags or SamplingFlags()
    loaded = load_inputs(inputs, ranges, raster, max_images)
    for note in loaded.notes:
        on_warning(note)
    if loaded.dropped:
        on_warning(f"using the first {len(loaded.pages)} of {loaded.available} pages (--max-images)")
    pages = loaded.pages
    for page in pages:
        if page.note:  # how the image was made (a lower DPI, a dark background): also in `images`
            on_warning(f"{page.source}: page {page.number}: {page.note}")
    for page in pages:  # a shape the model cannot take fails here, named, not inside the model
        try:
            visual_tokens(page.width, page.height, load.min_pixels, load.max_pixels)
        except InputError as exc:
            raise InputError(f"{page.source}: page {page.number}: {exc.message}", exc.hint) from exc
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
        input_notes=loaded.notes,
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
    update. No engine is opened when no page needs one (--text-layer prefer, every layer good)."""

    def __init__(
        self, settings: OcrSettings, sink: Sink, engine: Engine | None = None, warn: OnStatus = _quiet
    ) -> None:
        self.settings = settings
        self.sink = sink
        mode = settings.request.text_layer
        self.plans = plan_documents(settings.files, settings.ranges, settings.request.raster, read_layers=mode != "off")
        for plan in self.plans:
            if plan.note:
                warn(f"{plan.display}: {plan.note}")
        # --text-layer prefer with every page's layer good: no model is loaded, torch never imported.
        self._own_engine = engine is None and self.model_pages > 0
        if engine is None:
            engine = open_engine(settings.load, settings.remote, warn) if self._own_engine else None
        self.engine: Engine = engine or _NoEngine(settings.load.model)
        self.skipped = 0
        self.failed = 0
        self.warned = 0  # pages without error whose answer is empty (record.warning)
        self._skip = self._resume_filter() if settings.resume else None

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
        """Selected pages that go to the model (before --resume skips any)."""
        return sum(len(plan.pages) for plan in self.plans if plan.source) - self.layer_pages

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
            f"{'' if self.model_pages else ' · no model needed'}"
            f" · preset {request.preset.name} · thinking {'on' if request.thinking else 'off'}"
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
        return self._own_engine

    def _resume_filter(self) -> SkipPage:
        """Pages the output file holds already: transcribed by the same model with the same prompt
        and preset, or (under prefer) taken from the same file's layer. Pages where the layer
        stood in for a failed model are not done: they get another try. Counted, not just looked
        up: a file named twice has its pages done twice, so a page is skipped as often as the file
        holds it, first occurrences first."""
        assert self.settings.output is not None
        done = finished_pages(self.settings.output)
        request, model = self.settings.request, self.engine.name
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
            for record in run_ocr(self.plans, self.engine, self.settings.request, self._skip):
                self.sink.write(record)
                self.failed += record.error is not None
                self.warned += record.warning is not None
                yield record
        finally:
            self.sink.close()
            if self._own_engine:
                self.engine.close()


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
