"""Every selected page as text, the cheapest and best way there is: the PDF's own text layer when it
is judged `good` (exact characters, milliseconds), else a transcription from the page store, else
transcription by the model with `exaone ocr`'s pipeline.

This is the one function document mode calls for text, and the one place a new source of page
text plugs in. Transcription is `OcrRun` itself (batches, read-ahead, progress, per-page errors,
and the page store's reads and writes), with `exaone ocr`'s default request, so a page `exaone
ocr` transcribed is never transcribed again by `exaone ask`, and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace

from ..config import LoadOptions
from ..engines import Engine, RemoteOptions
from ..errors import joined
from ..ocr.pipeline import DocumentPlan, OcrRequest
from ..ocr.run import OcrRun, ProgressFactory, model_key, text_layer_key
from ..ocr.settings import OcrSettings
from ..pages import PageRanges
from ..pages.text_layer import read_text_layers
from ..results import PageRecord
from ..store import PageStore

Warn = Callable[[str], None]


@dataclass(frozen=True)
class PageText:
    """One page's text for a prompt. `document` is the index of its input; `text_source` says
    where the text came from (`model`, `text-layer`, `document-text`: the whole text of a document
    rhwp could not render, which has no pages, as page 1 in the prompt); `cached`: from the page store."""

    document: int
    source: str
    page: int
    text: str
    text_source: str = "model"
    cached: bool = False


class PageTextMemo:
    """The page texts of a conversation's documents, each document's made once (`exaone chat`):
    the second question about a 300-page report reads no page again, even without the page store,
    and a document added later costs only its own pages. Kept by file content, name and pages."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str | None, tuple[int, ...]], list[PageText]] = {}

    @staticmethod
    def _key(plan: DocumentPlan) -> tuple[str, str | None, tuple[int, ...]]:
        return (plan.display, plan.sha256, tuple(plan.pages))

    def texts(
        self, documents: Sequence[DocumentPlan], make: Callable[[Sequence[DocumentPlan]], list[PageText]]
    ) -> list[PageText]:
        """The texts of `documents`, in order; `make` is called once for those not yet known."""
        new = [plan for plan in documents if self._key(plan) not in self._known]
        if new:
            made = make(new)
            for index, plan in enumerate(new):
                self._known[self._key(plan)] = [replace(p, document=0) for p in made if p.document == index]
        known = [self._known[self._key(plan)] for plan in documents]
        return [replace(page, document=index) for index, pages in enumerate(known) for page in pages]

    def known(self, plan: DocumentPlan) -> list[PageText] | None:
        """The texts made for `plan`, or None when none were made yet."""
        return self._known.get(self._key(plan))


class _Collect:
    """A sink that keeps the records (the pipeline's sinks write files; this one only listens)."""

    def __init__(self) -> None:
        self.records: list[PageRecord] = []

    def write(self, record: PageRecord) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


def page_texts(
    documents: Sequence[DocumentPlan],
    *,
    engine: Engine,
    request: OcrRequest,
    load: LoadOptions,
    remote: RemoteOptions | None,
    store: PageStore | None,
    progress: ProgressFactory | None = None,
    warn: Warn = lambda _: None,
) -> list[PageText]:
    """The text of every selected page of `documents`, in document order.

    Pages that cannot be read or transcribed are left out, each with one warning (the question is
    still answered from the others). Raises what the engine raises when it is unusable."""
    layers = good_text_layers(documents, request.raster.password)
    known: dict[tuple[int, int], PageText] = {}
    if store is not None:
        exact = request.fingerprint(model_key(load, engine.name if remote else None))
        known = stored_transcriptions(store, documents, exact)
        _keep_layers(store, documents, layers)
    known.update(layers)  # a good layer's exact characters beat any transcription
    rest = [
        replace(plan, pages=tuple(n for n in plan.pages if (i, n) not in known)) for i, plan in enumerate(documents)
    ]
    transcribed = _transcribe(rest, engine, request, load, remote, store, progress)
    texts: list[PageText] = []
    for index, plan in enumerate(documents):
        if plan.text is not None:  # no pages (rhwp could not render it): its whole text as one part, "page" 1
            texts.append(PageText(index, plan.display, 1, plan.text, "document-text"))
        for number in plan.pages:
            if (index, number) in known:
                texts.append(known[index, number])
                continue
            record = transcribed.get((index, number))
            if record is None or record.error:
                reason = joined(record.error, record.hint) if record and record.error else "no text"
                warn(f"{plan.display}: page {number} is left out of the answer ({reason})")
                continue
            texts.append(PageText(index, plan.display, number, record.text, "model", record.cached))
    return texts


def _keep_layers(store: PageStore, documents: Sequence[DocumentPlan], layers: dict[tuple[int, int], PageText]) -> None:
    """Good text layers go into the page store too, as every page text exaone reads does (once)."""
    keys = {
        text_layer_key(str(documents[index].sha256), number): page
        for (index, number), page in layers.items()
        if documents[index].sha256
    }
    stored = store.get_many(keys)
    for key, page in keys.items():
        if key not in stored:
            body = {"source": page.source, "page": page.page, "text": page.text, "text_source": "text-layer"}
            store.put(key, body, page.source)


def stored_transcriptions(
    store: PageStore, documents: Sequence[DocumentPlan], exact: dict[str, object]
) -> dict[tuple[int, int], PageText]:
    """Pages the model already transcribed with exaone's OCR prompt, whatever the other settings
    (DPI, pixel budget, sampling, model): the ones made with `exact` (this run's own) first, else
    the newest. A page `exaone ocr --max-new-tokens 512` transcribed is not transcribed again;
    a page transcribed with another --prompt-file is (its text may be something else entirely)."""
    found: dict[tuple[int, int], PageText] = {}
    for index, plan in enumerate(documents):
        if plan.sha256 is None:
            continue
        wanted = set(plan.pages)
        best: dict[int, tuple[bool, dict[str, object]]] = {}
        for stored in store.pages_of(plan.sha256, "model"):  # newest first
            if stored.page not in wanted or stored.settings.get("prompt_sha256") != exact["prompt_sha256"]:
                continue
            is_exact = stored.settings == exact
            if stored.page not in best or (is_exact and not best[stored.page][0]):
                best[stored.page] = (is_exact, stored.record)
        for number, (_, record) in best.items():
            found[index, number] = PageText(index, plan.display, number, str(record.get("text", "")), "model", True)
    return found


def good_text_layers(documents: Sequence[DocumentPlan], password: str | None) -> dict[tuple[int, int], PageText]:
    """The pages whose PDF text layer is judged `good` and complete (pages/text_layer.py: no large
    pictures), as text, by (document, page): they need no model. Garbled, invisible and empty layers are never used. A
    file pdfium cannot read this way is left to the model."""
    found: dict[tuple[int, int], PageText] = {}
    for index, plan in enumerate(documents):
        if plan.source is None or plan.source.kind != "pdf" or not plan.pages:
            continue
        try:
            layers = read_text_layers(plan.source, plan.pages, password)
        except Exception:  # poppler may still render what pdfium cannot read: the model gets it
            continue
        for layer in layers:
            if layer.complete:  # a page with pictures goes to the model: the layer cannot hold them
                found[index, layer.page] = PageText(index, plan.display, layer.page, layer.text, "text-layer")
    return found


def _transcribe(
    documents: Sequence[DocumentPlan],
    engine: Engine,
    request: OcrRequest,
    load: LoadOptions,
    remote: RemoteOptions | None,
    store: PageStore | None,
    progress: ProgressFactory | None,
) -> dict[tuple[int, int], PageRecord]:
    """The selected pages through OcrRun (the store first, then the model), by (document, page)."""
    settings = OcrSettings(
        files=(), ranges=PageRanges.all(), load=load, request=request, fmt="json", output=None, resume=False,
        remote=remote, cache=store is not None,
    )  # fmt: skip
    sink = _Collect()
    run = OcrRun(settings, sink, engine=engine, plans=list(documents), store=store)
    found: dict[tuple[int, int], PageRecord] = {}
    indexes: dict[str, list[int]] = {}  # the same name twice is the same file twice
    for index, plan in enumerate(documents):
        indexes.setdefault(plan.display, []).append(index)
    todo = run.total - run.cached
    with progress(todo) if progress and todo else nullcontext() as bar:
        for record in run:
            if bar is not None and not record.cached:
                bar.advance(record)
            for index in indexes.get(record.source, []):
                if record.page is not None:
                    found[(index, record.page)] = record
    return found
