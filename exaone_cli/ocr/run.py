"""`exaone ocr` as a run: plan the inputs, choose the pages the model must do (not skipped by
--resume, not in the page store, not taken from a good text layer), open the engine only if any
page needs it, then hand each finished page record to the sink in input order and keep it in the
page store. `ask`'s document mode transcribes its pages through the same run (ask/page_texts.py).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Literal, Protocol

from ..config import LoadOptions, Sampling
from ..engines import Engine, Prompt, RemoteOptions, describe_source, open_engine
from ..engines.base import Generation, OnText
from ..engines.checkpoint import looks_like_path
from ..results import PageRecord
from ..store import PageKey, PageStore, open_store
from .output import Sink, finished_pages
from .pipeline import DocumentPlan, SkipPage, plan_documents, run_ocr
from .retries import retry_reason
from .settings import OcrSettings
from .text_sources import takes_layer

OnStatus = Callable[[str], None]


class Progress(Protocol):
    """What a progress display needs: one call per finished page."""

    def advance(self, record: PageRecord) -> None: ...


ProgressFactory = Callable[[int], AbstractContextManager[Progress]]  # total pages -> a display around the work


def _quiet(_: str) -> None:
    pass


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
    pages it needs); `store` is the page store to use (default: opened from `settings.cache`).
    `engine_opener` gives the caller's engine (a server keeps one open for its life): called only
    when a page needs the model, and the engine is left open. `on_status` hears what is under
    way while the run is prepared: an HWP document's rendering (seconds a page), then the loading
    of the model this run opens itself. `planning_seconds`: the time the inputs took to read
    (rendering HWP documents, judging text layers), which the run's time includes."""

    def __init__(
        self,
        settings: OcrSettings,
        sink: Sink,
        engine: Engine | None = None,
        warn: OnStatus = _quiet,
        plans: list[DocumentPlan] | None = None,
        store: PageStore | Literal["open"] | None = "open",
        engine_opener: Callable[[], Engine] | None = None,
        on_status: OnStatus = _quiet,
    ) -> None:
        self.settings = settings
        self.sink = sink
        mode, raster = settings.request.text_layer, settings.request.raster
        start = time.perf_counter()
        self.plans = (
            plans
            if plans is not None
            else plan_documents(settings.files, settings.ranges, raster, read_layers=mode != "off", on_status=on_status)
        )
        self.planning_seconds = time.perf_counter() - start
        if plans is None:
            for plan in self.plans:
                if plan.note:
                    warn(f"{plan.display}: {plan.note}")
        needs_engine = engine is None and self.model_pages > 0
        self._own_engine = needs_engine and engine_opener is None

        def opened(remote: RemoteOptions | None) -> Engine:
            if engine_opener is not None:
                return engine_opener()
            on_status(f"Loading {describe_source(settings.load, remote)}…")
            return open_engine(settings.load, remote, warn)

        if needs_engine and settings.remote is not None:
            engine = opened(settings.remote)  # cheap: it asks the server its model
        self.model_key = model_key(settings.load, engine.name if engine and settings.remote else None)
        self._own_store = store == "open"
        self.store = open_store(settings.cache, warn) if store == "open" else store
        self.skipped = 0
        self.failed = 0
        self.warned = 0  # pages without error whose answer is empty (record.warning)
        self._skip = self._resume_filter(engine.name if engine else settings.load.model) if settings.resume else None
        self._stored = self._stored_pages()
        if engine is None and needs_engine and self._needs_model():
            engine = opened(None)
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

    @property
    def to_model(self) -> int:
        """Pages the model will really do: not skipped by --resume, not from a layer, not in the store."""
        return sum((plan.sha256, n) not in self._stored for plan, n in self._model_jobs())

    def _from_layer(self) -> int:
        """Pages this run takes from their layer (--text-layer prefer), less those --resume skips."""
        mode = self.settings.request.text_layer
        return sum(
            takes_layer(mode, plan.layer(n)) and (self._skip is None or not self._skip(plan, n))
            for plan in self.plans
            if plan.source
            for n in plan.pages
        )

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
        if body is None:
            return None
        record = PageRecord.from_dict(body, source=plan.display, cached=True)
        layer = plan.layer(number)  # this run's verdict on the layer, not the storing run's
        return dataclasses.replace(record, text_layer=layer.verdict if layer else None)

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
        model = (  # the model's settings only when it runs: without it they would mean nothing
            f"up to {request.max_pixels // (28 * 28):,} visual tokens per page (--max-pixels {request.max_pixels:,}) · "
            f"{where} · preset {request.preset.name} · thinking {'on' if request.thinking else 'off'}"
            if self.to_model > 0
            else "no model needed"
        )
        return (
            f"{_count(self.pages, 'page')} from {_count(readable, 'file')}{cannot}{self._layer_summary()} · "
            f"{request.raster.rasterizer} at {request.raster.dpi} DPI · {model}"
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
            return f" · {self._from_layer()} from the text layer, {self.to_model} to the model"
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
            try:
                self.sink.close()  # may raise OutputError (a full disk): the engine and store still close
            finally:
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


def ocr_run(
    settings: OcrSettings,
    sink: Sink,
    engine: Engine | None = None,
    warn: OnStatus = _quiet,
    engine_opener: Callable[[], Engine] | None = None,
    on_status: OnStatus = _quiet,
) -> OcrRun:
    """Plan the run now (files are opened and counted); pages are processed when iterated.
    `engine_opener`: the caller's engine, opened only if a page needs it, left open; `on_status`:
    what is under way meanwhile (OcrRun)."""
    return OcrRun(settings, sink, engine, warn, engine_opener=engine_opener, on_status=on_status)


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
