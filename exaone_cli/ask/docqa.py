"""Document mode for `exaone ask`: a question about more pages than fit in one prompt as images.

The pages become text (page_texts: the page store, the PDF's text layer, or the model's own
transcription), the pages most relevant to the question are chosen to fill the context budget
(retrieval: BM25 over Korean-aware terms, with neighbouring pages), and the model answers from
that text, citing pages as `[p. N]` (one document) or `[A p. N]` (several, A = the first input).
N is the page's 1-based index in the file, the number `--pages` uses, never a printed page label.
An HWP document rhwp reads but cannot render has no pages: its whole text goes in as page 1,
marked as having no page numbers, and its citations name the file with no page (`page` None).
Citations of pages that were not in the prompt are dropped, with a warning. `--look` then shows the
model the cited pages as images, with the question and its text answer, for a second answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ..config import DEFAULT_CONTEXT_TOKENS, LoadOptions, SamplingFlags
from ..engines import Engine, Prompt, RemoteOptions, Turn
from ..engines.base import Generation, OnText
from ..engines.finish import answer_or_cut_note, generate_answer, parse_generation
from ..errors import InputError, UsageError, joined
from ..ocr.pipeline import DocumentPlan
from ..ocr.retries import DEFAULT_PAGE_RETRIES
from ..ocr.run import ProgressFactory
from ..ocr.settings import transcription_request
from ..pages import NoPages, Page, PageRanges, RasterOptions, open_document, open_input
from ..parse import Citation, find_citations, unread_citations
from ..prompts import document_prompt, look_prompt, neutralize
from ..results import AskResult, Cited, ImageRef, LookAgain, PageRead, describe_pages
from ..store import PageStore
from ..vision import visual_tokens
from .history import fit_history, follow_up_terms, turn_tokens
from .page_texts import PageText, PageTextMemo, page_texts
from .retrieval import choose_pages, estimate_tokens, rank_pages

Note = Callable[[str], None]

UNNUMBERED = "no page numbers: the whole document's text, cite it as this page"
PRINTED = "printed"  # the word before a page's printed label in its marker: `[p. 5] (printed: iii)`
MIN_PAGE_TOKENS = 256  # a budget that cannot hold this much page text is a usage error


@dataclass(frozen=True)
class AskPlan:
    """The inputs of one question, opened and measured, nothing rendered: per input its selected
    pages; per page its visual tokens at the run's pixel budget (None: a shape the model cannot
    take, which image mode reports and document mode leaves out)."""

    documents: list[DocumentPlan]
    tokens: list[list[int | None]]
    notes: tuple[str, ...] = ()  # per input, the requested pages it does not have, or why it has none
    missing: dict[str, str] = field(default_factory=dict)  # the same, by input (its display name)
    labels: dict[tuple[int, int], str] = field(default_factory=dict)  # (input, page): printed label

    def label(self, document: int, page: int) -> str | None:
        """The page's printed label (/PageLabels), None when its PDF has none."""
        return self.labels.get((document, page))

    @property
    def page_count(self) -> int:
        return sum(len(plan.pages) for plan in self.documents)

    @property
    def text_only(self) -> bool:
        """Some input has no pages, only its text (rhwp read it but could not render it)."""
        return any(plan.text is not None for plan in self.documents)

    @property
    def visual_tokens(self) -> int:
        return sum(t or 0 for pages in self.tokens for t in pages)


def plan_inputs(
    names: Sequence[str], ranges: PageRanges, raster: RasterOptions, load: LoadOptions, on_status: Note | None = None
) -> AskPlan:
    """Open every input, select its pages and size them. Raises InputError on the first input that
    cannot be opened, and on an input --pages leaves no page of: a question about several files
    cannot be answered with one missing. Requested pages an input does not have are noted.
    `on_status` hears when an HWP document's rendering starts (seconds a page)."""
    documents: list[DocumentPlan] = []
    tokens: list[list[int | None]] = []
    notes: list[str] = []
    missing: dict[str, str] = {}
    labels: dict[tuple[int, int], str] = {}
    for name in names:
        try:
            source = open_input(name, on_status)
        except NoPages as exc:  # rhwp read it but cannot render it: its whole text, unnumbered
            notes.append(f"{exc.message}; its text is read instead, without page numbers")
            documents.append(DocumentPlan(exc.source.display, exc.source, text=exc.text))
            tokens.append([])
            continue
        with open_document(source, raster) as document:
            count = document.page_count
            numbers = tuple(ranges.select(count))
            if not numbers:
                raise InputError(
                    f"{source.display}: --pages {ranges} selects none of its {count} page(s)",
                    hint="--pages applies to every input; ask about this file separately, or widen --pages",
                )
            note = ranges.missing_note(count)
            if note:
                notes.append(f"{source.display}: {note}")
                missing[source.display] = note
            sizes: list[int | None] = []
            for number in numbers:
                if (printed := document.page_label(number)) is not None:
                    labels[len(documents), number] = printed
                width, height, _, _ = document.page_size(number)
                try:
                    sizes.append(visual_tokens(width, height, load.min_pixels, load.max_pixels).tokens)
                except InputError:
                    sizes.append(None)
            documents.append(DocumentPlan(source.display, source, numbers, document.page_count))
        tokens.append(sizes)
    return AskPlan(documents, tokens, tuple(notes), missing, labels)


def fits_as_images(plan: AskPlan, question: str, max_images: int, context_tokens: int) -> bool:
    """True when the pages can go into one prompt as images: at most --max-images of them, and their
    visual tokens and the question within --context-tokens (the answer comes on top)."""
    if plan.page_count > max_images or plan.text_only:
        return False  # a document read as text (no pages) goes in as text
    return plan.visual_tokens + estimate_tokens(question) <= context_tokens


@dataclass(frozen=True)
class DocumentQuestion:
    """Everything document mode needs besides the engine."""

    question: str
    plan: AskPlan
    load: LoadOptions
    raster: RasterOptions
    remote: RemoteOptions | None
    flags: SamplingFlags
    thinking: bool = True
    boxed_hint: bool = True
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    max_images: int = 8
    look: bool = False
    page_tokens: int = 4096  # the transcription's token limit per page (ocr's --max-new-tokens)
    page_retries: int = DEFAULT_PAGE_RETRIES  # more tries for a page, as ocr's --page-retries
    history: tuple[Turn, ...] = ()  # a conversation's earlier turns (exaone chat), oldest first

    @property
    def several(self) -> bool:
        return len(self.plan.documents) > 1

    def marker(self, document: int, page: int) -> str:
        """The page's marker in the prompt: `[p. 5]`, and its printed label after it when it has
        one that is not the index (`[p. 5] (printed: iii)`), so the model can tell them apart."""
        cite = f"[{label(document)} p. {page}]" if self.several else f"[p. {page}]"
        if self.plan.documents[document].text is not None:
            return f"{cite} ({UNNUMBERED})"
        printed = self.plan.label(document, page)
        return f"{cite} ({PRINTED}: {printed})" if printed not in (None, str(page)) else cite

    def prompt(self, pages: str) -> str:
        labels = [(label(i), plan.display) for i, plan in enumerate(self.plan.documents)] if self.several else []
        cite, example = ("[A p. N]", "[A p. 3]") if self.several else ("[p. N]", "[p. 3]")
        printed = any(text != str(page) for (_, page), text in self.plan.labels.items())
        return document_prompt(
            self.question, pages, cite=cite, example=example, labels=labels, boxed_hint=self.boxed_hint,
            printed=PRINTED if printed else None,
        )  # fmt: skip

    def text_budget(self) -> int:
        """Tokens left for page text: --context-tokens less the prompt around the pages (the
        instructions and the question; a conversation's earlier turns come out of it). UsageError
        (before any model loads) when not even a short page would fit."""
        budget = self.context_tokens - estimate_tokens(self.prompt(""))
        if budget < MIN_PAGE_TOKENS:
            raise UsageError(
                f"--context-tokens {self.context_tokens:,} leaves no room for page text after the question",
                hint="raise --context-tokens or shorten the question",
            )
        return budget


def label(document: int) -> str:
    """A, B, ..., Z, AA, AB, ...: the short label of the `document`-th input in citations."""
    name = ""
    document += 1
    while document:
        document, rest = divmod(document - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def answer_from_text(
    ask: DocumentQuestion,
    engine: Engine,
    store: PageStore | None,
    *,
    on_text: OnText | None = None,
    on_status: Note = lambda _: None,
    on_warning: Note = lambda _: None,
    on_note: Note = lambda _: None,
    progress: ProgressFactory | None = None,
    memo: PageTextMemo | None = None,
) -> AskResult:
    """Answer `ask.question` from the text of its pages: see the module docstring. With `memo`
    (a conversation), each document's page texts are made once and kept there; the earlier
    turns that do not fit beside the pages are left out (the result's `history_used` says how
    many stayed)."""
    texts = document_texts(ask, engine, store, memo=memo, progress=progress, on_warning=on_warning)
    if not texts:
        raise InputError("no page could be read, so the question cannot be answered from them")
    query = follow_up_terms(ask.question, ask.history)
    ask = replace(ask, history=_history_beside(ask, texts))
    budget = ask.text_budget() - sum(map(turn_tokens, ask.history))
    on_status("Choosing the pages to read")
    chosen = _choose(ask, texts, budget, on_warning, query)
    on_note(_read_note(ask, texts, chosen))
    preset, reason, sampling = ask.flags.resolve(ask.question, 0, has_document=True)
    pages = "\n\n".join(f"{ask.marker(p.document, p.page)}\n{neutralize(p.text)}" for p in chosen)
    on_status("Generating")
    prompt = Prompt(text=ask.prompt(pages), images=[], thinking=ask.thinking, history=ask.history)
    generation = generate_answer(engine, prompt, sampling, on_text)
    parsed = parse_generation(generation, ask.thinking)
    empty = answer_or_cut_note(parsed, generation, ask.thinking, sampling.max_new_tokens)
    if generation.note:
        on_warning(generation.note)
    check = resolve_citations(ask, find_citations(parsed.answer), chosen, unread_citations(parsed.answer))
    for line in check.warnings("in the prompt"):
        on_warning(line)
    if check.assigned:
        assigned = ", ".join(check.assigned)
        on_note(f"Citations without a document label, given to the one document with that page: {assigned}")
    citations, dropped = check.citations, check.dropped
    result = AskResult(
        question=ask.question, images=[], parsed=parsed, thinking=ask.thinking, preset=preset,
        preset_reason=reason, sampling=sampling, model=engine.name, generation=generation, mode="text",
        pages_total=ask.plan.page_count,
        pages_read=[
            PageRead(p.source, _numbered(ask, p.document, p.page), p.text_source, p.cached,
                     ask.plan.label(p.document, p.page))
            for p in chosen
        ],
        citations=citations, dropped_citations=dropped, note=empty, history_used=len(ask.history),
    )  # fmt: skip
    if ask.look:
        result = replace(result, look=look_again(ask, engine, result, on_warning, on_note))
    return result


def document_texts(
    ask: DocumentQuestion,
    engine: Engine,
    store: PageStore | None,
    *,
    memo: PageTextMemo | None = None,
    progress: ProgressFactory | None = None,
    on_warning: Note = lambda _: None,
) -> list[PageText]:
    """The text of every selected page (page_texts.py), each document's once per `memo`."""
    request = transcription_request(ask.raster, ask.load, max_new_tokens=ask.page_tokens, page_retries=ask.page_retries)

    def make(documents: Sequence[DocumentPlan]) -> list[PageText]:
        return page_texts(
            documents, engine=engine, request=request, load=ask.load, remote=ask.remote, store=store,
            progress=progress, warn=on_warning,
        )  # fmt: skip

    return memo.texts(ask.plan.documents, make) if memo is not None else make(ask.plan.documents)


def _history_beside(ask: DocumentQuestion, texts: list[PageText]) -> tuple[Turn, ...]:
    """The earlier turns that fit beside the pages: the pages keep at least half of the text
    budget (all of it they need, when less), the newest turns take what is left."""
    if not ask.history:
        return ()
    budget = ask.text_budget()
    pages = sum(estimate_tokens(p.text) + 8 for p in texts)
    return fit_history(ask.history, budget - min(pages, budget // 2))


def _choose(ask: DocumentQuestion, texts: list[PageText], budget: int, warn: Note, query: str) -> list[PageText]:
    """The pages that go into the prompt, ranked by `query` (the question; a follow-up's with the
    question before it, history.py); when not even one fits whole, the best one, cut to fit."""
    blocks = [f"{ask.marker(p.document, p.page)}\n{p.text}" for p in texts]
    ids = choose_pages(
        query, [p.text for p in texts], budget, documents=[p.document for p in texts],
        cost=lambda i: estimate_tokens(blocks[i]) + 2,
    )  # fmt: skip
    if ids:
        return [texts[i] for i in ids]
    best = texts[(rank_pages(query, [p.text for p in texts]) or [0])[0]]
    warn(f"{best.source}: page {best.page} alone is longer than --context-tokens allows; only its start is read")
    return [replace(best, text=best.text[: max(0, budget - 16)])]  # a character costs at most one token


def _read_note(ask: DocumentQuestion, texts: list[PageText], chosen: list[PageText]) -> str:
    stored = sum(p.cached for p in chosen)  # of the pages read, not of every page transcribed
    source = f" ({stored} from the page store)" if stored else ""
    pages = describe_pages(chosen)
    which = f": {pages}" if len(pages) <= 160 else ""
    return f"Reading {len(chosen)} of {ask.plan.page_count} page(s) as text{source}{which}"


@dataclass
class CitationCheck:
    """An answer's citations checked against the pages the model was shown. `citations`: the
    pages cited, as (file, page), first appearance first, each once. The rest, as written, by
    why they were dropped: `absent` (the page was in the prompt in no document), `ambiguous`
    (no label, and several documents had that page in the prompt), `unknown` (a label that
    names no document). `assigned`: bare citations given to the one document that had the page.
    `unread`: what looks like a citation but is not read as one (``[p. iii]``), as written."""

    citations: list[Cited] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    assigned: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # all three kinds, first appearance first
    unread: list[str] = field(default_factory=list)
    several: bool = False

    def warnings(self, shown: str) -> list[str]:
        """One line per kind of dropped citation; `shown` says where the pages were ("in the prompt")."""
        lines = []
        if self.absent:
            lines.append(f"the answer cites {', '.join(self.absent)}, not {shown}: dropped from citations")
        if self.ambiguous:
            lines.append(
                f"the answer cites {', '.join(self.ambiguous)} without a document label, and that page of several "
                f"documents was {shown}: which document? Dropped from citations"
            )
        if self.unknown:
            lines.append(f"the answer cites {', '.join(self.unknown)}, a label of no document: dropped from citations")
        if self.unread:
            form = "[A p. N]" if self.several else "[p. N]"
            lines.append(
                f"the answer has {', '.join(self.unread)}, which looks like a citation but names no page index "
                f"exaone can read (the form is {form}, N the page's position in the file): not in citations"
            )
        return lines


def resolve_citations(
    ask: DocumentQuestion, citations: list[Citation], read: Sequence[PageText], unread: Sequence[str] = ()
) -> CitationCheck:
    """The answer's citations against the pages in the prompt (`read`). The rule: a labelled
    citation `[B p. 4]` is that document's page; a bare `[p. N]` is the one document's page with
    one document, and with several it is given to the one document whose page N was in the
    prompt (said in `assigned`), or dropped as ambiguous when several had it. A page that was
    not in the prompt is dropped (`absent`)."""
    in_prompt = {(p.document, p.page): p.source for p in read}
    check = CitationCheck(unread=list(unread), several=ask.several)
    for citation in citations:
        written = f"[{citation.label + ' ' if citation.label else ''}p. {citation.page}]"
        holders = _documents_of(ask, citation, in_prompt)
        if holders is None:
            kind = check.unknown
        elif len(holders) == 1:
            cited = Cited(
                in_prompt[holders[0], citation.page],
                _numbered(ask, holders[0], citation.page),
                ask.plan.label(holders[0], citation.page),
            )
            if cited not in check.citations:
                check.citations.append(cited)
            if citation.label is None and ask.several:
                assigned = f"{written} as {label(holders[0])} p. {citation.page} ({cited.source})"
                if assigned not in check.assigned:
                    check.assigned.append(assigned)
            continue
        else:
            kind = check.ambiguous if holders else check.absent
        if written not in check.dropped:
            kind.append(written)
            check.dropped.append(written)
    return check


def _numbered(ask: DocumentQuestion, document: int, page: int) -> int | None:
    """The page, or None for a document read as text, which has no page numbers."""
    return None if ask.plan.documents[document].text is not None else page


def _documents_of(ask: DocumentQuestion, citation: Citation, in_prompt: dict[tuple[int, int], str]) -> list[int] | None:
    """The documents a citation can mean whose cited page was in the prompt; None for a label
    of no document."""
    if citation.label is None and ask.several:
        return [document for document, page in in_prompt if page == citation.page]
    if citation.label is None or not ask.several:
        if citation.label not in (None, "A"):
            return None
        return [0] if (0, citation.page) in in_prompt else []
    document = {label(i): i for i in range(len(ask.plan.documents))}.get(citation.label)
    if document is None:
        return None
    return [document] if (document, citation.page) in in_prompt else []


def look_again(ask: DocumentQuestion, engine: Engine, first: AskResult, warn: Note, note: Note) -> LookAgain | None:
    """The cited pages (at most --max-images) as images, with the question and the text answer."""
    numbered = [c for c in first.citations if c.page is not None]  # a document read as text has no images
    if not numbered:
        warn("--look: the answer cites no page, so there is nothing to look at")
        return None
    cited = numbered[: ask.max_images]
    if len(numbered) > len(cited):
        warn(f"--look: the first {len(cited)} of {len(numbered)} cited pages (--max-images)")
    images = _render(ask, cited, warn)
    if not images:
        return None
    cited = [c for c in cited if any(i.source == c.source and i.number == c.page for i in images)]
    note(f"Looking at the cited pages as images: {describe_pages(cited, labels=True)}")
    index_of = {plan.display: i for i, plan in enumerate(ask.plan.documents)}
    markers = ", ".join(ask.marker(index_of[c.source], _index(c)) for c in cited)
    text = look_prompt(
        ask.question, neutralize(first.parsed.answer), pages=markers, cite="[A p. N]" if ask.several else "[p. N]",
        boxed_hint=ask.boxed_hint,
    )  # fmt: skip
    generation: Generation = generate_answer(
        engine, Prompt(text=text, images=[page.image for page in images], thinking=ask.thinking), first.sampling
    )
    if generation.error:  # the text answer stands
        warn(f"--look: no second answer: {joined(generation.error, generation.hint)}")
    parsed = parse_generation(generation, ask.thinking)
    shown = [PageText(index_of[c.source], c.source, _index(c), "") for c in cited]
    check = resolve_citations(ask, find_citations(parsed.answer), shown, unread_citations(parsed.answer))
    for line in check.warnings("among the images"):
        warn(f"--look: {line.replace('the answer', 'the second answer', 1)}")
    citations = check.citations
    return LookAgain([ImageRef.of(page) for page in images], parsed, generation, citations)


def _index(cited: Cited) -> int:
    """A cited page's index; --look only takes pages (a document read as text has none)."""
    assert cited.page is not None
    return cited.page


def _render(ask: DocumentQuestion, cited: Sequence[Cited], warn: Note) -> list[Page]:
    """The cited pages as images; a page that cannot be rendered is left out with a warning (the
    text answer is already there and must not be lost to it)."""
    pages = []
    sources = {plan.display: plan.source for plan in ask.plan.documents}
    for cited_page in cited:
        source = sources[cited_page.source]
        assert source is not None
        try:
            with open_document(source, ask.raster) as document:
                page = document.render(_index(cited_page))
            visual_tokens(page.width, page.height, ask.load.min_pixels, ask.load.max_pixels)
            pages.append(page)
        except InputError as exc:
            warn(f"--look: {cited_page.source}: page {cited_page.page} cannot be shown ({exc.message})")
    return pages
