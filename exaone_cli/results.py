"""Results as data: what commands return and renderers print. JSON is a public contract."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from .config import Preset, Sampling
from .engines.base import Generation
from .errors import joined
from .pages import Page
from .parse import Answer

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ImageRef:
    """Where an image of the prompt came from, and what to know about how it was made."""

    source: str
    page: int
    width: int
    height: int
    note: str | None = None

    @classmethod
    def of(cls, page: Page) -> ImageRef:
        return cls(source=page.source, page=page.number, width=page.width, height=page.height, note=page.note)

    def with_note(self, note: str | None) -> ImageRef:
        """This image with `note` added to its own (none added for None)."""
        if not note:
            return self
        return replace(self, note=f"{self.note}; {note}" if self.note else note)


@dataclass(frozen=True)
class PageRead:
    """A page whose content was in the prompt: as an image (`text_source` "image"), or as text
    transcribed by the model ("model") or taken from the PDF's text layer ("text-layer");
    `cached` when that text came from the page store; `label`: the page's printed label
    (/PageLabels: "iii", "3-12"), None when its PDF has none; `page` is always the index."""

    source: str
    page: int | None  # None: a document read as text, with no page numbers (pages/hwp.py's NoPages)
    text_source: str = "image"
    cached: bool = False
    label: str | None = None


@dataclass(frozen=True)
class Cited:
    """A page an answer cites, resolved to its document; `label` as in PageRead."""

    source: str
    page: int | None  # None: a document read as text, with no page numbers
    label: str | None = None


@dataclass(frozen=True)
class LookAgain:
    """The second answer of `ask --look`: the cited pages as images, with the question and the
    text answer."""

    images: list[ImageRef]
    parsed: Answer
    generation: Generation
    citations: list[Cited]

    def to_dict(self) -> dict[str, Any]:
        gen = self.generation
        return {
            "images": [vars(ref) for ref in self.images],
            "answer": self.parsed.answer,
            "final": self.parsed.final,
            "boxed": list(self.parsed.boxed),
            "reasoning": self.parsed.reasoning,
            "truncated": self.parsed.truncated,
            "citations": [vars(cited) for cited in self.citations],
            "finish_reason": gen.finish_reason,
            "tokens": {"prompt": gen.prompt_tokens, "completion": gen.completion_tokens},
            "seconds": round(gen.seconds, 3),
            "prompt": gen.prompt_text,
            "raw": gen.text,
        }


class OnPage(Protocol):
    """Anything that names a page of a file (ImageRef, PageRead, Cited, ...)."""

    @property
    def source(self) -> str: ...

    @property
    def page(self) -> int | None: ...


def describe_pages(pages: Sequence[OnPage], *, labels: bool = False) -> str:
    """`contract.pdf p. 3, 7-9; minutes.pdf p. 2`: pages grouped by file, runs of pages joined.
    With `labels`, a page whose printed label is not its index shows it: `report.pdf p. 5 (printed
    iii), 14 (printed 3-12)` (such pages stand alone, outside runs)."""
    by_source: dict[str, dict[int, str | None]] = {}
    for page in pages:
        printed = getattr(page, "label", None) if labels else None
        numbers = by_source.setdefault(page.source, {})
        if page.page is not None:
            numbers[page.page] = printed if printed != str(page.page) else None
    return "; ".join(
        f"{source} p. {_spans(numbers)}" if numbers else f"{source} (its text, no page numbers)"
        for source, numbers in by_source.items()
    )


def _spans(numbers: dict[int, str | None]) -> str:
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1 and numbers[n] is None and numbers[spans[-1][1]] is None:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(_span(a, b, numbers[a]) for a, b in spans)


def _span(first: int, last: int, printed: str | None) -> str:
    if printed is not None:
        return f"{first} (printed {printed})"
    return str(first) if first == last else f"{first}-{last}"


@dataclass(frozen=True)
class AskResult:
    """One answered question. `error`: the server ended the answer in a way that is not an
    answer (engines/finish.py); `note`: why the answer is empty, if it is; `input_notes`: per
    input, the requested pages it lacks (JSON's `note` joins both). `mode` is "images" (the
    pages went in as images) or "text" (document mode: page texts with page markers, the answer
    citing pages)."""

    question: str
    images: list[ImageRef]
    parsed: Answer
    thinking: bool
    preset: Preset
    preset_reason: str
    sampling: Sampling
    model: str
    generation: Generation
    note: str | None = None
    input_notes: tuple[str, ...] = ()
    mode: str = "images"
    pages_total: int = 0  # pages selected from the inputs
    pages_read: list[PageRead] = field(default_factory=list)
    citations: list[Cited] = field(default_factory=list)
    dropped_citations: list[str] = field(default_factory=list)  # cited pages that were not in the prompt
    look: LookAgain | None = None
    history_used: int = 0  # a conversation's earlier turns in the prompt (exaone chat; not in ask's JSON)

    @property
    def error(self) -> str | None:
        return self.generation.error

    @property
    def hint(self) -> str | None:
        return self.generation.hint

    @property
    def error_line(self) -> str | None:
        """`error` and `hint` as one line, for the places that have one line (chat, mcp)."""
        return joined(self.generation.error, self.generation.hint)

    def to_dict(self) -> dict[str, Any]:
        gen = self.generation
        return {
            "schema_version": SCHEMA_VERSION,
            "question": self.question,
            "images": [vars(ref) for ref in self.images],
            "answer": self.parsed.answer,
            "final": self.parsed.final,
            "boxed": list(self.parsed.boxed),
            "reasoning": self.parsed.reasoning,
            "truncated": self.parsed.truncated,
            "thinking": self.thinking,
            "finish_reason": gen.finish_reason,
            "preset": {**self.preset.to_dict(), "reason": self.preset_reason},
            "sampling": self.sampling.to_dict(),
            "model": self.model,
            "tokens": {"prompt": gen.prompt_tokens, "completion": gen.completion_tokens},
            "seconds": round(gen.seconds, 3),
            "note": "; ".join(note for note in (*self.input_notes, self.generation.note, self.note) if note) or None,
            "error": self.error,
            "hint": self.hint,
            "replaced_characters": gen.replaced_characters,
            "prompt": gen.prompt_text,
            "raw": gen.text,
            "mode": self.mode,
            "pages_total": self.pages_total,
            "pages_read": [vars(page) for page in self.pages_read],
            "citations": [vars(cited) for cited in self.citations],
            "dropped_citations": list(self.dropped_citations),
            "look": self.look.to_dict() if self.look else None,
        }


CUT_SHORT = "the text was cut short by the token limit"  # said on stderr and marked in text/Markdown output


@dataclass(frozen=True)
class PageRecord:
    """One page of `exaone ocr`: its text, or the error that stopped it. A JSON Lines record.

    `page` is None for a file that could not be opened at all. `sha256`, `prompt_sha256`,
    `preset` and `model` identify the work, so --resume can skip a page already done. `model` is
    None on a page taken from its text layer (`text_source` "text-layer"): no model ran for it.
    `seconds` is the model time spent on the page, every try together.
    `replaced_characters` counts the U+FFFD in text and reasoning (engines/text.py). A page
    without error whose text is empty carries the reason in `note` and is a `warning`.
    """

    source: str
    sha256: str | None
    page: int | None
    preset: str
    model: str | None
    prompt_sha256: str
    width: int | None = None
    height: int | None = None
    dpi: int | None = None
    note: str | None = None
    grid: tuple[int, int, int] | None = None  # the image's patch grid (t, h, w) after resizing
    visual_tokens: int = 0
    text: str = ""
    reasoning: str | None = None
    boxed: list[str] = field(default_factory=list)
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    error: str | None = None
    hint: str | None = None  # what to do about `error` (null when there is nothing to say)
    # Where `text` came from: "model", "text-layer" (--text-layer prefer took a good layer) or
    # "text-layer-fallback" (the model failed every try and a good layer stood in). `text_layer`:
    # the layer's verdict, good|garbled|invisible|none, or None when it was not read (image
    # inputs, --text-layer off). `attempts`: generations made for the page (0: none).
    text_source: str = "model"
    text_layer: str | None = None
    attempts: int = 0
    replaced_characters: int = 0
    cached: bool = False  # served from the page store: no model work this run

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def cut(self) -> bool:
        """The model's text for the page ended at the token limit on its last try (each earlier
        try too: a cut page is tried again): it is incomplete, though it is no error."""
        return (
            self.ok
            and self.page is not None
            and self.text_source == "model"
            and self.finish_reason == "length"
            and bool(self.text.strip())
        )

    @property
    def warning(self) -> str | None:
        """What a person must hear about a page that did not fail: its empty answer, with why, or
        its text cut short by the token limit."""
        if not self.ok or self.page is None:
            return None
        if not self.text.strip():
            return self.note or "empty answer"
        if self.cut:
            every = "on every try" if self.attempts > 1 else "on its only try"
            return f"{CUT_SHORT} {every}; raise --max-new-tokens"
        return None

    @classmethod
    def from_dict(cls, body: dict[str, Any], **changes: Any) -> PageRecord:
        """A record from its to_dict() form (the page store keeps them so), with `changes` applied."""
        tokens = body.get("tokens") or {}
        values: dict[str, Any] = {
            name: body[name]
            for name in ("source", "sha256", "page", "preset", "model", "prompt_sha256", "width", "height", "dpi",
                         "note", "visual_tokens", "text", "reasoning", "finish_reason", "seconds", "error", "hint",
                         "text_source", "text_layer", "attempts", "replaced_characters")
            if name in body
        }  # fmt: skip
        values.update(
            grid=tuple(body["grid"]) if body.get("grid") else None,
            boxed=list(body.get("boxed") or []),
            prompt_tokens=int(tokens.get("prompt", 0)),
            completion_tokens=int(tokens.get("completion", 0)),
        )
        return cls(**{**values, **changes})

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "sha256": self.sha256,
            "page": self.page,
            "width": self.width,
            "height": self.height,
            "dpi": self.dpi,
            "note": self.note,
            "grid": list(self.grid) if self.grid else None,
            "visual_tokens": self.visual_tokens,
            "text": self.text,
            "reasoning": self.reasoning,
            "boxed": list(self.boxed),
            "finish_reason": self.finish_reason,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "hint": self.hint,
            "text_source": self.text_source,
            "text_layer": self.text_layer,
            "attempts": self.attempts,
            "replaced_characters": self.replaced_characters,
            "cached": self.cached,
            "preset": self.preset,
            "model": self.model,
            "prompt_sha256": self.prompt_sha256,
        }


def documents_json(
    records: list[PageRecord], *, model: str | None, preset: Preset, sampling: Sampling
) -> dict[str, Any]:
    """`exaone ocr --json`: {schema_version, model, preset, documents: [{source, sha256, pages}]},
    one document per named input, in input order (a file named twice is two documents). Valid
    even when no page succeeded.

    `records` come in input order, each input's pages ascending, so an input ends where the
    source changes or the page numbers stop rising (a file that could not be opened is one
    record with page None)."""
    documents: list[dict[str, Any]] = []
    previous: PageRecord | None = None
    for record in records:
        if previous is None or not _same_input(previous, record):
            documents.append({"source": record.source, "sha256": record.sha256, "pages": []})
        page = record.to_dict()
        for key in ("schema_version", "model", "preset", "prompt_sha256"):
            page.pop(key)
        documents[-1]["pages"].append(page)
        previous = record
    return {
        "schema_version": SCHEMA_VERSION,
        "model": model,
        "preset": preset.to_dict(),
        "sampling": sampling.to_dict(),
        "documents": documents,
    }


def made_by(records: Iterable[PageRecord]) -> str | None:
    """The model that made the pages (the first whose record names one, a server's name for it,
    from the page store too); None when none did: a page from its text layer names no model."""
    return next((record.model for record in records if record.model is not None), None)


def _same_input(previous: PageRecord, record: PageRecord) -> bool:
    if (previous.source, previous.sha256) != (record.source, record.sha256):
        return False
    return previous.page is not None and record.page is not None and record.page > previous.page
